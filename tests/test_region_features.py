"""Opt-in region-relative growth features (issue 11, `region_relative_features`): the values on a
hand-computable panel, and no leakage from after the origin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.engine import Forecaster
from forecast.features import FeatureBuilder
from forecast.io import read_dataset
from forecast.reference import Reference

from .conftest import synthetic_panel, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")


def _hand_panel(tmp_path):
    """Two units in region R (A grows 10 %/yr in log terms, B is flat), one in S."""
    years = range(2000, 2011)
    rows = []
    for y in years:
        rows.append(("A", y, round(1000 * np.exp(0.1 * (y - 2000)))))
        rows.append(("B", y, 1000))
        rows.append(("C", y, round(500 * np.exp(0.02 * (y - 2000)))))
    panel = pd.DataFrame(rows, columns=["unit_id", "year", "population"])
    units = pd.DataFrame(
        {"unit_id": ["A", "B", "C"], "name": ["a", "b", "c"], "region": ["R", "R", "S"]}
    )
    return read_dataset(write_dataset(tmp_path / "hand", panel, units)), panel


def test_region_relative_growth_is_the_units_growth_minus_its_regions(tmp_path):
    data, panel = _hand_panel(tmp_path)
    refs = {"population": Reference.from_dataset(data, "population", 10)}
    points = pd.DataFrame({"unit_id": ["A", "B", "C"], "t0": [2010, 2010, 2010]})
    off = FeatureBuilder(data, "population", refs).build(points)
    on = FeatureBuilder(data, "population", refs, region_relative=True).build(points)
    assert "pop_rel_region_growth_10y" not in off  # opt-in: the default model is unchanged
    wide = panel.pivot(index="year", columns="unit_id", values="population")
    r = wide["A"] + wide["B"]  # region R's total
    for k in (5, 10):
        region_k = np.log(r[2010] / r[2010 - k]) / k
        a_k = np.log(wide.loc[2010, "A"] / wide.loc[2010 - k, "A"]) / k
        assert on.loc[0, f"pop_rel_region_growth_{k}y"] == pytest.approx(a_k - region_k)
        assert on.loc[1, f"pop_rel_region_growth_{k}y"] == pytest.approx(-region_k)
        # C is its region alone: no growth relative to it
        assert on.loc[2, f"pop_rel_region_growth_{k}y"] == pytest.approx(0.0, abs=1e-3)
    # 20 years back from 2010 lies before the series (gap 10 < 20/2 is allowed; 2000 is used)
    assert on.loc[0, "pop_rel_region_growth_20y"] == pytest.approx(
        on.loc[0, "pop_rel_region_growth_10y"]
    )
    turn = on["pop_rel_growth_5y"] - on["pop_rel_growth_20y"]
    assert on["pop_rel_growth_change_5y_20y"].to_numpy() == pytest.approx(turn.to_numpy())


def test_region_relative_features_do_not_leak(tmp_path, fast_config):
    cfg = fast_config.model_copy(update={"region_relative_features": True})
    panel, units = synthetic_panel(n_units=30, seed=5)
    origin = 2000
    data = read_dataset(write_dataset(tmp_path / "a", panel, units))
    a = Forecaster(config=cfg).fit(data, origin).forecast(data).table()
    later = panel["year"] > origin
    changed = panel.copy()
    rng = np.random.default_rng(1)
    changed.loc[later, "population"] = (
        changed.loc[later, "population"] * rng.uniform(0.2, 5, later.sum())
    ).round()
    data2 = read_dataset(write_dataset(tmp_path / "b", changed, units))
    b = Forecaster(config=cfg).fit(data2, origin).forecast(data2).table()
    pd.testing.assert_frame_equal(a, b)
