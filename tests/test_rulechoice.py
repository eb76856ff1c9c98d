"""Choosing the decision rule on a track record: synthetic histories with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import probcal, rulechoice
from forecast.policy import Policy, prob_below

from .conftest import track_record

LEVEL = 0.8


def history(n: int = 20_000, true_scale: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """SYNTHETIC track record: forecasts with 80% intervals of a known spread, outcomes drawn
    from a normal `true_scale` times as wide (log scale), two origins."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(-0.3, 0.2, n)
    s = rng.uniform(0.04, 0.12, n)
    return _record(mu, s, mu + true_scale * s * rng.standard_normal(n))


def _record(mu: np.ndarray, s: np.ndarray, real: np.ndarray, **extra) -> pd.DataFrame:
    """A track record of forecasts with log median `mu`, 80% ranges of log spread `s` and
    outcomes `real` (log), at two origins alternating; `extra` columns first."""
    return track_record(mu, s, s, real, **extra)


def p_decline(rec: pd.DataFrame) -> np.ndarray:
    return prob_below(-10.0, rec["change_pct"], rec["lower_pct"], rec["upper_pct"], LEVEL)


def test_known_best_threshold_is_recovered():
    # outcomes decided by the stated probability: every unit with p >= 0.62 declines, no other
    rec = history(4000)
    p = p_decline(rec)
    rec["realized_pct"] = np.where(p >= 0.62, -20.0, 5.0)
    choice = rulechoice.choose(rec, Policy(), LEVEL, mode="identity")
    assert choice.policy.resettle.min_probability == pytest.approx(0.62)
    chosen = choice.resettle_curve.set_index("threshold").loc[0.62]
    assert chosen["precision"] == 1.0 and chosen["recall"] == 1.0


def test_cost_ratio_sets_the_threshold_on_calibrated_probabilities():
    # with calibrated probabilities the cheapest threshold is cost_false / (cost_false + cost_missed)
    rec = history(true_scale=1.0)
    for false_cost, expected in ((3.0, 0.75), (1.0, 0.5)):
        pol = Policy(choice={"cost_false_resettle": false_cost, "cost_missed_decline": 1.0})
        got = rulechoice.choose(rec, pol, LEVEL, mode="identity").policy.resettle.min_probability
        assert got == pytest.approx(expected, abs=0.08)


def test_calibration_recovers_a_too_narrow_interval():
    rec = history(6000, true_scale=1.6)
    cal = probcal.fit_probability(rec, Policy(), LEVEL, mode="scale", range_weight=0)
    assert cal.scale == pytest.approx(1.6, abs=0.15)
    # kept consistent with the ranges shown (tails within 5%..20%), it widens as far as that goes
    held = probcal.fit_probability(rec, Policy(), LEVEL, mode="scale")
    assert 1.3 < held.scale < cal.scale
    assert probcal.contradiction_share(rec, LEVEL, held) == 0
    mode, table = probcal.select_calibration(rec, Policy(), LEVEL)
    assert mode != "identity"  # fitting the spread beats the stated one on left-out origins
    assert set(table["left_out"]) == {1990, 1995}


def test_watch_list_reaches_the_stated_recall():
    rec = history()
    p = p_decline(rec)
    dec = (rec["realized_pct"] < -10).to_numpy()
    m = rulechoice.watch_threshold(p, dec, 0.6, ceiling=0.9)
    assert (p[dec] >= m).mean() >= 0.6
    assert (p[dec] >= m + 0.01).mean() < 0.6  # the highest such threshold


def test_current_state_criterion_kept_only_when_it_helps():
    rec = history(6000, seed=2)
    rng = np.random.default_rng(5)
    dec = (rec["realized_pct"] < -10).to_numpy()
    rec["unemployment_gap"] = np.where(dec, 2.5, -0.5) + rng.normal(0, 0.3, len(rec))
    rec["wage_relative"] = rng.uniform(0.6, 1.4, len(rec))  # noise
    choice = rulechoice.choose(rec, Policy(), LEVEL, mode="identity")
    assert [c.indicator for c in choice.policy.current_state] == ["unemployment_gap"]
    assert choice.policy.current_state[0].at_least in (0.0, 1.0, 2.0)
    rec = rec.drop(columns="unemployment_gap")
    assert rulechoice.choose(rec, Policy(), LEVEL, mode="identity").policy.current_state == []


