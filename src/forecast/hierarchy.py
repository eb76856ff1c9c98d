"""Nested units: which units may be summed, trained on and scored together.

A dataset may hold units that lie inside other units (a town proper inside its city
administration, a town inside its district). `units.csv` records this with an optional
`parent_id` column: a unit with a parent lies inside that parent; units without one are
*top-level* and partition the territory. Only top-level units are ever added up (region and
national totals, control to the total, aggregate accuracy), and only they enter training pairs
and calibration residuals, so that no person is counted twice. Nested units are still forecast,
explained and categorised like any other unit.

This module is the one place that rule lives; every total, training table and aggregate metric
asks it which units count.
"""

from __future__ import annotations

import pandas as pd

PARENT = "parent_id"
DECISION = "monotown"


def parents(units: pd.DataFrame) -> pd.Series:
    """Parent unit id of every unit (NA for top-level units), indexed by unit_id."""
    if PARENT not in units:
        return pd.Series(pd.NA, index=units.index, dtype="string")
    p = units[PARENT].astype("string").str.strip()
    return p.where(p != "", pd.NA)


def top_level(units: pd.DataFrame) -> pd.Index:
    """Units that lie inside no other unit: the only ones that may be summed or trained on."""
    return units.index[parents(units).isna().to_numpy()]


def decision_units(units: pd.DataFrame, attribute: str = DECISION, value=1) -> pd.Index:
    """Units a decision is about (default: `monotown == 1`); empty if the column is absent."""
    if attribute not in units:
        return units.index[:0]
    col = units[attribute]
    keep = col.astype(str) == str(value) if isinstance(value, str) else col == value
    return units.index[keep.fillna(False).to_numpy(dtype=bool)]


def other_territory(units: pd.DataFrame) -> pd.Series:
    """For each unit, the unit covering the other territory of the same town, if any: its
    parent when the unit is a town proper, its town-proper child when the unit is the city
    administration or district containing it (first child in file order). NA otherwise."""
    par = parents(units)
    out = pd.Series(pd.NA, index=units.index, dtype="string")
    if "territory" in units:
        town = units["territory"].astype("string") == "town_proper"
        out[town.fillna(False).to_numpy()] = par[town.fillna(False).to_numpy()]
        children = par[town.fillna(False).to_numpy() & par.notna().to_numpy()]
    else:
        children = par[par.notna()]
    first_child = pd.Series(children.index, index=children.to_numpy())
    first_child = first_child[~first_child.index.duplicated()]
    fill = out.isna() & units.index.isin(first_child.index)
    out[fill] = first_child.reindex(units.index[fill]).to_numpy()
    return out
