"""Regime scaling of the intervals (issue 11, forecast.regime): nominal coverage in calm and
shock regimes on SYNTHETIC data, no leakage, and the bad-input paths."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from forecast.config import EngineConfig
from forecast.engine import TargetForecaster
from forecast.intervals import ConformalIntervals, SharedShockIntervals
from forecast.io import read_dataset
from forecast.pipeline import calibration_table
from forecast.regime import RegimeScaled, RegimeSignal, recent_errors, regime_signal

from .conftest import FixedIntervals, synthetic_panel, write_dataset

CALM = {"common": 0.0, "relative": 0.015}
SHOCK = {"common": 0.06, "relative": 0.04}  # a common shock of known size: +-6% at +1


def _errors(rng, regime: dict, n_units: int, spans=(1, 2)) -> pd.DataFrame:
    """SYNTHETIC errors of one origin: a common error of +-`common` per year (random sign) and
    unit errors N(0, `relative`) per year, both growing like the span."""
    sign = rng.choice([-1.0, 1.0])
    rows = []
    for s in spans:
        rel = rng.normal(0, regime["relative"] * s, n_units)
        rows.append(
            pd.DataFrame({"span": s, "p0": 1e4, "error": sign * regime["common"] * s + rel})
        )
    return pd.concat(rows, ignore_index=True)


def _calibrated(rng, now: dict):
    """Calibration pooled over three origins (offsets 10, 5, 2): two from the other regime,
    the latest (offset 2, whose +1/+2 errors end at the origin) from the regime the origin is
    in; intervals from all three (shared shock, residuals whole, no national history)."""
    other = SHOCK if now is CALM else CALM
    parts = []
    for cal_origin, regime in ((1990, other), (1995, other), (1998, now)):
        parts.append(_errors(rng, regime, 300).assign(cal_origin=cal_origin))
    residuals = pd.concat(parts, ignore_index=True)
    intervals = SharedShockIntervals(reference_errors=None, max_span=2, min_cell=30)
    return intervals.fit(residuals.drop(columns="cal_origin")), residuals


@pytest.mark.parametrize("now", [CALM, SHOCK], ids=["calm", "shock"])
def test_regime_scaling_covers_nominal_in_calm_and_shock(now):
    """SYNTHETIC: the regime persists from the latest calibration origin into the forecast
    years. Pooled conformal intervals are too wide in calm years and too narrow in a shock;
    scaled by the recent errors' score, 200 later origins of 300 units each are covered
    about 80% in both."""
    rng = np.random.default_rng(11 if now is CALM else 12)
    intervals, residuals = _calibrated(rng, now)
    signal = regime_signal(intervals, residuals, 2000, level=0.8, bounds=(0.2, 5.0))
    assert signal.cal_origin == 1998 and signal.n == 600
    scaled = RegimeScaled(intervals, signal.factor)
    future = pd.concat([_errors(rng, now, 300) for _ in range(200)], ignore_index=True)
    covered = {}
    for name, iv in (("pooled", intervals), ("scaled", scaled)):
        lo, hi = iv.quantiles(future["span"], future["p0"])
        covered[name] = float(((future["error"] >= lo) & (future["error"] <= hi)).mean())
    assert 0.74 <= covered["scaled"] <= 0.86, covered
    if now is CALM:
        assert signal.factor < 0.8 and covered["pooled"] > 0.9, (signal, covered)
    else:
        assert signal.factor > 1.2 and covered["pooled"] < 0.7, (signal, covered)


def test_power_zero_and_bounds_limit_the_factor():
    rng = np.random.default_rng(3)
    intervals, residuals = _calibrated(rng, SHOCK)
    raw = regime_signal(intervals, residuals, 2000, level=0.8, bounds=(0.2, 5.0))
    assert raw.factor == pytest.approx(raw.score) and raw.score > 1.25
    assert regime_signal(intervals, residuals, 2000, level=0.8, power=0.0).factor == 1.0
    capped = regime_signal(intervals, residuals, 2000, level=0.8, bounds=(0.8, 1.25))
    assert capped.factor == 1.25 and capped.score == pytest.approx(raw.score)
    half = regime_signal(intervals, residuals, 2000, level=0.8, power=0.5, bounds=(0.2, 5.0))
    assert half.factor == pytest.approx(raw.score**0.5)


def test_power_zero_means_no_scaling_even_when_the_recent_errors_are_all_zero():
    """regime_power 0 is documented as no scaling; recent errors exactly at the interval's
    centre (score 0) must not fall to the lower bound then."""
    rng = np.random.default_rng(5)
    intervals, residuals = _calibrated(rng, CALM)
    lo, hi = intervals.quantiles(residuals["span"], residuals["p0"])
    latest = residuals["cal_origin"] == 1998
    still = residuals.assign(error=np.where(latest, (lo + hi) / 2, residuals["error"]))
    assert regime_signal(intervals, still, 2000, level=0.8).factor == 0.5  # score 0, power 1
    off = regime_signal(intervals, still, 2000, level=0.8, power=0.0)
    assert off.score == 0.0 and off.factor == 1.0


def test_scaled_intervals_keep_their_centre():
    r = pd.DataFrame({"span": 1, "p0": 1e4, "error": np.linspace(-0.1, 0.3, 101)})
    base = ConformalIntervals(symmetric=False, min_cell=30).fit(r)
    lo, hi = base.quantiles([1], [1e4])
    slo, shi = RegimeScaled(base, 0.5).quantiles([1], [1e4])
    np.testing.assert_allclose((slo + shi) / 2, (lo + hi) / 2)
    np.testing.assert_allclose(shi - slo, 0.5 * (hi - lo))
    table = RegimeScaled(base, 0.5).summary()
    row = table[(table["span"] == 1) & (table["size_class"] == -1)].iloc[0]
    assert (row["q_lo"], row["q_hi"]) == pytest.approx((slo[0], shi[0]))
    assert row["regime_factor"] == 0.5


def test_recent_errors_end_at_the_origin():
    """Only the latest calibration origin's errors whose outcome is at or before the origin."""
    r = pd.DataFrame(
        {
            "cal_origin": [1990, 1998, 1998, 1998, 1999, 1995, 1995],
            "span": [1, 1, 2, 3, 2, 4, 3],
            "p0": 1.0,
            "error": [0.5, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7],
        }
    )
    recent, latest = recent_errors(r, 2000)
    assert latest == 1998
    assert recent["error"].tolist() == [0.1, 0.2]  # span 3 ends 2001; 1999 + 2 = 2001
    assert recent_errors(r, 1990)[1] is None
    # every forecast that matured in 1999 or 2000, whatever its span (1995 + 3 = 1998: not)
    lately, latest = recent_errors(r, 2000, scope="last_years")
    assert latest == 1998
    assert sorted(lately["error"].tolist()) == [0.1, 0.2, 0.6]


