"""parent_id in units.csv: the unit a town proper or district lies inside (SYNTHETIC units)."""

from __future__ import annotations

import pytest

from forecast.errors import DataValidationError
from forecast.io import read_dataset

from .conftest import write_dataset

PANEL = """
unit_id,year,population
A,2020,100
B,2020,50
C,2020,10
"""


def units(parents: dict[str, str]) -> str:
    rows = ["unit_id,name,region,parent_id"]
    rows += [f"{u},Unit {u},R,{parents.get(u, '')}" for u in ("A", "B", "C")]
    return "\n".join(rows)


def test_a_valid_hierarchy_is_read(tmp_path):
    ds = read_dataset(write_dataset(tmp_path / "ok", PANEL, units({"B": "A", "C": "B"})))
    assert ds.units.loc["C", "parent_id"] == "B"
    assert ds.units["parent_id"].isna().sum() == 1


@pytest.mark.parametrize(
    "parents, message",
    [
        ({"B": "Z"}, "units.csv: unknown parent_id: line 3: no unit Z"),
        ({"C": "C"}, "units.csv: unit is its own parent: line 4: parent_id equals unit_id"),
        (
            {"A": "C", "B": "A", "C": "B"},
            "units.csv: parent_id cycle: lines 2, 3, 4: units A, B, C contain each other",
        ),
    ],
)
def test_bad_parents_are_errors_naming_line_and_rule(tmp_path, parents, message):
    folder = write_dataset(tmp_path / "bad", PANEL, units(parents))
    with pytest.raises(DataValidationError) as info:
        read_dataset(folder)
    assert message in str(info.value)
