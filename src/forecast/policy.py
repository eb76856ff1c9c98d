"""The policy file: forecasts, intervals and drivers -> prospect categories.

Categories (the national approach described for Kazakhstan's monotowns):

* ``agglomerate``: close to a large city that is itself growing (a growth pole);
* ``resettle``: population forecast to fall below the decline threshold, with the whole interval
  below it and the decline mostly structural (not a one-off shock);
* ``diversify``: forecast at or above the growth threshold (high potential), jobs not collapsing;
* ``stabilize``: everything else, including *boundary cases* that would be ``resettle`` on the
  point forecast but not with confidence.

Rules are monotone in the town's own forecast: a better forecast never gives a worse category
(resettle < stabilize < diversify). Each category comes with its confidence (the share of the
predictive distribution on the chosen side of the thresholds), the runner-up, the thresholds
crossed, the top drivers, and the threshold moves that would change it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.special import ndtr, ndtri

from .config import load_yaml_model

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


class Resettle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    require_interval_below: bool = True
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


class Focus(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attribute: str
    value: float | str


class Policy(BaseModel):
    """A validated policy file (see experiments/policy.yaml)."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    name: str = "default"
    target: Literal["population"] = "population"
    horizon: int = Field(10, ge=1, le=30)
    focus: Focus | None = None
    thresholds: Thresholds = Field(default_factory=Thresholds)
    agglomeration: Agglomeration = Field(default_factory=Agglomeration)
    resettle: Resettle = Field(default_factory=Resettle)
    hysteresis_points: float = Field(2.0, ge=0)
    sensitivity_max_points: float = Field(20.0, gt=0)
    sensitivity_step: float = Field(0.5, gt=0)


def load_policy(path: Path | None) -> Policy:
    return load_yaml_model(Policy, path)


# ---- probabilities --------------------------------------------------------------------
def prob_below(threshold_pct, change_pct, lower_pct, upper_pct, level: float) -> np.ndarray:
    """P(change < threshold) from the point forecast and the interval: on the log scale, the
    point forecast is the median and each side is half a normal whose spread puts the interval
    bound at its quantile ((1 -+ level) / 2). Without an interval: 0 or 1."""
    z = ndtri((1 + level) / 2)
    mu = np.log1p(np.asarray(change_pct, dtype=float) / 100)
    lo = np.log1p(np.asarray(lower_pct, dtype=float) / 100)
    hi = np.log1p(np.asarray(upper_pct, dtype=float) / 100)
    x = np.log1p(np.asarray(threshold_pct, dtype=float) / 100)
    with np.errstate(invalid="ignore", divide="ignore"):
        s_lo = np.maximum((mu - lo) / z, 1e-9)
        s_hi = np.maximum((hi - mu) / z, 1e-9)
        below = np.where(x <= mu, ndtr((x - mu) / s_lo), ndtr((x - mu) / s_hi))
    no_interval = np.isnan(lo) | np.isnan(hi)
    return np.where(no_interval, (mu < x).astype(float), below)


