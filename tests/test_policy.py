"""Policy file validation, category rules, monotonicity, sensitivity and hysteresis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ConfigError
from forecast.policy import Policy, categorize, load_policy, prob_below, sensitivity_summary

from .conftest import ROOT

LEVEL = 0.8


def facts(**over) -> pd.DataFrame:
    """One hand-made town (synthetic numbers)."""
    row = dict(
        name="Town",
        region="R",
        latest=10000.0,
        latest_year=2023,
        target_year=2035,
        forecast=8000.0,
        change_pct=-20.0,
        lower_pct=-30.0,
        upper_pct=-12.0,
        employment_change_pct=np.nan,
        pole=None,
        pole_distance_km=np.nan,
        pole_change_pct=np.nan,
        pole_lower_pct=np.nan,
        pole_upper_pct=np.nan,
        structural_share=0.8,
        top_drivers="long_run_trend -15.0 pts",
    )
    row.update(over)
    return pd.DataFrame([row], index=pd.Index(["T"], name="unit_id"))


def cat(policy=None, previous=None, **over) -> pd.Series:
    return categorize(facts(**over), policy or Policy(), LEVEL, previous).iloc[0]


def write(tmp_path, text: str):
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    return p


# --- validation -------------------------------------------------------------------------
def test_bundled_policy_files_are_valid():
    assert load_policy(ROOT / "experiments" / "policy.yaml").focus.attribute == "monotown"
    assert not load_policy(ROOT / "experiments" / "policy_us_counties.yaml").agglomeration.enabled


def test_policy_unknown_field_is_named(tmp_path):
    with pytest.raises(
        ConfigError, match=r"policy.yaml: thresholds.declin_pct: Extra inputs are not permitted"
    ):
        load_policy(write(tmp_path, "thresholds:\n  declin_pct: -10\n"))


def test_policy_thresholds_must_be_ordered(tmp_path):
    with pytest.raises(ConfigError, match=r"decline_pct \(5.0\) must be below growth_pct \(0.0\)"):
        load_policy(write(tmp_path, "thresholds:\n  decline_pct: 5\n"))


def test_policy_wrong_type_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"horizon: Input should be a valid integer"):
        load_policy(write(tmp_path, "horizon: ten\n"))


def test_policy_not_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_policy(write(tmp_path, "thresholds: [\n"))


def test_policy_not_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="expected a mapping at the top level"):
        load_policy(write(tmp_path, "- a\n- b\n"))


# --- rules ------------------------------------------------------------------------------
def test_resettle_needs_the_whole_interval_below():
    assert cat()["category"] == "resettle"
    c = cat(upper_pct=-5.0)
    assert c["category"] == "stabilize" and c["boundary"] and c["runner_up"] == "resettle"


def test_resettle_needs_a_structural_decline():
    c = cat(structural_share=0.2)
    assert c["category"] == "stabilize" and c["boundary"]
    assert "short-term" in c["reasons"]


def test_growth_is_diversify_unless_jobs_collapse():
    assert cat(change_pct=5.0, lower_pct=-5.0, upper_pct=15.0)["category"] == "diversify"
    c = cat(change_pct=5.0, lower_pct=-5.0, upper_pct=15.0, employment_change_pct=-20.0)
    assert c["category"] == "stabilize"


def test_agglomerate_near_a_growing_pole():
    near = dict(
        pole="City",
        pole_distance_km=40.0,
        pole_change_pct=8.0,
        pole_lower_pct=2.0,
        pole_upper_pct=14.0,
    )
    c = cat(**near)
    assert c["category"] == "agglomerate" and c["runner_up"] == "resettle"
    assert cat(**{**near, "pole_distance_km": 150.0})["category"] == "resettle"
    assert cat(**{**near, "pole_change_pct": -3.0})["category"] == "resettle"


def test_confidence_is_the_probability_of_the_chosen_band():
    c = cat(change_pct=-20.0, lower_pct=-30.0, upper_pct=-12.0)
    assert c["confidence"] == pytest.approx(c["p_resettle"])
    assert 0.9 < c["confidence"] <= 1.0


def test_prob_below_matches_the_interval():
    # the interval bounds are the 10% and 90% quantiles of the fitted distribution
    assert prob_below(-30.0, -20.0, -30.0, -12.0, 0.8) == pytest.approx(0.1, abs=1e-9)
    assert prob_below(-12.0, -20.0, -30.0, -12.0, 0.8) == pytest.approx(0.9, abs=1e-9)
    assert prob_below(-20.0, -20.0, -30.0, -12.0, 0.8) == pytest.approx(0.5)
    assert prob_below(-20.0, -20.0, np.nan, np.nan, 0.8) == 0.0  # no interval: 0 or 1


def test_monotone_better_forecast_never_worse_category():
    rank = {"resettle": 0, "stabilize": 1, "diversify": 2}
    rows = []
    for change in np.linspace(-40, 30, 71):
        rows.append(cat(change_pct=change, lower_pct=change - 10, upper_pct=change + 6)["category"])
    ranks = [rank[r] for r in rows]
    assert ranks == sorted(ranks)
    assert set(rows) == {"resettle", "stabilize", "diversify"}


# --- sensitivity and hysteresis ------------------------------------------------------------
def test_sensitivity_names_the_smallest_move():
    # upper bound -12: moving the decline threshold from -10 down to -12 puts the upper bound
    # on it, so the interval no longer lies below (-1.5 points is not enough)
    c = cat()
    assert c["sensitivity"].startswith("thresholds.decline_pct -2 points -> stabilize")
    # the point forecast is -20: a decline threshold moved below -20 also gives stabilize, and
    # a growth threshold moved down by 20.5 points gives diversify
    assert "thresholds.growth_pct -20.5 points -> diversify" not in c["sensitivity"]  # max 20


def test_sensitivity_summary_counts_units():
    f = pd.concat(
        [facts(), facts(change_pct=4.0, lower_pct=-5.0, upper_pct=15.0).rename(index={"T": "U"})]
    )
    s = sensitivity_summary(f, Policy(), LEVEL, points=5.0)
    row = s[(s["threshold"] == "thresholds.growth_pct") & (s["move"] == 5.0)].iloc[0]
    assert row["units_changing"] == 1  # the +4% town falls below a +5% growth threshold


def test_hysteresis_keeps_category_within_margin():
    previous = pd.DataFrame({"unit_id": ["T"], "category": ["stabilize"]})
    # upper -11: resettle now, but a 1-point move of the decline threshold gives stabilize back
    c = cat(upper_pct=-11.0, previous=previous)
    assert c["category"] == "stabilize" and c["held_by_hysteresis"]
    # far beyond the 2-point margin: the change goes through
    c = cat(upper_pct=-16.0, change_pct=-30.0, lower_pct=-40.0, previous=previous)
    assert c["category"] == "resettle" and not c["held_by_hysteresis"]


def test_no_hysteresis_without_previous_run():
    assert not cat(upper_pct=-11.0)["held_by_hysteresis"]


def test_transitions_between_runs():
    from forecast.facts import moves_since_previous as transitions

    cats = pd.DataFrame(
        {
            "unit_id": ["A", "B", "C"],
            "category": ["resettle", "stabilize", "diversify"],
            "previous_category": ["stabilize", "stabilize", None],
        }
    )
    moved = transitions(cats)
    assert moved.to_dict() == {("stabilize", "resettle"): 1}
    assert transitions(cats.assign(previous_category=None)) is None
