"""The national projection: hand-computable methods, choice by backtest, no leakage."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecast.reference import COUNTRY, Reference, national_errors, national_projection
from forecast.reference_choice import backtest, choose, project


def series(values, start=2000) -> pd.Series:
    return pd.Series(values, index=range(start, start + len(values)), dtype=float)


def test_each_method_by_hand():
    # 100 at 2000, 200 at 2010 (base 10 years back), then the projection to 2011 and 2012
    s = pd.Series({2000: 100.0, 2005: 150.0, 2010: 200.0})
    years = [2011, 2012]
    assert project(s, "naive", years).tolist() == [200.0, 200.0]
    g = math.log(2) / 10
    np.testing.assert_allclose(
        project(s, "drift", years), [200 * math.exp(g), 200 * math.exp(2 * g)]
    )
    # damped with phi = 0.5: growth g * 0.5 after one year, g * (0.5 + 0.25) after two
    np.testing.assert_allclose(
        project(s, "damped", years, phi=0.5),
        [200 * math.exp(0.5 * g), 200 * math.exp(0.75 * g)],
    )
    np.testing.assert_allclose(project(s, "lin_exp", years), [210.0, 220.0])  # +10 a year


def test_drift_uses_the_whole_history_and_damped_levels_off():
    s = series([100.0] * 30 + [110.0, 121.0, 133.1])  # flat for 30 years, then a 3-year boom
    drift = project(s, "drift", [2042])[0] / 133.1 - 1
    assert drift == pytest.approx(math.exp(math.log(1.331) / 32 * 10) - 1)
    assert drift < 0.1  # ten years at the boom's 10 % a year would be +159 %
    far = project(s, "damped", [2100], phi=0.8)[0]
    g = math.log(133.1 / 100.0) / 10
    assert far == pytest.approx(133.1 * math.exp(g * 0.8 / 0.2), rel=1e-6)


def test_backtest_errors_by_hand():
    s = series([100.0, 100.0, 100.0, 100.0, 110.0])  # 2000..2004
    e = backtest(s, methods=("naive",), min_history=3)
    assert e.to_dict("records") == [
        {"method": "naive", "origin": 2003, "horizon": 1, "error": pytest.approx(math.log(1.1))}
    ]


def test_choice_follows_the_backtest():
    rng = np.random.default_rng(0)
    steady = series(100 * np.exp(0.01 * np.arange(40)))  # exact exponential growth
    assert choose(steady).method == "drift"  # exact: zero error at every origin
    walk = series(100 * np.exp(np.cumsum(rng.normal(0, 0.02, 40))))  # no drift
    scores = choose(walk).scores
    assert choose(walk).method == min(scores, key=scores.get)
    assert choose(series([100.0, 101.0, 102.0])).method == "damped"  # too short: the default


def test_unknown_method_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown reference method 'cubic'"):
        project(series([1.0, 2.0]), "cubic", [2003])


def test_national_projection_and_errors_ignore_everything_after_the_origin():
    rng = np.random.default_rng(1)
    values = 100 * np.exp(np.cumsum(rng.normal(0.01, 0.02, 40)))
    a = Reference({COUNTRY: series(values, 1970)})
    later = values.copy()
    later[30:] *= 3  # change every year after 1999
    b = Reference({COUNTRY: series(later, 1970)})
    years = np.arange(2000, 2011)
    np.testing.assert_array_equal(
        national_projection(a, 1999, years, "chosen"), national_projection(b, 1999, years, "chosen")
    )
    pd.testing.assert_frame_equal(
        national_errors(a, 1999, "chosen"), national_errors(b, 1999, "chosen")
    )
    assert national_errors(a, 1999, "chosen")["origin"].max() < 1999
    assert (
        national_errors(a, 1999, "chosen")["origin"] + national_errors(a, 1999, "chosen")["horizon"]
    ).max() <= 1999


def test_nested_units_are_never_summed_into_the_national_total(tmp_path):
    """A town proper inside its city administration (units.csv parent_id) is left out of the
    chain-linked total; counting it would double its people."""
    from forecast.io import read_dataset

    from .conftest import write_dataset

    panel = pd.DataFrame(
        {
            "unit_id": ["CITY", "TOWN", "DIST"] * 3,
            "year": [2000] * 3 + [2001] * 3 + [2002] * 3,
            "population": [100.0, 80.0, 50.0, 110.0, 90.0, 50.0, 120.0, 100.0, 50.0],
        }
    )
    units = pd.DataFrame(
        {
            "unit_id": ["CITY", "TOWN", "DIST"],
            "name": ["City", "Town", "District"],
            "region": "R",
            "parent_id": ["", "CITY", ""],
        }
    )
    data = read_dataset(write_dataset(tmp_path / "nested", panel, units))
    total = Reference.from_dataset(data, "population").series[COUNTRY]
    assert total.to_dict() == {2000: 150.0, 2001: 160.0, 2002: 170.0}
