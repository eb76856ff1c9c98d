"""The category under a scenario reads the scenario's own change as structural
(forecast.scenario_run.categories). Data, forecasts and explanations here are SYNTHETIC, for
unit tests only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import explain
from forecast.policy import Policy
from forecast.scenario_apply import Trajectories
from forecast.scenario_run import SCENARIO_DRIVER, categories, scenario_explanations
from forecast.schema import Dataset

HORIZON = 10
TOWNS = ["TOWN", "OTHER"]


def dataset() -> Dataset:
    units = pd.DataFrame(
        {"name": ["Town", "Other"], "region": ["R", "R"]}, index=pd.Index(TOWNS, name="unit_id")
    )
    panel = pd.DataFrame({"unit_id": TOWNS, "year": [2020, 2020], "population": [10000.0, 8000.0]})
    return Dataset(name="synthetic", panel=panel, units=units)


def baseline() -> pd.DataFrame:
    """Both units forecast to fall 9% by 2030 (80% range -25%..+10%)."""
    rows = [
        (u, "population", 2020, HORIZON, 2030, p * 0.91, p * 0.75, p * 1.10)
        for u, p in (("TOWN", 10000.0), ("OTHER", 8000.0))
    ]
    cols = ["unit_id", "target", "origin_year", "horizon", "year", "forecast", "lower", "upper"]
    return pd.DataFrame(rows, columns=cols)


def explanations() -> pd.DataFrame:
    """The baseline's fall of each unit: 20% from a structural driver, 80% from a short-term one
    (below the structural share resettle requires)."""
    total = np.log(0.91)
    rows = []
    for u, p in (("TOWN", 10000.0), ("OTHER", 8000.0)):
        for driver, share in (("long_run_trend", 0.2), ("recent_change", 0.8)):
            log = share * total
            rows.append(
                (
                    u,
                    "population",
                    HORIZON,
                    2030,
                    driver,
                    driver,
                    np.nan,
                    np.nan,
                    log,
                    100 * (0.91 - 1) * share,
                    p * (0.91 - 1) * share,
                )
            )
    return pd.DataFrame(rows, columns=explain.COLUMNS)


def policy() -> Policy:
    return Policy.model_validate(
        {
            "horizon": HORIZON,
            "agglomeration": {"enabled": False},
            "resettle": {"min_probability": 0.5, "min_structural_share": 0.25},
        }
    )


def scenario(factor: float) -> Trajectories:
    """TOWN's population times `factor` (people moved out, jobs lost): the scenario's doing."""
    fc = baseline()
    town = fc["unit_id"] == "TOWN"
    for col in ("forecast", "lower", "upper"):
        fc.loc[town, col] *= factor
    table = fc[town].assign(scenario="moves")
    return Trajectories(table=table, forecasts={"moves": fc})


def test_a_scenarios_own_fall_counts_as_structural():
    cats = categories(dataset(), baseline(), scenario(0.8), explanations(), policy(), 0.8)
    base = cats[cats["scenario"] == "baseline"].set_index("unit_id")
    moved = cats[cats["scenario"] == "moves"].set_index("unit_id")
    # without the scenario the fall is mostly short-term: not resettle, whatever the odds
    assert base.loc["TOWN", "structural_share"] == pytest.approx(0.2)
    assert base.loc["TOWN", "category"] != "resettle"
    # the scenario's own fall (-20% of the forecast) is structural: (0.2 x 0.094 + 0.223) /
    # (0.094 + 0.223), and the town is resettle under it
    own, fall = -np.log(0.8), -np.log(0.91)
    assert moved.loc["TOWN", "structural_share"] == pytest.approx((0.2 * fall + own) / (fall + own))
    assert moved.loc["TOWN", "p_decline"] >= 0.5
    assert moved.loc["TOWN", "category"] == "resettle"
    assert bool(moved.loc["TOWN", "changed"])
    # a unit the scenario leaves alone keeps the baseline's facts
    assert moved.loc["OTHER", "structural_share"] == pytest.approx(0.2)
    assert moved.loc["OTHER", "category"] == base.loc["OTHER", "category"]


def test_scenario_part_adds_up_to_the_scenarios_change():
    fc = scenario(0.8).forecasts["moves"]
    out = scenario_explanations(explanations(), baseline(), fc, dataset(), policy())
    part = out[out["driver"] == SCENARIO_DRIVER]
    assert part["unit_id"].tolist() == ["TOWN"]  # OTHER is not changed: no part
    town = out[out["unit_id"] == "TOWN"]
    assert town["contribution_log"].sum() == pytest.approx(np.log(0.91 * 0.8))
    assert part["contribution_persons"].iloc[0] == pytest.approx(10000 * 0.91 * (0.8 - 1))
    assert part["contribution_pct"].iloc[0] == pytest.approx(100 * 0.91 * (0.8 - 1))


def test_an_unchanged_scenario_has_the_baselines_explanation():
    same = scenario(1.0).forecasts["moves"]
    out = scenario_explanations(explanations(), baseline(), same, dataset(), policy())
    pd.testing.assert_frame_equal(out, explanations())
