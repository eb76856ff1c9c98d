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
    Policy,
    Probability,
    StateCriterion,
    prob_below,
    range_contradiction,
    range_tails,
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
    cal = policy.probability if cal is None else cal
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


def range_penalty(record: pd.DataFrame, level: float, cal: Probability) -> float:
    """How far `cal` takes the probabilities from the ranges shown beside them: the mean squared
    excess of |log(calibrated tail / stated tail)| over log(RANGE_TAIL_FACTOR / 1.1) (0 when
    every calibrated tail is within a factor 1.8 of the stated one, a margin inside the factor
    2 beyond which `policy.range_contradiction` calls it a contradiction), over both tails of
    every unit of the record, plus the same over a grid of ranges from half the narrowest of the
    record to the widest: later forecasts may be narrower than the record's (a shift or a
    shared spread contradicts narrow ranges most)."""
    e = _tail_excess(record["change_pct"], record["lower_pct"], record["upper_pct"], level, cal)
    hw = (np.log1p(record["upper_pct"] / 100) - np.log1p(record["lower_pct"] / 100)) / 2
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
        record["change_pct"], record["lower_pct"], record["upper_pct"], level, cal
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


def pr_curve(prob: np.ndarray, event: np.ndarray, grid: np.ndarray = GRID, mask=None):
    """Called, precision and recall of 'prob >= threshold' (and `mask`) for each threshold."""
    mask = np.ones(len(prob), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    rows = []
    n_event = int(event.sum())
    for m in grid:
        called = (prob >= m) & mask
        n = int(called.sum())
        tp = int((called & event).sum())
        rows.append(
            {
                "threshold": float(m),
                "called": n,
                "correct": tp,
                "false_calls": n - tp,
                "missed": n_event - tp,
                "precision": tp / n if n else np.nan,
                "recall": tp / n_event if n_event else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _cheapest(
    curve: pd.DataFrame,
    cost_false: float,
    cost_missed: float,
    min_precision: float | None = None,
    min_calls: int = 0,
) -> pd.Series:
    """The threshold of the least cost among those whose precision on the record is at least
    `min_precision` with at least `min_calls` calls; if none qualifies, no calls (threshold
    NO_CALLS)."""
    cost = cost_false * curve["false_calls"] + cost_missed * curve["missed"]
    ok = pd.Series(True, index=curve.index)
    if min_precision is not None:
        ok = (curve["precision"] >= min_precision - 1e-9) & (curve["called"] >= min_calls)
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
        )
        pick = _cheapest(
            curve,
            ch.cost_false_resettle,
            ch.cost_missed_decline,
            ch.resettle_min_precision,
            ch.min_calls,
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
    origins = record["origin"].to_numpy() if "origin" in record else np.zeros(len(record))

    def costs(criteria: list[StateCriterion]) -> tuple[float, dict]:
        share = policy.resettle.min_structural_share
        mask = _structural_ok(record, share) & _state_ok(record, criteria)
        pooled = _cheapest(
            pr_curve(p_decline, dec, grid=GRID[GRID >= RESETTLE_FLOOR], mask=mask),
            ch.cost_false_resettle,
            ch.cost_missed_decline,
            ch.resettle_min_precision,
            ch.min_calls,
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


def choose(record: pd.DataFrame, policy: Policy, level: float, mode: str | None = None) -> Choice:
    """The policy with its probability calibration (`mode`, by default chosen with
    `select_calibration`), resettle / watch / diversify probabilities, structural share and
    current-state criteria chosen on `record`."""
    ch = policy.choice
    if mode is None:
        mode, cal_trials = select_calibration(record, policy, level)
    else:
        cal_trials = pd.DataFrame()
    new = policy.model_copy(deep=True)
    new.probability = fit_probability(record, policy, level, mode)
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
    d_curve = pr_curve(p_growth, gro, mask=jobs_ok)
    pick = _cheapest(
        d_curve,
        ch.cost_false_diversify,
        ch.cost_missed_growth,
        ch.diversify_min_precision,
        ch.min_calls,
    )
    new.diversify.min_probability = float(pick["threshold"])
    return Choice(new, r_curve, d_curve, state_trials, s_trials, mode, cal_trials)
