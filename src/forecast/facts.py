"""Policy facts: the numbers the policy rules read, one row per unit in the policy's focus.

From the forecasts, the SHAP explanations and the latest observations: the change over the
policy horizon and its interval, employment's change, the agglomeration pole's forecast, the
share of a decline carried by structural drivers and the top drivers, and for a nested town that
follows its administration (forecast.nested) that administration and its forecast change. Lives with the policy
(:mod:`forecast.policy` turns these facts into categories).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import towns
from .errors import ForecastError
from .explain import FOLLOWS, by_driver
from .policy import Policy
from .schema import Dataset
from .state import current_state


def latest_observations(data: Dataset) -> pd.DataFrame:
    """unit_id, target, latest (value), latest_year for every observed target."""
    frames = []
    for t in data.targets:
        obs = data.panel.loc[data.panel[t].notna(), ["unit_id", "year", t]]
        last = obs.groupby("unit_id").tail(1)
        frames.append(
            pd.DataFrame(
                {
                    "unit_id": last["unit_id"],
                    "target": t,
                    "latest": last[t],
                    "latest_year": last["year"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def category_facts(
    data: Dataset, forecasts: pd.DataFrame, expl: pd.DataFrame, policy: Policy
) -> pd.DataFrame:
    """One row per unit in the policy's focus: the numbers the policy rules read."""
    latest = latest_observations(data)
    h = policy.horizon
    fc = forecasts[forecasts["horizon"] == h].merge(latest, on=["unit_id", "target"])
    for c in ("forecast", "lower", "upper"):
        fc[f"{c}_pct"] = 100 * (fc[c] / fc["latest"] - 1)
    pop = fc[fc["target"] == policy.target].set_index("unit_id")
    units = data.units
    f = pd.DataFrame(index=pop.index)
    f["name"] = units["name"].reindex(f.index)
    f["region"] = units["region"].reindex(f.index)
    f["latest"] = pop["latest"]
    f["latest_year"] = pop["latest_year"].astype(int)
    f["target_year"] = pop["year"].astype(int)
    f["forecast"] = pop["forecast"]
    f["change_pct"] = pop["forecast_pct"]
    f["lower_pct"] = pop["lower_pct"]
    f["upper_pct"] = pop["upper_pct"]
    emp = fc[fc["target"] == "employment"].set_index("unit_id")
    f["employment_change_pct"] = emp["forecast_pct"].reindex(f.index)

    a = policy.agglomeration
    f["pole"] = None
    f["pole_distance_km"] = np.nan
    f["pole_change_pct"] = f["pole_lower_pct"] = f["pole_upper_pct"] = np.nan
    if a.enabled and a.distance_attribute in units and a.pole_attribute in units:
        by_name = pd.Series(units.index, index=units["name"].astype(str))
        by_name = by_name[~by_name.index.duplicated()]
        pole_name = units[a.pole_attribute].reindex(f.index)
        pole_id = pole_name.map(by_name)
        f["pole"] = pole_name
        f["pole_distance_km"] = units[a.distance_attribute].reindex(f.index).astype(float)
        for col in ("forecast_pct", "lower_pct", "upper_pct"):
            dest = "pole_change_pct" if col == "forecast_pct" else f"pole_{col}"
            f[dest] = pole_id.map(pop[col]).astype(float)

    at_h = expl[(expl["target"] == policy.target) & (expl["horizon"] == h)]
    # a nested town that follows its administration (forecast.nested): whose outlook it follows
    follows = at_h[at_h["feature"] == FOLLOWS].drop_duplicates("unit_id").set_index("unit_id")
    f["follows"] = follows["value"].reindex(f.index).astype(object)
    f["follows_name"] = f["follows"].map(units["name"]).where(f["follows"].notna())
    if "territory" in units:  # city administration or district
        f["follows_territory"] = f["follows"].map(units["territory"]).where(f["follows"].notna())
    else:
        f["follows_territory"] = None
    f["follows_change_pct"] = f["follows"].map(pop["forecast_pct"]).astype(float)
    d = by_driver(at_h)
    d = d.set_index("unit_id")
    neg = d[d["contribution_log"] < 0]
    total_neg = neg.groupby(level=0)["contribution_log"].sum()
    structural = neg[neg["driver"].isin(policy.resettle.structural_drivers)]
    share = structural.groupby(level=0)["contribution_log"].sum().reindex(total_neg.index).fillna(0)
    f["structural_share"] = (share / total_neg).reindex(f.index)
    f.loc[f["change_pct"] >= 0, "structural_share"] = np.nan  # only meaningful for declines
    top = d.assign(abs_pct=d["contribution_pct"].abs()).sort_values("abs_pct", ascending=False)
    f["top_drivers"] = (
        top.groupby(level=0)
        .apply(
            lambda g: ", ".join(
                f"{r.driver} {r.contribution_pct:+.1f} pts" for r in g.head(3).itertuples()
            )
        )
        .reindex(f.index)
    )
    f = f.join(current_state(data).reindex(f.index))  # today's state beside the forecast
    ctx = towns.decision_context(f, forecasts, latest, units, h)
    for c in ctx.columns:  # territory of the decision, stand-ins, the unit employment is from
        f[c] = ctx[c]
    if policy.focus is not None:
        if policy.focus.attribute not in units:
            raise ForecastError(
                f"policy focus attribute {policy.focus.attribute!r} is not a column of units.csv"
            )
        col = units[policy.focus.attribute].reindex(f.index)
        want = policy.focus.value
        keep = col.astype(str) == str(want) if isinstance(want, str) else col == want
        f = f[keep.to_numpy()]
    return f


def moves_since_previous(categories: pd.DataFrame) -> pd.Series | None:
    """Counts of (previous, current) category pairs that differ, or None without a previous
    run (the `previous_category` column categorize() adds with hysteresis)."""
    prev = categories.get("previous_category")
    if prev is None or prev.isna().all():
        return None
    changed = categories[prev.notna() & (prev != categories["category"])]
    return changed.groupby(["previous_category", "category"]).size()
