"""Peer methods from the field, run with their documented defaults (optional `bench` extra).

* Nixtla statsforecast: AutoETS (season_length=1 for yearly data) and RandomWalkWithDrift.
* Nixtla mlforecast: a global LightGBM (default hyperparameters) on lags 1-3 of the first
  difference, forecast recursively.

Each is fitted per origin on the observations up to that origin, the same data our engine sees.
Only regular (annual) panels are supported: these libraries assume a fixed frequency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ForecastError
from .schema import Dataset

PEERS = ("sf_autoets", "sf_rwd", "mlf_lightgbm")


def _require():
    try:
        import mlforecast  # noqa: F401
        import statsforecast  # noqa: F401
    except ImportError as exc:
        raise ForecastError(
            "peer methods need the bench extra: .venv/bin/pip install -e '.[bench]'"
        ) from exc


def peer_forecasts(data: Dataset, target: str, origin: int, horizon: int) -> pd.DataFrame:
    """unit_id, year, and one column per peer method, for years origin+1..origin+horizon."""
    _require()
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.target_transforms import Differences
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, RandomWalkWithDrift

    p = data.panel
    df = p.loc[(p["year"] <= origin) & p[target].notna(), ["unit_id", "year", target]]
    df = df.rename(columns={"unit_id": "unique_id", "year": "ds", target: "y"})
    # a series must reach the origin and be long enough for the lags (shorter ones: no peer)
    last = df.groupby("unique_id")["ds"].transform("max")
    size = df.groupby("unique_id")["ds"].transform("size")
    df = df[(last == origin) & (size >= 6)].reset_index(drop=True)
    if df.empty:
        return pd.DataFrame(columns=["unit_id", "year", *PEERS])
    sf = StatsForecast(models=[AutoETS(season_length=1), RandomWalkWithDrift()], freq=1, n_jobs=1)
    a = sf.forecast(df=df, h=horizon).rename(columns={"AutoETS": "sf_autoets", "RWD": "sf_rwd"})
    mlf = MLForecast(
        models={"mlf_lightgbm": lgb.LGBMRegressor(verbosity=-1, n_jobs=1)},
        freq=1,
        lags=[1, 2, 3],
        target_transforms=[Differences([1])],
    )
    mlf.fit(df)
    b = mlf.predict(horizon)
    out = a.merge(b, on=["unique_id", "ds"], how="outer")
    out = out.rename(columns={"unique_id": "unit_id", "ds": "year"})
    for c in PEERS:
        out[c] = np.where(out[c] > 0, out[c], np.nan)  # a negative population is no forecast
    return out[["unit_id", "year", *PEERS]]
