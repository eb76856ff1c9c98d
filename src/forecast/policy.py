"""The policy file: forecasts, calibrated probabilities and drivers -> prospect categories.

Categories (the national approach described for Kazakhstan's monotowns):

* ``agglomerate``: close to a large city that is itself growing (a growth pole);
* ``resettle``: the calibrated probability that the population falls below the decline
  threshold by the policy horizon is at least ``resettle.min_probability`` (the precautionary
  rule: resettlement is advised only when decline is that likely), the decline is mostly
  structural, and any current-state criteria of the policy hold;
* ``diversify``: the calibrated probability of reaching the growth threshold is at least
  ``diversify.min_probability`` and jobs are not forecast to collapse;
* ``stabilize``: everything else. A ``boundary`` flag (the watch list) marks units that are not
  ``resettle`` but whose probability of decline is at least ``resettle.boundary_probability``.

The probabilities come from the engine's predictive distribution: a split normal on the log
scale with the point forecast as median and the interval bounds at their quantiles, recalibrated
by the policy's ``probability`` block (a shift of the median and a factor on the spread, fitted
on past origins by `forecast.probcal`). Output columns:

* ``p_decline``: probability of a change below ``thresholds.decline_pct`` at the horizon;
* ``p_growth``: probability of a change at or above ``thresholds.growth_pct``;
* ``p_stabilize``: probability of a change in between (the three sum to one);
* ``resettle_min_p``, ``boundary_min_p``, ``diversify_min_p``: the probabilities the rule used;
* ``confidence``: the probability that the realised change lands in the band the category
  stands for: ``p_decline`` for resettle, ``p_growth`` for diversify, ``p_stabilize`` for
  stabilize, and for agglomerate the probability that the pole grows at least as required. It
  is never a different number from those columns.

Rules are monotone in the town's own forecast: a better forecast never gives a worse category
(resettle < stabilize < diversify). Each category comes with its runner-up, the thresholds
crossed, the top drivers, today's state where the data have it, and the threshold moves that
would change it (computed directly from each unit's distance to the flip, not by search).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.special import ndtr, ndtri

from .config import load_yaml_model
from .errors import ForecastError

CATEGORIES = ("diversify", "agglomerate", "stabilize", "resettle")
RANK = {"resettle": 0, "stabilize": 1, "diversify": 2}


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decline_pct: float = Field(-10.0, description="population change at the horizon, percent")
    growth_pct: float = Field(0.0, description="population change for high potential, percent")
    employment_decline_pct: float | None = Field(
        -10.0, description="jobs change below which a town cannot be 'diversify' (if forecast)"
    )

    @model_validator(mode="after")
    def _ordered(self):
        if self.decline_pct >= self.growth_pct:
            raise ValueError(
                f"decline_pct ({self.decline_pct}) must be below growth_pct ({self.growth_pct})"
            )
        return self


class Agglomeration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    distance_attribute: str = "dist_nearest_250k_km"
    pole_attribute: str = "nearest_city_250k"
    max_distance_km: float = Field(100.0, gt=0)
    pole_min_growth_pct: float = 0.0


SIZE_BREAKS = (10_000, 50_000, 250_000)


def size_labels(latest, breaks=SIZE_BREAKS) -> np.ndarray:
    """Size class of each unit's latest population, e.g. ``10,000-50,000`` or ``250,000+``
    (the groups of `forecast.reality` and of a calibration by group)."""
    edges = [0, *breaks, np.inf]
    labels = [f"{int(a):,}-{int(b):,}" for a, b in zip(edges[:-2], edges[1:-1], strict=True)]
    labels.append(f"{int(breaks[-1]):,}+")
    x = np.asarray(latest, dtype=float)
    k = np.clip(np.searchsorted(np.asarray(edges[1:-1], dtype=float), x, side="right"), 0, None)
    out = np.array(labels, dtype=object)[k]
    out[np.isnan(x)] = "nan"
    return out


def size_class_names(breaks=SIZE_BREAKS) -> list[str]:
    """The size classes of `size_labels`, smallest first."""
    return list(size_labels(np.array([0.0, *breaks], dtype=float), tuple(breaks)))


class GroupShift(BaseModel):
    """The calibration of one group of units relative to the pooled one: its median moves by
    ``bias`` more and its spreads are multiplied by ``scale`` more (shrunk toward the pooled fit
    by the number of unit-origins it was fitted on, see `forecast.probcal.fit_groups`)."""

    model_config = ConfigDict(extra="forbid")
    size_class: str = Field(description="the class, e.g. '10,000-50,000' (see size_labels)")
    bias: float = Field(0.0, ge=-1, le=1, description="added to the pooled bias")
    scale: float = Field(1.0, gt=0, le=10, description="multiplies the pooled scale")
    units: int | None = Field(None, ge=0, description="unit-origins it was fitted on")


class Isotonic(BaseModel):
    """A monotone map of each event's probability, applied after the shift and spread
    (`forecast.probcal.fit_isotonic`): ``[stated, calibrated]`` knots, linear in between and
    flat beyond the ends. The mapped probabilities are then kept consistent with the unit's
    range (`range_guard`)."""

    model_config = ConfigDict(extra="forbid")
    decline: list[tuple[float, float]] = Field(description="knots of P(change < decline_pct)")
    growth: list[tuple[float, float]] = Field(description="knots of P(change >= growth_pct)")

    @model_validator(mode="after")
    def _monotone(self):
        for event in ("decline", "growth"):
            knots = getattr(self, event)
            if len(knots) < 2:
                raise ValueError(f"probability.isotonic.{event} needs at least 2 knots")
            x = [k[0] for k in knots]
            y = [k[1] for k in knots]
            if any(not 0 <= v <= 1 for v in x + y):
                raise ValueError(f"probability.isotonic.{event}: knots must lie in [0, 1]")
            if any(b <= a for a, b in zip(x, x[1:], strict=False)):
                raise ValueError(
                    f"probability.isotonic.{event}: stated probabilities must increase"
                )
            if any(b < a for a, b in zip(y, y[1:], strict=False)):
                raise ValueError(
                    f"probability.isotonic.{event}: calibrated probabilities must not decrease"
                )
        return self

    def apply(self, event: str, prob) -> np.ndarray:
        knots = np.asarray(getattr(self, event), dtype=float)
        return np.interp(np.asarray(prob, dtype=float), knots[:, 0], knots[:, 1])

    def inverse(self, event: str, target: float) -> float:
        """The least stated probability the map takes to `target` or more (0 if every one
        does, 1 if none does)."""
        knots = np.asarray(getattr(self, event), dtype=float)
        x, y = knots[:, 0], knots[:, 1]
        if target <= y[0]:
            return 0.0
        if target > y[-1]:
            return 1.0
        k = int(np.argmax(y >= target))  # first knot at or above it: y[k - 1] < target <= y[k]
        return float(x[k - 1] + (target - y[k - 1]) * (x[k] - x[k - 1]) / (y[k] - y[k - 1]))


class Probability(BaseModel):
    """Recalibration of the engine's predictive distribution (log scale): the median moves by
    ``bias``, both spreads are multiplied by ``scale`` and widened by ``common_sd``, the spread
    of a shock shared by all units (a national growth regime the forecast did not foresee):
    spread = sqrt((scale x spread)^2 + common_sd^2). Identity by default.

    With ``group_by: size_class`` each size class of the latest population (``size_breaks``)
    may move further by its own ``groups`` entry (a class without one uses the pooled
    calibration). The calibration is for the policy's own horizon (the only one categorised)."""

    model_config = ConfigDict(extra="forbid")
    bias: float = Field(0.0, ge=-1, le=1, description="added to the log change")
    scale: float = Field(1.0, gt=0, le=10, description="multiplies the spreads")
    common_sd: float = Field(0.0, ge=0, le=1, description="shared shock, log scale")
    growth_bias: float = Field(
        0.0,
        ge=-1,
        le=1,
        description="the growth side's own further shift (P(growth) and the upper end of the "
        "range; 0: one shift for both tails)",
    )
    growth_scale: float = Field(
        1.0, gt=0, le=10, description="the growth side's own further factor on the spread"
    )
    isotonic: Isotonic | None = Field(
        None, description="a monotone map of each event's probability after the shift and spread"
    )
    group_by: Literal["size_class"] | None = Field(
        None, description="calibrate each size class of the latest population on its own"
    )
    size_breaks: list[float] = Field(default_factory=lambda: list(SIZE_BREAKS))
    groups: list[GroupShift] = Field(default_factory=list)
    fitted_on: str | None = Field(None, description="where the calibration was fitted")

    @model_validator(mode="after")
    def _known_groups(self):
        b = self.size_breaks
        shown = "[" + ", ".join(f"{x:g}" for x in b) + "]"
        if not b or any(x <= 0 for x in b) or list(b) != sorted(set(b)):
            raise ValueError(
                f"probability.size_breaks must be increasing and positive, got {shown}"
            )
        if self.groups and self.group_by is None:
            raise ValueError("probability.groups needs probability.group_by: size_class")
        known = size_class_names(b)
        labels = [g.size_class for g in self.groups]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise ValueError(f"probability.groups: size class {twice[0]!r} given twice")
        unknown = sorted(set(labels) - set(known))
        if unknown:
            raise ValueError(
                f"probability.groups: unknown size class {unknown[0]!r}; with size_breaks "
                f"{shown} the classes are {', '.join(known)}"
            )
        return self

    def group(self, size_class: str) -> GroupShift:
        """The entry of one size class (no shift when it has none)."""
        found = [g for g in self.groups if g.size_class == size_class]
        return found[0] if found else GroupShift(size_class=size_class)


