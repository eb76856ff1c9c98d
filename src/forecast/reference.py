"""Reference totals: the country and region trajectories units are measured against.

Demographers forecast small areas *relative to* a larger area that is itself forecast
separately; national growth regimes shift between decades, and a model of relative growth
carries over between them where one of absolute growth does not. A reference series comes from
`country.csv` / `regions.csv` when the dataset has them, otherwise from the sum of the units in
years where every unit is observed (a complete panel such as the US counties).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import baselines
from .schema import Dataset

COUNTRY = "__country__"


def _complete_sums(panel: pd.DataFrame, target: str, groups: pd.Series | None) -> pd.DataFrame:
    """Sums of `target` by (group, year) over years where every unit of the group is observed."""
    obs = panel.loc[panel[target].notna(), ["unit_id", "year", target]]
    key = obs["unit_id"].map(groups) if groups is not None else pd.Series(COUNTRY, index=obs.index)
    obs = obs.assign(key=key.to_numpy())
    size = obs.groupby("key")["unit_id"].nunique()
    agg = obs.groupby(["key", "year"])[target].agg(["sum", "count"]).reset_index()
    agg = agg[agg["count"] == agg["key"].map(size)]
    return agg.rename(columns={"sum": "value"})[["key", "year", "value"]]


class Reference:
    """Totals of one target by (key, year), where key is COUNTRY or a region name."""

    def __init__(self, series: dict[str, pd.Series], base_years: int = 10):
        self.series = {k: s.sort_index() for k, s in series.items() if s.notna().sum() >= 2}
        self.base_years = base_years

    @classmethod
    def from_dataset(cls, data: Dataset, target: str, base_years: int = 10) -> Reference:
        series: dict[str, pd.Series] = {}
        if data.country is not None and target in data.country:
            s = data.country.set_index("year")[target].dropna()
            series[COUNTRY] = s
        else:
            sums = _complete_sums(data.panel, target, None)
            if not sums.empty:
                series[COUNTRY] = sums.set_index("year")["value"]
        if data.regions is not None and target in data.regions:
            for region, rows in data.regions.groupby("region"):
                series[str(region)] = rows.set_index("year")[target].dropna()
        else:
            sums = _complete_sums(data.panel, target, data.units["region"])
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
