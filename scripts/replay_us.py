"""Replay yearly retraining on the US county panel, one vintage a year (default 1996-2006).

    .venv/bin/python scripts/replay_us.py [--from 1996] [--to 2006] [--data ../shared/data/us_counties]

For each year Y it runs what `forecast retrain --as-of Y` runs (forecast.retrain.retrain): a
challenger trained on the panel up to Y, scored with the champion on the same backtest origins,
promoted or not by the config's promotion rule. Everything goes to a fresh MLflow store
(default `runs/replay_us/mlflow.db`, browse it with
`.venv/bin/mlflow ui --backend-store-uri sqlite:///runs/replay_us/mlflow.db`), so the first
vintage meets an empty registry and becomes champion. The summary is written to
`benchmarks/results/replay_us_counties.md`.

The engine config is a light one so that eleven vintages take well under an hour on two cores
(it is written into the summary in full): horizons 5 and 10 only, two calibration origins,
backtest origins 5 and 10 years before the as-of year, 150 trees, at most 200,000 training pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
US = ROOT.parent / "shared" / "data" / "us_counties"
POLICY = ROOT / "experiments" / "policy_us_counties.yaml"
OUT = ROOT / "benchmarks" / "results" / "replay_us_counties.md"
STORE = ROOT / "runs" / "replay_us"
LIGHT = {
    "horizons": [5, 10],
    "calibration_offsets": [5, 10],
    "backtest_offsets": [5, 10],
    "max_pairs": 200_000,
    "lightgbm": {"n_estimators": 150},
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=US)
    ap.add_argument("--from", dest="start", type=int, default=1996)
    ap.add_argument("--to", dest="end", type=int, default=2006)
    ap.add_argument("--store", type=Path, default=STORE, help="fresh folder for MLflow and runs")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--policy", type=Path, default=POLICY)
    ap.add_argument("--note", default="", help="a line for the summary (e.g. a local patch)")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: {args.data} not found (the US county panel is read in place)")
        return 1

    shutil.rmtree(args.store, ignore_errors=True)
    args.store.mkdir(parents=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{args.store.resolve() / 'mlflow.db'}"
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    warnings.simplefilter("ignore")  # data warnings were reviewed with the dataset

    from forecast.config import EngineConfig
    from forecast.retrain import retrain

    config = EngineConfig.model_validate(LIGHT)
    rows, started = [], time.perf_counter()
    for year in range(args.start, args.end + 1):
        t = time.perf_counter()
        res = retrain(
            args.data,
            year,
            config=config,
            policy_path=args.policy,
            runs_root=args.store / "runs",
            progress=lambda m, y=year: print(f"  [{y}] {m}", flush=True),
        )
        rows.append(row(res, time.perf_counter() - t))
        r = rows[-1]
        print(
            f"{year}: {r['decision']} (challenger v{r['challenger']}, champion before "
            f"{r['champion_before']}) in {r['seconds']:.0f}s: {r['reason']}",
            flush=True,
        )
    total = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(summary(rows, config, args, total), encoding="utf-8")
    (args.store / "replay.json").write_text(json.dumps(rows, indent=2, default=str))
    print(f"replay done in {total / 60:.1f} min; wrote {args.out}")
    return 0


def row(res, seconds: float) -> dict:
    d = res.decision
    ch, cp = d.challenger.scores, d.champion.scores if d.champion else None
    return {
        "vintage": d.challenger.as_of,
        "challenger": d.challenger.version,
        "champion_before": f"v{d.champion.version} ({d.champion.as_of})" if d.champion else "none",
        "age": d.age,
        "origins": ",".join(str(r["origin"]) for r in d.per_origin),
        "cells": ch.n if ch else 0,
        "challenger_mape": ch.mape if ch else None,
        "champion_mape": cp.mape if cp else None,
        "improvement_pct": d.improvement_pct,
        "challenger_coverage": ch.coverage if ch else None,
        "champion_coverage": cp.coverage if cp else None,
        "challenger_width": ch.width if ch else None,
        "decision": "promoted" if d.promoted else "kept",
        "reason": d.reason,
        "category_changes": len(res.changes),
        "seconds": round(seconds, 1),
        "timings": res.timings,
    }


def _f(v, spec: str) -> str:
    return "" if v is None or v != v else format(v, spec)


def summary(rows: list[dict], config, args, total: float) -> str:
    from forecast import __version__
    from forecast.tracking import git_commit, git_dirty

    rule = config.promotion
    lo, hi = rule.coverage_band
    head = (
        "| vintage | challenger | champion before (as of) | origin | cells | challenger MAPE "
        "| champion MAPE | improvement | challenger coverage | champion coverage | decision "
        "| categories changed | time |"
    )
    lines = [
        f"# Replay: yearly retraining on US counties, {rows[0]['vintage']}-{rows[-1]['vintage']}",
        "",
        f"Written by `scripts/replay_us.py` on {datetime.now(UTC):%Y-%m-%d} "
        f"(town-prospects {__version__}, commit {git_commit()[:10]}"
        f"{' plus uncommitted changes' if git_dirty() == 'true' else ''}). Data: "
        f"`{args.data.name}` read in place; policy `{args.policy.name}`.",
        "",
        *([args.note, ""] if args.note else []),
        "Each vintage Y is `forecast retrain --as-of Y`: a challenger trained on the panel up to "
        "Y and scored, together with the current champion, on the same backtest origin "
        f"(Y - 10) and the same counties, for population at +{rule.horizon or 10} years, with "
        "outcomes up to Y only. The champion's config is fitted at the origin minus its age "
        "(Y - its as-of year) and forecasts the same target year, since keeping it means "
        "serving forecasts that much older (see `src/forecast/retrain.py`). Promotion rule: "
        f"{rule.metric.upper()} at least {rule.min_improvement_pct:g}% (relative) lower than "
        f"the champion's, and the challenger's {config.level:.0%} interval coverage within "
        f"[{lo:.0%}, {hi:.0%}]"
        + (
            " or at least no further from the nominal level than the champion's on the same "
            "cells (keeping the champion would not give better intervals), with a tolerance of "
            f"{100 * rule.coverage_tolerance:g} points"
            if rule.coverage_fallback
            else ""
        )
        + ". The first vintage meets an empty registry and becomes champion.",
        "",
        head,
        "|" + "---:|" * 2 + "---|" + "---:|" * 7 + "---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['vintage']} | v{r['challenger']} | {r['champion_before']} | {r['origins']} "
            f"| {r['cells']} | {_f(r['challenger_mape'], '.2f')}% "
            f"| {_f(r['champion_mape'], '.2f')}{'%' if r['champion_mape'] is not None else ''} "
            f"| {_f(r['improvement_pct'], '+.1f')}{'%' if r['improvement_pct'] is not None else ''} "
            f"| {_f(r['challenger_coverage'], '.1%')} | {_f(r['champion_coverage'], '.1%')} "
            f"| **{r['decision']}** | {r['category_changes']} | {r['seconds']:.0f}s |"
        )
    lines += ["", "Why, vintage by vintage:", ""]
    lines += [f"- {r['vintage']}: {r['decision']}: {r['reason']}" for r in rows]
    promoted = [str(r["vintage"]) for r in rows if r["decision"] == "promoted"]
    margin = [str(r["vintage"]) for r in rows if "not better by the margin" in r["reason"]]
    coverage = [str(r["vintage"]) for r in rows if "coverage fails the rule" in r["reason"]]
    tenure = _tenures(rows)
    lines += [
        "",
        f"Kept because the challenger was not better by the margin: {', '.join(margin) or 'none'}"
        f"; because its coverage failed the rule: {', '.join(coverage) or 'none'}. Champion "
        "tenures (vintage: years it served): " + ", ".join(f"{v}: {n}" for v, n in tenure) + ".",
        "",
        f"Promoted vintages: {', '.join(promoted) or 'none'}. Final champion: "
        f"v{_final_champion(rows)}. Total time {total / 60:.1f} min on this machine "
        f"({os.cpu_count()} cores, single-threaded LightGBM).",
        "",
        "Categories changed: units whose category under the challenger differs from the "
        "champion's run (policy horizon 10 years, all counties categorised).",
        "",
        "## Engine config (light, for the replay)",
        "",
        "Overrides of the defaults: `" + json.dumps(LIGHT) + "`. Full config:",
        "",
        "```json",
        json.dumps(config.model_dump(mode="json"), indent=2),
        "```",
        "",
        "Reproduce: `.venv/bin/python scripts/replay_us.py` (the MLflow store is "
        "`runs/replay_us/mlflow.db`; `.venv/bin/mlflow ui --backend-store-uri "
        "sqlite:///runs/replay_us/mlflow.db`).",
    ]
    return "\n".join(lines) + "\n"


def _tenures(rows: list[dict]) -> list[tuple[int, int]]:
    """(vintage, number of replayed years it was champion) for every promoted vintage."""
    out: list[list[int]] = []
    for r in rows:
        if r["decision"] == "promoted":
            out.append([r["vintage"], 0])
        if out:
            out[-1][1] += 1
    return [(v, n) for v, n in out]


def _final_champion(rows: list[dict]) -> str:
    champ = None
    for r in rows:
        if r["decision"] == "promoted":
            champ = r["challenger"]
    return str(champ)


if __name__ == "__main__":
    sys.exit(main())
