"""Components of population change as model inputs: natural increase, net migration, wages.

A town's population changes by births minus deaths and by arrivals minus departures; its jobs
follow its wages relative to the places people could move to. Where the panel holds those
columns (`births, deaths, arrivals, departures, wage`), this module turns them into rates that
are comparable between towns of any size and between years:

- `natural_increase_rate`: (births - deaths) / population of the same panel year;
- `net_migration_rate`: (arrivals - departures) / population of the same panel year;
- `..._5y`: the mean of the rate over the five panel years up to and including the year (at
  least three observed);
- `wage_rel_region_log`: log of the unit's wage over the population-weighted mean wage of the
  top-level units of its region in the same year (nominal wages inflate; the relative wage does
  not).

Every value of year t is computed from rows of year t or earlier, so the features built from
these series at an anchor year read nothing after it. Employment growth needs no series here:
the feature builder already computes `emp_growth_{k}y` from the employment target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import hierarchy

RATES = {
    "natural_increase_rate": ("births", "deaths"),
    "net_migration_rate": ("arrivals", "departures"),
}
WAGE = "wage"
MEAN_YEARS, MEAN_MIN = 5, 3
# raw columns replaced by their derived form: a nominal wage is not comparable across years
REPLACED = (WAGE,)


def _series(panel: pd.DataFrame, values: pd.Series) -> pd.DataFrame:
    ok = values.notna() & np.isfinite(values)
    out = panel.loc[ok, ["unit_id", "year"]].assign(value=values[ok].to_numpy(dtype=float))
    return out.sort_values(["unit_id", "year"], kind="mergesort").reset_index(drop=True)


def _trailing_mean(obs: pd.DataFrame) -> pd.DataFrame:
    """Mean over the `MEAN_YEARS` panel years ending at each observed year (backward only)."""
    if obs.empty:
        return obs
    wide = obs.pivot(index="year", columns="unit_id", values="value")
    years = np.arange(int(wide.index.min()), int(wide.index.max()) + 1)
    wide = wide.reindex(years)
    mean = wide.rolling(MEAN_YEARS, min_periods=MEAN_MIN).mean().where(wide.notna())
    long = mean.stack().rename("value").reset_index().dropna(subset=["value"])
    return long.sort_values(["unit_id", "year"], kind="mergesort").reset_index(drop=True)


def _relative_wage(panel: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    rows = panel.loc[panel[WAGE].notna() & (panel[WAGE] > 0), ["unit_id", "year", WAGE]].copy()
    rows["region"] = units["region"].reindex(rows["unit_id"]).to_numpy()
    pop = panel.set_index(["unit_id", "year"])["population"]
    rows["weight"] = pop.reindex(pd.MultiIndex.from_frame(rows[["unit_id", "year"]])).to_numpy()
    top = rows[rows["unit_id"].isin(hierarchy.top_level(units)) & rows["weight"].notna()]
    mean = (
        top.assign(ww=top[WAGE] * top["weight"]).groupby(["region", "year"])[["ww", "weight"]].sum()
    )
    mean = (mean["ww"] / mean["weight"]).rename("region_wage").reset_index()
    rows = rows.merge(mean, on=["region", "year"], how="left")
    return _series(rows, np.log(rows[WAGE] / rows["region_wage"]))


def component_series(panel: pd.DataFrame, units: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Derived (unit_id, year, value) series for every component the panel can give."""
    out: dict[str, pd.DataFrame] = {}
    for name, (plus, minus) in RATES.items():
        if plus in panel and minus in panel:
            rate = (panel[plus] - panel[minus]) / panel["population"]
            obs = _series(panel, rate)
            if not obs.empty:
                out[name] = obs
                out[f"{name}_{MEAN_YEARS}y"] = _trailing_mean(obs)
    if WAGE in panel and "region" in units:
        obs = _relative_wage(panel, units)
        if not obs.empty:
            out["wage_rel_region_log"] = obs
    return out
