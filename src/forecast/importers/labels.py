"""The data files that tell the Bureau (BNS) importer what a printed row or workbook means.

`resources/bns_labels.csv` maps a row label (a case-insensitive regular expression searched in the
label as printed, with footnote markers removed and a sub-row joined to its parent as
"parent | sub") to a panel variable, a unit multiplier and a kind (stock, flow, average). A rule
with an empty variable marks a label as known but not imported. `resources/bns_regions.csv` maps a
workbook's file-name prefix to the current (2022) region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import pandas as pd

LFS_AUTO = "lfs"  # the multiplier of a labour-table block is read from the block itself


@dataclass(frozen=True)
class LabelRule:
    layout: str
    pattern: re.Pattern
    variable: str
    multiplier: str
    kind: str


@dataclass(frozen=True)
class Region:
    prefix: str
    name: str
    code: str
    formed_from: str
    formed_year: int | None


def _resource(name: str) -> pd.DataFrame:
    path = resources.files("forecast") / "resources" / name
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def load_label_rules() -> list[LabelRule]:
    """The label rules in file order (the first matching rule wins)."""
    df = _resource("bns_labels.csv")
    return [
        LabelRule(
            r.layout,
            re.compile(r.pattern, re.IGNORECASE),
            r.variable,
            r.multiplier,
            r.kind,
        )
        for r in df.itertuples(index=False)
    ]


def load_regions() -> dict[str, Region]:
    df = _resource("bns_regions.csv")
    return {
        r.file_prefix: Region(
            r.file_prefix,
            r.region,
            r.code,
            r.formed_from,
            int(r.formed_year) if r.formed_year else None,
        )
        for r in df.itertuples(index=False)
    }


def match_label(rules: list[LabelRule], layout: str, label: str) -> LabelRule | None:
    """The first rule of `layout` whose pattern occurs in `label`, or None (an unknown label)."""
    for rule in rules:
        if rule.layout == layout and rule.pattern.search(label):
            return rule
    return None
