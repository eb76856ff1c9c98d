"""Yearly retraining: a challenger against the champion, promotion by rule.

`forecast retrain --data DIR --as-of YEAR` trains a challenger on the data up to YEAR (a full
`forecast run`: forecasts, SHAP, categories, backtest; logged to MLflow, registered, alias
`challenger`), scores the champion and the challenger on the same backtest origins, units and
outcomes, and moves the `champion` alias to the challenger only when the promotion rule of the
engine config (`promotion:`, see forecast.config.PromotionRule) holds. The first challenger of
a registry without a champion becomes champion. The decision, its numbers and the category
transitions between the champion's and the challenger's forecasts are printed and logged on
the challenger's run (tags, `decision_*` metrics, `decision/` artifacts).

How the two are compared, and why
---------------------------------
A registered model is a vintage: a configuration fitted on the data up to its as-of year. The
challenger has seen every outcome up to YEAR, so no outcome known today can score its fitted
model out of sample (and the champion's fitted model has seen every outcome before its own
as-of). Waiting for outcomes after YEAR would delay a decision by up to the policy horizon
(10 years). So both are scored the way a vintage is used, by rolling origin on the
challenger's backtest origins (YEAR minus `backtest_offsets`, those with outcomes at the
promotion horizon h), with the data cut at YEAR, on exactly the same (unit, target year) cells:

- challenger: its config fitted at each origin o, forecasting o + h (its run's backtest rows);
- champion: its config (its run's `config.json`) fitted at o - age, forecasting the same target
  years o + h, i.e. at horizon h + age, where age = YEAR - the champion's as-of year.

The age is what yearly retraining is about: keeping the champion means serving forecasts made
`age` years earlier from older data, and the comparison charges it for that. Retraining the
same vintage with the same config (age 0) compares a recipe with itself: both score the same
(this case reuses the challenger's rows; fits are deterministic) and the challenger is not
promoted. With age 1 the challenger is promoted only if a year of newer data improves the
metric by more than the margin and its intervals cover as the rule asks. Refitting the
champion's config rather than reloading its fitted model is what makes the origins common; the
price is that both are refitted with the current engine code, so a change of code between
vintages is not part of the comparison (the champion's own backtest, made with its code, stays
in its run's artifacts).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from pydantic import ValidationError

from . import backtest as backtest_mod
from . import io, markdown, pipeline, registry, tracking
from .config import EngineConfig, PromotionRule
from .errors import ConfigError, ForecastError

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Scores:
    """Accuracy of one side on the common cells (method `combined`)."""

    metric: float
    mape: float
    mdape: float
    bias: float
    coverage: float
    width: float
    n: int
    origins: list[int]

    @classmethod
    def of(cls, rows: pd.DataFrame, metric: str) -> Scores:
        m = backtest_mod.metrics(rows, ["target"], methods=("combined",))
        if m.empty:
            nan = float("nan")
            return cls(nan, nan, nan, nan, nan, nan, 0, [])
        r = m.iloc[0]
        return cls(
            metric=float(r[metric]),
            mape=float(r["mape"]),
            mdape=float(r["mdape"]),
            bias=float(r["malpe"]),
            coverage=float(r.get("coverage", float("nan"))),
            width=float(r.get("width_pct", float("nan"))),
            n=int(r["n"]),
            origins=sorted(int(o) for o in rows["origin"].unique()),
        )


@dataclass
class Side:
    version: str | None
    as_of: int | None
    run_id: str | None
    scores: Scores | None = None


@dataclass
class Decision:
    promoted: bool
    reason: str
    dataset: str
    target: str
    horizon: int
    metric: str
    rule: dict
    challenger: Side
    champion: Side | None
    improvement_pct: float | None = None
    age: int | None = None
    per_origin: list[dict] = field(default_factory=list)

    @property
    def champion_version(self) -> str | None:
        return self.champion.version if self.champion else None

    @property
    def challenger_version(self) -> str | None:
        return self.challenger.version

    def numbers(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, side in (("challenger", self.challenger), ("champion", self.champion)):
            if side is None or side.scores is None:
                continue
            s = side.scores
            out.update(
                {
                    f"{name}_{self.metric}": s.metric,
                    f"{name}_coverage": s.coverage,
                    f"{name}_width": s.width,
                    f"{name}_bias": s.bias,
                    f"{name}_n": s.n,
                }
            )
        if self.improvement_pct is not None:
            out["improvement_pct"] = self.improvement_pct
        if self.age is not None:
            out["champion_age"] = self.age
        return {k: v for k, v in out.items() if v is not None and math.isfinite(v)}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["champion_version"] = self.champion_version
        d["challenger_version"] = self.challenger_version
        d["numbers"] = self.numbers()
        return d

    def summary(self) -> str:
        return f"{'PROMOTED' if self.promoted else 'KEPT CHAMPION'}: {self.reason}"


def decide(
    rule: PromotionRule,
    challenger: Scores | None,
    champion: Scores | None,
    has_champion: bool,
    level: float = 0.8,
) -> tuple[bool, str, float | None]:
    """Apply the promotion rule. Returns (promoted, reason, relative improvement in %)."""
    if not has_champion:
        return True, "no champion yet: the first challenger becomes champion", None
    m = rule.metric.upper()
    if challenger is None or champion is None or min(challenger.n, champion.n) == 0:
        return False, "no backtest cell to compare them on: the champion is kept", None
    if not champion.metric > 0:
        return False, f"the champion's {m} is {champion.metric:g}: nothing to improve", None
    improvement = 100 * (champion.metric - challenger.metric) / champion.metric
    better = improvement >= rule.min_improvement_pct
    covered, cov = _coverage_check(rule, challenger.coverage, champion.coverage, level)
    nums = (
        f"{m} {challenger.metric:.2f}% vs champion {champion.metric:.2f}% "
        f"({improvement:+.1f}% relative, rule >= {rule.min_improvement_pct:+g}%)"
    )
    if better and covered:
        return True, f"{nums}; {cov}", improvement
    why = []
    if not better:
        why.append("not better by the margin")
    if not covered:
        why.append("coverage fails the rule")
    return False, f"{'; '.join(why)}: {nums}; {cov}", improvement


def _coverage_check(
    rule: PromotionRule, challenger: float, champion: float, level: float
) -> tuple[bool, str]:
    if not math.isfinite(challenger):
        return False, "no intervals to check coverage"
    lo, hi = rule.coverage_band
    band = f"[{lo:.0%}, {hi:.0%}]"
    if lo <= challenger <= hi:
        return True, f"coverage {challenger:.1%} within {band}"
    text = f"coverage {challenger:.1%} outside {band}"
    if not rule.coverage_fallback or not math.isfinite(champion):
        return False, text
    tol = rule.coverage_tolerance
    than = f"the nominal {level:.0%} than the champion's {champion:.1%}"
    if tol:
        than += f" (tolerance {100 * tol:g} points)"
    if abs(challenger - level) <= abs(champion - level) + tol:
        return True, f"{text} but no further from {than}"
    return False, f"{text} and further from {than}"


def _cells(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[["origin", "unit_id", "year"]].drop_duplicates()


def champion_rows(
    data,
    origins: list[int],
    horizon: int,
    age: int,
    config: EngineConfig,
    target: str,
    progress: Progress = _quiet,
) -> pd.DataFrame:
    """The champion's config fitted at each origin minus its age, forecasting the same target
    years (origin + horizon). Rows are keyed by the evaluation origin; `fit_origin` and
    `fit_horizon` say what was actually fitted."""
    frames = []
    first = int(data.panel["year"].min())
    for o in origins:
        fit_origin = o - age
        if fit_origin <= first:
            continue
        progress(f"champion: fitting its config at {fit_origin} for origin {o}")
        try:
            rows = backtest_mod.rolling_origin(
                data, [fit_origin], [horizon + age], config, targets=[target]
            )
        except (ValueError, ForecastError) as exc:  # too little history at that origin
            progress(f"champion: origin {fit_origin} skipped ({exc})")
            continue
        if rows.empty:
            continue
        frames.append(
            rows.assign(origin=o, horizon=horizon, fit_origin=fit_origin, fit_horizon=horizon + age)
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def common_cells(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    if a.empty or b.empty:
        return a.iloc[0:0], b.iloc[0:0]
    keys = _cells(a).merge(_cells(b), on=["origin", "unit_id", "year"])
    return (
        a.merge(keys, on=["origin", "unit_id", "year"]),
        b.merge(keys, on=["origin", "unit_id", "year"]),
    )


def per_origin(chal: pd.DataFrame, champ: pd.DataFrame, metric: str) -> list[dict]:
    out = []
    for o in sorted(set(chal["origin"]) if not chal.empty else set()):
        c, p = Scores.of(chal[chal["origin"] == o], metric), None
        if not champ.empty:
            p = Scores.of(champ[champ["origin"] == o], metric)
        out.append(
            {
                "origin": int(o),
                "n": c.n,
                f"challenger_{metric}": c.metric,
                "challenger_coverage": c.coverage,
                f"champion_{metric}": p.metric if p else float("nan"),
                "champion_coverage": p.coverage if p else float("nan"),
            }
        )
    return out


def transitions(old: pd.DataFrame | None, new: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Category transitions from the champion's categories to the challenger's: a from x to
    count table and one row per unit whose category changed."""
    new = new[["unit_id", *[c for c in ("name", "category", "change_pct") if c in new]]]
    if old is None or old.empty:
        counts = new["category"].value_counts().rename_axis("category").reset_index(name="units")
        return counts.assign(**{"from": "(no champion)"}), new.iloc[0:0]
    old = old[["unit_id", *[c for c in ("category", "change_pct") if c in old]]]
    both = old.merge(new, on="unit_id", how="outer", suffixes=("_champion", "_challenger"))
    both["from"] = both["category_champion"].fillna("(not categorised)")
    both["to"] = both["category_challenger"].fillna("(not categorised)")
    table = pd.crosstab(both["from"], both["to"]).reset_index()
    table.columns.name = None
    changed = both[both["from"] != both["to"]]
    cols = ["unit_id", "name", "from", "to"]
    cols += [c for c in ("change_pct_champion", "change_pct_challenger") if c in changed]
    changed = changed[[c for c in cols if c in changed]].sort_values("unit_id")
    return table, changed.reset_index(drop=True)


