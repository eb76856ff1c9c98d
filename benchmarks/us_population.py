"""US population accuracy variants on the tuning origins only (issue 11 item 3; 1981, 1986).

    .venv/bin/python benchmarks/us_population.py --data ../shared/data/us_counties \
        --variants base halflife10 --out /tmp/uspop/variants.csv
    .venv/bin/python benchmarks/us_population.py --data ../shared/data/us_counties \
        --out /tmp/uspop/a.csv,/tmp/uspop/b.csv --summary tables.md

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
from forecast.benchmark import _table  # noqa: E402
from forecast.combination import combiner  # noqa: E402
from forecast.engine import TargetForecaster  # noqa: E402
from forecast.features import observations  # noqa: E402

HORIZONS = [1, 5, 10]
# the engine before issue 11 item 3 (uspop): no region-relative features; every variant says
# which it uses, so that the rows stay what they were once engine.yaml switches a setting on
_OFF = {"region_relative_features": False}
_ON = {"region_relative_features": True}
VARIANTS: dict[str, dict] = {
    "base": _OFF,
    "halflife6": _OFF | {"recency_halflife": 6.0},
    "halflife10": _OFF | {"recency_halflife": 10.0},
    "halflife_none": _OFF | {"recency_halflife": None},
    "relfeat": _ON,
    "relfeat_hl10": _ON | {"recency_halflife": 10.0},
    "leaves15_mcs200": _OFF | {"lightgbm": {"num_leaves": 15, "min_child_samples": 200}},
    "l1": _OFF | {"lightgbm": {"objective": "l1"}},
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


def summarise(rows: pd.DataFrame, members: list[str]) -> str:
    """Markdown: per variant and combination, the ratio at each (origin, horizon), their mean,
    and the +10 bias at each origin; all units, then the mining-dependent ones."""
    md = []
    for units, title in (("all", "all units"), ("mining", "mining_dependent")):
        d = rows[(rows["units"] == units) & rows["members"].isin(members)]
        r = d.pivot_table(
            index=["variant", "members"], columns=["origin", "horizon"], values="ratio"
        )
        b = d[d["horizon"] == 10].pivot_table(
            index=["variant", "members"], columns="origin", values="bias"
        )
        out = pd.DataFrame(index=r.index)
        for o, h in r.columns:
            out[f"r{o}_h{h}"] = r[(o, h)]
        out["mean_ratio"] = r.mean(axis=1)
        for o in b.columns:
            out[f"bias{o}_h10"] = b[o]
        out = out.reset_index()
        md += [f"### {title}", "", _table(out, list(out.columns), 3), ""]
    return "\n".join(md)


def diagnose(folder: Path, variant: str, origins: list[int], units: pd.DataFrame) -> str:
    """Markdown: where the +10 error of `variant` lies at each origin (forecast tables written
    by a run of this script): MAPE and bias of the model alone and of the published combination
    (`model+lin_exp`, the engine's rest-of-units weights) against the baselines, by county type,
    metro status and size; the states carrying the most absolute error."""
    md = []
    for o in origins:
        fc = pd.read_csv(folder / f"fc_{variant}_{o}.csv.gz", dtype={"unit_id": str})
        fc = fc[fc["horizon"] == 10].join(units, on="unit_id")
        fc["size"] = pd.cut(fc["p0"], [0, 1e4, 5e4, 2.5e5, np.inf]).astype(str)
        cols = ["model", "model+lin_exp", "lin_exp", "csp_vsg", "naive"]
        for c in cols:
            fc[f"ape_{c}"] = 100 * np.abs(fc[c] / fc["actual"] - 1)
            fc[f"bias_{c}"] = 100 * (fc[c] / fc["actual"] - 1)
        shown = [f"ape_{c}" for c in cols] + ["bias_model", "bias_lin_exp"]
        for by in ("economic_type", "metro", "size"):
            t = fc.groupby(by)[shown].mean()
            t.insert(0, "n", fc.groupby(by).size())
            t = t.reset_index()
            md += [f"### {o} +10 by {by}", "", _table(t, list(t.columns), 1), ""]
        st = fc.groupby("region").agg(
            n=("unit_id", "size"),
            ape_model=("ape_model", "mean"),
            ape_lin_exp=("ape_lin_exp", "mean"),
            bias_model=("bias_model", "mean"),
            abs_error=("ape_model", "sum"),
        )
        st["share_of_error"] = st["abs_error"] / st["abs_error"].sum()
        st = st.sort_values("abs_error", ascending=False).head(8).reset_index()
        keep = ["region", "n", "ape_model", "ape_lin_exp", "bias_model", "share_of_error"]
        md += [
            f"### {o} +10: states with the most error (model alone)",
            "",
            _table(st, keep, 2),
            "",
        ]
    return "\n".join(md)


def importance(data, cfg, origins: list[int], top: int = 12) -> str:
    """Markdown: LightGBM gain share of the most used features at each origin (the model as
    fitted at the origin, without calibration)."""
    cols = {}
    for o in origins:
        tf = TargetForecaster(target="population", config=cfg).fit(data, o, calibrate=False)
        b = tf.model_.booster
        gain = pd.Series(b.feature_importance("gain"), index=b.feature_name())
        cols[f"gain_share_{o}"] = gain / gain.sum()
    t = pd.DataFrame(cols).sort_values(f"gain_share_{origins[-1]}", ascending=False).head(top)
    t = t.rename_axis("feature").reset_index()
    return "\n".join(["### Gain share of the top features", "", _table(t, list(t.columns), 3), ""])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--origins", default="1981,1986")
    ap.add_argument("--variants", nargs="+", default=["base"])
    ap.add_argument("--regions", default=None, help="comma-separated region codes (a slice)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--summary", type=Path, default=None, help="markdown of every row in --out")
    ap.add_argument("--diagnose", default=None, help="variant whose forecast tables to diagnose")
    args = ap.parse_args(argv)
    if args.diagnose:  # reads fc_<variant>_<origin>.csv.gz next to --out, writes --summary
        data = io.read_dataset(args.data)
        origins = [int(o) for o in args.origins.split(",")]
        text = diagnose(args.out.parent, args.diagnose, origins, data.units)
        cfg = config_for(pipeline.load_engine_config(None), VARIANTS[args.diagnose])
        text += "\n" + importance(data, cfg, origins)
        head = [
            f"# Where the US population error lies: variant {args.diagnose}, origins {origins}",
            "",
            f"- command: `python benchmarks/us_population.py {' '.join(argv or sys.argv[1:])}`",
            "- +10 forecasts of the tuning runs (outcomes to 1996 at most); `ape_*` MAPE and "
            "`bias_*` MALPE (+ = over-forecast) in percent; `model+lin_exp` as combined for "
            "every unit (no own weights for mining)",
            "",
        ]
        io.write_text("\n".join(head) + "\n" + text, args.summary)
        return
    if args.summary:  # only summarise rows already written (one or more --out files)
        rows = pd.concat([pd.read_csv(p) for p in str(args.out).split(",")], ignore_index=True)
        members = [
            "model",
            "model+lin_exp",
            "model+lin_exp|mining_own",
            "model+lin_exp+naive",
            "model+lin_exp+csp_vsg",
        ]
        head = [
            "# US population on the tuning origins 1981 and 1986 (outcomes to 1996): variants",
            "",
            f"- command: `python benchmarks/us_population.py {' '.join(argv or sys.argv[1:])}`",
            "- rows written by `--variants ...` runs (engine.yaml of commit 308dbd2 plus each "
            "variant's overrides, `VARIANTS`); the held-back origins 1991/1996 are not read",
            "- `rYYYY_hH`: MAPE / best baseline's MAPE at origin YYYY, horizon H; `mean_ratio` "
            "their mean; `biasYYYY_h10`: MALPE at +10 (+ = over-forecast). Members: `model` the "
            "LightGBM part alone; `a+b` combined with weights learned on the calibration "
            "residuals (shrinkage 0.5); `/mining_own`: mining_dependent counties with their own "
            "weights over model, lin_exp, naive",
            "",
        ]
        io.write_text("\n".join(head) + "\n" + summarise(rows, members), args.summary)
        return
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
