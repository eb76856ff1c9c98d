"""`forecast scenario`: baseline forecast -> scenario trajectories -> category per scenario.

`run` takes the baseline (the newest finished run's of the same data and engine config, else a
fit: :mod:`forecast.scenario_baseline`), applies every scenario of the file to it and categorises
each scenario's forecasts with the policy (the same facts and rules as the baseline, no
hysteresis, so that a changed category is the scenario's doing). Outputs: scenarios.csv
(trajectories), scenario_categories.csv (category and the outcome probabilities p_decline,
p_stabilize, p_growth under each scenario), the scenario file, the response estimate used and
scenario_run.json (where the baseline came from).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import io, runs, scenario_baseline, scenario_effects, tracking
from .config import EngineConfig
from .errors import ConfigError
from .facts import category_facts, latest_observations
from .policy import Policy, assign
from .response import ResponseEstimate, read_estimates
from .scenario_apply import Trajectories, apply, natural_increase
from .scenarios import ScenarioFile, check_against, load_scenarios
from .schema import Dataset

Progress = Callable[[str], None]
DEFAULT_SCENARIOS = "scenarios.yaml"
ESTIMATES_FILE = Path(__file__).parent / "resources" / "response_estimates.csv"
# the part of a scenario's change that is the scenario's own doing, in its explanations
SCENARIO_DRIVER = "scenario_events"
PROBABILITIES = ("p_decline", "p_stabilize", "p_growth")  # the outcome probabilities (policy)
CATEGORY_COLUMNS = [
    "scenario",
    "unit_id",
    "name",
    "category",
    "confidence",
    "p_decline",
    "p_stabilize",
    "p_growth",
    "change_pct",
    "lower_pct",
    "upper_pct",
    "structural_share",
    "baseline_category",
    "baseline_confidence",
    "baseline_p_decline",
    "baseline_p_stabilize",
    "baseline_p_growth",
    "baseline_change_pct",
    "changed",
]


def _quiet(_: str) -> None:
    pass


def resolve_response(spec: ScenarioFile, spec_path: Path) -> ResponseEstimate:
    path = Path(spec.response.file) if spec.response.file else ESTIMATES_FILE
    if not path.is_absolute() and spec.response.file:
        path = (spec_path.parent / path).resolve()
    estimates = read_estimates(path)
    if spec.response.group not in estimates:
        raise ConfigError(
            f"{spec_path}: response.group {spec.response.group!r} is not in {path} "
            f"(groups: {', '.join(estimates)})"
        )
    return estimates[spec.response.group]


def observed_then_forecast(
    data: Dataset, forecasts: pd.DataFrame, target: str
) -> pd.DataFrame | None:
    """unit_id, year, value: the observed target, then its baseline forecast."""
    if target not in data.panel or data.panel[target].notna().sum() == 0:
        return None
    obs = data.panel.loc[data.panel[target].notna(), ["unit_id", "year", target]]
    obs = obs.rename(columns={target: "value"})
    fc = forecasts.loc[forecasts["target"] == target, ["unit_id", "year", "forecast"]]
    out = pd.concat([obs, fc.rename(columns={"forecast": "value"})], ignore_index=True)
    return out.sort_values(["unit_id", "year"]).reset_index(drop=True)


def _poles(data: Dataset, policy: Policy) -> pd.Series:
    """unit_id -> unit_id of its growth pole (the agglomeration rule reads the pole's forecast)."""
    a, units = policy.agglomeration, data.units
    if not (a.enabled and a.pole_attribute in units):
        return pd.Series(dtype=object)
    by_name = pd.Series(units.index, index=units["name"].astype(str))
    by_name = by_name[~by_name.index.duplicated()]
    return units[a.pole_attribute].map(by_name).dropna()


def categories(
    data: Dataset,
    baseline: pd.DataFrame,
    traj: Trajectories,
    expl: pd.DataFrame,
    policy: Policy,
    level: float,
) -> pd.DataFrame:
    """The category of each policy unit under the baseline and each scenario.

    The policy's rule without hysteresis (a change is then the scenario's doing, not last
    run's), where the scenario's own change is a structural driver (`scenario_explanations`):
    a plant closing or people moved out is not a short-term factor, so it counts towards the
    structural share of a decline that resettle requires (`resettle.min_structural_share`).
    A scenario is categorised again only where it can change the facts the policy reads: the
    units it touches and the units whose growth pole, employment unit (the larger territory
    whose jobs stand in for a town's) or other territory it touches. Their facts are
    computed from the scenario's whole forecasts table, so that a pole's, stand-in's or other
    territory's forecast is read as under the baseline where the scenario leaves it alone.
    """

    def categorised(facts: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([facts, assign(facts, policy, level)], axis=1)

    base = categorised(category_facts(data, baseline, expl, policy))
    # a scenario's own change is structural (a plant closes, people are moved): it counts in the
    # rule's structural share of the decline (resettle.min_structural_share)
    r = policy.resettle
    drivers = [*r.structural_drivers, SCENARIO_DRIVER]
    structural = policy.model_copy(
        update={"resettle": r.model_copy(update={"structural_drivers": drivers})}
    )
    poles = _poles(data, policy)
    linked = [c for c in ("employment_unit", "other_territory") if c in base]
    reads = {  # unit -> the units whose forecasts its facts read
        u: {u, poles.get(u), *(v for v in row if isinstance(v, str) and v)} - {None}
        for u, row in base[linked].reindex(base.index).iterrows()
    }
    touched = {
        name: set(traj.table.loc[traj.table["scenario"] == name, "unit_id"])
        for name in traj.forecasts
    }
    affected = {
        name: {u for u in base.index if reads[u] & touched[name]} for name in traj.forecasts
    }
    new: dict[str, pd.DataFrame] = {}
    for batch in _batches(touched, affected, reads):
        # one policy pass for scenarios that cannot see each other: each affected unit reads
        # only its own scenario's rows (or the baseline's), so this equals one pass each
        merged = baseline.copy()
        for name in batch:
            rows = merged["unit_id"].isin(touched[name]).to_numpy()
            fc = traj.forecasts[name]
            for col in ("forecast", "lower", "upper"):
                merged.loc[rows, col] = fc.loc[rows, col].to_numpy()
        units = set().union(*(affected[n] for n in batch))
        own = scenario_explanations(
            expl[expl["unit_id"].isin(units)], baseline, merged, data, policy
        )
        facts = categorised(category_facts(data, merged, own, structural))
        for name in batch:
            new[name] = facts[facts.index.isin(affected[name])]
    frames = [_rows("baseline", base, base)]
    for name in traj.forecasts:
        c = base
        if name in new:
            c = pd.concat([base.drop(index=new[name].index), new[name]]).loc[base.index]
        frames.append(_rows(name, c, base))
    out = pd.concat(frames, ignore_index=True)
    out["changed"] = out["category"] != out["baseline_category"]
    return out[CATEGORY_COLUMNS]


def scenario_explanations(
    expl: pd.DataFrame,
    baseline: pd.DataFrame,
    scenario: pd.DataFrame,
    data: Dataset,
    policy: Policy,
) -> pd.DataFrame:
    """The explanations of the policy target at the policy horizon under a scenario: the
    baseline's parts (what the engine forecast without the events) plus one part per unit whose
    forecast the scenario changes, driver `scenario_events`: log(scenario / baseline forecast),
    so that the parts add up to the scenario's change since the latest observation. Units the
    scenario leaves alone keep the baseline's explanation exactly."""
    keys = ["unit_id", "target", "horizon", "year"]
    at = (baseline["target"] == policy.target) & (baseline["horizon"] == policy.horizon)
    b = baseline.loc[at, [*keys, "forecast"]]
    sc = scenario.loc[b.index, "forecast"].to_numpy(dtype=float)
    base = b["forecast"].to_numpy(dtype=float)
    changed = b["unit_id"].isin(expl["unit_id"]).to_numpy() & (sc != base)
    if not changed.any():
        return expl
    b, sc, base = b[changed], sc[changed], base[changed]
    latest = latest_observations(data).set_index(["unit_id", "target"])["latest"]
    p0 = latest.reindex(pd.MultiIndex.from_frame(b[["unit_id", "target"]])).to_numpy(float)
    part = pd.DataFrame(
        {
            **{k: b[k].to_numpy() for k in keys},
            "feature": SCENARIO_DRIVER,
            "driver": SCENARIO_DRIVER,
            "value": np.nan,
            "shap": np.nan,
            "contribution_log": np.log(sc / base),
            "contribution_pct": 100 * (sc - base) / p0,
            "contribution_persons": sc - base,
        }
    )
    return pd.concat([expl, part[expl.columns]], ignore_index=True)


def _batches(
    touched: dict[str, set], affected: dict[str, set], reads: dict[str, set]
) -> list[list[str]]:
    """Scenarios (that affect a policy unit) packed, in file order, into groups whose members
    touch no unit another member's affected units read: categorised together, each affected
    unit sees its own scenario's forecasts and the baseline's everywhere else."""
    batches: list[tuple[list[str], set, set]] = []  # names, units touched, units read
    for name in touched:
        if not affected[name]:
            continue
        read = set().union(*(reads[u] for u in affected[name]))
        for names, t, r in batches:
            if not (touched[name] & (t | r)) and not (read & t):
                names.append(name)
                t |= touched[name]
                r |= read
                break
        else:
            batches.append(([name], set(touched[name]), read))
    return [names for names, _, _ in batches]


def _rows(name: str, c: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scenario": name,
            "unit_id": c.index,
            "name": c["name"].to_numpy(),
            "category": c["category"].to_numpy(),
            "confidence": c["confidence"].to_numpy(),
            **{p: c[p].to_numpy() for p in PROBABILITIES},
            "change_pct": c["change_pct"].to_numpy(),
            "lower_pct": c["lower_pct"].to_numpy(),
            "upper_pct": c["upper_pct"].to_numpy(),
            "structural_share": c["structural_share"].to_numpy(),
            "baseline_category": base["category"].reindex(c.index).to_numpy(),
            "baseline_confidence": base["confidence"].reindex(c.index).to_numpy(),
            **{f"baseline_{p}": base[p].reindex(c.index).to_numpy() for p in PROBABILITIES},
            "baseline_change_pct": base["change_pct"].reindex(c.index).to_numpy(),
        }
    )


def robust_units(cats: pd.DataFrame) -> pd.DataFrame:
    """Per unit: does its category hold under every scenario, and which scenarios change it."""
    scen = cats[cats["scenario"] != "baseline"]
    g = scen.groupby("unit_id", sort=True)
    out = pd.DataFrame(
        {
            "baseline_category": g["baseline_category"].first(),
            "robust": ~g["changed"].any(),
            "changed_by": g.apply(
                lambda d: ", ".join(
                    f"{r.scenario}: {r.category}" for r in d[d["changed"]].itertuples()
                )
            ),
        }
    )
    return out.reset_index()


@dataclass
class ScenarioResult:
    out_dir: Path
    spec: ScenarioFile
    spec_path: Path
    response: ResponseEstimate
    trajectories: Trajectories
    categories: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None
    baseline_run: Path | None = None  # the run folder whose baseline was reused (None: fitted)


def evaluate(
    spec: ScenarioFile,
    spec_path: Path,
    data: Dataset,
    forecasts: pd.DataFrame,
    expl: pd.DataFrame,
    policy: Policy,
    config: EngineConfig,
) -> tuple[ResponseEstimate, Trajectories, pd.DataFrame]:
    """The scenario stage on a finished baseline (forecasts and explanations of `data`)."""
    response = resolve_response(spec, spec_path)
    shocks, moves = check_against(
        spec,
        spec_path,
        units=data.units,
        last_year=data.last_year,
        last_forecast_year=int(forecasts["year"].max()),
        employment=observed_then_forecast(data, forecasts, "employment"),
        population=observed_then_forecast(data, forecasts, "population"),
        natural_increase=natural_increase(data.panel),
    )
    names = [s.name for s in spec.scenarios]
    parents = {}
    if "parent_id" in data.units:
        pid = data.units["parent_id"].dropna().astype(str)
        parents = {str(k): v for k, v in pid.items() if v.strip()}
    traj = apply(
        forecasts,
        shocks,
        moves,
        response,
        names,
        config.level,
        spec.response.heterogeneity,
        parents=parents,
        rise_scale=spec.response.rise_scale,
        heterogeneity_rise=spec.response.heterogeneity_rise,
    )
    cats = categories(data, forecasts, traj, expl, policy, config.level)
    traj.effects = scenario_effects.describe(
        traj.table, response, policy.horizon, config.level, data.units["name"]
    )
    return response, traj, cats


def for_run(
    data: Dataset,
    as_of: int,
    forecasts: pd.DataFrame,
    expl: pd.DataFrame,
    policy: Policy,
    config: EngineConfig,
    path: Path | None = None,
    progress: Progress = _quiet,
) -> tuple | None:
    """The scenario stage of `forecast run`: applied when the scenario file (default
    experiments/scenarios.yaml) exists, is written for this dataset and the run forecasts from
    the data's last year; None otherwise."""
    path = path or io.project_root() / "experiments" / DEFAULT_SCENARIOS
    if not path.exists():
        return None
    spec = load_scenarios(path)
    if spec.datasets is not None and data.name not in spec.datasets:
        progress(f"scenarios skipped: {path.name} is written for {', '.join(spec.datasets)}")
        return None
    if as_of != data.last_year:
        progress(f"scenarios skipped: the run is as of {as_of}, not the data's last year")
        return None
    progress(f"applying {len(spec.scenarios)} scenario(s)")
    return (path, *evaluate(spec, path, data, forecasts, expl, policy, config))


def write(folder: Path, spec_path: Path, response, traj, cats) -> None:
    io.write_csv(traj.table, folder / "scenarios.csv", float_format="%.6g")
    io.write_csv(cats, folder / "scenario_categories.csv", float_format="%.6g")
    io.write_csv(robust_units(cats), folder / "scenario_robustness.csv")
    io.write_csv(response.table(), folder / "scenario_response.csv", float_format="%.6g")
    if traj.effects is not None:
        io.write_csv(traj.effects, folder / "scenario_effects.csv", float_format="%.6g")
    shutil.copyfile(spec_path, folder / "scenarios.yaml")


def run(
    dataset: str | Path,
    scenarios_path: Path,
    *,
    config: EngineConfig,
    policy: Policy,
    runs_root: Path | None = None,
    track: bool = True,
    reuse: bool = True,
    progress: Progress = _quiet,
) -> ScenarioResult:
    """Apply the scenario file to the baseline of `dataset` and write a `<stamp>_scenarios`
    folder. The baseline is the newest finished run's of the same data and engine config when
    `reuse` (see :mod:`forecast.scenario_baseline`), else fitted here."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    spec = load_scenarios(scenarios_path)  # fail on a bad file before any fitting
    data = io.read_dataset(dataset)
    if spec.datasets is not None and data.name not in spec.datasets:
        raise ConfigError(
            f"{scenarios_path}: the scenarios are written for {', '.join(spec.datasets)}, "
            f"not {data.name!r}"
        )
    resolve_response(spec, scenarios_path)
    if policy.horizon not in config.horizons:
        raise ConfigError(
            f"the policy horizon {policy.horizon} is not among the forecast horizons "
            f"{config.horizons}"
        )
    runs_root = runs.root(runs_root)
    timings["validate"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    base = scenario_baseline.baseline(
        data, config, policy, runs_root, reuse=reuse, progress=progress
    )
    forecasts, expl = base.forecasts, base.explanations
    timings["baseline"] = round(time.perf_counter() - t0, 2)
    t1 = time.perf_counter()
    progress(f"applying {len(spec.scenarios)} scenario(s)")
    response, traj, cats = evaluate(spec, scenarios_path, data, forecasts, expl, policy, config)
    timings["scenarios"] = round(time.perf_counter() - t1, 2)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    out_dir = runs_root / data.name / f"{stamp}_scenarios"
    out_dir.mkdir(parents=True, exist_ok=False)
    io.write_csv(forecasts, out_dir / "forecasts.csv", float_format="%.6g")
    write(out_dir, scenarios_path, response, traj, cats)
    io.write_json(
        {
            "dataset": data.name,
            "dataset_digest": data.digest(),
            "as_of": data.last_year,
            "baseline_from": str(base.run) if base.run else "fitted by this scenario run",
            "baseline_note": base.note,
            "timings_s": timings,
        },
        out_dir / "scenario_run.json",
    )
    result = ScenarioResult(
        out_dir, spec, scenarios_path, response, traj, cats, timings, baseline_run=base.run
    )
    if track:
        progress("logging to MLflow")
        result.run_id = tracking.log_scenarios(result, data.name)
    return result
