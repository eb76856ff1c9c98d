"""Benchmarks: our engine against the demographic baselines and peers, on the same origins.

`run_benchmark` backtests tuning origins and a held-back test origin, adds peer methods when
asked, and `to_markdown` writes the results file (command, date, machine, tables).
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from . import __version__, markdown
from . import backtest as bt
from .baselines import BASELINES
from .config import EngineConfig
from .schema import Dataset

HEADLINE = ("combined", "model", *BASELINES)


@dataclass
class BenchmarkReport:
    dataset: str
    results: pd.DataFrame
    tune_origins: list[int]
    test_origins: list[int]
    headline_horizons: list[int]
    seconds: float
    peak_mb: float
    command: str
    config: EngineConfig
    methods: tuple[str, ...] = HEADLINE
    type_column: str | None = None
    notes: list[str] = field(default_factory=list)


def _peak_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


def run_benchmark(
    data: Dataset,
    *,
    tune_origins: list[int],
    test_origins: list[int],
    horizons: list[int],
    config: EngineConfig,
    peers: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> BenchmarkReport:
    start = time.perf_counter()
    all_h = list(range(1, max(horizons) + 1))
    results = bt.rolling_origin(
        data, sorted(set(tune_origins + test_origins)), all_h, config, progress
    )
    methods = HEADLINE
    if peers:
        from .peers import PEERS, peer_forecasts

        frames = []
        for origin in sorted(set(tune_origins + test_origins)):
            for target in data.targets:
                progress(f"peers: {target} origin {origin}")
                pf = peer_forecasts(data, target, origin, max(all_h))
                frames.append(pf.assign(target=target, origin=origin))
        peer = pd.concat(frames, ignore_index=True)
        results = results.merge(peer, on=["target", "origin", "unit_id", "year"], how="left")
        methods = (*HEADLINE, *PEERS)
    type_column = next(
        (c for c in ("economic_type", "main_industry", "monotown") if c in data.units), None
    )
    results = bt.with_groups(results, data.units, config.size_breaks, type_column)
    return BenchmarkReport(
        dataset=data.name,
        results=results,
        tune_origins=sorted(tune_origins),
        test_origins=sorted(test_origins),
        headline_horizons=sorted(horizons),
        seconds=time.perf_counter() - start,
        peak_mb=_peak_mb(),
        command=" ".join(["forecast", *sys.argv[1:]]) if sys.argv else "forecast benchmark",
        config=config,
        methods=methods,
        type_column=type_column,
    )


def headline(report: BenchmarkReport, origins: list[int]) -> pd.DataFrame:
    r = report.results[
        report.results["origin"].isin(origins)
        & report.results["horizon"].isin(report.headline_horizons)
    ]
    m = bt.metrics(r, ["target", "horizon"], report.methods)
    return bt.ratio_to_best_baseline(m, ["target", "horizon"])


def _machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f", {kb / 1024**2:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}"


def _table(df: pd.DataFrame, cols: list[str], digits: int = 2) -> str:
    return markdown.table(df, cols, floats=f".{digits}f")


def to_markdown(report: BenchmarkReport) -> str:
    cols = [
        "target",
        "horizon",
        "method",
        "n",
        "mape",
        "mape_ratio",
        "mdape",
        "malpe",
        "ape_p90",
        "wmape",
        "coverage",
        "width_pct",
    ]
    out = [
        f"# Benchmark: {report.dataset}",
        "",
        f"- command: `{report.command}`",
        f"- date: {date.today().isoformat()}; town-prospects {__version__}",
        f"- machine: {_machine()}",
        f"- run time: {report.seconds:.0f} s; peak memory (RSS): {report.peak_mb:,.0f} MB",
        f"- tuning origins: {', '.join(map(str, report.tune_origins)) or 'none'}; "
        f"held-back test origin(s): {', '.join(map(str, report.test_origins))}",
        f"- engine: target_mode={report.config.target_mode}, combine={report.config.combine}, "
        f"level={report.config.level}, calibration_offsets={report.config.calibration_offsets}",
        "",
        "MAPE, MdAPE, MALPE (bias; + = over-forecast), 90th percentile APE and population-weighted "
        "MAPE (wMAPE) in percent; `mape_ratio` = MAPE / MAPE of the best baseline in the same "
        "row group (< 1 beats every baseline); coverage and median width (percent of the "
        f"forecast) of the {report.config.level:.0%} interval. `combined` is the forecast the "
        "tool publishes; `model` is the LightGBM part alone.",
        "",
    ]
    out += [*report.notes, ""] if report.notes else []
    out += ["## Held-back test", "", _table(headline(report, report.test_origins), cols), ""]
    if report.tune_origins:
        out += ["## Tuning origins (seen while choosing settings; for context only)", ""]
        for o in report.tune_origins:
            out += [f"### Origin {o}", "", _table(headline(report, [o]), cols), ""]
    test = report.results[report.results["origin"].isin(report.test_origins)]
    out += ["## Interval coverage by horizon (test)", ""]
    cov = bt.metrics(test, ["target", "horizon"], ("combined",))
    out += [_table(cov, ["target", "horizon", "n", "coverage", "width_pct", "mape"]), ""]
    for group in ("size_class", report.type_column):
        if not group or group not in test:
            continue
        t = test[test["horizon"].isin(report.headline_horizons)]
        m = bt.metrics(t, ["target", "horizon", group], report.methods)
        m = bt.ratio_to_best_baseline(m, ["target", "horizon", group])
        m = m[m["method"].isin(["combined", "model"])]
        out += [
            f"## By {group} (test)",
            "",
            _table(
                m,
                [
                    "target",
                    "horizon",
                    group,
                    "method",
                    "n",
                    "mape",
                    "mape_ratio",
                    "malpe",
                    "coverage",
                ],
            ),
            "",
        ]
    return "\n".join(out)
