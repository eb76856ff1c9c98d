"""Checks of the bundled Kazakhstan towns dataset (data/kz_towns), built by scripts/build_kz_towns.py."""

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "kz_towns"
SHARED = REPO.parent / "shared" / "data" / "kz"
SCRIPT = REPO / "scripts" / "build_kz_towns.py"
OUTPUTS = ["panel.csv", "units.csv", "regions.csv", "country.csv", "sources.csv", "README.md"]
MONO_ATTRS = [
    "lat",
    "lon",
    "region",
    "region_centre",
    "dist_region_centre_km",
    "nearest_city_250k",
    "dist_nearest_250k_km",
    "main_industry",
]
# Independent restatement of the doubt rule: no used row may carry one of these in its note.
DOUBT = re.compile(
    r"implausib|erroneous|content[- ]farm|low reliability|unreliable|\brounded\b|"
    r"\bapprox|\bca\.|\bungefähr\b|\brund\b|unclear|uncertain|\bconflicts? with\b|"
    r"inconsistent|\btypo\b|swapped|as printed",
    re.I,
)


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def panel():
    df = pd.read_csv(DATA / "panel.csv")
    assert list(df.columns) == ["unit_id", "year", "population"]
    return df


@pytest.fixture(scope="module")
def sources():
    return read("sources.csv")


def test_rebuild_is_byte_identical(tmp_path):
    if not SHARED.is_dir():
        pytest.skip("../shared/data/kz not found: cannot rebuild the bundled dataset")
    subprocess.run(
        [sys.executable, str(SCRIPT), "--shared", str(SHARED), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(OUTPUTS)
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), (
            f"{name} differs after rebuild"
        )


def test_units():
    units = read("units.csv")
    assert len(units) == 89 and units.unit_id.is_unique
    assert (units.unit_id == units.name).all()
    assert set(units.monotown) == {"0", "1"} and (units.monotown == "1").sum() == 27
    mono = units[units.monotown == "1"]
    for col in MONO_ATTRS:
        assert (mono[col] != "").all(), f"monotown without {col}"
    for col in ["lat", "lon", "dist_region_centre_km", "dist_nearest_250k_km"]:
        assert pd.to_numeric(mono[col]).notna().all()
    assert (units.loc[units.monotown == "0", ["lat", "lon", "main_industry"]] == "").all().all()
    assert set(units.scope) <= {"city", "administration"}
    assert set(units.region) <= set(read("regions.csv").region)


def test_panel(panel):
    assert not panel.duplicated(["unit_id", "year"]).any()
    assert pd.api.types.is_integer_dtype(panel.population) and (panel.population > 0).all()
    assert pd.api.types.is_integer_dtype(panel.year)
    assert set(panel.unit_id) <= set(read("units.csv").unit_id)


def test_every_panel_value_has_one_used_source(panel, sources):
    used = sources[(sources.file == "panel") & (sources.status == "used")]
    assert len(used) == len(panel)
    keyed = used.assign(year=used.year.astype(int), value=used.value.astype(int))
    merged = panel.merge(
        keyed,
        left_on=["unit_id", "year", "population"],
        right_on=["unit_id", "year", "value"],
        how="left",
        indicator=True,
    )
    assert (merged._merge == "both").all() and len(merged) == len(panel)
    assert set(sources.status) == {"used", "excluded"} and set(sources.kind) <= {
        "census",
        "estimate",
    }
    assert (sources.loc[sources.status == "excluded", "reason"] != "").all()


def test_no_doubtful_note_is_used(sources):
    used = sources[(sources.file == "panel") & (sources.status == "used")]
    bad = used[used.source_note.str.contains(DOUBT)]
    assert bad.empty, bad[["unit_id", "year", "source_note"]].to_string()
    unresolved = used.source_note.str.contains("scope not stated") & ~used.source_note.str.contains(
        "magnitudes match the city"
    )
    assert not unresolved.any()
    assert set(used.scope) == {"city"}


def test_regions_and_country_values_have_used_sources(sources):
    for name, keys in [("regions", ["region", "year"]), ("country", ["year"])]:
        table = read(f"{name}.csv").melt(id_vars=keys, var_name="variable", value_name="value")
        table = table[table.value != ""]
        used = sources[(sources.file == name) & (sources.status == "used")]
        if name == "regions":
            table = table.rename(columns={"region": "unit_id"})
            on = ["unit_id", "year", "variable", "value"]
        else:
            on = ["year", "variable", "value"]
        merged = table.merge(used, on=on, how="left", indicator=True)
        assert len(merged) == len(table) == len(used) and (merged._merge == "both").all(), name


def test_monotowns_have_recent_history(panel):
    mono = read("units.csv").query("monotown == '1'").unit_id
    for town in mono:
        years = panel.loc[panel.unit_id == town, "year"]
        assert len(years) >= 2, town
        assert years.between(2021, 2025).any(), town
