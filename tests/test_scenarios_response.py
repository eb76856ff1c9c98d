"""The response estimator recovers a response planted in a SYNTHETIC panel (unit tests only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ForecastError
from forecast.response import estimate, estimates_table, read_estimates, relative_changes

PLANTED = np.array([0.30, 0.15, 0.10, 0.05])  # gamma_k: cumulative 0.30, 0.45, 0.55, 0.60


def synthetic_levels(n_units: int = 300, years: int = 20, seed: int = 3) -> pd.DataFrame:
    """SYNTHETIC panel in levels: employment follows shocks plus a unit trend; population
    follows employment through the planted lags, its own trend, a common national trend (that
    the estimator must remove) and noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        e_trend, p_trend = rng.normal(0, 0.01), rng.normal(0, 0.005)
        de = e_trend + rng.normal(0, 0.04, years)
        le = np.log(rng.uniform(2e3, 5e4))
        lp = le + np.log(2.5)
        for t in range(years):
            le += de[t] + 0.01  # national employment growth
            dp = sum(g * (de[t - k] - e_trend) for k, g in enumerate(PLANTED) if t - k >= 0)
            lp += dp + p_trend + 0.008 + rng.normal(0, 0.004)
            rows.append((f"U{i:03d}", 1990 + t, np.exp(lp), np.exp(le)))
    return pd.DataFrame(rows, columns=["unit_id", "year", "population", "employment"])


def test_planted_response_is_recovered_within_its_interval():
    panel = synthetic_levels()
    est = estimate(relative_changes(panel), lags=4, group="synthetic")
    truth = np.cumsum(np.append(PLANTED, 0.0))
    lo, hi = est.bounds(0.95)
    assert ((lo <= truth) & (truth <= hi)).all(), (est.effect, est.se)
    assert (hi - lo < 0.1).all()  # informative, not trivially wide


def test_a_wrong_response_is_outside_the_interval():
    panel = synthetic_levels()
    est = estimate(relative_changes(panel), lags=4, group="synthetic")
    lo, hi = est.bounds(0.95)
    wrong = 0.5 * np.cumsum(np.append(PLANTED, 0.0))
    assert ((wrong < lo) | (wrong > hi))[1:].all()


def test_break_years_are_dropped():
    panel = synthetic_levels(n_units=60)
    # a re-based series: every unit's employment jumps by a random factor in 2000
    rng = np.random.default_rng(0)
    factor = pd.Series(np.exp(rng.normal(0, 0.3, 60)), index=panel["unit_id"].unique())
    later = panel["year"] >= 2000
    panel.loc[later, "employment"] *= panel.loc[later, "unit_id"].map(factor).to_numpy()
    kept = relative_changes(panel)
    dropped = relative_changes(panel, break_years=(2000,))
    assert kept.loc[kept["year"] == 2000, "de"].notna().all()
    assert dropped.loc[dropped["year"] == 2000, "de"].isna().all()
    assert dropped.loc[dropped["year"] == 2000, "dp"].notna().all()
    # no regression row uses the re-based change: rows 2000..2002 need it with 2 lags
    full, cut = estimate(kept, lags=2), estimate(dropped, lags=2)
    assert full.n_obs - cut.n_obs == 3 * 60
    # the break biases the estimate towards zero; dropping it restores the planted response
    truth = np.cumsum(PLANTED)[:3]
    assert (np.abs(cut.effect - truth) < np.abs(full.effect - truth)).all()


def test_too_little_data_is_a_clear_error():
    panel = synthetic_levels(n_units=5, years=4)
    with pytest.raises(ForecastError, match="response group 'tiny': too little annual data"):
        estimate(relative_changes(panel), lags=4, group="tiny")


def test_missing_employment_is_a_clear_error():
    panel = synthetic_levels(n_units=5).drop(columns="employment")
    with pytest.raises(ForecastError, match="the response needs a panel with employment"):
        relative_changes(panel)


def test_estimates_round_trip(tmp_path):
    est = estimate(relative_changes(synthetic_levels(n_units=60)), lags=2, group="g")
    path = tmp_path / "est.csv"
    estimates_table([est]).to_csv(path, index=False)
    back = read_estimates(path)["g"]
    assert back.effect == pytest.approx(est.effect)
    assert back.se == pytest.approx(est.se)
    eff, se = back.at(np.array([-1, 0, 2, 9]))
    assert eff == pytest.approx([0.0, est.effect[0], est.effect[2], est.effect[2]])
