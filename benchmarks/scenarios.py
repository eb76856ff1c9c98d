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
Variants of the conditioning (`Variant`), every setting chosen on the events of the tuning
origins only: the symmetric response with one spread between places, and the response to rises
shrunk with a spread for each direction (`tune`). The held-back origins are only scored.
Writes benchmarks/results/scenarios_us.md (merged into benchmarks/results/scenarios.md).
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import time
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

import forecast
from forecast import io, pipeline
from forecast.response import ResponseEstimate, estimate, relative_changes
from forecast.scenario_apply import apply
from forecast.scenarios import EmploymentShock
from forecast.schema import Dataset

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


@dataclass
class Prepared:
    """One origin's shock events, their baseline, the realised surprises and the response."""

    origin: int
    base: pd.DataFrame
    shocks: list[EmploymentShock]
    actual: pd.Series
    shock: pd.Series
    response: ResponseEstimate
    fit_s: float


def prepare(data, origin: int, cache: Path, lags: int, response_cut: int | None = None) -> Prepared:
    """Events at `origin`; the response estimated on data up to `response_cut` (default: the
    origin) on US non-metro counties."""
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
    year = origin + H
    actual = data.panel[data.panel["year"] == year].set_index("unit_id")["population"]
    return Prepared(origin, fc[fc["unit_id"].isin(units)], shocks, actual, ev, resp, fit_s)


def fell(r: pd.DataFrame) -> pd.DataFrame:
    return r[r["shock"] < 0]


def rose(r: pd.DataFrame) -> pd.DataFrame:
    return r[r["shock"] > 0]


@dataclass(frozen=True)
class Variant:
    """How the realised employment path conditions the forecast (forecast.scenario_apply)."""

    name: str
    heterogeneity: float = 0.0
    rise_scale: float = 1.0
    heterogeneity_rise: float | None = None


def condition(p: Prepared, v: Variant) -> pd.DataFrame:
    """Baseline and conditioned population at origin + H, with the realised one."""
    traj = apply(
        p.base,
        p.shocks,
        [],
        p.response,
        ["realised"],
        0.8,
        v.heterogeneity,
        rise_scale=v.rise_scale,
        heterogeneity_rise=v.heterogeneity_rise,
    ).forecasts["realised"]
    year = p.origin + H
    b = p.base[(p.base["target"] == "population") & (p.base["year"] == year)].set_index("unit_id")
    c = traj[(traj["target"] == "population") & (traj["year"] == year)].set_index("unit_id")
    return pd.DataFrame(
        {
            "origin": p.origin,
            "actual": p.actual.reindex(b.index),
            "baseline": b["forecast"],
            "baseline_lower": b["lower"],
            "baseline_upper": b["upper"],
            "conditioned": c["forecast"].reindex(b.index),
            "lower": c["lower"].reindex(b.index),
            "upper": c["upper"].reindex(b.index),
            "shock": p.shock.reindex(b.index),
        }
    ).dropna()


def results(preps: list[Prepared], v: Variant) -> pd.DataFrame:
    return pd.concat([condition(p, v) for p in preps], ignore_index=True)


def coverage(r: pd.DataFrame) -> float:
    return float(((r["actual"] >= r["lower"]) & (r["actual"] <= r["upper"])).mean())


def bisect_tau(score, target: float = 0.8, hi: float = 3.0) -> float:
    """The smallest spread in [0, hi] whose coverage `score(tau)` reaches `target` (coverage
    grows with the spread); 0 when the baseline ranges already reach it."""
    if score(0.0) >= target:
        return 0.0
    lo = 0.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if score(mid) < target else (lo, mid)
        if hi - lo < 0.005:
            break
    return round(hi, 3)