def test_recent_errors_count_from_the_calibration_origin_not_a_stale_anchor():
    """`span` counts from the unit's anchor; where that lies before the calibration origin (a
    unit not observed at it), the outcome is the row's `year`, not cal_origin + span: a
    2-year change from a 1997 anchor ends in 1999 and is recent at origin 1999; every outcome
    in 1999-2000 is recent at 2000 under 'last_years', whatever its span."""
    r = pd.DataFrame(
        {
            "cal_origin": [1998, 1998, 1998, 1998],
            "span": [2, 3, 1, 4],  # anchors 1997, 1997, 1998, 1997
            "year": [1999, 2000, 1999, 2001],
            "p0": 1.0,
            "error": [0.1, 0.2, 0.3, 0.4],
        }
    )
    recent, latest = recent_errors(r, 2000)
    assert latest == 1998 and sorted(recent["error"].tolist()) == [0.1, 0.3]  # spans 1, 2
    lately, _ = recent_errors(r, 2000, scope="last_years")
    assert sorted(lately["error"].tolist()) == [0.1, 0.2, 0.3]
    assert recent_errors(r, 1999)[0]["error"].tolist() == [0.1, 0.3]


def test_too_few_recent_errors_leave_the_intervals_alone():
    rng = np.random.default_rng(4)
    intervals, residuals = _calibrated(rng, SHOCK)
    few = residuals[residuals["cal_origin"] < 1998].groupby("cal_origin").head(10)
    signal = regime_signal(intervals, few, 2000, level=0.8)
    assert signal.factor == 1.0 and signal.n == 10