def group_calibration(cal: Probability, group: str) -> Probability:
    """The calibration one size class gets (the pooled one when it has no entry of its own)."""
    shift = cal.group(group)
    return Probability(
        bias=float(np.clip(cal.bias + shift.bias, -1, 1)),
        scale=float(np.clip(cal.scale * shift.scale, 1e-6, 10)),
        common_sd=cal.common_sd,
        growth_bias=cal.growth_bias,
        growth_scale=cal.growth_scale,
    )


@dataclass
class UnitCalibration:
    """The calibration of each unit (arrays of `Probability`'s bias and scale, one per unit):
    what `prob_below` reads when a calibration by group is in force."""

    bias: np.ndarray
    scale: np.ndarray
    common_sd: float
    growth_bias: float = 0.0
    growth_scale: float = 1.0


Calibration = Probability | UnitCalibration


def unit_calibration(f: pd.DataFrame, cal: Probability) -> Calibration:
    """`cal` as it applies to each row of `f` (facts with ``latest``): the pooled calibration
    moved by the unit's size class (`cal` itself when there is no calibration by group)."""
    if cal.group_by is None or not cal.groups:
        return cal
    if "latest" not in f:
        raise ForecastError(
            "probability.group_by: size_class needs the latest population ('latest' column) of "
            "each unit in the facts"
        )
    lab = size_labels(f["latest"], tuple(cal.size_breaks))
    bias = np.full(len(lab), cal.bias)
    scale = np.full(len(lab), cal.scale)
    for shift in cal.groups:
        m = lab == shift.size_class
        bias[m] += shift.bias
        scale[m] *= shift.scale
    return UnitCalibration(
        bias=bias,
        scale=scale,
        common_sd=cal.common_sd,
        growth_bias=cal.growth_bias,
        growth_scale=cal.growth_scale,
    )


