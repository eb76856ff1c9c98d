"""Numbers as the Bureau prints them: spaces and commas, footnote markers glued to a number
("73,51)"), asterisk marks, and counts printed in the wrong unit for their label."""

from __future__ import annotations

import re

import pandas as pd

from .labels import LFS_AUTO

NUMBER_RE = re.compile(r"^-?\d+(?:[.,]\d+)?$")
TRAILING_NOTE_RE = re.compile(r"(\d{1,2})\)\s*$")
# a cell that is a footnote marker alone ("14)" on Shymkent's labour rows 2011-2013): not the
# number 1 with footnote 4 glued to it, whatever footnotes the sheet defines
BARE_NOTE_RE = re.compile(r"^(?:\d{1,2}\))+$")
MISSING = {"", "…", "...", "….", "-", "- -", "–", "—", "x", "х"}


def text(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).replace("\u00a0", " ").strip()


def decimals(v) -> int | None:
    """Digits after the decimal separator of a clean printed number (None if not one)."""
    t = text(v).replace(" ", "")
    if not NUMBER_RE.match(t):
        return None
    return len(re.split(r"[.,]", t)[1]) if re.search(r"[.,]", t) else 0


def row_precision(values: list) -> int | None:
    """The most common number of decimals among a row's clean numbers (ties: the larger)."""
    counts: dict[int, int] = {}
    for v in values:
        d = decimals(v)
        if d is not None:
            counts[d] = counts.get(d, 0) + 1
    return max(counts, key=lambda d: (counts[d], d)) if counts else None


def parse_number(v, footnotes: set[int], precision: int | None = None) -> tuple[float | None, str]:
    """A printed cell as a number and a note. Footnote markers glued to a number are split off
    only when the number they leave is a valid number and the marker is a footnote the sheet
    defines; when several splits fit, the one with the row's usual number of decimals
    (`precision`) is taken; still several -> the value is refused with a note."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (None, "") if pd.isna(v) else (float(v), "")
    s = text(v)
    if s in MISSING:
        return None, ""
    compact = s.replace(" ", "")
    if NUMBER_RE.match(compact):
        return float(compact.replace(",", ".")), ""
    if BARE_NOTE_RE.match(compact):  # "14)": a footnote marker standing for the value
        return None, f"only a footnote marker {s!r}, no value printed"
    notes: list[str] = []
    body = compact
    stars = re.search(r"\*+$", body)
    if stars and NUMBER_RE.match(body[: stars.start()]):
        return float(body[: stars.start()].replace(",", ".")), f"mark {stars.group()} split off"
    while True:
        m = TRAILING_NOTE_RE.search(body)
        if not m:
            break
        digits = m.group(1)
        head = body[: m.start()]
        readings = []
        for k in range(1, len(digits) + 1):  # footnote = the last k digits
            note, rest = digits[-k:], head + digits[:-k]
            if note.startswith("0"):
                continue
            fits = NUMBER_RE.match(rest) or rest in MISSING or TRAILING_NOTE_RE.search(rest)
            if int(note) in footnotes and fits:
                readings.append((note, rest))
        if len(readings) > 1 and precision is not None:
            readings = [r for r in readings if decimals(r[1]) == precision] or readings
        if len(readings) != 1:
            apart = re.search(r"\s" + re.escape(digits) + r"\)\s*$", s)
            if apart and (NUMBER_RE.match(head) or head in MISSING):  # "0,5 13)"
                readings = [(digits, head)]
            else:
                why = "several readings" if readings else "no defined footnote fits"
                return None, f"footnote marker in {s!r} is ambiguous ({why}); value not read"
        notes.append(readings[0][0])
        body = readings[0][1]
    if notes and NUMBER_RE.match(body):
        return float(body.replace(",", ".")), "footnote " + ",".join(reversed(notes)) + " split off"
    if notes and body in MISSING:
        return None, ""
    return None, f"not a number: {s!r}"


# A value printed under a thousands label that is a whole number at least this large is a count of
# persons (the sheets mix units: Shymkent districts print population in persons, Aktau and
# Kyzylorda districts print births and deaths in persons under "тыс. человек"); a count printed
# under a persons label that is not a whole number is in thousands (Zhanaozen's births).
PERSONS_FROM = {
    "population": 5000,
    "births": 100,
    "deaths": 100,
    "arrivals": 100,
    "departures": 100,
}
LFS_PERSONS_FROM = 1000
COUNTS = {
    "population", "births", "deaths", "arrivals", "departures", "labour_force", "employment",
    "hired_employees", "self_employed", "unemployed",
}  # fmt: skip


def row_multiplier(multiplier: str, values: list[float | None], label: str) -> tuple[float, str]:
    """The multiplier of a profile row: the rule's; `lfs` rows take the unit from the values."""
    if multiplier == LFS_AUTO:
        return block_multiplier([(0, values)], label)
    return float(multiplier), ""


def cell_multiplier(variable: str, mult: float, value: float) -> tuple[float, str]:
    """The multiplier of one cell given its row's (see PERSONS_FROM)."""
    if variable not in COUNTS:
        return mult, ""
    whole = float(value).is_integer()
    limit = PERSONS_FROM.get(variable, LFS_PERSONS_FROM)
    if mult == 1000 and whole and value >= limit:
        return 1.0, f"whole number >= {limit} under a thousands label: read as persons"
    if mult == 1 and not whole:
        return 1000.0, "fraction under a persons label: read as thousands"
    return mult, ""


# ----------------------------------------------------------------------------- labour tables
def block_multiplier(block: list[tuple[int, list]], header_text: str) -> tuple[float, str]:
    """Thousands or persons for one labour block, read from the block: integer values of 1000
    and more are persons whatever the header says (the Ulytau workbook prints persons under a
    'тыс. человек' header); otherwise the header's unit, thousands when none is printed."""
    nums = [x for _, vals in block for x in vals if x is not None]
    said_thousand = bool(re.search(r"тыс", header_text, re.IGNORECASE))
    if nums and all(float(x).is_integer() for x in nums) and max(nums) >= 1000:
        note = "integers >= 1000 under a thousands header: read as persons" if said_thousand else ""
        return 1.0, note
    return 1000.0, "" if said_thousand else "no unit printed: decimals read as thousands"
