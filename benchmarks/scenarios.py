"""Scenario benchmark: do forecasts conditioned on a realised employment path beat the
unconditional ones where employment moved a lot, and are their 80% ranges right?

    .venv/bin/python benchmarks/scenarios.py [--origins 2000,2001] [--states 01,13]

On the US county panel (read in place from ../shared/data/us_counties): at each held-back origin
the engine is fitted on data up to the origin (as `forecast run` does), and the population
response is estimated on data up to the origin only (scripts/estimate_response.py settings).
Shock events: counties whose employment relative to the country fell or rose by 15% or more
between the origin and one of the 3 years after it. Conditioned forecast: the baseline changed
by `forecast.scenario_apply.apply` with, as events, the yearly surprises of the realised
employment (relative to the baseline employment forecast, net of the all-county surprise).
Also: a zero-size event reproduces the baseline and a sweep of cuts never raises population.
Writes benchmarks/results/scenarios_us.md (merged into benchmarks/results/scenarios.md).
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

import forecast
from forecast import io, pipeline
from forecast.response import estimate, relative_changes
from forecast.scenario_apply import apply
from forecast.scenarios import EmploymentShock

ROOT = Path(__file__).resolve().parents[1]
US = ROOT.parent / "shared" / "data" / "us_counties"
OUT = ROOT / "benchmarks" / "results" / "scenarios_us.md"
H = 5
SHOCK = np.log(1.15)
BREAKS = (2000,)  # LAUS county employment re-based


def engine_key(cfg) -> str:
    """A hash of the engine config and of the engine's source (scenario modules excepted): a
    cached baseline is reused only while neither changes."""
    h = hashlib.sha256(cfg.model_dump_json().encode())
    src = Path(forecast.__file__).parent
    for f in sorted(src.glob("*.py")):
        if not f.name.startswith(("scenario", "response")):
            h.update(f.read_bytes())
    return h.hexdigest()[:10]


def fit_baseline(data, origin: int, cache: Path) -> pd.DataFrame:
    cfg = pipeline.load_engine_config(dataset=data.name, horizons=list(range(1, H + 1)))
    path = cache / f"us_{origin}_{data.digest()[:10]}_{engine_key(cfg)}.csv"
    if path.exists():
        return pd.read_csv(path, dtype={"unit_id": str})
    table = pipeline.predict(data, origin, cfg.horizons, cfg)
    table.to_csv(path, index=False)
    return table


def events(data, origin: int) -> pd.Series:
    """Relative employment change (log) of the largest move within 3 years, per event county."""
    emp = data.panel.pivot(index="unit_id", columns="year", values="employment")
    base = emp[origin]
    moves = []
    for k in (1, 2, 3):
        both = emp[origin + k].notna() & base.notna()
        nat = np.log(emp.loc[both, origin + k].sum() / base[both].sum())
        moves.append(np.log(emp[origin + k] / base) - nat)
    m = pd.concat(moves, axis=1).dropna(how="all")
    biggest = m.abs().idxmax(axis=1)
    val = pd.Series(
        [m.loc[u, c] if pd.notna(c) else np.nan for u, c in biggest.items()], index=m.index
    )
    return val[val.abs() >= SHOCK]


def surprises(data, fc: pd.DataFrame, origin: int, units) -> list[EmploymentShock]:
    """Yearly increments of log(actual / forecast employment), net of the all-county one."""
    emp = data.panel.pivot(index="unit_id", columns="year", values="employment")
    f = fc[fc["target"] == "employment"].pivot(index="unit_id", columns="year", values="forecast")
    years = list(range(origin + 1, origin + H + 1))
    common = f.index.intersection(emp.index)
    actual, pred = emp.loc[common, years], f.loc[common, years]
    ok = actual.notna().all(axis=1) & pred.notna().all(axis=1)
    gap = np.log(actual[ok] / pred[ok])
    gap = gap - np.log(actual[ok].sum() / pred[ok].sum())
    steps = gap.diff(axis=1)
    steps[years[0]] = gap[years[0]]
    for y in BREAKS:
        if y in steps:  # the re-based year's jump is the statistics', not the town's
            steps[y] = 0.0
    out = []
    for u in units:
        if u not in steps.index:
            continue
        for y in years:
            out.append(EmploymentShock("realised", u, y, float(steps.loc[u, y]), np.nan))
    return out


def one_origin(
    data, origin: int, cache: Path, lags: int, tau: float, response_cut: int | None = None
) -> tuple[pd.DataFrame, dict]:
    """Events at `origin`, conditioned with the response estimated on data up to
    `response_cut` (default: the origin)."""
    t0 = time.perf_counter()
    fc = fit_baseline(data, origin, cache)
    fit_s = time.perf_counter() - t0
    cut = data.up_to(origin if response_cut is None else response_cut)
    changes = relative_changes(cut.panel, break_years=BREAKS)
    metro = data.units["metro"].astype(float) == 1
    resp = estimate(
        changes[changes["unit_id"].isin(data.units.index[~metro])],
        lags=lags,
        group=f"us_nonmetro<= {cut.last_year}",
    )
    ev = events(data, origin)
    shocks = surprises(data, fc, origin, ev.index)
    units = sorted({s.unit_id for s in shocks})
    base = fc[fc["unit_id"].isin(units)]
    traj = apply(base, shocks, [], resp, ["realised"], 0.8, tau).forecasts["realised"]
    year = origin + H
    actual = data.panel[data.panel["year"] == year].set_index("unit_id")["population"]
    b = base[(base["target"] == "population") & (base["year"] == year)].set_index("unit_id")
    c = traj[(traj["target"] == "population") & (traj["year"] == year)].set_index("unit_id")
    rows = pd.DataFrame(
        {
            "origin": origin,
            "actual": actual.reindex(b.index),
            "baseline": b["forecast"],
            "baseline_lower": b["lower"],
            "baseline_upper": b["upper"],
            "conditioned": c["forecast"].reindex(b.index),
            "lower": c["lower"].reindex(b.index),
            "upper": c["upper"].reindex(b.index),
            "shock": ev.reindex(b.index),
        }
    ).dropna()
    info = {
        "origin": origin,
        "fit_s": round(fit_s, 1),
        "response": ", ".join(
            f"{e:.3f} ({s:.3f})" for e, s in zip(resp.effect, resp.se, strict=True)
        ),
        "response_years": f"{resp.first_year}-{resp.last_year}",
        "heterogeneity": tau,
    }
    return rows, info


def calibrate(data, origins: list[int], cut: int, cache: Path, lags: int):
    """The heterogeneity giving 80% coverage of the conditioned ranges on the tuning events."""
    frames = [one_origin(data, o, cache, lags, 0.0, response_cut=cut)[0] for o in origins]
    res = pd.concat(frames, ignore_index=True)
    lo, hi = 0.0, 3.0
    for _ in range(30):
        mid = (lo + hi) / 2
        rs = [one_origin(data, o, cache, lags, mid, response_cut=cut)[0] for o in origins]
        cov = summarise(pd.concat(rs, ignore_index=True))["coverage_conditioned"]
        lo, hi = (mid, hi) if cov < 0.8 else (lo, mid)
        if hi - lo < 0.005:
            break
    tau = round(hi, 3)
    rs = pd.concat(
        [one_origin(data, o, cache, lags, tau, response_cut=cut)[0] for o in origins],
        ignore_index=True,
    )
    rows = [
        {"heterogeneity": 0.0, "origin": "tuning", **summarise(res)},
        {"heterogeneity": tau, "origin": "tuning", **summarise(rs)},
    ]
    return tau, rows


def summarise(r: pd.DataFrame) -> dict:
    ape_b = 100 * (r["baseline"] / r["actual"] - 1).abs()
    ape_c = 100 * (r["conditioned"] / r["actual"] - 1).abs()
    return {
        "n": len(r),
        "mape_unconditional": round(float(ape_b.mean()), 2),
        "mape_conditioned": round(float(ape_c.mean()), 2),
        "ratio": round(float(ape_c.mean() / ape_b.mean()), 3),
        "coverage_unconditional": round(
            float(
                ((r["actual"] >= r["baseline_lower"]) & (r["actual"] <= r["baseline_upper"])).mean()
            ),
            3,
        ),
        "coverage_conditioned": round(
            float(((r["actual"] >= r["lower"]) & (r["actual"] <= r["upper"])).mean()), 3
        ),
        "width_conditioned_pct": round(
            float(np.median(100 * (r["upper"] - r["lower"]) / r["conditioned"])), 2
        ),
    }


def table(rows: list[dict]) -> str:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--origins", default="2000,2001", help="held-back test origins")
    ap.add_argument(
        "--tune-origins",
        default="1994,1995",
        help="origins whose events calibrate the heterogeneity (response estimated on data up "
        "to the first test origin)",
    )
    ap.add_argument("--states", default="", help="comma-separated state FIPS (a quick slice)")
    ap.add_argument("--lags", type=int, default=4)
    ap.add_argument("--cache", default="/tmp/scenario_bench")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = io.read_dataset(US)
        if args.states:
            keep = data.units.index[
                data.units["region"].isin([f"US-{s}" for s in args.states.split(",")])
            ]
            from forecast.schema import Dataset

            data = Dataset(
                name=data.name,
                path=data.path,
                panel=data.panel[data.panel["unit_id"].isin(keep)].reset_index(drop=True),
                units=data.units.loc[keep],
                regions=data.regions,
                country=data.country,
                sources=data.sources,
                warnings=data.warnings,
            )
        origins = [int(o) for o in args.origins.split(",")]
        tune = [int(o) for o in args.tune_origins.split(",") if o]
        tau, tuning = calibrate(data, tune, min(origins), cache, args.lags) if tune else (0.0, [])
        frames, infos = [], []
        for o in origins:
            for t in (0.0, tau):
                r, info = one_origin(data, o, cache, args.lags, t)
                frames.append(r.assign(heterogeneity=t))
                infos.append(info)
                print(info, summarise(r))
    res = pd.concat(frames, ignore_index=True)
    rows = []
    for t in (0.0, tau):
        r = res[res["heterogeneity"] == t]
        for o in origins:
            rows.append(
                {
                    "heterogeneity": t,
                    "origin": o,
                    "direction": "all",
                    **summarise(r[r["origin"] == o]),
                }
            )
        for name, m in (("fell", r["shock"] < 0), ("rose", r["shock"] > 0)):
            rows.append({"heterogeneity": t, "origin": "all", "direction": name, **summarise(r[m])})
        rows.append({"heterogeneity": t, "origin": "all", "direction": "all", **summarise(r)})
    text = [
        "## Held-back shock events (US counties)",
        "",
        f"- command: `.venv/bin/python benchmarks/scenarios.py --origins {args.origins} "
        f"--tune-origins {args.tune_origins}"
        + (f" --states {args.states}" if args.states else "")
        + f" --lags {args.lags}`",
        f"- date: {date.today()}; machine: {platform.machine()}, Python {platform.python_version()};"
        f" run time {time.perf_counter() - start:.0f} s",
        "- events: relative employment change >= 15% (either way) between the origin and one of "
        "the 3 years after it; population error at origin + 5",
        "- response: us_nonmetro estimate refitted on data up to each origin (lags "
        f"{args.lags}, 2000 LAUS break dropped)",
        "",
        f"- heterogeneity (spread of the response between places) calibrated to 80% coverage "
        f"on the events of the tuning origins {args.tune_origins}: **{tau:.3f}**",
        "",
        table(rows),
        "",
        "Tuning origins (response estimated on data up to the first test origin):",
        "",
        table(tuning) if tuning else "(none)",
        "",
        "Response used at each origin (cumulative effect by years since the change, se):",
        "",
        table(infos),
        "",
    ]
    Path(args.out).write_text("\n".join(text), encoding="utf-8")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
