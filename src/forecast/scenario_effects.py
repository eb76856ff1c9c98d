"""What a scenario's job change does to a town's population, and how sure that is, in words.

A scenario moves population through the estimated response of population to employment
(`forecast.response`), and that estimate may be small and uncertain (the Kazakh one is 0.044
with a standard error of 0.036 four years after a change: docs/scenarios.md). This module puts
each employment event's effect at the policy horizon beside the range the estimate's standard
error alone allows, and says it in a sentence, so that a small effect is not read as a sure one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from .response import ResponseEstimate

COLUMNS = [
    "scenario",
    "unit_id",
    "name",
    "year",
    "employment_change_pct",
    "population_response_pct",
    "response_low_pct",
    "response_high_pct",
    "response_per_10pct_jobs",
    "response_se_per_10pct_jobs",
    "response_group",
    "note",
]


def _pct(log: np.ndarray | float) -> np.ndarray | float:
    return 100 * np.expm1(log)


def describe(
    table: pd.DataFrame,
    response: ResponseEstimate,
    horizon: int,
    level: float,
    names: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per scenario and unit whose own employment a scenario changes: at `horizon`
    years after the origin, the employment change, the population response (both against the
    baseline), the `level` range of the response from the estimate's standard error alone, the
    response per 10% of jobs and its standard error, and a sentence saying so.

    `table`: the trajectories (`forecast.scenario_apply.apply`), with `employment_shift_log`,
    `response_log` and `response_se_log`; `names`: unit_id -> the name to write."""
    pop = table[(table["target"] == "population") & (table["horizon"] == horizon)]
    pop = pop[pop["employment_shift_log"] != 0]
    if pop.empty:
        return pd.DataFrame(columns=COLUMNS)
    z = float(ndtri((1 + level) / 2))
    shift = pop["employment_shift_log"].to_numpy(dtype=float)
    resp = pop["response_log"].to_numpy(dtype=float)
    se = pop["response_se_log"].to_numpy(dtype=float)
    low, high = _pct(resp - z * se), _pct(resp + z * se)
    low, high = np.minimum(low, high), np.maximum(low, high)
    # per 10% of jobs: the response and its standard error per unit of log employment, x 0.1
    per10 = 10 * resp / shift
    se10 = 10 * se / np.abs(shift)
    names = names if names is not None else pd.Series(dtype=object)
    out = pd.DataFrame(
        {
            "scenario": pop["scenario"].to_numpy(),
            "unit_id": pop["unit_id"].to_numpy(),
            "name": [names.get(u, u) for u in pop["unit_id"]],
            "year": pop["year"].to_numpy(dtype=int),
            "employment_change_pct": _pct(shift),
            "population_response_pct": _pct(resp),
            "response_low_pct": low,
            "response_high_pct": high,
            "response_per_10pct_jobs": per10,
            "response_se_per_10pct_jobs": se10,
            "response_group": response.group,
        }
    )
    out["note"] = [_sentence(r, response, level) for r in out.itertuples()]
    return out[COLUMNS]


def _signed(x: float) -> str:
    """A percentage with its sign, one decimal (two below 0.1, so a small bound is not "0.0")."""
    return f"{x:+.2f}%" if abs(x) < 0.1 else f"{x:+.1f}%"


def _sentence(r, response: ResponseEstimate, level: float) -> str:
    zero = r.response_low_pct <= 0 <= r.response_high_pct
    return (
        f"{r.name}: jobs {_signed(r.employment_change_pct)} against the baseline by {r.year}. "
        f"How population follows jobs is estimated on {response.group} ({response.n_units} "
        f"units, {response.first_year}-{response.last_year}): there, a 10% change in jobs goes "
        f"with a {abs(r.response_per_10pct_jobs):.2f}% change in population, give or take "
        f"{r.response_se_per_10pct_jobs:.2f} points (one standard error). Here that moves the "
        f"population by {_signed(r.population_response_pct)} by {r.year}; the estimate's "
        f"uncertainty alone allows anything from {_signed(r.response_low_pct)} to "
        f"{_signed(r.response_high_pct)} ({level:.0%} range)"
        + (
            ", so the data cannot rule out that population does not follow the jobs at all."
            if zero
            else "."
        )
        + " The scenario's population range also includes how much places differ in their "
        "response."
    )
