"""Experiment tracking. With registry.py, serving.py and export.py, the only modules that
import mlflow.

Default store: a SQLite database `experiments/mlflow.db` in the working directory (works
offline, no server; the project's own `experiments/` when run from the checkout, as `make run`
does), artifacts next to it in `experiments/mlartifacts/`. Set `MLFLOW_TRACKING_URI` to use
any other store or a server.

Layout: one experiment per dataset; one run per training vintage (as-of year) named
`<dataset>-asof<YEAR>`, with a nested run per backtest origin. A vintage run holds the whole
validated config and policy as params (flattened), the training data as an MLflow dataset
whose digest is the content hash of exactly the tables the model saw, accuracy metrics per
target x horizon (`population_h10_mape`, `_mdape`, `_bias`, `_coverage`, `_width`, `_n`,
`_mape_<method>`), the run's outputs (`outputs/`: forecasts, explanations, categories,
backtest table, summary report), plots (`plots/`) and the whole pipeline as a pyfunc model
registered as `town-prospects-<dataset>` (see forecast.registry).
"""

from __future__ import annotations

import json
import math
import subprocess
import warnings
from dataclasses import dataclass

import mlflow
import pandas as pd
from matplotlib.figure import Figure
from mlflow.exceptions import MlflowException

from . import __version__, io, registry
from . import backtest as backtest_mod
from . import explain as explain_mod
from .config import flatten
from .errors import ForecastError
from .store import client, experiment, tracking_uri

PARAM_MAX = 6000  # MLflow's limit on a param value
COMBINED_METRICS = {
    "mape": "mape",
    "mdape": "mdape",
    "malpe": "bias",
    "coverage": "coverage",
    "width_pct": "width",
    "n": "n",
}


@dataclass(frozen=True)
class Logged:
    run_id: str
    experiment_id: str
    model: registry.ModelRef | None


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=io.project_root(),
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def git_dirty() -> str:
    """Whether the package source differs from `git_commit` ("true"/"false"; "unknown"
    outside a git checkout): a run made from a dirty tree is not exactly that commit."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=io.project_root(),
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return "true" if out.stdout.strip() else "false"


def _finite(metrics: dict) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}


def accuracy_metrics(table: pd.DataFrame) -> dict[str, float]:
    """MLflow metrics from `backtest.metrics(..., by=[target, horizon])`: the combined forecast's
    full set, and every other method's MAPE."""
    out: dict[str, float] = {}
    for r in table.to_dict("records"):
        key = f"{r['target']}_h{int(r['horizon'])}"
        if r["method"] == "combined":
            for col, name in COMBINED_METRICS.items():
                if col in r:
                    out[f"{key}_{name}"] = r[col]
        else:
            out[f"{key}_mape_{r['method']}"] = r["mape"]
    return _finite(out)


def _tags(result, role: str) -> dict[str, str]:
    as_of = int(result.forecaster.origin_)
    return {
        "package_version": __version__,
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "as_of": str(as_of),
        "dataset": result.data.name,
        "dataset_path": str(result.data.path),
        "dataset_digest": result.data.digest(),
        "training_digest": result.data.up_to(as_of).digest(),
        "role": role,
        "seed": str(result.config.seed),
    }


def _params(result) -> dict[str, str]:
    params = {f"engine.{k}": v for k, v in flatten(result.config).items()}
    params.update({f"policy.{k}": v for k, v in flatten(result.policy).items()})
    params["as_of"] = result.forecaster.origin_
    return {k: json.dumps(v) if isinstance(v, list | tuple) else str(v) for k, v in params.items()}


