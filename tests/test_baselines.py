"""The demographic baselines on hand-computable series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import baselines as b


def obs(unit: str, years, values) -> pd.DataFrame:
    return pd.DataFrame(
        {"unit_id": unit, "year": list(years), "value": list(values)}, dtype=object
    ).astype({"year": int, "value": float})


def test_anchor_uses_observation_at_least_base_years_back():
    a = b.anchors(
        obs("A", [1990, 1995, 2000, 2005], [100, 110, 120, 130]), origin=2005, base_years=10
    )
    assert a.loc["A"].tolist() == [2005, 130, 1995, 110]


def test_anchor_irregular_years_takes_nearest_earlier_observation():
    # census years: nothing exactly 10 years back; 1989 is the latest at least 10 years before 2001
    a = b.anchors(obs("A", [1979, 1989, 1999, 2001], [50, 60, 70, 72]), origin=2003, base_years=10)
    assert a.loc["A"].tolist() == [2001, 72, 1989, 60]


def test_anchor_short_history_falls_back_to_earliest():
    a = b.anchors(obs("A", [2015, 2020], [90, 100]), origin=2021, base_years=10)
    assert a.loc["A"].tolist() == [2020, 100, 2015, 90]


def test_anchor_ignores_everything_after_origin():
    a = b.anchors(obs("A", [2000, 2010, 2020], [1, 2, 3]), origin=2015)
    assert a.loc["A", "t0"] == 2010 and a.loc["A", "p0"] == 2


def test_lin_is_exact_on_a_linear_trend():
    years = np.arange(1990, 2011)
    a = b.anchors(obs("A", years, 1000 + 25 * (years - 1990)), origin=2010).loc["A"]
    target = np.array([2011, 2015, 2020])
    assert b.lin(a.p0, a.t0, a.pb, a.tb, target) == pytest.approx(1000 + 25 * (target - 1990))


def test_exp_is_exact_on_a_geometric_trend():
    years = np.arange(1990, 2011)
    a = b.anchors(obs("A", years, 1000 * 0.98 ** (years - 1990)), origin=2010).loc["A"]
    assert b.exp(a.p0, a.t0, a.pb, a.tb, 2020) == pytest.approx(1000 * 0.98**30)


def test_lin_exp_chooses_by_direction_of_the_base_period():
    # grew 100 -> 120 over 10 years: linear, +2 a year
    assert b.lin_exp(120, 2010, 100, 2000, 2015) == pytest.approx(130)
    # declined 120 -> 100: exponential at (100/120)^(1/10) a year
    assert b.lin_exp(100, 2010, 120, 2000, 2020) == pytest.approx(100 * (100 / 120))


def test_lin_never_negative():
    assert np.isnan(b.lin(10, 2010, 100, 2000, 2030))


def test_single_observation_is_naive():
    assert b.lin(50, 2010, np.nan, np.nan, 2020) == pytest.approx(50)
    assert b.exp(50, 2010, np.nan, np.nan, 2020) == pytest.approx(50)


def test_csp_keeps_the_share_of_the_region():
    # 10% of a region of 1000 that is forecast at 1200
    assert b.csp(100, 1000, 1200) == pytest.approx(120)


def test_vsg_keeps_the_share_of_growth():
    # the unit took 30 of the region's 100 growth (30%); region grows 200 more -> +60
    assert b.vsg(p0=130, pb=100, r0=1100, rb=1000, r_hat=1300) == pytest.approx(190)


def test_csp_vsg_and_average():
    kw = dict(p0=130.0, pb=100.0, r0=1100.0, rb=1000.0, r_hat=1300.0)
    csp = 130 / 1100 * 1300
    assert b.csp_vsg(**kw) == pytest.approx((csp + 190) / 2)
    lin = 130 + 3 * 10  # grew 30 in 10 years, 10 more years
    assert b.average(t0=2010, tb=2000, year=2020, **kw) == pytest.approx(
        (lin + (csp + 190) / 2) / 2
    )


def test_average_without_reference_is_lin_exp():
    assert b.average(120, 2010, 100, 2000, 2015, np.nan, np.nan, np.nan) == pytest.approx(130)


def test_all_baselines_table():
    frame = pd.DataFrame({"p0": [120.0], "t0": [2010], "pb": [100.0], "tb": [2000], "year": [2015]})
    out = b.all_baselines(frame)
    assert list(out.columns) == list(b.BASELINES)
    assert out.loc[0, "naive"] == 120 and out.loc[0, "lin"] == pytest.approx(130)
    assert out.loc[0, "csp_vsg"] == 120  # no reference: documented fallback to naive
