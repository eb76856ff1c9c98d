"""Model registry (tracking layer: imports mlflow): one registered model per dataset,
``town-prospects-<dataset>``, one version per logged run, and aliases rather than stages:

- ``champion``: the version `forecast predict --model models:/NAME@champion` serves; set by the
  first `forecast run` of a dataset, moved only by `forecast retrain` when the promotion rule
  holds;
- ``challenger``: the version the latest `forecast retrain` trained and evaluated;
- ``previous_champion``: the champion before the last promotion (for a quick rollback).

Functions return plain values (:class:`ModelRef`, frames, dicts) so that the retraining logic
(:mod:`forecast.retrain`) does not need mlflow.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import ColSpec, Schema

from . import serving, store
from .errors import ForecastError

PREFIX = "town-prospects-"
CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous_champion"
# what a logged model needs at load time besides mlflow (pinned to the versions that logged it)
RUNTIME_PACKAGES = ("numpy", "pandas", "scikit-learn", "lightgbm", "shap", "pydantic", "pyyaml")
EXAMPLE_UNITS = 3


class RegistryError(ForecastError):
    """A registered model, version or alias is missing or cannot be used."""


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    run_id: str | None
    as_of: int | None
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def model_name(dataset: str) -> str:
    return f"{PREFIX}{dataset}"


def _client() -> mlflow.MlflowClient:
    return store.client()


def _requirements() -> list[str]:
    reqs = []
    for pkg in RUNTIME_PACKAGES:
        try:
            reqs.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:
            reqs.append(pkg)
    return reqs


def _signature(panel: pd.DataFrame, output: pd.DataFrame, horizons: list[int]) -> ModelSignature:
    """Inputs: the panel contract (unit_id, year, population required; employment and the
    dataset's indicators optional). Outputs: the forecasts table, inferred from the run's.
    Params (with their defaults): output="forecasts", horizons=the model's horizons."""
    params = {"output": "forecasts", "horizons": [int(h) for h in horizons]}
    inferred = infer_signature(panel, output, params=params)
    cols = [
        ColSpec("string", "unit_id"),
        ColSpec("long", "year"),
        ColSpec("double", "population"),
    ]
    required = {"unit_id", "year", "population"}
    cols += [ColSpec("double", c, required=False) for c in panel.columns if c not in required]
    return ModelSignature(inputs=Schema(cols), outputs=inferred.outputs, params=inferred.params)


def _example(panel: pd.DataFrame) -> pd.DataFrame:
    """The whole history of a few units (a few panel rows would not make a forecast)."""
    units = panel["unit_id"].drop_duplicates().head(EXAMPLE_UNITS)
    return panel[panel["unit_id"].isin(units)].reset_index(drop=True)


def log_model(result, meta: dict) -> ModelRef:
    """Log the run's pipeline as a pyfunc model in the active run and register it."""
    name = model_name(result.data.name)
    panel = result.data.up_to(result.forecaster.origin_).panel
    panel = panel[["unit_id", "year", *[c for c in panel.columns if c not in ("unit_id", "year")]]]
    panel = panel.assign(year=panel["year"].astype("int64"))
    tmp = Path(tempfile.mkdtemp(prefix="town-prospects-model-"))
    try:
        bundle = serving.Bundle.from_result(result, meta).save(tmp / "bundle.pkl")
        with warnings.catch_warnings():
            # "integer columns cannot hold missing values": years and horizons never miss
            warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer", UserWarning)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(Path(serving.__file__).parent / "resources" / "pyfunc_model.py"),
                artifacts={serving.BUNDLE: str(bundle)},
                code_paths=[str(Path(serving.__file__).parent)],
                signature=_signature(panel, result.forecasts.head(50), result.config.horizons),
                input_example=(_example(panel), {"output": "forecasts"}),
                pip_requirements=_requirements(),
                registered_model_name=name,
                metadata={"dataset": result.data.name, "as_of": int(result.forecaster.origin_)},
            )
    except MlflowException as exc:
        raise RegistryError(f"could not log the model to MLflow: {exc.message}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ModelRef(
        name=name,
        version=str(info.registered_model_version),
        run_id=mlflow.active_run().info.run_id,
        as_of=int(result.forecaster.origin_),
    )


