"""A bug (not bad input) ends the CLI with one line and the details in a file of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forecast import cli


def test_an_internal_error_writes_its_own_log_file(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(cli.tempfile, "tempdir", None)  # re-read TMPDIR

    def broken(**_):
        raise RuntimeError("boom in a test")

    monkeypatch.setattr(cli, "app", broken)
    logs = []
    for _ in range(2):
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
        assert exit_info.value.code == 3
        out = capsys.readouterr().err
        assert "internal error:" in out and "This is a bug in town-prospects" in out
        found = re.search(r"details are in (\S+\.log)", out.replace("\n", ""))
        assert found, out
        logs.append(Path(found.group(1)))
    assert logs[0] != logs[1]  # two errors, two files: nothing overwritten
    for log in logs:
        assert log.parent == tmp_path and "RuntimeError: boom in a test" in log.read_text()


def test_data_warnings_are_shown_by_kind_so_a_rare_one_is_not_buried():
    import warnings as w

    from forecast.errors import ColumnNameWarning, SuspiciousJumpWarning

    def message(category, text):
        return w.WarningMessage(category(text), category, "x.py", 1)

    caught = [message(SuspiciousJumpWarning, f"unit {i}: jump") for i in range(40)]
    caught.append(message(ColumnNameWarning, "is 'employmnet' meant as employment?"))
    lines = cli.data_warning_lines(caught)
    assert len(lines) == 3 + 1 + 1
    assert lines[3] == (
        "[yellow]... and 37 more SuspiciousJumpWarning (a run keeps every warning in its "
        "run.json and report)[/]"
    )
    assert lines[4] == "[yellow]ColumnNameWarning:[/] is 'employmnet' meant as employment?"
    assert cli.data_warning_lines(caught[:2]) == [
        "[yellow]SuspiciousJumpWarning:[/] unit 0: jump",
        "[yellow]SuspiciousJumpWarning:[/] unit 1: jump",
    ]


def test_a_misspelt_option_is_a_usage_error_not_an_internal_error(monkeypatch, capsys):
    """typer >= 0.16 raises the exceptions of its own copy of click: they must still read as
    usage errors (exit 2, click's message), not as a bug with a log file."""
    monkeypatch.setattr("sys.argv", ["forecast", "validate", "--data", "kz_annual"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    out = capsys.readouterr().err
    assert "No such option: --data" in out and "internal error" not in out
