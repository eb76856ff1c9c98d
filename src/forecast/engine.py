"""The forecaster: features -> LightGBM growth model -> baselines -> combination -> intervals.

`TargetForecaster` handles one target (population or employment) of one dataset, fitted at one
origin on data cut at that origin, so nothing after it can reach the model. `Forecaster` holds
one per target. Combination weights and interval quantiles are learned from residuals at
calibration origins before the fitting origin (never at the origin itself).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import baselines, hierarchy
from .config import EngineConfig
from .errors import ForecastError, NotFittedError, SparseHistoryWarning
from .features import FeatureBuilder, observations, pairs
from .intervals import ConformalIntervals
from .model import GrowthModel
from .reference import COUNTRY, Reference
from .schema import Dataset

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def _simplex(k: int, step: float) -> np.ndarray:
    """All weight vectors of length k on a grid of `step` that sum to one."""
    n = int(round(1 / step))
    pts = [c for c in itertools.product(range(n + 1), repeat=k) if sum(c) == n]
    return np.array(pts, dtype=float) / n


def _quiet(_: str) -> None:
    pass


@dataclass
class PointForecast:
    """Rows: one per (unit, year). Columns include every component of the forecast."""

    table: pd.DataFrame
    X: pd.DataFrame


class TargetForecaster:
    def __init__(self, *, target: str, config: EngineConfig):
        self.target = target
        self.config = config

    # -- fitting -------------------------------------------------------------------------
    def fit(
        self, data: Dataset, origin: int, *, calibrate: bool = True, progress: Progress = _quiet
    ) -> TargetForecaster:
        self.origin_ = origin
        self._bind(data)
        progress(f"{self.target}: training pairs")
        X, z, w = self._training_table()
        self.n_pairs_ = len(X)
        progress(f"{self.target}: fitting LightGBM on {len(X):,} pairs")
        self.model_ = GrowthModel(
            params=self.config.lightgbm, seed=self.config.seed, n_jobs=self.config.n_jobs
        ).fit(X, z, w)
        self.weights_ = {}
        self.intervals_ = None
        if calibrate:
            self._calibrate(progress)
        return self

    def _bind(self, data: Dataset) -> None:
        """Attach the data (cut at the origin) the features and baselines are computed from."""
        cut = data.up_to(self.origin_)
        if self.config.reference_source == "units":  # totals from the units themselves
            cut = dataclasses.replace(cut, country=None, regions=None)
        self.data_ = cut
        self.refs_ = {
            t: Reference.from_dataset(cut, t, self.config.base_years) for t in cut.targets
        }
        self.builder_ = FeatureBuilder(cut, self.target, self.refs_)
        self.obs_ = observations(cut.panel, self.target)
        # training pairs and calibration residuals come from top-level units only: a nested
        # unit's people are already in its parent's series (forecast.hierarchy)
        top = self.obs_["unit_id"].isin(hierarchy.top_level(cut.units))
        self.train_obs_ = self.obs_[top.to_numpy()].reset_index(drop=True)

    def rebind(self, data: Dataset) -> TargetForecaster:
        """A copy that keeps the fitted model, weights and intervals but reads `data` (cut at
        the fitted origin) for features and baselines: how a stored model serves a panel."""
        if not hasattr(self, "model_"):
            raise NotFittedError("TargetForecaster is not fitted: call fit() first")
        clone = copy.copy(self)
        clone._bind(data)
        return clone

    def _training_table(self):
        pr = pairs(self.train_obs_, self.config.max_span, self.config.max_pairs, self.config.seed)
        if pr.empty:
            raise ValueError(
                f"no training pairs for {self.target} up to {self.origin_}: every unit has at "
                f"most one observation within {self.config.max_span} years of another"
            )
        span = (pr["t1"] - pr["t0"]).to_numpy(dtype=float)
        y = np.log(pr["v1"].to_numpy() / pr["v0"].to_numpy()) - self._anchor_growth(pr)
        keep = np.isfinite(y)
        pr, y, span = pr[keep].reset_index(drop=True), y[keep], span[keep]
        return self._design(pr, span), y / span, span

    def _design(self, rows: pd.DataFrame, span: np.ndarray) -> pd.DataFrame:
        """Model inputs for rows (unit_id, t0): features built once per distinct anchor, plus
        the span."""
        anchors = rows[["unit_id", "t0"]].drop_duplicates().reset_index(drop=True)
        feats = pd.concat([anchors, self.builder_.build(anchors)], axis=1)
        X = rows[["unit_id", "t0"]].merge(feats, on=["unit_id", "t0"], how="left")
        return X.drop(columns=["unit_id", "t0"]).assign(span=span)

    def _anchor_growth(self, pr: pd.DataFrame) -> np.ndarray:
        """The part of log(v1 / v0) the model does not learn: the national growth."""
        t0, t1 = pr["t0"].to_numpy(float), pr["t1"].to_numpy(float)
        ref = self.refs_.get(self.target)
        if ref is not None and ref.has(COUNTRY):
            return np.log(ref.at(COUNTRY, t1) / ref.at(COUNTRY, t0))
        return np.zeros(len(pr))

    def _calibrate(self, progress: Progress) -> None:
        frames = []
        cut = self.data_  # already cut at the origin: outcomes after it never enter
        years = np.sort(self.obs_["year"].unique())
        for off in self.config.calibration_offsets:
            o = self.origin_ - off
            history = int((years <= o).sum())
            if history < min(self.config.min_calibration_history, len(years)):
                # a model fitted on a year or two of history errs far more than the one
                # being calibrated (e.g. US employment, observed from 1990 only)
                log.info("calibration origin %s skipped: %s years of history", o, history)
                continue
            progress(f"{self.target}: calibration origin {o}")
            try:
                sub = TargetForecaster(target=self.target, config=self.config).fit(
                    cut, o, calibrate=False
                )
            except ValueError as exc:  # too little history before this origin
                log.info("calibration origin %s skipped: %s", o, exc)
                continue
            obs = self.train_obs_
            actual = obs[(obs["year"] > o) & (obs["year"] <= self.origin_)]
            if actual.empty:
                continue
            fc = sub.predict_points(actual[["unit_id", "year"]]).table
            fc = fc.merge(actual.rename(columns={"value": "actual"}), on=["unit_id", "year"])
            frames.append(fc.assign(cal_origin=o))
        if not frames:
            log.warning("%s: no calibration origin had data; no intervals", self.target)
            return
        res = pd.concat(frames, ignore_index=True)
        res = res[res["model"].notna() & res["actual"].notna()]
        self.calibration_ = res
        self.weights_ = self._learn_weights(res)
        residuals = pd.DataFrame(
            {
                "span": res["span"],
                "p0": res["p0"],
                "error": np.log(res["actual"] / self.combine(res)),
            }
        )
        cfg = self.config
        self.intervals_ = ConformalIntervals(
            level=cfg.level,
            size_breaks=cfg.size_breaks,
            min_cell=cfg.min_cell,
            symmetric=cfg.symmetric_intervals,
        ).fit(residuals)

    @property
    def members(self) -> list[str]:
        return list(self.config.combine_members) if self.config.combine else ["model"]

    def _learn_weights(self, res: pd.DataFrame) -> dict[int, np.ndarray]:
        """Weights of the members per span (and overall, key -1) minimising the mean absolute
        log error of the log-linear combination on calibration residuals; grid on the simplex."""
        members = self.members
        if len(members) == 1:
            return {}
        err = np.column_stack([np.log(res["actual"] / res[m]) for m in members])
        ok = np.isfinite(err).all(axis=1)
        err, span = err[ok], res["span"].to_numpy()[ok]
        grid = _simplex(len(members), self.config.weight_step)

        lam = self.config.combine_shrinkage

        def best(e: np.ndarray) -> np.ndarray:
            learned = grid[int(np.argmin(np.abs(e @ grid.T).mean(axis=0)))]
            return (1 - lam) * learned + lam / len(members)

        weights = {-1: best(err)} if len(err) else {}
        for s in np.unique(span):
            m = span == s
            if m.sum() >= self.config.min_cell:
                weights[int(s)] = best(err[m])
        return weights

    def member_weights(self, table: pd.DataFrame) -> pd.DataFrame:
        """Per-row weights of the members (renormalised over the members available there)."""
        members = self.members
        default = self.weights_.get(-1, np.eye(len(members))[0])
        w = np.array([self.weights_.get(int(s), default) for s in table["span"]], dtype=float)
        w = w.reshape(len(table), len(members))
        avail = np.column_stack([np.isfinite(table[m].to_numpy(dtype=float)) for m in members])
        w = np.where(avail, w, 0.0)
        total = w.sum(axis=1, keepdims=True)
        fallback = np.where(avail[:, :1], 1.0, 0.0)  # nothing weighted available: the model
        w = np.where(
            total > 0,
            w / np.where(total > 0, total, 1),
            np.hstack([fallback, np.zeros((len(table), len(members) - 1))]),
        )
        return pd.DataFrame(w, columns=members, index=table.index)

    def combine(self, table: pd.DataFrame) -> np.ndarray:
        w = self.member_weights(table)
        logs = np.column_stack([np.log(table[m].to_numpy(dtype=float)) for m in w.columns])
        return np.exp(np.nansum(np.where(w.to_numpy() > 0, logs, 0.0) * w.to_numpy(), axis=1))

    # -- predicting ----------------------------------------------------------------------
    def predict_points(self, requests: pd.DataFrame) -> PointForecast:
        """Model and baseline forecasts for (unit_id, year) requests, year > origin."""
        if not hasattr(self, "model_"):
            raise NotFittedError("TargetForecaster is not fitted: call fit() first")
        cfg = self.config
        anc = baselines.anchors(self.obs_, self.origin_, cfg.base_years)
        req = requests.merge(anc, left_on="unit_id", right_index=True, how="inner")
        req = req.reset_index(drop=True)
        req["span"] = (req["year"] - req["t0"]).astype(int)
        X = self._design(req, req["span"].to_numpy(dtype=float))
        z = self.model_.predict(X)
        ref = self.refs_.get(self.target)
        ref_growth = np.zeros(len(req))
        if ref is not None and ref.has(COUNTRY):
            r0 = ref.at(COUNTRY, req["t0"])
            r1 = ref.value(COUNTRY, self.origin_, req["year"])
            ref_growth = np.nan_to_num(np.log(r1 / r0))
        req["relative_growth"] = z * req["span"].to_numpy()
        req["reference_growth"] = ref_growth
        req["model"] = req["p0"] * np.exp(req["relative_growth"] + ref_growth)
        if cfg.control_to_total:
            req["model"] = self._control(req)
        base_inputs = self._baseline_inputs(req)
        req = pd.concat([req, baselines.all_baselines(base_inputs)], axis=1)
        return PointForecast(table=req, X=X)

    def _control(self, req: pd.DataFrame) -> pd.Series:
        """Scale the model's forecasts of units anchored at the origin so that, together, they
        grow like the separately forecast national total. Only where that total is built from
        these same units (no country.csv: towns need not add up to their country)."""
        ref = self.refs_.get(self.target)
        if ref is None or not ref.has(COUNTRY) or self.data_.country is not None:
            return req["model"]
        out = req["model"].copy()
        at_origin = req["t0"] == self.origin_
        top = req["unit_id"].isin(hierarchy.top_level(self.data_.units))
        r0 = ref.at(COUNTRY, [self.origin_])[0]
        for year, rows in req[at_origin].groupby("year"):
            growth = ref.value(COUNTRY, self.origin_, [year])[0] / r0
            summed = rows[top[rows.index]]  # nested units take their parents' factor
            if np.isfinite(growth) and len(summed):
                factor = growth * summed["p0"].sum() / summed["model"].sum()
                out.loc[rows.index] = rows["model"] * factor
        return out

    def _baseline_inputs(self, req: pd.DataFrame) -> pd.DataFrame:
        """Anchor values plus the reference totals each unit's CSP-VSG uses: its region where the
        region total is known at both the base and the anchor year, the country otherwise."""
        ref = self.refs_.get(self.target)
        frame = req[["p0", "t0", "pb", "tb", "year"]].copy()
        n = len(frame)
        r0, rb, r_hat = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        keys = np.full(n, "", dtype=object)
        if ref is not None:
            t0 = frame["t0"].to_numpy(dtype=float)
            tb = frame["tb"].fillna(frame["t0"]).to_numpy(dtype=float)
            year = frame["year"].to_numpy(dtype=float)
            regions = self.data_.units["region"].reindex(req["unit_id"]).astype(str).to_numpy()
            for key in [*pd.unique(regions), COUNTRY]:
                m = (regions == key) if key != COUNTRY else (keys == "")
                if not m.any() or not ref.has(key):
                    continue
                a, b = ref.at(key, t0[m]), ref.at(key, tb[m])
                idx = np.flatnonzero(m)[np.isfinite(a) & np.isfinite(b)]
                ok = np.isfinite(a) & np.isfinite(b)
                r0[idx], rb[idx] = a[ok], b[ok]
                r_hat[idx] = ref.value(key, self.origin_, year[idx])
                keys[idx] = key
        return frame.assign(r0=r0, rb=rb, r_hat=r_hat, reference=keys)

    def forecast(self, horizons: list[int]) -> PointForecast:
        """Final forecasts at origin + h for every unit observed at or before the origin."""
        units = self.obs_["unit_id"].unique()
        req = pd.DataFrame(
            [(u, self.origin_ + h) for u in units for h in horizons], columns=["unit_id", "year"]
        )
        pf = self.predict_points(req)
        t = pf.table
        t["horizon"] = t["year"] - self.origin_
        w = self.member_weights(t)
        for m in w.columns:
            t[f"w_{m}"] = w[m]
        t["weight"] = w["model"]
        t["forecast"] = self.combine(t)
        if self.intervals_ is not None:
            lo, hi = self.intervals_.quantiles(t["span"], t["p0"])
            t["lower"] = t["forecast"] * np.exp(lo)
            t["upper"] = t["forecast"] * np.exp(hi)
        else:
            t["lower"] = t["upper"] = np.nan
        return pf


class Forecaster:
    """One TargetForecaster per target the dataset observes."""

    def __init__(self, *, config: EngineConfig | None = None):
        self.config = config or EngineConfig()

    def fit(
        self,
        data: Dataset,
        origin: int | None = None,
        *,
        calibrate: bool = True,
        progress: Progress = _quiet,
    ) -> Forecaster:
        origin = data.last_year if origin is None else int(origin)
        self.origin_ = origin
        cut = data.up_to(origin)
        self.targets_ = {}
        self.skipped_: dict[str, str] = {}
        for target in cut.targets:
            try:
                self.targets_[target] = TargetForecaster(target=target, config=self.config).fit(
                    cut, origin, calibrate=calibrate, progress=progress
                )
            except ValueError as exc:  # e.g. a target observed for one year only so far
                self.skipped_[target] = str(exc)
                warnings.warn(
                    f"{target} is not forecast from {origin}: {exc}",
                    SparseHistoryWarning,
                    stacklevel=2,
                )
        if not self.targets_:
            reasons = "; ".join(self.skipped_.values()) or "no observations"
            raise ForecastError(f"nothing to forecast from {origin}: {reasons}")
        return self

    def rebind(self, data: Dataset) -> Forecaster:
        """The fitted forecaster reading another copy of the data (see TargetForecaster.rebind).
        Targets the new data does not observe are dropped."""
        if not hasattr(self, "targets_"):
            raise NotFittedError("Forecaster is not fitted: call fit() first")
        clone = copy.copy(self)
        clone.targets_ = {
            t: tf.rebind(data)
            for t, tf in self.targets_.items()
            if t in data.up_to(self.origin_).targets
        }
        return clone

    def forecast(self, horizons: list[int] | None = None) -> dict[str, PointForecast]:
        if not hasattr(self, "targets_"):
            raise NotFittedError("Forecaster is not fitted: call fit() first")
        horizons = horizons or self.config.horizons
        return {t: tf.forecast(horizons) for t, tf in self.targets_.items()}

    def forecast_table(self, horizons: list[int] | None = None) -> pd.DataFrame:
        """The tidy forecasts table of the data contract."""
        frames = []
        for target, pf in self.forecast(horizons).items():
            t = pf.table
            frames.append(
                pd.DataFrame(
                    {
                        "unit_id": t["unit_id"],
                        "target": target,
                        "origin_year": self.origin_,
                        "horizon": t["horizon"].astype(int),
                        "year": t["year"].astype(int),
                        "forecast": t["forecast"],
                        "lower": t["lower"],
                        "upper": t["upper"],
                        "level": self.config.level,
                        "model": "combined" if self.config.combine else "lightgbm",
                    }
                )
            )
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["target", "unit_id", "horizon"], kind="mergesort").reset_index(
            drop=True
        )
