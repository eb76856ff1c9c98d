"""Choosing the regime scaling of the intervals (issue 11, forecast.regime) on tuning origins.

    nice -n 10 .venv/bin/python benchmarks/regime_tuning.py --data ../shared/data/us_counties \
        --target population --origins 1981,1986 --out benchmarks/results/us_regime_tuning.md
    nice -n 10 .venv/bin/python benchmarks/regime_tuning.py --data kz_annual \
        --target population --origins 1999,2004,2009 --out benchmarks/results/kz_regime_tuning.md
    # the lower bound on many origins (session 6): a grid of lower bounds x powers
    nice -n 10 .venv/bin/python benchmarks/regime_tuning.py --data ../shared/data/us_counties \
        --target population --origins 1976-1986 --lowers 0.5,0.6,0.7,0.8,0.9,1 \
        --powers 0.5,1 --out benchmarks/results/us_regime_floor.md

Each origin is fitted once with the config's settings and `regime_scaling: recent_errors`,
`regime_power: 0` (the intervals unscaled; the score recorded). Every variant (power, bounds)
then scales those intervals about their centre exactly as the engine does
(`forecast.regime.RegimeScaled`: the factor does not change the point forecast or the
calibration), so the variants need no refit. Scored on the top-level units (and the
resource groups of units.csv), 80% coverage per origin and horizon, and the interval score
(Winkler: width + 2/alpha * the distance by which the outcome misses, alpha = 1 - level, log
scale; lower is better; `is_mean` its mean over the units and horizons, `is_rel` that relative
to the unscaled intervals). With `--lowers` the grid is those lower bounds x `--powers` (upper
bound `--upper`) instead of the fixed one. Pass tuning origins only.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from shock_test import parse_years, resource_groups  # noqa: E402

from forecast import fitcache, hierarchy, io, pipeline  # noqa: E402
from forecast.benchmark import _machine, _table  # noqa: E402
from forecast.engine import TargetForecaster  # noqa: E402
from forecast.features import observations  # noqa: E402

POWERS = [0.0, 0.5, 0.75, 1.0, 1.25, 1.5]
BOUNDS = [(0.5, 2.0), (0.67, 1.5), (0.8, 1.25)]


def fit_origin(data, target: str, origin: int, horizons: list[int], config) -> tuple:
    tf = TargetForecaster(target=target, config=config).fit(data, origin)
    t = tf.forecast(data, horizons).table
    actual = observations(data.panel, target).rename(columns={"value": "actual"})
    t = t.merge(actual, on=["unit_id", "year"], how="inner")
    return t.assign(origin=origin), tf.regime_


def _log_parts(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre, half-width and outcome of the intervals in log(value / forecast)."""
    f = rows["forecast"].to_numpy(float)
    lo, hi = np.log(rows["lower"].to_numpy(float) / f), np.log(rows["upper"].to_numpy(float) / f)
    return (lo + hi) / 2, (hi - lo) / 2, np.log(rows["actual"].to_numpy(float) / f)


def scaled_coverage(rows: pd.DataFrame, factor: float) -> pd.Series:
    """Coverage per horizon of the intervals scaled by `factor` about their centre."""
    c, h, e = _log_parts(rows)
    inside = np.abs(e - c) <= factor * h
    return pd.Series(inside).groupby(rows["horizon"].to_numpy()).mean()


def interval_score(lo: np.ndarray, hi: np.ndarray, e: np.ndarray, alpha: float) -> np.ndarray:
    """Winkler's interval score of [lo, hi] for outcomes `e`: the width plus 2 / alpha times
    the distance by which the outcome falls outside (lower is better; proper for the
    alpha/2 and 1 - alpha/2 quantiles)."""
    miss = np.clip(lo - e, 0, None) + np.clip(e - hi, 0, None)
    return (hi - lo) + 2.0 / alpha * miss


def scaled_score(rows: pd.DataFrame, factor: float, alpha: float) -> pd.Series:
    """Mean interval score (log scale) per horizon of the intervals scaled by `factor`."""
    c, h, e = _log_parts(rows)
    s = interval_score(c - factor * h, c + factor * h, e, alpha)
    return pd.Series(s).groupby(rows["horizon"].to_numpy()).mean()


