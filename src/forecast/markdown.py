"""GitHub markdown tables: the one writer for results files (benchmark, reality check,
retraining decision, scripts)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def cell(value, floats: str = ".2f") -> str:
    """A table cell: floats with `floats`, missing as empty, `|` escaped as `/`."""
    if isinstance(value, float | np.floating):
        return "" if not np.isfinite(value) else format(value, floats)
    if value is None:
        return ""
    return str(value).replace("|", "/")


def table(
    df: pd.DataFrame,
    columns: list[str] | None = None,
    *,
    floats: str = ".2f",
    index: str | None = None,
) -> str:
    """`df` (its `columns`, default all) as a markdown table; numeric columns right-aligned.
    With `index`, the frame's index becomes a first column of that name."""
    if index is not None:
        df = df.rename_axis(index).reset_index()
        columns = [index, *(columns or [c for c in df.columns if c != index])]
    columns = list(df.columns) if columns is None else [c for c in columns if c in df.columns]
    head = "| " + " | ".join(map(str, columns)) + " |"
    rule = (
        "|"
        + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in columns)
        + "|"
    )
    body = [
        "| " + " | ".join(cell(v, floats) for v in row) + " |"
        for row in df[columns].itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])
