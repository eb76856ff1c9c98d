"""Apply scenarios to a baseline forecast: trajectories with 80% ranges.

Per unit and forecast year, a scenario changes the baseline in three steps:

1. employment: each event is a permanent change of the unit's employment by a log factor `s`
   from its year on: employment = baseline x exp(sum of s);
2. population responds as estimated from history (`forecast.response`): log population moves
   by effect[h] x s, h years after the change; the range widens by the estimate's uncertainty
   and the spread of responses between places (added in quadrature, on the log scale, to the
   baseline range);
3. resettlement is accounting: the moved people, growing at the natural increase of the
   receiving unit (their later births net of deaths), are subtracted from one unit and added to
   the other, range and all.

With no event (or a zero-size one) every number equals the baseline exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri

from .errors import ConfigError
from .response import ResponseEstimate
from .scenarios import EmploymentShock, Move

TRAJECTORY_COLUMNS = [
    "scenario",
    "unit_id",
    "target",
    "origin_year",
    "horizon",
    "year",
    "baseline",
    "baseline_lower",
    "baseline_upper",
    "forecast",
    "lower",
    "upper",
    "employment_shift_log",
    "response_log",
    "response_se_log",
    "moved",
    "from_inner_units",
]


def _unit_rows(table: pd.DataFrame, units: set[str]) -> dict[tuple[str, str], pd.Index]:
    sub = table[table["unit_id"].isin(units)]
    return {(str(u), str(t)): g.index for (u, t), g in sub.groupby(["unit_id", "target"])}


def _propagate(
    scen, baseline, touched, parents: dict[str, str], unseen: dict | None = None
) -> dict[str, dict]:
    """Add each touched unit's change (persons, by year) to the units containing it; returns
    unit -> target -> the change received from inner units. `unseen`: (unit, target) -> the
    change (persons, by year) of a series the unit has no forecast of (a town's jobs where a
    larger territory's series stands in for them), passed on the same way."""
    received: dict[str, dict] = {}
    own = {  # each unit's own change, before any propagation
        key: pd.Series(
            scen.loc[idx, "forecast"].to_numpy() - baseline.loc[idx, "forecast"].to_numpy(),
            index=scen.loc[idx, "year"].to_numpy(),
        )
        for key, idx in _unit_rows(scen, set(touched)).items()
    }
    own.update(unseen or {})
    for (unit, target), delta in own.items():
        seen = {unit}
        parent = parents.get(unit)
        while parent is not None and parent not in seen:
            seen.add(parent)
            rows = scen.index[(scen["unit_id"] == parent) & (scen["target"] == target)]
            if len(rows):
                d = scen.loc[rows, "year"].map(delta).fillna(0.0).to_numpy()
                for col in ("forecast", "lower", "upper"):
                    scen.loc[rows, col] = scen.loc[rows, col].to_numpy() + d
                got = received.setdefault(parent, {})
                got[target] = got.get(target, np.zeros(len(rows))) + d
            parent = parents.get(parent)
    return received


def _unseen_jobs(table: pd.DataFrame, shocks: list[EmploymentShock]) -> dict:
    """(unit, "employment") -> the change in persons by year, for the units with employment
    shocks but no employment forecast of their own (a town whose jobs are counted in the
    series of the territory containing it): each shock changes `level` persons by
    level x (exp(shift) - 1) from its year on (shocks of unknown level are left out)."""
    out = {}
    for unit in sorted({s.unit_id for s in shocks}):
        rows = table[table["unit_id"] == unit]
        if rows.empty or (rows["target"] == "employment").any():
            continue
        years = np.sort(rows["year"].unique())
        delta = np.zeros(len(years))
        for s in (s for s in shocks if s.unit_id == unit and np.isfinite(s.level)):
            delta += np.where(years >= s.year, s.level * np.expm1(s.shift), 0.0)
        if delta.any():
            out[(unit, "employment")] = pd.Series(delta, index=years)
    return out


@dataclass
class Trajectories:
    """`table`: one row per (scenario, unit touched, target, year); `forecasts`: per scenario
    the whole forecasts table (baseline rows where a unit is not touched)."""

    table: pd.DataFrame
    forecasts: dict[str, pd.DataFrame]
    # each job change's effect on population and its uncertainty, in words (forecast.
    # scenario_effects.describe; set by forecast.scenario_run.evaluate)
    effects: pd.DataFrame | None = None


def natural_increase(panel: pd.DataFrame, years: int = 5) -> dict[str, float]:
    """Births minus deaths per person and year, mean of each unit's last `years` observed years
    (empty where the panel has no births and deaths)."""
    if not {"births", "deaths", "population"} <= set(panel.columns):
        return {}
    p = panel.dropna(subset=["births", "deaths", "population"])
    p = p[p["population"] > 0].sort_values("year").groupby("unit_id").tail(years)
    rate = (p["births"] - p["deaths"]) / p["population"]
    return rate.groupby(p["unit_id"]).mean().to_dict()


def moved_stock(move: Move, years: np.ndarray) -> np.ndarray:
    """People (and their natural increase) living in the receiving unit by each year because of
    the move: sum over move years k <= t of persons x (1 + n)^(t - k)."""
    years = np.asarray(years, dtype=int)
    out = np.zeros(len(years))
    for k in range(move.first_year, move.last_year + 1):
        since = years - k
        out += np.where(since >= 0, move.persons_per_year * (1 + move.natural_increase) ** since, 0)
    return out


def apply(
    baseline: pd.DataFrame,
    shocks: list[EmploymentShock],
    moves: list[Move],
    response: ResponseEstimate,
    scenarios: list[str],
    level: float,
    heterogeneity: float = 0.0,
    parents: dict[str, str] | None = None,
    *,
    rise_scale: float = 1.0,
    heterogeneity_rise: float | None = None,
) -> Trajectories:
    """Scenario trajectories from the baseline forecasts table (unit_id, target, origin_year,
    horizon, year, forecast, lower, upper).

    The population range widens by z x sqrt(se^2 + heterogeneity^2) x |s| on the log scale (in
    quadrature with the baseline's half-widths): `se` is the sampling error of the estimated
    response, `heterogeneity` the spread of the response between places (calibrated on shock
    events, docs/scenarios.md). `parents` (unit -> the unit containing it, e.g. a town inside
    its city administration): the change of a unit, in persons, is also the change of every
    unit containing it (forecast and range shifted by it).

    Rises of employment (an event with a positive shift) may be treated apart from falls:
    their response is `rise_scale` times the estimate (0..1; in US counties a rise of employment
    is followed by people less than a fall is, docs/scenarios.md) and their spread between
    places is `heterogeneity_rise` (default: `heterogeneity`). A larger cut still never gives a
    larger population: the response is non-decreasing in the shift either way."""
    if not 0 <= rise_scale <= 1:
        raise ValueError(f"rise_scale must be between 0 and 1, got {rise_scale}")
    tau_rise = heterogeneity if heterogeneity_rise is None else heterogeneity_rise
    z = ndtri((1 + level) / 2)
    effect = response.monotone()
    rows, full = [], {}
    pop_all = baseline[baseline["target"] == "population"]
    for name in scenarios:
        sh = [s for s in shocks if s.scenario == name]
        mv = [m for m in moves if m.scenario == name]
        touched = sorted({s.unit_id for s in sh} | {m.unit_id for m in mv} | {m.to for m in mv})
        scen = baseline.copy()
        parts: dict[tuple[str, str], tuple] = {}
        for unit in touched:
            for target in ("population", "employment"):
                idx = scen.index[(scen["unit_id"] == unit) & (scen["target"] == target)]
                if len(idx) == 0:
                    continue
                b = scen.loc[idx]
                years = b["year"].to_numpy(dtype=int)
                shift = np.zeros(len(idx))
                resp = np.zeros(len(idx))
                resp_se = np.zeros(len(idx))  # the estimate's standard error, on resp's scale
                spread = np.zeros(len(idx))
                for s in (s for s in sh if s.unit_id == unit):
                    since = years - s.year
                    shift += np.where(since >= 0, s.shift, 0.0)
                    eff, se = effect.at(since)
                    rise = s.shift > 0
                    scale = rise_scale if rise else 1.0
                    tau = tau_rise if rise else heterogeneity
                    resp += scale * eff * s.shift
                    # the shocks share one estimate: its errors add up, not in quadrature
                    resp_se += scale * se * abs(s.shift)
                    # from the event's year on: before it, the range is the baseline's
                    spread += np.where(
                        since >= 0, z * np.sqrt((scale * se) ** 2 + tau**2) * abs(s.shift), 0.0
                    )
                f = b["forecast"].to_numpy(dtype=float)
                a_lo = np.log(f / b["lower"].to_numpy(dtype=float))
                a_hi = np.log(b["upper"].to_numpy(dtype=float) / f)
                if target == "employment":
                    fc = f * np.exp(shift)
                    lo = b["lower"].to_numpy(dtype=float) * np.exp(shift)
                    hi = b["upper"].to_numpy(dtype=float) * np.exp(shift)
                    moved = np.zeros(len(idx))
                else:
                    fc = f * np.exp(resp)
                    lo = fc * np.exp(-np.sqrt(a_lo**2 + spread**2))
                    hi = fc * np.exp(np.sqrt(a_hi**2 + spread**2))
                    lo = np.where(spread == 0, b["lower"].to_numpy(dtype=float) * np.exp(resp), lo)
                    hi = np.where(spread == 0, b["upper"].to_numpy(dtype=float) * np.exp(resp), hi)
                    moved = np.zeros(len(idx))
                    for m in mv:
                        stock = moved_stock(m, years)
                        if m.unit_id == unit:
                            moved -= stock
                        if m.to == unit:
                            moved += stock
                    short = fc + moved <= 0
                    if short.any():
                        y = int(years[short][0])
                        raise ConfigError(
                            f"scenario {name!r}: resettlement moves more people out of {unit!r} "
                            f"by {y} ({-moved[short][0]:,.0f}) than its population under the "
                            f"scenario ({fc[short][0]:,.0f})"
                        )
                    fc, lo, hi = fc + moved, np.maximum(lo + moved, 0), hi + moved
                scen.loc[idx, "forecast"] = fc
                scen.loc[idx, "lower"] = lo
                scen.loc[idx, "upper"] = hi
                pop = target == "population"
                parts[(unit, target)] = (shift, resp * pop, resp_se * pop, moved)
        inner = _propagate(scen, baseline, touched, parents or {}, _unseen_jobs(scen, sh))
        for (unit, target), idx in _unit_rows(scen, set(touched) | set(inner)).items():
            b = baseline.loc[idx]
            zeros = np.zeros(len(idx))
            shift, resp, resp_se, moved = parts.get((unit, target), (zeros,) * 4)
            rows.append(
                pd.DataFrame(
                    {
                        "scenario": name,
                        "unit_id": unit,
                        "target": target,
                        "origin_year": b["origin_year"].to_numpy(),
                        "horizon": b["horizon"].to_numpy(),
                        "year": b["year"].to_numpy(dtype=int),
                        "baseline": b["forecast"].to_numpy(dtype=float),
                        "baseline_lower": b["lower"].to_numpy(dtype=float),
                        "baseline_upper": b["upper"].to_numpy(dtype=float),
                        "forecast": scen.loc[idx, "forecast"].to_numpy(dtype=float),
                        "lower": scen.loc[idx, "lower"].to_numpy(dtype=float),
                        "upper": scen.loc[idx, "upper"].to_numpy(dtype=float),
                        "employment_shift_log": shift,
                        "response_log": resp,
                        "response_se_log": resp_se,
                        "moved": moved,
                        "from_inner_units": inner.get(unit, {}).get(target, zeros),
                    }
                )
            )
        if not pop_all.empty:
            full[name] = scen
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=TRAJECTORY_COLUMNS)
    return Trajectories(table=table[TRAJECTORY_COLUMNS], forecasts=full)
