"""Files as an analyst breaks them (wrong encoding, semicolons, an empty file, a column given
twice, a stray comma, a misspelt column): each error names the file, the line and the rule, with
no traceback, and nothing is read silently as something else."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forecast import pipeline
from forecast.cli import app
from forecast.colnames import edits, meant, near_misses
from forecast.errors import (
    ColumnNameWarning,
    ConfigError,
    DataValidationError,
    UnitWithoutRowsWarning,
)
from forecast.io import read_dataset
from forecast.policy import load_policy

from .conftest import write_dataset

SRC = Path(__file__).resolve().parents[1] / "src" / "forecast"
UNITS = "unit_id,name,region\nA,Alpha,North\nB,Beta,South\n"
PANEL = "unit_id,year,population,employment\nA,2000,1000,400\nA,2010,1100,420\nB,2000,500,\n"


def _dataset(tmp_path, panel: str = PANEL, units: str = UNITS):
    return write_dataset(tmp_path / "ds", panel, units)


def _message(folder) -> str:
    with pytest.raises(DataValidationError) as info:
        read_dataset(folder)
    return " ".join(str(info.value).split())


def test_windows_code_page_names_the_line(tmp_path):
    folder = _dataset(tmp_path)
    text = "unit_id,name,region\nA,Alpha,North\nB,Сатпаев,South\n"
    (folder / "units.csv").write_bytes(text.encode("cp1251"))
    msg = _message(folder)
    assert "units.csv: not UTF-8 text: line 3: byte 0xd1 (byte 3 of the line) is not UTF-8" in msg
    assert "save it as UTF-8 comma-separated CSV" in msg


def test_utf16_file_is_named(tmp_path):
    folder = _dataset(tmp_path)
    (folder / "panel.csv").write_bytes(PANEL.encode("utf-16"))
    assert "panel.csv: not UTF-8 text: whole file: it is UTF-16;" in _message(folder)


def test_utf16_tab_separated_file_is_named_utf16(tmp_path):
    """Excel's 'Unicode Text' (UTF-16, tabs): named as UTF-16, not as a tab-separated header
    printed as mojibake."""
    folder = _dataset(tmp_path)
    (folder / "panel.csv").write_bytes(PANEL.replace(",", "\t").encode("utf-16"))
    msg = _message(folder)
    assert "panel.csv: not UTF-8 text: whole file: it is UTF-16;" in msg
    assert "tab-separated" not in msg


def test_utf8_with_byte_order_mark_reads(tmp_path):
    folder = _dataset(tmp_path)
    (folder / "panel.csv").write_bytes(PANEL.encode("utf-8-sig"))
    assert list(read_dataset(folder).panel.columns[:3]) == ["unit_id", "year", "population"]


@pytest.mark.parametrize("name", ["panel.csv", "units.csv"])
def test_empty_file(tmp_path, name):
    folder = _dataset(tmp_path)
    (folder / name).write_text("", encoding="utf-8")
    assert f"{name}: empty file: line 1: the file has no header line" in _message(folder)


def test_leading_blank_line_is_not_an_empty_file(tmp_path):
    """The reader skips blank lines before the header: such a file is read, not refused."""
    folder = _dataset(tmp_path)
    (folder / "panel.csv").write_text("\n" + PANEL, encoding="utf-8")
    assert list(read_dataset(folder).panel["unit_id"]) == ["A", "A", "B"]


def test_blank_lines_only_is_an_empty_file(tmp_path):
    folder = _dataset(tmp_path)
    (folder / "panel.csv").write_text("\n \n", encoding="utf-8")
    assert "panel.csv: empty file: line 1" in _message(folder)


def test_semicolon_separated_panel(tmp_path):
    folder = _dataset(tmp_path)
    (folder / "panel.csv").write_text(PANEL.replace(",", ";"), encoding="utf-8")
    msg = _message(folder)
    assert (
        "panel.csv: semicolon-separated file: header: the header "
        "'unit_id;year;population;employment' is one column split by ';'"
    ) in msg


def test_semicolons_with_decimal_commas(tmp_path):
    """A Russian-locale export: `;` between fields and `,` in decimals."""
    panel = "unit_id;year;population;wage\nA;2000;1000;12,5\nA;2010;1100;13,5\nB;2000;500;9\n"
    folder = _dataset(tmp_path, panel=panel)
    assert "panel.csv: semicolon-separated file: header:" in _message(folder)


def test_repeated_column_is_not_renamed_silently(tmp_path):
    panel = PANEL.replace("employment", "population", 1)
    msg = _message(_dataset(tmp_path, panel=panel))
    assert "panel.csv: repeated column name: header: 'population' in columns 3, 4" in msg


def test_repeated_column_in_gzip_panel(tmp_path):
    folder = _dataset(tmp_path)
    (folder / "panel.csv").unlink()
    with gzip.open(folder / "panel.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write(PANEL.replace("employment", "year", 1))
    assert "panel.csv.gz: repeated column name: header: 'year' in columns 2, 4" in _message(folder)


def test_stray_comma_names_the_line(tmp_path):
    panel = PANEL.replace("A,2010,1100,420", "A,2010,1,100,420")
    msg = _message(_dataset(tmp_path, panel=panel))
    assert "panel.csv: wrong number of fields: line 3: 5 fields where the header has 4" in msg


def test_misspelt_required_column_gets_a_hint(tmp_path):
    msg = _message(_dataset(tmp_path, panel=PANEL.replace("population", "populaton")))
    assert "panel.csv: missing required columns: header: population not found; " in msg
    assert "is 'populaton' meant as population?" in msg


def test_required_column_with_capital_or_space(tmp_path):
    msg = _message(_dataset(tmp_path, units=UNITS.replace("region", "Region ")))
    assert "region not found; is 'Region ' meant as region?" in msg


def test_misspelt_employment_warns_instead_of_vanishing(tmp_path):
    folder = _dataset(tmp_path, panel=PANEL.replace("employment", "employmnet"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = read_dataset(folder)
    names = [str(w.message) for w in caught if w.category is ColumnNameWarning]
    assert names == [
        "panel.csv: column 'employmnet' looks meant as 'employment' but is read as an indicator "
        "(a model feature) and the file has no 'employment': rename the column if it holds "
        "employment"
    ]
    assert data.targets == ["population"]


def test_latitude_column_warns(tmp_path):
    units = "unit_id,name,region,latitude,lon\nA,Alpha,North,45,70\nB,Beta,South,46,71\n"
    with pytest.warns(ColumnNameWarning, match="units.csv: column 'latitude' looks meant as 'lat'"):
        read_dataset(_dataset(tmp_path, units=units))


def test_cli_shows_the_problem_without_traceback(tmp_path):
    folder = _dataset(tmp_path)
    (folder / "units.csv").write_bytes(b"unit_id,name,region\nA,\xc0lpha,North\nB,Beta,South\n")
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "units.csv: not UTF-8 text: line 2:" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_cli_validate_shows_the_column_warning(tmp_path):
    folder = _dataset(tmp_path, panel=PANEL.replace("employment", "Employment"))
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "ColumnNameWarning: panel.csv: column 'Employment' looks meant as 'employment'" in (
        " ".join(result.output.split())
    )


# --- what counts as a near miss ---


def test_edits_counts_a_swap_as_one():
    assert edits("employmnet", "employment") == 1
    assert edits("populaton", "population") == 1
    assert edits("abc", "xyz") == 3


@pytest.mark.parametrize(
    ("name", "column", "expected"),
    [
        ("employmnet", "employment", True),
        ("Employment", "employment", True),
        ("longitude", "lon", True),
        ("unemployment", "employment", False),  # another variable that contains the name
        ("employment_rate", "employment", False),
        ("employed", "employment", False),
        ("labour_force", "employment", False),
        ("lot", "lat", False),  # short names only by case or alias
    ],
)
def test_meant(name, column, expected):
    assert meant(name, column) is expected


def test_near_misses_skips_present_columns():
    assert near_misses(["employment", "employmnet"], ["employment"]) == {}
    assert near_misses(["unit_id", "Lat", "lon"], ["lat", "lon", "parent_id"]) == {"lat": "Lat"}


# --- the policy file as an analyst edits it ---


def test_misspelt_policy_key_names_the_allowed_keys(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("resettle:\n  min_probabilty: 0.5\nhorizn: 10\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    msg = str(info.value)
    assert f"{path}: " in msg
    assert (
        "resettle.min_probabilty: unknown key (allowed here: min_probability, "
        "boundary_probability, structural_drivers, min_structural_share)"
    ) in msg
    assert "horizn: unknown key (allowed here: version, name, " in msg


# --- the report's words for the rule ---


def test_resettle_card_does_not_state_a_rule_the_policy_may_not_use():
    """The category card once said "the whole likely range below" the threshold in every
    language while the shipped policies resettle from a probability (55%): a town at -36%..-2%
    was "Resettle" under a card saying the whole range was below -10%."""
    texts = json.loads((SRC / "report" / "i18n.json").read_text(encoding="utf-8"))
    whole_range = {
        "en": "whole likely range",
        "ru": "весь вероятный диапазон",
        "kk": "бүкіл ықтимал",
    }
    for lang, phrase in whole_range.items():
        assert phrase in texts[lang]["rule_interval"].lower()  # the phrase of the interval rule
        card = texts[lang]["category_desc"]["resettle"]
        assert "{decline}" in card
        assert phrase not in card.lower(), (lang, card)


def test_unit_without_panel_rows_is_named(tmp_path):
    units = UNITS + "C,Gamma,North\n"
    with pytest.warns(UnitWithoutRowsWarning) as caught:
        data = read_dataset(_dataset(tmp_path, units=units))
    assert [str(w.message) for w in caught if w.category is UnitWithoutRowsWarning] == [
        "units.csv: line 4: 1 unit(s) with no row in panel.csv (C) get no forecast and no "
        "category; add their observations or remove them"
    ]
    assert list(data.units.index) == ["A", "B", "C"]


# --- an as-of year the data does not reach ---


def test_predict_as_of_after_the_data_is_refused(tmp_path):
    """`--as-of 2050` on data ending in 2010 used to write forecasts labelled origin 2050,
    year 2055, with empty intervals."""
    result = CliRunner().invoke(
        app,
        ["predict", "--data", str(_dataset(tmp_path)), "--as-of", "2050", "--horizons", "5"]
        + ["--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 1
    assert (
        "--as-of 2050 is after the last observation (2010): use --as-of 2010 or earlier"
        in " ".join(result.output.split())
    )
    assert not (tmp_path / "out" / "forecasts.csv").exists()


def test_policy_focus_missing_from_the_data_fails_before_training(tmp_path, monkeypatch):
    """The README's yearly update (import-bns, then retrain) with the default monotown policy
    used to train for minutes, then stop on the missing `monotown` column."""

    def no_training(*args, **kwargs):
        raise AssertionError("trained before the policy was checked")

    monkeypatch.setattr(pipeline, "fit", no_training)
    policy = tmp_path / "policy.yaml"
    policy.write_text("focus:\n  attribute: monotown\n  value: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        pipeline.run(_dataset(tmp_path), policy_path=policy, runs_root=tmp_path / "runs")
    assert (
        f"{policy}: focus.attribute 'monotown' is not a column of ds/units.csv (its columns: "
        "name, region): give a policy for this dataset with --policy, or add the column"
    ) == str(info.value)


def test_decimal_comma_is_named(tmp_path):
    panel = 'unit_id,year,population,wage\nA,2000,1000,"12,5"\nA,2010,1100,13\nB,2000,500,9\n'
    msg = _message(_dataset(tmp_path, panel=panel))
    assert (
        "panel.csv: non-numeric value: line 2: column 'wage' holds '12,5'; decimals take a "
        "point, not a comma (4.8, not 4,8)"
    ) in msg


def test_thousands_comma_is_not_advised_as_a_decimal(tmp_path):
    """'12,345' people written with a thousands separator: the hint must not tell the analyst
    to write 12.345."""
    panel = 'unit_id,year,population\nA,2000,"12,345"\nA,2010,1100\nB,2000,500\n'
    msg = _message(_dataset(tmp_path, panel=panel))
    assert (
        "panel.csv: non-numeric value: line 2: column 'population' holds '12,345'; numbers take "
        "no thousands separator and a point for decimals (12345, not 12,345; 4.8, not 4,8)"
    ) in msg
    assert "decimals take a point, not a comma" not in msg


def test_reality_check_names_a_missing_group_column_before_fitting(tmp_path):
    result = CliRunner().invoke(
        app,
        ["reality-check", "--data", str(_dataset(tmp_path)), "--origin", "2000"]
        + ["--group", "mining", "--out", str(tmp_path / "rc.md")],
    )
    assert result.exit_code == 1
    assert (
        "--group 'mining' is not a column of ds/units.csv (its columns: name, region)"
        in " ".join(result.output.split())
    )
    assert not (tmp_path / "rc.md").exists()
