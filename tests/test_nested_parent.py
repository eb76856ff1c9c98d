"""Nested units that follow their parent (forecast.nested; SYNTHETIC data only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import nested
from forecast.engine import Forecaster
from forecast.io import read_dataset

from .conftest import synthetic_nested, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")

UNITS = pd.DataFrame(
    {"parent_id": [pd.NA, "P", pd.NA, "Q"]}, index=pd.Index(["P", "T", "Q", "S"], name="unit_id")
)


def test_parent_member_applies_the_parents_growth_since_the_towns_anchor():
    # T's anchor is a census in 2009 (stale at origin 2012); P is annual and forecast 2017
    table = pd.DataFrame(
        {
            "unit_id": ["P", "T", "Q", "S"],
            "year": [2017] * 4,
            "t0": [2012, 2009, 2012, 2009],
            "p0": [90.0, 50.0, 40.0, 10.0],
            "forecast": [81.0, 55.0, 44.0, 11.0],
        }
    )
    obs = pd.DataFrame(
        {"unit_id": ["P", "P", "Q"], "year": [2009, 2012, 2012], "value": [100.0, 90.0, 40.0]}
    )
    got = nested.parent_member(table, obs, UNITS)
    # 50 * 81 / 100: P fell 10% to the origin and is forecast to fall 10% more
    assert got[1] == pytest.approx(40.5)
    # top-level units have none; S's parent Q is not observed at S's anchor year 2009
    assert got.isna().tolist() == [True, False, True, True]


def test_parent_member_is_for_town_proper_units_where_the_territory_is_recorded():
    table = pd.DataFrame(
        {"unit_id": ["P", "T"], "year": [2017] * 2, "t0": [2012] * 2, "p0": [90.0, 50.0]}
    ).assign(forecast=[81.0, 45.0])
    obs = pd.DataFrame({"unit_id": ["P"], "year": [2012], "value": [90.0]})
    units = UNITS.assign(territory=["city_administration", "town_proper", "district", "district"])
    assert nested.parent_member(table, obs, units)[1] == pytest.approx(45.0)
    inner = units.assign(territory="district")  # an inner-city district of its city
    assert nested.parent_member(table, obs, inner).isna().all()


def test_blend_takes_the_geometric_mean_of_the_members_where_the_parent_member_exists():
    table = pd.DataFrame({"forecast": [100.0, 64.0], "naive": [100.0, 64.0], "model": [1.0, 2.0]})
    weights = pd.DataFrame({"model": [0.5, 0.5], "naive": [0.5, 0.5]})
    member = pd.Series([np.nan, 16.0])
    out, w = nested.blend(table, weights, member, ["parent", "naive"])
    assert out["forecast"].tolist() == pytest.approx([100.0, 32.0])  # sqrt(64 * 16)
    assert w.sum(axis=1).tolist() == pytest.approx([1.0, 1.0])
    assert w["parent"].tolist() == [0.0, 0.5] and w["model"].tolist() == [0.5, 0.0]


def test_blend_rejects_members_it_does_not_have():
    t = pd.DataFrame({"forecast": [1.0]})
    msg = r"nested_members must name the parent member or forecast columns \(got \['lin'\]; "
    with pytest.raises(ValueError, match=msg + r"unknown: \['lin'\]\)"):
        nested.blend(t, pd.DataFrame({"model": [1.0]}), pd.Series([1.0]), ["lin"])


def test_config_rejects_unknown_nested_members(fast_config):
    with pytest.raises(
        ValueError, match="nested_members of population must be a non-empty list from"
    ):
        fast_config.model_validate(
            {**fast_config.model_dump(), "nested_members": {"population": ["mayor"]}}
        )


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    panel, units = synthetic_nested()
    # the towns' series: a census in 1995, then nothing until 2006 (stale at origin 2004)
    town = panel["unit_id"].str.endswith("T")
    panel = panel[~town | (panel["year"] == 1995) | (panel["year"] >= 2006)]
    return read_dataset(write_dataset(tmp_path_factory.mktemp("np") / "syn", panel, units))


def test_engine_blends_nested_units_only_and_the_decomposition_adds_up(fast_config, data):
    off = Forecaster(config=fast_config).fit(data, 2004).forecast(data, [1, 5])
    cfg = fast_config.model_copy(update={"nested_members": {"population": ["parent", "naive"]}})
    on = Forecaster(config=cfg).fit(data, 2004).forecast(data, [1, 5])
    a, b = off.table(), on.table()
    top = ~a["unit_id"].str.endswith("T")
    pd.testing.assert_frame_equal(a[top], b[top])
    emp = a["target"] == "employment"  # members for population only
    pd.testing.assert_frame_equal(a[emp], b[emp])
    t = on.targets["population"].table
    rows = t[t["unit_id"].str.endswith("T")]
    assert (rows["t0"] == 1995).all()
    parent = t.set_index(["unit_id", "year"])["forecast"]
    p_fc = parent.reindex(list(zip(rows["unit_id"].str[:-1], rows["year"], strict=True)))
    obs = data.panel.set_index(["unit_id", "year"])["population"]
    p_t0 = obs.reindex(list(zip(rows["unit_id"].str[:-1], rows["t0"], strict=True)))
    member = rows["p0"].to_numpy() * p_fc.to_numpy() / p_t0.to_numpy()
    np.testing.assert_allclose(rows["parent"], member, rtol=1e-12)
    np.testing.assert_allclose(rows["forecast"], np.sqrt(rows["naive"] * member), rtol=1e-9)
    d = on.targets["population"].decomposition
    np.testing.assert_allclose(d.total(), np.log(t["forecast"] / t["p0"]), atol=1e-9)


def test_blend_adds_the_members_weight_columns_in_the_members_order():
    """The weight columns (w_* in forecasts.csv) do not depend on the process's string hashing:
    members the combination does not weigh are added in the order the config names them."""
    members = ["parent", "lin", "exp", "csp_vsg", "average", "lin_exp"]
    table = pd.DataFrame({"forecast": [64.0], "naive": [64.0], "model": [60.0]})
    table = table.assign(**{m: [50.0] for m in members[1:]})
    weights = pd.DataFrame({"model": [0.5], "naive": [0.5]})
    _, w = nested.blend(table, weights, pd.Series([40.0]), members)
    assert w.columns.tolist() == ["model", "naive", *members]
    assert w.iloc[0].tolist() == pytest.approx([0.0, 0.0, *[1 / 6] * 6])
