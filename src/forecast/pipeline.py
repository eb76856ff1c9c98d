"""Composes the stages: validate -> fit -> forecast -> explain -> categorize -> write -> track.

Outputs of a run are written into a hidden temporary folder and moved into place only when all
of them exist, so a run that fails halfway leaves nothing half-written behind (see
:mod:`forecast.runs`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import backtest as backtest_mod
from . import compose, fitcache, io, runs, scenario_run, towns, tracking
from . import explain as explain_mod
from .config import EngineConfig, load_yaml_model
from .coverage import coverage_by_origin
from .engine import Forecaster
from .errors import ConfigError, ForecastError
from .policy import Policy, load_policy, sensitivity_summary
from .report.excel import write_workbook
from .report.html import write_report
from .report.summary import render_summary
from .schema import Dataset

__all__ = [
    "RunResult",
    "fit",
    "load_engine_config",
    "predict",
    "resolve_policy",
    "run",
]

Progress = Callable[[str], None]
DEFAULT_CONFIG = "engine.yaml"
DEFAULT_POLICY = "policy.yaml"


def _quiet(_: str) -> None:
    pass


def experiments_dir() -> Path:
    return io.project_root() / "experiments"


def engine_config_path(dataset: str | Path | None = None) -> Path | None:
    """experiments/engine_<dataset>.yaml when a dataset has settings of its own (chosen on its
    own backtests), else experiments/engine.yaml, else None (the built-in defaults)."""
    if dataset is not None:
        own = experiments_dir() / f"engine_{Path(str(dataset)).name}.yaml"
        if own.exists():
            return own
    default = experiments_dir() / DEFAULT_CONFIG
    return default if default.exists() else None


def load_engine_config(
    path: Path | None = None, dataset: str | Path | None = None, **overrides
) -> EngineConfig:
    if path is None:
        path = engine_config_path(dataset)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return load_yaml_model(EngineConfig, path, overrides)


def check_policy_fits(policy: Policy, path: Path | None, data: Dataset) -> None:
    """Refuse, before anything is trained, a policy whose focus names a column the dataset's
    units.csv does not have (e.g. the monotown policy on a freshly imported dataset)."""
    focus = policy.focus
    if focus is not None and focus.attribute not in data.units:
        raise ConfigError(
            f"{path or 'policy'}: focus.attribute {focus.attribute!r} is not a column of "
            f"{data.name}/units.csv (its columns: {', '.join(map(str, data.units.columns))}): "
            "give a policy for this dataset with --policy, or add the column"
        )


def resolve_policy(path: Path | None) -> tuple[Policy, Path | None]:
    if path is None and (experiments_dir() / DEFAULT_POLICY).exists():
        path = experiments_dir() / DEFAULT_POLICY
    return load_policy(path), path


def fit(data: Dataset, as_of: int, config: EngineConfig, progress: Progress = _quiet) -> Forecaster:
    """The forecaster fitted on observations up to `as_of`."""
    if as_of < int(data.panel["year"].min()):
        raise ForecastError(
            f"--as-of {as_of} is before the first observation ({int(data.panel['year'].min())})"
        )
    if as_of > data.last_year:  # forecasts would be labelled from a year nothing was seen in
        raise ForecastError(
            f"--as-of {as_of} is after the last observation ({data.last_year}): use --as-of "
            f"{data.last_year} or earlier (horizons count from the as-of year)"
        )
    return Forecaster(config=config).fit(data, as_of, progress=progress)


def predict(
    data: Dataset,
    as_of: int,
    horizons: list[int],
    config: EngineConfig,
    progress: Progress = _quiet,
) -> pd.DataFrame:
    """Fit on observations up to `as_of`; the tidy forecasts table at as_of + horizons."""
    return fit(data, as_of, config, progress).forecast(data, horizons).table()


def history(data: Dataset) -> pd.DataFrame:
    """Every observation with its kind (census or estimate) and source, where known."""
    frames = []
    for t in data.targets:
        obs = data.panel.loc[data.panel[t].notna(), ["unit_id", "year", t]]
        frames.append(obs.rename(columns={t: "value"}).assign(target=t))
    out = pd.concat(frames, ignore_index=True)[["unit_id", "target", "year", "value"]]
    src = data.sources
    if src is not None and {"file", "variable", "status"} <= set(src.columns):
        used = src[(src["file"] == "panel") & (src["status"] == "used")]
        used = used.rename(columns={"variable": "target"})
        cols = [c for c in ("kind", "source_url", "source_note") if c in used]
        used = used[["unit_id", "target", "year", *cols]].drop_duplicates(
            ["unit_id", "target", "year"]
        )
        out = out.merge(used, on=["unit_id", "target", "year"], how="left")
    return out


@dataclass
class RunResult:
    out_dir: Path
    data: Dataset
    forecasts: pd.DataFrame
    explanations: pd.DataFrame
    categories: pd.DataFrame
    sensitivity: pd.DataFrame
    forecaster: Forecaster
    policy: Policy
    config: EngineConfig
    backtest: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None
    previous_categories: pd.DataFrame | None = None  # the hysteresis input (stored with the model)
    model_uri: str | None = None  # the registered model version (models:/NAME/VERSION)
    scenarios: tuple | None = None  # (file, response, trajectories, categories), scenario_run


def previous_categories(runs_root: Path, dataset: str, exclude: Path | None = None):
    """categories.csv of the most recent earlier run of this dataset, if any."""
    folder = runs_root / dataset
    if not folder.is_dir():
        return None, None
    runs = sorted(p for p in folder.iterdir() if (p / "categories.csv").exists() and p != exclude)
    if not runs:
        return None, None
    return pd.read_csv(runs[-1] / "categories.csv"), runs[-1]


def calibration_table(targets: dict) -> pd.DataFrame | None:
    """The interval calibration of every fitted target (`interval_calibration.csv`), None when
    no target has intervals. With regime scaling on, every row carries the target's
    `regime_factor` and `regime_score` (1 included: the column does not come and go with the
    factor)."""
    cal = []
    for target, tf in targets.items():
        if tf.intervals_ is None:
            continue
        table = tf.intervals_.summary().assign(target=target)
        if tf.regime_ is not None:
            table = table.assign(regime_factor=tf.regime_.factor, regime_score=tf.regime_.score)
        cal.append(table)
    return pd.concat(cal, ignore_index=True) if cal else None


def run(
    dataset: str | Path = io.BUNDLED_DEFAULT,
    *,
    as_of: int | None = None,
    config: EngineConfig | None = None,
    policy_path: Path | None = None,
    runs_root: Path | None = None,
    track: bool = True,
    progress: Progress = _quiet,
) -> RunResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[name] = round(now - t0, 2)
        t0 = now

    runs_root = runs.root(runs_root)
    runs.remove_stale(runs_root)
    progress("validating the dataset")
    data = io.read_dataset(dataset)
    config = config or load_engine_config(dataset=data.name)
    policy, policy_file = resolve_policy(policy_path)
    check_policy_fits(policy, policy_file, data)
    as_of = data.last_year if as_of is None else as_of
    lap("validate")
    # the backtest's forecaster refits models the main one fitted for its calibration (same
    # origin, config and data): fitted once, used by both (forecast.fitcache)
    with fitcache.sharing():
        forecaster = fit(data, as_of, config, progress)
        lap("fit")
        progress("forecasting, explaining (SHAP), categorising")
        prev, prev_dir = previous_categories(runs_root, data.name)
        out = compose.outlook(forecaster, data, policy, previous=prev)
        sens = sensitivity_summary(out.facts, policy, config.level)
        lap("forecast_explain_categorize")
        scenarios = scenario_run.for_run(
            data, as_of, out.forecasts, out.explanations, policy, config, progress=progress
        )
        lap("scenarios")
        first = int(data.panel["year"].min())
        origins = sorted(as_of - k for k in config.backtest_offsets if as_of - k > first)
        bt = backtest_mod.rolling_origin(
            data.up_to(as_of), origins, config.horizons, config, progress
        )
        lap("backtest")

    folder = runs.claim(runs_root, data.name, as_of)
    result = RunResult(
        out_dir=folder.final,
        data=data,
        forecasts=out.forecasts,
        explanations=out.explanations,
        categories=out.categories,
        sensitivity=sens,
        forecaster=forecaster,
        policy=policy,
        config=config,
        backtest=bt,
        timings=timings,
        previous_categories=prev,
        scenarios=scenarios,
    )
    try:
        progress("writing outputs")
        write_outputs(result, folder.partial, policy_file, prev_dir)
        lap("write")
        folder.commit()
    except BaseException:
        folder.discard()
        raise
    if track:
        progress("logging the run to MLflow")
        logged = tracking.log_run(result)
        result.run_id = logged.run_id
        result.model_uri = logged.model.uri if logged.model else None
        lap("track")
    return result


def write_outputs(
    result: RunResult, folder: Path, policy_file: Path | None, prev_dir: Path | None
) -> None:
    units = result.data.units
    forecasts = towns.annotate(result.forecasts, units)
    io.write_csv(forecasts, folder / "forecasts.csv", float_format="%.6g")
    shown = towns.units_for_components(result.categories, units)
    components = towns.components_history(result.data.panel, shown)
    io.write_csv(components, folder / "components.csv", float_format="%.6g")
    expl = towns.annotate(result.explanations, units)
    io.write_csv(expl, folder / "explanations.csv", float_format="%.6g")
    drivers = towns.annotate(explain_mod.by_driver(result.explanations), units)
    io.write_csv(drivers, folder / "drivers.csv", float_format="%.6g")
    io.write_csv(
        explain_mod.global_importance(result.explanations),
        folder / "global_importance.csv",
        float_format="%.6g",
    )
    io.write_csv(
        explain_mod.dependence(result.explanations), folder / "dependence.csv", float_format="%.6g"
    )
    io.write_csv(result.categories, folder / "categories.csv", float_format="%.6g")
    io.write_csv(result.sensitivity, folder / "sensitivity_summary.csv")
    cats = result.categories
    if "previous_category" in cats and cats["previous_category"].notna().any():
        moves = cats[["unit_id", "previous_category", "category", "held_by_hysteresis"]].assign(
            changed=lambda d: d["previous_category"] != d["category"]
        )
        io.write_csv(moves, folder / "transitions.csv")
    cal = calibration_table(result.forecaster.targets_)
    if cal is not None:
        io.write_csv(cal, folder / "interval_calibration.csv", float_format="%.6g")
    io.write_csv(history(result.data), folder / "history.csv", float_format="%.6g")
    io.write_csv(result.data.units.reset_index(), folder / "units.csv")
    if not result.backtest.empty:
        io.write_csv(result.backtest, folder / "backtest.csv", float_format="%.6g")
        io.write_csv(
            backtest_mod.metrics(result.backtest, ["target", "horizon"]),
            folder / "accuracy.csv",
            float_format="%.6g",
        )
        # issue 11: coverage per backtest origin, for the report's "Method and trust" page
        bt_rows = result.backtest.rename(columns={"forecast": "combined"})
        io.write_csv(
            coverage_by_origin(bt_rows), folder / "coverage_by_origin.csv", float_format="%.6g"
        )
    io.write_text(result.policy.model_dump_json(indent=2), folder / "policy.json")
    io.write_text(result.config.model_dump_json(indent=2), folder / "config.json")
    io.write_json(
        {
            "dataset": result.data.name,
            "dataset_path": str(result.data.path),
            "dataset_digest": result.data.digest(),
            "as_of": result.forecaster.origin_,
            "policy_file": str(policy_file) if policy_file else None,
            "previous_run": str(prev_dir) if prev_dir else None,
            "timings_s": result.timings,
            "data_warnings": result.data.warnings,
        },
        folder / "run.json",
    )
    if result.scenarios is not None:
        scenario_run.write(folder, *result.scenarios)
    io.write_text(render_summary(result), folder / "summary.html")
    write_report(folder)
    write_workbook(folder)
