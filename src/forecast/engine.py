"""The forecaster: features -> LightGBM growth model -> baselines -> combination -> intervals.

`TargetForecaster` handles one target (population or employment) of one dataset, fitted at one
origin on data cut at that origin, so nothing after it can reach the model. `Forecaster` holds
one per target. Both follow scikit-learn's estimator contract: hyperparameters in `__init__`,
`fit(data, origin) -> self`, learned state in attributes ending in `_` (the growth model, the
combination weights, the interval estimator; never the data), and `forecast(data, horizons)`
reads the data it is given (cut at the fitted origin) for features and baselines.

Combination weights and interval quantiles are learned from residuals at calibration origins
before the fitting origin (never at the origin itself), collected by the one rolling-origin loop
(:func:`forecast.holdout.rolling`).

A forecast carries its :class:`Decomposition`: every part of `log(forecast / anchor value)`
(the model's relative growth, the reference trend and the control to the total, times the
model's weight, and each baseline member times its weight), which is what the explanations read.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import baselines, fitcache, hierarchy, holdout, nested, rebasing, rebasing_detect, regime
from .combination import combiner
from .config import EngineConfig
from .errors import (
    ForecastError,
    InsufficientHistoryError,
    NotFittedError,
    SparseHistoryWarning,
)
from .features import FeatureBuilder, inconsistent_features, observations, pairs
from .intervals import ConformalIntervals, make_intervals
from .model import GrowthModel
from .national import errors as national_errors
from .national import projection as national_projection
from .reference import COUNTRY, Reference, recency_weights
from .schema import Dataset

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
MODEL_LABELS = {True: "combined", False: "lightgbm"}
BASELINES_ONLY = "baselines"


def _quiet(_: str) -> None:
    pass


SHORT_SPAN = 2  # issue 11: calibration this short extrapolates with short_span_exponent


def interval_estimator(
    config: EngineConfig, reference_errors: pd.DataFrame | None = None
) -> ConformalIntervals:
    """The interval estimator of the config: anything with `fit(residuals) -> self` (columns
    span, p0, error = log(actual / forecast), ref_error = the national share of it) and
    `quantiles(span, p0) -> (lo, hi)` on the log scale (and `summary()` for the run's
    calibration table). issue 11: `reference_errors` (origin, horizon, error) are the national
    projection's backtest errors, the common part of the interval (forecast.intervals)."""
    return make_intervals(config, reference_errors)


def _realised_reference(ref: Reference, rows: pd.DataFrame) -> np.ndarray:
    """issue 11 hook: observed national log growth from each row's anchor to its year (the
    projected one where unobserved, i.e. no national share; 0 without a national series)."""
    projected = rows["reference_growth"].to_numpy(dtype=float)
    if not ref.has(COUNTRY):
        return np.zeros(len(rows))
    g = np.log(ref.at(COUNTRY, rows["year"]) / ref.at(COUNTRY, rows["t0"]))
    return np.where(np.isfinite(g), g, projected)


