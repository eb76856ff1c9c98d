"""The census calendar of the re-basing risk (forecast.census_calendar, issue 11)."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.census_calendar import CensusWindow, census_probability
from forecast.rebasing import RebasingRisk

from .conftest import FixedIntervals


def test_census_probability_by_hand():
    # last re-basing 2009, the next one 2017..2021 (window [8, 12]), each year alike
    assert census_probability(2014, 5, 2009, (8, 12)) == pytest.approx(3 / 5)  # 2017-19
    assert census_probability(2009, 5, 2009, (8, 12)) == 0.0  # just after a census
    assert census_probability(2009, 10, 2009, (8, 12)) == pytest.approx(3 / 5)
    # none by 2019: 2020 or 2021 remain, both within 5 years
    assert census_probability(2019, 1, 2009, (8, 12)) == pytest.approx(1 / 2)
    assert census_probability(2019, 5, 2009, (8, 12)) == 1.0
    # overdue beyond the window: expected at once
    assert census_probability(2025, 1, 2009, (8, 12)) == 1.0
    # no re-basing known: spread over the next `b` years
    assert census_probability(2000, 3, None, (8, 12)) == pytest.approx(3 / 12)


def test_calendar_risk_is_the_period_risk_at_the_calendar_probability():
    rng = np.random.default_rng(1)
    jumps = rng.normal(0, 0.1, 300)
    cal = RebasingRisk(FixedIntervals(0.01), jumps, 10, 0.8, CensusWindow(2014, 2009, (8, 12)))
    lo, hi = cal.quantiles([1, 5, 10], [1e4] * 3)
    np.testing.assert_allclose(lo, -hi)
    # span 5 from 2014: p = 3/5, the risk of a census every 5 / (3/5) years at that span
    same = RebasingRisk(FixedIntervals(0.01), jumps, period=5 / 0.6, level=0.8)
    assert hi[1] == pytest.approx(same.quantiles([5], [1e4])[1][0])
    # span 1 from 2014: no census before 2017, so only the base interval
    assert hi[0] == pytest.approx(0.01)
    just_after = RebasingRisk(
        FixedIntervals(0.01), jumps, 10, 0.8, CensusWindow(2009, 2009, (8, 12))
    )
    assert just_after.quantiles([5], [1e4])[1][0] == pytest.approx(0.05)
    assert hi[2] > hi[1] > 0.05
