"""Today's state of each unit beside its forecast: current indicators from the panel.

The official methods rank single-industry towns on current indicators (unemployment, the share
of jobs in the city-forming enterprise, wages). These are the ones the data contract can carry;
the policy may use them beside the forecast (`Policy.current_state`) where they improve the
track record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import Dataset

TREND_YEARS = 5


def _weighted_region_mean(values: pd.Series, weights: pd.Series, region: pd.Series) -> pd.Series:
    """Each unit's region mean of `values` (weighted; units without a weight count once)."""
    w = weights.where(weights.notna() & (weights > 0), 1.0).where(values.notna(), 0.0)
    num = (values.fillna(0) * w).groupby(region).transform("sum")
    den = w.groupby(region).transform("sum")
    return num / den.replace(0, np.nan)


def current_state(data: Dataset) -> pd.DataFrame:
    """Today's state of each unit from the latest observations in `data` (already cut at the
    origin), where the panel has them: ``unemployment_rate`` and its gap to the region
    (``unemployment_gap``, points, weighted by labour force), ``employment_trend_pct`` (jobs
    change over the last 5 years) and its gap to the region's, ``wage_relative`` (wage over the
    region's mean wage) when a ``wage`` column exists. Empty columns are left out."""
    panel = data.panel
    units = data.units
    out = pd.DataFrame(index=units.index)
    region = units["region"]
    last_year = int(panel["year"].max())

    def latest(col: str) -> pd.Series:
        obs = panel.loc[panel[col].notna() & (panel["year"] > last_year - 3), ["unit_id", col]]
        return obs.groupby("unit_id")[col].last().reindex(units.index)

    if "unemployment_rate" in panel and panel["unemployment_rate"].notna().any():
        u = latest("unemployment_rate")
        lf_col = next((c for c in ("labor_force", "labour_force") if c in panel), None)
        lf = latest(lf_col) if lf_col else pd.Series(np.nan, units.index)
        out["unemployment_rate"] = u
        out["unemployment_gap"] = u - _weighted_region_mean(u, lf, region)
    if "employment" in panel and panel["employment"].notna().any():
        emp = panel.loc[panel["employment"].notna(), ["unit_id", "year", "employment"]]
        now = emp[emp["year"] == last_year].set_index("unit_id")["employment"]
        then = emp[emp["year"] == last_year - TREND_YEARS].set_index("unit_id")["employment"]
        trend = (100 * (now / then - 1)).reindex(units.index)
        out["employment_trend_pct"] = trend
        out["employment_trend_gap"] = trend - _weighted_region_mean(
            trend, then.reindex(units.index), region
        )
    if "wage" in panel and panel["wage"].notna().any():
        wage = latest("wage")
        out["wage_relative"] = wage / _weighted_region_mean(
            wage, pd.Series(np.nan, units.index), region
        )
    return out.dropna(axis=1, how="all")
