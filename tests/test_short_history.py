"""Intervals for a target with a short history (issue 11: US employment is observed from 1990,
so the 1991-1993 origins had no calibration origin and no interval)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from forecast.config import EngineConfig
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


@pytest.mark.parametrize("relative", ["net_of_national", "total", "net_of_unit_mean"])
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
    elif relative == "net_of_unit_mean":
        # calibration origins 1997 (spans 1-3) and 1992 (spans 1-8): the common part is the
        # median error of the units at the same origin and span
        for span, rows in res.groupby("span"):
            assert rows["ref_error"].nunique() == (2 if span <= 3 else 1)
            if span > 3:
                np.testing.assert_allclose(rows["ref_error"], rows["error"].median())
    else:  # the synthetic total grows unevenly: its projection errs, and that is taken out
        assert (res["ref_error"].abs() > 1e-6).any()


def test_one_year_changes_shared_add_the_national_backtest_errors(
    tmp_path, fast_config, monkeypatch
):
    """'one_year_changes_shared' (kz_annual at 1994): the units' one-year relative changes are
    the relative part, the national projection's backtest errors over its long series the
    common part; the interval is wider than the relative part alone and never reads later
    national values."""
    import forecast.engine as engine

    panel, units = synthetic_panel(n_units=200, seed=3, noise=0.02, employment=True)
    panel.loc[panel["year"] < 1999, "employment"] = np.nan
    # SYNTHETIC national employment since 1960: growth of 2% a year, then a fall in the 1990s
    years = np.arange(1960, 2011)
    growth = np.where(years < 1990, 0.02, -0.03)
    country = pd.DataFrame({"year": years, "employment": 1e6 * np.exp(np.cumsum(growth))})
    data = read_dataset(write_dataset(tmp_path / "c", panel, units, **{"country.csv": country}))
    seen = []
    real = engine.interval_estimator

    def spy(config, reference_errors=None):
        seen.append(reference_errors)
        return real(config, reference_errors)

    monkeypatch.setattr(engine, "interval_estimator", spy)
    alone = fast_config.model_copy(update={"short_history_intervals": "one_year_changes"})
    shared = fast_config.model_copy(update={"short_history_intervals": "one_year_changes_shared"})
    a = _employment(Forecaster(config=alone).fit(data, 2000), data, [1, 5])
    n_alone = len(seen)
    b = _employment(Forecaster(config=shared).fit(data, 2000), data, [1, 5])
    national = seen[n_alone:]
    assert any(e is not None and len(e) > 100 for e in national)  # origins since 1963
    for t in (a, b):
        assert np.isfinite(t[["lower", "upper"]].to_numpy()).all()
    # at one year both use the one-year changes as they are: the national part only widens
    # (longer spans scale by span ** interval_span_exponent instead of linearly)
    h1a, h1b = a[a["horizon"] == 1], b[b["horizon"] == 1]
    assert (np.log(h1b["upper"] / h1b["lower"]) > np.log(h1a["upper"] / h1a["lower"])).all()
    # later national values do not move the intervals
    later = country.copy()
    later.loc[later["year"] > 2000, "employment"] *= 0.5
    other = read_dataset(write_dataset(tmp_path / "d", panel, units, **{"country.csv": later}))
    c = _employment(Forecaster(config=shared).fit(other, 2000), other, [1, 5])
    np.testing.assert_allclose(c["upper"], b["upper"])


def test_one_year_changes_shared_need_a_national_history(tmp_path, fast_config):
    """Without a national series longer than the units' two years (no country.csv: the total
    is chained from the same units) there is no common part to add: no interval rather than
    one year's dispersion presented as an 80% range."""
    _, data = _jobs_from(tmp_path, 1999, "no_country")
    shared = fast_config.model_copy(update={"short_history_intervals": "one_year_changes_shared"})
    t = _employment(Forecaster(config=shared).fit(data, 2000), data, [1, 5])
    assert t["lower"].isna().all() and t["upper"].isna().all()
    assert t["forecast"].notna().all()


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


