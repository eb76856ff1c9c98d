"""The data contract: what a dataset folder holds and the rules it must satisfy.

Validation runs once, at the boundary (see :mod:`forecast.io`). It takes the raw tables as read
(every cell still text, so that a stray word in a numeric column can be reported with its line),
collects *every* problem it finds, and either returns typed tables or raises one
:class:`~forecast.errors.DataValidationError` listing them all. Nothing is dropped or repaired.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import colnames
from .errors import (
    ColumnNameWarning,
    DataValidationError,
    Problem,
    SuspiciousJumpWarning,
    UnitWithoutRowsWarning,
)

TARGETS = ("population", "employment")
PANEL_REQUIRED = ("unit_id", "year", "population")
UNITS_REQUIRED = ("unit_id", "name", "region")
PANEL_OPTIONAL = ("employment",)
UNITS_OPTIONAL = ("lat", "lon", "parent_id")
REGIONS_REQUIRED = ("region", "year")
COUNTRY_REQUIRED = ("year",)
YEAR_MIN, YEAR_MAX = 1800, 2100
COORDINATE_RANGES = {"lat": ("latitude", -90.0, 90.0), "lon": ("longitude", -180.0, 180.0)}
JUMP_THRESHOLD = 0.30
# Units columns that describe a unit but are not model features.
DESCRIPTIVE_UNIT_COLUMNS = ("name", "name_ru", "name_kk", "scope", "parent_id", "stands_in_for")
MAX_LISTED = 5


@dataclass
class Dataset:
    """A validated dataset. Tables are typed; `units` is indexed by `unit_id`."""

    name: str
    panel: pd.DataFrame
    units: pd.DataFrame
    regions: pd.DataFrame | None = None
    country: pd.DataFrame | None = None
    sources: pd.DataFrame | None = None
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def targets(self) -> list[str]:
        """Targets with at least one observed value, in canonical order."""
        return [t for t in TARGETS if t in self.panel and self.panel[t].notna().any()]

    @property
    def indicators(self) -> list[str]:
        """Time-varying numeric columns other than the targets."""
        return [c for c in self.panel.columns if c not in ("unit_id", "year", *TARGETS)]

    @property
    def last_year(self) -> int:
        return int(self.panel["year"].max())

    def up_to(self, year: int) -> Dataset:
        """The same dataset with every time-varying value after `year` removed."""

        def cut(df: pd.DataFrame | None) -> pd.DataFrame | None:
            if df is None or "year" not in df:
                return df
            return df[df["year"] <= year].reset_index(drop=True)

        return replace(
            self,
            panel=cut(self.panel),
            regions=cut(self.regions),
            country=cut(self.country),
            sources=cut(self.sources),
        )

    def digest(self) -> str:
        """A short content hash of the tables that can influence a model."""
        h = hashlib.sha256()
        for df in (self.panel, self.units, self.regions, self.country):
            if df is not None:
                h.update(pd.util.hash_pandas_object(df, index=True).values.tobytes())
                h.update(",".join(map(str, df.columns)).encode())
        return h.hexdigest()[:16]


def _listing(items: list, total: int | None = None) -> str:
    total = len(items) if total is None else total
    shown = ", ".join(str(i) for i in items[:MAX_LISTED])
    return shown + (f" and {total - MAX_LISTED} more" if total > MAX_LISTED else "")


def _show(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _lines(index: pd.Index, line_offset: int) -> str:
    rows = [int(i) + line_offset for i in index]
    word = "line" if len(rows) == 1 else "lines"
    return f"{word} {_listing(rows)}"


def _comma_hint(bad: pd.Series) -> str:
    """Advice for numbers written with a comma: a decimal comma (`4,8`), or, where the comma
    may as well separate thousands (`12,345`), both readings (a point there would make
    12,345 people 12.345)."""
    if bad.str.fullmatch(r"[-+]?\d{1,3}(?:,\d{3})+").fillna(False).any():
        return (
            "; numbers take no thousands separator and a point for decimals "
            "(12345, not 12,345; 4.8, not 4,8)"
        )
    if bad.str.fullmatch(r"[-+]?\d+,\d+").fillna(False).any():
        return "; decimals take a point, not a comma (4.8, not 4,8)"
    return ""


class _Checker:
    """Collects problems for one file."""

    def __init__(self, file: str, line_offset: int):
        self.file = file
        self.line_offset = line_offset
        self.problems: list[Problem] = []

    def add(self, rule: str, where: str, detail: str) -> None:
        self.problems.append(Problem(self.file, rule, where, detail))

    def lines(self, index: pd.Index) -> str:
        return _lines(index, self.line_offset)

    def required(self, df: pd.DataFrame, columns: tuple[str, ...]) -> bool:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            near = colnames.near_misses(df.columns, missing)
            hint = "".join(f"; is {name!r} meant as {col}?" for col, name in near.items())
            self.add(
                "missing required columns",
                "header",
                f"{', '.join(missing)} not found{hint} "
                f"(columns present: {', '.join(map(str, df.columns))})",
            )
        return not missing

    def optional(self, df: pd.DataFrame, columns: tuple[str, ...], read_as: str) -> None:
        """Warn where a column looks meant for an optional contract column it is not."""
        for column, name in colnames.near_misses(df.columns, columns).items():
            warnings.warn(
                f"{self.file}: column {name!r} looks meant as {column!r} but is read as {read_as}"
                f" and the file has no {column!r}: rename the column if it holds {column}",
                ColumnNameWarning,
                stacklevel=4,
            )

    def numeric(self, df: pd.DataFrame, column: str) -> pd.Series:
        raw = df[column]
        if pd.api.types.is_numeric_dtype(raw):
            return raw.astype(float)
        text = raw.astype("string").str.strip()
        empty = text.isna() | (text == "")
        values = pd.to_numeric(text.where(~empty), errors="coerce")
        bad = ~empty & values.isna()
        if bad.any():
            examples = [repr(v) for v in text[bad].unique()[:3]]
            self.add(
                "non-numeric value",
                self.lines(df.index[bad]),
                f"column {column!r} holds {', '.join(examples)}" + _comma_hint(text[bad]),
            )
        return values.astype(float)

    def years(self, df: pd.DataFrame) -> pd.Series:
        year = self.numeric(df, "year")
        frac = year.notna() & (year != np.floor(year))
        if frac.any():
            self.add(
                "year not an integer", self.lines(df.index[frac]), "years must be whole numbers"
            )
        missing = year.isna() & (df["year"].astype("string").fillna("").str.strip() == "")
        if missing.any():
            self.add("missing year", self.lines(df.index[missing]), "every row needs a year")
        out = year.notna() & ((year < YEAR_MIN) | (year > YEAR_MAX))
        if out.any():
            vals = _listing([_show(v) for v in sorted(set(year[out]))])  # may be inf
            self.add(
                f"year outside {YEAR_MIN}..{YEAR_MAX}",
                self.lines(df.index[out]),
                f"found {vals}",
            )
        return year

    def duplicates(self, df: pd.DataFrame, keys: list[str]) -> None:
        dup = df.duplicated(subset=keys, keep=False)
        if dup.any():
            pairs = df.loc[dup, keys].drop_duplicates()
            shown = [" ".join(f"{k}={_show(r[k])}" for k in keys) for _, r in pairs.iterrows()]
            self.add(
                f"duplicate ({', '.join(keys)})",
                self.lines(df.index[dup]),
                f"repeated keys: {_listing(shown, len(shown))}",
            )

    def missing_keys(self, df: pd.DataFrame, columns: tuple[str, ...]) -> None:
        for c in columns:
            empty = df[c].isna() | (df[c].astype("string").str.strip() == "")
            if empty.any():
                self.add(f"empty {c}", self.lines(df.index[empty]), f"every row needs a {c}")


def _strip_ids(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip()


def validate_units(raw: pd.DataFrame, file: str = "units.csv", line_offset: int = 2):
    chk = _Checker(file, line_offset)
    if not chk.required(raw, UNITS_REQUIRED):
        return None, chk.problems
    chk.optional(raw, UNITS_OPTIONAL, "a static attribute")
    df = raw.copy()
    for c in UNITS_REQUIRED:
        df[c] = _strip_ids(df[c])
    chk.missing_keys(df, UNITS_REQUIRED)
    chk.duplicates(df, ["unit_id"])
    if "parent_id" in df:
        _check_parents(chk, df)
    for c in ("lat", "lon"):
        if c in df:
            df[c] = chk.numeric(df, c)
    for c in df.columns:
        if c in (*UNITS_REQUIRED, "lat", "lon") or pd.api.types.is_numeric_dtype(df[c]):
            continue
        as_num = pd.to_numeric(
            df[c].astype("string").str.strip().replace("", pd.NA), errors="coerce"
        )
        filled = df[c].notna() & (df[c].astype("string").str.strip() != "")
        if filled.any() and as_num[filled].notna().all():
            df[c] = as_num.astype(float)  # a numeric attribute read as text
        else:
            df[c] = df[c].astype("string").str.strip().replace("", pd.NA)
    check_finite(chk, df)
    check_coordinates(chk, df)
    if chk.problems:
        return None, chk.problems
    return df.set_index("unit_id"), []


def _check_parents(chk: _Checker, df: pd.DataFrame) -> None:
    """parent_id names the unit this one lies inside: a known unit, not itself, and no cycle."""
    parent = df["parent_id"].astype("string").str.strip().replace("", pd.NA)
    has = parent.notna()
    ids = set(df["unit_id"].dropna())
    unknown = has & ~parent.isin(ids)
    if unknown.any():
        names = sorted(parent[unknown].unique())
        chk.add("unknown parent_id", chk.lines(df.index[unknown]), f"no unit {_listing(names)}")
    own = has & (parent == df["unit_id"])
    if own.any():
        chk.add("unit is its own parent", chk.lines(df.index[own]), "parent_id equals unit_id")
    up = dict(zip(df.loc[has & ~own, "unit_id"], parent[has & ~own]))
    in_cycle = set()
    for start in up:
        seen, node = [], start
        while node in up and node not in seen:
            seen.append(node)
            node = up[node]
        if node in seen:
            in_cycle.update(seen[seen.index(node) :])
    if in_cycle:
        rows = df.index[df["unit_id"].isin(in_cycle)]
        chk.add(
            "parent_id cycle",
            chk.lines(rows),
            f"units {_listing(sorted(in_cycle))} contain each other",
        )


def validate_panel(
    raw: pd.DataFrame,
    unit_ids: pd.Index | None,
    file: str = "panel.csv",
    line_offset: int = 2,
):
    chk = _Checker(file, line_offset)
    if raw.empty:
        chk.add("empty panel", "whole file", "the panel has no rows")
        return None, chk.problems
    if not chk.required(raw, PANEL_REQUIRED):
        return None, chk.problems
    chk.optional(raw, PANEL_OPTIONAL, "an indicator (a model feature)")
    df = pd.DataFrame(index=raw.index)
    df["unit_id"] = _strip_ids(raw["unit_id"])
    chk.missing_keys(df, ("unit_id",))
    df["year"] = chk.years(raw)
    for c in raw.columns:
        if c not in ("unit_id", "year"):
            df[c] = chk.numeric(raw, c)
    check_finite(chk, df)
    pop = df["population"]
    bad = pop.notna() & (pop <= 0)
    if bad.any():
        chk.add(
            "non-positive population",
            chk.lines(df.index[bad]),
            f"population must be > 0 (units {_listing(sorted(df.loc[bad, 'unit_id'].unique()))})",
        )
    if "employment" in df:
        emp = df["employment"]
        bad = emp.notna() & (emp < 0)
        if bad.any():
            chk.add(
                "negative employment",
                chk.lines(df.index[bad]),
                f"employment must be >= 0 (units {_listing(sorted(df.loc[bad, 'unit_id'].unique()))})",
            )
    chk.duplicates(df, ["unit_id", "year"])
    if unit_ids is not None:
        unknown = ~df["unit_id"].isin(unit_ids) & df["unit_id"].notna()
        if unknown.any():
            names = sorted(df.loc[unknown, "unit_id"].unique())
            chk.add(
                "unit not in units.csv",
                chk.lines(df.index[unknown]),
                f"units {_listing(names, len(names))} appear in the panel but not in units.csv",
            )
    if df[[t for t in TARGETS if t in df]].notna().sum().sum() == 0 and not chk.problems:
        chk.add("empty panel", "whole file", "no population or employment value is present")
    if chk.problems:
        return None, chk.problems
    df["year"] = df["year"].astype(int)
    df = df.sort_values(["unit_id", "year"], kind="mergesort").reset_index(drop=True)
    df["unit_id"] = df["unit_id"].astype(str)
    return df, []


def validate_series(raw: pd.DataFrame, keys: tuple[str, ...], file: str, line_offset: int = 2):
    """Validate a regions or country table keyed by `keys` (the last key is `year`)."""
    chk = _Checker(file, line_offset)
    if not chk.required(raw, keys):
        return None, chk.problems
    df = pd.DataFrame(index=raw.index)
    for k in keys[:-1]:
        df[k] = _strip_ids(raw[k])
    chk.missing_keys(df, keys[:-1])
    df["year"] = chk.years(raw)
    for c in raw.columns:
        if c not in keys:
            df[c] = chk.numeric(raw, c)
    check_finite(chk, df)
    if "population" in df:
        bad = df["population"].notna() & (df["population"] <= 0)
        if bad.any():
            chk.add("non-positive population", chk.lines(df.index[bad]), "population must be > 0")
    chk.duplicates(df, list(keys))
    if chk.problems:
        return None, chk.problems
    df["year"] = df["year"].astype(int)
    for k in keys[:-1]:
        df[k] = df[k].astype(str)
    return df.sort_values(list(keys), kind="mergesort").reset_index(drop=True), []


def check_finite(chk: _Checker, df: pd.DataFrame) -> None:
    """Every numeric column holds finite numbers only: `inf`, `-inf`, `Infinity` or an overflow
    such as `1e400` parse as numbers but cannot be a real count, rate or coordinate."""
    for c in df.columns:
        if c == "year" or not pd.api.types.is_float_dtype(df[c]):
            continue  # years are checked by their own range rule
        values = df[c].astype(float)
        bad = np.isinf(values.to_numpy())
        if bad.any():
            shown = _listing(sorted({_show(v) for v in values[bad]}))
            chk.add(
                "non-finite value",
                chk.lines(df.index[bad]),
                f"column {c!r} holds {shown}; values must be finite numbers",
            )


def check_coordinates(chk: _Checker, df: pd.DataFrame) -> None:
    """Latitudes within [-90, 90], longitudes within [-180, 180] (degrees)."""
    for column, (what, low, high) in COORDINATE_RANGES.items():
        if column not in df or not pd.api.types.is_numeric_dtype(df[column]):
            continue
        values = df[column].astype(float)
        bad = np.isfinite(values.to_numpy()) & ((values < low) | (values > high)).to_numpy()
        if bad.any():
            units = _listing(sorted(df.loc[bad, "unit_id"].astype(str).unique()))
            found = _listing(sorted({_show(v) for v in values[bad]}))
            chk.add(
                f"{what} outside {_show(low)}..{_show(high)}",
                chk.lines(df.index[bad]),
                f"column {column!r} holds {found} (units {units})",
            )


def suspicious_jumps(panel: pd.DataFrame, threshold: float = JUMP_THRESHOLD) -> list[str]:
    """Warn (one :class:`SuspiciousJumpWarning` per unit) where a target changes by more than
    `threshold` between consecutive observations of the unit. Returns the messages."""
    messages: list[str] = []
    for target in (t for t in TARGETS if t in panel):
        obs = panel.loc[panel[target].notna(), ["unit_id", "year", target]]
        prev = obs.groupby("unit_id")[target].shift()
        prev_year = obs.groupby("unit_id")["year"].shift()
        change = obs[target] / prev - 1
        flagged = obs.assign(prev=prev, prev_year=prev_year, change=change)
        flagged = flagged[change.abs() > threshold]
        for unit, rows in flagged.groupby("unit_id", sort=True):
            jumps = [
                f"{int(r.prev_year)}->{int(r.year)} {r.change:+.0%}"
                for r in rows.itertuples(index=False)
            ]
            msg = (
                f"unit {unit}: {target} changes by more than {threshold:.0%} between consecutive "
                f"observations ({_listing(jumps)}); check for a boundary or definition change"
            )
            messages.append(msg)
            warnings.warn(msg, SuspiciousJumpWarning, stacklevel=3)
    return messages


def units_without_rows(
    units: pd.DataFrame, panel: pd.DataFrame, file: str = "units.csv", panel_file: str = "panel"
) -> list[str]:
    """Warn (one :class:`UnitWithoutRowsWarning`) about the units that no panel row names: they
    would be left out of every forecast without a word. Returns the message (or nothing)."""
    absent = ~units.index.isin(panel["unit_id"].unique())
    if not absent.any():
        return []
    ids = list(units.index[absent])
    lines = _lines(pd.Index(np.flatnonzero(absent)), 2)
    msg = (
        f"{file}: {lines}: {len(ids)} unit(s) with no row in {panel_file} ({_listing(ids)}) get "
        "no forecast and no category; add their observations or remove them"
    )
    warnings.warn(msg, UnitWithoutRowsWarning, stacklevel=3)
    return [msg]


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise DataValidationError(problems)
