"""Runs that survive each other: unique run folders, stale partial folders of dead runs removed
at the next start (never a living run's), and a runs location from --runs-dir, the environment
or the working directory. The concurrent and killed runs are real processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from forecast import runs

from .conftest import ROOT, fast_engine_config, synthetic_panel, write_dataset

POLICY = ROOT / "experiments" / "policy_us_counties.yaml"  # no focus subset: every unit
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

# Runs the real CLI with the run-folder clock frozen, so that two processes take their folder
# "in the same second" deterministically (on a busy machine they might not otherwise).
FROZEN_CLI = """
import sys
from datetime import UTC, datetime

import forecast.runs


class Frozen(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


forecast.runs.datetime = Frozen
from forecast.cli import main

sys.argv = ["forecast", *sys.argv[1:]]
main()
"""

# Claims a run folder through the real API, says so, then waits to be killed.
CLAIM_AND_WAIT = """
import sys, time
from pathlib import Path
from forecast import runs

folder = runs.claim(Path(sys.argv[1]), "synthetic", 2010)
print(folder.partial, flush=True)
time.sleep(600)
"""


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # reaped: no process has this id now (reuse within the test is negligible)


def _fake_partial(parent: Path, name: str, pid: int | None, host: str | None = None) -> Path:
    partial = parent / f".{name}.partial"
    partial.mkdir(parents=True)
    (partial / "forecasts.csv").write_text("half a file", encoding="utf-8")
    if pid is not None:
        owner = {"pid": pid, "host": host or socket.gethostname(), "started": "2030-01-01"}
        (partial / runs.OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
    return partial


# --- the runs location ---


def test_root_explicit_then_environment_then_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(runs.ENV_VAR, raising=False)
    assert runs.root() == tmp_path / "runs"
    monkeypatch.setenv(runs.ENV_VAR, str(tmp_path / "from_env"))
    assert runs.root() == tmp_path / "from_env"
    assert runs.root(tmp_path / "explicit") == tmp_path / "explicit"


# --- unique folders ---


def test_claims_in_the_same_second_get_distinct_folders(tmp_path):
    first = runs.claim(tmp_path, "ds", 2010, now=NOW)
    second = runs.claim(tmp_path, "ds", 2010, now=NOW)
    assert first.final.name == "20300102T030405_asof2010"
    assert second.final.name == "20300102T030405_asof2010-2"
    assert first.partial.is_dir() and second.partial.is_dir()
    first.commit()
    third = runs.claim(tmp_path, "ds", 2010, now=NOW)  # the committed name stays taken
    assert third.final.name == "20300102T030405_asof2010-3"
    second.commit()
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == [
        ".20300102T030405_asof2010-3.partial",
        "20300102T030405_asof2010",
        "20300102T030405_asof2010-2",
    ]
    assert not (first.final / runs.OWNER_FILE).exists()  # the owner record is not an output


def test_claim_records_its_owner(tmp_path):
    folder = runs.claim(tmp_path, "ds", 2010)
    owner = json.loads((folder.partial / runs.OWNER_FILE).read_text(encoding="utf-8"))
    assert owner["pid"] == os.getpid()
    assert owner["host"] == socket.gethostname()


# --- stale partial folders ---


def test_stale_partials_removed_living_ones_kept(tmp_path):
    parent = tmp_path / "ds"
    dead = _fake_partial(parent, "20300101T000000_asof2010", _dead_pid())
    alive = _fake_partial(parent, "20300101T000001_asof2010", os.getpid())
    elsewhere = _fake_partial(parent, "20300101T000002_asof2010", 1, host="another-host")
    ownerless_new = _fake_partial(parent, "20300101T000003_asof2010", None)
    ownerless_old = _fake_partial(parent, "20300101T000004_asof2010", None)
    old_alive = _fake_partial(parent, "20300101T000005_asof2010", os.getpid())
    two_days_ago = time.time() - 2 * 24 * 3600
    for p in (ownerless_old, old_alive):
        os.utime(p, (two_days_ago, two_days_ago))

    removed = runs.remove_stale(tmp_path)

    assert sorted(removed) == sorted([dead, ownerless_old, old_alive])
    for kept in (alive, elsewhere, ownerless_new):
        assert (kept / "forecasts.csv").exists()
    assert not dead.exists() and not ownerless_old.exists() and not old_alive.exists()


def test_killed_process_partial_is_removed(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_WAIT, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        partial = Path(proc.stdout.readline().strip())
        assert partial.is_dir()
        assert runs.remove_stale(tmp_path) == []  # its owner is running: untouched
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert partial.is_dir()  # kill -9: nothing cleaned up after itself
    assert runs.remove_stale(tmp_path) == [partial]
    assert not partial.exists()


# --- real `forecast run` processes ---


@pytest.fixture
def small_job(tmp_path) -> list[str]:
    """A synthetic dataset (unit tests only) and the fast test engine config, as CLI args."""
    panel, units = synthetic_panel(n_units=40, years=range(1990, 2011))
    data = write_dataset(tmp_path / "synthetic", panel, units)
    config = tmp_path / "engine.yaml"
    config.write_text(yaml.safe_dump(fast_engine_config().model_dump(mode="json")), "utf-8")
    return ["--data", str(data), "--config", str(config), "--policy", str(POLICY), "--no-track"]


def _frozen_run(tmp_path: Path, args: list[str], env: dict | None = None) -> subprocess.Popen:
    script = tmp_path / "frozen_cli.py"
    script.write_text(FROZEN_CLI, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), "run", *args],
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_two_concurrent_runs_in_the_same_second_both_succeed(tmp_path, small_job):
    out = tmp_path / "runs_out"
    procs = [_frozen_run(tmp_path, [*small_job, "--runs-dir", str(out)]) for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for proc, text in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, text
    folders = sorted(p.name for p in (out / "synthetic").iterdir())
    assert folders == ["20300102T030405_asof2010", "20300102T030405_asof2010-2"]
    for name in folders:
        assert (out / "synthetic" / name / "forecasts.csv").exists()
        assert (out / "synthetic" / name / "categories.csv").exists()
    assert not list(out.glob("*/.*.partial"))


@pytest.mark.slow
def test_next_run_removes_a_dead_runs_partial_and_follows_the_environment(tmp_path, small_job):
    out = tmp_path / "from_env"
    stale = _fake_partial(out / "synthetic", "20300101T000000_asof2010", _dead_pid())
    proc = _frozen_run(tmp_path, small_job, env={runs.ENV_VAR: str(out)})
    text = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, text
    assert not stale.exists()
    assert [p.name for p in (out / "synthetic").iterdir()] == ["20300102T030405_asof2010"]
    assert not (tmp_path / "runs").exists()  # the environment setting beat the working dir


@pytest.mark.slow
def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    """MLflow creates a SQLite store's tables on first use; without the lock two runs doing it
    at once fail with "table ... already exists" (9 of 12 processes in 4 trials of 3)."""
    code = "from forecast import tracking; print(tracking.experiment('kz_towns'))"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.communicate(timeout=300), p.returncode) for p in procs]
    for (_, err), code in results:
        assert code == 0, err[-2000:]
    ids = {out.strip().splitlines()[-1] for (out, _), _ in results}
    assert len(ids) == 1  # one experiment, whoever created it