def test_a_single_calibration_origin_gives_no_signal():
    """A short series calibrated at one origin only: the recent errors are the whole
    calibration, so they cannot tell the regime; the intervals stay as calibrated (with the
    same errors pooled over three origins the shock is seen)."""
    rng = np.random.default_rng(6)
    intervals, residuals = _calibrated(rng, SHOCK)
    assert regime_signal(intervals, residuals, 2000, level=0.8).factor > 1.2
    alone = residuals[residuals["cal_origin"] == 1998]
    fitted = SharedShockIntervals(reference_errors=None, max_span=2, min_cell=30).fit(
        alone.drop(columns="cal_origin")
    )
    signal = regime_signal(fitted, alone, 2000, level=0.8)
    assert (signal.factor, signal.n, signal.cal_origin) == (1.0, 0, 1998)


def test_bad_inputs_name_the_rule():
    with pytest.raises(ValueError, match=r"lack column\(s\) \['cal_origin'\] for the regime"):
        recent_errors(pd.DataFrame({"span": [1], "p0": [1.0], "error": [0.1]}), 2000)
    r = pd.DataFrame({"cal_origin": [1998], "span": [1], "p0": [1.0], "error": [0.1]})
    with pytest.raises(ValueError, match="regime scope must be one of"):
        recent_errors(r, 2000, scope="lately")
    with pytest.raises(ValueError, match="regime bounds must satisfy 0 < lower <= 1 <= upper"):
        regime_signal(None, pd.DataFrame(), 2000, level=0.8, bounds=(1.2, 2.0))
    with pytest.raises(ValidationError, match="regime_bounds must be"):
        EngineConfig(regime_bounds=(0.0, 2.0))
    with pytest.raises(ValidationError, match="regime_scaling"):
        EngineConfig(regime_scaling="sometimes")


@pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")
def test_the_signal_reads_nothing_after_the_origin(tmp_path, fast_config):
    """No leakage: outcomes after the origin changed at random, the regime signal, the factor
    and the intervals at the origin stay exactly the same."""
    panel, units = synthetic_panel(n_units=80, seed=5, noise=0.03)
    config = fast_config.model_copy(
        update={
            "calibration_offsets": [2, 5],
            "regime_scaling": "recent_errors",
            "regime_bounds": (0.2, 5.0),
        }
    )
    later = panel["year"] > 2000
    shaken = panel.copy()
    rng = np.random.default_rng(0)
    moved = shaken.loc[later, "population"] * np.exp(rng.normal(0, 0.3, int(later.sum())))
    shaken.loc[later, "population"] = moved.round().astype(shaken["population"].dtype)
    fits = []
    for name, p in (("a", panel), ("b", shaken)):
        data = read_dataset(write_dataset(tmp_path / name, p, units))
        tf = TargetForecaster(target="population", config=config).fit(data, 2000)
        fits.append((tf.regime_, tf.forecast(data, [1, 5]).table))
    (sig_a, t_a), (sig_b, t_b) = fits
    assert sig_a is not None and sig_a.cal_origin == 1998 and sig_a.n > 0
    assert sig_a.factor != 1.0  # the scaling is on, so the comparison below means something
    assert sig_a == sig_b
    pd.testing.assert_frame_equal(t_a[["lower", "upper"]], t_b[["lower", "upper"]])


