"""`forecast run` against a real `mlflow server` on 127.0.0.1 (a free port), as a remote
tracking URI: the run, its artifacts and the registered champion end up on the server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from forecast.cli import app

from .conftest import ROOT

pytestmark = [  # full runs: `pytest -m "not slow"` leaves them out while iterating
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning"),
]
STARTUP_S = 90  # a cold server start (database migrations) takes ~20 s on a busy 2-core box


def _mlflow_exe() -> str | None:
    beside = Path(sys.executable).parent / "mlflow"
    return str(beside) if beside.exists() else shutil.which("mlflow")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    exe = _mlflow_exe()
    if exe is None:
        pytest.skip("the `mlflow` executable is not installed")
    port = _free_port()
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            exe, "server",
            "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
            "--default-artifact-root", (tmp_path / "server-artifacts").as_uri(),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as one below
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (tmp_path / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"mlflow server did not start on {url}:\n{tail}")
            time.sleep(0.5)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def test_forecast_run_against_a_real_mlflow_server(
    server, tmp_path, synthetic_dataset, monkeypatch
):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    config = tmp_path / "engine.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "horizons": [1, 5, 10],
                "calibration_offsets": [3, 8],
                "backtest_offsets": [5],
                "max_pairs": 20_000,
                "min_cell": 10,
                "lightgbm": {"n_estimators": 60, "num_leaves": 15, "min_child_samples": 10},
            }
        )
    )
    out = CliRunner().invoke(
        app,
        [
            "run", "--data", str(synthetic_dataset), "--config", str(config),
            "--policy", str(ROOT / "experiments" / "policy_us_counties.yaml"),
            "--runs", str(tmp_path / "runs"),
        ],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    client = mlflow.MlflowClient(tracking_uri=server)
    exp = client.get_experiment_by_name("synthetic")
    runs = client.search_runs([exp.experiment_id], filter_string="tags.role = 'vintage'")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.run_id in out.output
    assert run.data.tags["as_of"] == "2010"
    assert "population_h5_mape" in run.data.metrics
    assert any(a.path == "outputs" for a in client.list_artifacts(run.info.run_id))
    mv = client.get_model_version_by_alias("town-prospects-synthetic", "champion")
    assert mv.run_id == run.info.run_id
