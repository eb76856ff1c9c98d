"""Yearly retraining: the promotion rule by hand, category transitions, and `forecast run` x2 ->
`forecast retrain` against a throwaway MLflow store (champion and challenger aliases, the
decision logged), then a promotion that moves the champion alias and serves the new model."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from forecast.cli import app
from forecast.config import PromotionRule
from forecast.retrain import Scores, decide, transitions

from .conftest import ROOT, synthetic_panel, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")
POLICY = str(ROOT / "experiments" / "policy_us_counties.yaml")
NAME = "town-prospects-synthetic"
FAST = {
    "horizons": [1, 5, 10],
    "calibration_offsets": [3, 8],
    "backtest_offsets": [5, 10],
    "max_pairs": 20_000,
    "min_cell": 10,
    "lightgbm": {"n_estimators": 60, "num_leaves": 15, "min_child_samples": 10},
}


def scores(metric: float, coverage: float = 0.8, n: int = 100) -> Scores:
    return Scores(metric, metric, metric, 0.0, coverage, 10.0, n, [2000])


# -- the rule ------------------------------------------------------------------------------
def test_no_champion_promotes_the_first_challenger():
    promoted, reason, _ = decide(PromotionRule(), scores(9.0), None, has_champion=False)
    assert promoted and reason == "no champion yet: the first challenger becomes champion"


def test_better_by_the_margin_and_covered_promotes():
    promoted, reason, improvement = decide(
        PromotionRule(), scores(9.0, 0.82), scores(10.0), has_champion=True
    )
    assert promoted
    assert improvement == pytest.approx(10.0)
    assert reason == (
        "MAPE 9.00% vs champion 10.00% (+10.0% relative, rule >= +2%); "
        "coverage 82.0% within [70%, 90%]"
    )


def test_better_by_less_than_the_margin_keeps_the_champion():
    promoted, reason, improvement = decide(
        PromotionRule(), scores(9.9), scores(10.0), has_champion=True
    )
    assert not promoted and improvement == pytest.approx(1.0)
    assert reason.startswith("not better by the margin: MAPE 9.90% vs champion 10.00%")


def test_coverage_outside_the_band_and_worse_than_the_champion_keeps_it():
    promoted, reason, _ = decide(
        PromotionRule(), scores(5.0, coverage=0.95), scores(10.0, 0.8), has_champion=True
    )
    assert not promoted
    assert reason.startswith("coverage fails the rule:")
    assert reason.endswith(
        "coverage 95.0% outside [70%, 90%] and further from the nominal 80% than the "
        "champion's 80.0% (tolerance 5 points)"
    )


def test_coverage_outside_the_band_but_better_than_the_champion_promotes():
    # keeping the champion would not give better intervals: its own coverage is worse
    promoted, reason, _ = decide(
        PromotionRule(), scores(9.0, coverage=0.65), scores(10.0, 0.55), has_champion=True
    )
    assert promoted
    assert reason.endswith(
        "coverage 65.0% outside [70%, 90%] but no further from the nominal 80% than the "
        "champion's 55.0% (tolerance 5 points)"
    )
    strict = PromotionRule(coverage_fallback=False)
    promoted, reason, _ = decide(strict, scores(9.0, 0.65), scores(10.0, 0.55), True)
    assert not promoted and reason.endswith("coverage 65.0% outside [70%, 90%]")


def test_coverage_tolerance_absorbs_a_few_points_of_noise():
    # 92% vs the champion's 89%: 3 points further from 80%, within the 5-point tolerance
    assert decide(PromotionRule(), scores(5.0, 0.92), scores(8.0, 0.89), True)[0]
    exact = PromotionRule(coverage_tolerance=0)
    promoted, reason, _ = decide(exact, scores(5.0, 0.92), scores(8.0, 0.89), True)
    assert not promoted
    assert reason.endswith("and further from the nominal 80% than the champion's 89.0%")
    # a challenger that covers far worse than a well-calibrated champion is still refused
    assert not decide(PromotionRule(), scores(5.0, 0.62), scores(8.0, 0.75), True)[0]


def test_nothing_to_compare_keeps_the_champion():
    promoted, reason, _ = decide(PromotionRule(), scores(5.0, n=0), scores(10.0), True)
    assert not promoted and "no backtest cell" in reason


def test_rule_with_a_tolerance_promotes_a_slightly_worse_challenger():
    rule = PromotionRule(min_improvement_pct=-5, coverage_band=(0.5, 1.0))
    assert decide(rule, scores(10.4), scores(10.0), True)[0]
    assert not decide(rule, scores(10.6), scores(10.0), True)[0]


def test_transitions_count_moves_between_categories():
    old = pd.DataFrame(
        {"unit_id": ["a", "b", "c", "d"], "category": ["stabilize", "resettle", "diversify", "x"]}
    )
    new = pd.DataFrame(
        {
            "unit_id": ["a", "b", "c", "e"],
            "name": ["A", "B", "C", "E"],
            "category": ["stabilize", "stabilize", "diversify", "diversify"],
        }
    )
    table, changes = transitions(old, new)
    counts = table.set_index("from")
    assert counts.loc["resettle", "stabilize"] == 1
    assert counts.loc["stabilize", "stabilize"] == 1
    assert counts.loc["(not categorised)", "diversify"] == 1  # e is new
    assert counts.loc["x", "(not categorised)"] == 1  # d is gone
    assert list(changes["unit_id"]) == ["b", "d", "e"]
    assert list(changes.loc[changes["unit_id"] == "b", "to"]) == ["stabilize"]


# -- the commands against a throwaway store --------------------------------------------------
def _invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    return result


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    panel, units = synthetic_panel()
    folder = write_dataset(tmp_path / "synthetic", panel, units)
    config = tmp_path / "engine.yaml"
    config.write_text(yaml.safe_dump(FAST))
    client = mlflow.MlflowClient(tracking_uri=uri)
    common = ["--data", str(folder), "--config", str(config), "--policy", POLICY]
    return client, folder, common + ["--runs", str(tmp_path / "runs")], tmp_path


def _aliases(client) -> dict[str, str]:
    return {k: str(v) for k, v in client.get_registered_model(NAME).aliases.items()}


@pytest.mark.slow
def test_run_twice_then_retrain_shows_champion_and_challenger(store):
    client, _, args, _ = store
    for _ in range(2):
        out = _invoke("run", *args)
        assert out.exit_code == 0, out.output
    assert _aliases(client) == {"champion": "1"}  # the second run does not move it

    out = _invoke("retrain", *args)
    assert out.exit_code == 0, out.output
    # same data, config and vintage: the same recipe scores the same, no promotion
    assert "KEPT CHAMPION: not better by the margin" in out.output
    assert "(+0.0% relative, rule >= +2%)" in out.output
    assert "category transitions" in out.output
    assert _aliases(client) == {"champion": "1", "challenger": "3"}

    run = client.get_run(client.get_model_version(NAME, "3").run_id)
    tags, metrics = run.data.tags, run.data.metrics
    assert tags["role"] == "challenger" and tags["decision"] == "kept_champion"
    assert tags["champion_version"] == "1" and tags["challenger_version"] == "3"
    assert metrics["decision_promoted"] == 0
    # the decision scores the challenger on its run's own backtest cells at +10 years
    assert metrics["decision_challenger_mape"] == pytest.approx(metrics["population_h10_mape"])
    assert metrics["decision_champion_n"] == metrics["decision_challenger_n"] > 0
    assert metrics["decision_improvement_pct"] == 0
    files = {a.path for a in client.list_artifacts(run.info.run_id, "decision")}
    assert {"decision/decision.json", "decision/decision.md"} <= files
    assert "decision/category_transitions.csv" in files
    path = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="decision/decision.json"
    )
    with open(path) as f:
        decision = json.load(f)
    assert decision["promoted"] is False and decision["horizon"] == 10
    assert decision["per_origin"][0]["origin"] == 2000  # 2010 - 10: outcomes at +10 years
    evaluated = client.search_runs(
        [run.info.experiment_id], filter_string="tags.role = 'champion_evaluation'"
    )
    assert len(evaluated) == 1
    assert evaluated[0].data.tags["mlflow.parentRunId"] == run.info.run_id


@pytest.mark.slow
def test_first_retrain_becomes_champion_then_a_better_vintage_is_promoted(store):
    client, folder, args, tmp = store
    out = _invoke("retrain", *args, "--as-of", "2006")
    assert out.exit_code == 0, out.output
    assert "PROMOTED: no champion yet" in out.output
    assert _aliases(client) == {"champion": "1", "challenger": "1"}

    out = _invoke("retrain", *args, "--as-of", "2003")
    assert out.exit_code == 1
    assert "--as-of 2003 is before the champion's as-of year 2006" in out.output

    # a permissive rule, so that the promotion path runs whatever the synthetic numbers
    permissive = {**FAST, "promotion": {"min_improvement_pct": -50, "coverage_band": [0, 1]}}
    (tmp / "engine.yaml").write_text(yaml.safe_dump(permissive))
    out = _invoke("retrain", *args, "--as-of", "2010")
    assert out.exit_code == 0, out.output
    assert "PROMOTED: MAPE" in out.output
    assert "the champion is 4 year(s) older" in out.output
    assert _aliases(client) == {"champion": "2", "challenger": "2", "previous_champion": "1"}
    run = client.get_run(client.get_model_version(NAME, "2").run_id)
    assert run.data.metrics["decision_champion_age"] == 4
    assert run.data.metrics["decision_champion_n"] == run.data.metrics["decision_challenger_n"] > 0

    out = _invoke(
        "predict", "--model", f"models:/{NAME}@champion", "--data", str(folder),
        "--out", str(tmp / "served"),
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    served = pd.read_csv(tmp / "served" / "forecasts.csv")
    assert (served["origin_year"] == 2010).all()
    assert sorted(served["horizon"].unique()) == [1, 5, 10]
