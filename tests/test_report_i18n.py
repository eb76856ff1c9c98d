"""The report's languages and names: Kazakh complete, every kz_towns name in Cyrillic with its
source, attribute values translated, number formats per language, the PDF's clear errors."""

from __future__ import annotations

import csv
import io
import re
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
import yaml

from forecast.errors import ForecastError
from forecast.report import names as nm
from forecast.report import pdf
from forecast.report import text as tx

ROOT = Path(__file__).resolve().parents[1]
KZ = ROOT / "data" / "kz_towns"
SHARED_KZ = ROOT.parent / "shared" / "data" / "kz"
CYRILLIC = re.compile(r"^[^A-Za-z]*[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі][^A-Za-z]*$")


def _keys(d: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        if isinstance(v, dict):
            out |= _keys(v, prefix + k + ".")
    return out


def test_kazakh_has_every_label_of_english():
    data = tx.i18n()
    assert data["languages"]["kk"] == "Қазақша"
    missing = _keys(data["en"]) - _keys(data["kk"]) - {"th_name", "dash"}  # English fallbacks
    assert not missing, sorted(missing)
    kk = tx.ui("kk")
    assert kk["categories"]["resettle"] == "Қоныс аудару"
    for key in ("decision", "outcome", "outcome_short"):
        for v in kk[key].values():
            assert re.search("[А-Яа-яӘәҒғҚқҢңӨөҰұҮүІі]", v), (key, v)


def test_kazakh_plural():  # number formats: tests/test_report_numbers.py
    assert tx.plural(27, tx.ui("kk")["nouns"]["town"], "kk") == "қала"


def test_every_town_region_and_city_has_cyrillic_names():
    units = pd.read_csv(KZ / "units.csv", dtype=str)
    places = set(units["unit_id"]) | set(units["nearest_city_250k"].dropna())
    places |= set(units["region_centre"].dropna()) | {c["name"] for c in nm.growth_points()}
    for name in sorted(places):
        got = nm.place(name)
        assert CYRILLIC.match(got["ru"]) and CYRILLIC.match(got["kk"]), got
    for region in sorted(set(units["region"])):
        got = nm.region(region)
        assert CYRILLIC.match(got["ru"]) and CYRILLIC.match(got["kk"]), got
    # the dataset's own names come first; the names file fills the rest
    assert nm.place("Oskemen") == {"en": "Oskemen", "ru": "Усть-Каменогорск", "kk": "Өскемен"}
    assert nm.place("Oskemen", ru="Усть-Каменогорск (г.)")["ru"] == "Усть-Каменогорск (г.)"
    assert nm.place("Akkol")["ru"] == "Ақкөл"  # no Russian source: the Kazakh name
    assert nm.place("Nowhere") == {"en": "Nowhere", "ru": "Nowhere", "kk": "Nowhere"}


def test_every_attribute_value_is_translated():
    units = pd.read_csv(KZ / "units.csv", dtype=str)
    cols = ("main_industry", "resource", "city_forming_enterprise", "scope")
    values = {v for c in cols for v in units[c].dropna()}
    assert values and all(nm.is_translated(v) for v in values), sorted(
        v for v in values if not nm.is_translated(v)
    )
    got = nm.value("steel (integrated iron & steel works)")
    assert got["ru"].startswith("чёрная металлургия") and got["kk"].startswith("қара металлургия")


def _names_rows() -> list[dict]:
    text = resources.files("forecast").joinpath("report/names_kz.csv").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.skipif(not SHARED_KZ.exists(), reason=f"needs the shared data at {SHARED_KZ}")
def test_every_russian_name_is_found_in_its_source():
    """Each `ru_source` (file|label) is a label the Bureau printed, or a column of a dataset."""
    labels: dict[str, set[str]] = {}
    monotowns = pd.read_csv(SHARED_KZ / "monotowns.csv", dtype=str).set_index("town")
    units = pd.read_csv(KZ / "units.csv", dtype=str).set_index("unit_id")
    rows = [r for r in _names_rows() if r["ru_source"]]
    assert len(rows) > 60
    for r in rows:
        file, label = r["ru_source"].split("|", 1)
        if file == "monotowns.csv":
            assert monotowns.at[r["key"], "name_ru"] == r["ru"]
        elif file == "kz_towns/units.csv":
            assert units.at[r["key"], "name_ru"] == r["ru"]
        else:
            if file not in labels:
                book = pd.read_excel(
                    SHARED_KZ / file, sheet_name=None, header=None, engine="calamine"
                )
                labels[file] = {str(s).strip() for s in book} | {
                    " ".join(str(v).split())
                    for df in book.values()
                    if df.shape[1]
                    for v in df.iloc[:, 0].dropna()
                }
            assert label in labels[file], (r["key"], file, label)
            assert r["ru"].split()[-1].rstrip("а") in label or r["kind"] == "region", r


def test_pdf_without_chromium_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(pdf, "find_browser", lambda: None)
    with pytest.raises(ForecastError, match=r"^no PDF written: headless Chromium is not installed"):
        pdf.write_pdf(tmp_path / "report.html")


def test_pdf_with_a_failing_browser_is_a_clear_error(tmp_path: Path):
    (tmp_path / "report.html").write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(ForecastError, match=r"^no PDF written: /bin/false failed"):
        pdf.write_pdf(tmp_path / "report.html", browser="/bin/false")
    assert not (tmp_path / "report.pdf").exists()


def test_cli_report_rejects_an_unknown_language(tmp_path: Path):
    import subprocess
    import sys

    forecast = Path(sys.executable).with_name("forecast")
    res = subprocess.run(
        [str(forecast), "report", str(tmp_path), "--pdf", "--lang", "xx"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert res.stderr.strip() == "error: --lang must be one of en, ru, kk, got 'xx'"


def test_every_driver_has_words_in_the_three_languages():
    """A driver without Kazakh words would show its English label on the Kazakh page."""
    text = (Path(tx.__file__).parents[1] / "resources" / "drivers.yaml").read_text("utf-8")
    drivers = yaml.safe_load(text)["drivers"]
    missing = [(d["name"], lang) for d in drivers for lang in tx.LANGS if not d.get(lang)]
    assert drivers and not missing, missing
