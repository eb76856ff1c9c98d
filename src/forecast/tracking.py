"""The only module that imports mlflow.

Default store: a SQLite database under `experiments/` (works offline, no server). Set
`MLFLOW_TRACKING_URI` to use any other store or server.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import mlflow

from . import __version__, io
from .config import flatten


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    db = io.project_root() / "experiments" / "mlflow.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{db}"


def _artifact_root() -> str | None:
    """Artifacts of a local SQLite store live next to its database file; a server decides
    for itself (MLflow's own default would be ./mlruns in whatever folder the user is in)."""
    uri = tracking_uri()
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()


def experiment(name: str) -> str:
    mlflow.set_tracking_uri(tracking_uri())
    exp = mlflow.get_experiment_by_name(name)
    if exp is None:
        return mlflow.create_experiment(name, artifact_location=_artifact_root())
    return exp.experiment_id


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=io.project_root(),
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def log_run(result) -> str:
    exp_id = experiment(result.data.name)
    as_of = result.forecaster.origin_
    with mlflow.start_run(experiment_id=exp_id, run_name=f"{result.data.name}-asof{as_of}") as run:
        params = {f"engine.{k}": v for k, v in flatten(result.config).items()}
        params.update({f"policy.{k}": v for k, v in flatten(result.policy).items()})
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.set_tags(
            {
                "package_version": __version__,
                "git_commit": git_commit(),
                "as_of": str(as_of),
                "dataset": result.data.name,
                "dataset_digest": result.data.digest(),
            }
        )
        metrics = {f"time_{k}_s": v for k, v in result.timings.items()}
        for target, tf in result.forecaster.targets_.items():
            metrics[f"{target}_training_pairs"] = tf.n_pairs_
        counts = result.categories["category"].value_counts()
        metrics.update({f"n_{k}": int(v) for k, v in counts.items()})
        mlflow.log_metrics(metrics)
        mlflow.log_artifacts(str(result.out_dir), artifact_path="outputs")
        return run.info.run_id


def artifact_dir(run_id: str) -> Path:
    return Path(mlflow.get_run(run_id).info.artifact_uri)
