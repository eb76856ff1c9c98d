"""What the CLI prints and writes, as library functions: markdown tables, the reality-check
results file and its subgroups, the dataset inventory, moves since the previous run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast import markdown
from forecast import reality as rc
from forecast.facts import moves_since_previous
from forecast.inventory import inventory
from forecast.io import read_dataset
from forecast.policy import Policy

from .conftest import write_dataset


def test_markdown_table_by_hand():
    df = pd.DataFrame({"method": ["lin", "a|b"], "mape": [1.234, np.nan], "n": [3, 4]})
    assert markdown.table(df).splitlines() == [
        "| method | mape | n |",
        "|---|---:|---:|",
        "| lin | 1.23 | 3 |",
        "| a/b |  | 4 |",
    ]
    assert markdown.table(df, ["n", "method", "missing"], floats=".1f").splitlines()[2] == (
        "| 3 | lin |"
    )
    idx = markdown.table(pd.DataFrame({"x": [1]}, index=pd.Index(["r"])), index="row")
    assert idx.splitlines()[0] == "| row | x |" and idx.splitlines()[2] == "| r | 1 |"


def _cats():
    return pd.DataFrame(
        {
            "unit_id": ["A", "B", "C", "D"],
            "category": ["resettle", "stabilize", "resettle", "diversify"],
            "boundary": [False, True, False, False],
            "realized": ["decline", "decline", "middle", "growth"],
            "realized_pct": [-20.0, -15.0, -2.0, 12.0],
        }
    )


def test_reality_subgroups_follow_the_flag_column():
    units = pd.DataFrame({"mining": [1, 0, "1", None]}, index=["A", "B", "C", "D"])
    groups = rc.subgroups({"as configured": _cats()}, units, "mining")
    assert list(groups) == ["as configured: all units", "as configured: mining = 1"]
    assert groups["as configured: mining = 1"]["unit_id"].tolist() == ["A", "C"]
    assert list(rc.subgroups({"v": _cats()}, units, "absent")) == ["v: all units"]


def test_reality_markdown_holds_the_confusion_table_and_the_measures():
    pol = Policy()
    text = rc.to_markdown(
        {"v: all units": _cats()}, dataset="d", origin=2000, policy=pol, command="forecast x"
    )
    lines = text.splitlines()
    assert lines[0] == "# Reality check: d"
    assert f"outcomes in {2000 + pol.horizon}" in text
    head = lines.index("| category | decline | middle | growth | total |")
    assert lines[head + 2] == "| resettle | 1 | 1 | 0 | 2 |"
    assert "| resettle_precision | 0.500 |" in lines
    assert "| units | 4 |" in lines


def test_moves_since_previous():
    cats = pd.DataFrame(
        {
            "category": ["resettle", "stabilize", "stabilize", "diversify"],
            "previous_category": ["stabilize", "stabilize", "diversify", None],
        }
    )
    moves = moves_since_previous(cats)
    assert moves.to_dict() == {("diversify", "stabilize"): 1, ("stabilize", "resettle"): 1}
    assert moves_since_previous(cats.drop(columns="previous_category")) is None


def test_inventory_counts(tmp_path):
    panel = pd.DataFrame(
        {
            "unit_id": ["A", "A", "A", "B"],
            "year": [2000, 2005, 2010, 2010],
            "population": [10.0, 11.0, 12.0, 5.0],
            "employment": [np.nan, 4.0, 5.0, np.nan],
            "wage": [1.0, 2.0, 3.0, 4.0],
        }
    )
    units = pd.DataFrame({"unit_id": ["A", "B"], "name": ["a", "b"], "region": ["R", "S"]})
    units["mining"] = [1, 0]
    inv = inventory(read_dataset(write_dataset(tmp_path / "d", panel, units)))
    assert (inv.units, inv.regions, inv.rows) == (2, 2, 4)
    assert (inv.first_year, inv.last_year, inv.distinct_years) == (2000, 2010, 3)
    t = inv.targets.set_index("target")
    assert t.loc["population", ["units", "observations", "first"]].tolist() == [2, 4, 2000]
    assert t.loc["employment", "obs_per_unit_median"] == 2.0
    assert inv.indicators == ["wage"] and inv.attributes == ["mining"]


def test_markdown_cell():
    assert markdown.cell(0.5, ".1%") == "50.0%"
    assert markdown.cell(None) == "" and markdown.cell(np.float64("nan")) == ""


def test_cli_shows_other_warnings_once_and_data_warnings_by_name(monkeypatch, tmp_path):
    import warnings

    from typer.testing import CliRunner

    from forecast import cli
    from forecast.errors import SuspiciousJumpWarning

    panel = pd.DataFrame({"unit_id": ["A", "A"], "year": [2000, 2001], "population": [1.0, 2.0]})
    units = pd.DataFrame({"unit_id": ["A"], "name": ["a"], "region": ["R"]})
    folder = write_dataset(tmp_path / "d", panel, units)
    real = cli.io.read_dataset

    def noisy(path):
        warnings.warn("a library says something", UserWarning, stacklevel=1)
        warnings.warn("unit A jumps", SuspiciousJumpWarning, stacklevel=1)
        return real(path)

    monkeypatch.setattr(cli.io, "read_dataset", noisy)
    shown = []
    monkeypatch.setattr(warnings, "showwarning", lambda message, *a, **k: shown.append(message))
    result = CliRunner().invoke(cli.app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert [str(m) for m in shown] == ["a library says something"]
    assert "SuspiciousJumpWarning: unit A jumps" in result.output
