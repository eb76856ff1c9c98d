"""What can be wrong with a CSV file before its cells are read.

An analyst's file fails in a few ordinary ways: saved in a Windows code page or UTF-16 instead of
UTF-8, saved with semicolons by a spreadsheet set to a Russian or European locale, emptied, given
the same column twice, or given a stray comma on one line. The parser reports these in its own
words (a byte position, "No columns to parse", a silently renamed `population.1`); here each
becomes one :class:`~forecast.errors.Problem` naming the file, the line and what to do.
"""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path
from typing import BinaryIO

from .errors import Problem

SAVE_AS = "save it as UTF-8 comma-separated CSV (Excel: Save As > 'CSV UTF-8 (Comma delimited)')"
SEPARATORS = {";": "semicolon", "\t": "tab", "|": "pipe"}
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")  # byte order marks
_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115


def header(path: Path) -> list[str]:
    """The column names of the first line that is not blank, as written (the reader skips
    blank lines before the header); an empty list for a file of blank lines only."""
    with _open(path) as fh:
        for raw in fh:
            first = raw.decode("utf-8-sig", errors="replace")
            if first.strip():
                return next(csv.reader([first.rstrip("\r\n")]))
    return []


def header_problem(path: Path) -> Problem | None:
    """An empty file, a separator other than the comma, or a column name given twice."""
    try:
        names = header(path)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None  # the reader says what is wrong with the file itself
    if _is_utf16(path):  # Excel's 'Unicode Text': read as UTF-8, its header is garbage
        return encoding_problem(path)
    if not names:
        return Problem(
            path.name,
            "empty file",
            "line 1",
            "the file has no header line (its column names); a dataset file is never empty",
        )
    if len(names) == 1:
        for sep, word in SEPARATORS.items():
            if sep in names[0]:
                return Problem(
                    path.name,
                    f"{word}-separated file",
                    "header",
                    f"the header {names[0][:80]!r} is one column split by {sep!r}; {SAVE_AS}",
                )
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        seen.setdefault(name.strip(), []).append(i)
    repeated = {n: cols for n, cols in seen.items() if len(cols) > 1}
    if repeated:
        shown = "; ".join(
            f"{n!r} in columns {', '.join(map(str, cols))}" for n, cols in repeated.items()
        )
        return Problem(
            path.name,
            "repeated column name",
            "header",
            f"{shown}: each column needs its own name (the second would be read as another "
            "variable)",
        )
    return None


def _is_utf16(path: Path) -> bool:
    with _open(path) as fh:
        return fh.read(2) in UTF16_MARKS


def encoding_problem(path: Path) -> Problem:
    """The first line that is not UTF-8 text, for a file the reader could not decode."""
    with _open(path) as fh:
        if fh.read(2) in UTF16_MARKS:
            return Problem(path.name, "not UTF-8 text", "whole file", f"it is UTF-16; {SAVE_AS}")
        fh.seek(0)
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                byte = line[exc.start]
                return Problem(
                    path.name,
                    "not UTF-8 text",
                    f"line {number}",
                    f"byte 0x{byte:02x} (byte {exc.start + 1} of the line) is not UTF-8 (a Windows "
                    f"code page such as cp1251?); {SAVE_AS}",
                )
    return Problem(path.name, "not UTF-8 text", "whole file", SAVE_AS)


def parser_problem(path: Path, exc: Exception) -> Problem:
    """The parser's complaint about a line, in the words of the data contract."""
    found = _FIELDS.search(str(exc))
    if found is None:
        return Problem(path.name, "unreadable file", "whole file", str(exc).strip())
    expected, line, saw = found.groups()
    return Problem(
        path.name,
        "wrong number of fields",
        f"line {line}",
        f"{saw} fields where the header has {expected}: a stray comma, or a text holding a "
        "comma without quotes around it",
    )
