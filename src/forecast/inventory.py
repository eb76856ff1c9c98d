"""What a dataset holds: the numbers `forecast validate` prints after the data contract passed."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .schema import TARGETS, Dataset


@dataclass
class Inventory:
    units: int
    regions: int
    rows: int
    first_year: int
    last_year: int
    distinct_years: int
    targets: pd.DataFrame  # one row per observed target
    indicators: list[str]
    attributes: list[str]
    extra_tables: list[str]  # one line per regions.csv / country.csv
    suspicious_jumps: int


def targets_table(panel: pd.DataFrame) -> pd.DataFrame:
    """Per observed target: units, observations, distinct years, first, last, and the median
    number of observations per unit."""
    rows = []
    for target in TARGETS:
        if target not in panel:
            continue
        obs = panel[panel[target].notna()]
        if obs.empty:
            continue
        rows.append(
            {
                "target": target,
                "units": obs["unit_id"].nunique(),
                "observations": len(obs),
                "years": obs["year"].nunique(),
                "first": int(obs["year"].min()),
                "last": int(obs["year"].max()),
                "obs_per_unit_median": float(obs.groupby("unit_id").size().median()),
            }
        )
    return pd.DataFrame(rows)


def inventory(data: Dataset) -> Inventory:
    p = data.panel
    extra = []
    for name, df in (("regions.csv", data.regions), ("country.csv", data.country)):
        if df is not None:
            cols = [c for c in df.columns if c not in ("region", "year")]
            extra.append(
                f"{name}: {len(df):,} rows, {int(df['year'].min())}-"
                f"{int(df['year'].max())}, columns {', '.join(cols)}"
            )
    return Inventory(
        units=len(data.units),
        regions=int(data.units["region"].nunique()),
        rows=len(p),
        first_year=int(p["year"].min()),
        last_year=int(p["year"].max()),
        distinct_years=int(p["year"].nunique()),
        targets=targets_table(p),
        indicators=list(data.indicators),
        attributes=[c for c in data.units.columns if c not in ("name", "region")],
        extra_tables=extra,
        suspicious_jumps=len(data.warnings),
    )
