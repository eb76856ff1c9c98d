"""Explanations, structural share and reasons of nested towns that follow their parent
(forecast.explain._follow_parents, forecast.facts, forecast.policy; SYNTHETIC data only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.engine import Forecaster
from forecast.explain import (
    COMPONENTS,
    FOLLOWS,
    _follow_parents,
    by_driver,
    check_decomposition,
    explain,
)
from forecast.facts import category_facts, latest_observations
from forecast.io import read_dataset
from forecast.policy import Policy, categorize
from forecast.report import text as tx

from .conftest import fast_engine_config, synthetic_nested, town_facts, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")

# P (parent, anchored 2012 at 90, forecast 81 for 2017) and T (its town, anchored at a 2009
# census at 50, when P was 100): T's parent member is 50 * 81 / 100 = 40.5, weight 0.5
TABLE = pd.DataFrame(
    {
        "unit_id": ["P", "T"],
        "year": [2017, 2017],
        "p0": [90.0, 50.0],
        "parent": [np.nan, 40.5],
        "w_parent": [0.0, 0.5],
        "parent_id": pd.array([pd.NA, "P"], dtype="string"),
    }
)
PARENT = {  # the parent's parts, adding up to log(81 / 90)
    "f_decline": -0.08,
    "f_growth": 0.02,
    "model_average": 0.0,
    "national_trend": -0.03,
    "total_control": 0.0,
    "baseline_methods": np.log(81 / 90) + 0.09,
}


def hand_out() -> pd.DataFrame:
    rows = [(0, f, 1.5 if f.startswith("f_") else np.nan, v) for f, v in PARENT.items()]
    # the town before: its model weight is 0, its members are the parent member and no change
    town = {c: 0.0 for c in COMPONENTS} | {"baseline_methods": 0.5 * np.log(40.5 / 50)}
    rows += [(1, f, np.nan, v) for f, v in town.items()]
    rows += [(1, "f_decline", 0.7, 0.0)]  # the model's own SHAP on T, at model weight 0
    out = pd.DataFrame(rows, columns=["row", "feature", "value", "contribution_log"])
    out["shap"] = np.where(out["feature"].str.startswith("f_"), 0.1, np.nan)
    return out[["row", "feature", "value", "shap", "contribution_log"]]


def test_a_nested_town_takes_the_parents_contributions_times_the_members_weight():
    before = hand_out()
    got = _follow_parents(before, TABLE)
    town = got[got["row"] == 1].groupby("feature")["contribution_log"].sum()
    for f, v in PARENT.items():  # weight x the parent's, the baseline share included
        assert town[f] == pytest.approx(0.5 * v, abs=1e-15), f
    # P fell from 100 to 90 between T's anchor and its own: half of log(0.9), naming P
    assert town[FOLLOWS] == pytest.approx(0.5 * np.log(0.9), abs=1e-15)
    assert got.loc[got["feature"] == FOLLOWS, "value"].tolist() == ["P"]
    # the parts still add up to log(forecast / p0) of the town, and the parent is unchanged
    assert town.sum() == pytest.approx(0.5 * np.log(40.5 / 50), abs=1e-15)
    pd.testing.assert_frame_equal(
        got[got["row"] == 0], before[before["row"] == 0], check_dtype=False
    )
    inherited = got[(got["row"] == 1) & got["feature"].str.startswith("f_")]
    assert inherited["shap"].isna().all() and (inherited["value"] == 1.5).all()
    assert not got[["row", "feature"]].duplicated().any()  # T's unused model row is gone


def test_rows_without_a_followed_parent_are_left_alone():
    before = hand_out()
    alone = TABLE.assign(w_parent=[0.0, 0.0])  # e.g. the parent member did not exist
    pd.testing.assert_frame_equal(_follow_parents(before, alone), before)
    no_col = TABLE.drop(columns="parent_id")  # nested members not configured
    pd.testing.assert_frame_equal(_follow_parents(before, no_col), before)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    # the towns annual to the origin: anchored where their parents are (no observed gap)
    panel, units = synthetic_nested()
    units = units.assign(name=units.index)
    data = read_dataset(write_dataset(tmp_path_factory.mktemp("ne") / "syn", panel, units))
    cfg = fast_engine_config().model_copy(
        update={"nested_members": {"population": ["parent", "naive"]}}
    )
    fc = Forecaster(config=cfg).fit(data, 2005)
    cut = data.up_to(2005)
    out = fc.forecast(cut, [1, 5])
    return cut, out, explain(fc, out)


def test_the_explanations_of_an_engine_run_add_up_and_towns_follow_their_parents(run):
    cut, fc, expl = run
    table = fc.table()
    assert check_decomposition(expl, table, latest_observations(cut)) <= 1e-9
    assert not expl[["unit_id", "target", "horizon", "feature"]].duplicated().any()
    d = by_driver(expl[expl["target"] == "population"]).set_index(["unit_id", "horizon", "driver"])
    d = d["contribution_log"]
    towns = [u for u in cut.units.index if u.endswith("T")]
    assert towns
    for town in towns:
        parent = town[:-1]
        for h in (1, 5):
            t, p = d.loc[(town, h)], d.loc[(parent, h)]
            assert abs(t[FOLLOWS]) < 1e-12  # anchored at the origin like its parent
            t = t.drop(FOLLOWS)
            pd.testing.assert_series_equal(t, 0.5 * p.reindex(t.index), atol=1e-12)


def test_the_structural_share_of_a_nested_town_is_its_parents(run):
    cut, fc, expl = run
    policy = Policy(horizon=5)
    facts = category_facts(cut, fc.table(), expl, policy)
    towns = facts[facts.index.str.endswith("T")]
    parents = facts.loc[towns.index.str[:-1]]
    declining = (towns["change_pct"] < 0).to_numpy() & (parents["change_pct"] < 0).to_numpy()
    assert declining.any()  # the synthetic panel has falling parents
    np.testing.assert_allclose(
        towns["structural_share"].to_numpy()[declining],
        parents["structural_share"].to_numpy()[declining],
        atol=1e-9,
    )
    assert (towns["follows"] == towns.index.str[:-1]).all()
    assert (towns["follows_change_pct"].to_numpy() == parents["change_pct"].to_numpy()).all()
    assert parents["follows"].isna().all()
    # not 1.0 by construction any more: the parent's short-term drivers count too
    assert (towns["structural_share"].dropna() < 1).any()


def facts_row(**over) -> pd.DataFrame:
    return town_facts(
        "KAR-Balkhash-T",
        **{
            "name": "Balkhash",
            "latest": 60000.0,
            "latest_year": 2024,
            "target_year": 2034,
            "forecast": 54000.0,
            "change_pct": -10.0,
            "lower_pct": -20.0,
            "upper_pct": 0.0,
            "structural_share": 0.4,
            "top_drivers": "long_run_trend -6.0 pts",
            "follows": "KAR-Balkhash-CA",
            "follows_name": "Balkhash",
            "follows_territory": "city_administration",
            "follows_change_pct": -5.04,
            **over,
        },
    )


def test_the_reasons_of_a_nested_town_name_the_administration_it_follows():
    r = categorize(facts_row(), Policy(), 0.8).iloc[0]
    assert "follows Balkhash city administration's outlook: -5.0% by 2034" in r["reasons"]
    alone = categorize(facts_row(follows=None, follows_name=None), Policy(), 0.8).iloc[0]
    assert "follows" not in alone["reasons"]


@pytest.mark.parametrize(
    ("lang", "label", "words"),
    [
        ("en", "Balkhash", "city administration"),
        ("ru", "Балхаш", "городская администрация"),
        ("kk", "Балқаш", "қала әкімдігі"),
    ],
)
def test_the_report_says_whose_outlook_a_town_follows_in_every_language(lang, label, words):
    row = categorize(facts_row(), Policy(), 0.8).iloc[0].to_dict()
    out = tx.unit_sentences(
        row, {}, lang, level=0.8, driver_list=[], pole_label=None, follows_label=label
    )
    said = [s for s in out["reasons"] if label in s]
    assert len(said) == 1 and words in said[0] and "2034" in said[0]
    assert "{" not in said[0]  # every field filled
    own = {**row, "follows": None}
    assert not any(
        label in s
        for s in tx.unit_sentences(own, {}, lang, level=0.8, driver_list=[], pole_label=None)[
            "reasons"
        ]
    )
