"""MLflow tracking of a vintage run (throwaway SQLite store): params, tags, dataset digest,
metrics per target x horizon, nested backtest-origin runs, artifacts, and the registered pyfunc
model, which reproduces the run's forecasts, SHAP values and categories exactly when loaded by
its `champion` alias. Plus: same data, config and seed give identical outputs."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast import backtest, io, pipeline
from forecast.cli import app
from forecast.config import EngineConfig, flatten

from .conftest import ROOT, fast_engine_config, synthetic_panel, write_dataset

pytestmark = [  # full runs: `pytest -m "not slow"` leaves them out while iterating
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning"),
]
POLICY = ROOT / "experiments" / "policy_us_counties.yaml"  # no focus subset: every unit
NAME = "town-prospects-synthetic"


def fast() -> EngineConfig:
    return fast_engine_config()


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tracking")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    panel, units = synthetic_panel(employment=True)
    folder = write_dataset(tmp / "synthetic", panel, units)
    result = pipeline.run(folder, config=fast(), policy_path=POLICY, runs_root=tmp / "runs")
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}")
    yield result, client, folder
    mp.undo()


def test_run_has_config_policy_tags_and_dataset_digest(logged):
    result, client, _ = logged
    run = client.get_run(result.run_id)
    params = run.data.params
    for key in flatten(result.config):
        assert f"engine.{key}" in params
    for key in flatten(result.policy):
        assert f"policy.{key}" in params
    assert params["engine.seed"] == "7"
    assert params["engine.promotion.min_improvement_pct"] == "2.0"
    tags = run.data.tags
    assert tags["as_of"] == "2010"
    assert tags["package_version"] and tags["git_commit"]
    assert tags["role"] == "vintage"
    (inp,) = run.inputs.dataset_inputs
    assert inp.dataset.name == "synthetic@2010"
    assert inp.dataset.digest == result.data.up_to(2010).digest()


def test_metrics_per_target_and_horizon_match_the_backtest(logged):
    result, client, _ = logged
    m = client.get_run(result.run_id).data.metrics
    acc = backtest.metrics(result.backtest, ["target", "horizon"])
    comb = acc[acc["method"] == "combined"]
    assert set(comb["target"]) == {"population", "employment"}
    for r in comb.itertuples():
        key = f"{r.target}_h{r.horizon}"
        assert m[f"{key}_mape"] == pytest.approx(r.mape, rel=1e-12)
        assert m[f"{key}_mdape"] == pytest.approx(r.mdape, rel=1e-12)
        assert m[f"{key}_bias"] == pytest.approx(r.malpe, rel=1e-12)
        assert m[f"{key}_coverage"] == pytest.approx(r.coverage, rel=1e-12)
        assert m[f"{key}_width"] == pytest.approx(r.width_pct, rel=1e-12)
        assert f"{key}_mape_lin_exp" in m


def test_a_nested_run_per_backtest_origin(logged):
    result, client, _ = logged
    run = client.get_run(result.run_id)
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    origins = sorted(int(o) for o in result.backtest["origin"].unique())
    assert sorted(int(c.data.tags["origin"]) for c in children) == origins == [2005]
    assert "population_h5_mape" in children[0].data.metrics


def test_artifacts_outputs_and_plots(logged):
    result, client, _ = logged
    outputs = {a.path for a in client.list_artifacts(result.run_id, "outputs")}
    for name in ("forecasts.csv", "explanations.csv", "categories.csv", "backtest.csv"):
        assert f"outputs/{name}" in outputs
    assert "outputs/summary.html" in outputs
    plots = {a.path for a in client.list_artifacts(result.run_id, "plots")}
    assert {"plots/backtest_mape.png", "plots/categories.png", "plots/drivers.png"} <= plots


def test_first_run_registers_the_champion_with_signature_and_example(logged):
    result, client, _ = logged
    mv = client.get_model_version_by_alias(NAME, "champion")
    assert str(mv.version) == "1" and mv.run_id == result.run_id
    assert result.model_uri == f"models:/{NAME}/1"
    info = mlflow.models.get_model_info(f"models:/{NAME}@champion")
    inputs = {c.name: c.required for c in info.signature.inputs.inputs}
    assert inputs["unit_id"] and inputs["year"] and inputs["population"]
    assert inputs["employment"] is False  # optional: not every dataset observes jobs
    assert [c.name for c in info.signature.outputs.inputs] == list(result.forecasts.columns)
    assert info.saved_input_example_info is not None


def test_champion_alias_serves_the_run_forecasts_exactly(logged, tmp_path):
    result, _, folder = logged
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    panel = io.read_dataset(folder).panel
    served = model.predict(panel)
    pd.testing.assert_frame_equal(served, result.forecasts)
    # and as files: the served table written like the run's equals the run's forecasts.csv
    io.write_csv(served, tmp_path / "forecasts.csv", float_format="%.6g")
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "forecasts.csv"), pd.read_csv(result.out_dir / "forecasts.csv")
    )


def test_champion_alias_serves_shap_values_and_categories(logged):
    result, _, folder = logged
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    panel = io.read_dataset(folder).panel
    expl = model.predict(panel, params={"output": "explanations"})
    pd.testing.assert_frame_equal(expl, result.explanations)
    cats = model.predict(panel, params={"output": "categories"})
    pd.testing.assert_frame_equal(cats, result.categories)
    other = model.predict(panel, params={"horizons": [2, 3]})
    assert sorted(other["horizon"].unique()) == [2, 3]


def test_predict_cli_serves_the_champion(logged, tmp_path):
    result, _, folder = logged
    out = CliRunner().invoke(
        app,
        ["predict", "--model", f"models:/{NAME}@champion", "--data", str(folder), "--out",
         str(tmp_path)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert (tmp_path / "forecasts.csv").read_text() == (
        result.out_dir / "forecasts.csv"
    ).read_text()


def test_predict_cli_names_a_missing_model_without_traceback(logged, tmp_path):
    _, _, folder = logged
    out = CliRunner().invoke(
        app,
        ["predict", "--model", "models:/town-prospects-nowhere@champion", "--data",
         str(folder), "--out", str(tmp_path)],
    )  # fmt: skip
    assert out.exit_code == 1
    assert "no registered model 'town-prospects-nowhere': run `forecast run` first" in out.output
    out = CliRunner().invoke(
        app,
        ["predict", "--model", f"models:/{NAME}@nobody", "--data", str(folder), "--out",
         str(tmp_path)],
    )  # fmt: skip
    assert out.exit_code == 1
    assert f"registered model '{NAME}' has no alias 'nobody'" in out.output
    assert "Traceback" not in out.output


def test_same_data_config_and_seed_reproduce_forecasts_shap_and_categories(logged, tmp_path):
    result, _, folder = logged
    again = pipeline.run(
        folder, config=fast(), policy_path=POLICY, runs_root=tmp_path / "runs", track=False
    )
    pd.testing.assert_frame_equal(again.forecasts, result.forecasts)
    pd.testing.assert_frame_equal(again.explanations, result.explanations)
    pd.testing.assert_frame_equal(again.categories, result.categories)
    pd.testing.assert_frame_equal(again.backtest, result.backtest)
