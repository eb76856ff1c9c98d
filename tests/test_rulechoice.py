"""Choosing the decision rule on a track record: synthetic histories with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

from forecast import rulechoice
from forecast.policy import Policy, prob_below

LEVEL = 0.8


def history(n: int = 20_000, true_scale: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """SYNTHETIC track record: forecasts with 80% intervals of a known spread, outcomes drawn
    from a normal `true_scale` times as wide (log scale), two origins."""
    rng = np.random.default_rng(seed)
    z = ndtri(0.9)
    mu = rng.uniform(-0.3, 0.2, n)
    s = rng.uniform(0.04, 0.12, n)
    real = mu + true_scale * s * rng.standard_normal(n)
    return pd.DataFrame(
        {
            "origin": np.where(np.arange(n) % 2 == 0, 1990, 1995),
            "change_pct": 100 * np.expm1(mu),
            "lower_pct": 100 * np.expm1(mu - z * s),
            "upper_pct": 100 * np.expm1(mu + z * s),
            "structural_share": np.nan,
            "realized_pct": 100 * np.expm1(real),
        },
        index=pd.Index([f"S{i}" for i in range(n)], name="unit_id"),
    )


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
    cal = rulechoice.fit_probability(rec, Policy(), LEVEL, mode="scale")
    assert cal.scale == pytest.approx(1.6, abs=0.15)
    mode, table = rulechoice.select_calibration(rec, Policy(), LEVEL)
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
