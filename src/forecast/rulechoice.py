"""Choose the decision rule by its track record.

Input: a track record (`forecast.trackrecord.collect`: the policy facts at past origins with the
realised change). Steps, each on that record only:

1. `probcal.fit_probability`: recalibrate the engine's predictive distribution (a shift of the median
   and a factor on the spread, log scale) so that the probabilities of the decline and growth
   events match their frequencies (least log loss, kept consistent with the ranges shown);
   `probcal.fit_groups` / `select_groups`: the same per size class, shrunk toward the pooled fit, kept
   only if it does better on origins left out; with ``choice.calibration_options``,
   `choose_options`: the growth side's own shift and spread (per_tail) and a monotone map of
   each event's probability (isotonic), each kept only if it does better on origins left out;
2. `choose_resettle`: the probability from which *resettle* is advised (and the structural-share
   condition), at the least total cost ``cost_false_resettle x (viable towns told to resettle) +
   cost_missed_decline x (declining towns not told)``; with calibrated probabilities the best
   threshold is near cost_false / (cost_false + cost_missed);
3. the watch list (boundary flag): the highest probability that still flags ``watch_recall`` of
   the towns that declined;
4. `choose_diversify`: the same trade-off for *diversify* against growth;
5. `choose_state_criteria`: a current-state criterion is kept only if it lowers the resettle cost
   pooled over the origins and at most of them separately.

A required precision (``choice.resettle_min_precision`` / ``diversify_min_precision``) holds
pooled over the origins, or with ``choice.precision_at: every_origin`` at each origin with
enough calls (the curve's ``worst_origin_precision``).

`pr_curve` gives the precision-recall curve each choice is a point on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .policy import Policy, Probability, StateCriterion
from .probcal import (
    better,
    calibrated,
    compare_calibrations,
    events,
    fit_groups,
    fit_isotonic,
    fit_probability,
    select_calibration,
    select_groups,
)

GRID = np.round(np.arange(0.05, 0.991, 0.01), 2)
RESETTLE_FLOOR = 0.5  # resettlement is never advised on less than even odds
NO_CALLS = 1.0  # no threshold meets the required precision: nothing called (policy reads 1 so)
STRUCTURAL_GRID = (0.0, 0.25, 0.5)
STATE_CANDIDATES = {  # indicator -> (direction that signals decline, candidate bounds)
    "unemployment_gap": ("at_least", (-1.0, 0.0, 1.0, 2.0)),
    "employment_trend_gap": ("at_most", (0.0, -2.5, -5.0)),
    "wage_relative": ("at_most", (1.0, 0.9, 0.8)),
}


def pr_curve(
    prob: np.ndarray,
    event: np.ndarray,
    grid: np.ndarray = GRID,
    mask=None,
    origins=None,
    min_origin_calls: int = 5,
):
    """Called, precision and recall of 'prob >= threshold' (and `mask`) for each threshold;
    with `origins` (one per unit) also ``worst_origin_precision``: the lowest precision of any
    single origin with at least `min_origin_calls` calls (NaN if none has that many)."""
    mask = np.ones(len(prob), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    rows = []
    n_event = int(event.sum())
    origin_masks = (
        [np.asarray(origins) == o for o in np.unique(origins)] if origins is not None else []
    )
    for m in grid:
        called = (prob >= m) & mask
        n = int(called.sum())
        tp = int((called & event).sum())
        row = {
            "threshold": float(m),
            "called": n,
            "correct": tp,
            "false_calls": n - tp,
            "missed": n_event - tp,
            "precision": tp / n if n else np.nan,
            "recall": tp / n_event if n_event else np.nan,
        }
        if origins is not None:
            per = [
                (called & k & event).sum() / (called & k).sum()
                for k in origin_masks
                if (called & k).sum() >= min_origin_calls
            ]
            row["worst_origin_precision"] = float(min(per)) if per else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _cheapest(
    curve: pd.DataFrame,
    cost_false: float,
    cost_missed: float,
    min_precision: float | None = None,
    min_calls: int = 0,
    every_origin: bool = False,
) -> pd.Series:
    """The threshold of the least cost among those whose precision on the record is at least
    `min_precision` with at least `min_calls` calls (with `every_origin`: also at each origin
    of the record with enough calls, the curve's ``worst_origin_precision``); if none
    qualifies, no calls (threshold NO_CALLS)."""
    cost = cost_false * curve["false_calls"] + cost_missed * curve["missed"]
    ok = pd.Series(True, index=curve.index)
    if min_precision is not None:
        ok = (curve["precision"] >= min_precision - 1e-9) & (curve["called"] >= min_calls)
        if every_origin:
            # the precision must hold at every origin with enough calls (and at one at least)
            ok &= curve["worst_origin_precision"] >= min_precision - 1e-9
    if not ok.any():
        n_event = int(curve["correct"].iloc[0] + curve["missed"].iloc[0]) if len(curve) else 0
        return pd.Series(
            {
                "threshold": NO_CALLS,
                "called": 0,
                "correct": 0,
                "false_calls": 0,
                "missed": n_event,
                "precision": np.nan,
                "recall": 0.0,
                "cost": float(cost_missed * n_event),
            }
        )
    best = cost[ok].min()
    # ties: the most precautionary (highest) threshold
    pick = curve.loc[cost[ok & (cost <= best + 1e-9)].index[-1]].copy()
    pick["cost"] = float(best)
    return pick


def _origins(record: pd.DataFrame) -> np.ndarray:
    return record["origin"].to_numpy() if "origin" in record else np.zeros(len(record))


def _structural_ok(record: pd.DataFrame, share: float) -> np.ndarray:
    s = record["structural_share"] if "structural_share" in record else None
    if s is None:
        return np.ones(len(record), dtype=bool)
    return (s.isna() | (s >= share)).to_numpy()


def _state_ok(record: pd.DataFrame, criteria: list[StateCriterion]) -> np.ndarray:
    ok = np.ones(len(record), dtype=bool)
    for c in criteria:
        if c.indicator not in record:
            continue
        x = record[c.indicator].astype(float)
        hold = np.ones(len(record), dtype=bool)
        if c.at_least is not None:
            hold &= (x >= c.at_least).to_numpy()
        if c.at_most is not None:
            hold &= (x <= c.at_most).to_numpy()
        ok &= x.isna().to_numpy() | hold
    return ok


@dataclass
class Choice:
    policy: Policy
    resettle_curve: pd.DataFrame  # precision-recall of resettle, structural share as chosen
    diversify_curve: pd.DataFrame
    state_trials: pd.DataFrame  # each current-state criterion tried and its cost
    structural_trials: pd.DataFrame
    calibration_mode: str
    calibration_trials: pd.DataFrame  # leave-one-origin-out log loss of each mode
    group_trials: pd.DataFrame  # the same for pooled vs by size class (select_groups)
    option_trials: pd.DataFrame = field(default_factory=pd.DataFrame)  # choose_options


def choose_resettle(
    record: pd.DataFrame, p_decline: np.ndarray, policy: Policy, criteria: list[StateCriterion]
) -> tuple[float, float, pd.DataFrame, pd.DataFrame]:
    """(min_probability, min_structural_share, curve at that share, trials per share)."""
    ch = policy.choice
    dec, _ = events(record, policy)
    state = _state_ok(record, criteria)
    trials, best = [], None
    for share in STRUCTURAL_GRID:
        curve = pr_curve(
            p_decline,
            dec,
            grid=GRID[GRID >= RESETTLE_FLOOR],
            mask=_structural_ok(record, share) & state,
            origins=_origins(record),
            min_origin_calls=ch.min_origin_calls,
        )
        pick = _cheapest(
            curve,
            ch.cost_false_resettle,
            ch.cost_missed_decline,
            ch.resettle_min_precision,
            ch.min_calls,
            ch.precision_at == "every_origin",
        )
        trials.append({"min_structural_share": share, **pick.to_dict()})
        if best is None or pick["cost"] < best[0] - 1e-9:
            best = (pick["cost"], share, float(pick["threshold"]), curve)
    _, share, threshold, curve = best
    return threshold, share, curve, pd.DataFrame(trials)


def watch_threshold(p_decline: np.ndarray, event: np.ndarray, recall: float, ceiling: float):
    """The highest probability <= ceiling whose flag catches at least `recall` of the events."""
    curve = pr_curve(p_decline, event, grid=GRID[GRID <= ceiling + 1e-9])
    ok = curve[curve["recall"] >= recall]
    return float(ok["threshold"].max()) if len(ok) else float(GRID[0])


def choose_state_criteria(
    record: pd.DataFrame, p_decline: np.ndarray, policy: Policy
) -> tuple[list[StateCriterion], pd.DataFrame]:
    """Try each candidate current-state criterion for resettle (one at a time, beside the
    forecast); keep the best one if it lowers the cost pooled and at most origins."""
    ch = policy.choice
    dec, _ = events(record, policy)
    origins = _origins(record)

    def costs(criteria: list[StateCriterion]) -> tuple[float, dict]:
        share = policy.resettle.min_structural_share
        mask = _structural_ok(record, share) & _state_ok(record, criteria)
        pooled = _cheapest(
            pr_curve(
                p_decline,
                dec,
                grid=GRID[GRID >= RESETTLE_FLOOR],
                mask=mask,
                origins=origins,
                min_origin_calls=ch.min_origin_calls,
            ),
            ch.cost_false_resettle,
            ch.cost_missed_decline,
            ch.resettle_min_precision,
            ch.min_calls,
            ch.precision_at == "every_origin",
        )
        m = pooled["threshold"]
        per = {}
        for o in np.unique(origins):
            k = origins == o
            called = (p_decline[k] >= m) & mask[k]
            fp = int((called & ~dec[k]).sum())
            fn = int((~called & dec[k]).sum())
            per[o] = ch.cost_false_resettle * fp + ch.cost_missed_decline * fn
        return float(pooled["cost"]), per

    base, base_per = costs([])
    rows = [{"indicator": "(none)", "bound": np.nan, "cost": base, "origins_better": 0}]
    best: tuple[float, list[StateCriterion]] = (base, [])
    for ind, (side, bounds) in STATE_CANDIDATES.items():
        if ind not in record:
            continue
        has = record[ind].notna().groupby(origins).mean()
        if not (has >= 0.5).any():  # observed at no origin
            continue
        for b in bounds:
            crit = [StateCriterion(indicator=ind, category="resettle", **{side: b})]
            cost, per = costs(crit)
            seen = [o for o in per if has.get(o, 0.0) >= 0.5]  # origins where it was observed
            better = sum(per[o] < base_per[o] for o in seen)
            rows.append(
                {
                    "indicator": ind,
                    "bound": b,
                    "cost": cost,
                    "origins_better": better,
                    "origins_seen": len(seen),
                }
            )
            if cost < best[0] - 1e-9 and better > len(seen) / 2:
                best = (cost, crit)
    return best[1], pd.DataFrame(rows)


def choose(
    record: pd.DataFrame,
    policy: Policy,
    level: float,
    mode: str | None = None,
    groups: bool = True,
) -> Choice:
    """The policy with its probability calibration (`mode`, by default chosen with
    `select_calibration`; with `groups`, by size class where `select_groups` keeps it),
    resettle / watch / diversify probabilities, structural share and current-state criteria
    chosen on `record`."""
    ch = policy.choice
    if mode is None:
        mode, cal_trials = select_calibration(record, policy, level)
    else:
        cal_trials = pd.DataFrame()
    new = policy.model_copy(deep=True)
    pooled = fit_probability(record, policy, level, mode)
    pooled = pooled.model_copy(update={"group_by": None, "groups": {}})
    group_trials = pd.DataFrame()
    if groups and "latest" in record:
        keep, group_trials = select_groups(record, policy, level, mode)
        if keep:
            pooled = fit_groups(record, policy, level, pooled)
    option_trials = pd.DataFrame()
    if ch.calibration_options:
        pooled, option_trials = choose_options(record, policy, level, mode, bool(pooled.groups))
    new.probability = pooled
    p_decline, p_growth = calibrated(record, new, level)
    dec, gro = events(record, policy)
    _, new.resettle.min_structural_share, _, _ = choose_resettle(record, p_decline, new, [])
    criteria, state_trials = choose_state_criteria(record, p_decline, new)
    new.current_state = criteria
    threshold, share, r_curve, s_trials = choose_resettle(record, p_decline, new, criteria)
    new.resettle.min_probability = threshold
    new.resettle.min_structural_share = share
    new.resettle.boundary_probability = watch_threshold(p_decline, dec, ch.watch_recall, threshold)
    jobs_ok = np.ones(len(record), dtype=bool)
    d_curve = pr_curve(
        p_growth, gro, mask=jobs_ok, origins=_origins(record), min_origin_calls=ch.min_origin_calls
    )
    pick = _cheapest(
        d_curve,
        ch.cost_false_diversify,
        ch.cost_missed_growth,
        ch.diversify_min_precision,
        ch.min_calls,
        ch.precision_at == "every_origin",
    )
    new.diversify.min_probability = float(pick["threshold"])
    return Choice(
        new, r_curve, d_curve, state_trials, s_trials, mode, cal_trials, group_trials, option_trials
    )


def choose_options(
    record: pd.DataFrame, policy: Policy, level: float, mode: str, groups: bool
) -> tuple[Probability, pd.DataFrame]:
    """The calibration with the options of ``choice.calibration_options`` (per_tail, isotonic
    and both) that improve on the one without them (`mode`, by size class if `groups`) on the
    origins left out (`probcal.better`: lower log loss, worst reliability gap no wider); of
    those, the least left-out log loss (none from a single origin: nothing is left out).
    Returns it fitted on the whole record, and the comparison
    (`probcal.compare_calibrations`)."""
    opts = policy.choice.calibration_options
    memo: dict = {}

    def fit(train: pd.DataFrame, per_tail: bool, isotonic: bool) -> Probability:
        key = (tuple(np.unique(train["origin"])), per_tail)
        if key not in memo:
            cal = fit_probability(train, policy, level, mode, per_tail=per_tail)
            if groups:
                cal = fit_groups(train, policy, level, cal)
            memo[key] = cal
        return fit_isotonic(train, policy, level, memo[key]) if isotonic else memo[key]

    variants = {"without options": (False, False)}
    if "per_tail" in opts:
        variants["per_tail"] = (True, False)
    if "isotonic" in opts:
        variants["isotonic"] = (False, True)
    if {"per_tail", "isotonic"} <= set(opts):
        variants["per_tail+isotonic"] = (True, True)
    fits = {k: (lambda tr, v=v: fit(tr, *v)) for k, v in variants.items()}
    table = compare_calibrations(record, policy, level, fits)
    means = table[table["left_out"] == "mean"].set_index("calibration")["log_loss"]
    # one origin: nothing was left out (compare_calibrations scored in-sample), so no option
    # has shown that it does better on origins it was not fitted on
    left_out = len(np.unique(record["origin"])) > 1
    kept = [
        k
        for k in variants
        if left_out and k != "without options" and better(table, k, "without options")
    ]
    best = min(kept, key=lambda k: means[k]) if kept else "without options"
    table["chosen"] = table["calibration"] == best
    return fit(record, *variants[best]), table
