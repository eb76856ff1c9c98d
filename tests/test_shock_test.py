"""benchmarks/shock_test.py: job parsing and the before/after table read from its own output."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "shock_test.py"


def load():
    spec = importlib.util.spec_from_file_location("shock_test", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


HEAD = "| target | origin | horizon | n | ratio | model_ratio | bias | coverage |\n|---|---:|---:|---:|---:|---:|---:|---:|"


def output(ratio: float) -> str:
    return "\n".join(
        [
            "# Shock and calm test origins: x",
            "## Held-back test origins: all units",
            "",
            HEAD,
            f"| employment | 1996 | 5 | 10 | {ratio} | 0.9 | -1.0 | 0.8 |",
            "## Tuning origins: all units",
            "",
            HEAD,
            "| population | 1981 | 5 | 10 | 7.0 | 7.0 | 7.0 | 7.0 |",
        ]
    )


def test_before_after_pairs_the_held_back_rows(tmp_path):
    st = load()
    (tmp_path / "a.md").write_text(output(1.1))
    (tmp_path / "b.md").write_text(output(0.95))
    table = st.before_after(st.read_tables(tmp_path / "a.md"), st.read_tables(tmp_path / "b.md"))
    assert len(table) == 1  # the tuning row is not a held-back test
    row = table.iloc[0]
    assert (row["group"], row["origin"], row["ratio_before"], row["ratio_after"]) == (
        "all units",
        1996,
        1.1,
        0.95,
    )


def test_bad_inputs_are_clear_errors(tmp_path):
    st = load()
    (tmp_path / "x.md").write_text("# something else\n")
    with pytest.raises(SystemExit, match=r"x.md: no 'Held-back test origins: \.\.\.' tables"):
        st.read_tables(tmp_path / "x.md")
    with pytest.raises(SystemExit, match="bad job 'employment:1996': expected target:origins"):
        st.parse_job("employment:1996")
    assert st.parse_job("employment:1991-1993:test:1-2") == (
        "employment",
        [1991, 1992, 1993],
        "test",
        [1, 2],
    )
