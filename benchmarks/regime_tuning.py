"""Choosing the regime scaling of the intervals (issue 11, forecast.regime) on tuning origins.

    nice -n 10 .venv/bin/python benchmarks/regime_tuning.py --data ../shared/data/us_counties \
        --target population --origins 1981,1986 --out benchmarks/results/us_regime_tuning.md
    nice -n 10 .venv/bin/python benchmarks/regime_tuning.py --data kz_annual \
        --target population --origins 1999,2004,2009 --out benchmarks/results/kz_regime_tuning.md

Each origin is fitted once with the config's settings and `regime_scaling: recent_errors`,
`regime_power: 0` (the intervals unscaled; the score recorded). Every variant (power, bounds)
then scales those intervals about their centre exactly as the engine does
(`forecast.regime.RegimeScaled`: the factor does not change the point forecast or the
calibration), so the variants need no refit. Scored on the top-level units (and the
resource groups of units.csv), 80% coverage per origin and horizon. Pass tuning origins only.
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


def scaled_coverage(rows: pd.DataFrame, factor: float) -> pd.Series:
    """Coverage per horizon of the intervals scaled by `factor` about their centre."""
    f = rows["forecast"].to_numpy(float)
    lo, hi = np.log(rows["lower"].to_numpy(float) / f), np.log(rows["upper"].to_numpy(float) / f)
    c, h = (lo + hi) / 2, (hi - lo) / 2
    e = np.log(rows["actual"].to_numpy(float) / f)
    inside = np.abs(e - c) <= factor * h
    return pd.Series(inside).groupby(rows["horizon"].to_numpy()).mean()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--target", default="population")
    ap.add_argument("--origins", required=True)
    ap.add_argument("--horizons", default="1-10")
    ap.add_argument("--scope", default="latest_origin", help="regime_scope")
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
    out = []
    for power in POWERS:
        for bounds in BOUNDS if power > 0 else [(1.0, 1.0)]:
            for origin, r in rows.groupby("origin"):
                score = sig.loc[origin, "score"]
                factor = 1.0 if not np.isfinite(score) else float(np.clip(score**power, *bounds))
                for group, keep in groups.items():
                    g = r[r["unit_id"].isin(keep)]
                    if g.empty:
                        continue
                    cov = scaled_coverage(g, factor)
                    row = {
                        "group": group,
                        "power": power,
                        "bounds": f"{bounds[0]:g}-{bounds[1]:g}",
                        "origin": origin,
                        "factor": factor,
                    }
                    row.update({f"h{h}": v for h, v in cov.items()})
                    row["cov_mad"] = float((cov - 0.8).abs().mean())
                    row["cov_worst"] = float((cov - 0.8).abs().max())
                    out.append(row)
    table = pd.DataFrame(out)
    head = ["group", "power", "bounds"]
    mean = (
        table.groupby(head, sort=False)[["cov_mad", "cov_worst"]]
        .agg({"cov_mad": "mean", "cov_worst": "max"})
        .reset_index()
        .sort_values(["group", "cov_mad"], kind="stable")
    )
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
        "## Distance of 80% coverage from 0.80 over the horizons (mean over origins; worst)",
        "",
        _table(mean, list(mean.columns), 3),
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