# ---- assignment -------------------------------------------------------------------------
def _assign(f: pd.DataFrame, p: Policy, level: float) -> pd.DataFrame:
    """Category, confidence and runner-up for each row of the facts table `f`."""
    t = p.thresholds
    change, lower, upper = f["change_pct"], f["lower_pct"], f["upper_pct"]
    p_decline = prob_below(t.decline_pct, change, lower, upper, level)
    p_growth = 1 - prob_below(t.growth_pct, change, lower, upper, level)
    p_mid = np.clip(1 - p_decline - p_growth, 0, 1)
    probs = pd.DataFrame(
        {"resettle": p_decline, "stabilize": p_mid, "diversify": p_growth}, index=f.index
    )

    emp = f.get("employment_change_pct", pd.Series(np.nan, index=f.index))
    jobs_collapse = (
        emp.notna() & (emp < t.employment_decline_pct)
        if t.employment_decline_pct is not None
        else pd.Series(False, index=f.index)
    )
    declining = change < t.decline_pct
    if p.resettle.require_interval_below:
        interval_ok = ~declining | (upper < t.decline_pct)
    else:
        interval_ok = pd.Series(True, index=f.index)
    structural = f.get("structural_share", pd.Series(np.nan, index=f.index))
    structural_ok = structural.isna() | (structural >= p.resettle.min_structural_share)

    band = np.where(
        declining & interval_ok & structural_ok,
        "resettle",
        np.where((change >= t.growth_pct) & ~jobs_collapse, "diversify", "stabilize"),
    )
    boundary = declining & ~(interval_ok & structural_ok)
    a = p.agglomeration
    near = (
        a.enabled
        & f["pole_distance_km"].notna()
        & (f["pole_distance_km"] <= a.max_distance_km)
        & f["pole_change_pct"].notna()
        & (f["pole_change_pct"] >= a.pole_min_growth_pct)
    )
    p_pole = 1 - prob_below(
        a.pole_min_growth_pct, f["pole_change_pct"], f["pole_lower_pct"], f["pole_upper_pct"], level
    )
    category = np.where(near, "agglomerate", band)
    conf = np.where(
        near,
        p_pole,
        probs.to_numpy()[np.arange(len(f)), [list(probs.columns).index(b) for b in band]],
    )
    band_probs = probs.to_numpy()
    order = np.argsort(-band_probs, axis=1)
    cols = np.array(probs.columns)
    runner = np.where(
        near,
        band,
        np.where(cols[order[:, 0]] == band, cols[order[:, 1]], cols[order[:, 0]]),
    )
    runner_conf = np.where(
        near,
        band_probs[np.arange(len(f)), [list(cols).index(b) for b in band]],
        band_probs[np.arange(len(f)), [list(cols).index(r) for r in runner]],
    )
    return pd.DataFrame(
        {
            "category": category,
            "confidence": conf,
            "runner_up": runner,
            "runner_up_confidence": runner_conf,
            "boundary": boundary.to_numpy(),
            "p_resettle": p_decline,
            "p_stabilize": p_mid,
            "p_diversify": p_growth,
            "interval_ok": interval_ok.to_numpy(),
            "structural_ok": structural_ok.to_numpy(),
            "jobs_collapse": jobs_collapse.to_numpy(),
        },
        index=f.index,
    )


SHIFTABLE = {
    "thresholds.decline_pct": "points",
    "thresholds.growth_pct": "points",
    "thresholds.employment_decline_pct": "points",
    "agglomeration.max_distance_km": "km",
    "agglomeration.pole_min_growth_pct": "points",
}


def _shifted(p: Policy, key: str, delta: float) -> Policy | None:
    section, field = key.split(".")
    sub = getattr(p, section)
    value = getattr(sub, field)
    if value is None:
        return None
    data = p.model_dump()
    data[section][field] = value + delta
    try:
        return Policy.model_validate(data)
    except ValueError:  # e.g. decline moved above growth
        return None


def _steps(p: Policy, unit: str) -> np.ndarray:
    mx = p.sensitivity_max_points * (5 if unit == "km" else 1)
    step = p.sensitivity_step * (5 if unit == "km" else 1)
    n = int(round(mx / step))
    mags = step * np.arange(1, n + 1)
    return np.ravel(np.column_stack([mags, -mags]))  # nearest first, + before -


def sensitivity(f: pd.DataFrame, p: Policy, level: float, base: pd.Series) -> pd.Series:
    """For each unit, the smallest single-threshold moves that change its category."""
    found: dict[object, list[tuple[float, str]]] = {i: [] for i in f.index}
    for key, unit in SHIFTABLE.items():
        done: set = set()
        for delta in _steps(p, unit):
            q = _shifted(p, key, delta)
            if q is None:
                continue
            new = _assign(f, q, level)["category"]
            for i in f.index[(new != base) & ~f.index.isin(list(done))]:
                done.add(i)
                sign = "+" if delta > 0 else "-"
                found[i].append((abs(delta), f"{key} {sign}{abs(delta):g} {unit} -> {new[i]}"))
    return pd.Series({i: "; ".join(t for _, t in sorted(v)[:3]) for i, v in found.items()})


