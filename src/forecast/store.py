"""The MLflow store: where runs, artifacts and registered models live (imports mlflow).

The one place that decides the tracking URI: `MLFLOW_TRACKING_URI` when set (any store or a
server), else a SQLite database under `experiments/` of the working directory (works offline,
no server; created under a lock file) with artifacts next to it in `experiments/mlartifacts/`. :mod:`forecast.tracking` and
:mod:`forecast.registry` get their client here.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

try:
    import fcntl
except ImportError:  # not on Windows: the store is then prepared without the lock
    fcntl = None

_PREPARED: set[str] = set()


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        db = Path.cwd() / "experiments" / "mlflow.db"  # with runs/: both follow the working dir
        db.parent.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{db}"
    if uri.startswith("sqlite:///") and uri not in _PREPARED:
        _prepare_sqlite(uri)
    return uri


def _prepare_sqlite(uri: str) -> None:
    """Create (or upgrade) a SQLite store's tables once per process, holding a lock file next to
    the database: MLflow creates them on first use, and two runs doing that at once on a new
    store fail ("table ... already exists")."""
    db = Path(uri.removeprefix("sqlite:///"))
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a", encoding="utf-8") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.search_experiments(max_results=1)
        client.search_registered_models(max_results=1)
    _PREPARED.add(uri)


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
        try:
            return mlflow.create_experiment(name, artifact_location=artifact_root())
        except MlflowException:
            exp = mlflow.get_experiment_by_name(name)  # a concurrent run created it first
            if exp is None:
                raise
    return exp.experiment_id
