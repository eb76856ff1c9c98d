"""Check categories against what happened: categorise at a past origin, compare with outcomes.

From the forecasts made at `origin` (data cut there, as always), each unit gets its category;
its realised change over the policy horizon is then classed with the same thresholds
(decline / middle / growth). The scores:

* **precision and recall per category** (`precision_recall`): of the units called *resettle*,
  the share that fell below the decline threshold (precision), and of the units that fell, the
  share called *resettle* (recall); the row ``resettle or boundary`` counts the watch list too.
  *diversify* is scored against growth (at or above the growth threshold), *stabilize* against
  the middle band, *agglomerate* against the town's own growth;
* **reliability** (`reliability`): the calibrated probabilities binned (0-10%, ..., 90-100%),
  with the realised share of each event in each bin: of the units given a 70% chance of falling
  below the threshold, about 70% should have;
* both **by group** (`scores_by_group`): all units, mining-dependent or not, size class and
  country (dataset).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from . import io
from .compose import outlook
from .config import EngineConfig
from .engine import Forecaster
from .errors import ForecastError
from .markdown import table as markdown_table
from .policy import SIZE_BREAKS, Policy, Probability, categorize, size_labels
from .schema import Dataset

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


ORDER = ["resettle", "stabilize", "agglomerate", "diversify"]
REALIZED = ["decline", "middle", "growth"]
# category -> (realised class it stands for, the probability column of that class)
EVENT = {
    "resettle": ("decline", "p_decline"),
    "resettle or boundary": ("decline", "p_decline"),
    "stabilize": ("middle", "p_stabilize"),
    "diversify": ("growth", "p_growth"),
    "agglomerate": ("growth", "p_growth"),
}
PR_COLUMNS = [
    "category",
    "realised_class",
    "units",
    "called",
    "correct",
    "precision",
    "realised",
    "recall",
]
REL_COLUMNS = [
    "event",
    "bin",
    "bin_low",
    "bin_high",
    "units",
    "mean_probability",
    "realised_share",
    "gap_points",
]


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
    """The policy as configured, and the same thresholds on the point forecast alone (uncalibrated
    probabilities at even odds, no driver or current-state condition), to show what the chosen
    rule changes."""
    point = policy.model_copy(deep=True)
    point.probability = Probability()  # identity: no shift, scale, shared shock or groups
    point.resettle.min_probability = point.resettle.boundary_probability = 0.5
    point.resettle.min_structural_share = 0.0
    point.diversify.min_probability = 0.5
    point.current_state = []
    return {"as configured": policy, "point forecast only": point}


def origin_record(
    data: Dataset,
    origin: int,
    policy: Policy,
    config: EngineConfig,
    progress: Progress = _quiet,
) -> pd.DataFrame:
    """The policy facts at `origin` for every unit with an outcome at origin + horizon, with
    ``origin``, ``actual`` and ``realized_pct`` (percent change from the latest value)."""
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
    progress(f"explaining at {origin}")
    facts = outlook(fc, data, policy, horizons=[h]).facts.copy()
    actual = data.panel.loc[data.panel["year"] == outcome_year].set_index("unit_id")[policy.target]
    facts["origin"] = origin
    facts["actual"] = actual.reindex(facts.index)
    facts = facts[facts["actual"].notna()].copy()
    facts["realized_pct"] = 100 * (facts["actual"] / facts["latest"] - 1)
    return facts


def score_record(record: pd.DataFrame, policy: Policy, level: float) -> pd.DataFrame:
    """Categorise a track record (facts with ``realized_pct``) and add the realised class."""
    cats = categorize(record.drop(columns=["realized"], errors="ignore"), policy, level)
    cats["realized"] = realized_class(cats["realized_pct"], policy).to_numpy()
    return cats


def reality_check(
    data: Dataset,
    origin: int,
    policy: Policy,
    config: EngineConfig,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, pd.DataFrame]:
    """For each policy variant, one row per categorised unit: category, probabilities, boundary
    flag, realised change and class."""
    record = origin_record(data, origin, policy, config, progress)
    return {name: score_record(record, pol, config.level) for name, pol in variants(policy).items()}


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


def summary_lines(s: dict[str, float]) -> list[str]:
    """`summary` in plain words, one line per category (what `forecast reality-check` prints);
    a share over no units reads "none told" / "none", never nan."""

    def share(v: float) -> str:
        return "none" if pd.isna(v) else f"{v:.0%}"

    resettle = "resettle: none told"
    if s["resettle"]:
        resettle = (
            f"resettle: {s['resettle']} told; {share(s['resettle_precision'])} of them fell "
            f"below the decline threshold ({share(s['resettle_declined_at_all'])} fell at all)"
        )
    diversify = "diversify: none told"
    if not pd.isna(s["diversify_precision"]):
        diversify = f"diversify: {share(s['diversify_precision'])} of the calls grew"
    return [
        f"{s['units']} units categorised",
        resettle,
        f"watch list: {s['boundary_cases']} units; {share(s['boundary_declined'])} of them fell "
        "below the threshold",
        f"decliners: {s['decliners']} fell below the threshold; "
        f"{share(s['decliners_flagged'])} of them were told to resettle or watched",
        diversify,
    ]


def _called(cats: pd.DataFrame, category: str) -> pd.Series:
    if category == "resettle or boundary":
        return cats["category"].eq("resettle") | cats["boundary"].astype(bool)
    return cats["category"].eq(category)


def precision_recall(cats: pd.DataFrame) -> pd.DataFrame:
    """One row per category (and ``resettle or boundary``): units called, how many of them
    realised the class the category stands for (precision), and the share of all units that
    realised that class which were called (recall). NaN where nothing was called / realised."""
    rows = []
    for category, (cls, _) in EVENT.items():
        called = _called(cats, category)
        hit = cats["realized"].eq(cls)
        n_called, n_hit = int(called.sum()), int(hit.sum())
        correct = int((called & hit).sum())
        rows.append(
            {
                "category": category,
                "realised_class": cls,
                "units": len(cats),
                "called": n_called,
                "correct": correct,
                "precision": correct / n_called if n_called else np.nan,
                "realised": n_hit,
                "recall": correct / n_hit if n_hit else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=PR_COLUMNS)


def reliability(cats: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """For each event (decline, middle, growth): units binned by their stated probability, the
    mean stated probability and the realised share per bin; ``gap_points`` = 100 x (realised -
    stated). Empty bins are left out."""
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for cls, col in (("decline", "p_decline"), ("middle", "p_stabilize"), ("growth", "p_growth")):
        p = cats[col].astype(float).to_numpy()
        hit = cats["realized"].eq(cls).to_numpy()
        k = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
        for b in range(bins):
            m = k == b
            if not m.any():
                continue
            stated, realised = float(p[m].mean()), float(hit[m].mean())
            rows.append(
                {
                    "event": cls,
                    "bin": f"{edges[b]:.0%}-{edges[b + 1]:.0%}",
                    "bin_low": edges[b],
                    "bin_high": edges[b + 1],
                    "units": int(m.sum()),
                    "mean_probability": stated,
                    "realised_share": realised,
                    "gap_points": 100 * (realised - stated),
                }
            )
    return pd.DataFrame(rows, columns=REL_COLUMNS)


def size_class(latest: pd.Series, breaks: tuple[float, ...] = SIZE_BREAKS) -> pd.Series:
    return pd.Series(size_labels(latest, breaks).astype(str), index=latest.index)


def groups(
    cats: pd.DataFrame,
    units: pd.DataFrame | None,
    country: str,
    flag: str | None = "mining_dependent",
) -> dict[tuple, pd.Series]:
    """Masks of the groups scored: all units, a 0/1 attribute of units.csv (`flag`, by default
    mining-dependent, where units.csv has it), size class of the latest population and country
    (``country`` column if present, else the dataset's name given)."""
    out: dict[tuple, pd.Series] = {("all", "all"): pd.Series(True, index=cats.index)}
    if units is not None and flag and flag in units:
        col = units[flag].reindex(cats["unit_id"]).astype(str)
        yes = pd.Series(col.isin(["1", "1.0", "True"]).to_numpy(), index=cats.index)
        out[(flag, "yes")] = yes
        out[(flag, "no")] = ~yes
    size = size_class(cats["latest"])
    for label in sorted(
        set(size), key=lambda s: float(s.split("-")[0].rstrip("+").replace(",", ""))
    ):
        out[("size_class", label)] = size.eq(label)
    ctry = cats["country"] if "country" in cats else pd.Series(country, index=cats.index)
    for c in sorted(set(ctry)):
        out[("country", c)] = ctry.eq(c)
    return out


def scores_by_group(
    cats: pd.DataFrame,
    units: pd.DataFrame | None,
    country: str,
    flag: str | None = "mining_dependent",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`precision_recall` and `reliability` for every group, with ``group`` and ``value``
    columns in front."""
    pr, rel = [], []
    for (kind, value), mask in groups(cats, units, country, flag).items():
        sub = cats[mask.to_numpy()]
        if sub.empty:
            continue
        pr.append(precision_recall(sub).assign(group=kind, value=value))
        rel.append(reliability(sub).assign(group=kind, value=value))
    front = ["group", "value"]
    pr_t, rel_t = pd.concat(pr, ignore_index=True), pd.concat(rel, ignore_index=True)
    return pr_t[front + PR_COLUMNS], rel_t[front + REL_COLUMNS]


def scores_table(
    by_variant: dict[str, pd.DataFrame],
    units: pd.DataFrame | None,
    country: str,
    flag: str | None = "mining_dependent",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`scores_by_group` for every variant, stacked with a ``variant`` column in front."""
    pr, rel = [], []
    for name, cats in by_variant.items():
        p, r = scores_by_group(cats, units, country, flag)
        pr.append(p.assign(variant=name))
        rel.append(r.assign(variant=name))
    pr_t, rel_t = pd.concat(pr, ignore_index=True), pd.concat(rel, ignore_index=True)
    return (
        pr_t[["variant", *pr_t.columns[:-1]]],
        rel_t[["variant", *rel_t.columns[:-1]]],
    )


def markdown(
    by_variant: dict[str, pd.DataFrame],
    pr: pd.DataFrame,
    rel: pd.DataFrame,
    header: list[str],
) -> str:
    """The reality-check results file: for each variant, the confusion table, precision and
    recall by group, and the reliability of the probabilities over all units."""
    lines = [*header, ""]
    for name, cats in by_variant.items():
        tab = confusion(cats).reset_index().rename(columns={"category": "category \\ realised"})
        p = pr[pr["variant"] == name].drop(columns="variant")
        r = rel[(rel["variant"] == name) & (rel["group"] == "all")].drop(
            columns=["variant", "group", "value", "bin_low", "bin_high"]
        )
        lines += [
            f"## {name}",
            "",
            "predicted category (rows) x realised change class:",
            "",
            markdown_table(tab),
            "",
            "precision and recall by group (`precision`: share of the units called that "
            "realised the class the category stands for; `recall`: share of the units that "
            "realised it which were called):",
            "",
            markdown_table(p[p["called"] > 0], floats=".3f"),
            "",
            "reliability, all units (stated probability bin, realised share):",
            "",
            markdown_table(r, floats=".3f"),
            "",
        ]
    return "\n".join(lines)


def write_results(
    by_variant: dict[str, pd.DataFrame],
    data: Dataset,
    origin: int,
    policy: Policy,
    path,
    *,
    group: str | None = "mining_dependent",
    command: str = "",
) -> None:
    """The reality-check results: markdown at `path`, and beside it `<stem>_precision_recall.csv`
    and `<stem>_reliability.csv` (every variant, by group)."""
    t = policy.thresholds
    header = [
        f"# Reality check: {data.name}",
        "",
        f"- command: `{command}`",
        f"- categories from forecasts made with data up to {origin}; outcomes in "
        f"{origin + policy.horizon}; policy `{policy.name}` (decline < {t.decline_pct:+g}%, "
        f"growth >= {t.growth_pct:+g}% over {policy.horizon} years)",
        "- realised class uses the same thresholds on the realised change",
        "- *point forecast only*: the same thresholds on the point forecast (uncalibrated "
        "probabilities at even odds, no driver or current-state condition), to show what "
        "the chosen rule changes",
        "- tables as CSV beside this file: `*_precision_recall.csv`, `*_reliability.csv`",
    ]
    pr, rel = scores_table(by_variant, data.units, data.name, flag=group)
    io.write_text(markdown(by_variant, pr, rel, header), path)
    stem = path.with_suffix("")
    io.write_csv(pr, stem.with_name(stem.name + "_precision_recall.csv"), float_format="%.4g")
    io.write_csv(rel, stem.with_name(stem.name + "_reliability.csv"), float_format="%.4g")
