"""Reference totals: the country and region trajectories units are measured against.

Demographers forecast small areas *relative to* a larger area that is itself forecast
separately; national growth regimes shift between decades, and a model of relative growth
carries over between them where one of absolute growth does not. A reference series comes from
`country.csv` / `regions.csv` when the dataset has them, otherwise from the units themselves,
chain-linked over the years most units are observed (an annual panel such as the US counties).

Two projections of a reference series exist. `value` / `forecast` extend it with LIN/EXP, the
classic trend the CSP-VSG baseline uses (the yardstick stays the textbook one). `projected`
extends the *national* series with the method that forecast it best in its own backtest
(`forecast.reference_choice`): no change, drift or damped trend, scored at every earlier origin
since the series begins, shocks included; the model's forecasts grow with that projection, and
the errors of that backtest are the reference part of the intervals. `how` = 'chosen_safe' is
the same, except that a short cyclical national series (fewer than `SAFE_BELOW` years, fallen in
some year: US employment from 1990) chooses between no change and the damped trend only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import baselines, hierarchy
from .reference_choice import ReferenceChoice, choose
from .schema import Dataset

COUNTRY = "__country__"
HOW = ("chosen", "chosen_safe", "lin_exp")
SAFE_BELOW = 20  # years: two business cycles (reference_choice.short_and_cyclical)


def _chained_totals(panel: pd.DataFrame, target: str, groups: pd.Series | None) -> pd.DataFrame:
    """Totals of `target` by (group, year), chain-linked so that units entering or leaving the
    panel (boundary changes, late series) do not show up as growth.

    Years count when at least half of the group's units are observed. Between two consecutive
    such years, growth is measured on the units observed in both; the chain is anchored to the
    plain sum in the best-covered year. For a balanced panel this is exactly the sum.
    """
    obs = panel.loc[panel[target].notna(), ["unit_id", "year", target]]
    key = obs["unit_id"].map(groups) if groups is not None else pd.Series(COUNTRY, index=obs.index)
    obs = obs.assign(key=key.to_numpy()).rename(columns={target: "v"})
    frames = []
    for k, rows in obs.groupby("key", sort=True):
        wide = rows.pivot(index="year", columns="unit_id", values="v").sort_index()
        count = wide.notna().sum(axis=1)
        wide = wide[count >= 0.5 * count.max()]
        if len(wide) < 2:
            continue
        both = wide.notna() & wide.shift().notna()
        growth = wide.where(both).sum(axis=1) / wide.shift().where(both).sum(axis=1)
        growth.iloc[0] = 1.0
        index = growth.cumprod()
        best = wide.notna().sum(axis=1).idxmax()
        level = index * (wide.loc[best].sum() / index.loc[best])
        frames.append(pd.DataFrame({"key": k, "year": level.index, "value": level.to_numpy()}))
    if not frames:
        return pd.DataFrame(columns=["key", "year", "value"])
    return pd.concat(frames, ignore_index=True)


class Reference:
    """Totals of one target by (key, year), where key is COUNTRY or a region name."""

    def __init__(self, series: dict[str, pd.Series], base_years: int = 10):
        self.series = {k: s.sort_index() for k, s in series.items() if s.notna().sum() >= 2}
        self.base_years = base_years
        self._choices: dict[tuple[str, int, int | None], ReferenceChoice] = {}

    @classmethod
    def from_dataset(cls, data: Dataset, target: str, base_years: int = 10) -> Reference:
        series: dict[str, pd.Series] = {}
        # nested units (a town inside its district) are never added to their parents
        top = data.panel[data.panel["unit_id"].isin(hierarchy.top_level(data.units))]
        if data.country is not None and target in data.country:
            s = data.country.set_index("year")[target].dropna()
            series[COUNTRY] = s
        else:
            sums = _chained_totals(top, target, None)
            if not sums.empty:
                series[COUNTRY] = sums.set_index("year")["value"]
        if data.regions is not None and target in data.regions:
            for region, rows in data.regions.groupby("region"):
                series[str(region)] = rows.set_index("year")[target].dropna()
        else:
            sums = _chained_totals(top, target, data.units["region"])
            for region, rows in sums.groupby("key"):
                series[str(region)] = rows.set_index("year")["value"]
        return cls(series, base_years)

    def has(self, key: str) -> bool:
        return key in self.series

    def at(self, key: str, years) -> np.ndarray:
        """Observed values at `years`; log-linear between two observed years at most 5 apart,
        NaN elsewhere (never extrapolated)."""
        years = np.asarray(years, dtype=float)
        if key not in self.series:
            return np.full(years.shape, np.nan)
        s = self.series[key]
        x = s.index.to_numpy(dtype=float)
        y = np.log(s.to_numpy(dtype=float))
        out = np.exp(np.interp(years, x, y, left=np.nan, right=np.nan))
        pos = np.searchsorted(x, years)
        lo = x[np.clip(pos - 1, 0, len(x) - 1)]
        hi = x[np.clip(pos, 0, len(x) - 1)]
        exact = np.isin(years, x)
        return np.where(exact | ((hi - lo) <= 5), out, np.nan)

    def forecast(self, key: str, origin: int, years) -> np.ndarray:
        """Forecast of the total at `years` from its values up to `origin` (LIN/EXP)."""
        years = np.asarray(years, dtype=float)
        if key not in self.series:
            return np.full(years.shape, np.nan)
        s = self.series[key]
        obs = pd.DataFrame({"unit_id": key, "year": s.index, "value": s.to_numpy()})
        a = baselines.anchors(obs, origin, self.base_years)
        if a.empty:
            return np.full(years.shape, np.nan)
        r = a.iloc[0]
        fc = baselines.lin_exp(r.p0, r.t0, r.pb, r.tb, years)
        # years at or before the anchor are observed: use the observation
        return np.where(years <= r.t0, self.at(key, years), fc)

    def value(self, key: str, origin: int, years) -> np.ndarray:
        """Observed where `year <= origin`, forecast from `origin` beyond it."""
        years = np.asarray(years, dtype=float)
        return np.where(years <= origin, self.at(key, years), self.forecast(key, origin, years))

    def choice(
        self, key: str, origin: int, safe_below: int | None = None
    ) -> ReferenceChoice | None:
        """The projection method chosen by the backtest of `key`'s series up to `origin`
        (`safe_below`: see `reference_choice.choose`)."""
        if key not in self.series:
            return None
        if (key, origin, safe_below) not in self._choices:
            s = self.series[key]
            self._choices[(key, origin, safe_below)] = choose(
                s[s.index <= origin], safe_below=safe_below
            )
        return self._choices[(key, origin, safe_below)]

    def projected(self, key: str, origin: int, years, safe_below: int | None = None) -> np.ndarray:
        """Observed where `year <= origin`, else the chosen method's projection from `origin`."""
        years = np.asarray(years, dtype=float)
        c = self.choice(key, origin, safe_below)
        if c is None:
            return np.full(years.shape, np.nan)
        return np.where(years <= origin, self.at(key, years), c.forecast(years))

    def up_to(self, origin: int) -> Reference:
        return Reference({k: s[s.index <= origin] for k, s in self.series.items()}, self.base_years)


