"""Read a run folder for the report: every file optional except categories.csv.

(The run folder is this package's own output, so it is read here rather than through
:mod:`forecast.io`, which reads and validates *datasets*.)

The report must render from the folder alone and must survive files that gain columns or go
missing (an older run, a run without employment, a run without a backtest). Each reader returns
``None`` (or an empty frame) for a missing or unreadable optional file, and the sections that
need it say "not available".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import ForecastError

REQUIRED = "categories.csv"
CSV_FILES = (
    "forecasts",
    "history",
    "components",
    "units",
    "categories",
    "drivers",
    "accuracy",
    "coverage_by_origin",
    "sensitivity_summary",
    "interval_calibration",
)
JSON_FILES = ("policy", "config", "run")


@dataclass
class RunFolder:
    path: Path
    tables: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    docs: dict[str, dict] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def table(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    def doc(self, name: str) -> dict:
        return self.docs.get(name) or {}


def _read_csv(path: Path, problems: list[str]) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        # ids stay text: US county FIPS codes such as "01001" must keep their leading zero
        df = pd.read_csv(path, dtype={"unit_id": str}, low_memory=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        problems.append(f"{path.name}: unreadable ({exc})")
        return None
    return df


def _read_json(path: Path, problems: list[str]) -> dict:
    if not path.exists():
        return {}
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{path.name}: unreadable ({exc})")
        return {}
    return obj if isinstance(obj, dict) else {}


def check_run_folder(run_dir: Path | str) -> Path:
    """The run folder as a Path; ForecastError with one line if it is not usable."""
    p = Path(run_dir)
    if not p.exists():
        raise ForecastError(f"run folder not found: {p}")
    if not p.is_dir():
        raise ForecastError(f"not a folder: {p} (give the run folder, not a file in it)")
    if not (p / REQUIRED).exists():
        raise ForecastError(
            f"{p} is not a run folder: {REQUIRED} is missing (run `forecast run` first)"
        )
    return p


def read_run(run_dir: Path | str) -> RunFolder:
    p = check_run_folder(run_dir)
    run = RunFolder(path=p)
    for name in CSV_FILES:
        run.tables[name] = _read_csv(p / f"{name}.csv", run.problems)
    for name in JSON_FILES:
        run.docs[name] = _read_json(p / f"{name}.json", run.problems)
    cats = run.tables["categories"]
    if cats is None or "unit_id" not in cats.columns:
        raise ForecastError(f"{p / REQUIRED}: unreadable or without a unit_id column")
    cats["unit_id"] = cats["unit_id"].astype(str)
    for name in ("forecasts", "history", "components", "units", "drivers"):
        df = run.tables[name]
        if df is not None and "unit_id" in df.columns:
            df["unit_id"] = df["unit_id"].astype(str)
    return run
