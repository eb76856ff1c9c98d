"""Scenario benchmark on the Kazakh default: run time of the example file, zero events, sweep.

    .venv/bin/python benchmarks/scenarios_kz.py [--data kz_annual] [--scenarios FILE]
        [--runs-dir DIR] [--no-cold]

1. Without --runs-dir: `forecast run` (no MLflow) on the dataset into a temporary runs folder,
   timed (the run `forecast scenario` reuses; done once per data and engine config).
2. `forecast scenario` (no MLflow) with the scenario file, reusing that run's baseline, timed:
   the number the issue's "10 scenarios in under 30 s" is about.
3. Unless --no-cold: the same with --refit (no run to reuse: fits the engine, SHAP of the policy
   target at the policy horizon only), timed.
4. On the baseline, for every monotown: a zero-size event of each kind reproduces the baseline
   exactly, and a sweep of cuts (0-90% of employment, in steps of 5%, single and phased) never
   gives a larger population in any year.
Writes benchmarks/results/scenarios_<dataset>.md (merged into benchmarks/results/scenarios.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
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
OUT = ROOT / "benchmarks" / "results" / "scenarios_kz_annual.md"


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


def _timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=io.BUNDLED_DEFAULT)
    ap.add_argument("--scenarios", default=str(ROOT / "experiments" / "scenarios.yaml"))
    ap.add_argument("--runs-dir", default="", help="reuse the runs under this folder")
    ap.add_argument("--no-cold", action="store_true", help="skip the timing with --refit")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    spec_path = Path(args.scenarios)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = io.read_dataset(args.data)
    out = Path(args.out) if args.out else OUT.parent / f"scenarios_{data.name}.md"
    cfg = pipeline.load_engine_config(dataset=data.name)
    policy, _ = pipeline.resolve_policy(None)
    timing = []
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore")
        root = Path(args.runs_dir) if args.runs_dir else Path(tmp)
        if not args.runs_dir:
            ran, secs = _timed(
                lambda: pipeline.run(args.data, config=cfg, runs_root=root, track=False)
            )
            timing.append(
                ("`forecast run` (once: fit, SHAP of every year, backtest, report)", secs, "")
            )

        def scen(reuse: bool):
            return scenario_run.run(
                args.data,
                spec_path,
                config=cfg,
                policy=policy,
                runs_root=root,
                track=False,
                reuse=reuse,
            )

        res, total = _timed(lambda: scen(True))
        if res.baseline_run is None:
            raise SystemExit(f"no run to reuse under {root}: {args.data} was fitted again")
        if args.runs_dir:  # the reused run's own stages, from its run.json
            meta = json.loads((res.baseline_run / "run.json").read_text(encoding="utf-8"))
            secs = meta.get("timings_s", {})
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in secs.items())
            timing.insert(
                0,
                (
                    f"`forecast run` reused ({res.baseline_run.name}; {stages})",
                    sum(secs.values()),
                    "",
                ),
            )
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in res.timings.items())
        timing.append(
            (f"**`forecast scenario`, reusing the run's baseline** ({stages})", total, "")
        )
        cli = [str(Path(sys.executable).parent / "forecast"), "scenario", "--data", args.data]
        cli += ["--scenarios", str(spec_path), "--runs-dir", str(root), "--no-track"]
        done, secs = _timed(lambda: subprocess.run(cli, capture_output=True, text=True))
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cli)} failed: {done.stdout[-500:]}{done.stderr[-500:]}")
        timing.append(
            (
                "the same as a command, `forecast scenario --no-track` (Python start-up included)",
                secs,
                "",
            )
        )
        if not args.no_cold:
            cold, secs = _timed(lambda: scen(False))
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in cold.timings.items())
            timing.append((f"`forecast scenario --refit` (no run to reuse; {stages})", secs, ""))
        baseline = pd.read_csv(res.out_dir / "forecasts.csv", dtype={"unit_id": str})
        cats = res.categories
    spec = load_scenarios(spec_path)
    units = sorted(cats["unit_id"].unique())
    first = data.last_year + 2
    last = int(baseline["year"].max())
    checks = sweep(baseline, units, res.response, first, last)
    changed = cats[cats["changed"]]
    robust = scenario_run.robust_units(cats)
    th = policy.thresholds
    lines = [
        f"## Kazakh {'default ' if data.name == io.BUNDLED_DEFAULT else ''}({data.name}): "
        "run time, zero events, sweep",
        "",
        f"- command: `.venv/bin/python benchmarks/scenarios_kz.py --data {args.data}"
        + (f" --runs-dir {args.runs_dir}" if args.runs_dir else "")
        + (" --no-cold" if args.no_cold else "")
        + "`",
        f"- date: {date.today()}; machine: {platform.machine()}, Python "
        f"{platform.python_version()} (shared 2-core machine, other jobs running, "
        f"load average {os.getloadavg()[0]:.1f} at the end)",
        f"- scenario file: `{spec_path.relative_to(ROOT) if spec_path.is_relative_to(ROOT) else spec_path}`"
        f" ({len(spec.scenarios)} scenarios, events: "
        f"{', '.join(sorted({e.type for s in spec.scenarios for e in s.events}))}); "
        f"{data.units.shape[0]} units, policy on {len(units)}",
        f"- response: {res.response.group} (effect after 0..{res.response.lags} years: "
        + ", ".join(f"{e:.3f}" for e in res.response.effect)
        + f"), heterogeneity {spec.response.heterogeneity}",
        "",
        "| step | seconds |",
        "|---|---|",
        *[f"| {name} | {secs:.1f} |" for name, secs, _ in timing],
        "",
        "| check | result |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in checks.items()],
        "",
        f"Category changes: {len(changed)}; towns robust to all scenarios: "
        f"{int(robust['robust'].sum())} of {len(robust)}.",
        "",
        f"| scenario | town | baseline | under the scenario | P(< {th.decline_pct:+.0f}%) | "
        f"P(between) | P(>= {th.growth_pct:+.0f}%) | change to +{policy.horizon} (baseline) |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {r.scenario} | {r.name} | {r.baseline_category} | {r.category} | "
            f"{r.p_decline:.2f} ({r.baseline_p_decline:.2f}) | {r.p_stabilize:.2f} | "
            f"{r.p_growth:.2f} | {r.change_pct:+.1f}% ({r.baseline_change_pct:+.1f}%) |"
            for r in changed.itertuples()
        ],
        "",
    ]
    text = "\n".join(lines)
    out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
