"""Census re-basing splice and feature-availability consistency (kz_annual accuracy work)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from forecast.engine import Forecaster, TargetForecaster
from forecast.features import inconsistent_features
from forecast.io import read_dataset
from forecast.rebasing import (
    RebasingRisk,
    breaks,
    breaks_between,
    relative_breaks,
    splice,
    spliced,
)

from .conftest import FixedIntervals, synthetic_panel, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")


def _series(values: dict[int, float], key: str = "A") -> pd.DataFrame:
    return pd.DataFrame({"unit_id": key, "year": list(values), "value": list(values.values())})


def test_break_is_the_growth_beyond_the_years_before():
    # +1% a year, then a census year 2009 with +11%: a break of log(1.11) - log(1.01)
    years = range(2003, 2013)
    v, values = 1000.0, {}
    for y in years:
        v *= 1.11 if y == 2009 else 1.01
        values[y] = v
    b = breaks(_series(values), [2009])
    assert b["year"].tolist() == [2009]
    assert b["jump"].iloc[0] == pytest.approx(np.log(1.11) - np.log(1.01))


def test_splice_moves_the_years_before_to_the_new_level_and_keeps_the_rest():
    values = {2006: 100.0, 2007: 101.0, 2008: 102.01, 2009: 120.0, 2010: 121.2}
    out = splice(_series(values), [2009]).set_index("year")["value"]
    # after splicing, 2008 -> 2009 grows like the years before it (1%)
    assert out[2009] / out[2008] == pytest.approx(1.01)
    assert out[2007] / out[2006] == pytest.approx(1.01)
    assert out[2009] == 120.0 and out[2010] == 121.2


def test_splice_leaves_a_key_without_the_year_before_alone():
    values = {2005: 100.0, 2009: 130.0, 2010: 131.0}
    pd.testing.assert_frame_equal(splice(_series(values), [2009]), _series(values))


def test_spliced_dataset_reads_nothing_after_the_origin(tmp_path):
    """No leakage: splicing at an origin is the same whatever happens later, and re-basing years
    after the origin are ignored."""
    panel, units = synthetic_panel(n_units=8, seed=1)
    data = read_dataset(write_dataset(tmp_path / "a", panel, units))
    later = panel.copy()
    m = later["year"] > 2000
    later.loc[m, "population"] = later.loc[m, "population"] * 3
    data2 = read_dataset(write_dataset(tmp_path / "b", later, units))
    years = {"population": [1995, 2005]}
    a = spliced(data.up_to(2000), years, 2000).panel
    b = spliced(data2.up_to(2000), years, 2000).panel
    pd.testing.assert_frame_equal(a, b)
    only_1995 = spliced(data.up_to(2000), {"population": [1995]}, 2000).panel
    pd.testing.assert_frame_equal(a, only_1995)


def test_inconsistent_features_compares_training_and_anchor_availability():
    train = pd.DataFrame(
        {
            "always": np.ones(10),
            "late": [np.nan] * 9 + [1.0],  # 10% of the pairs, all anchors
            "weighted": [np.nan] * 5 + [1.0] * 5,
        }
    )
    anchors = pd.DataFrame({"always": [1.0, 2.0], "late": [1.0, 1.0], "weighted": [1.0, 1.0]})
    assert inconsistent_features(train, np.ones(10), anchors, 0.3) == ["late", "weighted"]
    # the recent pairs (weight 1) have the feature: weighted availability 0.98
    w = np.array([0.01] * 5 + [1.0] * 5)
    assert inconsistent_features(train, w, anchors, 0.3) == ["late"]
    assert inconsistent_features(train, w, anchors.drop(columns="always"), 0.3) == [
        "always",
        "late",
    ]


def _with_late_indicator(panel: pd.DataFrame) -> pd.DataFrame:
    """SYNTHETIC: an indicator observed only in the last three years (a late survey)."""
    out = panel.copy()
    late = out["year"] >= 2008
    out["survey"] = np.where(late, out["population"] * 0.4, np.nan)
    return out


def test_feature_consistency_drops_a_late_feature_and_forecasts_without_it(tmp_path, fast_config):
    panel, units = synthetic_panel(n_units=30, seed=4)
    data = read_dataset(write_dataset(tmp_path / "s", _with_late_indicator(panel), units))
    cfg = fast_config.model_copy(update={"feature_consistency": 0.3})
    tf = TargetForecaster(target="population", config=cfg).fit(data, 2010, calibrate=False)
    assert "survey_share" in tf.dropped_features_
    assert "survey_share" not in tf.model_.feature_names_
    fc = tf.forecast(data, [1, 5])
    assert "survey_share" not in fc.X.columns
    assert np.isfinite(fc.table["model"]).all()
    plain = TargetForecaster(target="population", config=fast_config).fit(
        data, 2010, calibrate=False
    )
    assert plain.dropped_features_ == []
    assert "survey_share" in plain.model_.feature_names_


def test_rebasing_config_is_leak_free_end_to_end(tmp_path, fast_config):
    panel, units = synthetic_panel(n_units=30, seed=6)
    cfg = fast_config.model_copy(
        update={"rebasing_years": {"population": [1995, 2005]}, "feature_consistency": 0.5}
    )
    data = read_dataset(write_dataset(tmp_path / "a", panel, units))
    a = Forecaster(config=cfg).fit(data, 2003).forecast(data, [1, 5]).table()
    changed = panel.copy()
    later = changed["year"] > 2003
    changed.loc[later, "population"] = changed.loc[later, "population"] * 2
    data2 = read_dataset(write_dataset(tmp_path / "b", changed, units))
    b = Forecaster(config=cfg).fit(data2, 2003).forecast(data2, [1, 5]).table()
    pd.testing.assert_frame_equal(a, b)


def test_rebasing_changes_the_model_not_the_baselines(tmp_path, fast_config):
    panel, units = synthetic_panel(n_units=30, seed=7)
    jump = panel["year"] >= 2005  # SYNTHETIC re-basing: every unit 8% lower from 2005
    panel.loc[jump, "population"] = (panel.loc[jump, "population"] * 0.92).round()
    data = read_dataset(write_dataset(tmp_path / "j", panel, units))
    cfg = fast_config.model_copy(update={"rebasing_years": {"population": [2005]}})
    plain = TargetForecaster(target="population", config=fast_config).fit(
        data, 2008, calibrate=False
    )
    spliced_fc = TargetForecaster(target="population", config=cfg).fit(data, 2008, calibrate=False)
    a = plain.forecast(data, [5]).table.set_index("unit_id")
    b = spliced_fc.forecast(data, [5]).table.set_index("unit_id")
    for base in ("naive", "lin", "csp_vsg"):
        pd.testing.assert_series_equal(a[base], b[base])
    # the plain model learns the one-off drop as decline; the spliced one does not
    growth = np.log(panel.query("year == 2004").set_index("unit_id")["population"])
    growth -= np.log(panel.query("year == 1999").set_index("unit_id")["population"])
    truth = (a["p0"] * np.exp(growth.reindex(a.index))).to_numpy()
    err_plain = np.mean(np.abs(np.log(a["model"].to_numpy() / truth)))
    err_spliced = np.mean(np.abs(np.log(b["model"].to_numpy() / truth)))
    assert err_spliced < err_plain


def test_rebasing_risk_covers_the_mixture_at_the_nominal_level():
    rng = np.random.default_rng(0)
    jumps = rng.normal(0, 0.1, 400)
    risk = RebasingRisk(FixedIntervals(0.01), jumps, period=10, level=0.8)
    lo, hi = risk.quantiles([2, 5, 10, 20], [1e4] * 4)
    assert (hi > 0.01 * np.array([2, 5, 10, 20])).all() and np.allclose(lo, -hi)
    assert np.all(np.diff(hi) > 0)
    # simulate: normal base error of the base interval's width, a jump with prob. span / 10
    sigma = 0.05 / norm.ppf(0.9)
    n = 200_000
    e = rng.normal(0, sigma, n) + np.where(rng.random(n) < 0.5, rng.choice(jumps, n), 0.0)
    assert np.mean(np.abs(e) <= hi[1]) == pytest.approx(0.8, abs=0.01)
    assert risk.summary().equals(FixedIntervals(0.01).summary())


def test_relative_breaks_and_the_breaks_between_anchor_and_outcome(tmp_path):
    panel, units = synthetic_panel(n_units=6, seed=2)
    hit = (panel["unit_id"] == "SYN001") & (panel["year"] >= 2005)
    panel.loc[hit, "population"] = (panel.loc[hit, "population"] * 1.2).round()
    data = read_dataset(write_dataset(tmp_path / "b", panel, units))
    b = relative_breaks(data, "population", [2005, 2030], 2008)
    assert set(b["year"]) == {2005}
    jump = b.set_index("unit_id")["jump"]
    assert jump["SYN001"] == pytest.approx(np.log(1.2), abs=0.03)
    assert jump.drop("SYN001").abs().max() < 0.03
    rows = pd.DataFrame(
        {
            "unit_id": ["SYN001", "SYN001", "SYN001"],
            "t0": [2003, 2005, 2000],
            "year": [2006, 2007, 2004],
        }
    )
    assert breaks_between(rows, b).tolist() == [jump["SYN001"], 0.0, 0.0]
    assert relative_breaks(data, "population", [2005], 2004).empty


def test_rebasing_risk_config_gives_wider_intervals_and_is_leak_free(tmp_path, fast_config):
    panel, units = synthetic_panel(n_units=30, seed=8)
    jump = (panel["year"] >= 2000) & panel["unit_id"].isin([f"SYN{i:03d}" for i in range(10)])
    panel.loc[jump, "population"] = (panel.loc[jump, "population"] * 0.85).round()
    data = read_dataset(write_dataset(tmp_path / "r", panel, units))
    years = {"population": [2000]}
    plain = fast_config.model_copy(update={"rebasing_years": years})
    risky = plain.model_copy(update={"rebasing_risk_period": 10.0})
    a = Forecaster(config=plain).fit(data, 2008).forecast(data, [5]).table()
    b = Forecaster(config=risky).fit(data, 2008).forecast(data, [5]).table()
    pd.testing.assert_series_equal(a["forecast"], b["forecast"])
    assert ((b["upper"] - b["lower"]) > (a["upper"] - a["lower"])).all()
    changed = panel.copy()
    later = changed["year"] > 2008
    changed.loc[later, "population"] = changed.loc[later, "population"] * 3
    data2 = read_dataset(write_dataset(tmp_path / "r2", changed, units))
    c = Forecaster(config=risky).fit(data2, 2008).forecast(data2, [5]).table()
    pd.testing.assert_frame_equal(b, c)
