"""Choose the decision rule by its track record.

Input: a track record (`forecast.trackrecord.collect`: the policy facts at past origins with the
realised change). Steps, each on that record only:

1. `fit_probability`: recalibrate the engine's predictive distribution (a shift of the median
   and a factor on the spread, log scale) so that the probabilities of the decline and growth
   events match their frequencies (least log loss);
2. `choose_resettle`: the probability from which *resettle* is advised (and the structural-share
   condition), at the least total cost ``cost_false_resettle x (viable towns told to resettle) +
   cost_missed_decline x (declining towns not told)``; with calibrated probabilities the best
   threshold is near cost_false / (cost_false + cost_missed);
3. the watch list (boundary flag): the highest probability that still flags ``watch_recall`` of
   the towns that declined;
4. `choose_diversify`: the same trade-off for *diversify* against growth;
5. `choose_state_criteria`: a current-state criterion is kept only if it lowers the resettle cost
   pooled over the origins and at most of them separately.

`pr_curve` gives the precision-recall curve each choice is a point on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from .policy import (
    RANGE_TAIL_FACTOR,
    GroupShift,
    Policy,
    Probability,
    StateCriterion,
    prob_below,
    range_contradiction,
    range_tails,
    size_labels,
    unit_calibration,
)

GRID = np.round(np.arange(0.05, 0.991, 0.01), 2)
# weight of the range penalty in the calibration fit: a calibrated probability must not
# contradict the range shown beside it (policy.RANGE_TAIL_FACTOR); 0 fits the log loss alone
RANGE_WEIGHT = 100.0
RANGE_GRID = 20  # widths of the ranges the penalty checks beside the record's own
RESETTLE_FLOOR = 0.5
NO_CALLS = 1.0  # no threshold meets the required precision: nothing called (policy reads 1 so)  # resettlement is never advised on less than even odds
STRUCTURAL_GRID = (0.0, 0.25, 0.5)
STATE_CANDIDATES = {  # indicator -> (direction that signals decline, candidate bounds)
    "unemployment_gap": ("at_least", (-1.0, 0.0, 1.0, 2.0)),
    "employment_trend_gap": ("at_most", (0.0, -2.5, -5.0)),
    "wage_relative": ("at_most", (1.0, 0.9, 0.8)),
}


def events(record: pd.DataFrame, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """Realised decline (below decline_pct) and growth (at or above growth_pct) flags."""
    t = policy.thresholds
    r = record["realized_pct"].to_numpy(dtype=float)
    return r < t.decline_pct, r >= t.growth_pct


def calibrated(
    record: pd.DataFrame, policy: Policy, level: float, cal: Probability | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(P(decline), P(growth)) under `cal` (by default the policy's calibration)."""
    t = policy.thresholds
    cal = unit_calibration(record, policy.probability if cal is None else cal)
    args = (record["change_pct"], record["lower_pct"], record["upper_pct"], level, cal)
    return prob_below(t.decline_pct, *args), 1 - prob_below(t.growth_pct, *args)


def log_loss(record: pd.DataFrame, policy: Policy, level: float, cal: Probability) -> float:
    """Mean log loss of the decline and growth events under the recalibrated distribution."""
    dec, gro = events(record, policy)
    pd_, pg = calibrated(record, policy, level, cal)
    eps = 1e-6
    pd_, pg = np.clip(pd_, eps, 1 - eps), np.clip(pg, eps, 1 - eps)
    ll = dec * np.log(pd_) + ~dec * np.log1p(-pd_) + gro * np.log(pg) + ~gro * np.log1p(-pg)
    return float(-ll.mean())


# which calibration parameters each mode fits (the others stay at their identity values)
MODES = {
    "identity": (),
    "scale": ("scale",),
    "scale+common": ("scale", "common_sd"),
    "bias+scale+common": ("bias", "scale", "common_sd"),
}


def _params(names: tuple[str, ...], theta: np.ndarray) -> Probability:
    values = dict(zip(names, theta, strict=True))
    return Probability(
        bias=float(np.clip(values.get("bias", 0.0), -0.99, 0.99)),
        scale=float(np.clip(np.exp(values.get("scale", 0.0)), 0.05, 10)),
        common_sd=float(min(abs(values.get("common_sd", 0.0)), 0.99)),
    )


def _tail_excess(change, lower, upper, level: float, cal: Probability) -> np.ndarray:
    tail = (1 - level) / 2
    below, above = range_tails(change, lower, upper, level, cal)
    excess = []
    for t in (below, above):
        t = np.clip(np.asarray(t, dtype=float), 1e-9, 1)
        excess.append(np.maximum(np.abs(np.log(t / tail)) - np.log(RANGE_TAIL_FACTOR / 1.1), 0))
    return np.concatenate(excess)


