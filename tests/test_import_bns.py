"""The BNS importer on small workbooks written here with openpyxl (SYNTHETIC numbers, laid out as
the Bureau prints them: titles, shifted headers, sub-rows, footnote markers)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli import app
from forecast.errors import DataValidationError, WorkbookLayoutError
from forecast.importers.dataset import import_workbooks, run_import
from forecast.importers.numbers import cell_multiplier, parse_number

PROFILE_TITLE = (
    "Динамика основных социально-экономических показателей по Тестовск г.а. за 2019-2021гг."
)


def write_book(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def profile_rows(shift: int = 0, years=(2019, 2020, 2021)) -> list[list]:
    """A profile sheet: title, `shift` blank rows, a header of years, then indicator rows."""
    return [
        [PROFILE_TITLE],
        *[[None] for _ in range(shift)],
        [None, *years],
        ["СОЦИАЛЬНО-ДЕМОГРАФИЧЕСКИЕ ПОКАЗАТЕЛИ"],
        ["Численность населения на конец периода (года)"],
        ["тыс. человек", 10.5, 10.6, "10,71)"],
        ["в процентах к предыдущему году", 100.0, 101.0, 101.0],
        ["Число родившихся, человек", 210, "2 05", 199],
        ["Миграция населения:"],
        ["прибыло, человек", 300, 310, 320],
        ["выбыло, человек", 350, 360, 370],
        ["Занятое население4)"],
        ["тыс. человек", "-", 5.1, 5.2],
        ["Число котов, единиц", 7, 8, 9],
        [None],
        ["1) Предварительные данные."],
        ["4) По данным обследования рабочей силы."],
    ]


def monotown_rows() -> list[list]:
    return [
        [
            "Основные социально-экономические показатели по моногороду Тестовск Карагандинской области"
        ],
        [None, 2020, 2021],
        ["Численность населения на конец периода (года)"],
        ["тыс. человек", 8.1, 8.2],
    ]


def labour_rows() -> list[list]:
    return [
        ["Основные индикаторы рынка труда по районам Карагандинской области 2019-2021гг."],
        ["Занятое население"],
        [None, None, None, "тыс.человек"],
        ["Наименование региона", "2019 год", "2020 год3)", "2021 год"],
        ["Карагандинская", 600.5, 601.2, 602.9],
        ["Тестовск қ.", 5.0, 5.05, 5.15],
        ["Степной ауданы", 3.1, 3.2, 3.3],
        [None],
        ["3) Оценка."],
    ]


@pytest.fixture
def books(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    write_book(
        folder / "Karagandy_All.xlsx",
        {"Тестовск г.а.": profile_rows(shift=2), "Тестовск (моногород)": monotown_rows()},
    )
    write_book(folder / "Karagandy.xlsx", {"Регионы": labour_rows()})
    return folder


def test_profile_values_persons_and_1_january(books):
    panel, units, sources, summary = import_workbooks([books])
    ca = units.loc[units["territory"] == "city_administration", "unit_id"].item()
    p = panel[panel["unit_id"] == ca].set_index("year")
    # calendar year t -> 1 January t+1; thousands -> persons
    assert p.loc[2020, "population"] == 10500
    assert p.loc[2021, "population"] == 10600
    assert 2019 not in p.index
    assert p.loc[2021, "births"] == 205  # "2 05": spaces inside a number
    assert p.loc[2020, "arrivals"] == 300 and p.loc[2022, "departures"] == 370
    # the profile sheet's employment wins over the labour table's for the same year
    assert p.loc[2021, "employment"] == 5100
    src = sources[(sources["unit_id"] == ca) & (sources["variable"] == "population")]
    row = src[src["year"] == 2022].iloc[0]
    assert (row["period"], row["sheet"], row["row"], row["column"]) == (
        2021,
        "Тестовск г.а.",
        7,
        "D",
    )


def test_footnote_glued_to_number_is_split_off(books):
    _, units, sources, _ = import_workbooks([books])
    ca = units.loc[units["territory"] == "city_administration", "unit_id"].item()
    row = sources[
        (sources["unit_id"] == ca)
        & (sources["variable"] == "population")
        & (sources["year"] == 2022)
    ].iloc[0]
    assert row["printed"] == "10,71)"
    assert row["value"] == 10700


def test_parse_number_uses_the_sheets_footnotes():
    assert parse_number("73,51)", {1}) == (73.5, "footnote 1 split off")
    assert parse_number("5 869,67)", {7}) == (5869.6, "footnote 7 split off")
    assert parse_number("0,511)12)", {11, 12}) == (0.5, "footnote 11,12 split off")
    value, note = parse_number("3,712)", {2, 12})
    assert value is None and "ambiguous" in note
    # two footnotes fit: the row's usual number of decimals decides
    assert parse_number("72,313)", {3, 13}, precision=1) == (72.3, "footnote 13 split off")
    assert parse_number("35,7**", set()) == (35.7, "mark ** split off")
    assert parse_number("186001)", {1}) == (18600.0, "footnote 1 split off")
    assert parse_number("…", set()) == (None, "")


def test_a_cell_that_is_only_a_footnote_marker_has_no_value():
    """Shymkent's labour rows 2011-2013 print "14)" (Turkistan_All.xls): read before as 1 with
    footnote 4, i.e. 1,000 employed in a city of a million."""
    for cell, notes in (("14)", {4, 14}), ("14)", {4}), ("19)", set()), ("1)2)", {1, 2})):
        value, note = parse_number(cell, notes, precision=1)
        assert value is None and note == f"only a footnote marker {cell!r}, no value printed"
    assert parse_number("14,2 3)", {3}) == (14.2, "footnote 3 split off")  # a number still is


def test_cell_unit_read_from_the_value():
    assert cell_multiplier("births", 1000, 2475) == (
        1.0,
        "whole number >= 100 under a thousands label: read as persons",
    )
    assert cell_multiplier("births", 1, 3.68)[0] == 1000.0
    assert cell_multiplier("population", 1000, 51.1) == (1000, "")
    assert cell_multiplier("wage", 1, 1234.5) == (1, "")


def test_labour_table_units_and_region_total(books):
    panel, units, sources, _ = import_workbooks([books])
    district = units[units["territory"] == "district"]
    assert district["name_ru"].tolist() == ["Степной"]
    d = panel[panel["unit_id"] == district["unit_id"].item()].set_index("year")
    assert d.loc[2020, "employment"] == 3100  # decimals under "тыс.человек" -> thousands
    total = sources[sources["territory_printed"] == "Карагандинская"]
    assert set(total["status"]) == {"not used"} and set(total["reason"]) == {
        "region total (not a unit)"
    }
    # the labour table's Тестовск қ. is the profile sheet's Тестовск г.а.
    ca = units.loc[units["territory"] == "city_administration", "unit_id"].item()
    labour = sources[(sources["unit_id"] == ca) & (sources["scope"] == "labour")]
    assert len(labour) == 3 and (labour[labour["year"] == 2020]["status"] == "used").all()


def test_monotown_sheet_is_a_town_inside_its_administration(books):
    _, units, _, _ = import_workbooks([books])
    town = units[units["territory"] == "town_proper"].iloc[0]
    ca = units[units["territory"] == "city_administration"].iloc[0]
    assert town["parent_id"] == ca["unit_id"] and ca["parent_id"] in ("", None)


def test_unknown_label_is_listed(books, tmp_path):
    result = CliRunner().invoke(app, ["import-bns", str(books), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "1 row labels not in resources/bns_labels.csv" in result.output
    assert "Число котов, единиц" in result.output
    listed = pd.read_csv(tmp_path / "out" / "unknown_labels.csv")
    assert listed["label"].tolist() == ["Число котов, единиц"]


def test_ulytau_persons_under_a_thousands_header(tmp_path):
    rows = labour_rows()
    rows[5] = ["Тестовск қ.", 5012, 5100, 5230]
    rows[6] = ["Степной ауданы", 3101, 3200, 3300]
    write_book(tmp_path / "Ulytau.xlsx", {"Районы": rows})
    panel, _, sources, _ = import_workbooks([tmp_path / "Ulytau.xlsx"])
    assert sorted(panel["employment"].dropna())[:2] == [3101, 3200]
    notes = set(sources.loc[sources["printed"] == "3101", "source_note"])
    assert notes == {"Занятое население"}


def test_missing_year_column_is_one_error_naming_file_and_sheet(tmp_path):
    rows = profile_rows()
    rows[1] = [None, "год", "год", "год"]  # the header row of years is missing
    path = write_book(tmp_path / "Karagandy_All.xlsx", {"Сломанный": rows})
    with pytest.raises(WorkbookLayoutError) as info:
        import_workbooks([path])
    assert str(info.value) == (
        "1 problem(s) in the dataset:\n"
        "  - Karagandy_All.xlsx: no year header: sheet 'Сломанный': no row of years "
        "(1991, 2023, ...) in the first 15 rows"
    )


def test_unknown_layout_is_one_error(tmp_path):
    path = write_book(tmp_path / "Karagandy_All.xlsx", {"Лист1": [["Прочее"], ["a", "b"]]})
    with pytest.raises(
        WorkbookLayoutError, match=r"Karagandy_All.xlsx: unknown layout: sheet 'Лист1'"
    ):
        import_workbooks([path])


def test_unknown_region_prefix_is_an_error(tmp_path):
    path = write_book(tmp_path / "Atlantis_All.xlsx", {"Тест": profile_rows()})
    with pytest.raises(
        DataValidationError, match="prefix 'Atlantis' is not in resources/bns_regions.csv"
    ):
        import_workbooks([path])


def test_nothing_half_written(books, tmp_path):
    out = tmp_path / "out"
    run_import([books], out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    write_book(books / "Karagandy_Broken.xlsx", {"Лист1": [["Прочее"]]})
    result = CliRunner().invoke(app, ["import-bns", str(books), "--out", str(out)])
    assert result.exit_code == 1
    assert "unknown layout" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw"]  # no temp folder left
