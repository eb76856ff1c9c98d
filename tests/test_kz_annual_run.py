"""`forecast run` with no arguments: the 27 monotowns from the Bureau's annual panel."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli import app

from .conftest import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning"),
]
KZA = ROOT / "data" / "kz_annual"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    if not (KZA / "panel.csv").exists():
        pytest.skip("data/kz_annual is not bundled in this checkout")
    tmp = tmp_path_factory.mktemp("run")
    result = CliRunner().invoke(app, ["run", "--no-track", "--runs", str(tmp / "runs")])
    assert result.exit_code == 0, result.output
    (folder,) = list((tmp / "runs" / "kz_annual").iterdir())
    units = pd.read_csv(KZA / "units.csv", dtype={"unit_id": str}).set_index("unit_id")
    return folder, units, result.output


def test_default_run_categorises_the_27_monotowns(default_run):
    folder, units, output = default_run
    cats = pd.read_csv(folder / "categories.csv")
    decision = set(units.index[units["monotown"] == 1])
    assert len(decision) == 27 and set(cats["unit_id"]) == decision
    assert "Temirtau" in output and "Zhanaozen" in output
    # which territory the decision is about is explicit
    assert cats["territory"].isin(["town_proper", "city_administration", "district"]).all()
    nested = cats[cats["territory"] == "town_proper"]
    assert nested["other_territory"].notna().all()


def test_population_for_all_and_employment_for_at_least_22(default_run):
    folder, units, _ = default_run
    fc = pd.read_csv(folder / "forecasts.csv")
    cats = pd.read_csv(folder / "categories.csv")
    decision = set(cats["unit_id"])
    pop = fc[(fc["target"] == "population") & fc["unit_id"].isin(decision)]
    assert set(pop["unit_id"]) == decision
    with_jobs = cats[cats["employment_change_pct"].notna()]
    assert len(with_jobs) >= 22
    emp = fc[fc["target"] == "employment"]
    assert set(with_jobs["employment_unit"]) <= set(emp["unit_id"])
    # a larger territory standing in for the town is flagged in both outputs
    stand_in = with_jobs[with_jobs["employment_from_stand_in"]]
    assert (stand_in["employment_unit"] != stand_in["unit_id"]).all()
    flagged = fc.drop_duplicates("unit_id").set_index("unit_id")["stands_in_for"].dropna()
    assert set(flagged.index) == set(units.index[units["stands_in_for"].notna()])


def test_components_are_written_for_the_monotowns(default_run):
    folder, _, _ = default_run
    comp = pd.read_csv(folder / "components.csv")
    cats = pd.read_csv(folder / "categories.csv")
    assert set(cats["unit_id"]) <= set(comp["unit_id"])
    for c in ("births", "deaths", "natural_increase", "net_migration", "employment"):
        assert comp[c].notna().any(), c
