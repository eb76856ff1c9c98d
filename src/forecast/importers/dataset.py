"""`forecast import-bns`: BNS workbooks -> a dataset folder (panel, units, sources).

Time convention: a value of calendar year t (an end-of-year stock, an annual flow or an annual
average) is stored at year t+1, "the 1 January by which the value is complete"; the printed year
is kept in sources.csv (`period`). A unit/variable/year printed in a profile sheet is taken from
it; a labour-table value for the same key is kept in sources.csv as `not used`.
The folder is written to a temporary directory next to the target and moved into place only when
everything succeeded.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import DataValidationError, Problem
from . import units as U
from .bns import REGION_TOTAL, Cell, read_workbook
from .labels import load_label_rules, load_regions

WORKBOOK_SUFFIXES = (".xls", ".xlsx")
NOT_A_LAYOUT = re.compile(r"_(Agriculture|Production|Retail)$|^Employment_sources$", re.I)
PANEL_VARIABLES = [
    "population", "employment", "births", "deaths", "arrivals", "departures", "wage",
    "labour_force", "hired_employees", "self_employed", "unemployed", "unemployment_rate",
]  # fmt: skip
SOURCE_COLUMNS = [
    "file", "unit_id", "year", "variable", "value", "status", "kind", "scope", "reason",
    "source_url", "source_note", "sheet", "row", "column", "period", "printed", "territory_printed",
]  # fmt: skip


@dataclass
class ImportSummary:
    files: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    units: int = 0
    values: int = 0
    unknown_labels: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def expand(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Workbooks named or found (recursively) in folders; sector workbooks are skipped."""
    found: list[Path] = []
    skipped: list[str] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.suffix.lower() not in WORKBOOK_SUFFIXES or f.name.startswith("~$"):
                    continue
                if NOT_A_LAYOUT.search(f.stem):
                    skipped.append(
                        f"{f.name}: sector workbook or address list, not a supported layout"
                    )
                    continue
                found.append(f)
        elif p.exists():
            found.append(p)
        else:
            raise DataValidationError([Problem(str(p), "missing file", "whole file", "not found")])
    return found, skipped


def region_of(path: Path, regions: dict) -> object:
    prefix = path.stem.split("_")[0]
    if prefix not in regions:
        raise DataValidationError(
            [
                Problem(
                    path.name,
                    "unknown region",
                    "file name",
                    f"prefix {prefix!r} is not in resources/bns_regions.csv",
                )
            ]
        )
    return regions[prefix]


def import_workbooks(
    paths: list[Path],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, ImportSummary]:
    """Read the workbooks; return (panel, units, sources, summary). Nothing is written."""
    rules = load_label_rules()
    regions = load_regions()
    files, skipped = expand(paths)
    summary = ImportSummary(skipped_files=skipped)
    if not files:
        raise DataValidationError(
            [Problem(", ".join(map(str, paths)), "no workbooks", "input", "no .xls/.xlsx found")]
        )
    # profile sheets first: they name the units; labour tables are matched to them
    read: list[tuple[object, list[Cell]]] = []
    for f in files:
        res = read_workbook(f, rules)
        summary.files.append(f.name)
        for label, *_ in res.unknown:
            summary.unknown_labels[label] += 1
        summary.notes += res.skipped
        read.append((region_of(f, regions), res.cells))
    read.sort(key=lambda rc: 0 if rc[1] and rc[1][0].layout == "profile" else 1)
    reg = U.Registry(regions)
    city_regions = {r.name for r in regions.values() if r.name.endswith(" city")}
    rows: list[dict] = []
    for region, cells in read:
        for c in cells:
            if c.layout == "labour" and REGION_TOTAL.search(c.territory_ru.strip()):
                rows.append(_source_row(c, "", "not used", "region total (not a unit)"))
                continue
            terr = "town_proper" if c.monotown else U.territory(c.territory_ru)
            if c.layout == "profile" and re.search(r"област", c.sheet + " " + c.territory_ru, re.I):
                rows.append(_source_row(c, "", "not used", "region total (not a unit)"))
                continue
            if c.layout == "profile" and not c.monotown:
                terr = U.territory(c.territory_ru, U.title_hint(c.sheet, c.title))
            u = reg.find(region.name, terr, c.territory_ru) or reg.add(
                region.name, terr, c.territory_ru
            )
            rows.append(_source_row(c, u, "", ""))
    U.merge_moved(reg, rows)
    U.assign_ids(reg.units, regions)
    U.link_parents(reg.units)
    for region_name in city_regions:  # inner-city districts lie inside their city
        city = [
            u for u in reg.units if u.region == region_name and u.territory == "city_administration"
        ]
        if len(city) == 1:
            for u in reg.units:
                if u.region == region_name and u.territory == "district":
                    u.parent_id = city[0].unit_id
    sources = pd.DataFrame([{**r, "unit_id": r["unit"].unit_id if r["unit"] else ""} for r in rows])
    sources = sources.drop(columns="unit")
    sources = _choose(sources)
    panel = (
        sources[sources["status"] == "used"]
        .pivot(index=["unit_id", "year"], columns="variable", values="value")
        .reset_index()
    )
    panel = panel[["unit_id", "year", *[v for v in PANEL_VARIABLES if v in panel.columns]]]
    if "population" not in panel:
        panel.insert(2, "population", float("nan"))
    panel = panel.sort_values(["unit_id", "year"]).reset_index(drop=True)
    units = (
        pd.DataFrame(
            [
                {
                    "unit_id": u.unit_id,
                    "name": u.name,
                    "name_ru": u.name_ru,
                    "name_kk": u.name_kk,
                    "region": u.region,
                    "territory": u.territory,
                    "parent_id": u.parent_id,
                }
                for u in reg.units
            ]
        )
        .sort_values("unit_id", kind="mergesort")
        .reset_index(drop=True)
    )
    summary.units = len(units)
    summary.values = int((sources["status"] == "used").sum())
    return panel, units, sources[SOURCE_COLUMNS], summary


