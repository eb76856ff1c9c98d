"""Export a registered model to a plain folder (tracking layer: imports mlflow).

`forecast export` copies a registered version (by default the champion of a dataset,
``models:/town-prospects-<dataset>@champion``) out of the tracking store into
``models/<registered name>/`` in MLflow's model format: ``MLmodel``, the pipeline's pyfunc
wrapper, the fitted bundle and the package source (``code/``). The folder is self-contained:
``mlflow.pyfunc.load_model("models/town-prospects-kz_towns")`` loads it on a machine with no
tracking store and without town-prospects installed (the libraries of ``requirements.txt``
suffice). ``export.json`` next to ``MLmodel`` records where it came from.

The copy is written to a hidden temporary folder and swapped into place, so an interrupted
export never leaves a half-written model where a previous one was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from . import registry

DEFAULT_DIRNAME = "models"
PROVENANCE_FILE = "export.json"


@dataclass(frozen=True)
class Exported:
    path: Path
    source_uri: str
    name: str
    version: str | None
    run_id: str | None


def champion_uri(dataset: str) -> str:
    return f"models:/{registry.model_name(dataset)}@{registry.CHAMPION}"


def _resolve(uri: str) -> tuple[str, str | None, str | None]:
    """(registered name, version, run id) of a models:/NAME@alias or models:/NAME/VERSION."""
    if not uri.startswith("models:/"):
        raise registry.RegistryError(
            f"export takes a registered model (models:/NAME@alias or models:/NAME/VERSION), "
            f"got {uri!r}"
        )
    ref = uri.removeprefix("models:/")
    client = registry._client()
    try:
        if "@" in ref:
            name, which = ref.split("@", 1)
            mv = client.get_model_version_by_alias(name, which)
        else:
            name, version = ref.split("/", 1)
            mv = client.get_model_version(name, version)
    except (MlflowException, ValueError) as exc:
        if isinstance(exc, MlflowException):
            raise registry._explain_uri_error(uri, exc) from exc
        raise registry.RegistryError(f"cannot read {uri!r}: {exc}") from exc
    return mv.name, str(mv.version), mv.run_id


def export_model(
    uri: str, models_dir: Path | None = None, folder_name: str | None = None
) -> Exported:
    """Copy the registered model at `uri` into `models_dir/<folder_name>` (default
    `./models/<registered name>`), replacing an earlier export of the same name."""
    name, version, run_id = _resolve(uri)
    models_dir = Path(models_dir) if models_dir is not None else Path.cwd() / DEFAULT_DIRNAME
    target = models_dir / (folder_name or name)
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=models_dir))
    try:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{version}", dst_path=str(staging / "download")
        )
        model_dir = Path(local)
        if not (model_dir / "MLmodel").exists():
            raise registry.RegistryError(f"{uri!r} holds no MLmodel file: not an MLflow model")
        provenance = {
            "source_uri": uri,
            "registered_model": name,
            "version": version,
            "run_id": run_id,
            "tracking_uri": mlflow.get_tracking_uri(),
            "exported": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (model_dir / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2), "utf-8")
        os.chmod(model_dir, 0o755)  # mkdtemp makes 0700; exported models are meant to be shared
        previous = staging / "previous"
        if target.exists():
            os.rename(target, previous)
        try:
            os.rename(model_dir, target)
        except OSError:
            if previous.exists():
                os.rename(previous, target)  # keep the earlier export
            raise
    except MlflowException as exc:
        raise registry.RegistryError(f"cannot export {uri!r}: {exc.message}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Exported(path=target, source_uri=uri, name=name, version=version, run_id=run_id)
