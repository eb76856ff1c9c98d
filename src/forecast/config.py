"""Typed configuration, loaded from YAML in `experiments/` and logged with every run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .baselines import BASELINES
from .errors import ConfigError
from .schema import TARGETS


class LightGBMParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_estimators: int = Field(300, ge=10, le=5000)
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(31, ge=2, le=1024)
    min_child_samples: int = Field(40, ge=1)
    subsample: float = Field(0.8, gt=0, le=1)
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)
    objective: str = "huber"
    alpha: float = Field(0.05, gt=0, description="huber transition point (annual log growth)")


class PromotionRule(BaseModel):
    """When `forecast retrain` moves the `champion` alias to a challenger (see forecast.retrain).

    Both are scored on the same backtest origins and outcomes; the challenger is promoted only
    if its `metric` at `horizon` is at least `min_improvement_pct` percent (relative) lower than
    the champion's and its interval coverage there lies within `coverage_band` (or, with
    `coverage_fallback`, is no further from the nominal level than the champion's, within
    `coverage_tolerance`).
    """

    model_config = ConfigDict(extra="forbid")
    metric: Literal["mape", "mdape", "wmape", "ape_p90"] = "mape"
    target: str | None = Field(None, description="default: the policy's target")
    horizon: int | None = Field(None, ge=1, description="default: the policy horizon")
    min_improvement_pct: float = Field(
        2.0, gt=-100, lt=100, description="relative reduction of the metric, in percent"
    )
    coverage_band: tuple[float, float] = (0.7, 0.9)
    coverage_fallback: bool = Field(
        True,
        description="outside the band, still promote when the challenger's coverage is no "
        "further from the nominal level than the champion's on the same cells (keeping the "
        "champion would not give better intervals), give or take `coverage_tolerance`",
    )
    coverage_tolerance: float = Field(
        0.05,
        ge=0,
        le=1,
        description="how much further from the nominal level than the champion's the "
        "challenger's coverage may be in the fallback (coverage measured at one or two origins "
        "is noisy by a few points)",
    )

    @field_validator("coverage_band")
    @classmethod
    def _band(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= v[0] <= v[1] <= 1:
            raise ValueError("coverage_band must be [low, high] with 0 <= low <= high <= 1")
        return v


class EngineConfig(BaseModel):
    """How forecasts are made. Every field is logged to MLflow as a parameter."""

    model_config = ConfigDict(extra="forbid")
    target_mode: Literal["relative"] = Field(
        "relative",
        description="the model learns log growth relative to the national total (a residual "
        "over the LIN/EXP trend was tried and was worse at every backtest origin)",
    )
    reference_source: Literal["dataset", "units"] = Field(
        "dataset",
        description="national and regional totals from country.csv/regions.csv where the "
        "dataset has them ('dataset'), or always chain-linked from the top-level units "
        "('units': the total the training units actually add up to; control to total applies)",
    )
    horizons: list[int] = Field(default_factory=lambda: list(range(1, 11)))
    level: float = Field(0.8, gt=0, lt=1, description="central coverage of the intervals")
    base_years: int = Field(10, ge=1, description="base period of the trend baselines")
    max_span: int = Field(15, ge=1, description="longest gap between two observations in a pair")
    max_pairs: int = Field(400_000, ge=1000, description="training pairs kept (random sample)")
    calibration_offsets: list[int] = Field(
        default_factory=lambda: [2, 5, 10],
        description="calibration origins, in years before the as-of year",
    )
    backtest_offsets: list[int] = Field(
        default_factory=lambda: [5, 10],
        description="origins (years before the as-of year) of the backtest reported with a run",
    )
    min_calibration_history: int = Field(
        5,
        ge=1,
        description="distinct observed years a calibration origin needs behind it; when no "
        "calibration origin has them, 3 will do (US employment, observed from 1990, gets "
        "intervals from 1994)",
    )
    short_calibration_history: int | None = Field(
        None,
        ge=2,
        description="issue 11: when no calibration origin has `min_calibration_history` years "
        "behind it, origins with this many will do, and the latest such year is added as a "
        "calibration origin when none of `calibration_offsets` has them (US employment, "
        "observed from 1990: 2 gives intervals from 1992); None: 3, offsets only",
    )
    short_history_intervals: Literal["none", "one_year_changes", "one_year_changes_shared"] = Field(
        "none",
        description="issue 11: intervals where no calibration origin is possible at all (a "
        "target observed for two years): 'one_year_changes' = conformal on the units' "
        "observed one-year changes relative to the nation (the errors of a no-change-in-"
        "share forecast), scaled linearly with the span; 'one_year_changes_shared' = those "
        "changes as the relative part of `interval_method` (with shared_shock: plus the "
        "national projection's backtest errors since the series begins; kz_annual at 1994, "
        "whose districts are annual from 1992 only); 'none': no intervals",
    )
    symmetric_intervals: bool = Field(
        True, description="conformal on |log error| (robust when the sign of bias flips)"
    )
    size_breaks: list[float] = Field(default_factory=lambda: [10_000, 50_000, 250_000])
    min_cell: int = Field(30, ge=5, description="fewest residuals for a calibration cell")
    combine: bool = True
    combine_members: list[str] = Field(
        default_factory=lambda: ["model", "lin_exp"],
        description="forecasts combined (log-linearly) with weights learned per span",
    )
    combine_groups: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        description="issue 11, opt-in: per target, units.csv flag columns whose units get "
        "their own combination weights over their own members, learned on their own "
        "calibration residuals (e.g. employment: {mining_dependent: [model, lin_exp, naive]}); "
        "empty: one set of weights for all units",
    )
    combine_groups_unfitted: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        description="issue 11, opt-in, with combine_groups: per target, the members weighed "
        "equally for a group that has no calibration residuals (a series too short for any "
        "calibration origin, e.g. US employment at 1991: {mining_dependent: [model, naive]}); "
        "empty: such a group takes the other units' weights",
    )
    combine_shrinkage: float = Field(
        0.5,
        ge=0,
        le=1,
        description="pull of the learned weights towards equal weights (0: as learned, 1: equal);"
        " learned weights follow the calibration decades too closely",
    )
    weight_step: float = Field(0.1, gt=0, le=0.5)
    control_to_total: bool = True
    region_relative_features: bool = Field(
        False,
        description="issue 11, opt-in: features of the unit's growth relative to its own region "
        "over 5/10/20 years and the turn of its relative trend (5-year against 20-year)",
    )
    recency_halflife: float | None = Field(
        3.0,
        gt=0,
        description="training pairs weigh half as much for every this many years their end lies "
        "before the origin (None: equal weights); chosen on US origins 1981/1986",
    )
    reference_method: Literal["chosen", "chosen_safe", "lin_exp", "long_backtest"] = Field(
        "chosen",
        description="national projection the model grows with: 'chosen' = no change, drift or "
        "damped trend, whichever backtests best on the national series up to the origin "
        "(forecast.reference_choice); 'chosen_safe' = the same, but a short cyclical series "
        "(under 20 years, fallen in some year: US employment) chooses between no change and "
        "the damped trend only; 'lin_exp' = the classic trend; 'long_backtest' = no change or "
        "damped trend by their unweighted backtest since the series begins (forecast.national)",
    )
    interval_span_exponent: float = Field(
        0.9,
        gt=0,
        le=1.5,
        description="interval widths beyond the calibrated spans grow like span ** this "
        "(0.9: relative residuals of US population, calibration at 1981 and 1986; 1.0 in "
        "experiments/engine.yaml, benchmarks/results/us_tuning.md)",
    )
    short_span_exponent: float | None = Field(
        None,
        gt=0,
        le=1.5,
        description="issue 11, opt-in: the span exponent instead of interval_span_exponent "
        "when the longest calibrated span is at most 2 years (a short series, e.g. US "
        "employment from 1990; also the one-year-changes intervals): 0.8 extrapolated "
        "calibration at +1/+2 to +10 best on US population origins 1981/1986 "
        "(benchmarks/results/us_tuning.md); None: as interval_span_exponent (linear for "
        "one-year changes)",
    )
    short_span_scope: Literal["always", "long_national"] = Field(
        "always",
        description="issue 11 (session 6), opt-in: where short_span_exponent applies: "
        "'always', or 'long_national' only where the national projection's backtest reaches "
        "the longest forecast horizon (its errors then carry the long spans; without such a "
        "backtest the relative part is extrapolated linearly: the post-Soviet proxy's short "
        "series without a national one covered 0.64 at 2004 +5 with 0.8)",
    )
    reference_halflife: float | None = Field(
        10.0,
        gt=0,
        description="national errors in the intervals are pooled over horizons and weighted "
        "by recency, halved every this many years (None: per horizon, equal weights)",
    )
    interval_method: Literal["shared_shock", "conformal"] = Field(
        "shared_shock",
        description="'shared_shock': national error from the backtest of the national "
        "projection since the series begins + conformal relative error, convolved; "
        "'conformal': split conformal on the calibration residuals alone",
    )
    interval_relative: Literal["net_of_national", "total", "net_of_unit_mean"] = Field(
        "net_of_national",
        description="issue 11, 'shared_shock' only: the calibration residuals enter as the "
        "relative part net of the national error realised at their origin, or 'total' (as "
        "they are: the national backtest errors are added on top). Net of national widened "
        "US population intervals to 0.88-0.91 at +6..+10 from 1986 (the unit-mean error and "
        "the national one moved apart); 'total' covered 0.78-0.81 (benchmarks/us_tuning.py); "
        "'net_of_unit_mean': net of the median error of all units at the same calibration "
        "origin and span (the common shock as the units shared it: the Kazakh districts' "
        "errors did not follow the national series')",
    )
    regime_scaling: Literal["none", "recent_errors"] = Field(
        "none",
        description="issue 11, opt-in: 'recent_errors' scales the intervals by how the "
        "engine's own +1/+2 forecasts from the latest calibration origin, which end at the "
        "origin, erred against them (forecast.regime: narrower in calm years, wider when a "
        "shock is under way); 'none': no scaling",
    )
    regime_scope: Literal["latest_origin", "last_years"] = Field(
        "latest_origin",
        description="with regime_scaling: the recent errors are the +1/+2 errors of the "
        "latest calibration origin ('latest_origin'), or every calibration error whose "
        "outcome lies in the last two years up to the origin, whatever its span "
        "('last_years')",
    )
    regime_power: float = Field(
        1.0,
        ge=0,
        le=2,
        description="with regime_scaling: the factor is score ** this (0: no scaling, 1: "
        "the recent errors' own level-quantile ratio)",
    )
    regime_bounds: tuple[float, float] = Field(
        (0.5, 2.0),
        description="with regime_scaling: the factor is clipped to [lower, upper]",
    )
    feature_consistency: float | None = Field(
        None,
        ge=0,
        le=1,
        description="drop features whose observed share at the forecast anchors differs from "
        "that in the (recency-weighted) training pairs by more than this (None: keep all); "
        "kz_annual: regional totals from 2000, labour survey mostly from 2015",
    )
    rebasing_years: dict[str, list[int]] = Field(
        default_factory=dict,
        description="census re-basing years per target (e.g. population: [1999, 2009, 2022]): "
        "the model learns from series spliced across them (forecast.rebasing); baselines and "
        "scores keep the published values. Empty: no splicing",
    )
    rebasing_risk_period: float | None = Field(
        None,
        gt=0,
        description="with rebasing_years: years between census re-basings; calibration "
        "residuals are cleaned of past re-basing breaks and the intervals add a unit's break "
        "(drawn from past ones) with probability span / this (forecast.rebasing.RebasingRisk)",
    )
    rebasing_census_window: tuple[int, int] | None = Field(
        None,
        description="issue 11: the next census re-basing is due this many years [a, b] "
        "(1 <= a <= b) after the last one up to the origin in rebasing_years or found in the "
        "data (each whole year alike, given none by the origin); wherever the intervals take "
        "the re-basing risk (rebasing_risk_period or a detected period), they add a unit's "
        "break with the probability it falls within the span (forecast.census_calendar, "
        "rebasing_detect.timing_for) instead of span / period or the detected window",
    )
    rebasing_detection: list[str] = Field(
        default_factory=lambda: ["population"],
        description="targets whose census re-basings the engine finds in the data itself "
        "(forecast.rebasing_detect), added to rebasing_years; where any is found and "
        "rebasing_risk_period is not set, the intervals take the re-basing risk with the "
        "detected period (10 years with one re-basing). Inert where none is found (US "
        "counties, irregular census series). Empty: no detection",
    )
    nested_members: dict[str, list[str]] = Field(
        default_factory=dict,
        description="issue 11 (monotowns), per target: the forecast of a nested town (a town "
        "proper inside its administration) with a parent member is the equal-weight geometric "
        "mean of these members: 'parent' (its anchor value times the parent's forecast growth "
        "since the town's anchor year; forecast.nested), 'model' or baselines. Top-level units "
        "never change. Empty: nested units are combined like the others",
    )

    @field_validator("nested_members")
    @classmethod
    def _nested(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        allowed = ("parent", "model", *BASELINES)
        for target, members in v.items():
            if not members or any(m not in allowed for m in members):
                raise ValueError(
                    f"nested_members of {target} must be a non-empty list from {allowed} "
                    f"(got {members})"
                )
        return v

    seed: int = 7
    n_jobs: int = Field(
        1,
        ge=1,
        description="LightGBM threads; >1 only pays off on large data and an idle machine "
        "(OpenMP threads spin-wait: on a busy 2-core machine 2 threads ran 100x slower)",
    )
    lightgbm: LightGBMParams = Field(default_factory=LightGBMParams)
    promotion: PromotionRule = Field(default_factory=PromotionRule)

    @field_validator("combine_members")
    @classmethod
    def _members(cls, v: list[str]) -> list[str]:
        unknown = [m for m in v if m not in ("model", *BASELINES)]
        if unknown or not v or v[0] != "model":
            raise ValueError(
                f"combine_members must start with 'model' and use baselines from "
                f"{', '.join(BASELINES)} (got {v})"
            )
        return v

    @field_validator("combine_groups", "combine_groups_unfitted")
    @classmethod
    def _groups(
        cls, v: dict[str, dict[str, list[str]]], info: ValidationInfo
    ) -> dict[str, dict[str, list[str]]]:
        for target, groups in v.items():
            for column, members in groups.items():
                unknown = [m for m in members if m not in ("model", *BASELINES)]
                if unknown or not members:
                    raise ValueError(
                        f"{info.field_name}.{target}.{column}: members must be 'model' or "
                        f"baselines from {', '.join(BASELINES)} (got {members})"
                    )
        return v

    @field_validator("combine_groups", "combine_groups_unfitted", "nested_members")
    @classmethod
    def _per_target(cls, v: dict, info: ValidationInfo) -> dict:
        unknown = [t for t in v if t not in TARGETS]
        if unknown:  # a misspelt target would silently do nothing
            raise ValueError(
                f"{info.field_name}: keys must be targets from {', '.join(TARGETS)} (got {unknown})"
            )
        return v

    @model_validator(mode="after")
    def _unfitted_groups_exist(self) -> EngineConfig:
        for target, groups in self.combine_groups_unfitted.items():
            for column in groups:
                if column not in self.combine_groups.get(target, {}):
                    raise ValueError(
                        f"combine_groups_unfitted.{target}.{column}: no such group in "
                        f"combine_groups.{target} (the members apply only to a group with its "
                        "own weights)"
                    )
        return self

    @field_validator("rebasing_census_window")
    @classmethod
    def _census_window(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not 1 <= v[0] <= v[1]:
            raise ValueError(
                f"rebasing_census_window must be [a, b] years after the last re-basing with "
                f"1 <= a <= b (got {list(v)})"
            )
        return v

    @field_validator("regime_bounds")
    @classmethod
    def _regime_bounds(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= 1 <= v[1]:
            raise ValueError("regime_bounds must be [lower, upper] with 0 < lower <= 1 <= upper")
        return v

    @field_validator("horizons")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if not v or min(v) < 1:
            raise ValueError("horizons must be positive whole years, e.g. [1, 5, 10]")
        return sorted(set(v))


def load_yaml_model(model: type[BaseModel], path: Path | None, overrides: dict | None = None):
    """Load a pydantic model from YAML; errors name the file and the offending field."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
    raw.update(overrides or {})
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        where = path or "configuration"
        msgs = [
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {_problem(model, e)}"
            for e in exc.errors()
        ]
        raise ConfigError(f"{where}: " + "; ".join(msgs)) from exc


def _problem(model: type[BaseModel], error: dict) -> str:
    """Pydantic's message, except that a misspelt key names the keys allowed where it stands."""
    if error.get("type") != "extra_forbidden":
        return error["msg"]
    owner: Any = model
    for step in error["loc"][:-1]:
        field = owner.model_fields.get(step) if isinstance(owner, type) else None
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return "unknown key"
        owner = annotation
    return f"unknown key (allowed here: {', '.join(owner.model_fields)})"


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested config into dotted keys (for MLflow params)."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump()
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj):
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}{i}."))
    else:
        out[prefix.rstrip(".")] = obj
    return out
