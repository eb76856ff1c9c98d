"""Split-conformal intervals from backtest residuals, per span and size class.

Residuals are log errors `log(actual / forecast)` collected at calibration origins the model
did not train on. For a central level L, the interval is
`[forecast * exp(q_lo), forecast * exp(q_hi)]` with q the conformal quantiles (finite-sample
corrected) of the residuals in the cell (span, size class). Thin cells fall back to all sizes
for that span, and spans beyond the calibrated ones are scaled linearly from the longest one
(error grows about linearly with the horizon).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .errors import InsufficientHistoryError, NotFittedError


def size_class(values, breaks: list[float]) -> np.ndarray:
    """0 for the smallest units, len(breaks) for the largest."""
    return np.searchsorted(
        np.asarray(breaks, dtype=float), np.asarray(values, dtype=float), "right"
    )


def conformal_quantile(residuals: np.ndarray, q: float) -> float:
    """The ceil((n+1) q)/n empirical quantile (the split-conformal guarantee)."""
    r = np.sort(np.asarray(residuals, dtype=float))
    n = len(r)
    if q >= 0.5:
        k = min(n, math.ceil((n + 1) * q))
        return float(r[k - 1])
    k = max(1, math.floor((n + 1) * q))
    return float(r[k - 1])


class ConformalIntervals:
    def __init__(
        self,
        *,
        level: float = 0.8,
        size_breaks: list[float] | None = None,
        min_cell: int = 30,
        symmetric: bool = True,
        beyond_exponent: float = 1.0,
    ):
        self.level = level
        self.size_breaks = list(size_breaks or [])
        self.min_cell = min_cell
        self.symmetric = symmetric
        self.beyond_exponent = beyond_exponent  # spans beyond the calibrated: (s / k) ** this

    def _cell(self, errors) -> tuple[float, float, int]:
        """(q_lo, q_hi, n). Symmetric: the level-quantile of |error| on both sides, which does
        not carry the sign of past bias into the future (it flips between decades). Otherwise
        the (1 -+ level) / 2 quantiles of the signed errors."""
        e = np.asarray(errors, dtype=float)
        if self.symmetric:
            q = conformal_quantile(np.abs(e), self.level)
            return -q, q, len(e)
        return (
            conformal_quantile(e, (1 - self.level) / 2),
            conformal_quantile(e, (1 + self.level) / 2),
            len(e),
        )

    def fit(self, residuals: pd.DataFrame) -> ConformalIntervals:
        """`residuals`: columns span, p0 (size at the anchor), error (log actual/forecast)."""
        r = residuals.dropna(subset=["error"]).assign(
            size=lambda d: size_class(d["p0"], self.size_breaks)
        )
        table = {}
        for band, rows in self._bands(r):
            pooled = self._cell(rows["error"])
            sizes = {
                int(size): self._cell(cell["error"])
                for size, cell in rows.groupby("size")
                if len(cell) >= self.min_cell
            }
            for span in band:
                table[(span, -1)] = pooled
                for size, cell in sizes.items():
                    table[(span, size)] = cell
        if not table:
            if len(r) < 5:
                raise InsufficientHistoryError(
                    f"too few calibration residuals ({len(r)}) to build intervals"
                )
            # too few residuals for even one band: pool all spans on a per-year scale
            table[(1, -1)] = self._cell(r["error"] / r["span"])
        self.table_ = self._dense_monotone(table)
        self.spans_ = sorted({s for s, _ in self.table_})
        return self

    def _bands(self, r: pd.DataFrame) -> list[tuple[list[int], pd.DataFrame]]:
        """Consecutive spans pooled until each band holds `min_cell` residuals (dense annual
        data: one span per band; sparse census data: a few spans per band). A short last band
        joins the one before it."""
        bands: list[tuple[list[int], pd.DataFrame]] = []
        spans: list[int] = []
        parts: list[pd.DataFrame] = []
        for span, rows in r.groupby("span"):
            spans.append(int(span))
            parts.append(rows)
            if sum(len(p) for p in parts) >= self.min_cell:
                bands.append((spans, pd.concat(parts)))
                spans, parts = [], []
        if parts and bands:
            last_spans, last_rows = bands.pop()
            bands.append((last_spans + spans, pd.concat([last_rows, *parts])))
        return bands

    def _dense_monotone(self, table: dict) -> dict:
        """Every span from 1 to the longest calibrated one, for every size class: a missing
        cell takes the pooled cell of its span, else the previous span's scaled up; then the
        interval never narrows as the span grows (noise in thin cells would make it jump)."""
        longest = max(s for s, _ in table)
        classes = [-1, *range(len(self.size_breaks) + 1)]
        dense: dict = {}
        for c in classes:
            prev = None
            for s in range(1, longest + 1):
                cell = table.get((s, c)) or table.get((s, -1))
                if cell is None and prev is not None:
                    cell = (prev[0] * s / (s - 1), prev[1] * s / (s - 1), 0)
                if cell is None:
                    continue
                if prev is not None:
                    cell = (min(cell[0], prev[0]), max(cell[1], prev[1]), cell[2])
                dense[(s, c)] = cell
                prev = cell
        return dense

    def quantiles(self, span, p0) -> tuple[np.ndarray, np.ndarray]:
        """Log-scale quantiles for each (span, size): the cell of the nearest calibrated span
        at or below, scaled by span / that span when they differ."""
        if not hasattr(self, "table_"):
            raise NotFittedError("ConformalIntervals is not fitted")
        span = np.asarray(span, dtype=int)
        size = size_class(p0, self.size_breaks)
        spans = np.asarray(self.spans_)
        pos = np.searchsorted(spans, span, side="right") - 1
        key = spans[np.clip(pos, 0, len(spans) - 1)]
        scale = np.where(key == span, 1.0, (span / key) ** getattr(self, "beyond_exponent", 1.0))
        lo, hi = np.empty(len(span)), np.empty(len(span))
        for k, c in set(zip(key.tolist(), size.tolist(), strict=True)):
            cell = self.table_.get((k, c), self.table_[(k, -1)])
            m = (key == k) & (size == c)
            lo[m], hi[m] = cell[0], cell[1]
        return lo * scale, hi * scale

    def summary(self) -> pd.DataFrame:
        rows = [
            {"span": s, "size_class": c, "q_lo": lo, "q_hi": hi, "n": n}
            for (s, c), (lo, hi, n) in sorted(self.table_.items())
        ]
        return pd.DataFrame(rows)


def reference_sample(
    errors: pd.DataFrame,
    span: int,
    min_reference: int,
    exponent: float = 1.0,
    halflife: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference (national) errors for a forecast `span` years ahead, with weights.

    Without `halflife`: that horizon's backtest errors where there are at least `min_reference`
    of them, else every error at a horizon up to `span` scaled by `(span / horizon) **
    exponent`; equal weights. With `halflife` (adaptive): always every error up to `span`,
    scaled, weighted by how recently it was observed (halved every `halflife` years before the
    latest outcome): a shock under way shows first in the short-horizon errors of the last
    few origins, long before any long-horizon error can."""
    if errors is None or errors.empty:
        return np.zeros(1), np.ones(1)
    at = errors[errors["horizon"] == span]
    if halflife is None and len(at) >= min_reference:
        return at["error"].to_numpy(dtype=float), np.ones(len(at))
    rows = errors[errors["horizon"] <= span]
    if rows.empty:
        rows = errors
    h = rows["horizon"].to_numpy(dtype=float)
    values = rows["error"].to_numpy(dtype=float) * (span / h) ** exponent
    if halflife is None:
        return values, np.ones(len(values))
    seen = rows["origin"].to_numpy(dtype=float) + h
    latest = float((errors["origin"] + errors["horizon"]).max())
    return values, 0.5 ** ((latest - seen) / halflife)


