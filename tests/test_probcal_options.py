"""The calibration options (`choice.calibration_options`): per_tail and isotonic, each on a
hand-made or SYNTHETIC track record with a known answer, their selection by left-out loss, and
the policy file's validation messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

from forecast import probcal, rulechoice
from forecast.errors import ConfigError
from forecast.policy import Isotonic, Policy, Probability, load_policy, prob_below, range_guard

from .conftest import track_record

LEVEL = 0.8
Z = ndtri(0.9)


def record(mu, s_lo, s_hi, real, origins=(1990, 1995)) -> pd.DataFrame:
    """A track record: log medians `mu`, 80% ranges of log spreads `s_lo` / `s_hi` below /
    above, outcomes `real` (log), origins alternating."""
    return track_record(mu, s_lo, s_hi, real, origins)


def split_draws(mu, s_lo, s_hi, rng) -> np.ndarray:
    e = rng.standard_normal(len(mu))
    return mu + np.where(e < 0, s_lo, s_hi) * e


# --- per_tail ---------------------------------------------------------------------------
def test_growth_side_moves_only_the_growth_probability():
    rec = record(np.array([0.0]), np.array([0.1]), np.array([0.1]), np.array([0.0]))
    pol = Policy(thresholds={"decline_pct": -10, "growth_pct": 0})
    plain_d, plain_g = probcal.calibrated(rec, pol, LEVEL, Probability())
    # the growth side 5 points (log) lower: P(growth) = P(N(-0.05, 0.1) >= 0) by hand
    d, g = probcal.calibrated(rec, pol, LEVEL, Probability(growth_bias=-0.05))
    assert d == pytest.approx(plain_d)
    assert g[0] == pytest.approx(1 - prob_below(5.127, 0.0, -12.04, 13.69, LEVEL), abs=2e-3)
    assert g[0] == pytest.approx(0.3085, abs=1e-3)  # 1 - Phi(0.5)
    assert plain_g[0] == pytest.approx(0.5)


def test_per_tail_recovers_a_wider_growth_side():
    # SYNTHETIC: the outcomes spread 1.6 times the stated spread above the median, as stated
    # below; the medians lie between the thresholds, so each event reads one side only
    rng = np.random.default_rng(3)
    n = 8000
    mu, s = rng.uniform(-0.08, 0.08, n), rng.uniform(0.05, 0.12, n)
    rec = record(mu, s, s, split_draws(mu, s, 1.6 * s, rng))
    pol = Policy(thresholds={"decline_pct": -10, "growth_pct": 10})
    cal = probcal.fit_probability(rec, pol, LEVEL, "scale", range_weight=0, per_tail=True)
    assert cal.scale == pytest.approx(1.0, abs=0.1)
    assert cal.growth_scale == pytest.approx(1.6, abs=0.2)


# --- isotonic ---------------------------------------------------------------------------
def test_isotonic_map_and_its_inverse_by_hand():
    iso = Isotonic(decline=[(0, 0.1), (0.5, 0.2), (1, 0.9)], growth=[(0, 0), (1, 1)])
    assert iso.apply("decline", [0.25, 0.75, 1.0]) == pytest.approx([0.15, 0.55, 0.9])
    assert iso.inverse("decline", 0.55) == pytest.approx(0.75)
    assert iso.inverse("decline", 0.05) == 0.0  # every probability maps above it
    assert iso.inverse("decline", 0.95) == 1.0  # none does


def test_isotonic_fit_reads_the_realised_shares():
    # hand-made: 200 units stated about 30% likely to fall below -10%, of which 60% did; 200
    # stated about 70%, of which 90% did
    n = 200
    mu = np.r_[np.full(n, np.log(0.9) + 0.0524 * Z / 1.0), np.full(n, np.log(0.9) - 0.0524)]
    s = np.full(2 * n, 0.1)
    fell = np.r_[np.arange(n) < 0.6 * n, np.arange(n) < 0.9 * n]
    rec = record(mu, s, s, np.where(fell, np.log(0.8), 0.0))
    pol = Policy(thresholds={"decline_pct": -10, "growth_pct": 0})
    stated, _ = probcal.calibrated(rec, pol, LEVEL, Probability())
    assert stated[:n].mean() == pytest.approx(0.3, abs=0.05)
    assert stated[n:].mean() == pytest.approx(0.7, abs=0.05)
    cal = probcal.fit_isotonic(rec, pol, LEVEL, Probability())
    got, _ = probcal.calibrated(rec, pol, LEVEL, cal)
    assert got[:n].mean() == pytest.approx(0.6, abs=0.03)
    assert got[n:].mean() == pytest.approx(0.9, abs=0.03)


def test_range_guard_keeps_the_probability_consistent_with_the_range():
    # range -5%..+20% (lower end above the -10% threshold): P(decline) at most 20%; range
    # -30%..-15% (upper end below the 0% threshold): P(growth) at most 20%, P(decline) >= 5%
    d, g = range_guard([0.6, 0.01], [0.5, 0.4], [-5.0, -30.0], [20.0, -15.0], -10.0, 0.0, LEVEL)
    assert d == pytest.approx([0.2, 0.05])
    assert g == pytest.approx([0.5, 0.2])


# --- selection by left-out loss -----------------------------------------------------------
def test_isotonic_kept_when_the_stated_probabilities_are_bent():
    # SYNTHETIC: outcomes make the stated P(decline) p come true with probability p**0.4 (no
    # shift or spread can say that), four origins
    rng = np.random.default_rng(5)
    n = 6000
    mu, s = rng.uniform(-0.3, 0.15, n), rng.uniform(0.05, 0.12, n)
    rec = record(mu, s, s, mu, origins=(1990, 1991, 1992, 1993))
    p = prob_below(-10.0, rec["change_pct"], rec["lower_pct"], rec["upper_pct"], LEVEL)
    fell = rng.uniform(size=n) < p**0.4
    rec["realized_pct"] = np.where(fell, -20.0, np.where(rng.uniform(size=n) < 0.5, -5.0, 5.0))
    pol = Policy(choice={"calibration_options": ["isotonic"]})
    cal, table = rulechoice.choose_options(rec, pol, LEVEL, "identity", False)
    assert cal.isotonic is not None
    means = table[table["left_out"] == "mean"].set_index("calibration")
    assert means.loc["isotonic", "log_loss"] < means.loc["without options", "log_loss"]
    assert table.loc[table["chosen"], "calibration"].unique().tolist() == ["isotonic"]
    assert set(table["left_out"]) == {1990, 1991, 1992, 1993, "mean"}


def test_no_option_kept_from_a_single_origin():
    """With one origin nothing is left out: the comparison is in-sample, where the isotonic
    map always looks better; no option may be kept on that (the same SYNTHETIC record as
    above, one origin)."""
    rng = np.random.default_rng(5)
    n = 6000
    mu, s = rng.uniform(-0.3, 0.15, n), rng.uniform(0.05, 0.12, n)
    rec = record(mu, s, s, mu, origins=(1990,))
    p = prob_below(-10.0, rec["change_pct"], rec["lower_pct"], rec["upper_pct"], LEVEL)
    fell = rng.uniform(size=n) < p**0.4
    rec["realized_pct"] = np.where(fell, -20.0, np.where(rng.uniform(size=n) < 0.5, -5.0, 5.0))
    pol = Policy(choice={"calibration_options": ["isotonic"]})
    cal, table = rulechoice.choose_options(rec, pol, LEVEL, "identity", False)
    assert cal.isotonic is None
    assert table.loc[table["chosen"], "calibration"].unique().tolist() == ["without options"]


def test_an_option_that_widens_the_worst_gap_is_not_kept():
    table = pd.DataFrame(
        {
            "calibration": ["without options", "isotonic", "per_tail"],
            "left_out": ["mean"] * 3,
            "log_loss": [0.70, 0.60, 0.69],
            "worst_gap_points": [12.0, 15.0, 11.0],
        }
    )
    assert not probcal.better(table, "isotonic", "without options")  # lower loss, wider gap
    assert probcal.better(table, "per_tail", "without options")


def test_without_options_the_choice_is_unchanged():
    rng = np.random.default_rng(1)
    n = 2000
    mu, s = rng.uniform(-0.3, 0.15, n), rng.uniform(0.05, 0.12, n)
    rec = record(mu, s, s, mu + s * rng.standard_normal(n))
    choice = rulechoice.choose(rec, Policy(), LEVEL, mode="identity")
    assert choice.option_trials.empty
    assert choice.policy.probability.isotonic is None
    assert choice.policy.probability.growth_bias == 0


# --- validation -------------------------------------------------------------------------
def write(tmp_path, text: str):
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("knots", "message"),
    [
        ("[[0, 0.1]]", "probability.isotonic.decline needs at least 2 knots"),
        (
            "[[0, 0.1], [0, 0.2]]",
            "probability.isotonic.decline: stated probabilities must increase",
        ),
        (
            "[[0, 0.3], [1, 0.2]]",
            "probability.isotonic.decline: calibrated probabilities must not decrease",
        ),
        ("[[0, 0.1], [1.5, 0.2]]", r"probability.isotonic.decline: knots must lie in \[0, 1\]"),
    ],
)
def test_isotonic_knots_are_checked(tmp_path, knots, message):
    text = f"probability:\n  isotonic:\n    decline: {knots}\n    growth: [[0, 0], [1, 1]]\n"
    with pytest.raises(ConfigError, match=rf"policy.yaml: .*{message}"):
        load_policy(write(tmp_path, text))


def test_unknown_calibration_option_is_named(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"policy.yaml: choice.calibration_options.0: Input should be 'per_tail' or "
        r"'isotonic'",
    ):
        load_policy(write(tmp_path, "choice:\n  calibration_options: [monotone]\n"))


def test_growth_scale_must_be_positive(tmp_path):
    with pytest.raises(
        ConfigError, match=r"policy.yaml: probability.growth_scale: Input should be greater than 0"
    ):
        load_policy(write(tmp_path, "probability:\n  growth_scale: 0\n"))


def test_per_tail_kept_when_the_growth_side_is_wider():
    # SYNTHETIC: as above, outcomes 1.6 times wider above the median, four origins
    rng = np.random.default_rng(11)
    n = 4000
    mu, s = rng.uniform(-0.08, 0.08, n), rng.uniform(0.05, 0.12, n)
    rec = record(mu, s, s, split_draws(mu, s, 1.6 * s, rng), origins=(1990, 1991, 1992, 1993))
    pol = Policy(
        thresholds={"decline_pct": -10, "growth_pct": 10},
        choice={"calibration_options": ["per_tail"]},
    )
    cal, table = rulechoice.choose_options(rec, pol, LEVEL, "scale", False)
    assert table.loc[table["chosen"], "calibration"].unique().tolist() == ["per_tail"]
    assert (
        cal.growth_scale > 1.1
    )  # the growth side widened, held back by the range it is shown with
    assert cal.isotonic is None


def test_isotonic_maps_never_promise_more_than_certainty_together():
    # hand-made maps that send a 50/50 unit to 0.6 decline and 0.6 growth: scaled to 0.5 each
    iso = Isotonic(decline=[(0, 0.6), (1, 0.6)], growth=[(0, 0.6), (1, 0.6)])
    rec = record(np.array([np.log(0.9)]), np.array([0.2]), np.array([0.2]), np.array([0.0]))
    pol = Policy(thresholds={"decline_pct": -10, "growth_pct": 0})
    d, g = probcal.calibrated(rec, pol, LEVEL, Probability(isotonic=iso))
    assert d[0] == pytest.approx(0.5) and g[0] == pytest.approx(0.5)
