"""Census re-basings found in the data itself, so that a dataset without settings of its own
gets the re-basing splice and re-basing risk of :mod:`forecast.rebasing`.

A re-basing moves every unit at once by the error its estimates had accumulated since the
previous census: up for some, down for others. In that year the units' growth departs from
their own recent growth by far more than in any other year. For each year `y` the statistic is

    jump_u(y) = r_u(y) - median(r_u(y-3), r_u(y-2), r_u(y-1))
    spread(y) = median_u |jump_u(y) - median_u jump_u(y)|           (MAD across units)
    ratio(y)  = spread(y) / median(spread(y-10), ..., spread(y-1))

with `r_u(y)` the unit's one-year log growth (top-level units only: a nested unit's people are
in its parent). A common shift of all units does not change the spread, so no national series
is needed. Year `y` is a re-basing when `ratio(y) >= THRESHOLD` with at least `MIN_UNITS` units
observed in `y - 1` and `y` and at least `MIN_YEARS` earlier spreads to compare with. Only
years up to `y` are read: a year found at one origin is found at every later one, and nothing
after an origin is read when the data are cut there.

Measured (population): Kazakh districts 2009 ratio 8.2, 2022 7.1, every other year 0.5-1.5;
US counties 1975-2006 0.7-1.1. Irregular series (census years and scattered estimates) rarely
have four consecutive years for `MIN_UNITS` units: the rule then finds nothing, by design.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import hierarchy
from .census_calendar import CensusWindow, detected_window
from .errors import ForecastError
from .schema import Dataset

THRESHOLD = 3.0  # spread of the year / its usual spread
MIN_UNITS = 20  # units observed in y - 1 and y, with growth in the years before
MIN_YEARS = 3  # earlier yearly spreads the usual one is taken from
PRIOR_YEARS = 3  # the unit's own recent growth: median of this many years
USUAL_YEARS = 10  # the usual spread: median of up to this many earlier years
DEFAULT_PERIOD = 10.0  # years between censuses when fewer than two re-basings are seen


def statistics(obs: pd.DataFrame, key: str = "unit_id", min_units: int = MIN_UNITS) -> pd.DataFrame:
    """Per year (index): `n` units with a jump, `spread` (MAD of the jumps), `usual` (median
    of the up to USUAL_YEARS earlier spreads, NaN before MIN_YEARS of them) and `ratio`.
    `obs`: key, year, value (> 0). Years with fewer than `min_units` jumps get no spread."""
    if obs.empty:
        return pd.DataFrame(columns=["n", "spread", "usual", "ratio"], dtype=float)
    wide = obs.drop_duplicates([key, "year"]).pivot(index="year", columns=key, values="value")
    wide = wide.reindex(np.arange(int(wide.index.min()), int(wide.index.max()) + 1))
    g = np.log(wide.astype(float)).diff()
    prior = g.rolling(PRIOR_YEARS, min_periods=2).median().shift(1)
    jump = g - prior
    n = jump.notna().sum(axis=1)
    centre = jump.median(axis=1)
    spread = jump.sub(centre, axis=0).abs().median(axis=1).where(n >= min_units)
    # a year without enough units leaves a gap in the spreads: the usual one skips it
    usual = spread.shift(1).rolling(USUAL_YEARS, min_periods=MIN_YEARS).median()
    ratio = spread / usual.where(usual > 0)
    return pd.DataFrame({"n": n, "spread": spread, "usual": usual, "ratio": ratio})


def detect(
    data: Dataset,
    target: str = "population",
    *,
    threshold: float = THRESHOLD,
    min_units: int = MIN_UNITS,
) -> list[int]:
    """Re-basing years of `target` in `data` (cut it at the origin first: every year it holds
    is read), found by the rule of the module docstring."""
    if threshold <= 1:
        raise ValueError(
            f"threshold must be above 1 (a multiple of the usual spread), got {threshold}"
        )
    if min_units < 2:
        raise ValueError(f"min_units must be at least 2, got {min_units}")
    if target not in data.panel:
        raise ForecastError(
            f"{data.name}: the panel has no column {target!r}: cannot look for re-basings in it"
        )
    top = hierarchy.top_level(data.units)
    panel = data.panel[data.panel["unit_id"].isin(top)]
    panel = panel[panel[target].notna() & (panel[target] > 0)]
    obs = panel[["unit_id", "year", target]].rename(columns={target: "value"})
    stats = statistics(obs, min_units=min_units)
    found = stats.index[(stats["ratio"] >= threshold).to_numpy()]
    return [int(y) for y in found]


def risk_period(years: list[int], default: float = DEFAULT_PERIOD) -> float:
    """Years between re-basings: the median gap between the detected ones, `default` (a census
    about every ten years) with fewer than two."""
    ys = sorted(set(years))
    if len(ys) < 2:
        return float(default)
    return float(np.median(np.diff(ys)))


def years_for(config, data: Dataset) -> dict[str, list[int]]:
    """The re-basing years the engine uses per target: the config's `rebasing_years` and, for
    the targets in its `rebasing_detection`, the years found in `data` (cut at the origin)."""
    out = {t: sorted(set(ys)) for t, ys in config.rebasing_years.items()}
    for target in config.rebasing_detection:
        if target not in data.panel or not data.panel[target].notna().any():
            continue
        found = detect(data, target)
        if found:
            out[target] = sorted(set(out.get(target, [])) | set(found))
    return {t: ys for t, ys in out.items() if ys}


def period_for(config, data: Dataset, target: str) -> float | None:
    """Years between re-basings for the intervals' re-basing risk: the config's
    `rebasing_risk_period` where set, else (re-basings detected in `data`) `risk_period` of
    the detected years, else None (no re-basing risk)."""
    if config.rebasing_risk_period:
        return float(config.rebasing_risk_period)
    if target not in config.rebasing_detection or target not in data.panel:
        return None
    found = detect(data, target)
    return risk_period(found) if found else None


def timing_for(config, data: Dataset, target: str, origin: int) -> CensusWindow | None:
    """The chance of a re-basing within a span after `origin` for the intervals' re-basing
    risk (`census_calendar.CensusWindow`): the config's `rebasing_census_window` after the last
    re-basing year up to `origin` (the config's and the detected ones) where it is set; else,
    where the risk comes from detection alone (no `rebasing_risk_period`), `detected_window`
    of the detected period after the last re-basing found; None otherwise (the config's
    `span / period`). `data` is cut at the origin."""
    window = config.rebasing_census_window
    if window is not None:
        years = [y for y in years_for(config, data).get(target, []) if y <= origin]
        a, b = window
        return CensusWindow(int(origin), max(years, default=None), (int(a), int(b)))
    if config.rebasing_risk_period or target not in config.rebasing_detection:
        return None
    if target not in data.panel:
        return None
    found = [y for y in detect(data.up_to(origin), target) if y <= origin]
    if not found:
        return None
    return CensusWindow(int(origin), max(found), detected_window(risk_period(found)))
