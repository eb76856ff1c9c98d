"""Grouped combination weights (issue 11): a flagged group of units learns its own weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from forecast.combination import CombinationWeights, GroupedCombination, combiner, flagged_units
from forecast.config import EngineConfig
from forecast.engine import TargetForecaster
from forecast.io import read_dataset

from .conftest import fast_engine_config, synthetic_panel, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")

UNITS = pd.DataFrame({"unit_id": ["A", "B", "M1", "M2"], "mining": ["0", "0", "1", "yes"]})


def residuals(n: int = 40) -> pd.DataFrame:
    """Outside the group the model is exact and no change 20 % off; inside it the reverse."""
    ids = np.resize(["A", "B", "M1", "M2"], n)
    actual = np.linspace(100, 200, n)
    mining = np.isin(ids, ["M1", "M2"])
    return pd.DataFrame(
        {
            "unit_id": ids,
            "span": 1,
            "actual": actual,
            "model": np.where(mining, actual * 1.2, actual),
            "naive": np.where(mining, actual, actual * 1.2),
        }
    )


def make(min_cell: int = 5) -> GroupedCombination:
    c = combiner(
        ["model"],
        step=0.1,
        shrinkage=0.0,
        min_cell=min_cell,
        groups={"mining": ["model", "naive"]},
        units=UNITS,
    )
    assert isinstance(c, GroupedCombination)
    return c


def test_a_group_learns_its_own_weights_from_its_own_residuals():
    c = make().fit(residuals())
    w = c.weights(residuals(4))
    assert w.columns.tolist() == ["model", "naive"]
    assert w.to_numpy().tolist() == [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]
    res = residuals(8)
    np.testing.assert_allclose(c.combine(res), res["actual"])  # each group's exact member


def test_a_group_with_too_few_residuals_takes_the_others_weights():
    c = make(min_cell=50).fit(residuals(40))  # 20 group residuals < 50
    assert c.weights(residuals(4))["naive"].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_without_groups_the_plain_weights():
    c = combiner(["model", "naive"], step=0.1, shrinkage=0.0, min_cell=5, groups={}, units=UNITS)
    assert isinstance(c, CombinationWeights)


def test_bad_group_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="combine_groups: units.csv has no column 'mine'"):
        flagged_units(UNITS, "mine")
    with pytest.raises(ValueError, match="grouped combination weights need a unit_id column"):
        make().fit(residuals().drop(columns="unit_id"))
    with pytest.raises(ValidationError, match="combine_groups.employment.mining: members must"):
        EngineConfig(combine_groups={"employment": {"mining": ["model", "crystal_ball"]}})


def test_engine_uses_group_weights_learned_at_calibration_origins_only(tmp_path):
    """End to end on a SYNTHETIC panel: the flagged units get their own weights; the outcomes
    after the origin never reach them (same forecast when later years change)."""
    panel, units = synthetic_panel(n_units=40, years=range(1980, 2006))
    units["mining"] = [i % 4 == 0 for i in range(len(units))]
    units["mining"] = units["mining"].astype(int)
    cfg = fast_engine_config().model_copy(
        update={"combine_groups": {"population": {"mining": ["model", "naive"]}}}
    )
    data = read_dataset(write_dataset(tmp_path / "a", panel, units))
    later = panel.copy()
    later.loc[later["year"] > 2000, "population"] *= 2
    data_b = read_dataset(write_dataset(tmp_path / "b", later, units))
    fa = TargetForecaster(target="population", config=cfg).fit(data, 2000)
    fb = TargetForecaster(target="population", config=cfg).fit(data_b, 2000)
    assert isinstance(fa.combiner_, GroupedCombination) and fa.combiner_.fitted_["mining"]
    ta, tb = fa.forecast(data, [1, 5]).table, fb.forecast(data_b, [1, 5]).table
    pd.testing.assert_series_equal(ta["forecast"], tb["forecast"])
    flagged = ta["unit_id"].isin(units.loc[units["mining"] == 1, "unit_id"])
    assert "w_naive" in ta and (ta.loc[~flagged, "w_naive"] == 0).all()
    assert (ta.loc[flagged, "w_lin_exp"] == 0).all()  # not a member of the group
    weights = ta[["w_model", "w_lin_exp", "w_naive"]].sum(axis=1)
    np.testing.assert_allclose(weights, 1.0)  # on the simplex in both groups


def test_an_unfitted_group_takes_equal_weights_over_its_named_members():
    """No calibration residuals at all (a series too short for a calibration origin): with
    `unfitted` the group hedges over the named members; without it, the others' weights."""
    c = combiner(
        ["model"],
        step=0.1,
        shrinkage=0.0,
        min_cell=5,
        groups={"mining": ["model", "lin_exp", "naive"]},
        units=UNITS,
        unfitted={"mining": ["model", "naive"]},
    )
    table = residuals(4).assign(lin_exp=150.0)
    w = c.weights(table)  # never fitted
    assert w.columns.tolist() == ["model", "lin_exp", "naive"]
    assert w.to_numpy().tolist() == [[1, 0, 0], [1, 0, 0], [0.5, 0, 0.5], [0.5, 0, 0.5]]
    np.testing.assert_allclose(
        c.combine(table)[2:], np.sqrt(table["model"] * table["naive"])[2:].to_numpy()
    )
    fitted = c.fit(residuals(40).assign(lin_exp=150.0))  # 20 group residuals >= min_cell 5
    assert fitted.fitted_["mining"]  # with enough residuals the learned weights apply
    assert fitted.weights(table)["naive"].tolist() == [0.0, 0.0, 1.0, 1.0]
    plain = make()  # no `unfitted`: an unfitted group follows the others (the model)
    assert plain.weights(residuals(4))["naive"].tolist() == [0.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValidationError, match="combine_groups_unfitted.employment.mining"):
        EngineConfig(combine_groups_unfitted={"employment": {"mining": ["oracle"]}})