def _weighted_cdf_quantile(cdf, q: float, lo: float, hi: float) -> float:
    """The smallest x in [lo, hi] with cdf(x) >= q, by bisection (cdf is monotone)."""
    for _ in range(50):
        mid = (lo + hi) / 2
        if cdf(mid) >= q:
            hi = mid
        else:
            lo = mid
    return hi


class SharedShockIntervals(ConformalIntervals):
    """Intervals for a unit's log error split into a common and an own part.

    error = reference error (the national trajectory's, common to every unit)
          + relative error (the unit's growth relative to the nation).
    The relative part comes from the calibration residuals (split conformal, per span and
    size class, as in `ConformalIntervals`), with the reference error realised at their origin
    taken out. The reference part comes from the backtest of the national projection at every
    origin since its series begins (`reference_errors`: horizon, error), so shocks decades ago
    count although no calibration origin saw one. The interval is the quantile of the sum over
    every pair (relative residual, weighted reference error): a convolution of the two distributions.
    Spans beyond the calibrated ones scale the longest calibrated span's residuals by
    `(span / longest) ** span_exponent` (the config's `interval_span_exponent`); so do national
    errors at horizons with fewer than `min_reference` backtest origins.
    With `reference_halflife`, national errors are pooled over horizons and weighted by
    recency (adaptive: see `reference_sample`).
    With `symmetric`, both are symmetrised (the sign of a past error is not carried forward).
    Without a `ref_error` column or reference errors it is plain `ConformalIntervals`; with
    `ref_error` all 0 the residuals enter whole and the reference errors add on top (the
    engine's `interval_relative: total`).
    """

    def __init__(
        self,
        *,
        reference_errors: pd.DataFrame | None = None,
        max_span: int = 10,
        min_reference: int = 8,
        span_exponent: float = 0.9,
        reference_halflife: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.span_exponent = span_exponent
        self.reference_halflife = reference_halflife
        self.reference_errors = reference_errors
        self.max_span = max_span
        self.min_reference = min_reference

    def fit(self, residuals: pd.DataFrame) -> SharedShockIntervals:
        """`residuals`: span, p0, error (log actual / forecast), ref_error (the reference's
        share of `error`, realised at the calibration origin)."""
        ref = self.reference_errors
        if "ref_error" not in residuals or ref is None or ref.empty:
            super().fit(residuals)
            return self
        r = residuals.dropna(subset=["error"])
        r = r.assign(
            error=r["error"] - r["ref_error"].fillna(0.0),
            size=size_class(r["p0"], self.size_breaks),
        )
        samples: dict[tuple[int, int], np.ndarray] = {}
        for band, rows in self._bands(r):
            pooled = rows["error"].to_numpy(dtype=float)
            sizes = {
                int(size): cell["error"].to_numpy(dtype=float)
                for size, cell in rows.groupby("size")
                if len(cell) >= self.min_cell
            }
            for span in band:
                samples[(span, -1)] = pooled
                for size, cell in sizes.items():
                    samples[(span, size)] = cell
        if not samples:
            if len(r) < 5:
                raise InsufficientHistoryError(
                    f"too few calibration residuals ({len(r)}) to build intervals"
                )
            samples[(1, -1)] = (r["error"] / r["span"]).to_numpy(dtype=float)
        longest = max(self.max_span, max(s for s, _ in samples))
        calibrated = sorted({s for s, _ in samples})
        classes = [-1, *range(len(self.size_breaks) + 1)]
        table = {}
        for s in range(1, longest + 1):
            below = [k for k in calibrated if k <= s]
            k = below[-1] if below else calibrated[0]
            e, w = reference_sample(
                ref, s, self.min_reference, self.span_exponent, self.reference_halflife
            )
            for c in classes:
                rel = samples.get((k, c))
                if rel is None:
                    if c != -1:
                        continue
                    rel = samples[(k, -1)]
                table[(s, c)] = self._sum_cell(rel * (s / k) ** self.span_exponent, e, w)
        self.table_ = self._dense_monotone(table)
        self.spans_ = sorted({s for s, _ in self.table_})
        return self

    def _sum_cell(
        self, rel: np.ndarray, ref: np.ndarray, weights: np.ndarray
    ) -> tuple[float, float, int]:
        """Quantiles of rel + ref, rel uniform over its residuals, ref weighted: the weighted
        CDF of the sum is evaluated exactly by binary search in the sorted residuals."""
        n = len(rel)
        w = np.asarray(weights, dtype=float)
        if self.symmetric:
            r = np.sort(np.concatenate([rel, -rel]))
            e, w = np.concatenate([ref, -ref]), np.concatenate([w, w])
            w = w / w.sum()

            def cdf(x: float) -> float:  # P(|r + e| <= x)
                inside = np.searchsorted(r, x - e, "right") - np.searchsorted(r, -x - e, "left")
                return float(np.dot(w, inside) / len(r))

            top = float(np.abs(r).max() + np.abs(e).max())
            # the finite-sample correction of split conformal, on the relative sample size
            q = _weighted_cdf_quantile(cdf, min(1.0, self.level * (n + 1) / n), 0.0, top)
            return -q, q, n
        r, w = np.sort(rel), w / w.sum()

        def cdf_signed(x: float) -> float:
            return float(np.dot(w, np.searchsorted(r, x - ref, "right")) / len(r))

        bound = float(np.abs(r).max() + np.abs(ref).max())
        lo = _weighted_cdf_quantile(cdf_signed, (1 - self.level) / 2, -bound, bound)
        hi = _weighted_cdf_quantile(cdf_signed, (1 + self.level) / 2, -bound, bound)
        return lo, hi, n


def make_intervals(config, reference_errors: pd.DataFrame | None = None) -> ConformalIntervals:
    """The interval estimator `config.interval_method` names (an EngineConfig), unfitted."""
    common = {
        "level": config.level,
        "size_breaks": config.size_breaks,
        "min_cell": config.min_cell,
        "symmetric": config.symmetric_intervals,
    }
    if config.interval_method == "conformal":
        return ConformalIntervals(**common)
    return SharedShockIntervals(
        reference_errors=reference_errors,
        max_span=max(config.horizons),
        span_exponent=config.interval_span_exponent,
        reference_halflife=config.reference_halflife,
        **common,
    )
