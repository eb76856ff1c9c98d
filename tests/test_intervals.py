"""Conformal intervals: quantile rule, monotone widths, coverage on a panel with known noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.engine import Forecaster
from forecast.errors import InsufficientHistoryError
from forecast.intervals import (
    ConformalIntervals,
    SharedShockIntervals,
    conformal_quantile,
    reference_sample,
    size_class,
)
from forecast.io import read_dataset

from .conftest import synthetic_panel, write_dataset


def test_conformal_quantile_finite_sample_rule():
    r = np.arange(1, 10, dtype=float)  # n = 9
    assert conformal_quantile(r, 0.9) == 9.0  # ceil(10 * 0.9) = 9th
    assert conformal_quantile(r, 0.5) == 5.0
    assert conformal_quantile(r, 0.1) == 1.0  # floor(10 * 0.1) = 1st


def test_size_class_breaks():
    assert size_class([5_000, 10_000, 60_000, 1e6], [10_000, 50_000, 250_000]).tolist() == [
        0,
        1,
        2,
        3,
    ]


def test_widths_never_shrink_with_span_and_fill_gaps():
    rng = np.random.default_rng(0)
    rows = []
    for span in (1, 2, 3, 5):  # no span 4; span 3 noisier than 5 on purpose
        sd = 0.02 * span if span != 3 else 0.2
        rows += [{"span": span, "p0": 1e4, "error": e} for e in rng.normal(0, sd, 200)]
    ci = ConformalIntervals(level=0.8, min_cell=30).fit(pd.DataFrame(rows))
    lo, hi = ci.quantiles([1, 2, 3, 4, 5, 8], [1e4] * 6)
    width = hi - lo
    assert np.all(np.diff(width) >= 0)
    assert width[-1] == pytest.approx(width[-2] * 8 / 5)  # beyond the data: linear in span


def test_too_few_residuals_is_a_clear_error():
    with pytest.raises(InsufficientHistoryError, match=r"too few calibration residuals \(2\)"):
        ConformalIntervals().fit(
            pd.DataFrame({"span": [1, 2], "p0": [1.0, 1.0], "error": [0.1, 0.2]})
        )


@pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")
def test_coverage_close_to_nominal_on_synthetic_panel(tmp_path, fast_config):
    """SYNTHETIC panel, stationary noise: the 80% interval covers about 80% of outcomes."""
    panel, units = synthetic_panel(n_units=300, seed=21, noise=0.02)
    data = read_dataset(write_dataset(tmp_path / "cov", panel, units))
    fc = Forecaster(config=fast_config.model_copy(update={"calibration_offsets": [2, 4, 6, 8]}))
    fc.fit(data, 2000)
    t = fc.forecast(data, [1, 2, 3, 4, 5]).targets["population"].table
    actual = panel.rename(columns={"population": "actual"})[["unit_id", "year", "actual"]]
    m = t.merge(actual, on=["unit_id", "year"])
    covered = (m["actual"] >= m["lower"]) & (m["actual"] <= m["upper"])
    assert 0.72 <= covered.mean() <= 0.88, covered.mean()


def test_sparse_spans_are_pooled_into_bands():
    """Census-like data: few residuals per span. Spans pool until a band has min_cell rows, so
    long spans use long-span residuals instead of a line drawn from span 1."""
    rng = np.random.default_rng(1)
    rows = [{"span": 1, "p0": 1e4, "error": e} for e in rng.normal(0, 0.01, 30)]
    for span in (8, 10, 12):
        rows += [{"span": span, "p0": 1e4, "error": e} for e in rng.normal(0, 0.1, 12)]
    ci = ConformalIntervals(level=0.8, min_cell=30).fit(pd.DataFrame(rows))
    lo, hi = ci.quantiles([1, 12], [1e4, 1e4])
    assert hi[0] < 0.05
    assert 0.08 < hi[1] < 0.3  # from the span 8-12 residuals, not 12 x the span-1 width


def _shock_world(rng, shocks: bool, n_history: int = 40):
    """SYNTHETIC: a national error history (10-year horizon kept simple: one horizon, span 5)
    with or without common shocks of known size (+-0.10 in a fifth of the origins), and unit
    relative errors N(0, 0.03)."""

    def national(n):
        calm = rng.normal(0, 0.01, n)
        if not shocks:
            return calm
        hit = rng.random(n) < 0.2
        return calm + np.where(hit, rng.choice([-0.10, 0.10], n), 0.0)

    history = pd.DataFrame({"origin": range(n_history), "horizon": 5, "error": national(n_history)})
    return history, national


@pytest.mark.parametrize("halflife", [None, 10.0])
@pytest.mark.parametrize("shocks", [False, True])
def test_shared_shock_intervals_cover_nominal_with_and_without_shocks(shocks, halflife):
    """SYNTHETIC: calibration residuals come from two calm origins (what split conformal sees);
    the national history has shocks of known size or none. Over 400 later origins, each with
    its own common national error, the 80% interval covers about 80% of unit outcomes in both
    worlds, while plain conformal falls short where shocks happen."""
    rng = np.random.default_rng(5 if shocks else 6)
    history, national = _shock_world(rng, shocks)
    cal_ref = np.repeat(rng.normal(0, 0.01, 2), 300)  # two calm calibration origins
    rel = rng.normal(0, 0.03, 600)
    residuals = pd.DataFrame({"span": 5, "p0": 1e4, "error": rel + cal_ref, "ref_error": cal_ref})
    shared = SharedShockIntervals(
        reference_errors=history, max_span=5, min_cell=30, reference_halflife=halflife
    )
    shared.fit(residuals)
    plain = ConformalIntervals(min_cell=30).fit(residuals)
    common = national(400)
    outcome = common[:, None] + rng.normal(0, 0.03, (400, 200))
    lo, hi = shared.quantiles([5], [1e4])
    covered = ((outcome >= lo[0]) & (outcome <= hi[0])).mean()
    assert 0.75 <= covered <= 0.85, covered
    plo, phi = plain.quantiles([5], [1e4])
    plain_covered = ((outcome >= plo[0]) & (outcome <= phi[0])).mean()
    if shocks:
        assert plain_covered < 0.72, plain_covered
    else:
        assert abs(plain_covered - covered) < 0.05


def test_reference_errors_of_thin_horizons_scale_from_shorter_ones():
    errors = pd.DataFrame({"origin": [1, 2, 3], "horizon": [1, 1, 2], "error": [0.01, -0.02, 0.04]})
    values, weights = reference_sample(errors, 4, min_reference=8)
    np.testing.assert_allclose(values, [0.04, -0.08, 0.08])
    assert weights.tolist() == [1.0, 1.0, 1.0]
    values, _ = reference_sample(errors, 4, min_reference=8, exponent=0.5)
    np.testing.assert_allclose(values, [0.02, -0.04, 0.04 * 2**0.5])
    many = pd.DataFrame({"origin": range(8), "horizon": 1, "error": np.linspace(-0.1, 0.1, 8)})
    np.testing.assert_allclose(reference_sample(many, 1, min_reference=8)[0], many["error"])


def test_recent_national_errors_weigh_more():
    """Adaptive: errors observed in the latest year weigh 1, ten years earlier 1/2."""
    errors = pd.DataFrame({"origin": [1989, 1999, 1998], "horizon": [1, 1, 2], "error": 0.01})
    values, weights = reference_sample(errors, 2, min_reference=1, exponent=1.0, halflife=10)
    np.testing.assert_allclose(values, [0.02, 0.02, 0.01])
    np.testing.assert_allclose(weights, [0.5, 1.0, 1.0])


def test_a_shock_under_way_widens_the_adaptive_interval():
    """SYNTHETIC: 30 calm years of national errors (+-1%), then the last 3 origins miss by
    -5% a year. With recency weights the interval at 5 years takes the shock in; with equal
    weights per horizon it does not."""
    rng = np.random.default_rng(3)
    rows = [(o, h, rng.normal(0, 0.01) * h) for o in range(1960, 1990) for h in range(1, 6)]
    rows += [(o, h, -0.05 * h) for o in (1990, 1991, 1992) for h in range(1, 6) if o + h <= 1993]
    errors = pd.DataFrame(rows, columns=["origin", "horizon", "error"])
    errors = errors[errors["origin"] + errors["horizon"] <= 1993]
    residuals = pd.DataFrame({"span": 5, "p0": 1e4, "error": rng.normal(0, 0.02, 300)})
    residuals["ref_error"] = 0.0
    fixed = SharedShockIntervals(reference_errors=errors, max_span=5, min_cell=30)
    adaptive = SharedShockIntervals(
        reference_errors=errors, max_span=5, min_cell=30, reference_halflife=3
    )
    w_fixed = np.diff(fixed.fit(residuals).quantiles([5], [1e4]), axis=0)[0, 0]
    w_adapt = np.diff(adaptive.fit(residuals).quantiles([5], [1e4]), axis=0)[0, 0]
    assert w_adapt > 1.5 * w_fixed, (w_adapt, w_fixed)


def test_without_reference_errors_shared_shock_is_plain_conformal():
    rng = np.random.default_rng(2)
    r = pd.DataFrame({"span": 1, "p0": 1e4, "error": rng.normal(0, 0.02, 100), "ref_error": 0.0})
    a = SharedShockIntervals(reference_errors=None).fit(r).quantiles([1], [1e4])
    b = ConformalIntervals().fit(r).quantiles([1], [1e4])
    np.testing.assert_allclose(a, b)