def range_penalty(
    record: pd.DataFrame, level: float, cal: Probability, widths: pd.DataFrame | None = None
) -> float:
    """How far `cal` takes the probabilities from the ranges shown beside them: the mean squared
    excess of |log(calibrated tail / stated tail)| over log(RANGE_TAIL_FACTOR / 1.1) (0 when
    every calibrated tail is within a factor 1.8 of the stated one, a margin inside the factor
    2 beyond which `policy.range_contradiction` calls it a contradiction), over both tails of
    every unit of the record, plus the same over a grid of ranges from half the narrowest of the
    record to the widest: later forecasts may be narrower than the record's (a shift or a
    shared spread contradicts narrow ranges most). `widths` (default `record`) is the record
    whose range widths set that grid: the whole record when `record` is one group of it."""
    e = _tail_excess(record["change_pct"], record["lower_pct"], record["upper_pct"], level, cal)
    w = record if widths is None else widths
    hw = (np.log1p(w["upper_pct"] / 100) - np.log1p(w["lower_pct"] / 100)) / 2
    hw = hw[np.isfinite(hw) & (hw > 0)]
    if len(hw) == 0:
        return float(np.nanmean(e**2)) if np.isfinite(e).any() else 0.0
    q1, q99 = np.percentile(hw, [1, 99])
    grid = np.geomspace(q1 / 2, q99, RANGE_GRID)
    g = _tail_excess(0.0, 100 * np.expm1(-grid), 100 * np.expm1(grid), level, cal)
    return float(np.nanmean(e**2) + np.nanmean(g**2))


def contradiction_share(record: pd.DataFrame, level: float, cal: Probability) -> float:
    """Share of the units whose calibrated probabilities contradict their range (see
    `policy.range_contradiction`)."""
    bad = range_contradiction(
        record["change_pct"],
        record["lower_pct"],
        record["upper_pct"],
        level,
        unit_calibration(record, cal),
    )
    return float(np.mean(bad)) if len(bad) else 0.0


def fit_probability(
    record: pd.DataFrame,
    policy: Policy,
    level: float,
    mode: str = "scale+common",
    range_weight: float = RANGE_WEIGHT,
) -> Probability:
    """The calibration with the least log loss of the decline and growth events, penalised by
    `range_weight` x `range_penalty` so that the calibrated probabilities stay consistent with
    the ranges shown beside them; `mode` (a key of MODES) says which parameters are fitted."""
    names = MODES[mode]
    if not names:
        return Probability()
    start = np.array([0.02 if n == "common_sd" else 0.0 for n in names])

    def objective(th: np.ndarray) -> float:
        cal = _params(names, th)
        loss = log_loss(record, policy, level, cal)
        return loss + (range_weight * range_penalty(record, level, cal) if range_weight else 0)

    res = minimize(
        objective,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-4, "fatol": 1e-7},
    )
    cal = _params(names, res.x)
    return cal.model_copy(
        update={k: round(getattr(cal, k), 4) for k in ("bias", "scale", "common_sd")}
    )


def select_calibration(record: pd.DataFrame, policy: Policy, level: float):
    """Which recalibration to use, by leave-one-origin-out log loss: each mode is fitted on the
    other origins and scored on the one left out. Returns (mode, table)."""
    origins = np.unique(record["origin"])
    rows = []
    for mode in MODES:
        for o in origins:
            held = record["origin"].to_numpy() == o
            train = record[~held] if len(origins) > 1 else record
            cal = fit_probability(train, policy, level, mode)
            rows.append(
                {
                    "mode": mode,
                    "left_out": int(o),
                    "bias": cal.bias,
                    "scale": cal.scale,
                    "common_sd": cal.common_sd,
                    "log_loss": log_loss(record[held], policy, level, cal),
                    "contradicting_range": contradiction_share(record[held], level, cal),
                }
            )
    table = pd.DataFrame(rows)
    mean = table.groupby("mode", sort=False)["log_loss"].mean()
    return str(mean.idxmin()), table


# a group's own calibration counts as much as this many unit-origins of the pooled one: a group
# fitted on n unit-origins keeps n / (n + SHRINK_UNITS) of its shift from the pooled fit
SHRINK_UNITS = 200
RELIABILITY_MIN_UNITS = 30  # bins of at least this many units count in the worst gap


