"""Reality check: realised classes, confusion table and precision on hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import reality as rc
from forecast.errors import ForecastError
from forecast.io import read_dataset
from forecast.policy import Policy

from .conftest import synthetic_panel, write_dataset


def test_realized_class_uses_policy_thresholds():
    s = pd.Series([-15.0, -10.0, -0.1, 0.0, 12.0])
    assert rc.realized_class(s, Policy()).tolist() == [
        "decline",
        "middle",
        "middle",
        "growth",
        "growth",
    ]


def test_confusion_and_summary_on_hand_made_categories():
    cats = pd.DataFrame(
        {
            "category": ["resettle", "resettle", "stabilize", "diversify", "stabilize"],
            "boundary": [False, False, True, False, False],
            "realized": ["decline", "middle", "decline", "growth", "decline"],
            "realized_pct": [-20.0, -5.0, -12.0, 3.0, -11.0],
        }
    )
    tab = rc.confusion(cats)
    assert tab.loc["resettle", "decline"] == 1 and tab.loc["resettle", "total"] == 2
    s = rc.summary(cats)
    assert s["resettle_precision"] == 0.5
    assert s["resettle_declined_at_all"] == 1.0
    assert s["decliners"] == 3 and s["decliners_flagged"] == pytest.approx(2 / 3)


def hand_made() -> pd.DataFrame:
    """Ten hand-made categorised units (synthetic) with stated probabilities and outcomes."""
    return pd.DataFrame(
        {
            "unit_id": [f"U{i}" for i in range(10)],
            "category": ["resettle"] * 3 + ["stabilize"] * 3 + ["diversify"] * 4,
            "boundary": [False, False, False, True, True, False, False, False, False, False],
            "realized": ["decline", "decline", "middle", "decline", "middle", "decline"]
            + ["growth", "growth", "growth", "middle"],
            "p_decline": [0.95, 0.85, 0.75, 0.55, 0.45, 0.15, 0.05, 0.05, 0.02, 0.01],
            "p_growth": [0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.75, 0.85, 0.92, 0.71],
            "latest": [5e3, 8e3, 2e4, 3e4, 6e4, 1e5, 3e5, 4e5, 9e3, 1e4],
        }
    ).assign(p_stabilize=lambda d: 1 - d["p_decline"] - d["p_growth"])


def test_precision_and_recall_on_a_hand_made_case():
    pr = rc.precision_recall(hand_made()).set_index("category")
    # resettle: 3 called, 2 declined; 4 decliners in all (U0, U1, U3, U5)
    assert pr.loc["resettle", ["called", "correct", "realised"]].tolist() == [3, 2, 4]
    assert pr.loc["resettle", "precision"] == pytest.approx(2 / 3)
    assert pr.loc["resettle", "recall"] == pytest.approx(2 / 4)
    # the watch list adds U3 (declined) and U4 (did not)
    assert pr.loc["resettle or boundary", "precision"] == pytest.approx(3 / 5)
    assert pr.loc["resettle or boundary", "recall"] == pytest.approx(3 / 4)
    # diversify: 4 called, 3 grew, all 3 growers called
    assert pr.loc["diversify", "precision"] == pytest.approx(3 / 4)
    assert pr.loc["diversify", "recall"] == 1.0
    assert np.isnan(pr.loc["agglomerate", "precision"])  # nothing called


def test_reliability_on_a_hand_made_case():
    rel = rc.reliability(hand_made())
    dec = rel[rel["event"] == "decline"].set_index("bin")
    # 0-10%: U6..U9, none declined; 90-100%: U0 declined; 70-80%: U2 did not
    assert dec.loc["0%-10%", "units"] == 4 and dec.loc["0%-10%", "realised_share"] == 0.0
    assert dec.loc["0%-10%", "mean_probability"] == pytest.approx(0.0325)
    assert dec.loc["90%-100%", "realised_share"] == 1.0
    assert dec.loc["70%-80%", "gap_points"] == pytest.approx(-75.0)
    assert dec["units"].sum() == 10 and "30%-40%" not in dec.index  # empty bins left out
    gro = rel[rel["event"] == "growth"].set_index("bin")
    assert gro.loc["70%-80%", "units"] == 2 and gro.loc["70%-80%", "realised_share"] == 0.5


def test_scores_by_group_size_class_mining_and_country():
    cats = hand_made()
    units = pd.DataFrame(
        {"mining_dependent": [1.0] * 3 + [0.0] * 7}, index=pd.Index(cats["unit_id"])
    )
    pr, rel = rc.scores_by_group(cats, units, "us")
    res = pr[pr["category"] == "resettle"].set_index(["group", "value"])
    assert res.loc[("mining_dependent", "yes"), "called"] == 3
    assert res.loc[("mining_dependent", "no"), "called"] == 0
    assert res.loc[("size_class", "0-10,000"), "called"] == 2  # U0 and U1 (U8, U9 diversify)
    assert res.loc[("size_class", "250,000+"), "realised"] == 0
    assert res.loc[("country", "us"), "precision"] == pytest.approx(2 / 3)
    assert set(rel["group"]) == {"all", "mining_dependent", "size_class", "country"}


@pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")
def test_reality_check_runs_on_a_synthetic_panel(tmp_path, fast_config):
    panel, units = synthetic_panel(n_units=40, seed=5)
    data = read_dataset(write_dataset(tmp_path / "s", panel, units))
    out = rc.reality_check(data, 2000, Policy(agglomeration={"enabled": False}), fast_config)
    assert set(out) == {"as configured", "point forecast only"}
    cats = out["as configured"]
    assert len(cats) == 40 and cats["realized"].isin(rc.REALIZED).all()
    # realised change from the raw panel: population in 2010 against 2000
    wide = panel.pivot(index="unit_id", columns="year", values="population")
    expected = 100 * (wide[2010] / wide[2000] - 1)
    got = cats.set_index("unit_id")["realized_pct"]
    np.testing.assert_allclose(got, expected.reindex(got.index), rtol=1e-12)
    declined = got < Policy().thresholds.decline_pct
    assert (cats.set_index("unit_id")["realized"].eq("decline") == declined).all()


def test_reality_check_needs_outcomes(tmp_path, fast_config):
    panel, units = synthetic_panel(n_units=10, seed=5)
    data = read_dataset(write_dataset(tmp_path / "s", panel, units))
    with pytest.raises(ForecastError, match="no outcomes to check: origin 2005 \\+ horizon 10"):
        rc.reality_check(data, 2005, Policy(), fast_config)


@pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")
def test_reality_check_command_writes_scores(tmp_path, fast_config):
    import yaml
    from typer.testing import CliRunner

    from forecast.cli import app

    panel, units = synthetic_panel(n_units=40, seed=5)
    units["mining_dependent"] = [1.0] * 10 + [0.0] * 30
    data = write_dataset(tmp_path / "s", panel, units)
    cfg = tmp_path / "engine.yaml"
    cfg.write_text(yaml.safe_dump(fast_config.model_dump()))
    pol = tmp_path / "policy.yaml"
    pol.write_text("agglomeration:\n  enabled: false\n")
    out = tmp_path / "rc.md"
    args = ["reality-check", "--data", str(data), "--origin", "2000", "--policy", str(pol)]
    result = CliRunner().invoke(app, [*args, "--config", str(cfg), "--out", str(out)])
    assert result.exit_code == 0, result.output
    pr = pd.read_csv(tmp_path / "rc_precision_recall.csv")
    rel = pd.read_csv(tmp_path / "rc_reliability.csv")
    assert list(pr.columns[:3]) == ["variant", "group", "value"]
    assert {"precision", "recall", "called", "realised"} <= set(pr.columns)
    assert {"mean_probability", "realised_share", "gap_points", "units"} <= set(rel.columns)
    assert set(pr["group"]) == {"all", "mining_dependent", "size_class", "country"}
    everyone = rel[(rel["group"] == "all") & (rel["variant"] == "as configured")]
    assert everyone.groupby("event")["units"].sum().eq(40).all()  # every unit in one bin
    text = out.read_text()
    assert "## as configured" in text and "reliability, all units" in text
    assert "units categorised" in result.output and "nan" not in result.output


def test_summary_lines_read_in_plain_words_and_never_nan():
    cats = pd.DataFrame(
        {
            "category": ["resettle", "stabilize", "diversify", "diversify"],
            "boundary": [False, True, False, False],
            "realized": ["decline", "decline", "growth", "middle"],
            "realized_pct": [-15.0, -12.0, 3.0, -1.0],
        }
    )
    lines = rc.summary_lines(rc.summary(cats))
    assert lines[0] == "4 units categorised"
    assert (
        lines[1]
        == "resettle: 1 told; 100% of them fell below the decline threshold (100% fell at all)"
    )
    assert (
        lines[3]
        == "decliners: 2 fell below the threshold; 100% of them were told to resettle or watched"
    )
    assert lines[4] == "diversify: 50% of the calls grew"
    none = rc.summary_lines(rc.summary(cats.assign(category="stabilize", boundary=False)))
    assert none[1] == "resettle: none told" and none[4] == "diversify: none told"
    assert none[2] == "watch list: 0 units; none of them fell below the threshold"


def test_point_forecast_variant_drops_the_whole_calibration():
    # the comparison row is the bare point forecast: no shift, spread factor, shared shock or
    # size-class shift of the chosen calibration may leak into it
    chosen = Policy(
        probability={
            "bias": 0.05,
            "scale": 0.8,
            "common_sd": 0.04,
            "group_by": "size_class",
            "groups": [{"size_class": "0-10,000", "bias": 0.1}],
        }
    )
    point = rc.variants(chosen)["point forecast only"].probability
    assert (point.bias, point.scale, point.common_sd, point.groups) == (0.0, 1.0, 0.0, [])
    assert rc.variants(chosen)["as configured"].probability.group("0-10,000").bias == 0.1
