"""Excel export of a run: report.xlsx with sheets forecasts, categories, drivers, policy, about.

Same folder-only input as the HTML report. Units get their names next to their ids, drivers their
English, Russian and Kazakh labels, so that the workbook reads without the CSV files next to it. The
drivers sheet holds the horizons the report shows (5, 10 and the policy horizon); drivers.csv
keeps every horizon (all of them would be ~750,000 rows on the US county panel).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .. import __version__, io
from .driverlabels import driver_labels
from .rundir import read_run

MAX_WIDTH = 60
MAX_ROWS = 1_048_575  # Excel's limit, less the header


def _flatten(obj, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            rows += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list) and any(isinstance(x, dict | list) for x in obj):
        for i, v in enumerate(obj):
            rows += _flatten(v, f"{prefix}[{i}]")
    else:
        rows.append((prefix, ", ".join(map(str, obj)) if isinstance(obj, list) else obj))
    return rows


def _with_names(df: pd.DataFrame, units: pd.DataFrame | None, cols=("name", "region")):
    if units is None or "unit_id" not in df or "name" in df or "unit_id" not in units:
        return df
    cols = [c for c in cols if c in units]
    if not cols:
        return df
    out = df.merge(units[["unit_id", *cols]].drop_duplicates("unit_id"), on="unit_id", how="left")
    order = ["unit_id", *cols, *[c for c in df.columns if c != "unit_id"]]
    return out[order]


def report_horizons(run, policy: dict) -> list[int]:
    """The horizons the report shows (5, 10 and the policy horizon, where forecast)."""
    fc = run.table("forecasts")
    have = set(fc["horizon"].dropna().astype(int)) if fc is not None and "horizon" in fc else set()
    want = {5, 10, int(policy.get("horizon") or 10)}
    return sorted(want & have) or sorted(have)


def _sheets(run_dir: Path) -> dict[str, pd.DataFrame]:
    run = read_run(run_dir)
    units = run.table("units")
    missing = pd.DataFrame({"note": ["not available in this run"]})
    sheets: dict[str, pd.DataFrame] = {}

    fc = run.table("forecasts")
    if fc is not None:
        if "model" in fc and fc["model"].nunique() == 1:
            fc = fc.drop(columns="model")
        sheets["forecasts"] = _with_names(fc, units)
    else:
        sheets["forecasts"] = missing

    cats = run.table("categories")
    if units is not None and "name_ru" in units and "name_ru" not in cats:
        cats = cats.merge(
            units[["unit_id", "name_ru"]].drop_duplicates("unit_id"), on="unit_id", how="left"
        )
        cols = list(cats.columns)
        cols.insert(
            cols.index("name") + 1 if "name" in cols else 1, cols.pop(cols.index("name_ru"))
        )
        cats = cats[cols]
    sheets["categories"] = cats

    d = run.table("drivers")
    hs = report_horizons(run, run.doc("policy"))
    if d is not None and "driver" in d:
        if "horizon" in d and hs:
            d = d[d["horizon"].isin(hs)]
        d = d.drop(columns=[c for c in ("contribution_log",) if c in d])
        label = driver_labels()
        names = d["driver"].astype(str).unique()
        en = {n: label(n, "en") for n in names}
        ru = {n: label(n, "ru") for n in names}
        kk = {n: label(n, "kk") for n in names}
        d = d.copy()
        pos = list(d.columns).index("driver") + 1
        d.insert(pos, "driver_en", d["driver"].map(en))
        d.insert(pos + 1, "driver_ru", d["driver"].map(ru))
        d.insert(pos + 2, "driver_kk", d["driver"].map(kk))
        sheets["drivers"] = _with_names(d, units, cols=("name",))
    else:
        sheets["drivers"] = missing

    policy = run.doc("policy")
    sheets["policy"] = (
        pd.DataFrame(_flatten(policy), columns=["setting", "value"]) if policy else missing
    )
    meta = run.doc("run")
    about = [
        ("dataset", meta.get("dataset")),
        ("as_of", meta.get("as_of")),
        ("dataset_digest", meta.get("dataset_digest")),
        ("town_prospects_version", meta.get("package_version") or __version__),
        ("run_folder", run.path.name),
        ("level", run.doc("config").get("level")),
        ("policy_file", meta.get("policy_file")),
        ("drivers_sheet", f"horizons {', '.join(map(str, hs))}; every horizon is in drivers.csv"),
    ]
    sheets["about"] = pd.DataFrame(about, columns=["item", "value"])
    return sheets


def _cell(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return _cell(v.item())
    if isinstance(v, bool | int | float | str):
        return v
    return str(v)


def write_workbook(run_dir: Path) -> Path:
    """Write run_dir/report.xlsx (atomically) and return its path.

    openpyxl's write-only mode: the US county panel's drivers sheet has ~750,000 rows, which the
    ordinary pandas writer takes minutes over.
    """
    run_dir = Path(run_dir)
    sheets = _sheets(run_dir)
    path = run_dir / "report.xlsx"
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for name, df in sheets.items():
        ws = wb.create_sheet(title=name)
        ws.freeze_panes = "A2"
        for i, col in enumerate(df.columns, start=1):
            lengths = [len(str(v)) for v in df[col].head(200) if not pd.isna(v)]
            ws.column_dimensions[get_column_letter(i)].width = min(
                max([len(str(col)), *lengths]) + 2, MAX_WIDTH
            )
        rows = df.itertuples(index=False, name=None)
        if len(df) > MAX_ROWS:
            rows = itertools.islice(rows, MAX_ROWS)
        if len(df.columns):
            ws.auto_filter.ref = (
                f"A1:{get_column_letter(len(df.columns))}{min(len(df), MAX_ROWS) + 1}"
            )
        header = []
        for col in df.columns:
            c = WriteOnlyCell(ws, value=str(col))
            c.font = bold
            header.append(c)
        ws.append(header)
        for row in rows:
            ws.append([_cell(v) for v in row])
    with io.atomic_path(path) as tmp:
        wb.save(tmp)
    return path
