"""Every validation rule of the data contract, with its message pinned."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli import app
from forecast.errors import DataValidationError, SuspiciousJumpWarning
from forecast.io import read_dataset

from .conftest import KZ, write_dataset

UNITS = """
unit_id,name,region
A,Alpha,North
B,Beta,South
"""
PANEL = """
unit_id,year,population,employment
A,2000,1000,400
A,2010,1100,420
B,2000,500,
B,2010,480,200
"""


def problems(tmp_path, panel=PANEL, units=UNITS, **extra) -> str:
    folder = write_dataset(tmp_path / "ds", panel, units, **extra)
    with pytest.raises(DataValidationError) as info:
        read_dataset(folder)
    return str(info.value)


def test_valid_dataset_reads_typed(tmp_path):
    data = read_dataset(write_dataset(tmp_path / "ok", PANEL, UNITS))
    assert data.targets == ["population", "employment"]
    assert data.panel["year"].dtype.kind == "i"
    assert data.panel["employment"].isna().sum() == 1  # missing stays missing
    assert list(data.units.index) == ["A", "B"]


def test_missing_required_columns(tmp_path):
    msg = problems(tmp_path, panel="unit_id,year\nA,2000\n")
    assert "panel.csv: missing required columns: header: population not found" in msg


def test_missing_units_columns(tmp_path):
    msg = problems(tmp_path, units="unit_id,name\nA,Alpha\nB,Beta\n")
    assert "units.csv: missing required columns: header: region not found" in msg


def test_duplicate_unit_year(tmp_path):
    msg = problems(tmp_path, panel=PANEL + "A,2010,1200,430\n")
    assert (
        "panel.csv: duplicate (unit_id, year): lines 3, 6: repeated keys: unit_id=A year=2010"
        in msg
    )


def test_non_numeric_value(tmp_path):
    msg = problems(tmp_path, panel=PANEL.replace("A,2010,1100", "A,2010,about 1100"))
    assert "panel.csv: non-numeric value: line 3: column 'population' holds 'about 1100'" in msg


def test_non_positive_population(tmp_path):
    msg = problems(tmp_path, panel=PANEL.replace("B,2000,500", "B,2000,0"))
    assert "panel.csv: non-positive population: line 4: population must be > 0 (units B)" in msg


def test_negative_employment(tmp_path):
    msg = problems(tmp_path, panel=PANEL.replace("B,2010,480,200", "B,2010,480,-5"))
    assert "panel.csv: negative employment: line 5: employment must be >= 0 (units B)" in msg


def test_unit_not_in_units(tmp_path):
    msg = problems(tmp_path, panel=PANEL + "C,2000,300,\n")
    assert (
        "panel.csv: unit not in units.csv: line 6: units C appear in the panel but not in units.csv"
        in msg
    )


def test_year_outside_range(tmp_path):
    msg = problems(tmp_path, panel=PANEL.replace("A,2000", "A,1700"))
    assert "panel.csv: year outside 1800..2100: line 2: found 1700" in msg


def test_year_not_whole(tmp_path):
    msg = problems(tmp_path, panel=PANEL.replace("A,2000", "A,2000.5"))
    assert "panel.csv: year not an integer: line 2: years must be whole numbers" in msg


def test_empty_panel(tmp_path):
    msg = problems(tmp_path, panel="unit_id,year,population\n")
    assert "panel.csv: empty panel: whole file: the panel has no rows" in msg


def test_duplicate_units(tmp_path):
    msg = problems(tmp_path, units=UNITS + "A,Again,East\n")
    assert "units.csv: duplicate (unit_id): lines 2, 4: repeated keys: unit_id=A" in msg


def test_all_problems_reported_at_once(tmp_path):
    bad = PANEL.replace("B,2000,500", "B,2000,-1") + "C,2000,300,\nA,2010,1,1\n"
    msg = problems(tmp_path, panel=bad)
    assert msg.startswith("3 problem(s) in the dataset:")
    for rule in ("non-positive population", "duplicate (unit_id, year)", "unit not in units.csv"):
        assert rule in msg


def test_regions_file_is_validated(tmp_path):
    msg = problems(tmp_path, **{"regions.csv": "region,year,population\nNorth,2000,x\n"})
    assert "regions.csv: non-numeric value: line 2: column 'population' holds 'x'" in msg


def test_missing_panel_file(tmp_path):
    folder = tmp_path / "nopanel"
    folder.mkdir()
    (folder / "units.csv").write_text(UNITS.strip())
    with pytest.raises(
        DataValidationError, match="panel: missing file: .* expected one of panel.csv"
    ):
        read_dataset(folder)


def test_suspicious_jump_warns_with_unit(tmp_path):
    folder = write_dataset(tmp_path / "jump", PANEL.replace("A,2010,1100", "A,2010,1500"), UNITS)
    with pytest.warns(
        SuspiciousJumpWarning,
        match=r"unit A: population changes by more than 30% .*2000->2010 \+50%",
    ):
        data = read_dataset(folder)
    assert len(data.warnings) == 1


def test_no_warning_for_small_changes(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SuspiciousJumpWarning)
        read_dataset(write_dataset(tmp_path / "ok", PANEL, UNITS))


def test_parquet_and_gzip_panels(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(PANEL.strip()))
    for name in ("panel.csv.gz", "panel.parquet"):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        (folder / "units.csv").write_text(UNITS.strip())
        if name.endswith("gz"):
            frame.to_csv(folder / name, index=False, compression="gzip")
        else:
            frame.to_parquet(folder / name)
        assert len(read_dataset(folder).panel) == 4


def test_cli_validate_reports_errors_with_exit_code(tmp_path):
    folder = write_dataset(tmp_path / "bad", PANEL.replace("B,2000,500", "B,2000,0"), UNITS)
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "non-positive population" in result.output
    assert "Traceback" not in result.output


def test_cli_validate_summary_on_bundled_data():
    result = CliRunner().invoke(app, ["validate", str(KZ)])
    assert result.exit_code == 0, result.output
    assert "units: 89" in result.output
    assert "population" in result.output and "valid" in result.output


# --- values that cannot be real (issue 10, item 5) ---


@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity", "-Infinity", "INF", "1e400"])
def test_non_finite_population_text(tmp_path, text):
    """Every spelling pandas parses as infinite (and overflows) is refused, not forecast."""
    msg = problems(tmp_path, panel=PANEL.replace("A,2010,1100", f"A,2010,{text}"))
    shown = "-inf" if text.startswith("-") else "inf"
    assert (
        f"panel.csv: non-finite value: line 3: column 'population' holds {shown}; "
        "values must be finite numbers" in msg
    )


def test_infinite_year(tmp_path):
    msg = problems(tmp_path, panel=PANEL.replace("A,2000", "A,inf"))
    assert "panel.csv: year outside 1800..2100: line 2: found inf" in msg
    msg = problems(tmp_path, **{"country.csv": "year,population\n-Infinity,1000\n"})
    assert "country.csv: year outside 1800..2100: line 2: found -inf" in msg


def test_non_finite_in_any_panel_column(tmp_path):
    panel = "unit_id,year,population,employment,wage\nA,2000,1000,inf,5\nA,2010,1100,400,-inf\n"
    panel += "B,2000,500,200,4\nB,2010,480,200,4\n"
    msg = problems(tmp_path, panel=panel)
    assert "panel.csv: non-finite value: line 2: column 'employment' holds inf" in msg
    assert "panel.csv: non-finite value: line 3: column 'wage' holds -inf" in msg


def test_non_finite_in_parquet_panel(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(PANEL.strip()))
    frame["population"] = frame["population"].astype(float)
    frame.loc[1, "population"] = float("inf")
    folder = tmp_path / "pq"
    folder.mkdir()
    (folder / "units.csv").write_text(UNITS.strip())
    frame.to_parquet(folder / "panel.parquet")
    with pytest.raises(DataValidationError) as info:
        read_dataset(folder)
    # parquet has no header line: row 1 is the first record
    assert "panel.parquet: non-finite value: line 2: column 'population' holds inf" in str(
        info.value
    )


def test_non_finite_in_units_attribute(tmp_path):
    units = "unit_id,name,region,distance_km\nA,Alpha,North,12\nB,Beta,South,Infinity\n"
    msg = problems(tmp_path, units=units)
    assert "units.csv: non-finite value: line 3: column 'distance_km' holds inf" in msg


def test_non_finite_in_regions_and_country(tmp_path):
    msg = problems(
        tmp_path,
        **{
            "regions.csv": "region,year,population\nNorth,2000,inf\n",
            "country.csv": "year,population\n2000,1000\n2010,-inf\n",
        },
    )
    assert "regions.csv: non-finite value: line 2: column 'population' holds inf" in msg
    assert "country.csv: non-finite value: line 3: column 'population' holds -inf" in msg


def test_latitude_outside_globe(tmp_path):
    units = "unit_id,name,region,lat,lon\nA,Alpha,North,200,70\nB,Beta,South,-90,180\n"
    msg = problems(tmp_path, units=units)
    assert "units.csv: latitude outside -90..90: line 2: column 'lat' holds 200 (units A)" in msg
    assert "longitude" not in msg  # -90 and 180 are on the globe's edge, not outside


def test_longitude_outside_globe(tmp_path):
    units = "unit_id,name,region,lat,lon\nA,Alpha,North,50,70\nB,Beta,South,45,-180.5\n"
    msg = problems(tmp_path, units=units)
    assert (
        "units.csv: longitude outside -180..180: line 3: column 'lon' holds -180.5 (units B)" in msg
    )


def test_non_finite_coordinate(tmp_path):
    units = "unit_id,name,region,lat,lon\nA,Alpha,North,inf,70\nB,Beta,South,45,70\n"
    msg = problems(tmp_path, units=units)
    assert "units.csv: non-finite value: line 2: column 'lat' holds inf" in msg


@pytest.mark.parametrize(
    ("file", "content", "expected"),
    [
        (
            "panel.csv",
            PANEL.replace("A,2010,1100", "A,2010,inf"),
            "panel.csv: non-finite value: line 3: column 'population' holds inf",
        ),
        (
            "units.csv",
            "unit_id,name,region,lat,lon\nA,Alpha,North,200,70\nB,Beta,South,45,70\n",
            "units.csv: latitude outside -90..90: line 2: column 'lat' holds 200 (units A)",
        ),
    ],
)
def test_cli_validate_refuses_impossible_values(tmp_path, file, content, expected):
    files = {"panel.csv": PANEL, "units.csv": UNITS, file: content}
    folder = write_dataset(tmp_path / "bad", files.pop("panel.csv"), files.pop("units.csv"))
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert expected in " ".join(result.output.split())
    assert "valid" not in result.output.replace("invalid", "")


def test_cli_predict_refuses_an_infinite_population(tmp_path):
    """The reported case: `population=inf` used to validate and forecast 1 person, silently."""
    folder = write_dataset(tmp_path / "bad", PANEL.replace("A,2010,1100", "A,2010,inf"), UNITS)
    result = CliRunner().invoke(
        app, ["predict", "--data", str(folder), "--as-of", "2010", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "panel.csv: non-finite value: line 3: column 'population' holds inf" in " ".join(
        result.output.split()
    )
    assert not (tmp_path / "o" / "forecasts.csv").exists()


def test_bundled_dataset_found_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate", "kz_towns"])
    assert result.exit_code == 0, result.output
    assert "units: 89" in result.output
