"""`forecast run` with no arguments: the 27 monotowns from the Bureau's annual panel."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile

import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli import app
from forecast.report.pdf import find_browser

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


def _dump_dom(page, query: str) -> str:
    """The page after its script ran (headless Chromium), or a skip without Chromium."""
    exe = find_browser()
    if exe is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="dump-dom-") as profile:
        res = subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=10000",
                "--dump-dom",
                page.as_uri() + query,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def test_town_page_shows_components_and_jobs(default_run):
    """The report of the default run: a monotown's page draws its births, deaths and migration
    beside the population forecast, and the jobs forecast with its range, in each language."""
    folder, _, _ = default_run
    page = folder / "report.html"
    text = page.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)
    data = json.loads(m.group(1))
    comp = pd.read_csv(folder / "components.csv", dtype={"unit_id": str})
    own = set(comp.loc[comp["births"].notna() | comp["net_migration"].notna(), "unit_id"])
    for u in data["units"]:
        if u["id"] in own:
            assert u["comp"] == {"from": None}, u["id"]
            assert data["components"][u["id"]], u["id"]
        elif u["comp"] is None:
            assert u["id"] not in data["components"]
    titles = {"en": "births, deaths and migration", "ru": "рождения, смерти и миграция"}
    titles["kk"] = "туу, өлім және көші-қон"
    for lang, title in titles.items():
        dom = _dump_dom(page, f"?lang={lang}#unit/KAR-Temirtau-T")
        section = dom[dom.index('id="components"') :]
        assert title in section[:400], lang
        assert section.count('class="compbar"') >= 10  # a bar per year and part
        jobs = dom[dom.index('id="chart-employment"') :]
        assert 'class="chart fan"' in jobs[:3000] and 'fill="var(--band)"' in jobs[:6000]
