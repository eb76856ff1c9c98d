"""The `forecast` command: a thin layer over `forecast.pipeline`."""

from __future__ import annotations

import logging
import sys
import tempfile
import time
import traceback
import warnings
from contextlib import contextmanager
from pathlib import Path

import click
import typer
from rich.console import Console
from rich.table import Table

from . import io
from .errors import DataWarning, ForecastError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Forecast towns' population and employment, explain, categorise.",
)
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 150)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@contextmanager
def _guard():
    """Turn package errors into a message and exit code 1; show data warnings by name."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        try:
            yield caught
        except ForecastError as exc:
            _fail(str(exc))
        finally:
            shown = [w for w in caught if issubclass(w.category, DataWarning)]
            for w in shown[:10]:
                err.print(f"[yellow]{w.category.__name__}:[/] {w.message}")
            if len(shown) > 10:
                err.print(f"[yellow]... and {len(shown) - 10} more data warnings[/]")


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
    from .schema import TARGETS

    with _guard():
        data = io.read_dataset(dataset)
    p = data.panel
    console.print(f"[bold]{data.name}[/] ({data.path})")
    console.print(
        f"units: {len(data.units):,} in {data.units['region'].nunique()} regions; "
        f"panel rows: {len(p):,}; years {int(p['year'].min())}-{int(p['year'].max())} "
        f"({p['year'].nunique()} distinct)"
    )
    t = Table("target", "units", "observations", "years", "first", "last", "obs per unit (median)")
    for target in TARGETS:
        if target not in p:
            continue
        obs = p[p[target].notna()]
        if obs.empty:
            continue
        per = obs.groupby("unit_id").size()
        t.add_row(
            target,
            f"{obs['unit_id'].nunique():,}",
            f"{len(obs):,}",
            str(obs["year"].nunique()),
            str(int(obs["year"].min())),
            str(int(obs["year"].max())),
            f"{per.median():g}",
        )
    console.print(t)
    if data.indicators:
        console.print("indicators: " + ", ".join(data.indicators))
    attrs = [c for c in data.units.columns if c not in ("name", "region")]
    console.print("unit attributes: " + (", ".join(attrs) or "none"))
    for name, df in (("regions.csv", data.regions), ("country.csv", data.country)):
        if df is not None:
            cols = [c for c in df.columns if c not in ("region", "year")]
            console.print(
                f"{name}: {len(df):,} rows, {int(df['year'].min())}-"
                f"{int(df['year'].max())}, columns {', '.join(cols)}"
            )
    if data.warnings:
        console.print(f"[yellow]{len(data.warnings)} suspicious-jump warning(s)[/]")
    console.print("[green]valid[/]")


@app.command()
def predict(
    data: str = typer.Option(..., "--data", help="dataset folder or bundled name"),
    as_of: int = typer.Option(..., "--as-of", help="train on observations up to this year"),
    horizons: str = typer.Option("5,10", help="comma-separated years ahead"),
    out: Path = typer.Option(..., "--out", help="output folder"),
    level: float = typer.Option(0.8, help="central coverage of the intervals"),
    config: Path | None = typer.Option(None, help="engine YAML (default experiments/engine.yaml)"),
):
    """Batch forecasts: OUT/forecasts.csv (unit_id,target,origin_year,horizon,year,...)."""
    from . import pipeline

    hs = _horizons(horizons)
    with _guard():
        if not 0 < level < 1:
            raise ForecastError(f"--level must be between 0 and 1, got {level}")
        cfg = pipeline.load_engine_config(config, level=level)
        ds = io.read_dataset(data)
        with _progress("forecasting") as report:
            _, table, _ = pipeline.predict(ds, as_of, hs, cfg, report)
        io.write_csv(table, out / "forecasts.csv", float_format="%.6g")
    console.print(f"wrote {len(table):,} rows to {out / 'forecasts.csv'}")


@app.command()
def run(
    data: str = typer.Option(io.BUNDLED_DEFAULT, "--data", help="dataset folder or bundled name"),
    as_of: int | None = typer.Option(None, "--as-of", help="default: latest year in the data"),
    config: Path | None = typer.Option(None, help="engine YAML (default experiments/engine.yaml)"),
    policy: Path | None = typer.Option(None, help="policy YAML (default experiments/policy.yaml)"),
    runs: Path | None = typer.Option(None, help="where run folders go (default runs/)"),
    track: bool = typer.Option(True, help="log the run to MLflow"),
):
    """The main job: validate, train, forecast, explain, categorise, report, track."""
    from . import pipeline

    start = time.perf_counter()
    with _guard():
        cfg = pipeline.load_engine_config(config)
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
    _print_run(res, time.perf_counter() - start)


@app.command()
def report(run_folder: Path = typer.Argument(..., help="a run folder made by `forecast run`")):
    """The decision-maker report of a run: RUN_FOLDER/report.html (EN/RU) and report.xlsx."""
    from .report.excel import write_workbook
    from .report.html import write_report

    with _guard():
        html_path = write_report(run_folder)
        xlsx_path = write_workbook(run_folder)
    console.print(f"wrote {html_path}")
    console.print(f"wrote {xlsx_path}")


def _years(text: str, option: str) -> list[int]:
    try:
        return sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        _fail(f"{option} must be years separated by commas, got {text!r}", 2)
        return []


@app.command()
def benchmark(
    data: str = typer.Option(..., "--data", help="dataset folder or bundled name"),
    test_origins: str = typer.Option(..., "--test-origins", help="held-back origin(s), e.g. 1996"),
    tune_origins: str = typer.Option("", "--tune-origins", help="origins used while tuning"),
    horizons: str = typer.Option("5,10", help="headline horizons"),
    peers: bool = typer.Option(False, help="also run statsforecast/mlforecast (bench extra)"),
    out: Path | None = typer.Option(None, help="results file (default benchmarks/results/<dataset>.md)"),
    config: Path | None = typer.Option(None, help="engine YAML (default experiments/engine.yaml)"),
):
    """Backtest the engine against the baselines (and peers) and write a results file."""
    from . import benchmark as bench
    from . import pipeline

    hs = _horizons(horizons)
    with _guard():
        cfg = pipeline.load_engine_config(config)
        ds = io.read_dataset(data)
        with _progress("benchmark") as report:
            rep = bench.run_benchmark(
                ds, tune_origins=_years(tune_origins, "--tune-origins"),
                test_origins=_years(test_origins, "--test-origins"), horizons=hs, config=cfg,
                peers=peers, progress=report,
            )
        text = bench.to_markdown(rep)
        path = out or io.project_root() / "benchmarks" / "results" / f"{ds.name}.md"
        io.write_text(text, path)
        io.write_csv(rep.results, path.with_suffix(".csv.gz"), float_format="%.6g")
    table = bench.headline(rep, rep.test_origins)
    t = Table(title=f"{ds.name}: held-back origin(s) {test_origins}")
    for col in ("target", "h", "method", "n", "MAPE", "ratio", "MALPE", "coverage"):
        t.add_column(col, justify="left" if col in ("target", "method") else "right")
    for r in table.itertuples():
        cov = getattr(r, "coverage", float("nan"))
        t.add_row(r.target, str(r.horizon), r.method, str(r.n), f"{r.mape:.2f}",
                  f"{r.mape_ratio:.3f}", f"{r.malpe:+.2f}", "" if cov != cov else f"{cov:.1%}")
    console.print(t)
    console.print(f"time {rep.seconds:.0f} s, peak memory {rep.peak_mb:,.0f} MB; wrote {path}")


def _print_run(res, seconds: float) -> None:
    level = int(round(res.config.level * 100))
    h = res.policy.horizon
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
        "conf.",
    ):
        t.add_column(
            col, justify="right" if col in ("latest", "forecast", "change", "conf.") else "left"
        )
    cats = res.categories.sort_values("change_pct", ascending=False)
    for r in cats.itertuples():
        t.add_row(
            str(r.name),
            str(r.region),
            f"{r.latest:,.0f} ({r.latest_year})",
            f"{r.forecast:,.0f}",
            f"{r.change_pct:+.1f}%",
            f"{r.lower_pct:+.1f}% .. {r.upper_pct:+.1f}%",
            r.category + (" *" if r.boundary else ""),
            f"{r.confidence:.0%}",
        )
    console.print(t)
    counts = res.categories["category"].value_counts()
    console.print(
        "categories: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + "   (* boundary case)"
    )
    console.print(f"outputs: {res.out_dir}")
    if res.run_id:
        console.print(f"MLflow run: {res.run_id}")
    console.print(f"done in {seconds:.1f}s")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        # without standalone mode, click returns (rather than raises) typer.Exit's code
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(1)
    except Exception:  # a bug, not bad input: keep the details, show one line
        log_file = Path(tempfile.gettempdir()) / "forecast-error.log"
        log_file.write_text(traceback.format_exc(), encoding="utf-8")
        err.print(
            f"[bold red]internal error:[/] {sys.exc_info()[1]!r}. This is a bug in town-prospects; "
            f"the details are in {log_file}"
        )
        sys.exit(3)
    if isinstance(code, int) and not isinstance(code, bool) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