def _source_row(c: Cell, unit, status: str, reason: str) -> dict:
    return {
        "file": c.file,
        "unit": unit or None,
        "year": c.period + 1,
        "variable": c.variable,
        "value": c.value,
        "status": status,
        "kind": c.kind,
        "scope": c.layout,
        "reason": reason,
        "source_url": "",
        "source_note": c.label,
        "sheet": c.sheet,
        "row": c.row,
        "column": c.column,
        "period": c.period,
        "printed": c.printed,
        "territory_printed": c.territory_ru,
    }


def _choose(sources: pd.DataFrame) -> pd.DataFrame:
    """One value per unit, variable and year: profile sheets before labour tables, then the
    first row of the sheet; the others stay in sources.csv as `not used`."""
    s = sources.copy()
    open_ = s["status"] == ""
    s["_rank"] = (s["scope"] != "profile").astype(int)
    order = s[open_].sort_values(["unit_id", "variable", "year", "_rank", "file", "sheet", "row"])
    first = ~order.duplicated(["unit_id", "variable", "year"])
    s.loc[order.index[first], "status"] = "used"
    dup = order.index[~first]
    s.loc[dup, "status"] = "not used"
    s.loc[dup, "reason"] = "another printing of the same unit, variable and year is used"
    return (
        s.drop(columns="_rank")
        .sort_values(["unit_id", "variable", "year", "file", "sheet", "row"], kind="mergesort")
        .reset_index(drop=True)
    )


def write_dataset(
    out: Path, tables: dict[str, pd.DataFrame], extra: dict[str, str] | None = None
) -> None:
    """Write the tables into `out` through a temporary folder (nothing half-written)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, df in tables.items():
            # a name ending .gz is gzip-compressed with a fixed timestamp (byte-identical rebuilds)
            gz = {"method": "gzip", "mtime": 0} if name.endswith(".gz") else None
            df.to_csv(
                tmp / name,
                index=False,
                float_format="%.10g",
                lineterminator="\n",
                compression=gz,
            )
        for name, content in (extra or {}).items():
            (tmp / name).write_text(content, encoding="utf-8")
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def run_import(paths: list[Path], out: Path) -> ImportSummary:
    panel, units, sources, summary = import_workbooks(paths)
    unknown = pd.DataFrame(sorted(summary.unknown_labels.items()), columns=["label", "occurrences"])
    write_dataset(
        out,
        {
            "panel.csv": panel,
            "units.csv": units,
            "sources.csv": sources,
            "unknown_labels.csv": unknown,
        },
    )
    return summary


def format_summary(summary: ImportSummary, out: Path, shown: int = 25) -> str:
    """The command's summary: what was read, and every label that was not understood."""
    lines = [
        f"read {len(summary.files)} workbooks: {summary.units} units, {summary.values} values -> {out}",
    ]
    for s in summary.skipped_files:
        lines.append(f"skipped {s}")
    if summary.notes:
        lines.append(
            f"{len(summary.notes)} cells not read (see below, first {min(shown, len(summary.notes))}):"
        )
        lines += [f"  {n}" for n in summary.notes[:shown]]
    unknown = summary.unknown_labels.most_common()
    lines.append(
        f"{len(unknown)} row labels not in resources/bns_labels.csv (all listed in "
        f"{out / 'unknown_labels.csv'}):"
    )
    lines += [f"  {n:4d} x {label}" for label, n in unknown[:shown]]
    if len(unknown) > shown:
        lines.append(f"  ... and {len(unknown) - shown} more")
    return "\n".join(lines)
