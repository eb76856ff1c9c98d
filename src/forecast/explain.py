"""SHAP explanations of the forecasts, grouped into drivers people can read.

For each unit x target x horizon, the log change of the final forecast from the unit's latest
observation splits exactly into:

* one SHAP contribution per model feature (TreeSHAP on the LightGBM model, scaled from the
  model's annualised scale to the whole span, and by the model's weight in the combination),
* `model_average`: the model's base value (the average town) over the span,
* `national_trend`: the separately forecast reference (country) growth,
* `total_control`: the scaling that makes unit forecasts add up to the national total,
* `baseline_methods`: the part carried by the demographic trend methods in the combination.

A nested town that follows its parent (forecast.nested: its parent member is its anchor times
the parent's forecast growth) is explained by its parent's drivers: the parent member's part,
`w * log(parent member / p0)`, is the parent's own parts (features and components) times the
member's weight `w`, plus `w` times the parent's observed change between the town's anchor and
the parent's (`administration_observed`, 0 when both are anchored at the origin; its `value`
names the parent). Its other members (no change) stay under `baseline_methods`.

The engine hands over these parts as a :class:`~forecast.engine.Decomposition`; this module only
splits the model's relative growth with SHAP (SHAP's base value plus the feature contributions
reproduce it). The parts sum to `log(forecast / latest)`; the pipeline checks this and SHAP's
own additivity on every run. Contributions are also given in percentage points of growth and in persons, allocated
in proportion to the log contributions.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import nested
from .engine import Forecast, TargetForecast
from .errors import AdditivityError, ConfigError
from .features import PREFIX
from .model import GrowthModel

COMPONENTS = ("model_average", "national_trend", "total_control", "baseline_methods")
FOLLOWS = "administration_observed"  # nested towns only: see the module docstring
__all__ = [
    "COLUMNS",
    "COMPONENTS",
    "FOLLOWS",
    "AdditivityError",
    "DriverMap",
    "by_driver",
    "check_additivity",
    "check_decomposition",
    "dependence",
    "explain",
    "explain_target",
    "global_importance",
]


# the columns of explanations.csv, in order (also what a reused run must hold)
COLUMNS = [
    "unit_id",
    "target",
    "horizon",
    "year",
    "feature",
    "driver",
    "value",
    "shap",
    "contribution_log",
    "contribution_pct",
    "contribution_persons",
]


def check_additivity(
    shap_values: np.ndarray, base_values, output: np.ndarray, tol: float = 1e-6
) -> float:
    """Raise AdditivityError unless base + sum(contributions) == output within `tol`
    (absolute, on the model's scale). Returns the largest deviation."""
    total = np.asarray(base_values, dtype=float) + np.asarray(shap_values).sum(axis=1)
    dev = np.abs(total - np.asarray(output, dtype=float))
    worst = float(np.max(dev)) if len(dev) else 0.0
    if not worst <= tol:
        i = int(np.argmax(dev))
        raise AdditivityError(
            f"SHAP additivity failed: base + contributions = {total[i]:.6g} but the model "
            f"predicts {output[i]:.6g} (row {i}; largest deviation {worst:.3g} > tolerance {tol:g})"
        )
    return worst


@dataclass
class DriverMap:
    drivers: list[dict]
    components: dict[str, dict]

    @classmethod
    def load(cls, path: Path | None = None) -> DriverMap:
        text = (
            Path(path).read_text(encoding="utf-8")
            if path
            else resources.files("forecast").joinpath("resources/drivers.yaml").read_text("utf-8")
        )
        raw = yaml.safe_load(text) or {}
        drivers = raw.get("drivers")
        if not isinstance(drivers, list) or not all(
            isinstance(d, dict) and {"name", "features"} <= d.keys() for d in drivers
        ):
            raise ConfigError(
                f"{path or 'drivers.yaml'}: 'drivers' must be a list of {{name, features}} entries"
            )
        return cls(drivers=drivers, components=raw.get("components", {}))

    def driver(self, feature: str, target: str) -> str:
        own = PREFIX.get(target, target)
        other = "emp" if own == "pop" else "pop"
        for d in self.drivers:
            for pat in d["features"]:
                if fnmatch.fnmatchcase(feature, pat.format(t=own, o=other)):
                    return d["name"]
        return "other"

    def label(self, name: str, lang: str = "en") -> str:
        for d in self.drivers:
            if d["name"] == name:
                return d.get(lang, d.get("en", name))
        return self.components.get(name, {}).get(lang, name)


def _shap(
    model: GrowthModel, X: pd.DataFrame, output: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values of the model on X, checked to add up to `output` (what the engine used)."""
    import shap  # slow to import (numba, scikit-learn, matplotlib): only where SHAP is computed

    Xc = model.prepare(X)
    explainer = shap.TreeExplainer(model.booster)
    values = np.asarray(explainer.shap_values(Xc), dtype=float)
    base = np.broadcast_to(np.asarray(explainer.expected_value, dtype=float), (len(Xc),))
    check_additivity(values, base, output, tol)
    return values, np.array(base)


def explain_target(
    model: GrowthModel | None, tf: TargetForecast, drivers: DriverMap, tol: float = 1e-6
) -> pd.DataFrame:
    """Long table: one row per (unit, horizon, feature or component). `model` is the fitted
    growth model behind `tf` (None when it forecast with the baselines alone)."""
    t = tf.table.reset_index(drop=True)
    d = tf.decomposition
    parts = d.parts()
    span, w = d.span, d.weight
    if model is not None and tf.X is not None:
        X = tf.X
        # the model's annualised output, as the engine used it in the forecast
        values, base = _shap(model, X, d.relative / span, tol)
    else:  # baselines alone: no model part to split
        X = pd.DataFrame(index=range(len(t)))
        values, base = np.zeros((len(t), 0)), np.zeros(len(t))
    parts = {
        "model_average": w * base * span,
        "national_trend": parts["national_trend"],
        "total_control": parts["total_control"],
        "baseline_methods": parts["baseline_methods"],
    }
    feats = X.columns
    keys = t[["unit_id", "horizon", "year", "p0", "forecast"]]
    contrib = values * (w * span)[:, None]
    long = pd.DataFrame(
        {
            "row": np.repeat(np.arange(len(t)), len(feats)),
            "feature": np.tile(np.asarray(feats, dtype=object), len(t)),
            "value": X.astype(object).to_numpy().ravel(),
            "shap": values.ravel(),
            "contribution_log": contrib.ravel(),
        }
    )
    long = long[long["shap"] != 0]  # features the trees never split on contribute exactly 0
    comp = pd.DataFrame(
        {
            "row": np.tile(np.arange(len(t)), len(parts)),
            "feature": np.repeat(list(parts), len(t)),
            "value": np.nan,
            "shap": np.nan,
            "contribution_log": np.concatenate(list(parts.values())),
        }
    )
    out = pd.concat([long, comp], ignore_index=True)
    out = _follow_parents(out, t)
    out = out.join(keys, on="row")
    # one lookup per distinct feature (a few dozen), not per row (hundreds of thousands)
    names = {
        f: f if f in (*COMPONENTS, FOLLOWS) else drivers.driver(f, tf.target)
        for f in out["feature"].unique()
    }
    out["driver"] = out["feature"].map(names)
    total = out.groupby("row")["contribution_log"].transform("sum")
    change = out["forecast"] / out["p0"] - 1
    share = np.where(np.abs(total) > 1e-12, out["contribution_log"] / total, 0.0)
    out["contribution_pct"] = np.where(
        np.abs(total) > 1e-12, 100 * change * share, 100 * out["contribution_log"]
    )
    out["contribution_persons"] = np.where(
        np.abs(total) > 1e-12,
        (out["forecast"] - out["p0"]) * share,
        out["p0"] * out["contribution_log"],
    )
    out["target"] = tf.target
    return out.sort_values(["unit_id", "horizon", "row"], kind="mergesort")[COLUMNS].reset_index(
        drop=True
    )


def _follow_parents(out: pd.DataFrame, t: pd.DataFrame) -> pd.DataFrame:
    """`out` (row, feature, value, shap, contribution_log per row of the forecast table `t`)
    with the parent member's part of every nested town that follows its parent (`t`'s
    `parent_id`, `parent` and `w_parent` columns; forecast.nested) moved from
    `baseline_methods` onto the parent's parts (the parent's row of the same year) times the
    member's weight, plus the `FOLLOWS` part. Each row's total is unchanged. Inherited feature
    rows carry the parent's feature values and no SHAP value of their own (NaN)."""
    if not {nested.PARENT_ID, nested.MEMBER, f"w_{nested.MEMBER}"} <= set(t.columns):
        return out
    pid = t[nested.PARENT_ID].astype("string")
    w = t[f"w_{nested.MEMBER}"].to_numpy(float)
    at = pd.Series(np.arange(len(t)), index=pd.MultiIndex.from_arrays([t["unit_id"], t["year"]]))
    at = at[~at.index.duplicated()]
    prow = at.reindex(pd.MultiIndex.from_arrays([pid.fillna(""), t["year"]])).to_numpy(float)
    follows = pid.notna().to_numpy() & (w > 0) & np.isfinite(prow)
    follows &= ~np.isin(prow, np.flatnonzero(pid.notna().to_numpy()))  # parents: top level
    rows = np.flatnonzero(follows)
    if not len(rows):
        return out
    pairs = pd.DataFrame({"row": rows, "prow": prow[rows].astype(int), "w": w[rows]})
    member_log = pairs["w"] * np.log(
        t[nested.MEMBER].to_numpy(float)[rows] / t["p0"].to_numpy(float)[rows]
    )
    parent = out[out["row"].isin(pairs["prow"])].rename(columns={"row": "prow"})
    inherited = pairs.merge(parent, on="prow", how="inner", sort=False)
    inherited["contribution_log"] *= inherited["w"]
    inherited["shap"] = np.nan
    explained = inherited.groupby("row")["contribution_log"].sum().reindex(rows).fillna(0.0)
    comp = inherited[inherited["feature"].isin(COMPONENTS)]
    # the town's own component rows take the parent's components; baseline_methods loses the
    # parent member's part (the town has no feature rows of its own: its model weight is 0)
    add = comp.set_index(["row", "feature"])["contribution_log"]
    own = out["row"].isin(rows) & out["feature"].isin(COMPONENTS)
    idx = pd.MultiIndex.from_arrays([out.loc[own, "row"], out.loc[own, "feature"]])
    out.loc[own, "contribution_log"] += add.reindex(idx).fillna(0.0).to_numpy()
    base = own & (out["feature"] == "baseline_methods")
    out.loc[base, "contribution_log"] -= out.loc[base, "row"].map(
        pd.Series(member_log.to_numpy(), index=rows)
    )
    observed = pd.DataFrame(
        {
            "row": rows,
            "feature": FOLLOWS,
            "value": pid.to_numpy(object)[rows],
            "shap": np.nan,
            "contribution_log": member_log.to_numpy() - explained.to_numpy(),
        }
    )
    feats = inherited[~inherited["feature"].isin(COMPONENTS)][out.columns]
    # the town's own feature rows are those of a model it does not use (weight 0): exactly 0
    unused = out["row"].isin(rows) & ~out["feature"].isin(COMPONENTS)
    unused &= out["contribution_log"] == 0
    return pd.concat([out[~unused], feats, observed], ignore_index=True)


