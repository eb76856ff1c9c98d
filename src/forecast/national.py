"""The national projection the engine grows units with, including the long-backtest choice.

`forecast.reference` projects the national series with the method its backtest picks, errors
weighted by recency (`reference_method: chosen`), or with LIN/EXP (`lin_exp`). On the Kazakh
national series (1960-) the recency weighting picked the trend of the last growth spell at
turning points (LIN/EXP at 1994, after three decades of growth, just as emigration began; no
change at 2014; the 1960- drift at 2019). `long_backtest` (issue 11, opt-in) chooses between
the two safe projections only, no change and the damped trend, by their unweighted backtest at
every origin since the series begins, shocks included: a short spell cannot outvote decades.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .reference import COUNTRY, Reference, national_errors, national_projection
from .reference_choice import ReferenceChoice, choose

LONG_BACKTEST = "long_backtest"
LONG_CANDIDATES = ("naive", "damped")


def long_choice(ref: Reference | None, origin: int) -> ReferenceChoice | None:
    """No change or damped trend, whichever has the lower unweighted backtest error on the
    national series up to `origin` (None without a national series)."""
    if ref is None or not ref.has(COUNTRY):
        return None
    cache = vars(ref).setdefault("_long_choices", {})
    if origin not in cache:
        s = ref.series[COUNTRY]
        cache[origin] = choose(
            s[s.index <= origin],
            methods=LONG_CANDIDATES,
            default="damped",
            halflife=None,
            base_years=ref.base_years,
        )
    return cache[origin]


def projection(ref: Reference | None, origin: int, years, how: str) -> np.ndarray:
    """The national total at `years` (observed up to `origin`) for `reference_method` `how`."""
    if how != LONG_BACKTEST:
        return national_projection(ref, origin, years, how)
    years = np.asarray(years, dtype=float)
    c = long_choice(ref, origin)
    if c is None:
        return np.full(years.shape, np.nan)
    return np.where(years <= origin, ref.at(COUNTRY, years), c.forecast(years))


def errors(ref: Reference | None, origin: int, how: str) -> pd.DataFrame:
    """Backtest errors (origin, horizon, error) of the projection `how` picks at `origin`."""
    if how != LONG_BACKTEST:
        return national_errors(ref, origin, how)
    c = long_choice(ref, origin)
    if c is None:
        return pd.DataFrame(columns=["origin", "horizon", "error"])
    return c.chosen_errors()
