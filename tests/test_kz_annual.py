"""Checks of the bundled annual Kazakhstan dataset (data/kz_annual), built by
scripts/build_kz_annual.py from ../shared/data/kz/bns/raw with the BNS importer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.io import read_dataset

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "kz_annual"
SHARED = REPO.parent / "shared" / "data" / "kz"
TIDY = SHARED / "bns" / "tidy"
SCRIPT = REPO / "scripts" / "build_kz_annual.py"
OUTPUTS = ["panel.csv", "units.csv", "regions.csv", "country.csv", "sources.csv.gz", "README.md"]
NO_SHARED = "../shared/data/kz/bns not found: the Bureau's workbooks are read in place"
# labour tables whose unit tidy/ could not take from the table: explained in the dataset README
EXPLAINED_LABOUR_FILES = {"Karagandy": "no unit printed", "Atyrau": "no unit printed"}


@pytest.fixture(scope="module")
def units() -> pd.DataFrame:
    return pd.read_csv(DATA / "units.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(DATA / "panel.csv")


@pytest.fixture(scope="module")
def sources() -> pd.DataFrame:
    return pd.read_csv(DATA / "sources.csv.gz", low_memory=False)


@pytest.mark.slow  # rebuilds the dataset from the workbooks: `make test-all` and CI
def test_rebuild_is_byte_identical(tmp_path):
    if not (SHARED / "bns" / "raw").is_dir():
        pytest.skip(NO_SHARED)
    out = tmp_path / "kz_annual"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--shared", str(SHARED), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (DATA / name).read_bytes(), name


def test_validates_as_a_dataset():
    ds = read_dataset(DATA)
    assert ds.targets == ["population", "employment"]
    assert {"births", "deaths", "arrivals", "departures", "wage"} <= set(ds.indicators)


def test_contract_columns(panel, units):
    assert list(panel.columns[:4]) == ["unit_id", "year", "population", "employment"]
    for c in ["births", "deaths", "arrivals", "departures", "wage", "hired_employees"]:
        assert c in panel.columns
    need = ["unit_id", "name", "name_ru", "name_kk", "region", "territory", "parent_id"]
    need += ["monotown", "stands_in_for", "lat", "lon", "nearest_city_250k"]
    assert set(need) <= set(units.columns)
    assert set(units["territory"]) == {"city_administration", "district", "town_proper"}


def test_monotowns_and_their_territories(units, panel):
    mono = units[units["monotown"] == "1"]
    assert len(mono) == 27 and mono["name"].is_unique
    assert mono["lat"].ne("").all()
    # a town proper always lies inside a top-level unit; top-level units have no parent
    towns = units[units["territory"] == "town_proper"]
    parents = units.set_index("unit_id").loc[towns["parent_id"]]
    assert (parents["parent_id"] == "").all()
    assert (parents["territory"] != "town_proper").all()
    # employment for every monotown: its own series or a host flagged as standing in for it
    with_emp = set(panel.loc[panel["employment"].notna(), "unit_id"])
    standing = {n for s in units["stands_in_for"] if s for n in s.split(";")}
    for r in mono.itertuples():
        assert r.unit_id in with_emp or r.name in standing, r.name


def test_large_cities_are_units_found_by_name(units, panel):
    names = units["name"].value_counts()
    for city in sorted({c for c in units["nearest_city_250k"] if c}):
        assert names.get(city) == 1, city
        unit = units.loc[units["name"] == city].iloc[0]
        assert unit["territory"] == "city_administration" and unit["parent_id"] == ""
    astana = panel[panel["unit_id"] == units.loc[units["name"] == "Astana", "unit_id"].item()]
    assert astana["population"].notna().sum() > 20


def test_end_of_year_values_are_stored_at_1_january_next_year(panel, sources):
    used = sources[(sources["status"] == "used") & sources["period"].notna()]
    assert (used["year"] == used["period"] + 1).all()
    # Temirtau town proper: printed 172.1 thousand at the end of 2010 -> 1 January 2011
    row = used[(used["unit_id"] == "KAR-Temirtau-T") & (used["variable"] == "population")]
    first = row.sort_values("year").iloc[0]
    assert (first["period"], first["year"], first["printed"]) == (2010, 2011, "172.1")
    p = panel.set_index(["unit_id", "year"])
    assert p.loc[("KAR-Temirtau-T", 2011), "population"] == 172100
    assert ("KAR-Temirtau-T", 2010) not in p.index


def test_known_problem_decisions(panel, sources):
    p = panel.set_index(["unit_id", "year"])
    kentau = p.loc["YUZ-Kentau-CA"]
    assert kentau.loc[2018:2021, "population"].isna().all()
    assert kentau["population"].dropna().max() < 120_000
    zh = p.loc["MAN-Zhanaozen-T", "population"].dropna()
    assert zh.index.min() == 2015
    # Temirtau employed 2015: the profile sheets' 95.121 thousand, the labour workbook's 98.2 kept
    t = sources[
        (sources["variable"] == "employment")
        & (sources["period"] == 2015)
        & sources["unit_id"].isin(["KAR-Temirtau-CA", "KAR-Temirtau-T"])
    ]
    assert set(t.loc[t["status"] == "used", "value"]) == {95121}
    assert "98.2" in set(t.loc[t["status"] == "not used", "printed"].astype(str))
    # Rule T: a town sheet that repeats its administration's values is not the city proper of
    # the census, so the census points stay out (named in sources.csv), and only there
    for town in ("AKM-Stepnogorsk-T", "ULY-Satpaev-T"):
        assert p.loc[town, "population"].dropna().index.min() == 2011
        census = sources[
            (sources["unit_id"] == town) & (sources["file"] == "data/kz_towns/panel.csv")
        ]
        assert len(census) and (census["status"] == "not used").all()
        assert census["reason"].str.startswith("rule T:").all()
    assert p.loc["KAR-Temirtau-T", "population"].dropna().index.min() < 2010
    # Ulytau labour workbook: persons under a thousands header
    u = sources[(sources["file"] == "Ulytau.xlsx") & (sources["variable"] == "employment")]
    assert (u["value"] == pd.to_numeric(u["printed"])).all()


def test_rebasing_residual_is_the_accounting_identity(panel):
    p = panel.set_index(["unit_id", "year"])
    r = p["rebasing"].dropna()
    assert set(r.index.get_level_values(1)) == {2022}
    uid = "KAR-Saran-CA"
    now, before = p.loc[(uid, 2022)], p.loc[(uid, 2021)]
    implied = before["population"] + now["births"] - now["deaths"]
    implied += now["arrivals"] - now["departures"]
    assert r.loc[(uid, 2022)] == pytest.approx(now["population"] - implied)
    assert r.loc[(uid, 2022)] < -5000  # Saran's re-basing: 51.8 -> 43.9 thousand


def _tidy_profiles() -> pd.DataFrame:
    w = pd.read_csv(TIDY / "monotowns_key_indicators_wide.csv")
    w = w[w["ind"].isin(["population_end_of_year", "employed_LFS"])]
    years = [c for c in w.columns if c.isdigit()]
    t = w.melt(
        id_vars=["sheet", "ind", "unit"], value_vars=years, var_name="period", value_name="tidy"
    ).dropna(subset=["tidy"])
    t["period"] = t["period"].astype(int)
    t["tidy_persons"] = t["tidy"] * np.where(t["unit"].str.startswith("thousand"), 1000, 1)
    t["variable"] = t["ind"].map(
        {"population_end_of_year": "population", "employed_LFS": "employment"}
    )
    return t


def test_monotown_profile_values_match_tidy(sources):
    if not TIDY.is_dir():
        pytest.skip(NO_SHARED)
    t = _tidy_profiles()
    s = sources[
        (sources["scope"] == "profile") & sources["variable"].isin(["population", "employment"])
    ]
    s = s.assign(sheet=s["sheet"].str.strip()).sort_values(
        ["file", "sheet", "variable", "period", "row"]
    )
    s = s.drop_duplicates(["sheet", "variable", "period"])
    m = t.merge(s, on=["sheet", "variable", "period"], how="left")
    assert len(m) > 1000
    differ = m[~np.isclose(m["value"].fillna(-1), m["tidy_persons"], rtol=1e-6, atol=0.5)]
    assert differ.empty, differ[["sheet", "variable", "period", "tidy", "value"]].head()


def test_monotown_labour_values_match_tidy_or_are_explained(sources):
    if not TIDY.is_dir():
        pytest.skip(NO_SHARED)
    t = pd.read_csv(TIDY / "labour_by_district_long.csv.gz")
    t = t[t["indicator"] == "employed"].copy()
    t["tidy"] = pd.to_numeric(t["value"].astype(str).str.replace(",", "."), errors="coerce")
    t = t.dropna(subset=["tidy"])
    unit = t["unit"].fillna("")
    t["factor"] = np.where(
        unit.str.contains("тыс"), 1000.0, np.where(unit.str.contains("чел"), 1.0, np.nan)
    )
    t["territory"] = t["territory_raw"].astype(str).str.strip()
    s = sources[(sources["scope"] == "labour") & (sources["variable"] == "employment")].copy()
    s["oblast_file"] = s["file"].str.rsplit(".", n=1).str[0]
    s["territory"] = s["territory_printed"].astype(str).str.strip()
    m = t.merge(s, on=["oblast_file", "territory"], how="left")
    m = m[m["year_x"] == m["period"]]
    assert len(m) == len(t)  # every tidy cell was read
    differ = m[~np.isclose(m["value_y"], m["tidy"] * m["factor"], rtol=1e-6)]
    explained = differ["oblast_file"].isin(EXPLAINED_LABOUR_FILES) & differ["factor"].isna()
    ulytau = (differ["oblast_file"] == "Ulytau") & (differ["value_y"] == differ["tidy"])
    assert (explained | ulytau).all(), differ[~(explained | ulytau)].head()


def test_shipped_backtest_reaches_the_policy_horizon_on_most_units():
    """`forecast run` at the default as-of backtests an origin whose +horizon outcomes are
    published for most top-level units, so the trust page shows +10 and `forecast retrain`
    (promotion at the policy horizon) has cells to compare (with offsets [5] it never did)."""
    from forecast.config import EngineConfig, load_yaml_model
    from forecast.hierarchy import top_level
    from forecast.policy import load_policy

    config = load_yaml_model(EngineConfig, REPO / "experiments" / "engine_kz_annual.yaml")
    horizon = load_policy(REPO / "experiments" / "policy.yaml").horizon
    ds = read_dataset(DATA)
    pop = ds.panel[ds.panel["unit_id"].isin(top_level(ds.units))].dropna(subset=["population"])
    units = pop["unit_id"].nunique()
    origins = [ds.last_year - k for k in config.backtest_offsets]
    reached = {o: pop.loc[pop["year"] == o + horizon, "unit_id"].nunique() for o in origins}
    assert max(reached.values()) >= 0.75 * units, (reached, units)
