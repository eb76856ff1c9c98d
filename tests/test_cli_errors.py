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
