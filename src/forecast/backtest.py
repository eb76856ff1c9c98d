"""Rolling-origin backtests and accuracy metrics.

At each origin the whole forecaster (model, combination weights, intervals) is fitted on data
cut at that origin, so its calibration uses only earlier origins; forecasts are compared with
every later observation within the horizons. Metrics follow the small-area literature: MAPE,
MdAPE, MALPE (bias), 90th-percentile APE, population-weighted MAPE, interval coverage and width.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from . import hierarchy, holdout
from .baselines import BASELINES
from .config import EngineConfig
from .engine import Forecaster
from .intervals import size_class
from .schema import Dataset

METHODS = ("combined", "model", *BASELINES)


def _quiet(_: str) -> None:
    pass


KEEP = [
    "unit_id",
    "horizon",
    "year",
    "t0",
    "p0",
    "span",
    "actual",
    "combined",
    "model",
    "lower",
    "upper",
    "weight",
    *BASELINES,
]


def rolling_origin(
    data: Dataset,
    origins: list[int],
    horizons: list[int],
    config: EngineConfig,
    progress: Callable[[str], None] = _quiet,
    targets: list[str] | None = None,
) -> pd.DataFrame:
    """One row per (target, origin, unit, horizon) with an observed outcome."""

    def fit_forecast(d: Dataset, origin: int, hs: list[int]) -> dict[str, pd.DataFrame]:
        fc = Forecaster(config=config).fit(d, origin)
        return {t: f.table for t, f in fc.forecast(d, hs).targets.items()}

    res = holdout.rolling(data, origins, horizons, fit_forecast, targets=targets, progress=progress)
    if res.empty:
        return res
    res = res.rename(columns={"forecast": "combined"})
    res = res[[*KEEP, "target", "origin"]].copy()
    # nested units (a town inside its district) are scored on their own tables only
    res["top_level"] = res["unit_id"].isin(hierarchy.top_level(data.units))
    return res


def _metrics(actual: np.ndarray, pred: np.ndarray, weight: np.ndarray) -> dict[str, float]:
    pe = 100 * (pred - actual) / actual
    ape = np.abs(pe)
    return {
        "n": int(len(ape)),
        "mape": float(np.mean(ape)),
        "mdape": float(np.median(ape)),
        "malpe": float(np.mean(pe)),
        "ape_p90": float(np.percentile(ape, 90)),
        "wmape": float(np.sum(ape * weight) / np.sum(weight)),
    }


def metrics(
    results: pd.DataFrame,
    by: list[str] | None = None,
    methods: tuple[str, ...] = METHODS,
    *,
    top_level_only: bool = True,
) -> pd.DataFrame:
    """Accuracy per method and group (default: target, origin, horizon).

    Aggregates count top-level units only (column `top_level` from `rolling_origin`), so that
    no person is counted twice; pass `top_level_only=False` for a table of chosen units (e.g.
    one decision unit per town) that may include nested ones."""
    by = by or ["target", "origin", "horizon"]
    if top_level_only and "top_level" in results:
        results = results[results["top_level"].astype(bool)]
    rows = []
    for keys, g in results.groupby(by, sort=True):
        keys = keys if isinstance(keys, tuple) else (keys,)
        a = g["actual"].to_numpy(float)
        for m in methods:
            if m not in g:
                continue
            p = g[m].to_numpy(float)
            ok = np.isfinite(p)
            if not ok.any():  # the method made no forecast for this group (e.g. short series)
                continue
            row = dict(zip(by, keys, strict=True), method=m)
            row.update(_metrics(a[ok], p[ok], g["p0"].to_numpy(float)[ok]))
            if m == "combined" and "lower" in g and g["lower"].notna().any():
                lo, hi = g["lower"].to_numpy(float), g["upper"].to_numpy(float)
                has = np.isfinite(lo) & np.isfinite(hi)  # rows without an interval don't count
                row["coverage"] = float(np.mean((a[has] >= lo[has]) & (a[has] <= hi[has])))
                row["width_pct"] = float(np.median(100 * (hi[has] - lo[has]) / p[has]))
            rows.append(row)
    return pd.DataFrame(rows)


def with_groups(
    results: pd.DataFrame,
    units: pd.DataFrame,
    size_breaks: list[float],
    type_column: str | None = None,
) -> pd.DataFrame:
    """Add size class labels (and an economic type column from units) for grouped metrics."""
    edges = [0, *size_breaks, np.inf]
    labels = [f"{_k(edges[i])}-{_k(edges[i + 1])}" for i in range(len(edges) - 1)]
    out = results.assign(size_class=[labels[i] for i in size_class(results["p0"], size_breaks)])
    if type_column and type_column in units:
        out[type_column] = units[type_column].reindex(out["unit_id"]).to_numpy()
    return out


def _k(v: float) -> str:
    if not np.isfinite(v):
        return "inf"
    return f"{v / 1000:g}k" if v >= 1000 else f"{v:g}"


def ratio_to_best_baseline(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """MAPE of every method divided by the best baseline's MAPE in the same group."""
    base = table[table["method"].isin(BASELINES)]
    best = base.loc[base.groupby(keys)["mape"].idxmin(), [*keys, "method", "mape"]]
    best = best.rename(columns={"method": "best_baseline", "mape": "best_baseline_mape"})
    out = table.merge(best, on=keys)
    out["mape_ratio"] = out["mape"] / out["best_baseline_mape"]
    return out
