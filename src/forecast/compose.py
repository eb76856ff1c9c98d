"""forecast -> explain -> policy facts -> categories: the one composition of the stages after
fitting, used by a run (:func:`forecast.pipeline.run`), a served model
(:mod:`forecast.serving`) and the reality check (:mod:`forecast.reality`).

Forecasting happens once: the tidy table, the SHAP explanations and the policy facts all read
the same :class:`~forecast.engine.Forecast`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .engine import Forecast, Forecaster
from .errors import ForecastError
from .explain import check_decomposition, explain
from .facts import category_facts, latest_observations
from .policy import Policy, categorize
from .schema import Dataset


@dataclass
class Outlook:
    forecast: Forecast
    forecasts: pd.DataFrame  # the tidy table of the data contract
    explanations: pd.DataFrame
    facts: pd.DataFrame
    categories: pd.DataFrame


def outlook(
    forecaster: Forecaster,
    data: Dataset,
    policy: Policy,
    *,
    horizons: list[int] | None = None,
    previous: pd.DataFrame | None = None,
) -> Outlook:
    """Forecast `data` (cut at the forecaster's origin) at `horizons` (default: the config's),
    explain the forecasts and check that their parts add up, then categorise the units by
    `policy` (`previous`: the categories of the previous run, for hysteresis)."""
    horizons = horizons or forecaster.config.horizons
    if policy.horizon not in horizons:
        raise ForecastError(
            f"the policy horizon {policy.horizon} is not among the forecast horizons {horizons}"
        )
    cut = data.up_to(forecaster.origin_)
    fc = forecaster.forecast(cut, horizons)
    table = fc.table()
    expl = explain(forecaster, fc)
    check_decomposition(expl, table, latest_observations(cut))
    facts = category_facts(cut, table, expl, policy)
    cats = categorize(facts, policy, forecaster.config.level, previous)
    return Outlook(fc, table, expl, facts, cats)
