"""The benchmark (engine vs baselines on held-back origins) and the peer methods."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from forecast import benchmark as bench
from forecast.baselines import BASELINES
from forecast.errors import ForecastError
from forecast.io import read_dataset

from .conftest import synthetic_panel, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from .conftest import fast_engine_config

    panel, units = synthetic_panel(n_units=30, seed=12)
    data = read_dataset(write_dataset(tmp_path_factory.mktemp("b") / "d", panel, units))
    return bench.run_benchmark(
        data, tune_origins=[1998], test_origins=[2003], horizons=[2, 5], config=fast_engine_config()
    )


def test_results_hold_every_horizon_up_to_the_longest_and_both_origins(report):
    r = report.results
    assert sorted(r["origin"].unique()) == [1998, 2003]
    assert sorted(r["horizon"].unique()) == [1, 2, 3, 4, 5]
    assert (r["year"] == r["origin"] + r["horizon"]).all()
    assert set(r["size_class"]) <= {"0-10k", "10k-50k", "50k-250k", "250k-inf"}


def test_headline_ratio_is_one_for_the_best_baseline(report):
    h = bench.headline(report, [2003])
    assert sorted(h["horizon"].unique()) == [2, 5]
    base = h[h["method"].isin(BASELINES)]
    best = base.groupby(["target", "horizon"])["mape_ratio"].min()
    assert np.allclose(best, 1.0)
    assert (base["mape_ratio"] >= 1.0 - 1e-12).all()
    assert set(h["method"]) >= {"combined", "model"}


def test_markdown_results_file(report):
    text = bench.to_markdown(report)
    assert text.startswith(f"# Benchmark: {report.dataset}")
    assert "held-back test origin(s): 2003" in text and "tuning origins: 1998" in text
    test_part = text.split("## Held-back test")[1].split("##")[0]
    rows = [line for line in test_part.splitlines() if line.startswith("| population |")]
    assert len(rows) == len(bench.headline(report, [2003]))
    assert "### Origin 1998" in text and "## By size_class (test)" in text


def test_peers_need_the_bench_extra(monkeypatch):
    from forecast import peers

    monkeypatch.setitem(sys.modules, "statsforecast", None)
    with pytest.raises(ForecastError, match=r"peer methods need the bench extra: .*\[bench\]"):
        peers.peer_forecasts(None, "population", 2000, 3)


def test_peer_forecasts_on_an_annual_panel(tmp_path):
    pytest.importorskip("statsforecast", reason="the bench extra is not installed")
    pytest.importorskip("mlforecast", reason="the bench extra is not installed")
    from forecast import peers

    panel, units = synthetic_panel(n_units=8, seed=2)
    data = read_dataset(write_dataset(tmp_path / "d", panel, units))
    out = peers.peer_forecasts(data, "population", 2000, 3)
    assert list(out.columns) == ["unit_id", "year", *peers.PEERS]
    assert sorted(out["year"].unique()) == [2001, 2002, 2003]
    assert out["unit_id"].nunique() == 8
    assert (out[list(peers.PEERS)].stack() > 0).all()
