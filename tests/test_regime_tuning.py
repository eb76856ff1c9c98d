"""benchmarks/regime_tuning.py: the interval score by hand, the grid of lower bounds, and its
bad-input message."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "regime_tuning.py"


def load():
    spec = importlib.util.spec_from_file_location("regime_tuning", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_interval_score_by_hand():
    rt = load()
    lo, hi = np.array([-0.1, -0.1, -0.1]), np.array([0.1, 0.1, 0.1])
    e = np.array([0.0, 0.15, -0.3])  # inside, 0.05 above, 0.2 below
    s = rt.interval_score(lo, hi, e, alpha=0.2)
    np.testing.assert_allclose(s, [0.2, 0.2 + 10 * 0.05, 0.2 + 10 * 0.2])


def test_scaled_score_and_coverage_scale_about_the_centre():
    """Rows in levels: forecast 100, interval [90, 120] (log centre off the forecast); scaled
    by 0.5 the interval's log half-width halves about the same centre."""
    rt = load()
    rows = pd.DataFrame(
        {"forecast": 100.0, "lower": 90.0, "upper": 120.0, "actual": [100.0, 118.0], "horizon": 1}
    )
    c = (np.log(0.9) + np.log(1.2)) / 2
    h = (np.log(1.2) - np.log(0.9)) / 2
    e = np.log(rows["actual"].to_numpy() / 100.0)
    want = rt.interval_score(c - 0.5 * h, c + 0.5 * h, e, 0.2).mean()
    assert rt.scaled_score(rows, 0.5, 0.2).loc[1] == pytest.approx(want)
    assert rt.scaled_coverage(rows, 1.0).loc[1] == 1.0
    assert rt.scaled_coverage(rows, 0.5).loc[1] == 0.5  # 118 lies beyond the halved range


def test_lower_bound_grid_and_its_message():
    rt = load()
    args = argparse.Namespace(lowers="0.5,1", powers="0.5,1", upper=2.0)
    grid = rt.variants(args)
    assert grid[0] == (0.0, (1.0, 1.0))  # the unscaled intervals first
    assert grid[1:] == [(p, (lo, 2.0)) for p in (0.5, 1.0) for lo in (0.5, 1.0)]
    assert len(rt.variants(argparse.Namespace(lowers="", powers="1", upper=2.0))) == 1 + 15
    bad = argparse.Namespace(lowers="0,0.5", powers="1", upper=2.0)
    with pytest.raises(SystemExit, match=r"--lowers must lie in \(0, 1\], --powers above 0"):
        rt.variants(bad)
