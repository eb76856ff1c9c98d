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
    ):
        self.level = level
        self.size_breaks = list(size_breaks or [])
        self.min_cell = min_cell
        self.symmetric = symmetric

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
        scale = np.where(key == span, 1.0, span / key)
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
