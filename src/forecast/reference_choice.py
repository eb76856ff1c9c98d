"""The national trajectory: a projection method chosen by its own backtest on the long series.

Units are forecast relative to the national total, so the total's projection sets the level of
every unit at once; a wrong national trend is a common error no unit-level residual reveals.
Candidates (all on the log scale, from the anchor: the latest value at or before the origin):

- `naive`: no change;
- `drift`: the average growth over the whole history (a random walk with drift: a short boom
  barely moves it);
- `damped`: the growth over the last `base_years`, damped by `phi` per year, so the projected
  change levels off at `g * phi / (1 - phi)`;
- `lin_exp`: the classic LIN/EXP trend over `base_years` (what the CSP-VSG baseline uses).

Each is backtested at every earlier origin with at least `min_history` years behind it (3: a
short series such as US employment from 1990 still gets a backtest by the mid-1990s), at
horizons 1..`max_horizon` whose outcome is observed; the method with the lowest mean absolute
log error (averaged per horizon, then over horizons) is chosen; errors are weighted by how
recently they were observed (halved every `halflife` = 10 years before the latest value), so a
turning point under way counts more than a calm decade long ago. Too short a history
(fewer than `min_origins` origins) keeps `default` (damped: the safe choice). The chosen
method's backtest errors are the reference part of the forecast intervals.

Opt-in safe choice for short cyclical series (`safe_below`, issue 11): a series that has fallen
in some year (it has cycles: employment, not a national population) and spans fewer than
`safe_below` years (20: two business cycles) cannot tell a trend from the upswing of a cycle by
its own backtest, whose few origins all lie in one expansion. It chooses between the two safe
methods only, no change and the damped trend (too few origins keep the default, damped). Decided
a priori, not on test results: the US employment series starts in 1990 and holds one expansion
and a mild dip; the national population never fell, so it is never affected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CANDIDATES = ("naive", "drift", "damped", "lin_exp")
SAFE = ("naive", "damped")
HALFLIFE = 10.0


def short_and_cyclical(series: pd.Series, safe_below: int) -> bool:
    """True when `series` has fallen in some year and spans fewer than `safe_below` years
    (first to last observation, both counted)."""
    s = series.dropna().sort_index()
    if len(s) < 2:
        return False
    span = int(s.index[-1]) - int(s.index[0]) + 1
    fell = bool((np.diff(np.log(s.to_numpy(dtype=float))) < 0).any())
    return fell and span < safe_below


def project(
    series: pd.Series, method: str, years, *, base_years: int = 10, phi: float = 0.8
) -> np.ndarray:
    """Projection of `series` (index: year, values > 0) from its last value to `years`."""
    s = series.dropna().sort_index()
    years = np.asarray(years, dtype=float)
    if s.empty:
        return np.full(years.shape, np.nan)
    t0, p0 = float(s.index[-1]), float(s.iloc[-1])
    d = years - t0
    if method == "naive" or len(s) < 2:
        return np.full(years.shape, p0)
    idx = s.index.to_numpy(dtype=float)
    if method == "drift":
        g = np.log(p0 / s.iloc[0]) / (t0 - idx[0])
        return p0 * np.exp(g * d)
    early = idx[idx <= t0 - base_years]
    tb = early[-1] if len(early) else idx[0]
    pb = float(s.loc[s.index[idx == tb][0]])
    if method == "damped":
        g = np.log(p0 / pb) / (t0 - tb)
        return p0 * np.exp(g * phi * (1 - phi**d) / (1 - phi))
    if method == "lin_exp":
        if p0 >= pb:
            out = p0 + (p0 - pb) / (t0 - tb) * d
            return np.where(out > 0, out, np.nan)
        return p0 * np.exp(np.log(p0 / pb) / (t0 - tb) * d)
    raise ValueError(f"unknown reference method {method!r}; expected one of {CANDIDATES}")


def backtest(
    series: pd.Series,
    *,
    methods: tuple[str, ...] = CANDIDATES,
    max_horizon: int = 10,
    min_history: int = 3,
    base_years: int = 10,
    phi: float = 0.8,
) -> pd.DataFrame:
    """Errors log(actual / projection) of every method at every origin with `min_history`
    years behind it: columns method, origin, horizon, error."""
    s = series.dropna().sort_index()
    years = s.index.to_numpy(dtype=int)
    rows = []
    for origin in years:
        if origin - years[0] < min_history:
            continue
        past = s[s.index <= origin]
        ahead = s[(s.index > origin) & (s.index <= origin + max_horizon)]
        if ahead.empty:
            continue
        h = ahead.index.to_numpy(dtype=int) - origin
        for m in methods:
            fc = project(past, m, ahead.index, base_years=base_years, phi=phi)
            err = np.log(ahead.to_numpy(dtype=float) / fc)
            rows += [(m, int(origin), int(k), float(e)) for k, e in zip(h, err, strict=True)]
    return pd.DataFrame(rows, columns=["method", "origin", "horizon", "error"])


@dataclass
class ReferenceChoice:
    """The chosen method for one series cut at an origin, with its backtest."""

    series: pd.Series
    method: str
    scores: dict[str, float] = field(default_factory=dict)
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    base_years: int = 10
    phi: float = 0.8
    safe: bool = False  # chosen among the safe methods only (a short cyclical series)

    def forecast(self, years) -> np.ndarray:
        return project(self.series, self.method, years, base_years=self.base_years, phi=self.phi)

    def chosen_errors(self) -> pd.DataFrame:
        """origin, horizon, error of the chosen method (the reference part of the intervals)."""
        e = self.errors
        if e.empty:
            return pd.DataFrame(columns=["origin", "horizon", "error"])
        return e.loc[e["method"] == self.method, ["origin", "horizon", "error"]].reset_index(
            drop=True
        )


def choose(
    series: pd.Series,
    *,
    methods: tuple[str, ...] = CANDIDATES,
    default: str = "damped",
    max_horizon: int = 10,
    min_history: int = 3,
    min_origins: int = 3,
    base_years: int = 10,
    phi: float = 0.8,
    halflife: float | None = HALFLIFE,
    safe_below: int | None = None,
) -> ReferenceChoice:
    """The method with the lowest backtest error on `series` (see the module docstring);
    with `safe_below`, a short cyclical series chooses among `SAFE` only."""
    s = series.dropna().sort_index()
    unknown = [m for m in methods if m not in CANDIDATES]
    if unknown:
        raise ValueError(f"unknown reference method {unknown[0]!r}; expected one of {CANDIDATES}")
    if safe_below is not None and safe_below < 2:
        raise ValueError(f"safe_below must be at least 2 years, got {safe_below}")
    safe = safe_below is not None and short_and_cyclical(s, safe_below)
    if safe:
        methods = SAFE
    errors = backtest(
        s,
        methods=methods,
        max_horizon=max_horizon,
        min_history=min_history,
        base_years=base_years,
        phi=phi,
    )
    method, scores = default, {}
    if not errors.empty and errors["origin"].nunique() >= min_origins:
        seen = errors["origin"] + errors["horizon"]
        w = 0.5 ** ((seen.max() - seen) / halflife) if halflife else 1.0
        e = errors.assign(a=errors["error"].abs() * w, w=w)
        sums = e.groupby(["method", "horizon"])[["a", "w"]].sum()
        per_h = sums["a"] / sums["w"]
        scores = per_h.groupby(level="method").mean().to_dict()
        method = min(methods, key=lambda m: (scores.get(m, np.inf), methods.index(m)))
    return ReferenceChoice(s, method, scores, errors, base_years, phi, safe)