def tune(preps: list[Prepared]) -> tuple[list[Variant], list[dict]]:
    """The variants, each tuned on the tuning origins' events only.

    * symmetric: one spread for all events, calibrated to 80% coverage (the earlier method);
    * by direction: the response to rises shrunk by the share (0, 0.25, ..., 1) with the least
      MAPE on the tuning events, then a spread for falls and one for rises, each calibrated to
      80% coverage on the tuning events of its direction.
    """
    rows = []
    sym_tau = bisect_tau(lambda t: coverage(results(preps, Variant("s", t))))
    symmetric = Variant("symmetric", sym_tau)
    mape = {}
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        r = results(preps, Variant("s", 0.0, share))
        mape[share] = summarise(r)["mape_conditioned"]
        rows.append(
            {"variant": f"rise share {share}, spread 0", "origin": "tuning", "direction": "all"}
            | summarise(r)
        )
    share = min(mape, key=lambda k: (mape[k], -k))  # ties: the larger share (less shrinkage)
    tau_f, tau_r = sym_tau, sym_tau
    for _ in range(2):  # each direction's spread, the other held (events mix signed steps)
        tau_f = bisect_tau(
            lambda t, other=tau_r: coverage(fell(results(preps, Variant("d", t, share, other))))
        )
        tau_r = bisect_tau(
            lambda t, other=tau_f: coverage(rose(results(preps, Variant("d", other, share, t))))
        )
    by_direction = Variant("by direction", tau_f, share, tau_r)
    variants = [Variant("unconditioned spread (tau 0)"), symmetric, by_direction]
    for v in variants:
        r = results(preps, v)
        for name, part in (("fell", fell(r)), ("rose", rose(r)), ("all", r)):
            rows.append(
                {"variant": v.name, "origin": "tuning", "direction": name} | summarise(part)
            )
    return variants, rows


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


def describe(v: Variant) -> str:
    rise = "" if v.heterogeneity_rise is None else f", rises {v.heterogeneity_rise}"
    return f"{v.name} (spread {v.heterogeneity}{rise}; response to rises x {v.rise_scale})"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--origins", default="2000,2001", help="held-back test origins")
    ap.add_argument(
        "--tune-origins",
        default="1994,1995",
        help="origins whose events choose the variants' settings (response estimated on data "
        "up to the first test origin)",
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
        tune_at = [int(o) for o in args.tune_origins.split(",") if o]
        tuning = [prepare(data, o, cache, args.lags, response_cut=min(origins)) for o in tune_at]
        variants, tune_rows = tune(tuning)
        tests = [prepare(data, o, cache, args.lags) for o in origins]
    rows = []
    for v in variants:
        r = results(tests, v)
        for o in origins:
            rows.append(
                {"variant": v.name, "origin": o, "direction": "all"}
                | summarise(r[r["origin"] == o])
            )
        for name, m in (("fell", r["shock"] < 0), ("rose", r["shock"] > 0)):
            rows.append({"variant": v.name, "origin": "all", "direction": name} | summarise(r[m]))
        rows.append({"variant": v.name, "origin": "all", "direction": "all"} | summarise(r))
    infos = [
        {
            "origin": p.origin,
            "fit_s": round(p.fit_s, 1),
            "events": len(p.shock),
            "response": ", ".join(
                f"{e:.3f} ({s:.3f})" for e, s in zip(p.response.effect, p.response.se, strict=True)
            ),
            "response_years": f"{p.response.first_year}-{p.response.last_year}",
        }
        for p in tuning + tests
    ]
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
        "- response: us_nonmetro estimate refitted on data up to each test origin (lags "
        f"{args.lags}, 2000 LAUS break dropped); at the tuning origins on data up to the first "
        "test origin",
        f"- variants, every setting chosen on the events of the tuning origins {args.tune_origins}"
        " only:",
        *[f"  - {describe(v)}" for v in variants],
        "",
        "Held-back test origins:",
        "",
        table(rows),
        "",
        f"Tuning origins {args.tune_origins} (where the settings were chosen):",
        "",
        table(tune_rows),
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