@dataclass
class RetrainResult:
    run: pipeline.RunResult
    decision: Decision
    transition_table: pd.DataFrame
    changes: pd.DataFrame
    challenger_rows: pd.DataFrame
    champion_rows: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def _champion_config(champ) -> EngineConfig:
    raw = registry.run_json(champ.run_id, "outputs/config.json") if champ.run_id else None
    if raw is None:
        raise ForecastError(
            f"the champion (version {champ.version}) has no outputs/config.json in its run "
            f"{champ.run_id}: its configuration cannot be evaluated"
        )
    try:
        return EngineConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            f"the champion's config (version {champ.version}) is not valid for this version of "
            f"town-prospects ({exc}); promote a model by hand with "
            f"`mlflow` aliases or retrain from a registry without a champion"
        ) from exc


def _check_vintage(as_of: int, champ) -> None:
    if champ.as_of is not None and as_of < champ.as_of:
        raise ForecastError(
            f"--as-of {as_of} is before the champion's as-of year {champ.as_of} (version "
            f"{champ.version}): a challenger must see at least the champion's data"
        )


def retrain(
    dataset: str,
    as_of: int | None = None,
    *,
    config: EngineConfig | None = None,
    policy_path=None,
    runs_root=None,
    progress: Progress = _quiet,
) -> RetrainResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    folder = io.resolve_dataset(dataset)  # the run reads and validates it (once)
    name = registry.model_name(folder.name)
    champ = registry.alias(name, registry.CHAMPION)
    champ_cfg = None
    if champ is not None:
        if as_of is not None:
            _check_vintage(as_of, champ)
        champ_cfg = _champion_config(champ)
        progress(f"champion: version {champ.version}, as of {champ.as_of}")
    else:
        progress(f"no champion registered for {name}: the challenger will become champion")

    progress(f"challenger: training on data up to {as_of or 'the latest year'}")
    result = pipeline.run(
        folder,
        as_of=as_of,
        config=config,
        policy_path=policy_path,
        runs_root=runs_root,
        track=False,
        progress=progress,
    )
    timings["challenger_run"] = round(time.perf_counter() - t0, 2)
    data, as_of = result.data, int(result.forecaster.origin_)
    if champ is not None:
        _check_vintage(as_of, champ)
    progress("logging the challenger to MLflow")
    logged = tracking.log_run(result, role="challenger", champion_if_none=False)
    result.run_id, result.model_uri = logged.run_id, logged.model.uri
    version = logged.model.version
    registry.set_alias(name, registry.CHALLENGER, version)
    timings["challenger_log"] = round(time.perf_counter() - t0 - sum(timings.values()), 2)

    rule = result.config.promotion
    target = rule.target or result.policy.target
    horizon = rule.horizon or result.policy.horizon
    chal_side = Side(version=version, as_of=as_of, run_id=logged.run_id)
    bt = result.backtest
    chal = bt[(bt["target"] == target) & (bt["horizon"] == horizon)] if not bt.empty else bt
    champ_rows = pd.DataFrame()
    champ_side = None
    age = None
    if champ is not None:
        age = as_of - (champ.as_of if champ.as_of is not None else as_of)
        champ_side = Side(version=champ.version, as_of=champ.as_of, run_id=champ.run_id)
        origins = sorted(int(o) for o in chal["origin"].unique()) if not chal.empty else []
        if age == 0 and champ_cfg == result.config:
            progress("champion: same config and vintage as the challenger: same scores")
            champ_rows = chal.copy()
        elif origins:
            champ_rows = champion_rows(
                data.up_to(as_of), origins, horizon, age, champ_cfg, target, progress
            )
        chal, champ_rows = common_cells(chal, champ_rows)
        champ_side.scores = Scores.of(champ_rows, rule.metric)
    chal_side.scores = Scores.of(chal, rule.metric) if not chal.empty else None
    timings["champion_evaluation"] = round(time.perf_counter() - t0 - sum(timings.values()), 2)

    promoted, reason, improvement = decide(
        rule,
        chal_side.scores,
        champ_side.scores if champ_side else None,
        champ is not None,
        level=result.config.level,
    )
    if champ is not None and chal.empty:
        reason = (
            f"no backtest origin has outcomes at +{horizon} years (origins: as-of minus "
            f"backtest_offsets {result.config.backtest_offsets}; the promotion horizon needs an "
            f"offset >= {horizon}): the champion is kept"
        )
    decision = Decision(
        promoted=promoted,
        reason=reason,
        dataset=data.name,
        target=target,
        horizon=horizon,
        metric=rule.metric,
        rule=rule.model_dump(mode="json"),
        challenger=chal_side,
        champion=champ_side,
        improvement_pct=improvement,
        age=age,
        per_origin=per_origin(chal, champ_rows, rule.metric),
    )
    old_cats = registry.run_frame(champ.run_id, "outputs/categories.csv") if champ else None
    table, changes = transitions(old_cats, result.categories)
    if champ is not None:
        tracking.log_champion_evaluation(
            logged.run_id,
            data.name,
            champ_rows,
            {
                "champion_version": champ.version,
                "champion_as_of": champ.as_of,
                "champion_age": age,
                "origins": ",".join(str(r["origin"]) for r in decision.per_origin),
            },
        )
    tracking.log_decision(
        logged.run_id,
        decision.to_dict(),
        {
            "decision.md": decision_markdown(decision, table, changes),
            "category_transitions.csv": table,
            "category_changes.csv": changes,
            "per_origin.csv": pd.DataFrame(decision.per_origin),
        },
    )
    registry.tag_version(name, version, {"decision": "promoted" if promoted else "not_promoted"})
    if promoted:
        registry.promote(name, version, champ)
    timings["decide"] = round(time.perf_counter() - t0 - sum(timings.values()), 2)
    timings["total"] = round(time.perf_counter() - t0, 2)
    return RetrainResult(result, decision, table, changes, chal, champ_rows, timings)


