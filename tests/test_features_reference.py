"""Direct tests of training pairs, growth features and the reference totals, on tiny
hand-computable panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.features import growth, pairs
from forecast.reference import COUNTRY, Reference, _chained_totals


def obs(rows):
    return pd.DataFrame(rows, columns=["unit_id", "year", "value"])


def test_pairs_are_every_two_observations_within_the_span():
    o = obs([("A", 2000, 10.0), ("A", 2003, 13.0), ("A", 2010, 20.0), ("B", 2001, 5.0)])
    got = pairs(o, max_span=5)
    # A: 2000->2003 (3 years); 2003->2010 and 2000->2010 are longer than 5; B has one year
    assert got[["unit_id", "t0", "t1", "v0", "v1"]].values.tolist() == [
        ["A", 2000, 2003, 10.0, 13.0]
    ]
    wide = pairs(o, max_span=10)
    assert sorted(zip(wide["t0"], wide["t1"], strict=True)) == [
        (2000, 2003),
        (2000, 2010),
        (2003, 2010),
    ]


def test_pairs_never_cross_units_and_are_empty_with_one_observation_each():
    o = obs([("A", 2000, 1.0), ("B", 2001, 2.0), ("C", 2002, 3.0)])
    got = pairs(o, max_span=15)
    assert got.empty and list(got.columns) == ["unit_id", "t0", "v0", "t1", "v1"]


def test_pairs_sample_is_reproducible_and_capped():
    years = np.arange(1990, 2011)
    o = obs([(u, int(y), float(y - 1980)) for u in "ABCDE" for y in years])
    full = pairs(o, max_span=15)
    a = pairs(o, max_span=15, max_pairs=200, seed=3)
    b = pairs(o, max_span=15, max_pairs=200, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert 100 < len(a) < 300 < len(full)
    assert set(map(tuple, a[["unit_id", "t0", "t1"]].values)) <= set(
        map(tuple, full[["unit_id", "t0", "t1"]].values)
    )


def test_growth_uses_the_observation_nearest_to_the_lookback_and_checks_the_gap():
    o = obs([("A", 2000, 100.0), ("A", 2006, 150.0), ("A", 2010, 200.0), ("B", 2009, 10.0)])
    points = pd.DataFrame(
        {"unit_id": ["A", "A", "B"], "t0": [2010, 2010, 2010], "v0": [200.0, 200.0, 11.0]}
    )
    g10, y10 = growth(points, o, 10)
    # 10 years back from 2010 is 2000, observed: log(200/100)/10
    assert g10.iloc[0] == pytest.approx(np.log(2) / 10)
    assert y10.iloc[0] == 2000
    g3, y3 = growth(points, o, 3)
    # 2007 is nearest to 2006 (gap 4 within [1.5, 6]): log(200/150)/4
    assert g3.iloc[1] == pytest.approx(np.log(200 / 150) / 4)
    assert y3.iloc[1] == 2006
    # B: 2009 is 1 year back, outside [5, 20] for a 10-year growth: missing, not made up
    assert np.isnan(g10.iloc[2]) and np.isnan(y10.iloc[2])


def test_chained_totals_of_a_balanced_panel_are_the_sums():
    panel = pd.DataFrame(
        {
            "unit_id": ["A", "B", "A", "B", "A", "B"],
            "year": [2000, 2000, 2001, 2001, 2002, 2002],
            "population": [10.0, 30.0, 12.0, 30.0, 15.0, 33.0],
        }
    )
    got = _chained_totals(panel, "population", None)
    assert got["value"].tolist() == pytest.approx([40.0, 42.0, 48.0])
    assert set(got["key"]) == {COUNTRY}


def test_chained_totals_do_not_count_a_unit_entering_as_growth():
    """C enters in 2001 (a boundary change adding villages): the total grows by the growth of
    the units observed in both years, not by C's whole size."""
    panel = pd.DataFrame(
        {
            "unit_id": ["A", "B", "A", "B", "C", "A", "B", "C"],
            "year": [2000, 2000, 2001, 2001, 2001, 2002, 2002, 2002],
            "population": [10.0, 30.0, 11.0, 33.0, 56.0, 11.0, 33.0, 56.0],
        }
    )
    got = _chained_totals(panel, "population", None).set_index("year")["value"]
    # anchored to the plain sum in the best-covered year (2001: 100), growth 2000->2001 = 1.1
    assert got[2001] == pytest.approx(100.0)
    assert got[2000] == pytest.approx(100.0 / 1.1)
    assert got[2002] == pytest.approx(100.0)


def test_reference_interpolates_log_linearly_over_short_gaps_only():
    ref = Reference({COUNTRY: pd.Series([100.0, 121.0, 200.0], index=[2000, 2002, 2010])})
    got = ref.at(COUNTRY, [2000, 2001, 2002, 2005, 2010, 2011, 1999])
    assert got[[0, 2, 4]] == pytest.approx([100.0, 121.0, 200.0])
    assert got[1] == pytest.approx(110.0)  # geometric mean of 100 and 121
    # 2002 -> 2010 is 8 years apart (> 5): no value in between; never extrapolated
    assert np.isnan(got[3]) and np.isnan(got[5]) and np.isnan(got[6])
    assert np.isnan(ref.at("nowhere", [2000])).all()


def test_reference_value_is_observed_up_to_the_origin_and_forecast_after():
    """Grew linearly to 2005 (LIN/EXP: linear), then jumped to 200 in 2010: from 2005 the
    reference forecasts 120 for 2010 and never reads the later observation."""
    s = pd.Series(
        [100.0, 102.0, 104.0, 106.0, 108.0, 110.0, 200.0], index=[*range(2000, 2006), 2010]
    )
    ref = Reference({COUNTRY: s})
    got = ref.value(COUNTRY, 2005, [2004, 2010])
    assert got.tolist() == pytest.approx([108.0, 120.0])
    assert ref.value(COUNTRY, 2010, [2010])[0] == pytest.approx(200.0)
    assert ref.up_to(2005).series[COUNTRY].index.max() == 2005
