"""Intervals for a target with a short history (issue 11: US employment is observed from 1990,
so the 1991-1993 origins had no calibration origin and no interval)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.engine import Forecaster
from forecast.intervals import conformal_quantile
from forecast.io import read_dataset

from .conftest import synthetic_panel, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")


def _jobs_from(tmp_path, first_year: int, name: str, seed: int = 3):
    """SYNTHETIC panel: population 1980-2010, employment observed from `first_year` only."""
    panel, units = synthetic_panel(n_units=200, seed=seed, noise=0.02, employment=True)
    panel.loc[panel["year"] < first_year, "employment"] = np.nan
    return panel, read_dataset(write_dataset(tmp_path / name, panel, units))


def _employment(fc: Forecaster, data, horizons) -> pd.DataFrame:
    return fc.forecast(data, horizons).targets["employment"].table


def test_three_years_calibrate_at_the_latest_year_with_two(tmp_path, fast_config):
    _, data = _jobs_from(tmp_path, 1998, "three")
    # the project's default: a calibration origin needs 3 years; 1997 and 1992 have none
    t = _employment(Forecaster(config=fast_config).fit(data, 2000), data, [1, 5])
    assert t["lower"].isna().all() and t["upper"].isna().all()
    short = fast_config.model_copy(update={"short_calibration_history": 2})
    tf = Forecaster(config=short).fit(data, 2000).targets_["employment"]
    assert tf._calibration_origins(data) == [1999]  # 2 years behind it (1998, 1999)
    t = _employment(Forecaster(config=short).fit(data, 2000), data, [1, 5])
    assert np.isfinite(t[["lower", "upper"]].to_numpy()).all()
    assert (t["lower"] < t["forecast"]).all() and (t["forecast"] < t["upper"]).all()


def test_two_years_take_the_interval_of_the_observed_one_year_changes(tmp_path, fast_config):
    panel, data = _jobs_from(tmp_path, 1999, "two")
    cfg = fast_config.model_copy(
        update={"short_history_intervals": "one_year_changes", "size_breaks": []}
    )
    fc = Forecaster(config=cfg).fit(data, 2000)
    t = _employment(fc, data, [1, 2, 4])
    # by hand: |one-year change 1999 -> 2000 relative to the total's|, conformal 80% quantile
    jobs = panel.pivot(index="unit_id", columns="year", values="employment")
    rel = np.log(jobs[2000] / jobs[1999]) - np.log(jobs[2000].sum() / jobs[1999].sum())
    q = conformal_quantile(np.abs(rel.to_numpy()), 0.8)
    for span in (1, 2, 4):
        rows = t[t["horizon"] == span]
        np.testing.assert_allclose(np.log(rows["upper"] / rows["forecast"]), q * span)
        np.testing.assert_allclose(np.log(rows["forecast"] / rows["lower"]), q * span)
    # the one-year interval holds about 80% of next year's outcomes (stationary noise)
    h1 = t[t["horizon"] == 1].merge(
        panel[["unit_id", "year", "employment"]], on=["unit_id", "year"]
    )
    inside = (h1["employment"] >= h1["lower"]) & (h1["employment"] <= h1["upper"])
    assert 0.7 <= inside.mean() <= 0.95, inside.mean()
    # without the option: no interval, as before
    t = _employment(Forecaster(config=fast_config).fit(data, 2000), data, [1])
    assert t["lower"].isna().all()


def test_one_year_change_intervals_never_read_after_the_origin(tmp_path, fast_config):
    panel, data = _jobs_from(tmp_path, 1999, "a")
    later = panel.astype({"population": float, "employment": float})
    after = later["year"] > 2000
    later.loc[after, "employment"] = later.loc[after, "employment"] * 3.0
    later.loc[after, "population"] = later.loc[after, "population"] * 0.5
    _, units = synthetic_panel(n_units=200, seed=3, noise=0.02, employment=True)
    other = read_dataset(write_dataset(tmp_path / "b", later, units))
    cfg = fast_config.model_copy(update={"short_history_intervals": "one_year_changes"})
    a = _employment(Forecaster(config=cfg).fit(data, 2000), data, [1, 3])
    b = _employment(Forecaster(config=cfg).fit(other, 2000), other, [1, 3])
    pd.testing.assert_frame_equal(
        a[["unit_id", "year", "forecast", "lower", "upper"]],
        b[["unit_id", "year", "forecast", "lower", "upper"]],
    )


@pytest.mark.parametrize("relative", ["net_of_national", "total"])
def test_total_residuals_keep_the_realised_national_error(
    tmp_path, fast_config, monkeypatch, relative
):
    """interval_relative='total': the calibration residuals reach the shared-shock estimator
    whole (their national share is not taken out; the national backtest errors still add)."""
    import forecast.engine as engine

    seen = []
    real = engine.interval_estimator

    def spy(config, reference_errors=None):
        est = real(config, reference_errors)
        fit = est.fit

        def record(residuals):
            seen.append(residuals.copy())
            return fit(residuals)

        est.fit = record
        return est

    monkeypatch.setattr(engine, "interval_estimator", spy)
    panel, units = synthetic_panel(n_units=80, seed=5, noise=0.02)
    data = read_dataset(write_dataset(tmp_path / relative, panel, units))
    cfg = fast_config.model_copy(update={"interval_relative": relative})
    Forecaster(config=cfg).fit(data, 2000)
    (res,) = seen
    assert len(res) > 0 and res["error"].notna().all()
    if relative == "total":
        assert (res["ref_error"] == 0).all()
    else:  # the synthetic total grows unevenly: its projection errs, and that is taken out
        assert (res["ref_error"].abs() > 1e-6).any()


def test_short_span_exponent_scales_one_year_change_intervals_by_hand(tmp_path, fast_config):
    """issue 11: with `short_span_exponent` the one-year interval grows like span ** 0.8."""
    panel, data = _jobs_from(tmp_path, 1999, "two_exp")
    cfg = fast_config.model_copy(
        update={
            "short_history_intervals": "one_year_changes",
            "size_breaks": [],
            "short_span_exponent": 0.8,
        }
    )
    t = _employment(Forecaster(config=cfg).fit(data, 2000), data, [1, 4])
    jobs = panel.pivot(index="unit_id", columns="year", values="employment")
    rel = np.log(jobs[2000] / jobs[1999]) - np.log(jobs[2000].sum() / jobs[1999].sum())
    q = conformal_quantile(np.abs(rel.to_numpy()), 0.8)
    for span in (1, 4):
        rows = t[t["horizon"] == span]
        np.testing.assert_allclose(np.log(rows["upper"] / rows["forecast"]), q * span**0.8)


def test_short_span_exponent_applies_only_to_short_calibration(tmp_path, fast_config):
    """Calibrated at +1/+2 only: the +5 interval is narrower with exponent 0.8 than linear;
    a target calibrated up to long spans (population here) is unchanged."""
    _, data = _jobs_from(tmp_path, 1998, "three_exp")
    base = fast_config.model_copy(update={"short_calibration_history": 2})
    short = base.model_copy(update={"short_span_exponent": 0.8})
    a = Forecaster(config=base).fit(data, 2000).forecast(data, [1, 5])
    b = Forecaster(config=short).fit(data, 2000).forecast(data, [1, 5])
    ja, jb = a.targets["employment"].table, b.targets["employment"].table
    wa = np.log(ja["upper"] / ja["lower"])
    wb = np.log(jb["upper"] / jb["lower"])
    assert (wb[ja["horizon"] == 5] < wa[ja["horizon"] == 5]).all()
    np.testing.assert_allclose(wb[ja["horizon"] == 1], wa[ja["horizon"] == 1])
    pa, pb = a.targets["population"].table, b.targets["population"].table
    np.testing.assert_allclose(pa["upper"], pb["upper"])
