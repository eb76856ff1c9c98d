"""Conformal intervals: quantile rule, monotone widths, coverage on a panel with known noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.engine import Forecaster
from forecast.errors import InsufficientHistoryError
from forecast.intervals import ConformalIntervals, conformal_quantile, size_class
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
