"""Scale benchmark on SYNTHETIC panels (labelled as such): fit and predict time and memory.

    .venv/bin/python benchmarks/scale.py [--sizes 3000,30000,100000] [--years 30]

Each size runs in its own process so that peak memory (max RSS) is measured per size. The
panels are synthetic (random growth rates plus noise, annual years): they test cost, not
accuracy. Writes benchmarks/results/scale.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from forecast import markdown

ROOT = Path(__file__).resolve().parents[1]


def synthetic(n_units: int, years: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SYNTHETIC panel: unit growth rate + noise; 20 regions; one categorical attribute."""
    rng = np.random.default_rng(seed)
    rate = rng.normal(0, 0.015, n_units)
    level = np.exp(rng.uniform(7, 13, n_units))
    steps = rate[:, None] + rng.normal(0, 0.01, (n_units, years))
    pop = np.round(level[:, None] * np.exp(np.cumsum(steps, axis=1)))
    ids = np.array([f"S{i:06d}" for i in range(n_units)])
    panel = pd.DataFrame(
        {
            "unit_id": np.repeat(ids, years),
            "year": np.tile(np.arange(2000 - years + 1, 2001), n_units),
            "population": pop.ravel(),
        }
    )
    units = pd.DataFrame(
        {
            "unit_id": ids,
            "name": ids,
            "region": [f"R{i % 20}" for i in range(n_units)],
            "kind": np.where(rng.random(n_units) < 0.3, "mining", "other"),
        }
    )
    return panel, units


def one(n_units: int, years: int) -> dict:
    import warnings

    from forecast.engine import Forecaster
    from forecast.io import read_dataset
    from forecast.pipeline import load_engine_config

    warnings.simplefilter("ignore")
    panel, units = synthetic(n_units, years)
    with tempfile.TemporaryDirectory() as tmp:
        panel.to_csv(Path(tmp) / "panel.csv.gz", index=False)
        units.to_csv(Path(tmp) / "units.csv", index=False)
        t = time.perf_counter()
        data = read_dataset(tmp)
        t_read = time.perf_counter() - t
    cfg = load_engine_config()
    t = time.perf_counter()
    fc = Forecaster(config=cfg).fit(data, 2000)
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    table = fc.forecast(data, cfg.horizons).table()
    t_pred = time.perf_counter() - t
    return {
        "units": n_units,
        "rows": len(panel),
        "read_s": t_read,
        "fit_s": t_fit,
        "predict_s": t_pred,
        "forecast_rows": len(table),
        "pairs": fc.targets_["population"].n_pairs_,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="3000,30000,100000")
    ap.add_argument("--years", type=int, default=30)
    ap.add_argument("--one", type=int)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.years)))
        return
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--years", str(args.years)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    df["fit_s_per_1k_units"] = 1000 * df["fit_s"] / df["units"]
    df["predict_s_per_1k_units"] = 1000 * df["predict_s"] / df["units"]
    lines = [
        "# Scale benchmark (SYNTHETIC panels)",
        "",
        f"- command: `.venv/bin/python benchmarks/scale.py --sizes {args.sizes} --years {args.years}`",
        f"- date: {date.today().isoformat()}; machine: {platform.machine()}, "
        f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        "- data: synthetic annual panels (random growth + noise), labelled SYNTHETIC: cost only, "
        "not accuracy",
        "- fit = the full forecaster (main model + calibration fits at each calibration origin); "
        "predict = forecasts with intervals for horizons 1-10; one process per size",
        "",
        markdown.table(df, floats=",.2f"),
        "",
        "Training pairs are capped (`max_pairs`, a uniform random sample), so fit cost flattens "
        "once a panel has more pairs than the cap; feature building and prediction are linear "
        "in the number of units.",
    ]
    out = ROOT / "benchmarks" / "results" / "scale.md"
    out.write_text("\n".join(lines) + "\n")
    print(df.to_string())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
