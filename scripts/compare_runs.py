"""Are two run folders' outputs the same? Byte-for-byte comparison of their CSV outputs.

Usage: python scripts/compare_runs.py RUN_A RUN_B [FILE ...]

Default files: the tables a decision reads (forecasts, categories, explanations) and the other
numeric outputs of a run (drivers, backtest, accuracy, interval calibration, scenarios). Prints
one line per file (identical / differs, with the first differing line) and exits 1 when any
differs or is missing. Used to show that a speed change leaves every number as it was.
"""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT = [
    "forecasts.csv",
    "categories.csv",
    "explanations.csv",
    "drivers.csv",
    "global_importance.csv",
    "dependence.csv",
    "sensitivity_summary.csv",
    "interval_calibration.csv",
    "backtest.csv",
    "accuracy.csv",
    "coverage_by_origin.csv",
    "components.csv",
    "scenarios.csv",
    "scenario_categories.csv",
]


def compare(a: Path, b: Path, name: str) -> tuple[bool, str]:
    fa, fb = a / name, b / name
    if not fa.exists() or not fb.exists():
        missing = ", ".join(str(f) for f in (fa, fb) if not f.exists())
        return False, f"missing: {missing}"
    la, lb = fa.read_bytes().splitlines(), fb.read_bytes().splitlines()
    if la == lb:
        return True, f"identical ({len(la):,} lines)"
    for i, (x, y) in enumerate(zip(la, lb, strict=False)):
        if x != y:
            return False, f"differs at line {i + 1}: {x[:80]!r} vs {y[:80]!r}"
    return False, f"differs in length: {len(la):,} vs {len(lb):,} lines"


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    a, b = Path(argv[0]), Path(argv[1])
    names = argv[2:] or DEFAULT
    ok = True
    for name in names:
        same, note = compare(a, b, name)
        ok &= same
        print(f"{name:28s} {note}")
    print("all identical" if ok else "DIFFERENCES")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