def _fmt(v, spec: str) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def decision_markdown(d: Decision, table: pd.DataFrame, changes: pd.DataFrame) -> str:
    m = d.metric.upper()
    lines = [
        f"# Retraining decision: {d.dataset}, challenger v{d.challenger.version} "
        f"(as of {d.challenger.as_of})",
        "",
        f"**{d.summary()}**",
        "",
        f"Rule: {m} of `{d.target}` at +{d.horizon} years at least "
        f"{d.rule['min_improvement_pct']:g}% (relative) below the champion's, and interval "
        f"coverage within [{d.rule['coverage_band'][0]:g}, {d.rule['coverage_band'][1]:g}]"
        + (
            " (or no further from the nominal level than the champion's, tolerance "
            f"{100 * d.rule.get('coverage_tolerance', 0):g} points)."
            if d.rule.get("coverage_fallback")
            else "."
        ),
        "",
    ]
    if d.champion is not None:
        c, p = d.challenger.scores, d.champion.scores
        lines += [
            f"Champion v{d.champion.version} (as of {d.champion.as_of}, age {d.age}) refitted "
            f"at each origin minus its age; both scored on the same cells.",
            "",
            markdown.table(
                pd.DataFrame(
                    [
                        {
                            "": label,
                            m: _fmt(sc.metric, ".2f"),
                            "MdAPE": _fmt(sc.mdape, ".2f"),
                            "bias": _fmt(sc.bias, "+.2f"),
                            "coverage": _fmt(sc.coverage, ".1%"),
                            "width": _fmt(sc.width, ".1f"),
                            "n": sc.n,
                        }
                        for label, sc in (("challenger", c), ("champion", p))
                        if sc is not None
                    ]
                )
            ),
        ]
        lines += ["", f"Origins: {', '.join(str(r['origin']) for r in d.per_origin) or 'none'}"]
    lines += ["", "## Category transitions (champion -> challenger)", "", markdown.table(table)]
    if not changes.empty:
        lines += [
            "",
            f"{len(changes)} unit(s) change category:",
            "",
            markdown.table(changes.head(50)),
        ]
    return "\n".join(lines) + "\n"
