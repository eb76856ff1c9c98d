"""Which territory each decision is about, and the components of change behind it.

A town may be recorded as more than one unit: its *town proper* and the *city administration*
(the town with its subordinate villages) that contains it, or a *district* that stands in for a
town without series of its own. `units.csv` says so with optional columns `territory`
(`city_administration`, `district`, `town_proper`, ...), `parent_id` (see
:mod:`forecast.hierarchy`) and `stands_in_for` (the town a district or administration stands in
for). This module carries that into the outputs:

- every forecast, explanation and driver row says its unit's territory and whether it stands in
  for a town;
- every category row says the territory of the decision, the other territory of the same town
  with its forecast, and the unit whose employment forecast the decision reads (the unit itself,
  or the nearest unit containing it that has employment data: a town proper has no labour
  survey of its own);
- `components_history` lists, for the units decisions are about, births, deaths, natural
  increase, arrivals, departures, net migration and employment by year, beside the population.
"""

from __future__ import annotations

import pandas as pd

from . import hierarchy

FLAGS = ("territory", "stands_in_for")
COMPONENT_COLUMNS = ("births", "deaths", "arrivals", "departures", "employment", "wage")


def annotate(table: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """`table` (with a unit_id column) plus the unit's territory and stand-in flag, where the
    dataset records them."""
    out = table.copy()
    for c in FLAGS:
        if c in units:
            out[c] = units[c].reindex(out["unit_id"]).to_numpy()
    return out


def employment_unit(units: pd.DataFrame, has_employment: pd.Index) -> pd.Series:
    """For each unit, itself if it has an employment forecast, else its nearest ancestor that
    has one (NA if none)."""
    par = hierarchy.parents(units)
    out = {}
    for uid in units.index:
        node, seen = uid, set()
        while node is not None and node not in seen and node not in has_employment:
            seen.add(node)
            p = par.get(node)
            node = None if p is None or pd.isna(p) else str(p)
        out[uid] = node if node is not None and node in has_employment else pd.NA
    return pd.Series(out, dtype="string").reindex(units.index)


def decision_context(
    facts: pd.DataFrame, forecasts: pd.DataFrame, latest: pd.DataFrame, units: pd.DataFrame, h: int
) -> pd.DataFrame:
    """Columns to add to the category facts (indexed like `facts`): territory, stands_in_for,
    other_territory (+ its forecast change), employment_unit (+ territory, change)."""
    idx = facts.index
    out = pd.DataFrame(index=idx)
    for c in FLAGS:
        if c in units:
            out[c] = units[c].reindex(idx)
    fc = forecasts[forecasts["horizon"] == h].merge(latest, on=["unit_id", "target"])
    change = (100 * (fc["forecast"] / fc["latest"] - 1)).to_numpy()
    fc = fc.assign(change_pct=change).set_index(["target", "unit_id"])["change_pct"]
    pop = fc.xs("population") if "population" in fc.index.get_level_values(0) else pd.Series()
    if "parent_id" in units or "territory" in units:
        other = hierarchy.other_territory(units).reindex(idx)
        out["other_territory"] = other
        if "territory" in units:
            out["other_territory_kind"] = units["territory"].reindex(other.to_numpy()).to_numpy()
        out["other_territory_change_pct"] = pop.reindex(other.to_numpy()).to_numpy()
    if "employment" in fc.index.get_level_values(0):
        emp = fc.xs("employment")
        unit = employment_unit(units, emp.index).reindex(idx)
        out["employment_unit"] = unit
        # True where the jobs forecast is that of a larger territory standing in for the town
        out["employment_from_stand_in"] = unit.notna() & (unit.astype(object) != idx.to_numpy())
        if "territory" in units:
            out["employment_territory"] = units["territory"].reindex(unit.to_numpy()).to_numpy()
        out["employment_change_pct"] = emp.reindex(unit.to_numpy()).to_numpy().astype(float)
    return out


def components_history(panel: pd.DataFrame, unit_ids: pd.Index) -> pd.DataFrame:
    """Population and its components by unit and year for `unit_ids`: births, deaths, natural
    increase, arrivals, departures, net migration (persons) and employment, as observed."""
    cols = [c for c in ("population", *COMPONENT_COLUMNS) if c in panel]
    rows = panel.loc[panel["unit_id"].isin(unit_ids), ["unit_id", "year", *cols]].copy()
    if {"births", "deaths"} <= set(cols):
        rows["natural_increase"] = rows["births"] - rows["deaths"]
    if {"arrivals", "departures"} <= set(cols):
        rows["net_migration"] = rows["arrivals"] - rows["departures"]
    keep = [c for c in rows.columns if c in ("unit_id", "year") or rows[c].notna().any()]
    rows = rows[keep]
    values = rows.drop(columns=["unit_id", "year"])
    rows = rows[values.notna().any(axis=1).to_numpy()] if len(values.columns) else rows
    return rows.sort_values(["unit_id", "year"], kind="mergesort").reset_index(drop=True)


def units_for_components(categories: pd.DataFrame, units: pd.DataFrame) -> pd.Index:
    """The categorised units plus the other territory and the employment unit of each."""
    ids = list(categories["unit_id"].astype(str))
    for c in ("other_territory", "employment_unit"):
        if c in categories:
            ids += [str(u) for u in categories[c].dropna()]
    return pd.Index([u for u in dict.fromkeys(ids) if u in units.index])
