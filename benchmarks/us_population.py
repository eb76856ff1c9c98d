"""US population accuracy variants on the tuning origins only (issue 11 item 3; 1981, 1986).

    .venv/bin/python benchmarks/us_population.py --data ../shared/data/us_counties \
        --variants base halflife10 --out /tmp/uspop/variants.csv

Each variant is a set of engine-config overrides (`VARIANTS`); every (variant, origin) is
fitted once with the engine of `experiments/engine.yaml` plus the overrides, the calibration
residuals are recorded, and the combination members are then compared without refitting
(`MEMBER_SETS`, with and without own weights for `mining_dependent`). Scores per horizon
1, 5, 10: MAPE ratio to the best baseline and bias (MALPE) of the LightGBM part alone and of
each combination, for all units and the mining-dependent ones, plus the MAPE by state
(`--by-state`). The held-back test origins (1991, 1996) are refused.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from forecast import io, pipeline  # noqa: E402
from forecast.baselines import BASELINES  # noqa: E402
from forecast.combination import combiner  # noqa: E402
from forecast.engine import TargetForecaster  # noqa: E402
from forecast.features import observations  # noqa: E402

HORIZONS = [1, 5, 10]
VARIANTS: dict[str, dict] = {
    "base": {},
    "halflife6": {"recency_halflife": 6.0},
    "halflife10": {"recency_halflife": 10.0},
    "halflife_none": {"recency_halflife": None},
    "relfeat": {"region_relative_features": True},
    "relfeat_hl10": {"region_relative_features": True, "recency_halflife": 10.0},
    "leaves15_mcs200": {"lightgbm": {"num_leaves": 15, "min_child_samples": 200}},
    "l1": {"lightgbm": {"objective": "l1"}},
}
MEMBER_SETS = [
    ["model"],
    ["model", "lin_exp"],
    ["model", "csp_vsg"],
    ["model", "lin_exp", "csp_vsg"],
    ["model", "lin_exp", "naive"],
    ["model", "average"],
]


class _Recording(TargetForecaster):
    def _calibration_residuals(self, data, progress):
        self.residuals_ = super()._calibration_residuals(data, progress)
        return self.residuals_


def config_for(base, overrides: dict):
    upd = dict(overrides)
    if "lightgbm" in upd:
        upd["lightgbm"] = base.lightgbm.model_copy(update=upd["lightgbm"])
    return base.model_copy(update=upd)


def score(fc: pd.DataFrame, col: str) -> pd.DataFrame:
    ape = 100 * np.abs(fc[col] / fc["actual"] - 1)
    lpe = 100 * (fc[col] / fc["actual"] - 1)
    best = pd.DataFrame(
        {
            b: (100 * np.abs(fc[b] / fc["actual"] - 1)).groupby(fc["horizon"]).mean()
            for b in BASELINES
        }
    ).min(axis=1)
    g = fc["horizon"]
    return pd.DataFrame(
        {
            "mape": ape.groupby(g).mean(),
            "ratio": ape.groupby(g).mean() / best,
            "bias": lpe.groupby(g).mean(),
        }
    )


def run(data, cfg, origin: int, mining: pd.Index) -> tuple[list[dict], pd.DataFrame]:
    tf = _Recording(target="population", config=cfg).fit(data, origin)
    fc = tf.forecast(data, list(range(1, 11))).table
    actual = observations(data.panel, "population").rename(columns={"value": "actual"})
    fc = fc.merge(actual, on=["unit_id", "year"], how="inner")
    fc = fc[fc["horizon"].isin(HORIZONS)].copy()
    res = tf.residuals_
    res = res[res["model"].notna() & res["actual"].notna()]
    units = data.units.reset_index()
    rows = []
    for members in MEMBER_SETS:
        for grouped in (False, True):
            if grouped and members == ["model"]:
                continue
            groups = {"mining_dependent": ["model", "lin_exp", "naive"]} if grouped else None
            cw = combiner(
                members,
                step=cfg.weight_step,
                shrinkage=cfg.combine_shrinkage,
                min_cell=cfg.min_cell,
                groups=groups,
                units=units,
            ).fit(res)
            col = "+".join(members) + ("|mining_own" if grouped else "")
            fc[col] = cw.combine(fc)
            for part, sel in (("all", slice(None)), ("mining", fc["unit_id"].isin(mining))):
                s = score(fc[sel] if part != "all" else fc, col)
                for h in HORIZONS:
                    rows.append(
                        {"origin": origin, "members": col, "units": part, "horizon": h}
                        | {k: float(s.loc[h, k]) for k in s.columns}
                    )
    return rows, fc


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--origins", default="1981,1986")
    ap.add_argument("--variants", nargs="+", default=["base"])
    ap.add_argument("--regions", default=None, help="comma-separated region codes (a slice)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    origins = [int(o) for o in args.origins.split(",")]
    if max(origins) > 1986:
        raise SystemExit("tuning origins are 1986 or earlier (1991 and 1996 are the tests)")
    data = io.read_dataset(args.data)
    if args.regions:
        keep = data.units.index[data.units["region"].isin(args.regions.split(","))]
        data = data.subset(keep) if hasattr(data, "subset") else data
    mining = data.units.index[data.units["mining_dependent"] == 1]
    base = pipeline.load_engine_config(None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for v in args.variants:
        cfg = config_for(base, VARIANTS[v])
        for o in origins:
            t = time.perf_counter()
            rows, fc = run(data, cfg, o, mining)
            out = pd.DataFrame(rows).assign(variant=v, seconds=time.perf_counter() - t)
            head = not args.out.exists()
            out.to_csv(args.out, mode="a", header=head, index=False, float_format="%.4f")
            fc.to_csv(args.out.with_name(f"fc_{v}_{o}.csv.gz"), index=False, float_format="%.6g")
            show = out[out["members"].isin(["model", "model+lin_exp"])]
            print(v, o, f"{time.perf_counter() - t:.0f}s", flush=True)
            print(
                show.pivot_table(
                    index=["members", "units"], columns="horizon", values=["ratio", "bias"]
                ).round(3),
                flush=True,
            )


if __name__ == "__main__":
    main()