def _log_dataset(result) -> None:
    """The training data (panel cut at the as-of year) as an MLflow dataset; its digest is our
    content hash of every table that can influence the model, so runs that saw the same data
    carry the same digest."""
    as_of = int(result.forecaster.origin_)
    cut = result.data.up_to(as_of)
    with warnings.catch_warnings():  # a local path matches two equivalent source types
        warnings.filterwarnings("ignore", "The specified dataset source", UserWarning)
        ds = mlflow.data.from_pandas(
            cut.panel,
            source=str(result.data.path) if result.data.path else None,
            name=f"{result.data.name}@{as_of}",
            digest=cut.digest(),
        )
    mlflow.log_input(ds, context="training")


def _log_origins(result, exp_id: str) -> None:
    bt = result.backtest
    if bt.empty:
        return
    for origin, rows in bt.groupby("origin", sort=True):
        with mlflow.start_run(experiment_id=exp_id, run_name=f"origin {int(origin)}", nested=True):
            mlflow.set_tags(
                {
                    "role": "backtest_origin",
                    "origin": str(int(origin)),
                    "as_of": str(int(result.forecaster.origin_)),
                    "dataset": result.data.name,
                }
            )
            mlflow.log_param("origin", int(origin))
            mlflow.log_metrics(accuracy_metrics(backtest_mod.metrics(rows, ["target", "horizon"])))


class TrackingError(ForecastError):
    """The tracking store or server could not be written."""


def log_run(result, *, role: str = "vintage", champion_if_none: bool = True) -> Logged:
    """Log a pipeline run (see the module docstring) and register its model. When the dataset's
    registered model has no champion yet and `champion_if_none`, this version becomes champion."""
    try:
        return _log_run(result, role, champion_if_none)
    except MlflowException as exc:
        raise TrackingError(
            f"could not log the run to MLflow at {tracking_uri()}: {exc.message[:300]} "
            f"(the run's outputs are in {result.out_dir})"
        ) from exc


def _log_run(result, role: str, champion_if_none: bool) -> Logged:
    exp_id = experiment(result.data.name)
    as_of = int(result.forecaster.origin_)
    with mlflow.start_run(experiment_id=exp_id, run_name=f"{result.data.name}-asof{as_of}") as run:
        params = _params(result)
        mlflow.log_params({k: v[:PARAM_MAX] for k, v in params.items()})
        mlflow.set_tags(_tags(result, role))
        _log_dataset(result)
        metrics = {f"time_{k}_s": v for k, v in result.timings.items()}
        for target, tf in result.forecaster.targets_.items():
            metrics[f"{target}_training_pairs"] = tf.n_pairs_
        counts = result.categories["category"].value_counts()
        metrics.update({f"n_{k}": int(v) for k, v in counts.items()})
        if not result.backtest.empty:
            metrics.update(
                accuracy_metrics(backtest_mod.metrics(result.backtest, ["target", "horizon"]))
            )
        mlflow.log_metrics(_finite(metrics))
        _log_origins(result, exp_id)
        mlflow.log_artifacts(str(result.out_dir), artifact_path="outputs")
        for name, fig in run_figures(result).items():
            mlflow.log_figure(fig, f"plots/{name}.png")
        meta = {"run_id": run.info.run_id, **_tags(result, role)}
        model = registry.log_model(result, meta)
    registry.tag_version(
        model.name,
        model.version,
        {"as_of": as_of, "role": role, "training_digest": meta["training_digest"]},
    )
    if champion_if_none and registry.alias(model.name, registry.CHAMPION) is None:
        registry.set_alias(model.name, registry.CHAMPION, model.version)
    return Logged(run_id=run.info.run_id, experiment_id=exp_id, model=model)