def _ref(mv) -> ModelRef:
    run = mlflow.get_run(mv.run_id) if mv.run_id else None
    as_of = run.data.tags.get("as_of") if run else None
    return ModelRef(
        name=mv.name,
        version=str(mv.version),
        run_id=mv.run_id,
        as_of=int(as_of) if as_of else None,
        aliases=tuple(getattr(mv, "aliases", ()) or ()),
    )


def alias(name: str, which: str) -> ModelRef | None:
    """The version behind an alias, or None when the model or the alias does not exist."""
    client = _client()
    try:
        return _ref(client.get_model_version_by_alias(name, which))
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise RegistryError(f"cannot read alias {which!r} of {name!r}: {exc.message}") from exc


def set_alias(name: str, which: str, version: str) -> None:
    _client().set_registered_model_alias(name, which, str(version))


def tag_version(name: str, version: str, tags: dict) -> None:
    client = _client()
    for k, v in tags.items():
        client.set_model_version_tag(name, str(version), k, str(v))


def promote(name: str, version: str, previous: ModelRef | None) -> None:
    """Move `champion` to `version`; the old champion keeps `previous_champion`."""
    if previous is not None and previous.version != str(version):
        set_alias(name, PREVIOUS, previous.version)
    set_alias(name, CHAMPION, version)


def versions(name: str) -> list[ModelRef]:
    client = _client()
    try:
        found = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return []
    return sorted((_ref(mv) for mv in found), key=lambda r: int(r.version))


def _explain_uri_error(uri: str, exc: MlflowException) -> RegistryError:
    """Say which part of a models:/ URI does not exist."""
    if uri.startswith("models:/"):
        ref = uri.removeprefix("models:/")
        name = ref.split("@")[0].split("/")[0]
        try:
            model = _client().get_registered_model(name)
        except MlflowException:
            return RegistryError(f"no registered model {name!r}: run `forecast run` first")
        if "@" in ref:
            which = ref.split("@", 1)[1]
            if which not in (model.aliases or {}):
                known = ", ".join(sorted(model.aliases or {})) or "none"
                return RegistryError(
                    f"registered model {name!r} has no alias {which!r} (aliases: {known}; "
                    "`forecast run` sets the first champion, `forecast retrain` the others)"
                )
    return RegistryError(f"cannot load model {uri!r}: {exc.message}")


def load(uri: str):
    """The pyfunc model at `uri` (models:/NAME@alias, models:/NAME/VERSION, runs:/..., a path)."""
    _client()
    try:
        return mlflow.pyfunc.load_model(uri)
    except MlflowException as exc:
        raise _explain_uri_error(uri, exc) from exc
    except OSError as exc:
        raise RegistryError(f"cannot load model {uri!r}: {exc}") from exc


def predict(uri: str, panel: pd.DataFrame, output: str = "forecasts", horizons=None):
    """Serve a registered model on a panel. Returns (table, the model's metadata)."""
    model = load(uri)
    params: dict = {"output": output}
    if horizons:
        params["horizons"] = [int(h) for h in horizons]
    # the signature's types: ids as text, years as integers, every measurement as a float
    floats = {
        c: "float64"
        for c in panel.columns
        if c not in ("unit_id", "year") and pd.api.types.is_numeric_dtype(panel[c])
    }
    panel = panel.astype(floats).assign(
        unit_id=panel["unit_id"].astype(str), year=panel["year"].astype("int64")
    )
    try:
        table = model.predict(panel, params=params)
    except MlflowException as exc:
        msg = exc.message
        for key in ("Incompatible input types", "Model is missing inputs"):
            if key in msg:
                msg = msg[msg.index(key) :]
        raise RegistryError(f"the model rejected the panel: {msg[:500]}") from exc
    return table, dict(model.metadata.metadata or {})


def run_frame(run_id: str, path: str) -> pd.DataFrame | None:
    """A CSV artifact of a run as a frame (None if the run has no such artifact)."""
    _client()
    try:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path)
    except (MlflowException, OSError):
        return None
    return pd.read_csv(local, dtype={"unit_id": str})


def run_json(run_id: str, path: str) -> dict | None:
    _client()
    try:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path)
    except (MlflowException, OSError):
        return None
    return json.loads(Path(local).read_text(encoding="utf-8"))


__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "PREVIOUS",
    "ModelRef",
    "RegistryError",
    "alias",
    "load",
    "log_model",
    "model_name",
    "predict",
    "promote",
    "run_frame",
    "run_json",
    "set_alias",
    "tag_version",
    "versions",
]