def explain(
    forecaster,
    forecast: Forecast,
    drivers: DriverMap | None = None,
    tol: float = 1e-6,
) -> pd.DataFrame:
    """SHAP explanations of every target of `forecast`, made by the fitted `forecaster`."""
    drivers = drivers or DriverMap.load()
    frames = [
        explain_target(forecaster.targets_[t].model_, tf, drivers, tol)
        for t, tf in forecast.targets.items()
    ]
    return pd.concat(frames, ignore_index=True)


def check_decomposition(
    expl: pd.DataFrame, forecasts: pd.DataFrame, latest: pd.DataFrame, tol: float = 1e-6
) -> float:
    """The parts of every explanation add up to log(forecast / latest observation)."""
    s = expl.groupby(["unit_id", "target", "horizon"])["contribution_log"].sum().rename("sum")
    f = forecasts.merge(latest, on=["unit_id", "target"]).set_index(
        ["unit_id", "target", "horizon"]
    )
    d = np.abs(s - np.log(f["forecast"] / f["latest"]).reindex(s.index))
    worst = float(d.max()) if len(d) else 0.0
    if not worst <= tol:
        raise AdditivityError(
            f"explanation parts do not add up to the forecast (largest deviation {worst:.3g})"
        )
    return worst


def by_driver(expl: pd.DataFrame) -> pd.DataFrame:
    """Contributions summed per driver (the view for reports)."""
    keys = ["unit_id", "target", "horizon", "year", "driver"]
    return (
        expl.groupby(keys, sort=False)[
            ["contribution_log", "contribution_pct", "contribution_persons"]
        ]
        .sum()
        .reset_index()
    )


