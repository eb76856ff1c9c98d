"""Sharing fitted models between the fits of one run (forecast.fitcache): the same numbers,
fewer fits, and never a fit of other data or settings."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from forecast import fitcache
from forecast.backtest import rolling_origin
from forecast.engine import Forecaster, TargetForecaster, _Context
from forecast.errors import SparseHistoryWarning
from forecast.io import read_dataset

from .conftest import synthetic_panel, write_dataset


@pytest.fixture
def data(tmp_path):
    panel, units = synthetic_panel(n_units=30, years=range(1985, 2011))
    return read_dataset(write_dataset(tmp_path / "syn", panel, units))


def _run_like(data, config):
    """What `forecast run` fits: the forecaster at the last year, then the backtest."""
    fc = Forecaster(config=config).fit(data, 2010)
    table = fc.forecast(data).table()
    bt = rolling_origin(data, [2010 - k for k in config.backtest_offsets], [1, 5], config)
    return table, bt


@pytest.mark.slow  # a run with and without the cache: `make test-all` and CI
def test_shared_fits_give_the_same_numbers_with_fewer_fits(data, fast_config):
    # the forecaster at 2010 calibrates at 2007 and 2002; the backtest at 2007 is the model of
    # the calibration origin 2007 (and calibrates at 2004, 1999); the backtest at 2005
    # calibrates at 2002 (shared) and 1997
    cfg = fast_config.model_copy(update={"backtest_offsets": [3, 5], "horizons": [1, 5]})
    alone = _run_like(data, cfg)
    with fitcache.sharing() as counts:
        shared = _run_like(data, cfg)
    pd.testing.assert_frame_equal(alone[0], shared[0])
    pd.testing.assert_frame_equal(alone[1], shared[1])
    assert counts == {"hits": 2, "misses": 7}


def test_other_data_or_settings_are_never_shared(data, fast_config, tmp_path):
    panel, units = synthetic_panel(n_units=40, years=range(1985, 2011), employment=True, seed=3)
    other = read_dataset(write_dataset(tmp_path / "other", panel, units))
    with fitcache.sharing() as counts:
        a = TargetForecaster(target="population", config=fast_config).fit(
            data, 2005, calibrate=False
        )
        b = TargetForecaster(target="population", config=fast_config).fit(
            other, 2005, calibrate=False
        )
        slower = fast_config.model_copy(update={"seed": 8})
        c = TargetForecaster(target="population", config=slower).fit(data, 2005, calibrate=False)
        # later years of the same data do not matter to a fit at 2005: shared
        d = TargetForecaster(target="population", config=fast_config).fit(
            data.up_to(2007), 2005, calibrate=False
        )
    assert counts == {"hits": 1, "misses": 3}
    assert a.model_ is d.model_
    assert b.model_ is not a.model_ and c.model_ is not a.model_


def test_nothing_is_shared_outside_a_sharing_block(data, fast_config):
    assert fitcache.stats() is None
    a = TargetForecaster(target="population", config=fast_config).fit(data, 2005, calibrate=False)
    b = TargetForecaster(target="population", config=fast_config).fit(data, 2005, calibrate=False)
    assert a.model_ is not b.model_
    with fitcache.sharing():
        assert fitcache.stats() == {"hits": 0, "misses": 0}
    assert fitcache.stats() is None


def test_a_shared_thin_fit_still_warns_the_user(tmp_path, fast_config):
    panel = pd.DataFrame(
        {
            "unit_id": "A",
            "year": [1999, 2009, 2021, 2023],
            "population": [1e3, 1.1e3, 1.2e3, 1.25e3],
        }
    )
    units = pd.DataFrame([{"unit_id": "A", "name": "Alpha", "region": "R1"}])
    thin = read_dataset(write_dataset(tmp_path / "thin", panel, units))
    with fitcache.sharing() as counts:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a calibration origin's fit does not warn
            TargetForecaster(target="population", config=fast_config).fit(
                thin, 2020, calibrate=False
            )
        with pytest.warns(SparseHistoryWarning, match="forecasting with the baselines alone"):
            TargetForecaster(target="population", config=fast_config).fit(thin, 2020)
    assert counts["hits"] == 1


def test_one_context_per_target_origin_and_data(data, fast_config):
    with fitcache.sharing():
        a = _Context.of(data, "population", fast_config, 2005)
        assert _Context.of(data.up_to(2008), "population", fast_config, 2005) is a
        assert _Context.of(data, "population", fast_config, 2006) is not a
        anchors = pd.DataFrame({"unit_id": ["SYN000", "SYN001"], "t0": [2005, 2004]})
        assert a.features(anchors) is a.features(anchors.copy())
    assert _Context.of(data, "population", fast_config, 2005) is not a
