"""Where a scenario run's baseline comes from: a finished run of the same data, else a fit.

The scenarios are applied to a baseline forecast (every year to the last horizon) and
categorised with the SHAP explanations of the policy target at the policy horizon (the policy's
structural-share rule and top drivers read them). Fitting the engine is by far the slowest part
of `forecast scenario` (about two minutes on the Kazakh annual panel), and `forecast run` has
already done it: its folder holds the baseline forecasts and explanations that the run's fitted
engine made. A run is reused only when it is *the same baseline*:

* its ``run.json`` names the same dataset digest (the content hash of panel, units, regions and
  country tables) and forecasts from the data's last year;
* its ``config.json`` is the engine config of this scenario run, field for field;
* its ``forecasts.csv`` holds every year from +1 to the last horizon for every target, and its
  ``explanations.csv`` the policy target at the policy horizon.

The newest such run under ``<runs root>/<dataset>/`` is used. Otherwise the engine is fitted
(with a message saying why no run matched) and only the explanations the categories read are
computed: SHAP of the policy target at the policy horizon, not of every target and year.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import explain as explain_mod
from .config import EngineConfig
from .engine import Forecaster
from .errors import ForecastError
from .policy import Policy
from .schema import Dataset

Progress = Callable[[str], None]
FORECAST_COLUMNS = [
    "unit_id",
    "target",
    "origin_year",
    "horizon",
    "year",
    "forecast",
    "lower",
    "upper",
    "level",
    "model",
]
EXPLANATION_COLUMNS = explain_mod.COLUMNS


def _quiet(_: str) -> None:
    pass


@dataclass
class Baseline:
    """The baseline forecasts (every year to the last horizon), the explanations the
    categories read, and where they come from (a run folder, or None when fitted here)."""

    forecasts: pd.DataFrame
    explanations: pd.DataFrame
    run: Path | None
    note: str


def every_year(config: EngineConfig) -> list[int]:
    return list(range(1, max(config.horizons) + 1))


def _mismatch(folder: Path, data: Dataset, config: EngineConfig, policy: Policy) -> str | None:
    """Why the run in `folder` cannot stand for this baseline (None: it can)."""
    try:
        meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"its run.json or config.json cannot be read ({exc.__class__.__name__})"
    if meta.get("dataset_digest") != data.digest():
        return "it was made from other data (dataset digest differs)"
    if meta.get("as_of") != data.last_year:
        return f"it forecasts from {meta.get('as_of')}, not the data's last year {data.last_year}"
    mine = config_dict(config)
    if cfg != mine:
        differ = sorted(k for k in set(cfg) | set(mine) if cfg.get(k) != mine.get(k))
        return "its engine config differs (" + ", ".join(differ[:4]) + ")"
    if sorted(config.horizons) != every_year(config):
        return f"its horizons {config.horizons} skip years (scenario events fall in any year)"
    if policy.horizon not in config.horizons:
        return f"the policy horizon {policy.horizon} is not among its horizons"
    for name in ("forecasts.csv", "explanations.csv"):
        if not (folder / name).exists():
            return f"it has no {name}"
    return None


def config_dict(config: EngineConfig) -> dict:
    return json.loads(config.model_dump_json())


def find_run(
    runs_root: Path, data: Dataset, config: EngineConfig, policy: Policy
) -> tuple[Path | None, str]:
    """The newest finished run of `data` that stands for this baseline, and a note: which run,
    or why none (the newest run's mismatch)."""
    folder = runs_root / data.name
    found = (
        sorted(
            (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.name,
            reverse=True,
        )
        if folder.is_dir()
        else []
    )
    runs = [p for p in found if (p / "run.json").exists()]
    if not runs:
        return None, f"no finished run of {data.name} under {runs_root}"
    first_reason = None
    for run in runs:
        reason = _mismatch(run, data, config, policy)
        if reason is None:
            return run, f"reusing the baseline of run {run.name} (same data, engine config, as-of)"
        first_reason = first_reason or f"the newest run {run.name} does not match: {reason}"
    return None, first_reason or ""


def read_run(folder: Path, data: Dataset, config: EngineConfig, policy: Policy) -> Baseline:
    """The baseline forecasts and the policy-horizon explanations of a matching run."""
    fc = pd.read_csv(folder / "forecasts.csv", dtype={"unit_id": str, "target": str})
    missing = [c for c in FORECAST_COLUMNS if c not in fc]
    if missing:
        raise ForecastError(f"{folder / 'forecasts.csv'}: missing columns {', '.join(missing)}")
    fc = fc[FORECAST_COLUMNS]
    fc = fc[fc["horizon"].isin(every_year(config))].reset_index(drop=True)
    have = fc.groupby(["target", "unit_id"])["horizon"].nunique()
    if have.empty or (have < len(every_year(config))).any():
        raise ForecastError(
            f"{folder / 'forecasts.csv'}: not every unit has every year to +{max(config.horizons)}"
        )
    ex = pd.read_csv(
        folder / "explanations.csv",
        usecols=EXPLANATION_COLUMNS,
        dtype={"unit_id": str, "target": str},
    )
    ex = ex[(ex["target"] == policy.target) & (ex["horizon"] == policy.horizon)]
    ex = ex[EXPLANATION_COLUMNS].reset_index(drop=True)
    return Baseline(fc, ex, folder, "")


def fit_baseline(
    data: Dataset, config: EngineConfig, policy: Policy, progress: Progress = _quiet
) -> Baseline:
    """Fit the engine at the data's last year; forecast every year to the last horizon; SHAP
    only of the policy target at the policy horizon (all the categories read)."""
    forecaster = Forecaster(config=config).fit(data, data.last_year, progress=progress)
    forecasts = forecaster.forecast(data, every_year(config)).table()
    progress(f"explaining the baseline ({policy.target} at +{policy.horizon})")
    at_h = forecaster.forecast(data, [policy.horizon])
    if policy.target not in at_h.targets:
        raise ForecastError(f"the policy target {policy.target!r} is not forecast")
    expl = explain_mod.explain_target(
        forecaster.targets_[policy.target].model_,
        at_h.targets[policy.target],
        explain_mod.DriverMap.load(),
    )
    return Baseline(forecasts, expl[EXPLANATION_COLUMNS], None, "")


def baseline(
    data: Dataset,
    config: EngineConfig,
    policy: Policy,
    runs_root: Path,
    *,
    reuse: bool = True,
    progress: Progress = _quiet,
) -> Baseline:
    """A matching run's baseline when `reuse` and one exists, else a fresh fit (see module)."""
    if reuse:
        run, note = find_run(runs_root, data, config, policy)
        if run is not None:
            progress(note)
            out = read_run(run, data, config, policy)
            out.note = note
            return out
        note = (
            f"{note}: fitting the engine (`forecast run --data {data.name}` first makes this fast)"
        )
    else:
        note = "fitting the engine (--refit)"
    progress(note)
    out = fit_baseline(data, config, policy, progress)
    out.note = note
    return out