def fit_groups(
    record: pd.DataFrame,
    policy: Policy,
    level: float,
    pooled: Probability,
    shrink: float = SHRINK_UNITS,
    range_weight: float = RANGE_WEIGHT,
) -> Probability:
    """`pooled` with a shift of the median and a factor on the spread for each size class of
    the record: each fitted on that class alone (least log loss, kept consistent with the
    ranges as in `fit_probability`, down to half the narrowest range of the whole record: a
    class must not contradict ranges narrower than its own on later data), then shrunk toward the pooled fit by n / (n + `shrink`),
    n the class's unit-origins."""
    labels = size_labels(record["latest"], tuple(pooled.size_breaks))
    groups: dict[str, GroupShift] = {}
    for g in sorted(set(labels) - {"nan"}):
        sub = record[labels == g]
        n = len(sub)

        def objective(th: np.ndarray, sub=sub) -> float:
            cal = pooled.model_copy(
                update={
                    "bias": float(np.clip(pooled.bias + th[0], -0.99, 0.99)),
                    "scale": float(np.clip(pooled.scale * np.exp(th[1]), 0.05, 10)),
                    "group_by": None,
                    "groups": {},
                }
            )
            loss = log_loss(sub, policy, level, cal)
            penalty = range_penalty(sub, level, cal, widths=record) if range_weight else 0
            return loss + range_weight * penalty

        res = minimize(objective, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-4})
        w = n / (n + shrink)
        groups[g] = GroupShift(
            bias=round(float(np.clip(w * res.x[0], -0.99, 0.99)), 4),
            scale=round(float(np.clip(np.exp(w * res.x[1]), 0.05, 10)), 4),
            units=n,
        )
    return pooled.model_copy(update={"group_by": "size_class", "groups": groups})


def worst_gap(prob: np.ndarray, event: np.ndarray, min_units: int = RELIABILITY_MIN_UNITS):
    """The largest |realised share - mean stated probability| (points) over the probability
    bins (tenths) holding at least `min_units` units; NaN if no bin does."""
    k = np.clip((np.asarray(prob) * 10).astype(int), 0, 9)
    gaps = [
        100 * abs(event[k == b].mean() - prob[k == b].mean())
        for b in range(10)
        if (k == b).sum() >= min_units
    ]
    return float(max(gaps)) if gaps else np.nan


def _with_middle(record: pd.DataFrame, policy: Policy, level: float, cal: Probability):
    """(P(decline), P(middle), P(growth), declined, middle, grew) of each unit of `record`."""
    p_dec, p_gro = calibrated(record, policy, level, cal)
    dec, gro = events(record, policy)
    return p_dec, np.clip(1 - p_dec - p_gro, 0, 1), p_gro, dec, ~dec & ~gro, gro


def select_groups(record: pd.DataFrame, policy: Policy, level: float, mode: str):
    """Whether to calibrate each size class on its own: the pooled calibration (`mode`) and the
    same with shrunk size-class shifts, each fitted on all choosing origins but one and scored
    on the one left out. Kept only if it lowers the mean left-out log loss and does not widen
    the worst reliability gap (decline and growth, bins of 30+ of the left-out predictions put
    together: the issue's target, where a calibration must not lose ground). Returns (keep,
    table)."""
    origins = np.unique(record["origin"])
    rows, held_p = [], {"pooled": [], "by size class": []}
    for o in origins:
        held = record["origin"].to_numpy() == o
        train = record[~held] if len(origins) > 1 else record
        pooled = fit_probability(train, policy, level, mode)
        for name, cal in (("pooled", pooled), ("by size class", None)):
            if cal is None:
                cal = fit_groups(train, policy, level, pooled)
            held_p[name].append(_with_middle(record[held], policy, level, cal))
            rows.append(
                {
                    "calibration": name,
                    "left_out": int(o),
                    "log_loss": log_loss(record[held], policy, level, cal),
                    "contradicting_range": contradiction_share(record[held], level, cal),
                }
            )
    table = pd.DataFrame(rows)
    summary = []
    for name, parts in held_p.items():
        p_dec, p_mid, p_gro, dec, mid, gro = (np.concatenate(x) for x in zip(*parts, strict=True))
        summary.append(
            {
                "calibration": name,
                "left_out": "mean",
                "log_loss": table.loc[table["calibration"] == name, "log_loss"].mean(),
                "contradicting_range": table.loc[
                    table["calibration"] == name, "contradicting_range"
                ].max(),
                "worst_gap_points": np.nanmax(
                    [worst_gap(p_dec, dec), worst_gap(p_mid, mid), worst_gap(p_gro, gro)]
                ),
            }
        )
    s = pd.DataFrame(summary).set_index("calibration")
    keep = bool(
        s.loc["by size class", "log_loss"] < s.loc["pooled", "log_loss"] - 1e-6
        and s.loc["by size class", "worst_gap_points"] <= s.loc["pooled", "worst_gap_points"]
    )
    return keep, pd.concat([table, s.reset_index()], ignore_index=True)


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
    return Choice(new, r_curve, d_curve, state_trials, s_trials, mode, cal_trials, group_trials)