def growth_side(cal: Calibration | None) -> Calibration | None:
    """The calibration of the growth side (P(growth), the upper end of the range): `cal` moved
    by its own ``growth_bias`` and ``growth_scale`` (`cal` itself when they are 0 and 1)."""
    if cal is None or (cal.growth_bias == 0 and cal.growth_scale == 1):
        return cal
    if isinstance(cal, UnitCalibration):
        return UnitCalibration(
            bias=np.clip(cal.bias + cal.growth_bias, -1, 1),
            scale=np.clip(cal.scale * cal.growth_scale, 1e-6, 10),
            common_sd=cal.common_sd,
        )
    return Probability(
        bias=float(np.clip(cal.bias + cal.growth_bias, -1, 1)),
        scale=float(np.clip(cal.scale * cal.growth_scale, 1e-6, 10)),
        common_sd=cal.common_sd,
    )


class Resettle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_probability: float = Field(
        0.9,
        gt=0,
        le=1,
        description="precautionary rule: resettle only when P(change < decline_pct) is at least "
        "this (0.9 with an 80% interval is the old 'whole interval below' rule; 1: never)",
    )
    boundary_probability: float = Field(
        0.5, gt=0, le=1, description="below min_probability but at least this: boundary case"
    )
    structural_drivers: list[str] = Field(
        default_factory=lambda: [
            "long_run_trend",
            "industry_and_resource",
            "distance_to_city",
            "town_size",
            "labour_market",
            "age_structure",
            "baseline_methods",
        ]
    )
    min_structural_share: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self):
        if self.boundary_probability > self.min_probability:
            raise ValueError(
                f"boundary_probability ({self.boundary_probability}) must not exceed "
                f"min_probability ({self.min_probability})"
            )
        return self


