"""Read the Bureau of National Statistics' (BNS) regional workbooks exactly as published.

Two layouts are understood, recognised by the sheet's title, never by position:

* profile sheets ("Динамика основных социально-экономических показателей ..." / "Основные
  социально-экономические показатели ...", including the monotown sheets "... по моногороду X"):
  one territory per sheet, indicators in rows, years in columns;
* labour tables ("Основные индикаторы рынка труда по районам ..."): one block per indicator,
  territories in rows, years in columns.

The header row of years is searched for (it moves between workbooks); a sub-row ("тыс. человек")
is joined to the label above it; footnote markers glued to a number ("73,51)") are split off
using the footnote numbers the sheet itself defines. Every value read is one :class:`Cell` with
its file, sheet, row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import Problem, WorkbookLayoutError
from .labels import LFS_AUTO, LabelRule, match_label
from .numbers import (
    MISSING,
    block_multiplier,
    cell_multiplier,
    parse_number,
    row_multiplier,
    row_precision,
    text,
)

HEADER_SEARCH_ROWS = 15
YEAR_RE = re.compile(r"^((?:19|20)\d\d)(?:\.0+)?\s*(?:год)?\s*(?:\d{1,2}\))*\s*$")
FOOTNOTE_DEF_RE = re.compile(r"^\s*(\d{1,2})\)")
PROFILE_TITLE = re.compile(r"показател", re.IGNORECASE)
LABOUR_TITLE = re.compile(r"индикаторы рынка труда", re.IGNORECASE)
# a region's own total in a labour table: "... область", "Карагандинская", "Область Жетісу", or the
# bare name of a region named after a person or place ("Абай")
REGION_TOTAL = re.compile(r"област|(ская|ской)$|^Абай$", re.IGNORECASE)
MONOTOWN_TITLE = re.compile(r"по моногороду\s+([^\s]+)", re.IGNORECASE)


@dataclass
class Cell:
    """One value as read: where it is, what it means, and the number in persons/tenge/%."""

    file: str
    sheet: str
    row: int  # 1-based, as Excel shows it
    column: str  # Excel column letters
    layout: str
    territory_ru: str  # the territory as printed (sheet name or row label)
    monotown: bool
    label: str
    variable: str
    kind: str
    period: int  # the calendar year printed in the header
    printed: str
    value: float
    note: str = ""
    title: str = ""


@dataclass
class SheetResult:
    cells: list[Cell] = field(default_factory=list)
    unknown: list[tuple[str, str, str, int]] = field(
        default_factory=list
    )  # label, file, sheet, row
    skipped: list[str] = field(default_factory=list)


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def clean_label(s: str) -> str:
    """A label without footnote markers ('Занятое население4)' -> 'Занятое население')."""
    s = re.sub(r"\s*\d{1,2}\)|[\u2070-\u209f\u00b9\u00b2\u00b3]+", "", s.replace("\n", " "))
    s = re.sub(r"\s+", " ", s)
    return s.strip(" ,:")


def parse_year(v) -> int | None:
    m = YEAR_RE.match(text(v))
    return int(m.group(1)) if m else None


def sheet_footnotes(df: pd.DataFrame) -> set[int]:
    """Footnote numbers defined in the sheet (lines such as '4) По данным ...')."""
    found: set[int] = set()
    for c in range(min(df.shape[1], 3)):
        for v in df.iloc[:, c]:
            m = FOOTNOTE_DEF_RE.match(text(v))
            if m and len(text(v)) > 4:
                found.add(int(m.group(1)))
    return found


def find_title(df: pd.DataFrame) -> str:
    for i in range(min(HEADER_SEARCH_ROWS, df.shape[0])):
        for v in df.iloc[i, : min(3, df.shape[1])]:
            t = text(v)
            if PROFILE_TITLE.search(t) or LABOUR_TITLE.search(t):
                return re.sub(r"\s+", " ", t)
    return ""


HEADER_FIRST = re.compile(r"^(наименование|регион|район|показател|№|территор)", re.IGNORECASE)


def year_columns(row: pd.Series) -> dict[int, int]:
    """Column index -> year for the cells of `row` that are years (increasing), when `row` is a
    header row: its first cell is empty or a header word, never a territory or an indicator."""
    first = text(row.iloc[0]) if len(row) else ""
    if first and not HEADER_FIRST.match(first):
        return {}
    out: dict[int, int] = {}
    for j, v in enumerate(row.tolist()):
        y = parse_year(v)
        if y is not None and (not out or y > max(out.values())):
            out[j] = y
    return out


def sheet_error(file: str, sheet: str, rule: str, detail: str) -> WorkbookLayoutError:
    return WorkbookLayoutError([Problem(file, rule, f"sheet {sheet!r}", detail)])


# ----------------------------------------------------------------------------- profile sheets
def read_profile(
    df: pd.DataFrame, file: str, sheet: str, title: str, rules: list[LabelRule]
) -> SheetResult:
    res = SheetResult()
    header = None
    for i in range(min(HEADER_SEARCH_ROWS, df.shape[0])):
        cols = year_columns(df.iloc[i])
        if cols:
            header = (i, cols)
            break
    if header is None:
        raise sheet_error(
            file,
            sheet,
            "no year header",
            f"no row of years (1991, 2023, ...) in the first {HEADER_SEARCH_ROWS} rows",
        )
    hrow, years = header
    label_col = min(years) - 1
    if label_col < 0:
        raise sheet_error(file, sheet, "no label column", "the years start in the first column")
    notes = sheet_footnotes(df)
    mono = MONOTOWN_TITLE.search(title) or re.search(r"моног\w*\.?\s*(\S+)", sheet, re.I)
    territory = mono.group(1) if mono else sheet.strip()
    parent = ""
    for i in range(hrow + 1, df.shape[0]):
        raw_label = text(df.iat[i, label_col])
        if not raw_label:
            continue
        label = clean_label(raw_label)
        if not label:
            continue
        child = label[0].islower()
        full = f"{parent} | {label}" if child and parent else label
        if not child:
            parent = label
        values = [(j, y, df.iat[i, j]) for j, y in years.items() if j < df.shape[1]]
        if not any(text(v) not in MISSING for _, _, v in values):
            continue  # a heading or an empty row
        rule = match_label(rules, "profile", full)
        if rule is None:
            res.unknown.append((full, file, sheet, i + 1))
            continue
        if not rule.variable:
            continue
        prec = row_precision([v for _, _, v in values])
        parsed = [(j, y, v, *parse_number(v, notes, prec)) for j, y, v in values]
        mult, mnote = row_multiplier(rule.multiplier, [p[3] for p in parsed], full)
        for j, y, v, num, note in parsed:
            if num is None:
                if note:
                    res.skipped.append(f"{file} / {sheet} / {column_letters(j)}{i + 1}: {note}")
                continue
            cmult, cnote = cell_multiplier(rule.variable, mult, num)
            note = "; ".join(x for x in (note, mnote, cnote) if x)
            res.cells.append(
                Cell(
                    file, sheet, i + 1, column_letters(j), "profile", territory, bool(mono),
                    full, rule.variable, rule.kind, y, text(v), num * cmult, note, title,
                )
            )  # fmt: skip
    return res


def read_labour(
    df: pd.DataFrame, file: str, sheet: str, title: str, rules: list[LabelRule]
) -> SheetResult:
    """A labour table: blocks of [indicator heading, unit line, header of years, one row per
    territory], in any column; a heading not in the label map makes its rows unknown."""
    res = SheetResult()
    notes = sheet_footnotes(df)
    rule: LabelRule | None = None
    block_label = ""
    header_text = ""
    years: dict[int, int] = {}
    pending: list[tuple[int, str, dict]] = []

    def flush() -> None:
        if rule is None or not rule.variable or not pending:
            pending.clear()
            return
        parsed = []
        for i, name, raw in pending:
            prec = row_precision(list(raw.values()))
            vals = {j: parse_number(v, notes, prec) for j, v in raw.items()}
            parsed.append((i, name, raw, vals))
        mult, mnote = 1.0, ""
        if rule.multiplier == LFS_AUTO:  # region totals (other magnitudes) do not decide
            mult, mnote = block_multiplier(
                [
                    (i, [v[0] for v in vals.values()])
                    for i, name, _, vals in parsed
                    if not REGION_TOTAL.search(name)
                ],
                header_text,
            )
        else:
            mult = float(rule.multiplier)
        for i, name, raw, vals in parsed:
            for j, (num, note) in vals.items():
                if num is None:
                    if note:
                        res.skipped.append(f"{file} / {sheet} / {column_letters(j)}{i + 1}: {note}")
                    continue
                res.cells.append(
                    Cell(
                        file, sheet, i + 1, column_letters(j), "labour", name, False,
                        block_label, rule.variable, rule.kind, years[j], text(raw[j]),
                        num * mult, "; ".join(x for x in (note, mnote) if x),
                    )
                )  # fmt: skip
        pending.clear()

    for i in range(df.shape[0]):
        row = df.iloc[i]
        cells = [text(v) for v in row.tolist()]
        first = clean_label(cells[0])
        cols = year_columns(row)
        if cols:
            flush()
            years = cols
            continue
        in_years = [cells[j] for j in years if j < len(cells)]
        if years and first and any(in_years):
            pending.append((i, first, {j: row.iloc[j] for j in years if j < len(cells)}))
            if rule is None and block_label not in {u[0] for u in res.unknown}:
                res.unknown.append((block_label or first, file, sheet, i + 1))
            continue
        joined = " ".join(c for c in cells if c)
        label = clean_label(next((c for c in cells if c), ""))
        if not label or LABOUR_TITLE.search(label) or FOOTNOTE_DEF_RE.match(cells[0]):
            if re.search(r"тыс", joined, re.IGNORECASE):
                header_text += " " + joined
            continue
        if re.match(
            r"^(наименование|год$|продолжение|окончание|районы|города|в том числе)", label, re.I
        ):
            continue
        found = match_label(rules, "labour", label)
        if found is not None:
            flush()
            rule, block_label, header_text, years = found, label, joined, {}
        elif re.search(r"тыс|человек|процент", label, re.IGNORECASE) and len(label) < 20:
            header_text += " " + joined
        else:
            flush()
            rule, block_label, header_text, years = None, label, joined, {}
    flush()
    return res


# ----------------------------------------------------------------------------- workbooks
def starts_with_labour_block(df: pd.DataFrame, rules: list[LabelRule]) -> bool:
    """A labour table printed without its title: the first text is a labour indicator."""
    for i in range(min(HEADER_SEARCH_ROWS, df.shape[0])):
        cells = [text(v) for v in df.iloc[i].tolist() if text(v)]
        if cells:
            rule = match_label(rules, "labour", clean_label(cells[0]))
            return rule is not None and bool(rule.variable)
    return False


def read_workbook(path: Path, rules: list[LabelRule]) -> SheetResult:
    """All cells of one workbook. Raises WorkbookLayoutError naming the file and sheet when a
    sheet's layout cannot be read."""
    file = path.name
    try:
        book = pd.ExcelFile(path, engine="calamine")
    except Exception as exc:  # calamine raises its own error types
        raise WorkbookLayoutError(
            [Problem(file, "unreadable workbook", "whole file", str(exc))]
        ) from exc
    out = SheetResult()
    recognised = 0
    for sheet in book.sheet_names:
        df = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object)
        if df.dropna(how="all").empty:
            out.skipped.append(f"{file} / {sheet}: empty sheet")
            continue
        title = find_title(df)
        if LABOUR_TITLE.search(title):
            res = read_labour(df, file, sheet, title, rules)
        elif PROFILE_TITLE.search(title):
            res = read_profile(df, file, sheet, title, rules)
        elif starts_with_labour_block(df, rules):
            res = read_labour(df, file, sheet, title, rules)
        elif any(year_columns(df.iloc[i]) for i in range(min(HEADER_SEARCH_ROWS, df.shape[0]))):
            # a profile sheet printed without a title row (the Zhambyl workbook)
            res = read_profile(df, file, sheet, title, rules)
        else:
            raise sheet_error(
                file,
                sheet,
                "unknown layout",
                "neither a profile sheet ('... социально-экономических показателей ...') nor a "
                "labour table ('Основные индикаторы рынка труда ...'): no title and no row of years",
            )
        recognised += 1
        out.cells += res.cells
        out.unknown += res.unknown
        out.skipped += res.skipped
    if not recognised:
        raise WorkbookLayoutError(
            [Problem(file, "unknown layout", "every sheet", "no sheet holds data")]
        )
    return out