def _widths(config, data) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Log widths of the employment and population intervals at +1 and +5 from 2000."""
    f = Forecaster(config=config).fit(data, 2000).forecast(data, [1, 5])
    out = []
    for target in ("employment", "population"):
        t = f.targets[target].table
        out.append(t.assign(width=np.log(t["upper"] / t["lower"])))
    return out[0], out[1]


def _jobs_with_long_national(tmp_path, name: str):
    """SYNTHETIC: employment of the units from 1998 only, national employment since 1960
    (country.csv: growth of 1% a year with a fall in the early 1990s)."""
    panel, units = synthetic_panel(n_units=200, seed=3, noise=0.02, employment=True)
    panel.loc[panel["year"] < 1998, "employment"] = np.nan
    years = np.arange(1960, 2011)
    growth = np.where((years >= 1990) & (years < 1994), -0.03, 0.01)
    country = pd.DataFrame({"year": years, "employment": 1e6 * np.exp(np.cumsum(growth))})
    return read_dataset(write_dataset(tmp_path / name, panel, units, **{"country.csv": country}))


def test_short_span_exponent_applies_only_to_short_calibration(tmp_path, fast_config):
    """short_span_scope 'always' (the default): calibrated at +1/+2 only, the +5 interval is
    narrower with exponent 0.8 than linear, even without a national backtest (the units'
    employment from 1998 is the whole national series here); a target calibrated up to long
    spans (population here) is unchanged."""
    _, data = _jobs_from(tmp_path, 1998, "three_exp")
    base = fast_config.model_copy(update={"short_calibration_history": 2})
    short = base.model_copy(update={"short_span_exponent": 0.8})
    (ja, pa), (jb, pb) = _widths(base, data), _widths(short, data)
    h5, h1 = ja["horizon"] == 5, ja["horizon"] == 1
    assert (jb["width"][h5] < ja["width"][h5]).all()
    np.testing.assert_allclose(jb["width"][h1], ja["width"][h1])
    np.testing.assert_allclose(pa["upper"], pb["upper"])


def test_long_national_scope_keeps_linear_spans_without_a_national_backtest(tmp_path, fast_config):
    """short_span_scope 'long_national', national series no longer than the units' (chained
    from them, 1998-2000: its backtest never reaches +10): the +5 interval is the linear one,
    as without short_span_exponent."""
    _, data = _jobs_from(tmp_path, 1998, "three_scope")
    base = fast_config.model_copy(update={"short_calibration_history": 2})
    scoped = base.model_copy(
        update={"short_span_exponent": 0.8, "short_span_scope": "long_national"}
    )
    (ja, pa), (jb, pb) = _widths(base, data), _widths(scoped, data)
    assert np.isfinite(jb["width"]).all()
    np.testing.assert_allclose(jb["width"], ja["width"])
    np.testing.assert_allclose(pa["upper"], pb["upper"])


def test_long_national_scope_applies_the_exponent_with_a_long_national_backtest(
    tmp_path, fast_config
):
    """short_span_scope 'long_national' with national employment since 1960 (a backtest at
    every horizon up to +10): the +5 interval is narrower than linear, the +1 one unchanged,
    exactly as with scope 'always'."""
    data = _jobs_with_long_national(tmp_path, "long_national")
    base = fast_config.model_copy(update={"short_calibration_history": 2})
    always = base.model_copy(update={"short_span_exponent": 0.8})
    scoped = always.model_copy(update={"short_span_scope": "long_national"})
    (ja, _), (jb, _), (jc, _) = _widths(base, data), _widths(scoped, data), _widths(always, data)
    h5, h1 = ja["horizon"] == 5, ja["horizon"] == 1
    assert (jb["width"][h5] < ja["width"][h5]).all()
    np.testing.assert_allclose(jb["width"][h1], ja["width"][h1])
    np.testing.assert_allclose(jb["width"], jc["width"])


@pytest.mark.parametrize("national", [False, True], ids=["no_national", "long_national"])
def test_long_national_scope_on_one_year_change_intervals(tmp_path, fast_config, national):
    """The one-year-changes intervals (no calibration origin) follow the same condition:
    with scope 'long_national' the +4 interval is 4 ** 0.8 times the +1 one only where the
    national backtest reaches the longest horizon, 4 times it otherwise."""
    if national:
        data = _jobs_with_long_national(tmp_path, "one_year_national")
    else:
        _, data = _jobs_from(tmp_path, 1998, "one_year_alone")
    cfg = fast_config.model_copy(
        update={
            "short_history_intervals": "one_year_changes",
            "size_breaks": [],
            "short_span_exponent": 0.8,
            "short_span_scope": "long_national",
        }
    )
    t = _employment(Forecaster(config=cfg).fit(data, 1999), data, [1, 4])
    up = np.log(t["upper"] / t["forecast"]).to_numpy()
    h1, h4 = up[t["horizon"].to_numpy() == 1], up[t["horizon"].to_numpy() == 4]
    np.testing.assert_allclose(h4, h1 * (4**0.8 if national else 4.0))


def test_short_span_scope_is_validated():
    with pytest.raises(ValidationError, match="short_span_scope"):
        EngineConfig(short_span_scope="sometimes")