def test_precision_requirement_withholds_calls_that_were_rarely_right():
    # decline at random (one unit in five, whatever the forecast): no threshold is right 60% of
    # the time, so the rule calls nobody; the cost rule alone would still pick a threshold
    rec = history(4000, seed=3)
    rng = np.random.default_rng(99)  # not the history's seed: independent of the forecasts
    rec["realized_pct"] = np.where(rng.uniform(size=len(rec)) < 0.2, -20.0, 5.0)
    strict = Policy(choice={"cost_false_resettle": 0.2, "resettle_min_precision": 0.6})
    loose = Policy(choice={"cost_false_resettle": 0.2})
    assert rulechoice.choose(rec, loose, LEVEL, mode="identity").policy.resettle.min_probability < 1
    got = rulechoice.choose(rec, strict, LEVEL, mode="identity").policy
    assert got.resettle.min_probability == rulechoice.NO_CALLS
    assert (p_decline(rec) >= got.resettle.min_probability).sum() == 0


def test_precision_requirement_is_met_on_the_record_when_it_can_be():
    # decline follows the stated probability (calibrated): the cheapest threshold at 2:1 sits near
    # 2/3; asking for 90% precision moves it up to where the calls were right 90% of the time
    rec = history(20_000, seed=4)
    pol = Policy(choice={"diversify_min_precision": 0.9, "min_calls": 50})
    choice = rulechoice.choose(rec, pol, LEVEL, mode="identity")
    m = choice.policy.diversify.min_probability
    row = choice.diversify_curve.set_index("threshold").loc[m]
    assert row["precision"] >= 0.9 and row["called"] >= 50
    free = rulechoice.choose(rec, Policy(), LEVEL, mode="identity").policy.diversify
    assert free.min_probability < m


def test_calibration_never_contradicts_the_ranges_it_is_shown_with():
    # outcomes 0.15 (log) above the forecast median, intervals of the right width: the log loss
    # alone would move the median so far that the calibrated chance of landing below the stated
    # 80% range drops under 5%; the fit keeps every unit within the range's 5%..20%
    rec = history(6000, seed=6)
    rec["realized_pct"] = 100 * np.expm1(np.log1p(rec["realized_pct"] / 100) + 0.15)
    free = probcal.fit_probability(rec, Policy(), LEVEL, "bias+scale+common", range_weight=0)
    held = probcal.fit_probability(rec, Policy(), LEVEL, "bias+scale+common")
    assert free.bias == pytest.approx(0.15, abs=0.03)
    assert probcal.contradiction_share(rec, LEVEL, free) > 0.5
    assert probcal.contradiction_share(rec, LEVEL, held) == 0
    ident = probcal.log_loss(rec, Policy(), LEVEL, Policy().probability)
    assert 0 < held.bias < free.bias
    assert probcal.log_loss(rec, Policy(), LEVEL, held) < ident  # still an improvement