def test_a_dataset_without_the_flag_column_has_no_such_group():
    """The default engine serves every dataset (kz_towns has no `mining_dependent`): a group
    whose column units.csv lacks is left out, not an error; called directly, it is one."""
    c = combiner(
        ["model", "lin_exp"],
        step=0.1,
        shrinkage=0.0,
        min_cell=5,
        groups={"mining_dependent": ["model", "naive"]},
        units=UNITS,
        unfitted={"mining_dependent": ["model", "naive"]},
    )
    assert isinstance(c, CombinationWeights) and c.members == ["model", "lin_exp"]
    with pytest.raises(ValueError, match="units.csv has no column 'mining_dependent'"):
        flagged_units(UNITS, "mining_dependent")


def test_config_rejects_unknown_targets_and_unfitted_members_of_no_group():
    """A misspelt target, or equal-weight members for a group that has no own weights, would
    silently do nothing: the config names the key and the rule."""
    with pytest.raises(
        ValidationError,
        match=r"combine_groups: keys must be targets from population, employment "
        r"\(got \['populaton'\]\)",
    ):
        EngineConfig(combine_groups={"populaton": {"mining": ["model", "naive"]}})
    with pytest.raises(ValidationError, match=r"nested_members: keys must be targets from"):
        EngineConfig(nested_members={"pop": ["parent", "naive"]})
    with pytest.raises(
        ValidationError,
        match=r"combine_groups_unfitted.population.mining: no such group in "
        r"combine_groups.population \(the members apply only to a group with its own weights\)",
    ):
        EngineConfig(
            combine_groups={"employment": {"mining": ["model", "naive"]}},
            combine_groups_unfitted={"population": {"mining": ["model", "naive"]}},
        )
    ok = EngineConfig(
        combine_groups={"employment": {"mining": ["model", "naive"]}},
        combine_groups_unfitted={"employment": {"mining": ["model", "naive"]}},
    )
    assert ok.combine_groups_unfitted == {"employment": {"mining": ["model", "naive"]}}
