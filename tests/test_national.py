"""The long-backtest national projection (forecast.national, issue 11: kz_annual)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.national import LONG_BACKTEST, errors, long_choice, projection
from forecast.reference import COUNTRY, Reference, national_errors, national_projection
from forecast.reference_choice import project


def _ref(values: dict[int, float]) -> Reference:
    return Reference({COUNTRY: pd.Series(values, dtype=float)})


def test_booms_that_reverse_are_not_extrapolated():
    # flat decades broken by three-year booms of 5% a year that reverse: the damped trend
    # extrapolates every boom and errs more than no change over the whole history
    values, p = {}, 100.0
    for y in range(1960, 2004):
        k = (y - 1960) % 12
        p = p * 1.05 if k in (8, 9, 10) else p / 1.05 if k in (11, 0, 1) and y > 1961 else p
        values[y] = p
    ref = _ref(values)
    c = long_choice(ref, 2003)
    assert c.method == "naive"
    assert c.scores["naive"] < c.scores["damped"]
    np.testing.assert_allclose(projection(ref, 2003, [2005, 2010], LONG_BACKTEST), values[2003])
    assert projection(ref, 2003, [2001], LONG_BACKTEST)[0] == pytest.approx(values[2001])


def test_steady_growth_takes_the_damped_trend_and_its_backtest_errors():
    ref = _ref({y: 100.0 * 1.01 ** (y - 1960) for y in range(1960, 2001)})
    c = long_choice(ref, 2000)
    assert c.method == "damped"
    s = ref.series[COUNTRY]
    expected = project(s, "damped", [2005])[0]  # by hand: 1% a year, damped by 0.8 a year
    assert expected == pytest.approx(s[2000] * np.exp(np.log(1.01) * 0.8 * (1 - 0.8**5) / 0.2))
    assert projection(ref, 2000, [2005], LONG_BACKTEST)[0] == pytest.approx(expected)
    e = errors(ref, 2000, LONG_BACKTEST)
    assert list(e.columns) == ["origin", "horizon", "error"] and len(e) > 100
    assert (e["error"] > 0).all()  # damping under-forecasts steady growth, at every origin
    # only data up to the origin is read
    later = _ref({**{y: 100.0 * 1.01 ** (y - 1960) for y in range(1960, 2001)}, 2001: 50.0})
    assert projection(later, 2000, [2005], LONG_BACKTEST)[0] == pytest.approx(expected)


def test_other_methods_are_those_of_forecast_reference():
    ref = _ref({y: 100.0 * 1.02 ** (y - 1960) for y in range(1960, 2001)})
    for how in ("chosen", "lin_exp"):
        np.testing.assert_allclose(
            projection(ref, 2000, [2004], how), national_projection(ref, 2000, [2004], how)
        )
        pd.testing.assert_frame_equal(errors(ref, 2000, how), national_errors(ref, 2000, how))
    assert np.isnan(projection(None, 2000, [2004], LONG_BACKTEST)).all()
    assert errors(None, 2000, LONG_BACKTEST).empty
