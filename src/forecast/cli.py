"""The `forecast` command: a thin layer over `forecast.pipeline`."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import traceback
import warnings
from contextlib import contextmanager
from pathlib import Path

import click
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from . import io
from .errors import DataWarning, ForecastError
from .facts import moves_since_previous
from .inventory import inventory

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Forecast towns' population and employment, explain, categorise.",
)
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 150)


# options several commands share, written once
def _data_option(default):
    return typer.Option(default, "--data", help="dataset folder or bundled name")


def _config_option():
    return typer.Option(
        None,
        help="engine YAML (default experiments/engine_<dataset>.yaml if present, else engine.yaml)",
    )


def _policy_option():
    return typer.Option(None, help="policy YAML (default experiments/policy.yaml)")


def _runs_option():
    return typer.Option(
        None,
        "--runs-dir",
        "--runs",
        help="where run folders go (default $TOWN_PROSPECTS_RUNS, else ./runs)",
    )


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@contextmanager
def _guard():
    """Turn package errors into a message and exit code 1; show data warnings by name (the
    first ten) and any other warning as Python would."""
    caught: list[warnings.WarningMessage] = []
    error: ForecastError | None = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            yield caught
    except ForecastError as exc:
        error = exc
    finally:  # the recorder is gone here: warnings shown now reach the user
        _show_warnings(caught)
    if error is not None:
        _fail(str(error))


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        if not issubclass(w.category, DataWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    for line in data_warning_lines([w for w in caught if issubclass(w.category, DataWarning)]):
        err.print(line)


def data_warning_lines(shown: list[warnings.WarningMessage], per_kind: int = 3) -> list[str]:
    """The data warnings by kind: the first `per_kind` of each in full, then how many more of
    that kind (a run's run.json and report keep every one), so that a rare kind is not buried
    under dozens of a common one."""
    kinds: dict[str, list[str]] = {}
    for w in shown:
        kinds.setdefault(w.category.__name__, []).append(str(w.message))
    lines = []
    for kind, messages in kinds.items():
        lines += [f"[yellow]{kind}:[/] {m}" for m in messages[:per_kind]]
        if len(messages) > per_kind:
            lines.append(
                f"[yellow]... and {len(messages) - per_kind} more {kind} (a run keeps every "
                "warning in its run.json and report)[/]"
            )
    return lines


@contextmanager
def _progress(title: str):
    start = time.perf_counter()
    with err.status(title) as status:

        def report(msg: str) -> None:
            err.print(f"[dim]{time.perf_counter() - start:6.1f}s[/] {msg}")
            status.update(msg)

        yield report


def _horizons(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        _fail(f"--horizons must be whole numbers separated by commas, got {text!r}", 2)
    if not values or min(values) < 1:
        _fail(f"--horizons must be positive, got {text!r}", 2)
    return sorted(set(values))


@app.command()
def validate(dataset: str = typer.Argument(..., help="dataset folder or bundled name")):
    """Check a dataset against the data contract and print a summary."""
    with _guard():
        data = io.read_dataset(dataset)
    inv = inventory(data)
    console.print(f"[bold]{data.name}[/] ({data.path})")
    console.print(
        f"units: {inv.units:,} in {inv.regions} regions; panel rows: {inv.rows:,}; "
        f"years {inv.first_year}-{inv.last_year} ({inv.distinct_years} distinct)"
    )
    t = Table("target", "units", "observations", "years", "first", "last", "obs per unit (median)")
    for r in inv.targets.itertuples():
        t.add_row(
            r.target,
            f"{r.units:,}",
            f"{r.observations:,}",
            str(r.years),
            str(r.first),
            str(r.last),
            f"{r.obs_per_unit_median:g}",
        )
    console.print(t)
    if inv.indicators:
        console.print("indicators: " + ", ".join(inv.indicators))
    console.print("unit attributes: " + (", ".join(inv.attributes) or "none"))
    for line in inv.extra_tables:
        console.print(line)
    if inv.suspicious_jumps:
        console.print(f"[yellow]{inv.suspicious_jumps} suspicious-jump warning(s)[/]")
    console.print("[green]valid[/]")


@app.command()
def predict(
    data: str = _data_option(...),
    as_of: int | None = typer.Option(
        None, "--as-of", help="train on observations up to this year (not with --model)"
    ),
    horizons: str | None = typer.Option(
        None, help="comma-separated years ahead (default: the config's; with --model the model's)"
    ),
    out: Path = typer.Option(..., "--out", help="output folder"),
    level: float | None = typer.Option(
        None, help="central coverage of the intervals (default: the config's)"
    ),
    config: Path | None = _config_option(),
    model: str | None = typer.Option(
        None,
        "--model",
        help="serve a registered model instead of training, e.g. "
        "models:/town-prospects-kz_towns@champion (forecasts from the model's as-of year)",
    ),
):
    """Batch forecasts: OUT/forecasts.csv (unit_id,target,origin_year,horizon,year,...)."""
    from . import pipeline

    hs = _horizons(horizons) if horizons else None
    if model:
        if level is not None or config is not None:
            _fail("--level and --config do not apply with --model: the model keeps its own", 2)
        with _guard():
            from . import registry

            ds = io.read_dataset(data)
            with _progress(f"serving {model}"):
                table, meta = registry.predict(model, ds.panel, horizons=hs)
            if as_of is not None and as_of != int(meta.get("as_of", as_of)):
                raise ForecastError(
                    f"{model} was trained as of {meta['as_of']}, not {as_of}: it forecasts "
                    "from its own as-of year (leave out --as-of, or retrain)"
                )
            io.write_csv(table, out / "forecasts.csv", float_format="%.6g")
        console.print(
            f"wrote {len(table):,} rows to {out / 'forecasts.csv'} "
            f"({model}, as of {meta.get('as_of')})"
        )
        return
    if as_of is None:
        _fail("--as-of is required (or serve a registered model with --model)", 2)
    with _guard():
        if level is not None and not 0 < level < 1:
            raise ForecastError(f"--level must be between 0 and 1, got {level}")
        cfg = pipeline.load_engine_config(config, dataset=data, level=level)
        ds = io.read_dataset(data)
        with _progress("forecasting") as report:
            table = pipeline.predict(ds, as_of, hs or cfg.horizons, cfg, report)
        io.write_csv(table, out / "forecasts.csv", float_format="%.6g")
    console.print(f"wrote {len(table):,} rows to {out / 'forecasts.csv'}")


@app.command()
def run(
    data: str = _data_option(io.BUNDLED_DEFAULT),
    as_of: int | None = typer.Option(None, "--as-of", help="default: latest year in the data"),
    config: Path | None = _config_option(),
    policy: Path | None = _policy_option(),
    runs: Path | None = _runs_option(),
    track: bool = typer.Option(True, help="log the run to MLflow"),
    pdf: bool = typer.Option(
        False, "--pdf", help="also print the report to report.pdf (when Chromium is installed)"
    ),
):
    """The main job: validate, train, forecast, explain, categorise, report, track."""
    from . import pipeline
    from .report.pdf import find_browser, write_pdf

    start = time.perf_counter()
    with _guard():
        cfg = pipeline.load_engine_config(config, dataset=data)
        with _progress("running") as report:
            res = pipeline.run(
                data,
                as_of=as_of,
                config=cfg,
                policy_path=policy,
                runs_root=runs,
                track=track,
                progress=report,
            )
        if pdf and find_browser():
            write_pdf(res.out_dir / "report.html")
    _print_run(res, time.perf_counter() - start)
    if pdf:
        pdf_path = res.out_dir / "report.pdf"
        console.print(
            f"pdf: {pdf_path}"
            if pdf_path.exists()
            else "pdf: not written (headless Chromium is not installed: apt-get install chromium)"
        )


@app.command()
def scenario(
    scenarios: Path | None = typer.Option(
        None, "--scenarios", help="scenario YAML (default experiments/scenarios.yaml)"
    ),
    data: str = _data_option(io.BUNDLED_DEFAULT),
    config: Path | None = _config_option(),
    policy: Path | None = _policy_option(),
    runs: Path | None = _runs_option(),
    track: bool = typer.Option(True, help="log the scenarios to MLflow"),
    reuse: bool = typer.Option(
        True,
        "--reuse/--refit",
        help="reuse the baseline of the newest finished run of the same data and engine config "
        "(default), or fit the engine again",
    ),
):
    """What if: each scenario's trajectories with 80% ranges and the category under it."""
    from . import pipeline, scenario_run

    start = time.perf_counter()
    with _guard():
        path = scenarios or pipeline.experiments_dir() / scenario_run.DEFAULT_SCENARIOS
        if not path.exists():
            raise ForecastError(f"{path}: no scenario file (give --scenarios FILE)")
        cfg = pipeline.load_engine_config(config, dataset=data)
        pol, _ = pipeline.resolve_policy(policy)
        with _progress("scenarios") as report:
            res = scenario_run.run(
                data,
                path,
                config=cfg,
                policy=pol,
                runs_root=runs,
                track=track,
                reuse=reuse,
                progress=report,
            )
    cats = res.categories
    th = pol.thresholds
    # the outcome probabilities the rules read (as categories.csv and the report do)
    probs = {
        "p_decline": f"P(< {th.decline_pct:+.0f}%)",
        "p_stabilize": "P(between)",
        "p_growth": f"P(>= {th.growth_pct:+.0f}%)",
    }
    t = Table(title=f"category under each scenario ({path.name})")
    for col in ("scenario", "town", "baseline", "category", *probs.values(), "change"):
        t.add_column(col, justify="right" if col in (*probs.values(), "change") else "left")
    for r in cats[cats["changed"]].itertuples():
        t.add_row(
            r.scenario,
            str(r.name),
            r.baseline_category,
            r.category,
            *(f"{getattr(r, p):.0%}" for p in probs),
            f"{r.change_pct:+.1f}% ({r.baseline_change_pct:+.1f}%)",
        )
    console.print(t if cats["changed"].any() else "no scenario changes a category")
    effects = res.trajectories.effects
    if effects is not None and not effects.empty:  # how sure the population response is
        console.print(f"population response to each job change ({effects['year'].iloc[0]}):")
        for note in effects["note"]:
            console.print(f"  - {note}")
    robust = scenario_run.robust_units(cats)
    console.print(
        f"{int(robust['robust'].sum())} of {len(robust)} towns keep their category under all "
        f"{len(res.spec.scenarios)} scenarios; outputs in {res.out_dir} "
        f"({time.perf_counter() - start:.1f} s)"
    )


@app.command("retrain")
def retrain_command(
    data: str = _data_option(io.BUNDLED_DEFAULT),
    as_of: int | None = typer.Option(
        None, "--as-of", help="train the challenger on data up to this year (default: latest)"
    ),
    config: Path | None = _config_option(),
    policy: Path | None = _policy_option(),
    runs: Path | None = _runs_option(),
):
    """Train a challenger, score it and the champion on the same backtest origins, and move the
    `champion` alias only if the promotion rule of the config holds."""
    from . import pipeline
    from . import retrain as retrain_mod

    start = time.perf_counter()
    with _guard():
        cfg = pipeline.load_engine_config(config, dataset=data)
        with _progress("retraining") as report:
            res = retrain_mod.retrain(
                data, as_of, config=cfg, policy_path=policy, runs_root=runs, progress=report
            )
    _print_retrain(res, time.perf_counter() - start)


def _print_retrain(res, seconds: float) -> None:
    d = res.decision
    m = d.metric.upper()
    t = Table(
        title=f"{d.dataset}: champion vs challenger, {d.target} +{d.horizon} years "
        f"(same origins: {', '.join(str(r['origin']) for r in d.per_origin) or 'none'})"
    )
    for col in ("", "version", "as of", m, "MdAPE", "bias", "coverage", "width", "cells"):
        t.add_column(col, justify="left" if col in ("", "version") else "right")

    def f(v, spec):
        return "n/a" if v is None or v != v else format(v, spec)

    for label, side in (("champion", d.champion), ("challenger", d.challenger)):
        if side is None:
            t.add_row(label, "none", "", "", "", "", "", "", "")
            continue
        s = side.scores
        t.add_row(
            label,
            f"v{side.version}",
            str(side.as_of),
            f(s.metric, ".2f") if s else "n/a",
            f(s.mdape, ".2f") if s else "n/a",
            f(s.bias, "+.2f") if s else "n/a",
            f(s.coverage, ".1%") if s else "n/a",
            f(s.width, ".1f") if s else "n/a",
            str(s.n) if s else "0",
        )
    console.print(t)
    if d.champion is not None and d.age:
        console.print(
            f"[dim]the champion is {d.age} year(s) older: its config is fitted at each origin "
            f"minus {d.age} and forecasts the same target years[/]"
        )
    colour = "green" if d.promoted else "yellow"
    console.print(f"[bold {colour}]{d.summary()}[/]")
    tr = Table(title="category transitions (rows: champion, columns: challenger)")
    for col in res.transition_table.columns:
        tr.add_column(str(col), justify="left" if col in ("from", "category") else "right")
    for row in res.transition_table.itertuples(index=False):
        tr.add_row(*[str(v) for v in row])
    console.print(tr)
    if not res.changes.empty:
        shown = res.changes.head(15)
        names = ", ".join(
            f"{r['name'] if isinstance(r.get('name'), str) else r['unit_id']} "
            f"({r['from']} -> {r['to']})"
            for r in shown.to_dict("records")
        )
        more = f" and {len(res.changes) - 15} more" if len(res.changes) > 15 else ""
        console.print(f"{len(res.changes)} unit(s) change category: {names}{more}")
    champ = d.challenger.version if d.promoted else d.champion_version
    console.print(
        f"aliases: champion -> v{champ}, challenger -> v{d.challenger.version}; "
        f"decision logged on MLflow run {d.challenger.run_id}"
    )
    console.print(f"outputs: {res.run.out_dir}")
    console.print(f"done in {seconds:.1f}s")


@app.command()
def report(
    run_folder: Path = typer.Argument(..., help="a run folder made by `forecast run`"),
    pdf: bool = typer.Option(False, "--pdf", help="also write report.pdf (headless Chromium)"),
    lang: str = typer.Option("en", "--lang", help="language of the PDF: en, ru or kk"),
):
    """The decision-maker report of a run: RUN_FOLDER/report.html (KK/RU/EN) and report.xlsx."""
    from .report.excel import write_workbook
    from .report.html import write_report
    from .report.pdf import write_pdf
    from .report.text import LANGS

    if lang not in LANGS:
        _fail(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}", 2)
    with _guard():
        html_path = write_report(run_folder)
        xlsx_path = write_workbook(run_folder)
    console.print(f"wrote {html_path}")
    console.print(f"wrote {xlsx_path}")
    if pdf:
        with _guard():
            pdf_path = write_pdf(html_path, lang)
        console.print(f"wrote {pdf_path}")


@app.command()
def export(
    data: str = typer.Option(io.BUNDLED_DEFAULT, "--data", help="dataset name (or folder)"),
    model: str | None = typer.Option(
        None, "--model", help="registered model (default models:/town-prospects-<dataset>@champion)"
    ),
    out: Path | None = typer.Option(None, "--out", help="models folder (default ./models)"),
):
    """Write a registered model to OUT/<registered name>/ in MLflow's model format, loadable with
    mlflow.pyfunc.load_model on a machine without the tracking store."""
    with _guard():
        from . import export as export_mod

        uri = model or export_mod.champion_uri(Path(data).name)
        done = export_mod.export_model(uri, out)
    console.print(f"wrote {done.path} ({done.name} version {done.version}, from {uri})")


def _years(text: str, option: str) -> list[int]:
    try:
        return sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        _fail(f"{option} must be years separated by commas, got {text!r}", 2)
        return []


@app.command()
def benchmark(
    data: str = _data_option(...),
    test_origins: str = typer.Option(..., "--test-origins", help="held-back origin(s), e.g. 1996"),
    tune_origins: str = typer.Option("", "--tune-origins", help="origins used while tuning"),
    horizons: str = typer.Option("5,10", help="headline horizons"),
    peers: bool = typer.Option(False, help="also run statsforecast/mlforecast (bench extra)"),
    out: Path | None = typer.Option(
        None, help="results file (default benchmarks/results/<dataset>.md)"
    ),
    config: Path | None = _config_option(),
):
    """Backtest the engine against the baselines (and peers) and write a results file."""
    from . import benchmark as bench
    from . import pipeline

    hs = _horizons(horizons)
    with _guard():
        cfg = pipeline.load_engine_config(config, dataset=data)
        ds = io.read_dataset(data)
        with _progress("benchmark") as report:
            rep = bench.run_benchmark(
                ds,
                tune_origins=_years(tune_origins, "--tune-origins"),
                test_origins=_years(test_origins, "--test-origins"),
                horizons=hs,
                config=cfg,
                peers=peers,
                progress=report,
            )
        path = out or io.project_root() / "benchmarks" / "results" / f"{ds.name}.md"
        io.write_csv(rep.results, path.with_suffix(".csv.gz"), float_format="%.6g")
        io.write_text(bench.to_markdown(rep), path)
    table = bench.headline(rep, rep.test_origins)
    t = Table(title=f"{ds.name}: held-back origin(s) {test_origins}")
    for col in ("target", "h", "method", "n", "MAPE", "ratio", "MALPE", "coverage"):
        t.add_column(col, justify="left" if col in ("target", "method") else "right")
    for r in table.itertuples():
        cov = getattr(r, "coverage", float("nan"))
        t.add_row(
            r.target,
            str(r.horizon),
            r.method,
            str(r.n),
            f"{r.mape:.2f}",
            f"{r.mape_ratio:.3f}",
            f"{r.malpe:+.2f}",
            "" if cov != cov else f"{cov:.1%}",
        )
    console.print(t)
    console.print(f"time {rep.seconds:.0f} s, peak memory {rep.peak_mb:,.0f} MB; wrote {path}")


@app.command("reality-check")
def reality_check(
    data: str = _data_option(...),
    origin: int = typer.Option(..., "--origin", help="categorise from data up to this year"),
    policy: Path | None = _policy_option(),
    group: str | None = typer.Option(
        None, help="0/1 units.csv column for a subgroup [default: mining_dependent, if present]"
    ),
    out: Path | None = typer.Option(
        None, help="results file (default benchmarks/results/reality_check_<dataset>.md)"
    ),
    config: Path | None = _config_option(),
):
    """Categorise at a past origin and compare with what happened by origin + policy horizon."""
    from . import pipeline
    from . import reality as rc

    with _guard():
        cfg = pipeline.load_engine_config(config, dataset=data)
        pol, _ = pipeline.resolve_policy(policy)
        ds = io.read_dataset(data)
        if group is not None and group not in ds.units.columns:  # before minutes of fitting
            raise ForecastError(
                f"--group {group!r} is not a column of {ds.name}/units.csv (its columns: "
                f"{', '.join(map(str, ds.units.columns))})"
            )
        group = group or "mining_dependent"
        with _progress("reality check") as report:
            by_variant = rc.reality_check(ds, origin, pol, cfg, report)
        path = out or io.project_root() / "benchmarks" / "results" / f"reality_check_{ds.name}.md"
        rc.write_results(
            by_variant,
            ds,
            origin,
            pol,
            path,
            group=group,
            command=f"forecast {' '.join(sys.argv[1:])}",
        )
        for name, cats in by_variant.items():
            console.print(f"[bold]{name}[/]")
            console.print(rc.confusion(cats).to_string())
            for line in rc.summary_lines(rc.summary(cats)):
                console.print(f"  {line}")
    console.print(f"wrote {path}")


def _print_run(res, seconds: float) -> None:
    level = int(round(res.config.level * 100))
    h = res.policy.horizon
    # the probability of the fall the resettle rule reads (as the report's headline does), not a
    # "confidence" that a reader could take for how sure the decision is
    fall = f"P(< {res.policy.thresholds.decline_pct:+.0f}%)"
    t = Table(
        title=f"{res.data.name}: population forecast to {res.forecaster.origin_ + h} "
        f"(+{h} years from {res.forecaster.origin_}), {level}% interval"
    )
    for col in (
        "unit",
        "region",
        "latest",
        "forecast",
        "change",
        f"{level}% interval",
        "category",
        fall,
    ):
        t.add_column(
            col, justify="right" if col in ("latest", "forecast", "change", fall) else "left"
        )
    cats = res.categories.sort_values("change_pct", ascending=False)
    shown = cats
    if len(cats) > 40:  # large panels: the 20 strongest growth and decline forecasts
        shown = pd.concat([cats.head(20), cats.tail(20)])
        t.caption = f"{len(cats) - 40:,} more units in categories.csv"
    for r in shown.itertuples():
        t.add_row(
            str(r.name),
            str(r.region),
            f"{r.latest:,.0f} ({r.latest_year})",
            f"{r.forecast:,.0f}",
            f"{r.change_pct:+.1f}%",
            f"{r.lower_pct:+.1f}% .. {r.upper_pct:+.1f}%",
            r.category + (" *" if r.boundary else ""),
            f"{getattr(r, 'p_decline', float('nan')):.0%}",
        )
    console.print(t)
    counts = res.categories["category"].value_counts()
    console.print(
        "categories: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + "   (* boundary case)"
    )
    moved = moves_since_previous(res.categories)
    if moved is not None:
        held = int(res.categories["held_by_hysteresis"].astype(bool).sum())
        console.print(
            "since the previous run: "
            + (", ".join(f"{a} -> {b}: {n}" for (a, b), n in moved.items()) or "no changes")
            + f"; {held} kept by the hysteresis margin"
        )
    console.print(f"outputs: {res.out_dir}")
    console.print(f"report: {res.out_dir / 'report.html'}")
    if res.run_id:
        console.print(f"MLflow run: {res.run_id}")
    console.print(f"done in {seconds:.1f}s")


@app.command("import-bns")
def import_bns(
    inputs: list[Path] = typer.Argument(..., help="BNS workbooks (.xls/.xlsx) or folders"),
    out: Path = typer.Option(..., "--out", help="dataset folder to write"),
):
    """Import the Bureau of National Statistics' regional workbooks into a dataset folder."""
    from .importers.dataset import format_summary, run_import

    with _guard():
        summary = run_import(inputs, out)
    console.print(format_summary(summary, out))


def _click_classes(name: str) -> tuple[type[BaseException], ...]:
    """click's exception class `name`, and the same class of the copy of click that typer
    vendors (typer >= 0.16 raises its own): without both, a usage error such as a misspelt
    option was reported as an internal error."""
    vendored = sys.modules.get(typer.BadParameter.__module__)
    found = [getattr(m, name, None) for m in (click.exceptions, vendored)]
    return tuple(dict.fromkeys(c for c in found if isinstance(c, type)))


EXITS = (*_click_classes("Exit"), typer.Exit)
USAGE_ERRORS = _click_classes("ClickException")
ABORTS = (*_click_classes("Abort"), typer.Abort)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # MLflow's own chatter (INFO logs, download progress bars); the user can override both
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        # without standalone mode, click returns (rather than raises) typer.Exit's code
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except EXITS as exc:
        sys.exit(exc.exit_code)
    except USAGE_ERRORS as exc:  # a misspelt option, a missing argument: click's own message
        exc.show()
        sys.exit(exc.exit_code)
    except ABORTS:
        err.print("aborted")
        sys.exit(1)
    except Exception:  # a bug, not bad input: keep the details, show one line
        # a file of its own: a fixed name clashes between users (and runs) of a shared machine
        fd, name = tempfile.mkstemp(prefix="forecast-error-", suffix=".log")
        log_file = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(traceback.format_exc())
        err.print(
            f"[bold red]internal error:[/] {sys.exc_info()[1]!r}. This is a bug in town-prospects; "
            f"the details are in {log_file}"
        )
        sys.exit(3)
    if isinstance(code, int) and not isinstance(code, bool) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
