"""Decisions say which territory they are about; components of change are written with a run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import pipeline

from .conftest import synthetic_nested, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")


@pytest.fixture(scope="module")
def nested_run(tmp_path_factory):
    """SYNTHETIC: town proper SYN000T (no employment series of its own) is the decision unit of
    one town; district SYN001 stands in for another; SYN002 is an ordinary decision unit."""
    from .conftest import fast_engine_config

    tmp = tmp_path_factory.mktemp("towns")
    panel, units = synthetic_nested(n_units=12)
    panel.loc[panel["unit_id"] == "SYN000T", "employment"] = np.nan
    units["monotown"] = units["unit_id"].isin(["SYN000T", "SYN001", "SYN002"]).astype(int)
    units["stands_in_for"] = np.where(units["unit_id"] == "SYN001", "Town One", "")
    folder = write_dataset(tmp / "syn", panel, units)
    res = pipeline.run(folder, config=fast_engine_config(), runs_root=tmp / "runs", track=False)
    return res, panel


def test_categories_name_the_territory_and_the_employment_unit(nested_run):
    res, _ = nested_run
    cats = pd.read_csv(res.out_dir / "categories.csv").set_index("unit_id")
    assert set(cats.index) == {"SYN000T", "SYN001", "SYN002"}
    town = cats.loc["SYN000T"]
    assert town["territory"] == "town_proper"
    assert town["other_territory"] == "SYN000" and town["other_territory_kind"] == "district"
    assert town["employment_unit"] == "SYN000" and town["employment_territory"] == "district"
    assert town["employment_from_stand_in"]
    assert not cats.loc["SYN002", "employment_from_stand_in"]
    fc = pd.read_csv(res.out_dir / "forecasts.csv")
    h = res.policy.horizon
    emp = fc[(fc["unit_id"] == "SYN000") & (fc["target"] == "employment") & (fc["horizon"] == h)]
    pop = fc[(fc["unit_id"] == "SYN000") & (fc["target"] == "population") & (fc["horizon"] == h)]
    data = res.data.panel
    last = data[(data["unit_id"] == "SYN000")].iloc[-1]
    np.testing.assert_allclose(
        town["employment_change_pct"],
        100 * (emp["forecast"].iloc[0] / last["employment"] - 1),
        rtol=1e-4,  # the CSV files keep six significant digits
    )
    np.testing.assert_allclose(
        town["other_territory_change_pct"],
        100 * (pop["forecast"].iloc[0] / last["population"] - 1),
        rtol=1e-4,
    )
    assert cats.loc["SYN001", "stands_in_for"] == "Town One"
    assert cats.loc["SYN001", "employment_unit"] == "SYN001"
    assert pd.isna(cats.loc["SYN002", "stands_in_for"])


def test_forecasts_carry_territory_and_stand_in_flags(nested_run):
    res, _ = nested_run
    fc = pd.read_csv(res.out_dir / "forecasts.csv")
    flags = fc.drop_duplicates("unit_id").set_index("unit_id")
    assert flags.loc["SYN001", "stands_in_for"] == "Town One"
    assert flags.loc["SYN000T", "territory"] == "town_proper"
    assert flags["stands_in_for"].notna().sum() == 1
    for name in ("explanations.csv", "drivers.csv"):
        table = pd.read_csv(res.out_dir / name)
        marked = table.loc[table["stands_in_for"].notna(), "unit_id"].unique()
        assert list(marked) == ["SYN001"], name
    # the town proper has no employment series: only its population is forecast
    assert set(fc.loc[fc["unit_id"] == "SYN000T", "target"]) == {"population"}


def test_components_csv_holds_the_history_of_the_decision_units(nested_run):
    res, panel = nested_run
    comp = pd.read_csv(res.out_dir / "components.csv")
    assert set(comp["unit_id"]) == {"SYN000T", "SYN000", "SYN001", "SYN002"}
    for c in ("population", "births", "deaths", "natural_increase", "net_migration", "employment"):
        assert c in comp, c
    np.testing.assert_array_equal(comp["natural_increase"], comp["births"] - comp["deaths"])
    np.testing.assert_array_equal(comp["net_migration"], comp["arrivals"] - comp["departures"])
    src = panel[panel["unit_id"] == "SYN002"].set_index("year")
    got = comp[comp["unit_id"] == "SYN002"].set_index("year")
    np.testing.assert_array_equal(got["births"], src.loc[got.index, "births"])
