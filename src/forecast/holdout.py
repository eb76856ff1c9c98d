"""The one rolling-origin loop: fit at an origin, forecast, join the outcomes observed later.

Used twice: by the engine to collect calibration residuals (an uncalibrated forecaster fitted
at earlier origins, scored on outcomes up to the fitting origin) and by
:func:`forecast.backtest.rolling_origin` (the whole calibrated forecaster at each backtest
origin). The fitting is passed in, so this module knows nothing of the engine.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from .features import observations
from .schema import Dataset

# (data, origin, horizons) -> {target: forecast rows with unit_id, year and the forecasts}
FitForecast = Callable[[Dataset, int, list[int]], dict[str, pd.DataFrame]]


def _quiet(_: str) -> None:
    pass


def rolling(
    data: Dataset,
    origins: list[int],
    horizons: list[int],
    fit_forecast: FitForecast,
    *,
    targets: list[str] | None = None,
    progress: Callable[[str], None] = _quiet,
    label: str = "backtest origin",
) -> pd.DataFrame:
    """One row per (target, origin, unit, year) forecast at `origin + horizon` whose outcome
    `data` observes (column `actual`), with the forecast rows' own columns and `origin`."""
    frames = []
    for origin in origins:
        progress(f"{label} {origin}")
        for target, table in fit_forecast(data, origin, horizons).items():
            if targets and target not in targets:
                continue
            actual = observations(data.panel, target).rename(columns={"value": "actual"})
            joined = table.merge(actual, on=["unit_id", "year"], how="inner")
            frames.append(joined.assign(target=target, origin=origin))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)
