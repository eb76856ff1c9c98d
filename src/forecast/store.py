"""The MLflow store: where runs, artifacts and registered models live (imports mlflow).

The one place that decides the tracking URI: `MLFLOW_TRACKING_URI` when set (any store or a
server), else a SQLite database under `experiments/` (works offline, no server) with artifacts
next to it in `experiments/mlartifacts/`. :mod:`forecast.tracking` and
:mod:`forecast.registry` get their client here.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow

from . import io


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    db = io.project_root() / "experiments" / "mlflow.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{db}"


def artifact_root() -> str | None:
    """Artifacts of a local SQLite store live next to its database file; a server decides
    for itself (MLflow's own default would be ./mlruns in whatever folder the user is in)."""
    uri = tracking_uri()
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()


def client() -> mlflow.MlflowClient:
    """A client of the store (and mlflow's module-level functions pointed at it)."""
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    return mlflow.MlflowClient(tracking_uri=uri)


def experiment(name: str) -> str:
    """The id of the experiment `name`, created (with the store's artifact root) if new."""
    client()
    exp = mlflow.get_experiment_by_name(name)
    if exp is None:
        return mlflow.create_experiment(name, artifact_location=artifact_root())
    return exp.experiment_id
