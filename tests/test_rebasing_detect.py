"""Census re-basings found in the data (forecast.rebasing_detect) and the intervals around them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from forecast.census_calendar import CensusWindow, detected_window
from forecast.config import EngineConfig
from forecast.engine import Forecaster
from forecast.errors import ForecastError
from forecast.io import read_dataset
from forecast.rebasing import RebasingRisk
from forecast.rebasing_detect import (
    detect,
    period_for,
    risk_period,
    statistics,
    timing_for,
    years_for,
)

from .conftest import fast_engine_config, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")

REBASINGS = [1990, 2000, 2010, 2020]


def rebased_panel(
    jump_sd: float,
    n_units: int = 60,
    years=range(1980, 2026),
    rebasings=tuple(REBASINGS),
    seed: int = 3,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SYNTHETIC panel: each unit grows at its own rate plus noise (sd 0.5%), and in every
    re-basing year moves by its own jump drawn with sd `jump_sd` (0: no re-basing at all)."""
    rng = np.random.default_rng(seed)
    rows, units = [], []
    for i in range(n_units):
        uid = f"R{i:03d}"
        rate = rng.normal(0.0, 0.01)
        p = float(np.exp(rng.uniform(9, 11)))
        for y in years:
            p *= np.exp(rate + rng.normal(0, 0.005))
            if y in rebasings and jump_sd > 0:
                p *= np.exp(rng.normal(0, jump_sd))
            rows.append({"unit_id": uid, "year": y, "population": round(p)})
        units.append({"unit_id": uid, "name": f"Synthetic {i}", "region": f"G{i % 3}"})
    return pd.DataFrame(rows), pd.DataFrame(units)


def _dataset(tmp_path, jump_sd: float, **kw):
    panel, units = rebased_panel(jump_sd, **kw)
    return read_dataset(write_dataset(tmp_path / f"rebased_{jump_sd}", panel, units))


def test_detects_the_rebasing_years_of_a_synthetic_panel(tmp_path):
    data = _dataset(tmp_path, 0.05)
    assert detect(data) == REBASINGS
    # reads only what it is given: cut before 2010, the 2010 re-basing is unknown
    assert detect(data.up_to(2009)) == [1990, 2000]
    assert detect(data.up_to(2010)) == [1990, 2000, 2010]
    # a re-basing in the first years has no usual spread to stand out from
    late = _dataset(tmp_path / "late", 0.05, years=range(1986, 2026))
    assert detect(late) == [2000, 2010, 2020]


def test_finds_nothing_without_a_rebasing(tmp_path):
    data = _dataset(tmp_path, 0.0)
    assert detect(data) == []
    stats = statistics(
        data.panel[["unit_id", "year", "population"]].rename(columns={"population": "value"})
    )
    assert stats["ratio"].max() < 2  # calm years stay far below the threshold of 3


def test_too_few_units_or_irregular_years_find_nothing(tmp_path):
    few = _dataset(tmp_path, 0.05, n_units=10)
    assert detect(few) == []  # fewer than 20 units
    assert detect(few, min_units=5) == REBASINGS
    # census years only (every 10 years): no consecutive years, no statistic at all
    sparse = _dataset(tmp_path, 0.05, years=range(1959, 2030, 10), rebasings=(1989, 2009))
    assert detect(sparse) == []


def test_bad_inputs_name_the_rule(tmp_path):
    data = _dataset(tmp_path, 0.05)
    with pytest.raises(ValueError, match=r"threshold must be above 1 \(a multiple of the usual"):
        detect(data, threshold=1.0)
    with pytest.raises(ValueError, match="min_units must be at least 2, got 1"):
        detect(data, min_units=1)
    with pytest.raises(
        ForecastError,
        match=r"rebased_0.05: the panel has no column 'employment': cannot look for re-basings",
    ):
        detect(data, "employment")


def test_period_and_the_years_the_engine_uses(tmp_path):
    data = _dataset(tmp_path, 0.05)
    assert risk_period([2000, 2010, 2020]) == 10.0
    assert risk_period([2009]) == 10.0  # one re-basing: a census about every ten years
    assert risk_period([2002, 2010], default=7) == 8.0
    cfg = EngineConfig()
    assert years_for(cfg, data) == {"population": REBASINGS}
    assert period_for(cfg, data, "population") == 10.0
    # the config's own years are kept and merged; detection can be switched off
    cfg = EngineConfig(rebasing_years={"population": [1985]}, rebasing_risk_period=12)
    assert years_for(cfg, data) == {"population": [1985, *REBASINGS]}
    assert period_for(cfg, data, "population") == 12.0
    off = EngineConfig(rebasing_detection=[])
    assert years_for(off, data) == {} and period_for(off, data, "population") is None
    calm = _dataset(tmp_path, 0.0)
    assert years_for(EngineConfig(), calm) == {}
    assert period_for(EngineConfig(), calm, "population") is None


def test_detected_window_times_the_next_rebasing_from_the_last_one():
    # last 2009, a census every 10 years: the next in 2017..2022, one year as likely as another
    assert detected_window(10) == (8, 13) and detected_window(5.4) == (3, 8)
    assert detected_window(2) == (1, 5)  # never in the re-basing year itself
    at_2009 = CensusWindow(2009, 2009, detected_window(10))
    assert at_2009(5) == 0.0  # 2010-2014: too early for the next census
    assert at_2009(10) == pytest.approx(3 / 6)  # 2017, 2018, 2019 of 2017..2022
    assert at_2009(15) == 1.0
    # at 2019 no re-basing yet: it falls in 2020..2022
    at_2019 = CensusWindow(2019, 2009, detected_window(10))
    assert at_2019(1) == pytest.approx(1 / 3) and at_2019(3) == 1.0
    # overdue (past 2022): expected at once
    assert CensusWindow(2023, 2009, detected_window(10))(1) == 1.0


