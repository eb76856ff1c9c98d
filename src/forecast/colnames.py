"""Column names an analyst meant as a contract column but wrote otherwise.

A dataset file may hold any column beyond the contract's (each becomes an indicator or an
attribute), so a misspelt `employmnet` or a `latitude` column is legal and would be read as one
more model feature while the target or the coordinates silently go missing. This module finds
such near misses; :mod:`forecast.schema` turns them into a hint on a missing required column or a
:class:`~forecast.errors.ColumnNameWarning` for an optional one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Names used for a contract column that no spelling distance would catch.
ALIASES = {
    "latitude": "lat",
    "lattitude": "lat",
    "longitude": "lon",
    "lng": "lon",
    "long": "lon",
    "parent": "parent_id",
    "id": "unit_id",
    "unit": "unit_id",
    "pop": "population",
}
MIN_LENGTH = 6  # shorter names are compared through ALIASES and case only
MAX_EDITS = 2


def _plain(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", str(name).lower())


def edits(a: str, b: str) -> int:
    """Letters inserted, deleted, replaced or swapped with a neighbour to turn a into b."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[len(b)]


def meant(name: str, column: str) -> bool:
    """Whether a header `name` (not exactly `column`) looks written for the contract `column`."""
    if name == column:
        return False
    plain, target = _plain(name), _plain(column)
    if plain == target or ALIASES.get(plain) == column:
        return True
    if len(target) < MIN_LENGTH or target in plain:
        return False  # `unemployment` holds `employment` and is another variable
    return edits(plain, target) <= MAX_EDITS


def near_misses(names: Iterable[str], columns: Iterable[str]) -> dict[str, str]:
    """For each contract column absent from `names`, the first name that looks meant for it."""
    names = [str(n) for n in names]
    found: dict[str, str] = {}
    for column in columns:
        if column in names:
            continue
        match = next((n for n in names if meant(n, column)), None)
        if match is not None:
            found[column] = match
    return found