def sensitivity_summary(f: pd.DataFrame, p: Policy, level: float, points: float = 5.0):
    """How many units change category when each threshold moves by +-points (km x5)."""
    base = _assign(f, p, level)["category"]
    rows = []
    for key, unit in SHIFTABLE.items():
        for delta in (points, -points):
            d = delta * (5 if unit == "km" else 1)
            q = _shifted(p, key, d)
            n = None if q is None else int((_assign(f, q, level)["category"] != base).sum())
            rows.append({"threshold": key, "move": d, "unit": unit, "units_changing": n})
    return pd.DataFrame(rows)


def _crossed(f: pd.DataFrame, p: Policy) -> pd.Series:
    t, a = p.thresholds, p.agglomeration
    out = {}
    for i, r in f.iterrows():
        parts = []
        for name, thr in (("decline", t.decline_pct), ("growth", t.growth_pct)):
            diff = r["change_pct"] - thr
            side = "above" if diff >= 0 else "below"
            parts.append(
                f"change {r['change_pct']:+.1f}% is {abs(diff):.1f} pts {side} {name} "
                f"threshold {thr:+g}%"
            )
        if pd.notna(r.get("upper_pct")) and r["change_pct"] < t.decline_pct:
            parts.append(
                f"interval upper bound {r['upper_pct']:+.1f}% vs decline {t.decline_pct:+g}%"
            )
        if pd.notna(r.get("pole_distance_km")):
            parts.append(
                f"{r['pole_distance_km']:.0f} km to {r['pole']} (limit {a.max_distance_km:g} km)"
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
        out[i] = "; ".join(parts)
    return pd.Series(out)


def _reasons(f: pd.DataFrame, a: pd.DataFrame, p: Policy) -> pd.Series:
    t = p.thresholds
    out = {}
    for i in f.index:
        r, c = f.loc[i], a.loc[i]
        cat = c["category"]
        if cat == "agglomerate":
            s = (
                f"within {p.agglomeration.max_distance_km:g} km of {r['pole']} "
                f"({r['pole_distance_km']:.0f} km), which is forecast to change "
                f"{r['pole_change_pct']:+.1f}%"
            )
        elif cat == "resettle":
            s = (
                f"population forecast {r['change_pct']:+.1f}% by {r['target_year']}, "
                f"whole interval below {t.decline_pct:+g}%, decline mostly structural"
            )
        elif cat == "diversify":
            s = f"population forecast {r['change_pct']:+.1f}% by {r['target_year']} (>= {t.growth_pct:+g}%)"
        else:
            s = f"population forecast {r['change_pct']:+.1f}% by {r['target_year']}"
            if c["boundary"] and not c["interval_ok"]:
                s += f"; below {t.decline_pct:+g}% but the interval reaches {r['upper_pct']:+.1f}% (boundary case)"
            elif c["boundary"]:
                s += "; decline driven mostly by short-term factors (boundary case)"
            elif c["jobs_collapse"]:
                s += f"; jobs forecast {r['employment_change_pct']:+.1f}%"
        if isinstance(r.get("top_drivers"), str) and r["top_drivers"]:
            s += f"; main drivers: {r['top_drivers']}"
        out[i] = s
    return pd.Series(out)


def categorize(
    facts: pd.DataFrame, policy: Policy, level: float, previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Categories with confidence, runner-up, thresholds crossed, reasons and sensitivity.

    `facts` is indexed by unit_id; see `facts.category_facts` for its columns. `previous`
    (unit_id, category) applies hysteresis: a unit keeps its previous category when some move of
    a single threshold within `hysteresis_points` would give it back.
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
                    q = _shifted(policy, key, float(delta))
                    if q is None:
                        continue
                    alt = _assign(f, q, level)
                    hold = changed & (alt["category"] == prev) & ~a["held_by_hysteresis"]
                    for col in ("category", "confidence", "runner_up", "runner_up_confidence"):
                        a.loc[hold, col] = alt.loc[hold, col]
                    a.loc[hold, "held_by_hysteresis"] = True
    a["thresholds_crossed"] = _crossed(f, policy)
    a["sensitivity"] = sensitivity(f, policy, level, a["category"])
    a["reasons"] = _reasons(f, a, policy)
    out = pd.concat([f, a], axis=1)
    out.index.name = "unit_id"
    return out.reset_index()
