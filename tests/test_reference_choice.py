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


def boom_after_a_dip(start: int = 1990) -> pd.Series:
    """A dip in the first year, then 2 % a year for 15 years: a short cyclical series whose
    whole backtest lies in one expansion (the shape of US employment 1990-2006)."""
    values = [100.0, 99.0] + [99.0 * 1.02**k for k in range(1, 16)]
    return series(values, start)


def test_short_cyclical_series_chooses_only_no_change_or_damped():
    s = boom_after_a_dip()  # 1990..2006: 17 years, fell once
    free = choose(s)
    assert free.method in ("drift", "lin_exp") and not free.safe  # the boom extrapolated
    safe = choose(s, safe_below=20)
    assert safe.safe and safe.method == "damped"  # steady growth: damped beats no change
    assert set(safe.errors["method"]) == {"naive", "damped"}
    # by hand: growth over the last 10 years (2 % a year), damped by 0.8 a year, 5 years on
    g = math.log(1.02)
    expected = s.iloc[-1] * math.exp(g * 0.8 * (1 - 0.8**5) / 0.2)
    assert safe.forecast([2011])[0] == pytest.approx(expected)
    # long enough, or never fallen: the full candidate set
    assert not choose(s, safe_below=17).safe
    assert not choose(series(100 * 1.02 ** np.arange(17), 1990), safe_below=20).safe


def test_safe_rule_uses_only_years_up_to_the_origin():
    """A fall after the origin cannot make the choice at the origin safe; a fall before it
    does, whatever follows."""
    rising = series(100 * 1.02 ** np.arange(17), 1990)
    later_fall = pd.concat([rising, series([rising.iloc[-1] * 0.9], 2007)])
    a, b = Reference({COUNTRY: rising}), Reference({COUNTRY: later_fall})
    years = np.arange(2007, 2017)
    for how in ("chosen_safe",):
        np.testing.assert_array_equal(
            national_projection(a, 2006, years, how), national_projection(b, 2006, years, how)
        )
        pd.testing.assert_frame_equal(national_errors(a, 2006, how), national_errors(b, 2006, how))
    assert not b.choice(COUNTRY, 2006, 20).safe and b.choice(COUNTRY, 2007, 20).safe


def test_chosen_safe_leaves_a_series_that_never_fell_unchanged():
    rng = np.random.default_rng(2)
    grow = series(100 * np.exp(np.cumsum(rng.uniform(0.005, 0.02, 15))), 1990)
    ref = Reference({COUNTRY: grow})
    years = np.arange(2005, 2015)
    np.testing.assert_array_equal(
        national_projection(ref, 2004, years, "chosen"),
        national_projection(ref, 2004, years, "chosen_safe"),
    )


def test_bad_safe_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="unknown national projection 'safest'; expected one of"):
        national_projection(Reference({COUNTRY: boom_after_a_dip()}), 2000, [2001], "safest")
    with pytest.raises(ValueError, match="safe_below must be at least 2 years, got 1"):
        choose(boom_after_a_dip(), safe_below=1)
    with pytest.raises(ValueError, match="unknown reference method 'cubic'; expected one of"):
        choose(boom_after_a_dip(), methods=("naive", "cubic"))
