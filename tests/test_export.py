"""`forecast export`: the champion written to models/<name>/ in MLflow's model format, loaded
in a fresh process whose tracking store is an empty folder, forecasts exactly the run's
forecasts.csv."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast import pipeline, registry
from forecast.cli import app
from forecast.errors import DataValidationError
from forecast.export import export_model

from .conftest import ROOT, fast_engine_config, synthetic_panel, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")
POLICY = ROOT / "experiments" / "policy_us_counties.yaml"  # no focus subset: every unit

# Loads the exported folder with nothing but mlflow and forecasts the panel, as a user would.
LOAD_AND_PREDICT = """
import sys

import mlflow
import pandas as pd

model_dir, panel_csv, out_csv = sys.argv[1:]
model = mlflow.pyfunc.load_model(model_dir)
panel = pd.read_csv(panel_csv, dtype={"unit_id": str})
panel = panel.astype({c: "float64" for c in panel.columns if c not in ("unit_id", "year")})
panel["year"] = panel["year"].astype("int64")
table = model.predict(panel, params={"output": "forecasts"})
table.to_csv(out_csv, index=False, float_format="%.6g")
print(mlflow.get_tracking_uri())
"""


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    panel, units = synthetic_panel(n_units=40, years=range(1990, 2011))
    folder = write_dataset(tmp / "synthetic", panel, units)
    result = pipeline.run(
        folder, config=fast_engine_config(), policy_path=POLICY, runs_root=tmp / "runs"
    )
    yield result, folder, tmp
    mp.undo()


def test_export_loads_without_a_tracking_store(champion, tmp_path, monkeypatch):
    result, folder, tmp = champion
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    cli = CliRunner().invoke(app, ["export", "--data", str(folder)])
    assert cli.exit_code == 0, cli.output
    exported = tmp_path / "models" / "town-prospects-synthetic"  # ./models by default
    assert "town-prospects-synthetic version 1" in cli.output
    assert (exported / "MLmodel").exists()
    provenance = json.loads((exported / "export.json").read_text(encoding="utf-8"))
    assert provenance["source_uri"] == "models:/town-prospects-synthetic@champion"
    assert provenance["run_id"] == result.run_id

    empty = tmp_path / "no_store"
    empty.mkdir()
    out = tmp_path / "served.csv"
    env = {**os.environ, "MLFLOW_TRACKING_URI": empty.as_uri()}
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PREDICT, "models/town-prospects-synthetic"]
        + [str(folder / "panel.csv"), str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("no_store")  # the store it saw was the empty folder
    assert list(empty.iterdir()) == []  # and it left it empty
    served = out.read_text(encoding="utf-8")
    assert served == (result.out_dir / "forecasts.csv").read_text(encoding="utf-8")


def test_exported_model_refuses_an_infinite_population(champion, tmp_path, monkeypatch):
    _, folder, tmp = champion
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    done = export_model("models:/town-prospects-synthetic@champion", tmp_path / "models")
    model = mlflow.pyfunc.load_model(str(done.path))
    panel = pd.read_csv(folder / "panel.csv", dtype={"unit_id": str})
    panel = panel.astype({"population": "float64"})
    panel.loc[3, "population"] = float("inf")
    with pytest.raises(DataValidationError) as info:
        model.predict(panel)
    assert "model input: non-finite value: line 3: column 'population' holds inf" in str(info.value)


def test_export_replaces_an_earlier_export_and_honours_out(champion, tmp_path, monkeypatch):
    _, folder, tmp = champion
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    target = tmp_path / "shelf" / "town-prospects-synthetic"
    target.mkdir(parents=True)
    (target / "stale.txt").write_text("an older export", encoding="utf-8")
    cli = CliRunner().invoke(
        app,
        [
            "export",
            "--model",
            "models:/town-prospects-synthetic/1",
            "--out",
            str(tmp_path / "shelf"),
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert (target / "MLmodel").exists()
    assert not (target / "stale.txt").exists()
    assert [p.name for p in (tmp_path / "shelf").iterdir()] == ["town-prospects-synthetic"]


def test_export_without_a_registered_model_says_so(champion, tmp_path, monkeypatch):
    _, _, tmp = champion
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    cli = CliRunner().invoke(app, ["export", "--data", "nowhere"])
    assert cli.exit_code == 1
    assert "no registered model 'town-prospects-nowhere': run `forecast run` first" in cli.output
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_export_refuses_a_non_registry_uri(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    cli = CliRunner().invoke(app, ["export", "--model", "runs:/abc/model"])
    assert cli.exit_code == 1
    assert (
        "export takes a registered model (models:/NAME@alias or models:/NAME/VERSION), "
        "got 'runs:/abc/model'" in " ".join(cli.output.split())
    )


def test_predict_from_the_champion_prints_no_mlflow_advice(champion, tmp_path):
    """MLflow's "Add type hints to the `predict` method" (in colour, on every `predict
    --model`) is advice to the model's author, not to the analyst: it is not shown. A fresh
    process, as the analyst runs it (the model's code is loaded there for the first time)."""
    result, folder, tmp = champion
    uri = f"models:/{registry.model_name(result.data.name)}@champion"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "forecast.cli", "predict", "--model", uri]
        + ["--data", str(folder), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "forecasts.csv").exists()
    assert "type hints" not in done.stderr + done.stdout