def global_importance(expl: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute contribution (log points) per target, horizon and driver."""
    d = by_driver(expl)
    return (
        d.assign(abs_log=d["contribution_log"].abs())
        .groupby(["target", "horizon", "driver"])["abs_log"]
        .mean()
        .rename("mean_abs_contribution_log")
        .reset_index()
        .sort_values(
            ["target", "horizon", "mean_abs_contribution_log"], ascending=[True, True, False]
        )
    )


def dependence(expl: pd.DataFrame, top: int = 10, bins: int = 10) -> pd.DataFrame:
    """How a feature's value moves its contribution: for the `top` features by mean absolute
    SHAP (per target), the mean contribution in each decile of the feature's value."""
    # model features only: not the components, nor the features a nested town inherits from
    # its parent (no SHAP value of their own; their values are the parent's)
    f = expl[~expl["feature"].isin(COMPONENTS) & expl["shap"].notna()].copy()
    f["abs"] = f["contribution_log"].abs()
    rows = []
    for target, g in f.groupby("target"):
        order = g.groupby("feature")["abs"].mean().sort_values(ascending=False).head(top)
        for feature in order.index:
            d = g[g["feature"] == feature]
            v = pd.to_numeric(d["value"], errors="coerce")
            if v.notna().sum() < bins:  # categorical or too few values: one row per level
                for level, e in d.groupby(d["value"].astype(str)):
                    rows.append(
                        {
                            "target": target,
                            "feature": feature,
                            "bin": level,
                            "value_mean": np.nan,
                            "n": len(e),
                            "mean_contribution_log": e["contribution_log"].mean(),
                        }
                    )
                continue
            q = pd.qcut(v, bins, duplicates="drop")
            for interval, e in d.groupby(q, observed=True):
                rows.append(
                    {
                        "target": target,
                        "feature": feature,
                        "bin": str(interval),
                        "value_mean": float(pd.to_numeric(e["value"]).mean()),
                        "n": len(e),
                        "mean_contribution_log": e["contribution_log"].mean(),
                    }
                )
    return pd.DataFrame(rows)
