"""End to end: `forecast run` on the bundled data, `forecast predict` on real US counties."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli import app

from .conftest import KZ

pytestmark = [  # full runs: `pytest -m "not slow"` leaves them out while iterating
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning"),
]

OUTPUTS = (
    "forecasts.csv",
    "explanations.csv",
    "drivers.csv",
    "categories.csv",
    "summary.html",
    "run.json",
    "policy.json",
    "config.json",
    "history.csv",
    "accuracy.csv",
    "backtest.csv",
    "coverage_by_origin.csv",
)


@pytest.fixture(scope="module")
def kz_run(kz_towns_run):
    result, _, tmp = kz_towns_run  # the shared tracked run (conftest), made once per session
    folders = list((tmp / "runs" / "kz_towns").iterdir())
    return result, folders, tmp


def test_run_writes_every_output(kz_run):
    _, folders, _ = kz_run
    assert len(folders) == 1 and not folders[0].name.startswith(".")
    for name in OUTPUTS:
        assert (folders[0] / name).exists(), name


def test_run_categorises_all_27_monotowns(kz_run):
    result, folders, _ = kz_run
    cats = pd.read_csv(folders[0] / "categories.csv")
    units = pd.read_csv(KZ / "units.csv")
    monotowns = set(units.loc[units["monotown"] == 1, "unit_id"])
    assert len(monotowns) == 27
    assert set(cats["unit_id"]) == monotowns
    assert cats["category"].isin(["diversify", "agglomerate", "stabilize", "resettle"]).all()
    assert cats["confidence"].between(0, 1).all()
    assert cats["reasons"].str.len().gt(0).all()
    for name in ("Temirtau", "Ekibastuz", "Arkalyk"):
        assert name in result.output  # the printed table


def test_run_forecasts_every_town_and_horizon(kz_run):
    _, folders, _ = kz_run
    fc = pd.read_csv(folders[0] / "forecasts.csv")
    assert fc["unit_id"].nunique() == 89
    assert sorted(fc["horizon"].unique()) == list(range(1, 11))
    assert (fc["origin_year"] == 2025).all()
    assert (fc["lower"] < fc["upper"]).all()


def test_run_is_logged_to_mlflow(kz_run):
    import mlflow

    _, _, tmp = kz_run
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}")
    exp = client.get_experiment_by_name("kz_towns")
    runs = client.search_runs([exp.experiment_id])
    runs = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]  # not the nested ones
    assert len(runs) == 1
    run = runs[0]
    assert run.data.tags["as_of"] == "2025"
    assert run.data.params["policy.thresholds.decline_pct"] == "-10.0"
    assert any(a.path == "outputs" for a in client.list_artifacts(run.info.run_id))


def test_predict_on_real_us_counties(tmp_path, us_slice):
    result = CliRunner().invoke(
        app,
        [
            "predict",
            "--data",
            str(us_slice),
            "--as-of",
            "1996",
            "--horizons",
            "5,10",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    fc = pd.read_csv(tmp_path / "out" / "forecasts.csv")
    units = pd.read_csv(us_slice / "units.csv")
    assert set(fc["target"]) == {"population", "employment"}
    assert fc.groupby("target")["unit_id"].nunique().eq(len(units)).all()
    actual = pd.read_csv(us_slice / "panel.csv")[["unit_id", "year", "population"]]
    m = fc[fc["target"] == "population"].merge(actual, on=["unit_id", "year"])
    mape = (abs(m["forecast"] / m["population"] - 1)).mean()
    assert mape < 0.15  # sanity: real counties, 5-10 years ahead
