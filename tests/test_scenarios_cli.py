"""`forecast scenario` end to end on the bundled Kazakh data (fast engine settings)."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from forecast.cli import app

from .conftest import ROOT, fast_engine_config

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")

SCENARIOS = {
    "version": 1,
    "scenarios": [
        {
            "name": "nothing",
            "events": [{"type": "jobs", "unit": "Temirtau", "year": 2027, "percent": 0}],
        },
        {
            "name": "temirtau_cut",
            "events": [{"type": "jobs", "unit": "Temirtau", "year": 2027, "percent": -40}],
        },
        {
            "name": "arkalyk_moves",
            "events": [
                {
                    "type": "resettlement",
                    "unit": "Arkalyk",
                    "to": "Kostanay",
                    "year": 2027,
                    "persons_per_year": 800,
                }
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def scenario_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scen")
    cfg = tmp / "engine.yaml"
    cfg.write_text(yaml.safe_dump(fast_engine_config().model_dump()), encoding="utf-8")
    spec = tmp / "scenarios.yaml"
    spec.write_text(yaml.safe_dump(SCENARIOS), encoding="utf-8")
    mp = pytest.MonkeyPatch()
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    mp.setenv("MLFLOW_TRACKING_URI", uri)
    result = CliRunner().invoke(
        app,
        ["scenario", "--data", "kz_towns", "--scenarios", str(spec), "--config", str(cfg)]
        + ["--runs", str(tmp / "runs")],
    )
    mp.undo()
    assert result.exit_code == 0, result.output
    (folder,) = list((tmp / "runs" / "kz_towns").iterdir())
    return result, folder, uri


def test_outputs(scenario_run):
    _, folder, _ = scenario_run
    for name in ("scenarios.csv", "scenario_categories.csv", "scenarios.yaml", "forecasts.csv"):
        assert (folder / name).exists(), name
    traj = pd.read_csv(folder / "scenarios.csv")
    assert set(traj["scenario"]) == {"nothing", "temirtau_cut", "arkalyk_moves"}
    assert (traj["lower"] <= traj["forecast"]).all() and (traj["forecast"] <= traj["upper"]).all()
    # every forecast year from the first to the last horizon: events fall in any year
    assert sorted(traj["horizon"].unique()) == list(range(1, 11))


def test_the_job_changes_effect_is_said_with_its_uncertainty(scenario_run):
    result, folder, _ = scenario_run
    eff = pd.read_csv(folder / "scenario_effects.csv")
    # the zero-size event and the resettlement change no jobs: only the 40% cut has a row
    assert eff["scenario"].tolist() == ["temirtau_cut"]
    r = eff.iloc[0]
    assert r["employment_change_pct"] == pytest.approx(-40.0)
    assert r["response_low_pct"] <= r["population_response_pct"] <= r["response_high_pct"]
    assert "give or take" in r["note"] and "(one standard error)" in r["note"]
    assert "population response to each job change" in result.output
    assert "Temirtau: jobs -40.0% against the baseline" in " ".join(result.output.split())


def test_zero_event_reproduces_the_baseline(scenario_run):
    _, folder, _ = scenario_run
    traj = pd.read_csv(folder / "scenarios.csv")
    zero = traj[traj["scenario"] == "nothing"]
    assert len(zero) == 10
    for a, b in (
        ("forecast", "baseline"),
        ("lower", "baseline_lower"),
        ("upper", "baseline_upper"),
    ):
        assert (zero[a] == zero[b]).all()
    base = pd.read_csv(folder / "forecasts.csv")
    base = base[(base["unit_id"] == "Temirtau") & (base["target"] == "population")]
    assert base["forecast"].tolist() == zero.sort_values("year")["baseline"].tolist()


def test_cut_lowers_and_moves_conserve(scenario_run):
    _, folder, _ = scenario_run
    traj = pd.read_csv(folder / "scenarios.csv")
    cut = traj[traj["scenario"] == "temirtau_cut"].set_index("year")
    assert (cut.loc[2027:, "forecast"] < cut.loc[2027:, "baseline"]).all()
    assert (cut.loc[:2026, "forecast"] == cut.loc[:2026, "baseline"]).all()
    mv = traj[traj["scenario"] == "arkalyk_moves"]
    out = mv[mv["unit_id"] == "Arkalyk"].set_index("year")["moved"]
    into = mv[mv["unit_id"] == "Kostanay"].set_index("year")["moved"]
    assert (out + into).abs().max() == 0
    assert into.loc[2027] == 800 and into.loc[2035] == 800 * 9


def test_categories_per_scenario(scenario_run):
    result, folder, _ = scenario_run
    cats = pd.read_csv(folder / "scenario_categories.csv")
    assert set(cats["scenario"]) == {"baseline", "nothing", "temirtau_cut", "arkalyk_moves"}
    assert cats.groupby("scenario").size().eq(27).all()  # the 27 monotowns of the policy
    assert cats["confidence"].between(0, 1).all()
    # the outcome probabilities under each scenario: they add up to one, and the category's
    # confidence is one of them (the policy's definition)
    probs = cats[["p_decline", "p_stabilize", "p_growth"]]
    assert (probs.sum(axis=1) - 1).abs().max() < 1e-5  # written with 6 significant digits
    band = {"resettle": "p_decline", "stabilize": "p_stabilize", "diversify": "p_growth"}
    for r in cats[cats["category"].isin(band)].itertuples():
        assert r.confidence == getattr(r, band[r.category])
    nothing = cats[cats["scenario"] == "nothing"]
    assert not nothing["changed"].any()
    changed = cats[cats["changed"]]
    assert (changed["category"] != changed["baseline_category"]).all()
    arkalyk = cats[(cats["unit_id"] == "Arkalyk") & (cats["scenario"] == "arkalyk_moves")]
    assert (arkalyk["change_pct"] < arkalyk["baseline_change_pct"]).all()
    assert "keep their category under all 3 scenarios" in result.output


def test_logged_to_mlflow_with_the_scenario_file(scenario_run):
    _, _, uri = scenario_run
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("kz_towns")
    (run,) = client.search_runs([exp.experiment_id], "tags.role = 'scenarios'")
    assert run.data.params["response_group"] == "us_nonmetro_small"
    assert run.data.metrics["n_scenarios"] == 3
    files = {f.path for f in client.list_artifacts(run.info.run_id, "scenario_file")}
    assert files == {"scenario_file/scenarios.yaml"}
    outputs = {f.path for f in client.list_artifacts(run.info.run_id, "outputs")}
    assert {"outputs/scenarios.csv", "outputs/scenario_categories.csv"} <= outputs


def test_persons_without_employment_fail_clearly(tmp_path):
    spec = tmp_path / "bad.yaml"
    bad = {
        "scenarios": [
            {
                "name": "cut",
                "events": [{"type": "jobs", "unit": "Temirtau", "year": 2027, "persons": -10}],
            }
        ]
    }
    spec.write_text(yaml.safe_dump(bad), encoding="utf-8")
    cfg = tmp_path / "engine.yaml"
    cfg.write_text(yaml.safe_dump(fast_engine_config().model_dump()), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "scenario",
            "--data",
            "kz_towns",
            "--scenarios",
            str(spec),
            "--config",
            str(cfg),
            "--no-track",
        ]
        + ["--runs", str(tmp_path / "runs")],
    )
    assert result.exit_code == 1
    assert "the dataset has no employment for 'Temirtau'" in " ".join(result.output.split())


def test_the_example_file_is_valid():
    from forecast.scenarios import load_scenarios

    spec = load_scenarios(ROOT / "experiments" / "scenarios.yaml")
    types = {e.type for s in spec.scenarios for e in s.events}
    assert types == {"jobs", "closure", "new_jobs", "resettlement"}
    assert len(spec.scenarios) == 10


def test_a_file_for_another_dataset_is_refused(tmp_path):
    spec = tmp_path / "us.yaml"
    spec.write_text(yaml.safe_dump({**SCENARIOS, "datasets": ["us_counties"]}), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["scenario", "--data", "kz_towns", "--scenarios", str(spec), "--no-track"]
        + ["--runs", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "the scenarios are written for us_counties, not 'kz_towns'" in " ".join(
        result.output.split()
    )
