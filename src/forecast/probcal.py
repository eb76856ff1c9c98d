"""Calibrating the engine's probabilities on a track record (the first step of choosing the
decision rule, `forecast.rulechoice`).

The engine's predictive distribution (`policy.prob_below`: a split normal on the log scale
around the point forecast, with the 80% range at its quantiles) is recalibrated by a shift of
the median, a factor on the spread and a shared-shock spread (`policy.Probability`), fitted by
least log loss of the decline and growth events on past origins and **kept consistent with the
ranges shown beside the probabilities** (`range_penalty`). `select_calibration` picks which of
those parameters to fit by leave-one-origin-out log loss; `fit_groups` / `select_groups` do the
same per size class (shrunk toward the pooled fit, kept only if it does better on origins left
out). Two further options (`policy.ChoiceCriteria.calibration_options`): ``per_tail`` fits the
growth side's own shift and spread factor (`fit_probability(per_tail=True)`), ``isotonic`` maps
each event's probability to the share that came true at it (`fit_isotonic`, kept consistent
with the range by `policy.range_guard`); `compare_calibrations` / `better` judge them on
origins left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from .policy import (
    RANGE_TAIL_FACTOR,
    GroupShift,
    Isotonic,
    Policy,
    Probability,
    event_probabilities,
    range_contradiction,
    range_tails,
    size_labels,
    unit_calibration,
)

# weight of the range penalty in the calibration fit: a calibrated probability must not
# contradict the range shown beside it (policy.RANGE_TAIL_FACTOR); 0 fits the log loss alone
RANGE_WEIGHT = 100.0
RANGE_GRID = 20  # widths of the ranges the penalty checks beside the record's own


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
    return event_probabilities(
        record["change_pct"],
        record["lower_pct"],
        record["upper_pct"],
        level,
        cal,
        t.decline_pct,
        t.growth_pct,
        unit_calibration(record, cal),
    )


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
# the per_tail option (choice.calibration_options): the growth side gets its own shift and
# spread factor on top of the mode's parameters
TAIL_PARAMS = ("growth_bias", "growth_scale")


def _params(names: tuple[str, ...], theta: np.ndarray) -> Probability:
    values = dict(zip(names, theta, strict=True))
    return Probability(
        bias=float(np.clip(values.get("bias", 0.0), -0.99, 0.99)),
        scale=float(np.clip(np.exp(values.get("scale", 0.0)), 0.05, 10)),
        common_sd=float(min(abs(values.get("common_sd", 0.0)), 0.99)),
        growth_bias=float(np.clip(values.get("growth_bias", 0.0), -0.99, 0.99)),
        growth_scale=float(np.clip(np.exp(values.get("growth_scale", 0.0)), 0.05, 10)),
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
    per_tail: bool = False,
) -> Probability:
    """The calibration with the least log loss of the decline and growth events, penalised by
    `range_weight` x `range_penalty` so that the calibrated probabilities stay consistent with
    the ranges shown beside them; `mode` (a key of MODES) says which parameters are fitted,
    `per_tail` fits the growth side's own shift and spread factor besides (TAIL_PARAMS)."""
    names = MODES[mode] + (TAIL_PARAMS if per_tail else ())
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
        update={k: round(getattr(cal, k), 4) for k in ("bias", "scale", "common_sd", *TAIL_PARAMS)}
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
    groups: list[GroupShift] = []
    for g in sorted(set(labels) - {"nan"}):
        sub = record[labels == g]
        n = len(sub)

        def objective(th: np.ndarray, sub=sub) -> float:
            cal = pooled.model_copy(
                update={
                    "bias": float(np.clip(pooled.bias + th[0], -0.99, 0.99)),
                    "scale": float(np.clip(pooled.scale * np.exp(th[1]), 0.05, 10)),
                    "group_by": None,
                    "groups": [],
                }
            )
            loss = log_loss(sub, policy, level, cal)
            penalty = range_penalty(sub, level, cal, widths=record) if range_weight else 0
            return loss + range_weight * penalty

        res = minimize(objective, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-4})
        w = n / (n + shrink)
        groups.append(
            GroupShift(
                size_class=g,
                bias=round(float(np.clip(w * res.x[0], -0.99, 0.99)), 4),
                scale=round(float(np.clip(np.exp(w * res.x[1]), 0.05, 10)), 4),
                units=n,
            )
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
    last: list = [None, None]  # the pooled fit of the latest training record, fitted once

    def pooled(train: pd.DataFrame) -> Probability:
        if last[0] is not train:
            last[:] = [train, fit_probability(train, policy, level, mode)]
        return last[1]

    fits = {
        "pooled": pooled,
        "by size class": lambda train: fit_groups(train, policy, level, pooled(train)),
    }
    table = compare_calibrations(record, policy, level, fits)
    s = table[table["left_out"] == "mean"].set_index("calibration")
    keep = bool(
        s.loc["by size class", "log_loss"] < s.loc["pooled", "log_loss"] - 1e-6
        and s.loc["by size class", "worst_gap_points"] <= s.loc["pooled", "worst_gap_points"]
    )
    return keep, table


# the isotonic option: the map is kept as its values on this grid of stated probabilities
# (linear in between), clipped away from 0 and 1 so that no call is ever certain
ISOTONIC_GRID = np.round(np.linspace(0, 1, 21), 2)
ISOTONIC_CLIP = 0.005


def fit_isotonic(record: pd.DataFrame, policy: Policy, level: float, cal: Probability):
    """`cal` with a monotone map of each event's probability (`policy.Isotonic`): the
    isotonic regression of the realised event on the probability `cal` gives on `record`,
    read on ISOTONIC_GRID."""
    from sklearn.isotonic import IsotonicRegression

    base = cal.model_copy(update={"isotonic": None})
    probs = calibrated(record, policy, level, base)
    knots = {}
    for name, p, event in zip(("decline", "growth"), probs, events(record, policy), strict=True):
        ok = np.isfinite(p)
        iso = IsotonicRegression(
            y_min=ISOTONIC_CLIP, y_max=1 - ISOTONIC_CLIP, out_of_bounds="clip"
        ).fit(p[ok], event[ok].astype(float))
        y = np.maximum.accumulate(np.round(iso.predict(ISOTONIC_GRID), 4))
        knots[name] = [(float(x), float(v)) for x, v in zip(ISOTONIC_GRID, y, strict=True)]
    return base.model_copy(update={"isotonic": Isotonic(**knots)})


def _summary(name: str, parts, rows) -> dict:
    """The mean row of calibration `name` over its left-out origins (`rows`), with the worst
    reliability gap of the three events over its left-out predictions put together (`parts`)."""
    p_dec, p_mid, p_gro, dec, mid, gro = (np.concatenate(x) for x in zip(*parts, strict=True))
    mine = [r for r in rows if r["calibration"] == name]
    return {
        "calibration": name,
        "left_out": "mean",
        "log_loss": float(np.mean([r["log_loss"] for r in mine])),
        "contradicting_range": float(max(r["contradicting_range"] for r in mine)),
        "worst_gap_points": np.nanmax(
            [worst_gap(p_dec, dec), worst_gap(p_mid, mid), worst_gap(p_gro, gro)]
        ),
    }


def compare_calibrations(record: pd.DataFrame, policy: Policy, level: float, fits: dict):
    """Leave-one-origin-out comparison of calibrations: each `fits` value (a function of the
    training record giving a `Probability`) is fitted on all origins but one and scored on the
    one left out. Returns a table of each left-out origin's log loss and share of units whose
    probabilities contradict their range, with one summary row per calibration (mean log loss,
    the worst reliability gap of the three events over the left-out predictions put together,
    bins of 30+)."""
    origins = np.unique(record["origin"])
    rows, held_p = [], {name: [] for name in fits}
    for o in origins:
        held = record["origin"].to_numpy() == o
        train = record[~held] if len(origins) > 1 else record
        for name, fit in fits.items():
            cal = fit(train)
            held_p[name].append(_with_middle(record[held], policy, level, cal))
            rows.append(
                {
                    "calibration": name,
                    "left_out": int(o),
                    "log_loss": log_loss(record[held], policy, level, cal),
                    "contradicting_range": contradiction_share(record[held], level, cal),
                }
            )
    summary = [_summary(n, held_p[n], rows) for n in fits]
    return pd.concat([pd.DataFrame(rows), pd.DataFrame(summary)], ignore_index=True)


def better(table: pd.DataFrame, new: str, old: str) -> bool:
    """Whether calibration `new` improves on `old` in a `compare_calibrations` table: a lower
    mean left-out log loss and a worst reliability gap no wider."""
    s = table[table["left_out"] == "mean"].set_index("calibration")
    return bool(
        s.loc[new, "log_loss"] < s.loc[old, "log_loss"] - 1e-6
        and s.loc[new, "worst_gap_points"] <= s.loc[old, "worst_gap_points"]
    )