def _safe_below(how: str) -> int | None:
    if how not in HOW:
        raise ValueError(f"unknown national projection {how!r}; expected one of {HOW}")
    return SAFE_BELOW if how == "chosen_safe" else None


def national_choice(ref: Reference | None, origin: int, how: str) -> ReferenceChoice | None:
    """The national choice at `origin` behind `how` ('chosen' or 'chosen_safe'; for
    'lin_exp' the plain choice, whose backtest holds the LIN/EXP errors too)."""
    safe_below = _safe_below(how)
    return ref.choice(COUNTRY, origin, safe_below) if ref is not None else None


def national_projection(ref: Reference | None, origin: int, years, how: str) -> np.ndarray:
    """The national total at `years` as the model uses it: `how` = 'chosen' (the method the
    national backtest picks, see `Reference.projected`), 'chosen_safe' (the same, safe
    methods only for a short cyclical series) or 'lin_exp' (the classic trend)."""
    years = np.asarray(years, dtype=float)
    safe_below = _safe_below(how)
    if ref is None or not ref.has(COUNTRY):
        return np.full(years.shape, np.nan)
    if how == "lin_exp":
        return ref.value(COUNTRY, origin, years)
    return ref.projected(COUNTRY, origin, years, safe_below)


def national_errors(ref: Reference | None, origin: int, how: str) -> pd.DataFrame:
    """Backtest errors (origin, horizon, error) of the national projection the model uses, at
    every origin of the national series up to `origin` (empty without a national series)."""
    empty = pd.DataFrame(columns=["origin", "horizon", "error"])
    c = national_choice(ref, origin, how)
    if c is None or c.errors.empty:
        return empty
    method = how if how == "lin_exp" else c.method
    e = c.errors
    return e.loc[e["method"] == method, ["origin", "horizon", "error"]].reset_index(drop=True)


def recency_weights(t1, origin: int, halflife: float | None) -> np.ndarray:
    """Weight of a training pair ending in `t1`: halved every `halflife` years before the
    origin (relative growth regimes drift: the 1970s rural rebound reversed in the 1980s);
    all ones without a half-life."""
    t1 = np.asarray(t1, dtype=float)
    if not halflife:
        return np.ones(len(t1))
    return 0.5 ** ((origin - t1) / halflife)
