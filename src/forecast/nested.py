"""Nested towns that follow their parent: a town proper forecast with its administration's trend.

A nested unit (a town proper inside its city administration or district, `parent_id` in
units.csv; forecast.hierarchy) has a short or irregular series of its own: census points, then
an annual sheet from 2011 in the Kazakh panel, whose territory need not match the census city
proper. The model never trains on nested units, and the trend baselines of such a series reach
back across the gap (and the break) to the last census. Its parent is a top-level unit with a
long annual series, forecast like every other, and a town's growth follows its parent's.

The *parent member* of a nested town is its anchor value times its parent's forecast growth
since the town's anchor year:

    parent = p0 * parent_forecast(year) / parent_observed(t0)

which also carries the parent's observed change between a stale anchor (the last census) and
the origin. Opt-in (`nested_members`, per target, e.g. population: [parent, naive]): the
published forecast of a nested town is the equal-weight geometric mean of those members
wherever the parent member exists (the parent observed at the town's anchor year and forecast
for the same year); elsewhere it is unchanged. Top-level units never change, so totals,
training pairs, combination weights and calibration do not move (the interval is the same
relative width around the new forecast).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import hierarchy

MEMBER = "parent"
PARENT_ID = "parent_id"  # the column of the forecast table naming the parent a row follows
TERRITORY, TOWN_PROPER = "territory", "town_proper"


def parent_ids(table: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    """The parent a row of `table` (unit_id) may follow: <NA> for top-level units and for
    nested units that are not a town proper where units.csv records the territory (Astana's
    inner-city districts grew apart from their city: at the tuning origins the member made
    them worse)."""
    parents = hierarchy.parents(units)
    if TERRITORY in units:  # towns only: not the inner-city districts of a growing capital
        parents = parents.where(units[TERRITORY].astype("string") == TOWN_PROPER)
    par = parents.reindex(table["unit_id"]).to_numpy()
    return pd.Series(par, index=table.index, dtype="string", name=PARENT_ID)


def parent_member(table: pd.DataFrame, obs: pd.DataFrame, units: pd.DataFrame) -> pd.Series:
    """The parent member of every row of `table` (unit_id, year, t0, p0, forecast): NaN where
    `parent_ids` has no parent; and where the parent is not observed at the row's t0 (`obs`:
    unit_id, year, value, cut at the origin) or has no forecast for the row's year."""
    parent_id = parent_ids(table, units)
    keys = pd.DataFrame({"unit_id": parent_id, "year": table["year"], "t0": table["t0"]})
    fc = table[["unit_id", "year", "forecast"]].rename(columns={"forecast": "parent_forecast"})
    at_t0 = obs[["unit_id", "year", "value"]].rename(columns={"year": "t0", "value": "parent_t0"})
    keys = keys.astype({"unit_id": object})
    merged = keys.merge(fc, on=["unit_id", "year"], how="left").merge(
        at_t0, on=["unit_id", "t0"], how="left"
    )
    ratio = merged["parent_forecast"].to_numpy(float) / merged["parent_t0"].to_numpy(float)
    out = table["p0"].to_numpy(float) * ratio
    out = np.where(np.isfinite(out) & (out > 0), out, np.nan)
    return pd.Series(out, index=table.index, name=MEMBER)


def blend(
    table: pd.DataFrame,
    weights: pd.DataFrame,
    member: pd.Series,
    members: list[str],
    parent_id: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`table` with the forecast of every row that has a parent member replaced by the
    equal-weight geometric mean of `members` (the parent member and columns of `table`:
    `model` or baselines), and `weights` set to those members there (a `parent` column added),
    so that the decomposition still adds up to the forecast. Other rows are unchanged. With
    `parent_id` (`parent_ids`), the table's `parent_id` column names the parent of the rows
    that follow it (<NA> elsewhere): forecast.explain reads the parent's drivers from it."""
    unknown = [m for m in members if m != MEMBER and m not in table]
    if not members or unknown:
        raise ValueError(
            f"nested_members must name the parent member or forecast columns (got {members}; "
            f"unknown: {unknown})"
        )
    out = table.copy()
    out[MEMBER] = member
    finite = [np.isfinite(out[m].to_numpy(float)) for m in members]
    ok = member.notna().to_numpy() & np.all(finite, axis=0)
    logs = np.mean([np.log(out[m].to_numpy(float)) for m in members], axis=0)
    out["forecast"] = np.where(ok, np.exp(logs), out["forecast"].to_numpy(float))
    if parent_id is not None:
        out[PARENT_ID] = parent_id.astype("string").where(ok & (MEMBER in members))
    w = weights.copy()
    w[MEMBER] = 0.0
    for c in dict.fromkeys(members):  # in the members' order: the output columns are stable
        if c not in w.columns:
            w[c] = 0.0
    for c in w.columns:
        share = members.count(c) / len(members)
        w[c] = np.where(ok, share, w[c].to_numpy(float))
    return out, w