def log_decision(run_id: str, decision: dict, files: dict[str, pd.DataFrame | str]) -> None:
    """Record a retraining decision on the challenger's run: tags and metrics with the numbers,
    and `decision/` artifacts (decision.json, decision.md, tables)."""
    store = client()
    tags = {
        "decision": "promoted" if decision["promoted"] else "kept_champion",
        "decision_reason": decision["reason"][:5000],
        "champion_version": str(decision.get("champion_version") or ""),
        "challenger_version": str(decision.get("challenger_version") or ""),
    }
    for k, v in tags.items():
        store.set_tag(run_id, k, v)
    numbers = {f"decision_{k}": v for k, v in decision.get("numbers", {}).items()}
    numbers["decision_promoted"] = int(bool(decision["promoted"]))
    for k, v in _finite(numbers).items():
        store.log_metric(run_id, k, v)
    store.log_dict(run_id, decision, "decision/decision.json")
    for name, content in files.items():
        if isinstance(content, pd.DataFrame):
            store.log_text(run_id, content.to_csv(index=False), f"decision/{name}")
        else:
            store.log_text(run_id, content, f"decision/{name}")


def log_champion_evaluation(parent_run_id: str, dataset: str, rows: pd.DataFrame, tags: dict):
    """A run nested under the challenger's run with the champion's scores on the same origins."""
    exp_id = experiment(dataset)
    store = client()
    run = store.create_run(
        exp_id,
        run_name=f"champion v{tags.get('champion_version')} evaluated",
        tags={
            "mlflow.parentRunId": parent_run_id,
            "role": "champion_evaluation",
            "dataset": dataset,
            **{k: str(v) for k, v in tags.items()},
        },
    )
    if not rows.empty:
        for k, v in accuracy_metrics(backtest_mod.metrics(rows, ["target", "horizon"])).items():
            store.log_metric(run.info.run_id, k, v)
    store.set_terminated(run.info.run_id)


# -- plots -------------------------------------------------------------------------------------
def run_figures(result) -> dict:
    """Figures of a run (matplotlib's object API: no pyplot, no global backend)."""

    figs = {}
    if not result.backtest.empty:
        acc = backtest_mod.metrics(result.backtest, ["target", "horizon"])
        targets = list(acc["target"].unique())
        fig = Figure(figsize=(5 * len(targets), 3.6), layout="constrained")
        for ax, target in zip(fig.subplots(1, len(targets), squeeze=False)[0], targets):
            for method, g in acc[acc["target"] == target].groupby("method"):
                bold = method == "combined"
                ax.plot(
                    g["horizon"],
                    g["mape"],
                    marker="o" if bold else ".",
                    lw=2.5 if bold else 1,
                    label=method,
                )
            ax.set(title=f"{target}: backtest MAPE", xlabel="horizon (years)", ylabel="MAPE %")
            ax.legend(fontsize=7)
        figs["backtest_mape"] = fig
        comb = acc[acc["method"] == "combined"]
        if "coverage" in comb and comb["coverage"].notna().any():
            fig = Figure(figsize=(5, 3.6), layout="constrained")
            ax = fig.subplots()
            for target, g in comb.groupby("target"):
                ax.plot(g["horizon"], g["coverage"], marker="o", label=target)
            ax.axhline(result.config.level, color="grey", ls="--", label="nominal")
            ax.set(title="interval coverage (backtest)", xlabel="horizon (years)", ylim=(0, 1))
            ax.legend(fontsize=7)
            figs["backtest_coverage"] = fig
    counts = result.categories["category"].value_counts()
    fig = Figure(figsize=(5, 3), layout="constrained")
    ax = fig.subplots()
    ax.barh(counts.index.astype(str), counts.to_numpy())
    ax.set(title=f"categories ({result.policy.name})", xlabel="units")
    figs["categories"] = fig
    p = result.policy
    imp = explain_mod.global_importance(result.explanations)
    imp = imp[(imp["target"] == p.target) & (imp["horizon"] == p.horizon)]
    if not imp.empty:
        imp = imp.sort_values("mean_abs_contribution_log").tail(12)
        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.subplots()
        ax.barh(imp["driver"].astype(str), 100 * imp["mean_abs_contribution_log"])
        ax.set(
            title=f"{p.target} +{p.horizon}y: mean |SHAP| by driver",
            xlabel="log points x 100",
        )
        figs["drivers"] = fig
    return figs