@dataclass
class _Context:
    """What a fitted forecaster reads from the data (cut at its origin): rebuilt for every
    fit or forecast, never stored on the forecaster (within a `fitcache.sharing` block, the
    fits and forecasts of one target at one origin on the same data share one)."""

    data: Dataset
    refs: dict[str, Reference]
    # the totals the baselines (CSP-VSG) read: as published, even where the model's are spliced
    base_refs: dict[str, Reference]
    builder: FeatureBuilder
    obs: pd.DataFrame
    # the observations of top-level units only: the training pairs come from them, since a
    # nested unit's people are already in its parent's series (forecast.hierarchy)
    train_obs: pd.DataFrame
    top: pd.Index
    # features already built, by their anchors (unit_id, t0): see `features`
    built: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, data: Dataset, target: str, config: EngineConfig, origin: int) -> _Context:
        shared = fitcache.key(target, origin, config, data)
        return fitcache.remember(
            ("context", shared), lambda: cls._build(data, target, config, origin, shared)
        )

    @classmethod
    def _build(
        cls, data: Dataset, target: str, config: EngineConfig, origin: int, shared
    ) -> _Context:
        cut, model_data, refs, base_refs = fitcache.remember(
            ("references", shared and shared[1:]), lambda: _references(data, config, origin)
        )
        obs = observations(cut.panel, target)
        top = hierarchy.top_level(cut.units)
        model_obs = observations(model_data.panel, target)
        train = model_obs[model_obs["unit_id"].isin(top).to_numpy()].reset_index(drop=True)
        builder = FeatureBuilder(
            model_data, target, refs, region_relative=config.region_relative_features
        )
        return cls(cut, refs, base_refs, builder, obs, train, top)

    def features(self, anchors: pd.DataFrame) -> pd.DataFrame:
        """`anchors` (unit_id, t0) with their features, built once per set of anchors (the
        forecasts of one origin at different horizons share their anchors)."""
        k = tuple(zip(anchors["unit_id"], anchors["t0"], strict=True))
        if k not in self.built:
            self.built[k] = pd.concat([anchors, self.builder.build(anchors)], axis=1)
        return self.built[k]


def _references(data: Dataset, config: EngineConfig, origin: int):
    """The data cut at `origin`, the data the model learns from (spliced across census
    re-basings where the config asks), and the reference totals of both."""
    cut = data.up_to(origin)
    if config.reference_source == "units":  # totals from the units themselves
        cut = dataclasses.replace(cut, country=None, regions=None)
    base_refs = {t: Reference.from_dataset(cut, t, config.base_years) for t in cut.targets}
    # the model learns from series spliced across census re-basings (forecast.rebasing);
    # baselines and scoring keep the published values
    model_data, refs = cut, base_refs
    years = rebasing_detect.years_for(config, cut)  # the config's and the detected ones
    if years:
        model_data = rebasing.spliced(cut, years, origin)
        refs = {
            t: Reference.from_dataset(model_data, t, config.base_years)
            if t in years
            else base_refs[t]
            for t in cut.targets
        }
    return cut, model_data, refs, base_refs


@dataclass(frozen=True)
class Decomposition:
    """The parts of `log(forecast / p0)`, one value per row of the forecast table:

        weight * (relative + reference + control) + sum_m baseline_weights[m] * baseline_logs[m]

    `relative` is the model's own (annualised x span) growth relative to the reference; SHAP
    splits it into features. `reference` is the reference (national) log growth over the span,
    `control` the log scaling of the model's forecast to the separately forecast total (0 where
    no control applies), `weight` the model's weight in the combination. Baseline members with
    zero weight contribute nothing. The combined forecast itself is computed independently
    (geometric combination), so `total()` agreeing with it is a check, not an identity."""

    span: np.ndarray
    weight: np.ndarray
    relative: np.ndarray
    reference: np.ndarray
    control: np.ndarray
    baseline_weights: dict[str, np.ndarray]
    baseline_logs: dict[str, np.ndarray]

    def parts(self) -> dict[str, np.ndarray]:
        """The weighted parts: model relative growth, reference trend, control, baselines."""
        base = np.zeros(len(self.span))
        for m, w in self.baseline_weights.items():
            base += np.where(w > 0, w * self.baseline_logs[m], 0.0)
        return {
            "model_relative": self.weight * self.relative,
            "national_trend": self.weight * self.reference,
            "total_control": self.weight * self.control,
            "baseline_methods": base,
        }

    def total(self) -> np.ndarray:
        return np.sum(list(self.parts().values()), axis=0)


@dataclass
class TargetForecast:
    """Rows: one per (unit, year), with every member forecast, the weights, the combined
    forecast and its interval. `X`: the model inputs of each row (None without a model)."""

    target: str
    table: pd.DataFrame
    X: pd.DataFrame | None
    decomposition: Decomposition
    model: str