def _calm_then_shock(seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SYNTHETIC panel 1980-2010: units grow at their own rate with noise of sd 4% a year up
    to 1996, 0.5% in the calm years 1997-2000, and from 2001 4% again plus a common shock of
    -3% a year shared by half the units (the calm stretch ends at the origin 2000)."""
    panel, units = synthetic_panel(n_units=150, seed=seed, noise=0.0)
    rng = np.random.default_rng(seed)
    wide = panel.pivot(index="unit_id", columns="year", values="population").astype(float)
    years = wide.columns.to_numpy()
    sd = np.where(years <= 1996, 0.04, np.where(years <= 2000, 0.005, 0.04))
    steps = rng.normal(0, 1, wide.shape) * sd
    hit = np.arange(len(wide)) % 2 == 0
    steps[np.ix_(hit, years > 2000)] -= 0.03
    wide = wide * np.exp(np.cumsum(steps, axis=1))
    long = wide.round().stack().rename("population").reset_index()
    return long.astype({"population": "int64"}), units


@pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")
def test_the_lower_bound_floors_the_narrowing_before_a_shock(tmp_path, fast_config):
    """SYNTHETIC calm-then-shock panel: the latest calibration origin's +1/+2 errors (the calm
    1999-2000) score far below the pooled calibration, so the factor is the lower bound; every
    scaled interval is exactly `lower` times the calibrated (unscaled) width, never narrower,
    and the higher floor covers more of the shock that follows."""
    panel, units = _calm_then_shock()
    data = read_dataset(write_dataset(tmp_path / "calm_shock", panel, units))
    config = fast_config.model_copy(update={"calibration_offsets": [2, 5, 10]})
    actual = panel.rename(columns={"population": "actual"})
    fits = {}
    for lower in (None, 0.5, 0.9):
        cfg = config
        if lower is not None:
            cfg = config.model_copy(
                update={"regime_scaling": "recent_errors", "regime_bounds": (lower, 2.0)}
            )
        tf = TargetForecaster(target="population", config=cfg).fit(data, 2000)
        t = tf.forecast(data, [1, 5, 10]).table.merge(actual, on=["unit_id", "year"])
        fits[lower] = (tf.regime_, t.assign(width=np.log(t["upper"] / t["lower"])))
    calibrated = fits[None][1]["width"].to_numpy()
    assert np.isfinite(calibrated).all() and (calibrated > 0).all()
    covered = {}
    for lower in (0.5, 0.9):
        signal, t = fits[lower]
        assert signal.score < 0.5 and signal.factor == lower, signal
        np.testing.assert_allclose(t["width"].to_numpy(), lower * calibrated, rtol=1e-9)
        inside = (t["actual"] >= t["lower"]) & (t["actual"] <= t["upper"])
        covered[lower] = float(inside.mean())
    assert covered[0.9] > covered[0.5], covered


def test_regime_bounds_messages_name_the_key():
    for bad in [(1.2, 2.0), (0.5, 0.9), (-0.1, 2.0)]:
        with pytest.raises(ValidationError, match=r"regime_bounds must be \[lower, upper\] with"):
            EngineConfig(regime_bounds=bad)
    with pytest.raises(ValidationError, match="regime_power"):
        EngineConfig(regime_power=-0.5)


def test_calibration_table_carries_the_factor_on_every_row_when_scaling_is_on():
    """interval_calibration.csv: regime_factor (and score) on every row of a target whose
    config asked for regime scaling, factor 1 included; absent where scaling is off."""
    targets = {
        "population": SimpleNamespace(
            intervals_=FixedIntervals(0.05), regime_=RegimeSignal(1.0, 1.0, 40, 1998)
        ),
        "employment": SimpleNamespace(intervals_=FixedIntervals(0.1), regime_=None),
        "wages": SimpleNamespace(intervals_=None, regime_=None),
    }
    table = calibration_table(targets)
    assert list(table["target"]) == ["population", "employment"]
    pop = table[table["target"] == "population"]
    assert (pop["regime_factor"] == 1.0).all() and (pop["regime_score"] == 1.0).all()
    assert table.loc[table["target"] == "employment", "regime_factor"].isna().all()
    assert calibration_table({"wages": targets["wages"]}) is None
