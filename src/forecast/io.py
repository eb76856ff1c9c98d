"""All reading and writing of data files happens here.

`read_dataset` finds the files of a dataset folder, reads every cell as text, and hands the raw
tables to :mod:`forecast.schema` for validation. Output writers keep files tidy and atomic
(written to a temporary name, then renamed) so that a failed run never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from . import csvfile, schema
from .errors import DataValidationError, ForecastError, Problem

PANEL_NAMES = ("panel.csv", "panel.csv.gz", "panel.parquet")
BUNDLED_DEFAULT = "kz_annual"


def project_root() -> Path:
    """The source checkout this package runs from: where the bundled `data/` and the default
    configs in `experiments/` are found. Outputs (runs, the MLflow store, exported models) go to
    the working directory instead (see :mod:`forecast.runs`)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "data").is_dir():
            return parent
    return Path.cwd()


def resolve_dataset(name_or_path: str | Path) -> Path:
    """A dataset folder from a path, or from the name of a bundled dataset under `data/`."""
    p = Path(name_or_path)
    if p.is_dir():
        return p
    for base in (Path.cwd() / "data", project_root() / "data"):
        if (base / str(name_or_path)).is_dir():
            return base / str(name_or_path)
    raise ForecastError(
        f"dataset not found: {name_or_path!r} is neither a folder nor a bundled dataset "
        f"(bundled datasets live in {project_root() / 'data'})"
    )


def _read_table(path: Path) -> pd.DataFrame:
    """Every cell as text; a file that cannot be read raises one problem naming file and line."""
    if path.suffix != ".parquet":
        found = csvfile.header_problem(path)
        if found is not None:
            raise DataValidationError([found])
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError as exc:
        raise DataValidationError([csvfile.encoding_problem(path)]) from exc
    except pd.errors.ParserError as exc:
        raise DataValidationError([csvfile.parser_problem(path, exc)]) from exc
    except (OSError, ValueError) as exc:
        raise DataValidationError(
            [Problem(path.name, "unreadable file", "whole file", str(exc))]
        ) from exc


def _panel_file(folder: Path) -> Path:
    found = [folder / n for n in PANEL_NAMES if (folder / n).exists()]
    if not found:
        raise DataValidationError(
            [
                Problem(
                    "panel",
                    "missing file",
                    str(folder),
                    f"expected one of {', '.join(PANEL_NAMES)}",
                )
            ]
        )
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DataValidationError(
            [Problem("panel", "ambiguous panel", str(folder), f"found {names}; keep exactly one")]
        )
    return found[0]


def read_dataset(name_or_path: str | Path, jump_threshold: float = schema.JUMP_THRESHOLD):
    """Read and validate a dataset folder. Raises DataValidationError listing every problem."""
    folder = resolve_dataset(name_or_path)
    problems: list[Problem] = []

    units_path = folder / "units.csv"
    if not units_path.exists():
        problems.append(Problem("units.csv", "missing file", str(folder), "units.csv is required"))
        units = None
    else:
        units, found = schema.validate_units(_read_table(units_path))
        problems += found

    panel_path = _panel_file(folder)
    offset = 1 if panel_path.suffix == ".parquet" else 2
    panel, found = schema.validate_panel(
        _read_table(panel_path),
        units.index if units is not None else None,
        file=panel_path.name,
        line_offset=offset,
    )
    problems += found

    regions = country = sources = None
    if (folder / "regions.csv").exists():
        regions, found = schema.validate_series(
            _read_table(folder / "regions.csv"), ("region", "year"), "regions.csv"
        )
        problems += found
    if (folder / "country.csv").exists():
        country, found = schema.validate_series(
            _read_table(folder / "country.csv"), ("year",), "country.csv"
        )
        problems += found
    source_file = next(
        (folder / n for n in ("sources.csv", "sources.csv.gz") if (folder / n).exists()), None
    )
    if source_file is not None:
        sources = _read_table(source_file)
        if "year" in sources:
            sources["year"] = pd.to_numeric(sources["year"], errors="coerce")
    schema.raise_if(problems)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        schema.units_without_rows(units, panel, panel_file=panel_path.name)
        jumps = schema.suspicious_jumps(panel, jump_threshold)
    for w in caught:  # re-emit so callers see them once, attributed here
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return schema.Dataset(
        name=folder.name,
        panel=panel,
        units=units,
        regions=regions,
        country=country,
        sources=sources,
        path=folder,
        warnings=jumps,
    )


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; move it into place only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # the same suffix, so that writers inferring the format from it (pandas: .csv.gz is
    # gzip) write what the final name says
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_csv(df: pd.DataFrame, path: Path, float_format: str | None = None) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format)
    return path


def write_text(text: str, path: Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_json(obj, path: Path) -> Path:
    return write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str), path)


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)
