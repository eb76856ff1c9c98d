"""Scenario benchmark on the Kazakh default: run time of the example file, zero events, sweep.

    .venv/bin/python benchmarks/scenarios_kz.py [--data kz_towns] [--scenarios FILE]

1. Runs `forecast scenario` (no MLflow) on the dataset with the scenario file and times it.
2. On the baseline of that run, for every monotown: a zero-size event of each kind reproduces
   the baseline exactly, and a sweep of cuts (0-90% of employment, in steps of 5%, and the same
   as a closure and as phased jobs) never gives a larger population in any year.
Writes benchmarks/results/scenarios_kz.md (merged into benchmarks/results/scenarios.md).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from forecast import io, pipeline, scenario_run
from forecast.scenario_apply import apply
from forecast.scenarios import EmploymentShock, Move, load_scenarios

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "scenarios_kz.md"


def sweep(baseline: pd.DataFrame, units: list[str], response, first: int, last: int) -> dict:
    """Zero events and cut sweeps on every unit; counts of violations."""
    checks = violations = zero_checks = zero_fail = 0
    pop = baseline[baseline["target"] == "population"]
    for unit in units:
        rows = pop[pop["unit_id"] == unit]
        if rows.empty:
            continue
        base = rows[["forecast", "lower", "upper"]].to_numpy()
        other = "Astana" if unit != "Astana" else "Almaty"
        zero = {
            "jobs": [EmploymentShock("z", unit, first, 0.0, 0.0)],
            "moves": [Move("z", unit, other, first, last, 0.0, 0.01)],
        }
        for name, events in zero.items():
            shocks = events if name == "jobs" else []
            moves = events if name == "moves" else []
            out = apply(rows, shocks, moves, response, ["z"], 0.8, 0.5).forecasts["z"]
            zero_checks += 1
            zero_fail += int(
                not np.array_equal(out[["forecast", "lower", "upper"]].to_numpy(), base)
            )
        for phased in (1, 3):
            prev = None
            for cut in np.arange(0, 0.95, 0.05):
                step = np.log(1 - cut) / phased
                shocks = [
                    EmploymentShock("c", unit, first + k, step, np.nan) for k in range(phased)
                ]
                out = apply(rows, shocks, [], response, ["c"], 0.8, 0.5).forecasts["c"]
                now = out["forecast"].to_numpy()
                if prev is not None:
                    checks += len(now)
                    violations += int((now > prev).sum())
                prev = now
    return {
        "units": len(units),
        "zero_event_checks": zero_checks,
        "zero_event_differs": zero_fail,
        "sweep_comparisons": checks,
        "larger_cut_larger_population": violations,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=io.BUNDLED_DEFAULT)
    ap.add_argument("--scenarios", default=str(ROOT / "experiments" / "scenarios.yaml"))
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    spec_path = Path(args.scenarios)
    cfg = pipeline.load_engine_config()
    policy, _ = pipeline.resolve_policy(None)
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        res = scenario_run.run(
            args.data, spec_path, config=cfg, policy=policy, runs_root=Path(tmp), track=False
        )
        total = time.perf_counter() - t0
        baseline = pd.read_csv(res.out_dir / "forecasts.csv", dtype={"unit_id": str})
        cats = res.categories
        data = io.read_dataset(args.data)
    spec = load_scenarios(spec_path)
    units = sorted(cats["unit_id"].unique())
    first = data.last_year + 2
    last = int(baseline["year"].max())
    checks = sweep(baseline, units, res.response, first, last)
    changed = cats[cats["changed"]]
    robust = scenario_run.robust_units(cats)
    lines = [
        f"## Kazakh default ({data.name}): run time, zero events, sweep",
        "",
        f"- command: `.venv/bin/python benchmarks/scenarios_kz.py --data {args.data}`",
        f"- date: {date.today()}; machine: {platform.machine()}, Python "
        f"{platform.python_version()} (shared 2-core machine, other jobs running)",
        f"- scenario file: `{spec_path.relative_to(ROOT) if spec_path.is_relative_to(ROOT) else spec_path}`"
        f" ({len(spec.scenarios)} scenarios, events: "
        f"{', '.join(sorted({e.type for s in spec.scenarios for e in s.events}))})",
        f"- whole `forecast scenario` (validate, fit, explain, scenarios, write): **{total:.1f} s**; "
        "stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in res.timings.items()),
        f"- response: {res.response.group} (effect after 0..{res.response.lags} years: "
        + ", ".join(f"{e:.3f}" for e in res.response.effect)
        + f"), heterogeneity {spec.response.heterogeneity}",
        "",
        "| check | result |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in checks.items()],
        "",
        f"Category changes: {len(changed)}; towns robust to all scenarios: "
        f"{int(robust['robust'].sum())} of {len(robust)}.",
        "",
        "| scenario | town | baseline | under the scenario | confidence | change to +10 (baseline) |",
        "|---|---|---|---|---|---|",
        *[
            f"| {r.scenario} | {r.name} | {r.baseline_category} | {r.category} | "
            f"{r.confidence:.2f} | {r.change_pct:+.1f}% ({r.baseline_change_pct:+.1f}%) |"
            for r in changed.itertuples()
        ],
        "",
    ]
    text = "\n".join(lines)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