class Diversify(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_probability: float = Field(
        0.5,
        gt=0,
        le=1,
        description="diversify only when P(change >= growth_pct) is at least this (1: never)",
    )


class StateCriterion(BaseModel):
    """A current-state condition beside the forecast: `category` is given only when the unit's
    `indicator` (a column of the facts, e.g. unemployment_gap) is within the bounds. A unit
    without the indicator is judged on the forecast alone."""

    model_config = ConfigDict(extra="forbid")
    indicator: str
    category: Literal["resettle", "diversify"]
    at_least: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _bounded(self):
        if self.at_least is None and self.at_most is None:
            raise ValueError(f"criterion on {self.indicator!r} needs at_least or at_most")
        return self


class ChoiceCriteria(BaseModel):
    """What the rule is chosen for (`forecast.rulechoice`): the relative cost of each error."""

    model_config = ConfigDict(extra="forbid")
    cost_false_resettle: float = Field(
        3.0, gt=0, description="a viable town told to resettle (per town)"
    )
    cost_missed_decline: float = Field(
        1.0, gt=0, description="a town that falls below the decline threshold, not told"
    )
    watch_recall: float = Field(
        0.6, gt=0, le=1, description="share of declining towns the watch list must catch"
    )
    cost_false_diversify: float = Field(1.0, gt=0, description="diversify, and it did not grow")
    cost_missed_growth: float = Field(1.0, gt=0, description="a growing town not told diversify")
    resettle_min_precision: float | None = Field(
        None,
        ge=0,
        le=1,
        description="resettle only from a probability whose calls were right at least this "
        "often on the record (with at least min_calls calls); none qualifies: no resettle",
    )
    diversify_min_precision: float | None = Field(
        None, ge=0, le=1, description="the same requirement for diversify"
    )
    min_calls: int = Field(10, ge=1, description="calls on the record a precision is read from")
    precision_at: Literal["pooled", "every_origin"] = Field(
        "pooled",
        description="where the required precision must hold: pooled over the choosing origins, "
        "or also at every choosing origin with at least min_origin_calls calls (robust to one "
        "good period carrying a bad one)",
    )
    min_origin_calls: int = Field(5, ge=1, description="calls an origin's precision is read from")
    calibration_options: list[Literal["per_tail", "isotonic"]] = Field(
        default_factory=list,
        description="further calibrations to try (`forecast.probcal`): per_tail, the growth side "
        "its own shift and spread; isotonic, a monotone map of each event's probability after "
        "them; each kept only if it lowers the leave-one-origin-out log loss without widening "
        "the worst reliability gap",
    )


class Focus(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attribute: str
    value: float | str


class Policy(BaseModel):
    """A validated policy file (see experiments/policy.yaml)."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    name: str = "default"
    rationale: str | None = Field(None, description="why this rule, in plain words")
    target: Literal["population"] = "population"
    horizon: int = Field(10, ge=1, le=30)
    focus: Focus | None = None
    thresholds: Thresholds = Field(default_factory=Thresholds)
    probability: Probability = Field(default_factory=Probability)
    agglomeration: Agglomeration = Field(default_factory=Agglomeration)
    resettle: Resettle = Field(default_factory=Resettle)
    diversify: Diversify = Field(default_factory=Diversify)
    current_state: list[StateCriterion] = Field(default_factory=list)
    choice: ChoiceCriteria = Field(default_factory=ChoiceCriteria)
    record: dict[str, float | int | str] | None = Field(
        None, description="the track record the rule was chosen by (see rulechoice)"
    )
    hysteresis_points: float = Field(2.0, ge=0)
    sensitivity_max_points: float = Field(20.0, gt=0)
    sensitivity_step: float = Field(0.5, gt=0, description="threshold moves are stated in steps")


def load_policy(path: Path | None) -> Policy:
    return load_yaml_model(Policy, path)


# ---- probabilities --------------------------------------------------------------------
def _split_normal(change_pct, lower_pct, upper_pct, level: float, cal: Calibration | None):
    cal = Probability() if cal is None else cal
    z = ndtri((1 + level) / 2)
    mu = np.log1p(np.asarray(change_pct, dtype=float) / 100)
    lo = np.log1p(np.asarray(lower_pct, dtype=float) / 100)
    hi = np.log1p(np.asarray(upper_pct, dtype=float) / 100)
    s_lo = np.hypot(cal.scale * np.maximum((mu - lo) / z, 1e-9), cal.common_sd)
    s_hi = np.hypot(cal.scale * np.maximum((hi - mu) / z, 1e-9), cal.common_sd)
    return mu + cal.bias, s_lo, s_hi, np.isnan(lo) | np.isnan(hi)


def prob_below(
    threshold_pct, change_pct, lower_pct, upper_pct, level: float, cal: Calibration | None = None
) -> np.ndarray:
    """P(change < threshold) from the point forecast and the interval: on the log scale, the
    point forecast is the median and each side is half a normal whose spread puts the interval
    bound at its quantile ((1 -+ level) / 2), recalibrated by `cal`. Without an interval: 0 or
    1."""
    mu, s_lo, s_hi, no_interval = _split_normal(change_pct, lower_pct, upper_pct, level, cal)
    x = np.log1p(np.asarray(threshold_pct, dtype=float) / 100)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = np.where(x <= mu, ndtr((x - mu) / s_lo), ndtr((x - mu) / s_hi))
    return np.where(no_interval, (mu < x).astype(float), below)


def quantile_pct(
    q, change_pct, lower_pct, upper_pct, level: float, cal: Calibration | None = None
) -> np.ndarray:
    """The change (percent) x with P(change < x) = q: the inverse of `prob_below` in x."""
    mu, s_lo, s_hi, no_interval = _split_normal(change_pct, lower_pct, upper_pct, level, cal)
    zq = ndtri(np.asarray(q, dtype=float))
    x = mu + np.where(zq <= 0, s_lo, s_hi) * zq
    return 100 * np.expm1(np.where(no_interval, mu, x))


# A calibrated probability contradicts the range shown beside it "by a wide margin" when the
# calibrated chance of landing beyond either bound of the stated `level` range is less than half
# or more than twice the (1 - level) / 2 the range stands for (10% for an 80% range): e.g. a
# range -11% .. +58% shown with a 2% chance of falling below -10%.
RANGE_TAIL_FACTOR = 2.0


def range_tails(
    change_pct, lower_pct, upper_pct, level: float, cal: Calibration | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The calibrated P(change < lower_pct) and P(change > upper_pct) of each unit's own range:
    both (1 - level) / 2 under the identity calibration."""
    args = (change_pct, lower_pct, upper_pct, level)
    return prob_below(lower_pct, *args, cal), 1 - prob_below(upper_pct, *args, growth_side(cal))


def range_contradiction(
    change_pct,
    lower_pct,
    upper_pct,
    level: float,
    cal: Calibration | None = None,
    factor: float = RANGE_TAIL_FACTOR,
) -> np.ndarray:
    """True where the calibrated probabilities contradict the unit's stated range by a wide
    margin: a tail beyond a bound under (1 - level) / 2 / factor or over (1 - level) / 2 x
    factor. Units without an interval never contradict it."""
    tail = (1 - level) / 2
    below, above = range_tails(change_pct, lower_pct, upper_pct, level, cal)
    lo, hi = tail / factor, tail * factor
    with np.errstate(invalid="ignore"):
        bad = (below < lo) | (below > hi) | (above < lo) | (above > hi)
    no_interval = np.isnan(np.asarray(lower_pct, dtype=float)) | np.isnan(
        np.asarray(upper_pct, dtype=float)
    )
    return bad & ~no_interval


def range_guard(p_decline, p_growth, lower_pct, upper_pct, decline_pct, growth_pct, level: float):
    """Keep event probabilities consistent with the unit's `level` range (as
    `range_contradiction` reads it): a range whose lower end lies above the decline threshold
    allows P(decline) of at most (1 - level) / 2 x RANGE_TAIL_FACTOR, one reaching below it at
    least (1 - level) / 2 / RANGE_TAIL_FACTOR; the same for growth at the upper end. Units
    without a range are left as they are."""
    tail = (1 - level) / 2
    lo, hi = tail / RANGE_TAIL_FACTOR, tail * RANGE_TAIL_FACTOR
    lower = np.asarray(lower_pct, dtype=float)
    upper = np.asarray(upper_pct, dtype=float)
    p_decline, p_growth = np.asarray(p_decline, dtype=float), np.asarray(p_growth, dtype=float)
    with np.errstate(invalid="ignore"):
        dec = np.where(lower > decline_pct, np.minimum(p_decline, hi), np.maximum(p_decline, lo))
        gro = np.where(upper < growth_pct, np.minimum(p_growth, hi), np.maximum(p_growth, lo))
    no_range = np.isnan(lower) | np.isnan(upper)
    return np.where(no_range, p_decline, dec), np.where(no_range, p_growth, gro)


def event_probabilities(
    change_pct,
    lower_pct,
    upper_pct,
    level: float,
    cal: Probability,
    decline_pct,
    growth_pct,
    unit_cal: Calibration | None = None,
):
    """(P(change < decline_pct), P(change >= growth_pct)) under `cal` (per unit: `unit_cal`):
    the shifted and scaled distribution (the growth side by its own `growth_side`), then the
    isotonic maps if `cal` has them, kept consistent with the range (`range_guard`) and with
    each other (together at most 1)."""
    c = cal if unit_cal is None else unit_cal
    args = (change_pct, lower_pct, upper_pct, level)
    p_dec = prob_below(decline_pct, *args, c)
    p_gro = 1 - prob_below(growth_pct, *args, growth_side(c))
    if cal.isotonic is None:
        return p_dec, p_gro
    p_dec = cal.isotonic.apply("decline", p_dec)
    p_gro = cal.isotonic.apply("growth", p_gro)
    p_dec, p_gro = range_guard(p_dec, p_gro, lower_pct, upper_pct, decline_pct, growth_pct, level)
    # the two maps are fitted apart: where they promise more than certainty together, both are
    # scaled down in proportion (the middle band then gets 0)
    total = np.maximum(p_dec + p_gro, 1.0)
    return p_dec / total, p_gro / total


def probabilities(f: pd.DataFrame, p: Policy, level: float, decline=None, growth=None):
    """Calibrated (p_decline, p_growth) for each row of the facts table."""
    t = p.thresholds
    d = t.decline_pct if decline is None else decline
    g = t.growth_pct if growth is None else growth
    cal = unit_calibration(f, p.probability)
    return event_probabilities(
        f["change_pct"], f["lower_pct"], f["upper_pct"], level, p.probability, d, g, cal
    )


# ---- assignment -------------------------------------------------------------------------
SHIFTABLE = {
    "thresholds.decline_pct": "points",
    "thresholds.growth_pct": "points",
    "thresholds.employment_decline_pct": "points",
    "agglomeration.max_distance_km": "km",
    "agglomeration.pole_min_growth_pct": "points",
}


def _value(p: Policy, key: str, shift: tuple[str, np.ndarray] | None):
    """The policy's value of `key`, moved by the shift (a scalar or one move per row) if the
    shift is on that key."""
    section, field = key.split(".")
    v = getattr(getattr(p, section), field)
    if shift is not None and shift[0] == key and v is not None:
        return v + shift[1]
    return v


def _state_ok(f: pd.DataFrame, p: Policy, category: str) -> pd.Series:
    ok = pd.Series(True, index=f.index)
    for c in p.current_state:
        if c.category != category or c.indicator not in f:
            continue
        x = f[c.indicator].astype(float)
        hold = pd.Series(True, index=f.index)
        if c.at_least is not None:
            hold &= x >= c.at_least
        if c.at_most is not None:
            hold &= x <= c.at_most
        ok &= x.isna() | hold
    return ok


def _assign(
    f: pd.DataFrame, p: Policy, level: float, shift: tuple[str, np.ndarray] | None = None
) -> pd.DataFrame:
    """Category, confidence and runner-up for each row of the facts table `f`; `shift` moves
    one threshold (by one value or one value per row) without re-validating the policy."""
    decline = _value(p, "thresholds.decline_pct", shift)
    growth = _value(p, "thresholds.growth_pct", shift)
    emp_thr = _value(p, "thresholds.employment_decline_pct", shift)
    max_km = _value(p, "agglomeration.max_distance_km", shift)
    pole_min = _value(p, "agglomeration.pole_min_growth_pct", shift)
    r, dv = p.resettle, p.diversify
    p_decline, p_growth = probabilities(f, p, level, decline, growth)
    p_mid = np.clip(1 - p_decline - p_growth, 0, 1)
    probs = pd.DataFrame(
        {"resettle": p_decline, "stabilize": p_mid, "diversify": p_growth}, index=f.index
    )

    emp = f.get("employment_change_pct", pd.Series(np.nan, index=f.index))
    jobs_collapse = (
        emp.notna() & (emp < emp_thr) if emp_thr is not None else pd.Series(False, index=f.index)
    )
    # a threshold of 1 means no calls at all (no threshold paid on the record), also for units
    # without an interval, whose probabilities are 0 or 1
    probability_ok = pd.Series(
        (p_decline >= r.min_probability) & (r.min_probability < 1), index=f.index
    )
    structural = f.get("structural_share", pd.Series(np.nan, index=f.index))
    structural_ok = structural.isna() | (structural >= r.min_structural_share)
    state_resettle = _state_ok(f, p, "resettle")
    state_diversify = _state_ok(f, p, "diversify")
    resettle = probability_ok & structural_ok & state_resettle
    diversify = (
        (p_growth >= dv.min_probability)
        & (dv.min_probability < 1)
        & ~jobs_collapse
        & state_diversify
    )
    band = np.where(resettle, "resettle", np.where(diversify, "diversify", "stabilize"))
    boundary = ~resettle & (p_decline >= r.boundary_probability)
    a = p.agglomeration
    near = (
        a.enabled
        & f["pole_distance_km"].notna()
        & (f["pole_distance_km"] <= max_km)
        & f["pole_change_pct"].notna()
        & (f["pole_change_pct"] >= pole_min)
    )
    c = p.probability
    p_pole = 1 - prob_below(
        pole_min,
        f["pole_change_pct"],
        f["pole_lower_pct"],
        f["pole_upper_pct"],
        level,
        growth_side(c),
    )
    cols = np.array(probs.columns)
    band_probs = probs.to_numpy()
    rows = np.arange(len(f))
    band_idx = pd.Series(band).map({c: k for k, c in enumerate(cols)}).to_numpy()
    band_conf = band_probs[rows, band_idx]
    category = np.where(near, "agglomerate", band)
    conf = np.where(near, p_pole, band_conf)
    masked = band_probs.copy()
    masked[rows, band_idx] = -1.0
    other = cols[np.argmax(masked, axis=1)]
    runner = np.where(near, band, other)
    runner_conf = np.where(near, band_conf, masked.max(axis=1))
    return pd.DataFrame(
        {
            "category": category,
            "confidence": conf,
            "runner_up": runner,
            "runner_up_confidence": runner_conf,
            "boundary": boundary.to_numpy(),
            "p_decline": p_decline,
            "p_stabilize": p_mid,
            "p_growth": p_growth,
            "resettle_min_p": r.min_probability,
            "boundary_min_p": r.boundary_probability,
            "diversify_min_p": dv.min_probability,
            "probability_ok": probability_ok.to_numpy(),
            "interval_ok": probability_ok.to_numpy(),  # older name of probability_ok
            "structural_ok": structural_ok.to_numpy(),
            "state_ok": (state_resettle & state_diversify).to_numpy(),
            "jobs_collapse": jobs_collapse.to_numpy(),
        },
        index=f.index,
    )


# ---- sensitivity: each unit's distance to a flip, computed directly -----------------------
def _flip_points(f: pd.DataFrame, p: Policy, level: float, key: str) -> np.ndarray:
    """The move of `key` at which the one rule that reads it changes its answer for each unit
    (NaN where that rule does not apply). Category is constant on each side of this point
    (with isotonic maps: up to their `range_guard`, which the flip point does not read)."""
    t, a = p.thresholds, p.agglomeration
    c = unit_calibration(f, p.probability)
    nan = np.full(len(f), np.nan)
    iso = p.probability.isotonic
    if key == "thresholds.decline_pct":  # resettle iff decline >= the min_probability quantile
        m = p.resettle.min_probability
        x = quantile_pct(
            m if iso is None else iso.inverse("decline", m),
            f["change_pct"],
            f["lower_pct"],
            f["upper_pct"],
            level,
            c,
        )
        return x - t.decline_pct
    if key == "thresholds.growth_pct":  # diversify iff growth <= the (1 - min_p) quantile
        m = p.diversify.min_probability
        x = quantile_pct(
            1 - (m if iso is None else iso.inverse("growth", m)),
            f["change_pct"],
            f["lower_pct"],
            f["upper_pct"],
            level,
            growth_side(c),
        )
        return x - t.growth_pct
    if key == "thresholds.employment_decline_pct":
        if t.employment_decline_pct is None or "employment_change_pct" not in f:
            return nan
        return f["employment_change_pct"].to_numpy(dtype=float) - t.employment_decline_pct
    if not a.enabled:
        return nan
    if key == "agglomeration.max_distance_km":
        return f["pole_distance_km"].to_numpy(dtype=float) - a.max_distance_km
    return f["pole_change_pct"].to_numpy(dtype=float) - a.pole_min_growth_pct


def _step(p: Policy, unit: str) -> tuple[float, float]:
    k = 5 if unit == "km" else 1
    return p.sensitivity_step * k, p.sensitivity_max_points * k


def _valid(p: Policy, key: str, delta: np.ndarray) -> np.ndarray:
    t = p.thresholds
    if key == "thresholds.decline_pct":
        return t.decline_pct + delta < t.growth_pct
    if key == "thresholds.growth_pct":
        return t.decline_pct < t.growth_pct + delta
    if key == "agglomeration.max_distance_km":
        return p.agglomeration.max_distance_km + delta > 0
    return np.ones(len(delta), dtype=bool)


def _smallest_moves(f: pd.DataFrame, p: Policy, level: float, base: pd.Series):
    """For each threshold: per unit, the smallest move (in sensitivity steps, within the
    maximum) that changes the category, and the category it gives (NaN / None if none)."""
    out = {}
    for key, unit in SHIFTABLE.items():
        step, mx = _step(p, unit)
        crit = _flip_points(f, p, level, key)
        best = np.full(len(f), np.nan)
        new_cat = np.full(len(f), None, dtype=object)
        # category is constant on each side of the flip: try the step multiples around it
        k_up, k_dn = np.ceil(crit / step), np.floor(crit / step)
        for delta in (step * k_up, step * k_dn, step * (k_up + 1), step * (k_dn - 1)):
            delta = np.where(np.isfinite(delta) & (delta != 0), delta, 0.0)
            ok = (delta != 0) & (np.abs(delta) <= mx + 1e-9) & _valid(p, key, delta)
            if not ok.any():
                continue
            cat = _assign(f, p, level, (key, delta))["category"].to_numpy()
            better = ok & (cat != base.to_numpy()) & ~(np.abs(best) <= np.abs(delta))
            best = np.where(better, delta, best)
            new_cat = np.where(better, cat, new_cat)
        out[key] = (best, new_cat)
    return out


def sensitivity(f: pd.DataFrame, p: Policy, level: float, base: pd.Series) -> pd.Series:
    """For each unit, the smallest single-threshold moves that change its category (up to three,
    nearest first), e.g. ``thresholds.decline_pct -2 points -> stabilize``."""
    moves = _smallest_moves(f, p, level, base)
    texts = []
    for i in range(len(f)):
        found = []
        for key, (delta, cat) in moves.items():
            d = delta[i]
            if np.isfinite(d):
                sign = "+" if d > 0 else "-"
                found.append((abs(d), f"{key} {sign}{abs(d):g} {SHIFTABLE[key]} -> {cat[i]}"))
        texts.append("; ".join(t for _, t in sorted(found)[:3]))
    return pd.Series(texts, index=f.index)


def sensitivity_summary(f: pd.DataFrame, p: Policy, level: float, points: float = 5.0):
    """How many units change category when each threshold moves by +-points (km x5)."""
    base = _assign(f, p, level)["category"]
    rows = []
    for key, unit in SHIFTABLE.items():
        for delta in (points, -points):
            d = delta * (5 if unit == "km" else 1)
            valid = _value(p, key, None) is not None and bool(_valid(p, key, np.array([d]))[0])
            n = int((_assign(f, p, level, (key, d))["category"] != base).sum()) if valid else None
            rows.append({"threshold": key, "move": d, "unit": unit, "units_changing": n})
    return pd.DataFrame(rows)


# ---- words ------------------------------------------------------------------------------
STATE_WORDS = {
    "unemployment_rate": ("unemployment", "{:.1f}%"),
    "unemployment_gap": ("vs region", "{:+.1f} pts"),
    "employment_trend_pct": ("jobs over 5 years", "{:+.1f}%"),
    "employment_trend_gap": ("vs region", "{:+.1f} pts"),
    "wage_relative": ("wage vs region", "{:.2f}x"),
}


def _today(r: pd.Series) -> str:
    parts = []
    for col, (label, fmt) in STATE_WORDS.items():
        v = r.get(col)
        if v is not None and pd.notna(v):
            parts.append(f"{label} {fmt.format(float(v))}")
    return ", ".join(parts)


def _crossed(f: pd.DataFrame, a: pd.DataFrame, p: Policy) -> pd.Series:
    t, ag = p.thresholds, p.agglomeration
    out = []
    for (_, r), (_, c) in zip(f.iterrows(), a.iterrows(), strict=True):
        parts = []
        for name, thr in (("decline", t.decline_pct), ("growth", t.growth_pct)):
            diff = r["change_pct"] - thr
            side = "above" if diff >= 0 else "below"
            parts.append(
                f"change {r['change_pct']:+.1f}% is {abs(diff):.1f} pts {side} {name} "
                f"threshold {thr:+g}%"
            )
        parts.append(
            f"P(below {t.decline_pct:+g}%) {c['p_decline']:.0%} vs resettle at "
            f"{p.resettle.min_probability:.0%}, watch at {p.resettle.boundary_probability:.0%}"
        )
        parts.append(
            f"P(at or above {t.growth_pct:+g}%) {c['p_growth']:.0%} vs diversify at "
            f"{p.diversify.min_probability:.0%}"
        )
        if pd.notna(r.get("pole_distance_km")):
            parts.append(
                f"{r['pole_distance_km']:.0f} km to {r['pole']} (limit {ag.max_distance_km:g} km)"
                + (
                    f", pole change {r['pole_change_pct']:+.1f}%"
                    if pd.notna(r.get("pole_change_pct"))
                    else ""
                )
            )
        if pd.notna(r.get("employment_change_pct")) and t.employment_decline_pct is not None:
            parts.append(
                f"jobs change {r['employment_change_pct']:+.1f}% vs {t.employment_decline_pct:+g}%"
            )
        for crit in p.current_state:
            v = r.get(crit.indicator)
            if v is not None and pd.notna(v):
                bounds = " and ".join(
                    b
                    for b in (
                        f">= {crit.at_least:g}" if crit.at_least is not None else "",
                        f"<= {crit.at_most:g}" if crit.at_most is not None else "",
                    )
                    if b
                )
                parts.append(f"{crit.indicator} {float(v):+.2f} ({crit.category} needs {bounds})")
        out.append("; ".join(parts))
    return pd.Series(out, index=f.index)


def _follows(r: pd.Series) -> str:
    """'follows Balkhash city administration's outlook: -5.0% by 2034' for a nested town that
    follows its administration (facts: follows_name, follows_territory, follows_change_pct)."""
    name = r.get("follows_name")
    if not isinstance(name, str) or not name:
        return ""
    kind = r.get("follows_territory")
    who = f"{name} {kind.replace('_', ' ')}" if isinstance(kind, str) and kind else name
    change = r.get("follows_change_pct")
    by = f": {change:+.1f}% by {r['target_year']}" if pd.notna(change) else ""
    return f"follows {who}'s outlook{by}"


def _reasons(f: pd.DataFrame, a: pd.DataFrame, p: Policy) -> pd.Series:
    t, rs = p.thresholds, p.resettle
    out = []
    for (_, r), (_, c) in zip(f.iterrows(), a.iterrows(), strict=True):
        cat = c["category"]
        fc = f"population forecast {r['change_pct']:+.1f}% by {r['target_year']}"
        chance = f"{c['p_decline']:.0%} chance of falling below {t.decline_pct:+g}%"
        if cat == "agglomerate":
            s = (
                f"within {p.agglomeration.max_distance_km:g} km of {r['pole']} "
                f"({r['pole_distance_km']:.0f} km), which is forecast to change "
                f"{r['pole_change_pct']:+.1f}%"
            )
        elif cat == "resettle":
            s = (
                f"{fc}; {chance}, at least the {rs.min_probability:.0%} the policy requires "
                f"before advising resettlement (precautionary rule)"
            )
            if pd.notna(r.get("structural_share")):
                s += f"; {r['structural_share']:.0%} of the decline from structural drivers"
        elif cat == "diversify":
            s = (
                f"{fc}; {c['p_growth']:.0%} chance of at least {t.growth_pct:+g}% "
                f"(diversify from {p.diversify.min_probability:.0%})"
            )
        else:
            s = fc
            if c["boundary"] and not c["probability_ok"]:
                s += (
                    f"; {chance}, below the {rs.min_probability:.0%} required for resettle "
                    f"(precautionary rule): boundary case"
                )
            elif c["boundary"] and not c["structural_ok"]:
                s += f"; {chance}, but driven mostly by short-term factors (boundary case)"
            elif c["boundary"]:
                s += f"; {chance}, but today's state does not meet the policy (boundary case)"
            elif c["jobs_collapse"]:
                s += f"; jobs forecast {r['employment_change_pct']:+.1f}%"
            else:
                s += f"; {chance}, {c['p_growth']:.0%} of at least {t.growth_pct:+g}%"
        follows = _follows(r)
        if follows:
            s += f"; {follows}"
        today = _today(r)
        if today:
            s += f"; today: {today}"
        if isinstance(r.get("top_drivers"), str) and r["top_drivers"]:
            s += f"; main drivers: {r['top_drivers']}"
        out.append(s)
    return pd.Series(out, index=f.index)


def categorize(
    facts: pd.DataFrame, policy: Policy, level: float, previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Categories with probabilities, confidence, runner-up, thresholds crossed, reasons and
    sensitivity.

    `facts` is indexed by unit_id; see `facts.category_facts` for its columns (and
    `state.current_state` for the optional current-state ones). `previous` (unit_id, category)
    applies hysteresis: a unit keeps its previous category when some move of a single threshold
    within `hysteresis_points` would give it back.
    """
    f = facts.copy()
    a = _assign(f, policy, level)
    a["previous_category"] = None
    a["held_by_hysteresis"] = False
    if previous is not None and policy.hysteresis_points > 0:
        prev = previous.set_index("unit_id")["category"].reindex(f.index)
        a["previous_category"] = prev
        changed = prev.notna() & (prev != a["category"])
        if changed.any():
            for key, unit in SHIFTABLE.items():
                m = policy.hysteresis_points * (5 if unit == "km" else 1)
                for delta in np.linspace(-m, m, 9):
                    if (
                        _value(policy, key, None) is None
                        or not _valid(policy, key, np.array([delta]))[0]
                    ):
                        continue
                    alt = _assign(f, policy, level, (key, float(delta)))
                    hold = changed & (alt["category"] == prev) & ~a["held_by_hysteresis"]
                    for col in ("category", "confidence", "runner_up", "runner_up_confidence"):
                        a.loc[hold, col] = alt.loc[hold, col]
                    a.loc[hold, "held_by_hysteresis"] = True
    a["thresholds_crossed"] = _crossed(f, a, policy)
    a["sensitivity"] = sensitivity(f, policy, level, a["category"])
    a["reasons"] = _reasons(f, a, policy)
    out = pd.concat([f, a], axis=1)
    out.index.name = "unit_id"
    return out.reset_index()


def assign(facts: pd.DataFrame, policy: Policy, level: float) -> pd.DataFrame:
    """Category, confidence and runner-up only (no hysteresis, sensitivity or reasons): the
    cheap call for re-categorising many variants of the same facts, e.g. scenarios."""
    return _assign(facts.copy(), policy, level)
