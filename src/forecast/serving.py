"""The whole pipeline as one MLflow pyfunc model (tracking layer: imports mlflow).

A logged model is a :class:`Bundle` (pickled as the model's one artifact, ``bundle.pkl``):
the fitted :class:`~forecast.engine.Forecaster` (features -> LightGBM -> combination ->
intervals), the dataset's static tables (units, regions, country), the engine config, the
policy and the previous categories its run used for hysteresis. The package source is logged
with the model (``code_paths``), so it also loads where town-prospects is not installed.

``predict(model_input)`` takes a panel in the data contract (``unit_id, year, population``
[, ``employment``, indicators]) and returns the tidy forecasts table
(``unit_id,target,origin_year,horizon,year,forecast,lower,upper,level,model``), from the model's
fitted origin (its as-of year): the panel is cut at that origin, features and baselines are
rebuilt from it (the forecaster keeps only what it learned), the fitted model is not refitted. Pass the whole panel of the dataset: the
national and regional references are computed from the units given, as in a run.

``params={"output": "categories"}`` returns the categories table of the run instead (SHAP
explanations are computed on the way, since categories read drivers), and
``{"output": "explanations"}`` the SHAP table. Forecasts are the default because they are the
one output with a fixed schema (the model signature's output); categories follow the policy
file the model was logged with. ``{"horizons": [5, 10]}`` forecasts other horizons.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from .compose import outlook
from .config import EngineConfig
from .engine import Forecaster
from .errors import ForecastError
from .explain import explain
from .policy import Policy
from .schema import Dataset, raise_if, validate_panel

OUTPUTS = ("forecasts", "explanations", "categories")
BUNDLE = "bundle"


@dataclass
class Bundle:
    """Everything a logged model needs to turn a panel into forecasts and categories."""

    dataset: str
    forecaster: Forecaster
    units: pd.DataFrame
    config: dict
    policy: dict
    regions: pd.DataFrame | None = None
    country: pd.DataFrame | None = None
    previous_categories: pd.DataFrame | None = None
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_result(cls, result, meta: dict | None = None) -> Bundle:
        return cls(
            dataset=result.data.name,
            forecaster=result.forecaster,
            units=result.data.units,
            regions=result.data.regions,
            country=result.data.country,
            config=result.config.model_dump(mode="json"),
            policy=result.policy.model_dump(mode="json"),
            previous_categories=getattr(result, "previous_categories", None),
            meta=dict(meta or {}),
        )

    def save(self, path: Path) -> Path:
        with open(path, "wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    @staticmethod
    def load(path: str | Path) -> Bundle:
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except (AttributeError, ImportError, ModuleNotFoundError, TypeError) as exc:
            raise ForecastError(
                f"this model was logged by another version of town-prospects and cannot be "
                f"loaded by this one ({exc}); retrain it with `forecast run`"
            ) from exc

    @property
    def as_of(self) -> int:
        return int(self.forecaster.origin_)

    # -- the pipeline on a panel -----------------------------------------------------------
    def dataset_from(self, panel: pd.DataFrame) -> Dataset:
        """Validate a panel against the data contract and the model's units, cut at as-of."""
        typed, problems = validate_panel(
            panel.reset_index(drop=True), self.units.index, file="model input", line_offset=0
        )
        raise_if(problems)
        data = Dataset(
            name=self.dataset,
            panel=typed,
            units=self.units,
            regions=self.regions,
            country=self.country,
        ).up_to(self.as_of)
        if data.panel.empty:
            raise ForecastError(
                f"the panel has no observation at or before {self.as_of}, the model's as-of year"
            )
        return data

    def forecasts(self, panel: pd.DataFrame, horizons: list[int] | None = None) -> pd.DataFrame:
        data = self.dataset_from(panel)
        return self.forecaster.forecast(data, horizons or self.engine_config.horizons).table()

    def explanations(self, panel: pd.DataFrame, horizons: list[int] | None = None):
        data = self.dataset_from(panel)
        fc = self.forecaster.forecast(data, horizons or self.engine_config.horizons)
        return explain(self.forecaster, fc)

    def categories(self, panel: pd.DataFrame) -> pd.DataFrame:
        """The run's categorisation (forecasts -> SHAP drivers -> policy) at its horizons."""
        policy = Policy.model_validate(self.policy)
        return outlook(
            self.forecaster,
            self.dataset_from(panel),
            policy,
            horizons=self.engine_config.horizons,
            previous=self.previous_categories,
        ).categories

    @property
    def engine_config(self) -> EngineConfig:
        return EngineConfig.model_validate(self.config)

    def predict(self, panel: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        params = dict(params or {})
        output = params.get("output") or "forecasts"
        if output not in OUTPUTS:
            raise ForecastError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
        horizons = params.get("horizons")
        if horizons is not None:
            horizons = sorted({int(h) for h in horizons})
            if not horizons or min(horizons) < 1:
                raise ForecastError(f"horizons must be positive whole years, got {horizons}")
        if output == "forecasts":
            return self.forecasts(panel, horizons)
        if output == "explanations":
            return self.explanations(panel, horizons)
        return self.categories(panel)


class TownProspectsModel(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper of a :class:`Bundle` (see the module docstring for inputs and outputs)."""

    def load_context(self, context) -> None:
        self.bundle = Bundle.load(context.artifacts[BUNDLE])

    # `pd.DataFrame` is a hint MLflow derives no schema from (the logged signature describes the
    # input, see forecast.registry); without any hint MLflow prints, in colour, on every import
    # and load, its advice to add one
    def predict(self, context, model_input: pd.DataFrame, params=None):
        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        return self.bundle.predict(model_input, params)
