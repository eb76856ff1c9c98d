"""Nested units (parent_id): never summed twice, never trained on twice, never leaking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import hierarchy
from forecast.components import component_series
from forecast.engine import Forecaster
from forecast.errors import DataValidationError
from forecast.io import read_dataset
from forecast.reference import COUNTRY, Reference, national_projection

from .conftest import synthetic_nested, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")


@pytest.fixture(scope="module")
def nested(tmp_path_factory):
    panel, units = synthetic_nested()
    folder = write_dataset(tmp_path_factory.mktemp("nested") / "syn", panel, units)
    return panel, units, read_dataset(folder)


def test_top_level_units_are_those_without_a_parent(nested):
    _, units, data = nested
    top = hierarchy.top_level(data.units)
    assert set(top) == set(units.loc[units["parent_id"].fillna("") == "", "unit_id"])
    assert not any(u.endswith("T") for u in top)
    assert len(top) == 24 and len(data.units) == 32


def test_other_territory_links_town_proper_and_its_parent(nested):
    _, _, data = nested
    other = hierarchy.other_territory(data.units)
    assert other["SYN000T"] == "SYN000" and other["SYN000"] == "SYN000T"
    assert pd.isna(other["SYN001"])


def test_reference_totals_sum_top_level_units_only(nested):
    panel, units, data = nested
    ref = Reference.from_dataset(data, "population")
    top = panel[~panel["unit_id"].str.endswith("T")]
    expected = top.groupby("year")["population"].sum()
    got = ref.at(COUNTRY, expected.index.to_numpy())
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=1e-12)
    region = top[top["unit_id"].map(units.set_index("unit_id")["region"]) == "R0"]
    np.testing.assert_allclose(
        ref.at("R0", [2000]), region[region["year"] == 2000]["population"].sum(), rtol=1e-12
    )


@pytest.mark.slow  # two full fits of a nested panel: `make test-all` and CI
def test_nested_units_change_no_forecast_of_a_top_level_unit(tmp_path, fast_config, nested):
    """Training pairs, calibration residuals, totals and control read top-level units only:
    adding the town-proper units (whose people are already in their parents) changes nothing."""
    panel, units, data = nested
    top_units = units[units["parent_id"].fillna("") == ""]
    flat = read_dataset(
        write_dataset(
            tmp_path / "flat",
            panel[panel["unit_id"].isin(top_units["unit_id"])],
            top_units,
        )
    )
    a = Forecaster(config=fast_config).fit(data, 2004)
    b = Forecaster(config=fast_config).fit(flat, 2004)
    for target in ("population", "employment"):
        assert a.targets_[target].n_pairs_ == b.targets_[target].n_pairs_
    ta = a.forecast(data).table()
    tb = b.forecast(flat).table()
    pd.testing.assert_frame_equal(
        ta[ta["unit_id"].isin(top_units["unit_id"])].reset_index(drop=True), tb
    )
    # the nested units are forecast too
    assert set(ta["unit_id"]) - set(tb["unit_id"]) == {f"SYN{i:03d}T" for i in range(0, 24, 3)}


def test_control_scales_nested_units_with_their_parents_factor(fast_config, nested):
    _, _, data = nested
    tf = Forecaster(config=fast_config).fit(data, 2004, calibrate=False).targets_["population"]
    t = tf.forecast(data, [5]).table
    top = ~t["unit_id"].str.endswith("T")
    ref = Reference.from_dataset(data.up_to(2004), "population", fast_config.base_years)
    # the national total as the engine projects it (issue 11: the method chosen by its backtest)
    proj = national_projection(ref, 2004, [2009], fast_config.reference_method)[0]
    growth = proj / ref.at(COUNTRY, [2004])[0]
    np.testing.assert_allclose(t.loc[top, "model"].sum() / t.loc[top, "p0"].sum(), growth)
    # each nested unit's model forecast is its uncontrolled growth times the common factor
    factor = (
        t.loc[top, "model"].sum()
        / (
            t.loc[top, "p0"]
            * np.exp(t.loc[top, "relative_growth"] + t.loc[top, "reference_growth"])
        ).sum()
    )
    nested_rows = t[~top]
    raw = nested_rows["p0"] * np.exp(
        nested_rows["relative_growth"] + nested_rows["reference_growth"]
    )
    np.testing.assert_allclose(nested_rows["model"], raw * factor, rtol=1e-9)


def _perturb_after(panel: pd.DataFrame, year: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    later = panel["year"] > year
    out = panel.copy()
    for c in out.columns.drop(["unit_id", "year"]):
        out.loc[later, c] = (out.loc[later, c] * rng.uniform(0.2, 5, later.sum())).round()
    return out


# 1999 stays in `make test`; 2006 (twice the fit) runs in `make test-all` and CI.
@pytest.mark.parametrize("origin", [1999, pytest.param(2006, marks=pytest.mark.slow)])
def test_no_leakage_with_nested_units_and_components(tmp_path, fast_config, nested, origin):
    """Births, deaths, migration, wages, employment and population after the origin, changed or
    deleted, leave every forecast (nested units included) identical."""
    panel, units, data = nested
    base = Forecaster(config=fast_config).fit(data, origin).forecast(data).table()
    changed = _perturb_after(panel, origin, seed=origin)
    deleted = panel[panel["year"] <= origin]
    for name, variant in (("changed", changed), ("deleted", deleted)):
        other = read_dataset(write_dataset(tmp_path / name, variant, units))
        out = Forecaster(config=fast_config).fit(other, origin).forecast(other).table()
        pd.testing.assert_frame_equal(base, out)


def test_component_features_enter_the_model(fast_config, nested):
    _, _, data = nested
    tf = Forecaster(config=fast_config).fit(data, 2004, calibrate=False).targets_["population"]
    X = tf.forecast(data, [5]).X
    for name in (
        "natural_increase_rate",
        "natural_increase_rate_5y",
        "net_migration_rate",
        "net_migration_rate_5y",
        "wage_rel_region_log",
        "emp_growth_1y",
    ):
        assert name in X and X[name].notna().any(), name
    assert "wage" not in X  # a nominal wage is not comparable across years


def test_component_series_by_hand():
    panel = pd.DataFrame(
        {
            "unit_id": ["A"] * 4 + ["B"] * 4 + ["AT"] * 4,
            "year": [2000, 2001, 2002, 2003] * 3,
            "population": [1000.0, 1000, 1000, 1000, 3000, 3000, 3000, 3000, 500, 500, 500, 500],
            "births": [20.0, 30, 10, 40, 30, 30, 30, 30, 10, 10, 10, 10],
            "deaths": [10.0, 10, 10, 10, 60, 60, 60, 60, 5, 5, 5, 5],
            "arrivals": [5.0, 5, 5, np.nan, 0, 0, 0, 0, 1, 1, 1, 1],
            "departures": [15.0, 15, 15, 15, 30, 30, 30, 30, 1, 1, 1, 1],
            "wage": [100.0, 100, 100, 100, 200, 200, 200, 200, 10_000, 10_000, 10_000, 10_000],
        }
    )
    units = pd.DataFrame(
        {"region": ["R", "R", "R"], "parent_id": [None, None, "A"]},
        index=pd.Index(["A", "B", "AT"], name="unit_id"),
    )
    s = component_series(panel, units)
    a = s["natural_increase_rate"].query("unit_id == 'A'")["value"].to_numpy()
    np.testing.assert_allclose(a, [0.01, 0.02, 0.0, 0.03])
    mean = s["natural_increase_rate_5y"].query("unit_id == 'A'").set_index("year")["value"]
    assert list(mean.index) == [2002, 2003]  # at least three years behind each value
    np.testing.assert_allclose(mean.to_numpy(), [0.01, 0.015])
    mig = s["net_migration_rate"].query("unit_id == 'A'")
    assert list(mig["year"]) == [2000, 2001, 2002]  # 2003 lacks arrivals: no value
    np.testing.assert_allclose(mig["value"], -0.01)
    # region mean wage: (100 * 1000 + 200 * 3000) / 4000 = 175, the nested unit left out
    w = s["wage_rel_region_log"].set_index(["unit_id", "year"])["value"]
    np.testing.assert_allclose(w[("A", 2000)], np.log(100 / 175))
    np.testing.assert_allclose(w[("AT", 2000)], np.log(10_000 / 175))


def test_unknown_parent_and_cycles_are_named(tmp_path):
    """parent_id is validated with the units (forecast.schema): errors name file, line, rule."""
    panel, units = synthetic_nested(n_units=3)
    bad = units.copy()
    bad.loc[bad["unit_id"] == "SYN000T", "parent_id"] = "NOPE"
    with pytest.raises(DataValidationError) as err:
        read_dataset(write_dataset(tmp_path / "bad", panel, bad))
    assert "units.csv: unknown parent_id: line 3: no unit NOPE" in str(err.value)
    cyc = units.copy()
    cyc.loc[cyc["unit_id"] == "SYN000", "parent_id"] = "SYN000T"
    with pytest.raises(DataValidationError) as err:
        read_dataset(write_dataset(tmp_path / "cyc", panel, cyc))
    assert "units.csv: parent_id cycle: lines 2, 3: units SYN000, SYN000T contain each other" in (
        str(err.value)
    )
