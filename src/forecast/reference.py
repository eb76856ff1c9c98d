"""Reference totals: the country and region trajectories units are measured against.

Demographers forecast small areas *relative to* a larger area that is itself forecast
separately; national growth regimes shift between decades, and a model of relative growth
carries over between them where one of absolute growth does not. A reference series comes from
`country.csv` / `regions.csv` when the dataset has them, otherwise from the units themselves,
chain-linked over the years most units are observed (an annual panel such as the US counties).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import baselines, hierarchy
from .schema import Dataset

COUNTRY = "__country__"


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

    def up_to(self, origin: int) -> Reference:
        return Reference({k: s[s.index <= origin] for k, s in self.series.items()}, self.base_years)