def variants(args) -> list[tuple[float, tuple[float, float]]]:
    """(power, bounds) pairs to score: the fixed grid, or --lowers x --powers; the unscaled
    intervals (power 0) first."""
    if not args.lowers:
        return [(0.0, (1.0, 1.0))] + [(p, b) for p in POWERS if p > 0 for b in BOUNDS]
    powers = [float(p) for p in args.powers.split(",")]
    lowers = [float(x) for x in args.lowers.split(",")]
    bad = [x for x in lowers if not 0 < x <= 1] + [p for p in powers if p <= 0]
    if bad or args.upper < 1:
        raise SystemExit(
            f"--lowers must lie in (0, 1], --powers above 0 and --upper at least 1 (got {bad})"
        )
    return [(0.0, (1.0, 1.0))] + [(p, (lo, args.upper)) for p in powers for lo in lowers]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--target", default="population")
    ap.add_argument("--origins", required=True)
    ap.add_argument("--horizons", default="1-10")
    ap.add_argument("--scope", default="latest_origin", help="regime_scope")
    ap.add_argument("--lowers", default="", help="lower bounds to score, e.g. 0.5,0.7,1")
    ap.add_argument("--powers", default="1", help="with --lowers: the powers, e.g. 0.5,1")
    ap.add_argument("--upper", type=float, default=2.0, help="with --lowers: the upper bound")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    data = io.read_dataset(args.data)
    config = pipeline.load_engine_config(args.config, dataset=args.data)
    config = config.model_copy(
        update={
            "regime_scaling": "recent_errors",
            "regime_power": 0.0,
            "regime_scope": args.scope,
        }
    )
    horizons = parse_years(args.horizons)
    grid = variants(args)
    alpha = 1.0 - config.level
    start = time.perf_counter()
    frames, signals = [], []
    with fitcache.sharing():
        for origin in parse_years(args.origins):
            rows, sig = fit_origin(data, args.target, origin, horizons, config)
            frames.append(rows)
            signals.append(
                {
                    "origin": origin,
                    "cal_origin": sig.cal_origin if sig else None,
                    "n": sig.n if sig else 0,
                    "score": sig.score if sig else np.nan,
                }
            )
            print(signals[-1], flush=True)
    rows = pd.concat(frames, ignore_index=True).dropna(subset=["lower", "upper", "actual"])
    sig = pd.DataFrame(signals).set_index("origin")
    groups = {"top level": pd.Index(hierarchy.top_level(data.units))}
    groups.update(resource_groups(data.units))
    out, scores = [], []
    for power, bounds in grid:
        for origin, r in rows.groupby("origin"):
            score = sig.loc[origin, "score"]
            factor = 1.0 if not np.isfinite(score) else float(np.clip(score**power, *bounds))
            for group, keep in groups.items():
                g = r[r["unit_id"].isin(keep)]
                if g.empty:
                    continue
                cov = scaled_coverage(g, factor)
                wink = scaled_score(g, factor, alpha)
                row = {
                    "group": group,
                    "power": power,
                    "bounds": f"{bounds[0]:g}-{bounds[1]:g}",
                    "origin": origin,
                    "factor": factor,
                }
                scores.append({**row, **{f"h{h}": v for h, v in wink.items()}})
                row.update({f"h{h}": v for h, v in cov.items()})
                row["cov_mad"] = float((cov - config.level).abs().mean())
                row["cov_worst"] = float((cov - config.level).abs().max())
                row["is_mean"] = float(wink.mean())
                out.append(row)
    table = pd.DataFrame(out)
    head = ["group", "power", "bounds"]
    mean = (
        table.groupby(head, sort=False)[["cov_mad", "cov_worst", "is_mean"]]
        .agg({"cov_mad": "mean", "cov_worst": "max", "is_mean": "mean"})
        .reset_index()
    )
    mean["worst_origin_mad"] = table.groupby(head, sort=False)["cov_mad"].max().to_numpy()
    unscaled = mean[mean["power"] == 0].set_index("group")["is_mean"]
    mean["is_rel"] = mean["is_mean"] / mean["group"].map(unscaled)
    mean = mean.sort_values(["group", "is_mean"], kind="stable")
    per_h = pd.DataFrame(scores)
    hcols = [c for c in per_h.columns if c.startswith("h")]
    per_h = per_h.groupby(head, sort=False)[hcols].mean().reset_index()
    per_h = per_h.sort_values(["group", "power", "bounds"], kind="stable")
    table = table.drop(columns="is_mean")
    wall = time.perf_counter() - start
    md = [
        f"# Regime scaling of the intervals on tuning origins: {Path(args.data).name}, "
        f"{args.target}",
        "",
        f"- command: `python benchmarks/regime_tuning.py {' '.join(argv or sys.argv[1:])}`",
        f"- date: {date.today().isoformat()}; machine: {_machine()}; run time {wall:.0f} s",
        "- each origin fitted once (config's settings, `regime_scaling: recent_errors`); the "
        "variants scale the same intervals by `clip(score ** power, bounds)` about their centre",
        "",
        "## The signal at each origin (score of the latest calibration origin's +1/+2 errors)",
        "",
        _table(sig.reset_index(), ["origin", "cal_origin", "n", "score"], 3),
        "",
        "## Distance of 80% coverage from 0.80 over the horizons (mean over origins; worst cell; "
        "worst origin) and the interval score (mean; relative to unscaled)",
        "",
        _table(mean, list(mean.columns), 3),
        "",
        "## Interval score per horizon (Winkler, log scale, alpha = 1 - level; mean over "
        "units and origins; lower is better)",
        "",
        _table(per_h, list(per_h.columns), 4),
        "",
        "## Coverage per origin and horizon",
        "",
        _table(table, list(table.columns)),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    io.write_text("\n".join(md), args.out)
    print("\n".join(md[:20]))
    print(_table(mean, list(mean.columns), 3))


if __name__ == "__main__":
    main()
