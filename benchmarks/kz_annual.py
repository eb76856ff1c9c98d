"""Benchmark on the Kazakh annual panel (data/kz_annual): population, employment, shock origin,
run time. Writes benchmarks/results/kz_annual.md (and the per-forecast rows as .csv.gz).

    nice -n 10 .venv/bin/python benchmarks/kz_annual.py [--data kz_annual] [--config FILE]
        [--out benchmarks/results/kz_annual.md] [--no-run-timing] [--origins 1999,2004,2009]

Rolling origins, every one fitted on data cut at the origin (calibration and combination
weights from earlier origins only):
- tuning origins 1999, 2004, 2009 (the only ones looked at while choosing settings);
- held-back test origins 2014 and 2019: population at +5 (both) and +10 (2014);
- shock origins 1994 and 1996 (+5): the years of the post-Soviet emigration;
- employment (labour force survey, mostly from 2014): origins 2019-2023, +1..+5 as far as
  outcomes exist (to 2024).
Aggregates count top-level units only (no person twice: forecast.hierarchy); the monotowns are
scored separately on their decision units (one per town, nested or not).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from forecast import __version__, hierarchy, io  # noqa: E402
from forecast import backtest as bt  # noqa: E402
from forecast.baselines import BASELINES  # noqa: E402
from forecast.benchmark import _machine, _table  # noqa: E402
from forecast.pipeline import engine_config_path, load_engine_config  # noqa: E402

TUNE = [1999, 2004, 2009]
TEST = [2014, 2019]
SHOCK = [1994, 1996]
EMP_ORIGINS = [2019, 2020, 2021, 2022, 2023]
POP_CELLS = [(2014, 5), (2019, 5), (2014, 10)]
TREND = tuple(b for b in BASELINES if b != "naive")


NOTES = [
    "## What was tried (tuning origins 1999, 2004, 2009 only)",
    "",
    "Mean over the six population cells of top-level units at the tuning origins of MAPE / best "
    "baseline (in brackets: the LightGBM part alone), issue-11 engine. The previous setting "
    "(five members, learned weights) 1.031 (2.26), bias +0.5 to -4.4, coverage 0.93. The model "
    "alone under-forecast by 12-24% at 1999 and 2009: the census re-basings (1999, 2009; mean "
    "relative growth of the districts -2.9% and -4.9% in those years against about -1% in the "
    "others) were learned as decline, by the training pairs across them and by the growth "
    "features at the anchors just after them. Splicing the series the model learns from across "
    "the re-basings (`rebasing_years`, forecast.rebasing; baselines and scores keep the "
    "published values) took the model to 1.11 (bias -1.5 to -7.5). Dropping features whose "
    "availability differs between training pairs and anchors (`feature_consistency` 0.3: "
    "labour survey, regional totals, long growth spans) gave 1.75 alone and 1.17 with the "
    "splice (worse: not used); the national LIN/EXP projection instead of the chosen one 1.23 "
    "(not used). Combination: learned weights over five members 1.022, model + average + naive "
    "with shrinkage 0.5 1.001, with equal weights 0.958 (chosen); weights learned on the nested "
    "units' own calibration residuals changed the monotowns by 0.002 (dropped). Intervals: the "
    "calibration origins (2, 5 and 10 years back) put the +5 and +10 residuals of a census-year "
    "origin exactly on the previous census year, so calm origins got re-basing-wide intervals "
    "and origins before a census calm ones; residuals are now cleaned of the units' past "
    "re-basing breaks and a break drawn from them is added with probability span / 10 "
    "(`rebasing_risk_period`): widths -5 to -11 points at the tuning origins, coverage 0.93 "
    "either way (national half-life 5 instead of 10: no change). The remaining width comes "
    "from calibration models fitted on little history (plain conformal: 0.95).",
    "",
    "Session 4 (issue 11; same tuning origins; mean 80% coverage / median width in points over "
    "the six top-level cells, scored on cached forecasts and calibration residuals, the same "
    "numbers this script gives; point forecasts do not move with interval settings: ratio "
    "0.958, |bias| 1.8). Session-3 file 0.931 / 45.8. National errors' half-life 5 or 20: "
    "0.931 / 47.2, 0.926 / 44.6; `interval_relative: total` 0.951 / 55.7; plain conformal "
    "0.939 / 51.3; eight calibration origins (2.7x the fits) 0.916 / 44.7; re-basing period "
    "20 0.922 / 44.2. Used: the calibration residuals net of the median error of all units at "
    "the same calibration origin and span (`interval_relative: net_of_unit_mean`; the "
    "districts' common error did not follow the national series, e.g. at 2009 the realised "
    "national error was +6% and the net-of-national residuals wider than the whole ones) "
    "0.927 / 42.6, and the next census 8-12 years after the last re-basing instead of "
    "'somewhere every 10 years' (`rebasing_census_window`, forecast.census_calendar) "
    "0.924 / 41.1 (monotowns 0.93 -> 0.90). Not used: span exponent 0.7 / 0.5 (0.911 / 38.8, "
    "0.903 / 37.1: the national backtest's errors grow like horizon^0.96-1.04, so a smaller "
    "exponent would understate them); asymmetric intervals 0.863 / 36.3 (they carry the "
    "calibration decades' bias forward, and its sign flips between decades); members [model, "
    "naive] (monotowns 0.974, top level 1.018) or [model, lin_exp, naive] (top level 0.936, "
    "|bias| 2.5, monotowns 1.061). National projection: the recency-weighted choice takes "
    "LIN/EXP at 1994, damped 1996-2009, no change at 2014, drift at 2019; the unweighted "
    "backtest of the national series since 1960 between no change and the damped trend "
    "(`reference_method: long_backtest`, forecast.national) takes the damped trend at every "
    "origin 1994-2024; identical at the tuning origins, so chosen on its own backtest, not on "
    "theirs. 1994: its only calibration origin (1992) has no training pair, so no interval; "
    "now the districts' one-year relative changes 1992-94 plus the national backtest errors "
    "(`short_history_intervals: one_year_changes_shared`), and equal weights (shrinkage 1) "
    "before any calibration (the model alone before). 1994 was looked at while enabling its "
    "interval (priority of the session), and 1994/1996 once with the settings fixed just "
    "before this run; 2014/2019 only in this run.",
    "",
    "Session 5 (issue 11 bias, issue 12 diversify; same tuning origins; "
    "benchmarks/results/kz_rebasing.md). Hypothesis: the point forecast never expects the "
    "census re-basing that the published outcomes carry. The units' breaks relative to the "
    "national one have a steady mean (-2.6%, -3.7%, -3.2% at 1999, 2009, 2022) but no unit "
    "pattern: a unit's break does not repeat at the next census (correlation 1999->2009 -0.16, "
    "2009->2022 0.11; districts -0.17, 0.05), and its own past breaks shrunk toward the mean "
    "predict the 2009 breaks worse than the pooled mean (mean absolute error 7.2-8.5 against "
    "6.9 points; none 7.7); size explains nothing in 1999 (correlation 0.01). Adding the "
    "pooled mean (or median, or size line, or national + mean) x the chance of a re-basing "
    "within the span to the published forecast made the tuning origins worse: ratio 0.958 -> "
    "0.964-0.974, |bias| 1.80 -> 2.2-3.0, monotowns 1.013 -> 1.03-1.06 (the forecasts there "
    "already under-forecast, and 2009 +10 expects a census the 2019 plan had but which came in "
    "2021). Not used; the point forecast is unchanged. One re-basing timer: "
    "`census_calendar.CensusWindow` stays (explicit window, also without a known last "
    "re-basing); the detected re-basings' `NextRebasing` (8-13 years after the last) is "
    "removed, the detected path now uses a CensusWindow of period - 2 .. period + 3 (the same "
    "chance except once overdue: then the next year, not span / period). [8, 13] instead of "
    "the config's [8, 12] at the tuning origins: coverage 0.918 vs 0.924, median width 40.9 vs "
    "41.1 points (kept [8, 12]). Outputs of this config unchanged by the refactor (the "
    "tuning-origin rows identical). The held-back origins were looked at once, in this run "
    "with the settings committed: every table below is as in session 4.",
    "",
    "Session 5, monotowns (issue 11; issue 12 decliners). What a nested town sees: its own "
    "series is census points (1999, 2009; some Soviet ones) and the Bureau's town sheet "
    "from 2011, so at 2010 its anchor is the 2009 census (Ridder: 1999, its 2009 census is "
    "excluded as rounded), the 10-year base of the trend baselines is the 1999 census up to "
    "2019, and the sheet's territory is not always the census city proper (Stepnogorsk "
    "46,712 at the 2009 census, 68,600 on the 2014 sheet; Satpayev 60,105 / 70,200), so "
    "`average` extrapolated territory breaks; the model never trains on nested units. Their "
    "intervals are the top-level units' calibrated ones at the same span and size (the "
    "short-history path serves only 1994): coverage 1.00 at 2014 because the towns' 2014-19 "
    "changes were calm (no change missed by 3.3%) against district residuals that carry "
    "boundary changes, and the +10 interval carries the 2021 re-basing risk; 0.79 at 2019 "
    "+5, which crosses that re-basing. Tuning origins 1999, 2004, 2009, mean over the six "
    "monotown cells of MAPE / best baseline (published 1.013; top-level units never move): "
    "the parent member (the town's anchor times its parent administration's forecast growth "
    "since the town's anchor year, forecast.nested) blended into the published forecast at "
    "weight 0.25 / 0.5 / 0.75 / 1: 1.003 / 1.007 / 1.011 / 1.015; nested towns' members "
    "replaced by parent + average + naive 0.984, model + naive + parent 0.999, parent + "
    "naive 0.953 (used: `nested_members: {population: [parent, naive]}`, town-proper units "
    "only: Astana's inner-city districts, not decision units, got worse); the parent "
    "observed within 2 years of the town's anchor instead of at it (Ridder) 0.954 (not "
    "used). For the towns without a parent series (Kostanay, Aktobe, Atyrau hosts; "
    "Kurchatov) the region's trend instead (CSP-VSG + no change) 1.021 (not used: the "
    "published combination stays). An exploratory look at the towns' growth against their "
    "parents' realised growth (origins 2009-2019, so including test years) suggested the "
    "member; the choice among variants used the tuning origins only. The towns' other "
    "populations in ../shared/data/kz add nothing clean: the census points of the same "
    "territory are in the panel already, the inter-census estimates (Temirtau 2003-2008: "
    "159-163 thousand against 169,590 at the 2009 census) carry the re-basing the splice "
    "removes elsewhere, Ridder's 2009 census is marked doubtful. Held-back 2014/2019 looked "
    "at once with the setting fixed: monotowns 2014 +5 1.13 -> 0.83, 2019 +5 0.91 -> 0.90, "
    "2014 +10 1.11 -> 1.00; bias -0.6 -> -0.5, +3.2 -> +3.1, +2.1 -> +1.2; coverage "
    "unchanged. The 12 monotown decliners of issue 12 (+10 from 2010-2014): only "
    "Serebryansk moves (2010 / 2011 / 2013: -7.4 / -7.5 / -7.9% -> -6.7 / -7.9 / -6.5%; the "
    "parent member alone -13.0 / -15.1 / -12.6%; realised -13.2 / -19.6 / -24.4%). "
    "Priozersk and Saran (6 rows) are top-level administrations whose fall is the 2021 "
    "census re-basing (-19% / -17% at 2022); Lisakovsk and Kurchatov have no parent "
    "population series; Ridder at 2010 is anchored at its 1999 census and its "
    "administration's series starts in 2001.",
    "",
]


def _cells(res: pd.DataFrame, cells, target: str, top_level_only: bool) -> pd.DataFrame:
    rows = []
    for origin, h in cells:
        r = res[(res["target"] == target) & (res["origin"] == origin) & (res["horizon"] == h)]
        if r.empty:
            continue
        m = bt.metrics(
            r, ["target"], ("combined", "model", *BASELINES), top_level_only=top_level_only
        )
        if m.empty:
            continue
        comb = m[m["method"] == "combined"].iloc[0]
        model = m[m["method"] == "model"]
        base = m[m["method"].isin(BASELINES)].set_index("method")
        trend = base.loc[base.index.isin(TREND), "mape"]
        rows.append(
            {
                "origin": origin,
                "horizon": h,
                "n": int(comb["n"]),
                "mape": comb["mape"],
                "best_baseline": base["mape"].idxmin(),
                "best_baseline_mape": base["mape"].min(),
                "ratio_best": comb["mape"] / base["mape"].min(),
                "ratio_naive": comb["mape"] / base.loc["naive", "mape"],
                "best_trend": trend.idxmin(),
                "ratio_trend": comb["mape"] / trend.min(),
                "malpe": comb["malpe"],
                "model_ratio": model["mape"].iloc[0] / base["mape"].min() if len(model) else np.nan,
                "model_bias": model["malpe"].iloc[0] if len(model) else np.nan,
                "coverage": comb.get("coverage", np.nan),
                "width_pct": comb.get("width_pct", np.nan),
            }
        )
    return pd.DataFrame(rows)


def _verdict(t: pd.DataFrame) -> pd.DataFrame:
    if t.empty:
        return t
    t = t.copy()
    t["ratio<=0.90"] = np.where(t["ratio_best"] <= 0.90, "met", "not met")
    t["|bias|<=2"] = np.where(t["malpe"].abs() <= 2, "met", "not met")
    t["cov 75-85%"] = np.where(t["coverage"].between(0.75, 0.85), "met", "not met")
    return t


POP_COLS = [
    "origin",
    "horizon",
    "n",
    "mape",
    "best_baseline",
    "best_baseline_mape",
    "ratio_best",
    "malpe",
    "model_ratio",
    "model_bias",
    "coverage",
    "width_pct",
    "ratio<=0.90",
    "|bias|<=2",
    "cov 75-85%",
]
EMP_COLS = [
    "origin",
    "horizon",
    "n",
    "mape",
    "ratio_naive",
    "best_trend",
    "ratio_trend",
    "malpe",
    "coverage",
    "width_pct",
]


def _by_size(res: pd.DataFrame, cells, keep: pd.Index) -> pd.DataFrame:
    frames = []
    sub = res[res["unit_id"].isin(keep)]
    for label, g in sub.groupby("size_class", sort=False):
        t = _cells(g, cells, "population", top_level_only=False)
        if not t.empty:
            frames.append(t.assign(size_class=label))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def _time_run(data: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{tmp}/mlflow.db")
        cmd = [str(ROOT / ".venv" / "bin" / "forecast"), "run", "--data", data, "--runs", tmp]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"forecast run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return {"wall_s": wall, "cpu_s": cpu, "load_before": load}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="kz_annual")
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "kz_annual.md")
    ap.add_argument("--no-run-timing", action="store_true")
    ap.add_argument(
        "--origins",
        default=None,
        help="comma-separated subset of the origins while developing, e.g. 1999,2004,2009 (the "
        "tuning origins); the tables show what those origins have. Use with --out elsewhere",
    )
    args = ap.parse_args()

    cfg = load_engine_config(args.config, dataset=args.data)
    cfg_file = args.config or engine_config_path(args.data)
    data = io.read_dataset(args.data)
    start = time.perf_counter()
    origins = sorted({*SHOCK, *TUNE, *TEST, *EMP_ORIGINS})
    if args.origins:
        origins = sorted({int(o) for o in args.origins.split(",")})
    res = bt.rolling_origin(
        data, origins, list(range(1, 11)), cfg, progress=lambda m: print(m, flush=True)
    )
    res = bt.with_groups(res, data.units, cfg.size_breaks)
    seconds = time.perf_counter() - start
    decision = hierarchy.decision_units(data.units)
    mono = res[res["unit_id"].isin(decision)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    res.to_csv(args.out.with_suffix(".csv.gz"), index=False, float_format="%.6g")

    def pop(frame, cells, top):
        return _verdict(_cells(frame, cells, "population", top))

    tune_cells = [(o, h) for o in TUNE for h in (5, 10)]
    emp_cells = [(o, h) for o in EMP_ORIGINS for h in range(1, 6)]
    timing = None if args.no_run_timing else _time_run(args.data)
    cmd = "nice -n 10 .venv/bin/python benchmarks/kz_annual.py" + (
        f" --data {args.data}" if args.data != "kz_annual" else ""
    )
    n_top = len(hierarchy.top_level(data.units))
    n_nested = len(decision.difference(hierarchy.top_level(data.units)))
    out = [
        f"# Benchmark: {data.name} (Kazakh annual panel)",
        "",
        f"- command: `{cmd}`",
        f"- date: {date.today().isoformat()}; town-prospects {__version__}; machine: {_machine()}",
        f"- backtest time: {seconds:.0f} s for {len(origins)} origins ({', '.join(map(str, origins))})",
        f"- units: {len(data.units)} ({n_top} top-level units partition the country; "
        f"{len(decision)} monotown decision units, {n_nested} of them nested)",
        f"- engine: {Path(cfg_file).relative_to(ROOT) if cfg_file else 'defaults'} (combine={cfg.combine_members}, "
        f"shrinkage={cfg.combine_shrinkage}, calibration_offsets={cfg.calibration_offsets}, "
        f"level={cfg.level})",
        f"- settings chosen on origins {', '.join(map(str, TUNE))} only; test origins "
        f"{', '.join(map(str, TEST))}",
        "",
        "MAPE and MALPE (bias, + = over-forecast) in percent of the actual; `ratio_best` = MAPE of "
        "the published (combined) forecast / MAPE of the best of the six baselines "
        f"({', '.join(BASELINES)}) on the same rows; coverage and median width of the "
        f"{cfg.level:.0%} interval. Targets (issue 9): ratio <= 0.90, |bias| <= 2 points, "
        "coverage 75-85%.",
        "",
    ]
    out += NOTES
    if timing:
        met = "met" if timing["wall_s"] < 60 else "not met"
        out += [
            "## `forecast run` on the default dataset",
            "",
            f"- wall time {timing['wall_s']:.0f} s, CPU time {timing['cpu_s']:.0f} s "
            f"(target < 60 s on 2 cores: {met}); load average before the run "
            f"{timing['load_before']:.1f} on {os.cpu_count()} cores (the machine is shared)",
            "",
        ]
    out += [
        "## Population, held-back test: top-level units (all districts and cities)",
        "",
        _table(pop(res, POP_CELLS, True), POP_COLS),
        "",
        "## Population, held-back test: the 27 monotowns (decision units)",
        "",
        _table(pop(mono, POP_CELLS, False), POP_COLS),
        "",
        "## Population, held-back test: monotowns by size class (population at the origin)",
        "",
        _table(_verdict(_by_size(res, POP_CELLS, decision)), ["size_class", *POP_COLS[:12]]),
        "",
        "## Population, held-back test: top-level units by size class",
        "",
        _table(
            _verdict(_by_size(res[res["top_level"]], POP_CELLS, res["unit_id"].unique())),
            ["size_class", *POP_COLS[:12]],
        ),
        "",
        f"## Shock origins {', '.join(map(str, SHOCK))} (+5): coverage and bias as measured",
        "",
        "Top-level units:",
        "",
        _table(pop(res, [(o, 5) for o in SHOCK], True), POP_COLS[:12]),
        "",
        "Monotowns:",
        "",
        _table(pop(mono, [(o, 5) for o in SHOCK], False), POP_COLS[:12]),
        "",
        "## Employment (labour force survey, employed persons): as measured",
        "",
        "`ratio_naive` = MAPE / MAPE of no change; `ratio_trend` = MAPE / MAPE of the best trend "
        f"baseline ({', '.join(TREND)}).",
        "",
        "Top-level units:",
        "",
        _table(_cells(res, emp_cells, "employment", True), EMP_COLS),
        "",
        "Monotowns (decision units with employment of their own):",
        "",
        _table(_cells(mono, emp_cells, "employment", False), EMP_COLS),
        "",
        "## Tuning origins (seen while choosing settings; context only)",
        "",
        "Top-level units:",
        "",
        _table(pop(res, tune_cells, True), POP_COLS[:12]),
        "",
        "Monotowns:",
        "",
        _table(pop(mono, tune_cells, False), POP_COLS[:12]),
        "",
    ]
    args.out.write_text("\n".join(out), encoding="utf-8")
    print("\n".join(out))


if __name__ == "__main__":
    main()
