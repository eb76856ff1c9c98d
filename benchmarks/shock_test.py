"""Held-back tests per origin, shock or calm (issue 11): accuracy, bias and 80% coverage.

    .venv/bin/python benchmarks/shock_test.py --data ../shared/data/us_counties \
        --jobs population:1981,1986:tune population:1991,1996:test \
        employment:1996:test employment:1991-1995:test:1-5 --out benchmarks/results/us_shocks.md

Each job is `target:origins:role[:horizons]` (origins `a,b` or `a-b`; horizons default 1-10).
Every (target, origin) is fitted on data cut at the origin with the engine settings of
`experiments/engine.yaml` (the forecaster `forecast run` and `predict` use, calibration
included) and scored on every later observation. Tables: per target, origin and horizon the
published forecast (`combined`), the LightGBM part alone (`model`) and the best baseline;
the same for resource groups (units.csv `economic_type` = Mining, `mining_dependent` = 1,
`monotown` = 1, a named `resource`); coverage of the 80% interval per test origin. Writes the markdown file and
the rows (`.csv.gz`) next to it; run time and peak memory are measured in-process (use
`/usr/bin/time -v` around it for the whole process). `--before OLD.md` (a previous output of
this script) adds a before/after table of the held-back test origins; `--notes FILE.md` puts
the text of FILE.md (what changed and why) after the header.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from forecast import backtest as bt  # noqa: E402
from forecast import io, pipeline  # noqa: E402
from forecast.baselines import BASELINES  # noqa: E402
from forecast.benchmark import _machine, _table  # noqa: E402
from forecast.engine import TargetForecaster  # noqa: E402
from forecast.features import observations  # noqa: E402
from forecast.intervals import conformal_quantile  # noqa: E402
from forecast.national import LONG_BACKTEST, long_choice  # noqa: E402
from forecast.reference import Reference, national_choice  # noqa: E402

KEEP = ["unit_id", "horizon", "year", "t0", "p0", "span", "actual", "combined", "model"]


def parse_years(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def parse_job(text: str) -> tuple[str, list[int], str, list[int]]:
    parts = text.split(":")
    if len(parts) not in (3, 4) or parts[2] not in ("tune", "test"):
        raise SystemExit(f"bad job {text!r}: expected target:origins:tune|test[:horizons]")
    horizons = parse_years(parts[3]) if len(parts) == 4 else list(range(1, 11))
    return parts[0], parse_years(parts[1]), parts[2], horizons


def resource_groups(units: pd.DataFrame) -> dict[str, pd.Index]:
    """Resource-dependent units by every marker units.csv has."""
    groups = {}
    if "economic_type" in units:
        groups["Mining (economic_type)"] = units.index[units["economic_type"] == "Mining"]
    if "mining_dependent" in units:
        groups["mining_dependent"] = units.index[units["mining_dependent"] == 1]
    if "monotown" in units:
        flag = units["monotown"].astype(str).str.strip().str.lower()
        groups["monotown"] = units.index[flag.isin(["1", "1.0", "yes", "true"])]
    if "resource" in units:
        named = units["resource"].astype("string").str.strip()
        real = named.notna() & (named != "") & ~named.str.lower().str.startswith("none")
        groups["resource-based (units.csv resource)"] = units.index[real.fillna(False)]
    return {k: v for k, v in groups.items() if len(v)}


def run_job(data, target, origin, horizons, config) -> pd.DataFrame:
    tf = TargetForecaster(target=target, config=config).fit(data, origin)
    t = tf.forecast(data, horizons).table
    actual = observations(data.panel, target).rename(columns={"value": "actual"})
    t = t.merge(actual, on=["unit_id", "year"], how="inner").rename(
        columns={"forecast": "combined"}
    )
    ref = Reference.from_dataset(data.up_to(origin), target, config.base_years)
    how = config.reference_method  # the projection the engine used (kz_annual: long_backtest)
    choice = long_choice(ref, origin) if how == LONG_BACKTEST else national_choice(ref, origin, how)
    out = t[[*KEEP, "lower", "upper", *BASELINES]].assign(target=target, origin=origin)
    return out.assign(
        reference_method=choice.method if choice else "",
        safe_only=bool(choice.safe) if choice else False,
    )


COMPARED = ["ratio", "model_ratio", "bias", "coverage"]


def read_tables(path: Path, prefix: str = "Held-back test origins: ") -> pd.DataFrame:
    """The held-back test tables of a previous output of this script: one row per (group,
    target, origin, horizon) with the `COMPARED` columns."""
    rows, group, header = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip()
            group = title[len(prefix) :] if title.startswith(prefix) else None
            header = None
        elif group and line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                header = cells
            elif not set("".join(cells)) <= set("-: "):
                rows.append({"group": group, **dict(zip(header, cells, strict=True))})
    if not rows:
        raise SystemExit(f"{path}: no '{prefix}...' tables (not an output of shock_test.py?)")
    out = pd.DataFrame(rows)
    for c in ["origin", "horizon", *COMPARED]:
        out[c] = pd.to_numeric(out[c])
    return out[["group", "target", "origin", "horizon", *COMPARED]]


def before_after(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """`before` and `after` (as `read_tables`) side by side, rows present in both."""
    keys = ["group", "target", "origin", "horizon"]
    both = before.merge(after, on=keys, suffixes=("_before", "_after"))
    cols = [f"{c}_{w}" for c in COMPARED for w in ("before", "after")]
    return both[[*keys, *cols]].sort_values(keys, kind="stable")


def summary(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    m = bt.metrics(rows, keys, ("combined", "model", *BASELINES))
    m = bt.ratio_to_best_baseline(m, keys)
    pub = m[m["method"] == "combined"].set_index(keys)
    mod = m[m["method"] == "model"].set_index(keys)
    out = pd.DataFrame(
        {
            "n": pub["n"],
            "best_baseline": pub["best_baseline"],
            "mape_best": pub["best_baseline_mape"],
            "mape": pub["mape"],
            "ratio": pub["mape_ratio"],
            "model_ratio": mod["mape_ratio"],
            "bias": pub["malpe"],
            "model_bias": mod["malpe"],
            "coverage": pub["coverage"],
            "width_pct": pub["width_pct"],
        }
    )
    return out.reset_index()


def one_year_exponents(data, rows: pd.DataFrame, exponents=(0.7, 0.8, 0.9, 1.0)) -> pd.DataFrame:
    """Tuning origins only: 80% coverage of the published forecasts with the interval a target
    observed for two years gets (`short_history_intervals: one_year_changes`): the conformal
    80% quantile of the units' last one-year change relative to the nation's, grown to longer
    spans like span ** exponent. Chooses `short_span_exponent` without a test origin."""
    out = []
    for (target, origin), r in rows[rows["role"] == "tune"].groupby(["target", "origin"]):
        wide = data.panel.pivot(index="unit_id", columns="year", values=target)
        if origin - 1 not in wide or origin not in wide:
            continue
        a, b = wide[origin - 1], wide[origin]
        rel = (np.log(b / a) - np.log(b.sum() / a.sum())).dropna().abs().to_numpy()
        q = conformal_quantile(rel, 0.8)
        err = np.abs(np.log(r["actual"] / r["combined"]))
        for e in exponents:
            cov = (err <= q * r["horizon"] ** e).groupby(r["horizon"]).mean()
            row = {"target": target, "origin": origin, "exponent": e}
            row.update({f"h{h}": c for h, c in cov.items()})
            row["cov_mad"] = float((cov - 0.8).abs().mean())
            out.append(row)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--jobs", nargs="+", required=True)
    ap.add_argument("--headline", default="1,5,10", help="horizons of the accuracy tables")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--before", type=Path, default=None, help="a previous output (.md)")
    ap.add_argument("--notes", type=Path, default=None, help="markdown put after the header")
    args = ap.parse_args(argv)
    before = read_tables(args.before) if args.before else None
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    cfg = pipeline.load_engine_config(args.config)
    data = io.read_dataset(args.data)
    frames = []
    for target, origins, role, horizons in map(parse_job, args.jobs):
        for origin in origins:
            print(f"{target} {origin} ({role})", flush=True)
            frames.append(run_job(data, target, origin, horizons, cfg).assign(role=role))
    rows = pd.concat(frames, ignore_index=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    io.write_csv(rows, args.out.with_suffix(".csv.gz"), float_format="%.6g")
    headline = parse_years(args.headline)
    units = data.units
    keys = ["target", "origin", "horizon"]
    cols = [*keys, "n", "best_baseline", "mape_best", "mape", "ratio", "model_ratio", "bias"]
    cols += ["model_bias", "coverage", "width_pct"]
    md = [
        f"# Shock and calm test origins: {data.name}",
        "",
        f"- command: `{' '.join(['python', 'benchmarks/shock_test.py', *(argv or sys.argv[1:])])}`",
        f"- date: {date.today().isoformat()}; machine: {_machine()}",
        f"- run time {seconds:.0f} s, peak memory (RSS, in-process) {peak:,.0f} MB",
        f"- engine: reference_method={cfg.reference_method}, interval_method="
        f"{cfg.interval_method}, combine_members={cfg.combine_members}, "
        f"recency_halflife={cfg.recency_halflife}, level={cfg.level}, "
        f"combine_groups={cfg.combine_groups}, short_span_exponent={cfg.short_span_exponent}, "
        f"regime_scaling={cfg.regime_scaling} (power {cfg.regime_power}, bounds "
        f"{list(cfg.regime_bounds)})",
        "",
        "`mape` and `ratio` (MAPE / best baseline's MAPE, < 1 beats every baseline) and `bias` "
        "(MALPE, + = over-forecast) of the published forecast; `model_ratio`, `model_bias`: "
        "the LightGBM part alone; `coverage`, `width_pct`: the 80% interval (share of "
        "outcomes inside, median width in percent of the forecast).",
        "",
    ]
    if args.notes:
        md += [args.notes.read_text(encoding="utf-8").strip(), ""]
    methods = rows.groupby(["target", "origin"])[["reference_method", "safe_only"]].first()
    methods = methods.reset_index()
    md += [
        "National projection chosen at each origin (its own backtest; `safe_only`: a short "
        "cyclical series, chosen between no change and the damped trend only):",
        "",
    ]
    md += [_table(methods, ["target", "origin", "reference_method", "safe_only"]), ""]
    for role, title in (("test", "Held-back test origins"), ("tune", "Tuning origins")):
        part = rows[rows["role"] == role]
        if part.empty:
            continue
        head = part[part["horizon"].isin(headline)]
        md += [f"## {title}: all units", "", _table(summary(head, keys), cols), ""]
        for name, ids in resource_groups(units).items():
            g = head[head["unit_id"].isin(ids)]
            if g.empty:
                continue
            md += [f"### {title}: {name}", "", _table(summary(g, keys), cols), ""]
    oy = one_year_exponents(data, rows)
    if not oy.empty:
        md += [
            "## One-year-change intervals on the tuning origins (choice of short_span_exponent)",
            "",
            "80% coverage of the published forecasts at the tuning origins if the interval "
            "were that of a two-year series: the conformal quantile of the last one-year "
            "relative change, grown like span ** exponent (`one_year_exponents`).",
            "",
            _table(oy, list(oy.columns), digits=3),
            "",
        ]
    test = rows[rows["role"] == "test"]
    if not test.empty:
        cov = summary(test, keys)
        wide = cov.pivot_table(index=["target", "origin"], columns="horizon", values="coverage")
        wide.columns = [f"h{c}" for c in wide.columns]
        wide = wide.reset_index()
        md += [
            "## 80% interval coverage per test origin and horizon",
            "",
            _table(wide, list(wide.columns)),
            "",
        ]
    if before is not None:
        tmp = args.out.with_suffix(".after.md")
        io.write_text("\n".join(md), tmp)
        after = read_tables(tmp)
        tmp.unlink()
        table = before_after(before, after)
        md += [
            f"## Before / after: held-back test origins (before = {args.before.name} as it was)",
            "",
            _table(table, list(table.columns)),
            "",
        ]
    io.write_text("\n".join(md), args.out)
    print("\n".join(md))


if __name__ == "__main__":
    main()