def test_config_rejects_a_census_window_out_of_order():
    """Caught when the config loads, not at the first fit that has re-basing breaks."""
    for bad in ((12, 8), (0, 3)):
        with pytest.raises(
            ValidationError,
            match=r"rebasing_census_window must be \[a, b\] years after the last re-basing "
            r"with 1 <= a <= b \(got \[" + f"{bad[0]}, {bad[1]}" + r"\]\)",
        ):
            EngineConfig(rebasing_census_window=bad)
    assert EngineConfig(rebasing_census_window=(8, 8)).rebasing_census_window == (8, 8)


def test_census_timer_bad_inputs_name_the_rule():
    with pytest.raises(
        ValueError, match=r"period must be positive \(years between re-basings\), got 0"
    ):
        detected_window(0)
    with pytest.raises(
        ValueError, match=r"the last re-basing \(2015\) must be at or before the origin \(2012\)"
    ):
        CensusWindow(2012, 2015, (8, 12))
    with pytest.raises(
        ValueError,
        match=r"census window must be \[a, b\] years after the last re-basing with "
        r"1 <= a <= b, got \[12, 8\]",
    ):
        CensusWindow(2012, 2009, (12, 8))


class _Fixed:
    def quantiles(self, span, p0):
        s = np.asarray(span, dtype=float)
        return -0.01 * s, 0.01 * s

    def summary(self):
        return pd.DataFrame()


def test_rebasing_risk_with_a_timed_chance():
    jumps = np.random.default_rng(0).normal(0, 0.1, 200)
    timed = RebasingRisk(_Fixed(), jumps, 10, 0.8, CensusWindow(2009, 2009, (8, 13)))
    lo, hi = timed.quantiles([5, 10], [1e4, 1e4])
    assert hi[0] == pytest.approx(0.05) and lo[0] == pytest.approx(-0.05)  # no chance: as is
    untimed = RebasingRisk(_Fixed(), jumps, 20, 0.8)  # chance 10 / 20, as timed at span 10
    assert hi[1] > 0.1 and hi[1] == pytest.approx(untimed.quantiles([10], [1e4])[1][0])


def test_timing_only_where_the_period_comes_from_detection(tmp_path):
    data = _dataset(tmp_path, 0.05)
    t = timing_for(EngineConfig(), data, "population", 2012)
    assert t == CensusWindow(2012, 2010, (8, 13))
    assert timing_for(EngineConfig(rebasing_risk_period=10), data, "population", 2012) is None
    # an explicit calendar: the config's window after the last of its and the detected years
    cal = EngineConfig(rebasing_risk_period=10, rebasing_census_window=(8, 12))
    assert timing_for(cal, data, "population", 2012) == CensusWindow(2012, 2010, (8, 12))
    assert timing_for(cal, data, "population", 2009) == CensusWindow(2009, 2000, (8, 12))
    assert timing_for(EngineConfig(), _dataset(tmp_path, 0.0), "population", 2012) is None


def test_detection_in_the_engine_reads_nothing_after_the_origin(tmp_path):
    panel, units = rebased_panel(0.05)
    data = read_dataset(write_dataset(tmp_path / "a", panel, units))
    changed = panel.copy()
    year = changed["year"].to_numpy()
    # after the origin: a huge re-basing in 2015 and a different level
    factor = np.where(year >= 2015, 1.5, np.where(year > 2012, 0.9, 1.0))
    changed["population"] = (changed["population"] * factor).round()
    data2 = read_dataset(write_dataset(tmp_path / "b", changed, units))
    cfg = fast_engine_config()
    a = Forecaster(config=cfg).fit(data, 2012).forecast(data, [1, 5]).table()
    b = Forecaster(config=cfg).fit(data2, 2012).forecast(data2, [1, 5]).table()
    pd.testing.assert_frame_equal(a, b)


def _coverage(data, config: EngineConfig, origins: list[int], horizon: int = 5) -> float:
    inside = []
    actual = data.panel.set_index(["unit_id", "year"])["population"]
    for origin in origins:
        t = Forecaster(config=config).fit(data, origin).forecast(data, [horizon]).table()
        a = actual.reindex(pd.MultiIndex.from_frame(t[["unit_id", "year"]])).to_numpy()
        inside.append((a >= t["lower"].to_numpy()) & (a <= t["upper"].to_numpy()))
    return float(np.concatenate(inside).mean())


@pytest.mark.slow
@pytest.mark.parametrize("jump_sd", [0.0, 0.04])
def test_coverage_close_to_nominal_with_and_without_rebasings(tmp_path, jump_sd):
    """80% intervals at +5 from origins of which half cross a re-basing (2006 -> 2011 crosses
    2010, 2016 -> 2021 crosses 2020) and half do not: close to 80% whether the panel has
    re-basings of a known size (unit jumps with sd 4%, 8 times the yearly noise) or none."""
    data = _dataset(tmp_path, jump_sd)
    cov = _coverage(data, fast_engine_config(), [2003, 2006, 2013, 2016])
    assert 0.7 <= cov <= 0.92, cov
