"""Regime scaling of the intervals: adaptive conformal in spirit (issue 11, item 1).

Split-conformal intervals pool the calibration residuals of a few past origins, so they are as
wide as the average of those decades: too wide in a calm decade after a shock, too narrow when
a shock arrives. The engine's own matured forecasts tell which regime the origin is in: the
latest calibration origin (2 years back with the usual offsets) made +1/+2 forecasts whose
outcomes end at the origin. Scored against the intervals the calibration built, they give

    score = the `level` conformal quantile of |error - centre| / half-width

over those recent errors: 1 when the last years erred as the calibration assumed, below 1 when
they were calmer, above when a shock is under way. The intervals are then scaled by
`clip(score ** power, lower, upper)` about their centre (log scale), every span alike.
`power` < 1 shrinks the signal towards no scaling (a few years are a noisy guide).

Only residuals whose outcome year is at or before the origin enter (no leakage); they are the
calibration residuals the engine already has, so the signal costs no extra fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .intervals import conformal_quantile

SCOPES = ("latest_origin", "last_years")


@dataclass(frozen=True)
class RegimeSignal:
    """The recent errors' score and the factor drawn from it (`n` errors scored)."""

    score: float
    factor: float
    n: int
    cal_origin: int | None


def recent_errors(
    residuals: pd.DataFrame, origin: int, max_span: int = 2, scope: str = "latest_origin"
) -> tuple[pd.DataFrame, int | None]:
    """The recent calibration residuals (columns cal_origin, span, p0, error; `year`, the
    outcome year, where the anchor may lie before the calibration origin: `span` counts from
    the anchor, and without `year` the outcome is taken as cal_origin + span), all with their
    outcome at or before `origin`. `scope` 'latest_origin': those of the latest calibration
    origin at spans up to `max_span`; 'last_years': those of every calibration origin
    whose outcome lies in the last `max_span` years up to the origin (the forecasts that
    matured lately, whatever their span). Also the latest calibration origin among them
    (None: no recent residual)."""
    need = {"cal_origin", "span", "p0", "error"}
    missing = need - set(residuals.columns)
    if missing:
        raise ValueError(f"calibration residuals lack column(s) {sorted(missing)} for the regime")
    if scope not in SCOPES:
        raise ValueError(f"regime scope must be one of {SCOPES} (got {scope!r})")
    r = residuals.dropna(subset=["error"])
    seen = r["year"] if "year" in r else r["cal_origin"] + r["span"]
    if scope == "last_years":
        r = r[(seen <= origin) & (seen > origin - max_span)]
    else:
        r = r[(r["span"] <= max_span) & (seen <= origin)]
    if r.empty:
        return r, None
    latest = int(r["cal_origin"].max())
    return (r, latest) if scope == "last_years" else (r[r["cal_origin"] == latest], latest)


def regime_signal(
    intervals,
    residuals: pd.DataFrame,
    origin: int,
    *,
    level: float,
    power: float = 1.0,
    bounds: tuple[float, float] = (0.5, 2.0),
    max_span: int = 2,
    min_errors: int = 30,
    scope: str = "latest_origin",
) -> RegimeSignal:
    """The score of the recent errors against `intervals` (fitted: `quantiles(span, p0)` in
    log scale) and the factor to scale them by. Fewer than `min_errors` recent errors, a single
    calibration origin (the recent errors are then the whole calibration), or intervals of zero
    width: factor 1."""
    lo_b, hi_b = float(bounds[0]), float(bounds[1])
    if not 0 < lo_b <= 1 <= hi_b:
        raise ValueError(f"regime bounds must satisfy 0 < lower <= 1 <= upper (got {bounds})")
    recent, cal_origin = recent_errors(residuals, origin, max_span, scope)
    if len(recent) < min_errors:
        return RegimeSignal(1.0, 1.0, len(recent), cal_origin)
    if residuals["cal_origin"].nunique() < 2:
        # the intervals were calibrated on these very errors alone (a short series: one
        # calibration origin), so scoring them against the intervals says nothing about the
        # regime; on the post-Soviet proxy's short histories it only narrowed (coverage 0.96
        # -> 0.70 at 2009 +5, benchmarks/results/postsoviet_proxy.md)
        return RegimeSignal(1.0, 1.0, 0, cal_origin)
    lo, hi = intervals.quantiles(recent["span"].to_numpy(), recent["p0"].to_numpy())
    half = (hi - lo) / 2
    ok = half > 0
    if not ok.any():
        return RegimeSignal(1.0, 1.0, 0, cal_origin)
    centre = (hi + lo) / 2
    e = recent["error"].to_numpy(dtype=float)
    score = conformal_quantile(np.abs(e[ok] - centre[ok]) / half[ok], level)
    if power == 0:  # no scaling, whatever the score (0 ** 0 would be 1, 0 -> lower bound)
        factor = 1.0
    else:
        factor = float(np.clip(score**power, lo_b, hi_b)) if score > 0 else lo_b
    return RegimeSignal(float(score), factor, int(ok.sum()), cal_origin)


class RegimeScaled:
    """Intervals scaled by `factor` about their centre (log scale); the rest delegates."""

    def __init__(self, base, factor: float):
        self.base = base
        self.factor = float(factor)

    def quantiles(self, span, p0) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.base.quantiles(span, p0)
        centre, half = (hi + lo) / 2, (hi - lo) / 2
        return centre - self.factor * half, centre + self.factor * half

    def summary(self) -> pd.DataFrame:
        """The wrapped calibration table with its quantiles scaled, and the factor."""
        t = self.base.summary()
        centre, half = (t["q_hi"] + t["q_lo"]) / 2, (t["q_hi"] - t["q_lo"]) / 2
        return t.assign(
            q_lo=centre - self.factor * half,
            q_hi=centre + self.factor * half,
            regime_factor=self.factor,
        )

    def __getattr__(self, name: str):  # level, table_, ... of the wrapped intervals
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)