class TargetForecaster:
    def __init__(self, *, target: str, config: EngineConfig):
        self.target = target
        self.config = config

    # -- fitting -------------------------------------------------------------------------
    def fit(
        self, data: Dataset, origin: int, *, calibrate: bool = True, progress: Progress = _quiet
    ) -> TargetForecaster:
        """Fit on `data` cut at `origin`. Raises InsufficientHistoryError when the target has
        no training pair at all; with fewer pairs than LightGBM's `min_child_samples` (it could
        not split once) the forecaster uses the baselines alone (`model_` is None)."""
        self.origin_ = int(origin)
        # the same fit made earlier in this run (forecast.fitcache), else a new one
        shared = fitcache.key(self.target, self.origin_, self.config, data)
        state = fitcache.lookup(shared)
        if state is None:
            state = self._fit_model(data, progress)
            fitcache.store(shared, state)
        self.__dict__.update(state)
        if self.model_ is None:
            msg = (
                f"{self.target}: {self.n_pairs_} training pair(s) up to {self.origin_}, fewer "
                f"than the model needs ({self.config.lightgbm.min_child_samples}, lightgbm."
                f"min_child_samples): forecasting with the baselines alone"
            )
            if calibrate:  # the forecaster itself (not a calibration origin): the user's business
                warnings.warn(msg, SparseHistoryWarning, stacklevel=2)
            else:
                log.info(msg)
        self.combiner_ = combiner(  # issue 11: grouped weights where the config asks
            self.members,
            step=self.config.weight_step,
            shrinkage=self.config.combine_shrinkage,
            min_cell=self.config.min_cell,
            groups=self.config.combine_groups.get(self.target) if self.config.combine else None,
            units=data.units.reset_index(),
            has_model=self.model_ is not None,
            unfitted=self.config.combine_groups_unfitted.get(self.target),
        )
        self.intervals_ = None
        self.regime_ = None  # issue 11: the regime signal (forecast.regime), when asked for
        if calibrate:
            self._calibrate(data, progress)
        return self

    def _fit_model(self, data: Dataset, progress: Progress) -> dict:
        """The learned state before calibration: features dropped, pairs, the growth model
        (None with fewer pairs than LightGBM's `min_child_samples`)."""
        ctx = _Context.of(data, self.target, self.config, self.origin_)
        progress(f"{self.target}: training pairs")
        X, z, w = self._training_table(ctx)
        dropped = self._inconsistent(ctx, X, w)
        X = X.drop(columns=dropped)
        model = None
        if len(X) >= self.config.lightgbm.min_child_samples:
            progress(f"{self.target}: fitting LightGBM on {len(X):,} pairs")
            model = GrowthModel(
                params=self.config.lightgbm, seed=self.config.seed, n_jobs=self.config.n_jobs
            ).fit(X, z, w)
        return {"dropped_features_": dropped, "n_pairs_": len(X), "model_": model}

    def _training_table(self, ctx: _Context):
        pr = pairs(ctx.train_obs, self.config.max_span, self.config.max_pairs, self.config.seed)
        if pr.empty:
            raise InsufficientHistoryError(
                f"no training pairs for {self.target} up to {self.origin_}: every unit has at "
                f"most one observation within {self.config.max_span} years of another"
            )
        span = (pr["t1"] - pr["t0"]).to_numpy(dtype=float)
        y = np.log(pr["v1"].to_numpy() / pr["v0"].to_numpy()) - self._anchor_growth(ctx, pr)
        keep = np.isfinite(y)
        pr, y, span = pr[keep].reset_index(drop=True), y[keep], span[keep]
        w = span * recency_weights(pr["t1"], self.origin_, self.config.recency_halflife)  # #11
        return _design(ctx, pr, span), y / span, w

    def _inconsistent(self, ctx: _Context, X: pd.DataFrame, w: np.ndarray) -> list[str]:
        """Opt-in (`feature_consistency`): features observed far more (or less) often at the
        forecast anchors of the top-level units than in the weighted training pairs
        (forecast.features.inconsistent_features); the span is always kept."""
        tol = self.config.feature_consistency
        if tol is None or X.empty:
            return []
        anc = baselines.anchors(ctx.train_obs, self.origin_, self.config.base_years)
        rows = anc.reset_index()[["unit_id", "t0"]]
        at = _design(ctx, rows, np.ones(len(rows)))
        return [c for c in inconsistent_features(X, w, at, tol) if c != "span"]

    def _anchor_growth(self, ctx: _Context, pr: pd.DataFrame) -> np.ndarray:
        """The part of log(v1 / v0) the model does not learn: the national growth."""
        t0, t1 = pr["t0"].to_numpy(float), pr["t1"].to_numpy(float)
        ref = ctx.refs.get(self.target)
        if ref is not None and ref.has(COUNTRY):
            return np.log(ref.at(COUNTRY, t1) / ref.at(COUNTRY, t0))
        return np.zeros(len(pr))

    def _calibration_origins(self, data: Dataset) -> list[int]:
        years = np.sort(observations(data.up_to(self.origin_).panel, self.target)["year"].unique())
        out = []
        need = min(self.config.min_calibration_history, len(years))
        offsets = self.config.calibration_offsets
        if not any((years <= self.origin_ - off).sum() >= need for off in offsets):
            # issue 11: a short series still gets (wider) intervals
            short = self.config.short_calibration_history
            need = min(need, short or 3)
            if short and not any((years <= self.origin_ - off).sum() >= need for off in offsets):
                # none of the offsets has the history: the latest earlier year that has it
                ok = [int(y) for y in years[need - 1 :] if y < self.origin_]
                offsets = [self.origin_ - ok[-1]] if ok else []
        for off in offsets:
            o = self.origin_ - off
            history = int((years <= o).sum())
            if history < need:
                # a model fitted on a year or two of history errs far more than the one
                # being calibrated (e.g. US employment, observed from 1990 only)
                log.info("calibration origin %s skipped: %s years of history", o, history)
                continue
            out.append(o)
        return out

    def _calibration_residuals(self, data: Dataset, progress: Progress) -> pd.DataFrame:
        """Forecasts of uncalibrated forecasters fitted at each calibration origin, joined with
        the outcomes up to the fitting origin (data cut there: later outcomes never enter).
        Top-level units only: a nested unit's people are already in its parent's residual."""
        cut = data.up_to(self.origin_)
        top = hierarchy.top_level(cut.units)

        def fit_forecast(d: Dataset, o: int, horizons: list[int]) -> dict[str, pd.DataFrame]:
            try:
                sub = TargetForecaster(target=self.target, config=self.config).fit(
                    d, o, calibrate=False
                )
            except InsufficientHistoryError as exc:
                log.info("calibration origin %s skipped: %s", o, exc)
                return {}
            return {self.target: sub.forecast(d, horizons).table}

        frames = []
        for o in self._calibration_origins(data):
            res = holdout.rolling(
                cut,
                [o],
                list(range(1, self.origin_ - o + 1)),
                fit_forecast,
                progress=lambda msg: progress(f"{self.target}: {msg}"),
                label="calibration origin",
            )
            if not res.empty:
                res = res[res["unit_id"].isin(top)]
                frames.append(res.rename(columns={"origin": "cal_origin"}))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _calibrate(self, data: Dataset, progress: Progress) -> None:
        res = self._calibration_residuals(data, progress)
        if res.empty:
            if self.config.short_history_intervals != "none":
                self._short_history_intervals(data)
                return
            log.warning("%s: no calibration origin had data; no intervals", self.target)
            return
        res = res[res[self.members[0]].notna() & res["actual"].notna()]
        self.combiner_.fit(res)
        # issue 11 hook: the national share of each residual, and the national backtest errors
        ref = Reference.from_dataset(data.up_to(self.origin_), self.target, self.config.base_years)
        residuals = pd.DataFrame(
            {
                "span": res["span"],
                "p0": res["p0"],
                "error": np.log(res["actual"] / self.combiner_.combine(res)),
                "ref_error": _realised_reference(ref, res) - res["reference_growth"],
            }
        )
        if self.config.interval_relative == "total":
            residuals["ref_error"] = 0.0  # the realised national error stays in the residual
        national = national_errors(ref, self.origin_, self.config.reference_method)
        cut = data.up_to(self.origin_)
        years = rebasing_detect.years_for(self.config, cut).get(self.target, [])
        period = rebasing_detect.period_for(self.config, cut, self.target)
        unit_breaks = None
        if period and years:  # opt-in: re-basing risk explicit, residuals cleaned of it
            unit_breaks = rebasing.relative_breaks(data, self.target, years, self.origin_)
            residuals["error"] -= rebasing.breaks_between(res, unit_breaks)
        if self.config.interval_relative == "net_of_unit_mean":  # opt-in (issue 11, kz_annual)
            cell = [res["cal_origin"].to_numpy(), res["span"].to_numpy()]
            residuals["ref_error"] = residuals.groupby(cell)["error"].transform("median")
        cfg, short = self.config, self._short_span_exponent(national)
        if short is not None and residuals["span"].max() <= SHORT_SPAN:
            # issue 11: calibrated at +1/+2 only, extrapolated to +10 (tuned on population)
            cfg = cfg.model_copy(update={"interval_span_exponent": short})
        else:
            short = None
        try:
            estimator = interval_estimator(cfg, national)
            if short is not None:  # also where no national backtest exists yet
                estimator.beyond_exponent = short
            self.intervals_ = estimator.fit(residuals)
        except InsufficientHistoryError as exc:
            log.warning("%s: no intervals: %s", self.target, exc)
            return
        if self.config.regime_scaling == "recent_errors":  # opt-in (issue 11, forecast.regime)
            self.regime_ = regime.regime_signal(
                self.intervals_,
                residuals.assign(
                    cal_origin=res["cal_origin"].to_numpy(), year=res["year"].to_numpy()
                ),
                self.origin_,
                level=self.config.level,
                power=self.config.regime_power,
                bounds=self.config.regime_bounds,
                min_errors=self.config.min_cell,
                scope=self.config.regime_scope,
            )
        if unit_breaks is not None and not unit_breaks.empty:
            # the census calendar after the last re-basing, or none (span / period)
            timing = rebasing_detect.timing_for(self.config, cut, self.target, self.origin_)
            self.intervals_ = rebasing.RebasingRisk(
                self.intervals_, unit_breaks["jump"], period, self.config.level, timing
            )
        if self.regime_ is not None and self.regime_.factor != 1.0:
            self.intervals_ = regime.RegimeScaled(self.intervals_, self.regime_.factor)

    def _short_history_intervals(self, data: Dataset) -> None:
        """issue 11: intervals for a target too short for any calibration origin (observed for
        two or three years): split conformal on the observed one-year changes of the top-level
        units up to the origin relative to the nation's, i.e. the span-1 errors of a forecast
        that keeps each unit's share; longer spans scale like span ** `short_span_exponent`
        (linearly without it; `ConformalIntervals`). With 'one_year_changes_shared' they are the
        relative part of the config's interval method (shared_shock: plus the national backtest
        errors; kz_annual at 1994)."""
        cut = data.up_to(self.origin_)
        obs = observations(cut.panel, self.target)
        obs = obs[obs["unit_id"].isin(hierarchy.top_level(cut.units))]
        obs = obs.sort_values(["unit_id", "year"])
        prev = obs.groupby("unit_id")[["year", "value"]].shift(1)
        step = obs.assign(t0=prev["year"], v0=prev["value"]).dropna(subset=["t0", "v0"])
        step = step[step["year"] - step["t0"] == 1]
        if step.empty:
            log.warning("%s: no one-year change up to %s; no intervals", self.target, self.origin_)
            return
        ref = Reference.from_dataset(cut, self.target, self.config.base_years)
        shift = np.zeros(len(step))
        if ref.has(COUNTRY):
            shift = np.log(ref.at(COUNTRY, step["year"]) / ref.at(COUNTRY, step["t0"]))
        residuals = pd.DataFrame(
            {
                "span": 1,
                "p0": step["v0"].to_numpy(dtype=float),
                "error": np.log(step["value"].to_numpy(dtype=float) / step["v0"].to_numpy())
                - np.nan_to_num(shift),
            }
        )
        national = national_errors(ref, self.origin_, self.config.reference_method)
        short = self._short_span_exponent(national)
        estimator = ConformalIntervals(
            level=self.config.level,
            size_breaks=self.config.size_breaks,
            min_cell=self.config.min_cell,
            symmetric=self.config.symmetric_intervals,
            beyond_exponent=short or 1.0,
        )
        if self.config.short_history_intervals == "one_year_changes_shared":
            # the changes are relative already; the common part is the national backtest's
            if national.empty or len(residuals) < self.config.min_cell:
                log.warning(
                    "%s: %s one-year change(s) up to %s and %s national backtest error(s): "
                    "no intervals (one_year_changes_shared needs min_cell of the first and a "
                    "national history)",
                    self.target,
                    len(residuals),
                    self.origin_,
                    len(national),
                )
                return
            residuals["ref_error"] = 0.0
            cfg = self.config
            if short is not None:  # as in _calibrate: a one-year calibration extrapolated
                cfg = cfg.model_copy(update={"interval_span_exponent": short})
            estimator = interval_estimator(cfg, national)
            if short is not None:
                estimator.beyond_exponent = short
        try:
            self.intervals_ = estimator.fit(residuals)
        except InsufficientHistoryError as exc:
            log.warning("%s: no intervals: %s", self.target, exc)

    def _short_span_exponent(self, national: pd.DataFrame) -> float | None:
        """short_span_exponent where it applies (config short_span_scope): always, or only
        where the national projection's backtest errors reach the longest horizon forecast
        ('long_national'; the national part of the interval is then measured at the spans the
        relative part is extrapolated to). None: the spans scale as without it."""
        short = self.config.short_span_exponent
        if short is None or self.config.short_span_scope == "always":
            return short
        reach = int(national["horizon"].max()) if not national.empty else 0
        return short if reach >= max(self.config.horizons) else None

    @property
    def members(self) -> list[str]:
        """The combined forecasts: the config's members, without the model when it could not
        be fitted (then the baselines of the config, or their average)."""
        members = list(self.config.combine_members) if self.config.combine else ["model"]
        if getattr(self, "model_", True) is None:
            members = [m for m in members if m != "model"] or ["average"]
        return members

    @property
    def label(self) -> str:
        """The `model` column of the forecasts table."""
        return BASELINES_ONLY if self.model_ is None else MODEL_LABELS[self.config.combine]

    # -- predicting ----------------------------------------------------------------------
    def _points(
        self, ctx: _Context, requests: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """Model and baseline forecasts for (unit_id, year) requests, year > origin."""
        cfg = self.config
        anc = baselines.anchors(ctx.obs, self.origin_, cfg.base_years)
        req = requests.merge(anc, left_on="unit_id", right_index=True, how="inner")
        req = req.reset_index(drop=True)
        req["span"] = (req["year"] - req["t0"]).astype(int)
        X = None
        if self.model_ is not None:
            X = _design(ctx, req, req["span"].to_numpy(dtype=float))
            X = X.drop(columns=getattr(self, "dropped_features_", []), errors="ignore")
            z = self.model_.predict(X)
            ref = ctx.refs.get(self.target)
            ref_growth = np.zeros(len(req))
            if ref is not None and ref.has(COUNTRY):
                r0 = ref.at(COUNTRY, req["t0"])
                r1 = national_projection(ref, self.origin_, req["year"], cfg.reference_method)
                ref_growth = np.nan_to_num(np.log(r1 / r0))
            req["relative_growth"] = z * req["span"].to_numpy()
            req["reference_growth"] = ref_growth
            req["model"] = req["p0"] * np.exp(req["relative_growth"] + ref_growth)
            if cfg.control_to_total:
                req["model"] = self._control(ctx, req)
        else:
            req["relative_growth"] = req["reference_growth"] = req["model"] = np.nan
        base_inputs = self._baseline_inputs(ctx, req)
        req = pd.concat([req, baselines.all_baselines(base_inputs)], axis=1)
        return req, X

    def _control(self, ctx: _Context, req: pd.DataFrame) -> pd.Series:
        """Scale the model's forecasts of units anchored at the origin so that, together, they
        grow like the separately forecast national total. Only where that total is built from
        these same units (no country.csv: towns need not add up to their country)."""
        ref = ctx.refs.get(self.target)
        if ref is None or not ref.has(COUNTRY) or ctx.data.country is not None:
            return req["model"]
        out = req["model"].copy()
        at_origin = req["t0"] == self.origin_
        top = req["unit_id"].isin(ctx.top)
        r0 = ref.at(COUNTRY, [self.origin_])[0]
        how = self.config.reference_method  # issue 11: the chosen national projection
        for year, rows in req[at_origin].groupby("year"):
            growth = national_projection(ref, self.origin_, [year], how)[0] / r0
            summed = rows[top[rows.index]]  # nested units take their parents' factor
            if np.isfinite(growth) and len(summed):
                factor = growth * summed["p0"].sum() / summed["model"].sum()
                out.loc[rows.index] = rows["model"] * factor
        return out

    def _baseline_inputs(self, ctx: _Context, req: pd.DataFrame) -> pd.DataFrame:
        """Anchor values plus the reference totals each unit's CSP-VSG uses: its region where the
        region total is known at both the base and the anchor year, the country otherwise."""
        ref = ctx.base_refs.get(self.target)
        frame = req[["p0", "t0", "pb", "tb", "year"]].copy()
        n = len(frame)
        r0, rb, r_hat = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        keys = np.full(n, "", dtype=object)
        if ref is not None:
            t0 = frame["t0"].to_numpy(dtype=float)
            tb = frame["tb"].fillna(frame["t0"]).to_numpy(dtype=float)
            year = frame["year"].to_numpy(dtype=float)
            regions = ctx.data.units["region"].reindex(req["unit_id"]).astype(str).to_numpy()
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

    def forecast(self, data: Dataset, horizons: list[int]) -> TargetForecast:
        """Final forecasts at origin + h for every unit `data` observes at or before the
        origin, with their decomposition."""
        if not hasattr(self, "origin_"):
            raise NotFittedError("TargetForecaster is not fitted: call fit() first")
        ctx = _Context.of(data, self.target, self.config, self.origin_)
        units = ctx.obs["unit_id"].unique()
        req = pd.DataFrame(
            [(u, self.origin_ + h) for u in units for h in horizons], columns=["unit_id", "year"]
        )
        t, X = self._points(ctx, req)
        t["horizon"] = t["year"] - self.origin_
        w = self.combiner_.weights(t)
        t["forecast"] = self.combiner_.combine(t, w)
        nested_members = self.config.nested_members.get(self.target)
        if nested_members:  # opt-in (issue 11): nested towns follow their parent
            member = nested.parent_member(t, ctx.obs, ctx.data.units)
            ids = nested.parent_ids(t, ctx.data.units)  # explain: the parent's drivers
            t, w = nested.blend(t, w, member, nested_members, parent_id=ids)
        for m in w.columns:
            t[f"w_{m}"] = w[m]
        t["weight"] = w["model"] if "model" in w else 0.0
        if self.intervals_ is not None:
            lo, hi = self.intervals_.quantiles(t["span"], t["p0"])
            t["lower"] = t["forecast"] * np.exp(lo)
            t["upper"] = t["forecast"] * np.exp(hi)
        else:
            t["lower"] = t["upper"] = np.nan
        return TargetForecast(
            target=self.target,
            table=t,
            X=X,
            decomposition=self._decomposition(t, w),
            model=self.label,
        )

    @staticmethod
    def _decomposition(t: pd.DataFrame, w: pd.DataFrame) -> Decomposition:
        p0 = t["p0"].to_numpy(dtype=float)
        weight = t["weight"].to_numpy(dtype=float)
        if "model" in w:
            model_log = np.log(t["model"].to_numpy(dtype=float) / p0)
            relative = t["relative_growth"].to_numpy(dtype=float)
            reference = t["reference_growth"].to_numpy(dtype=float)
            control = model_log - relative - reference  # 0 up to rounding without control
        else:
            relative = reference = control = np.zeros(len(t))
        others = [m for m in w.columns if m != "model"]
        return Decomposition(
            span=t["span"].to_numpy(dtype=float),
            weight=weight,
            relative=relative,
            reference=reference,
            control=control,
            baseline_weights={m: w[m].to_numpy(dtype=float) for m in others},
            baseline_logs={m: np.log(t[m].to_numpy(dtype=float) / p0) for m in others},
        )


def _design(ctx: _Context, rows: pd.DataFrame, span: np.ndarray) -> pd.DataFrame:
    """Model inputs for rows (unit_id, t0): features built once per distinct anchor, plus
    the span."""
    anchors = rows[["unit_id", "t0"]].drop_duplicates().reset_index(drop=True)
    feats = ctx.features(anchors)
    X = rows[["unit_id", "t0"]].merge(feats, on=["unit_id", "t0"], how="left")
    return X.drop(columns=["unit_id", "t0"]).assign(span=span)


@dataclass
class Forecast:
    """What `Forecaster.forecast` returns: one TargetForecast per target, and the tidy table."""

    origin: int
    level: float
    targets: dict[str, TargetForecast]

    def table(self) -> pd.DataFrame:
        """The tidy forecasts table of the data contract."""
        frames = []
        for target, tf in self.targets.items():
            t = tf.table
            frames.append(
                pd.DataFrame(
                    {
                        "unit_id": t["unit_id"],
                        "target": target,
                        "origin_year": self.origin,
                        "horizon": t["horizon"].astype(int),
                        "year": t["year"].astype(int),
                        "forecast": t["forecast"],
                        "lower": t["lower"],
                        "upper": t["upper"],
                        "level": self.level,
                        "model": tf.model,
                    }
                )
            )
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["target", "unit_id", "horizon"], kind="mergesort").reset_index(
            drop=True
        )


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
        self.targets_: dict[str, TargetForecaster] = {}
        self.skipped_: dict[str, str] = {}
        for target in cut.targets:
            try:
                self.targets_[target] = TargetForecaster(target=target, config=self.config).fit(
                    cut, origin, calibrate=calibrate, progress=progress
                )
            except InsufficientHistoryError as exc:  # e.g. observed for one year only so far
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

    def forecast(self, data: Dataset, horizons: list[int] | None = None) -> Forecast:
        """Forecasts of every fitted target that `data` (cut at the fitted origin) observes."""
        if not hasattr(self, "targets_"):
            raise NotFittedError("Forecaster is not fitted: call fit() first")
        horizons = horizons or self.config.horizons
        observed = data.up_to(self.origin_).targets
        if not set(observed) & set(self.targets_):
            raise ForecastError(
                f"the data observes none of the fitted targets ({', '.join(self.targets_)}) "
                f"at or before {self.origin_}"
            )
        return Forecast(
            origin=self.origin_,
            level=self.config.level,
            targets={
                t: tf.forecast(data, horizons) for t, tf in self.targets_.items() if t in observed
            },
        )
