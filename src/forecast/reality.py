"""Check categories against what happened: categorise at a past origin, compare with outcomes.

From the forecasts made at `origin` (data cut there, as always), each unit gets its category;
its realised change over the policy horizon is then classed with the same thresholds
(decline / middle / growth). The confusion table and the precision of *resettle* (units we
would have told to plan for decline that did decline) say how far the categories can be
trusted, overall and for a subgroup such as mining-dependent counties.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from . import markdown
from .compose import outlook
from .config import EngineConfig
from .engine import Forecaster
from .errors import ForecastError
from .policy import Policy, categorize
from .schema import Dataset

ORDER = ["resettle", "stabilize", "agglomerate", "diversify"]
REALIZED = ["decline", "middle", "growth"]


def realized_class(change_pct: pd.Series, policy: Policy) -> pd.Series:
    t = policy.thresholds
    return pd.Series(
        np.select(
            [change_pct < t.decline_pct, change_pct >= t.growth_pct],
            ["decline", "growth"],
            "middle",
        ),
        index=change_pct.index,
    )


def variants(policy: Policy) -> dict[str, Policy]:
    """The policy as configured, and the same thresholds on the point forecast alone (no
    interval or driver condition for resettle), to show what those conditions buy."""
    point = policy.model_copy(deep=True)
    point.resettle.require_interval_below = False
    point.resettle.min_structural_share = 0.0
    return {"as configured": policy, "point forecast only": point}


def reality_check(
    data: Dataset,
    origin: int,
    policy: Policy,
    config: EngineConfig,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, pd.DataFrame]:
    """For each policy variant, one row per categorised unit: category, boundary flag,
    realised change and class."""
    h = policy.horizon
    outcome_year = origin + h
    if outcome_year > data.last_year:
        raise ForecastError(
            f"no outcomes to check: origin {origin} + horizon {h} = {outcome_year} is after the "
            f"last year of the data ({data.last_year})"
        )
    cfg = config.model_copy(update={"horizons": sorted({*config.horizons, h})})
    progress(f"fitting at {origin}")
    fc = Forecaster(config=cfg).fit(data, origin, progress=progress)
    progress("explaining and categorising")
    facts = outlook(fc, data, policy, horizons=[h]).facts
    actual = data.panel.loc[data.panel["year"] == outcome_year].set_index("unit_id")[policy.target]
    out = {}
    for name, pol in variants(policy).items():
        cats = categorize(facts, pol, cfg.level)
        cats["actual"] = cats["unit_id"].map(actual)
        cats = cats[cats["actual"].notna()].copy()
        cats["realized_pct"] = 100 * (cats["actual"] / cats["latest"] - 1)
        cats["realized"] = realized_class(cats["realized_pct"], pol).to_numpy()
        out[name] = cats
    return out


def confusion(cats: pd.DataFrame) -> pd.DataFrame:
    tab = pd.crosstab(cats["category"], cats["realized"]).reindex(
        index=[c for c in ORDER if c in set(cats["category"])], columns=REALIZED, fill_value=0
    )
    tab["total"] = tab.sum(axis=1)
    return tab


def summary(cats: pd.DataFrame) -> dict[str, float]:
    res = cats[cats["category"] == "resettle"]
    boundary = cats[cats["boundary"].astype(bool)]
    decliners = cats[cats["realized"] == "decline"]
    flagged = decliners["category"].eq("resettle") | decliners["boundary"].astype(bool)
    return {
        "units": len(cats),
        "resettle": len(res),
        "resettle_precision": float((res["realized"] == "decline").mean()) if len(res) else np.nan,
        "resettle_declined_at_all": float((res["realized_pct"] < 0).mean()) if len(res) else np.nan,
        "boundary_cases": len(boundary),
        "boundary_declined": float((boundary["realized"] == "decline").mean())
        if len(boundary)
        else np.nan,
        "decliners": len(decliners),
        "decliners_flagged": float(flagged.mean()) if len(decliners) else np.nan,
        "diversify_precision": float(
            (cats.loc[cats["category"] == "diversify", "realized"] == "growth").mean()
        )
        if (cats["category"] == "diversify").any()
        else np.nan,
    }


def subgroups(
    by_variant: dict[str, pd.DataFrame], units: pd.DataFrame, group: str | None
) -> dict[str, pd.DataFrame]:
    """Per variant, all units and (when `group` is a column of units) the units flagged 1 /
    True in it, e.g. mining-dependent counties."""
    out = {}
    for variant, cats in by_variant.items():
        out[f"{variant}: all units"] = cats
        if group and group in units:
            flag = units[group].reindex(cats["unit_id"]).astype(str)
            out[f"{variant}: {group} = 1"] = cats[flag.isin(["1", "1.0", "True"]).to_numpy()]
    return out


def to_markdown(
    groups: dict[str, pd.DataFrame],
    *,
    dataset: str,
    origin: int,
    policy: Policy,
    command: str,
) -> str:
    """The results file of a reality check: a confusion table and the summary per group."""
    t = policy.thresholds
    lines = [
        f"# Reality check: {dataset}",
        "",
        f"- command: `{command}`",
        f"- categories from forecasts made with data up to {origin}; outcomes in "
        f"{origin + policy.horizon}; policy `{policy.name}` (decline < "
        f"{t.decline_pct:+g}%, growth >= {t.growth_pct:+g}% over {policy.horizon} years)",
        "- realised class uses the same thresholds on the realised change",
        "- `resettle_precision`: share of units categorised *resettle* that did fall "
        "below the decline threshold; `decliners_flagged`: share of realised decliners "
        "we categorised *resettle* or marked as a boundary case",
        "- *point forecast only*: the same thresholds without the interval and driver "
        "conditions for resettle, to show what those conditions change",
        "",
    ]
    for name, sub in groups.items():
        numbers = summary(sub)
        summ = pd.DataFrame(
            {"measure": list(numbers), "value": pd.Series(list(numbers.values()), dtype=object)}
        )
        lines += [
            f"## {name}",
            "",
            "predicted category (rows) x realised change class:",
            "",
            markdown.table(confusion(sub), index="category"),
            "",
            markdown.table(summ, floats=".3f"),
            "",
        ]
    return "\n".join(lines)