def sized_history(n: int, shift: float, seed: int = 7) -> pd.DataFrame:
    """SYNTHETIC track record in two size classes, with ranges wide enough (log spread
    0.15-0.25) for a shift of a few points to stay consistent with them: outcomes `shift` (log)
    above the forecast median for towns under 10,000 and `shift` below it for towns of
    50,000-250,000."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(-0.3, 0.2, n)
    s = rng.uniform(0.15, 0.25, n)
    small = np.arange(n) % 4 < 2
    real = mu + np.where(small, shift, -shift) + s * rng.standard_normal(n)
    return _record(mu, s, real, latest=np.where(small, 5_000.0, 100_000.0))


def test_calibration_by_size_class_recovers_a_known_shift():
    rec = sized_history(12_000, shift=0.02)
    pooled = probcal.fit_probability(rec, Policy(), LEVEL, "bias+scale+common")
    assert pooled.bias == pytest.approx(0.0, abs=0.01)  # the two shifts cancel when pooled
    free = probcal.fit_groups(rec, Policy(), LEVEL, pooled, shrink=0, range_weight=0)
    assert free.group("0-10,000").bias == pytest.approx(0.02, abs=0.008)
    assert free.group("50,000-250,000").bias == pytest.approx(-0.02, abs=0.008)
    assert free.group("0-10,000").units == 6000
    # kept consistent with the ranges, and shrunk toward the pooled fit by n / (n + shrink)
    held = probcal.fit_groups(rec, Policy(), LEVEL, pooled, shrink=0)
    assert held.group("0-10,000").bias == pytest.approx(free.group("0-10,000").bias, abs=0.005)
    assert probcal.contradiction_share(rec, LEVEL, held) == 0
    shrunk = probcal.fit_groups(rec, Policy(), LEVEL, pooled, shrink=12_000)
    assert shrunk.group("0-10,000").bias == pytest.approx(
        held.group("0-10,000").bias / 3, abs=0.002
    )
    # chosen by leave-one-origin-out, and the categories read it
    keep, table = probcal.select_groups(rec, Policy(), LEVEL, "bias+scale+common")
    assert keep
    means = table[table["left_out"] == "mean"].set_index("calibration")
    assert means.loc["by size class", "log_loss"] < means.loc["pooled", "log_loss"]
    choice = rulechoice.choose(rec, Policy(), LEVEL, mode="bias+scale+common")
    assert choice.policy.probability.group_by == "size_class"
    p_dec, _ = probcal.calibrated(rec, choice.policy, LEVEL)
    small = (rec["latest"] < 10_000).to_numpy()
    assert p_dec[small].mean() < p_decline(rec)[small].mean()  # small towns fared better


def test_without_a_group_shift_the_calibration_stays_pooled():
    rec = sized_history(12_000, shift=0.0, seed=8)
    pooled = probcal.fit_probability(rec, Policy(), LEVEL, "bias+scale+common")
    got = probcal.fit_groups(rec, Policy(), LEVEL, pooled)
    assert all(abs(g.bias) < 0.01 and abs(g.scale - 1) < 0.05 for g in got.groups)


def test_robust_rule_needs_the_precision_at_every_origin():
    # diversify decided by the stated probability, but differently at the two origins: at 1990
    # every town given P(growth) >= 0.5 grew, at 1995 only those given 0.7 or more. Pooled, 0.5
    # is right often enough; the robust rule moves up to where 1995 alone was right 85% of the
    # time (computed here directly from the history)
    rec = history(20_000, seed=9)
    p_gro = 1 - prob_below(0.0, rec["change_pct"], rec["lower_pct"], rec["upper_pct"], LEVEL)
    late = (rec["origin"] == 1995).to_numpy()
    grew = np.where(late, p_gro >= 0.7, p_gro >= 0.5)
    rec["realized_pct"] = np.where(grew, 5.0, -5.0)
    base = {"cost_false_diversify": 0.5, "diversify_min_precision": 0.85, "min_calls": 10}
    pooled = rulechoice.choose(rec, Policy(choice=base), LEVEL, mode="identity").policy
    robust_pol = Policy(choice={**base, "precision_at": "every_origin"})
    choice = rulechoice.choose(rec, robust_pol, LEVEL, mode="identity")
    grid = rulechoice.GRID
    prec_1995 = np.array([grew[late & (p_gro >= m)].mean() for m in grid])
    known = float(grid[np.argmax(prec_1995 >= 0.85)])
    assert pooled.diversify.min_probability == pytest.approx(0.5)
    assert choice.policy.diversify.min_probability == pytest.approx(known)
    assert 0.55 < known < 0.7
    row = choice.diversify_curve.set_index("threshold").loc[known]
    assert row["worst_origin_precision"] >= 0.85
