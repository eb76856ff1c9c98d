"""Scenario definitions: a validated YAML file of "what if" futures for towns.

A scenario is a name and one or more events:

- `jobs`: local employment changes by `persons` (or `percent`) in `year`, optionally spread
  evenly over `phase_years` years;
- `closure`: the city-forming enterprise closes in `year`; its `headcount` is given with its
  `source` (or read from the units' `headcount_attribute` column where the dataset has one);
- `new_jobs`: `persons` new jobs in `year` (optionally phased);
- `resettlement`: `persons_per_year` move out of `unit` to `to` from `year` to `until`.

The file is checked twice: its shape by pydantic when read (`load_scenarios`), its meaning
against the dataset and the baseline forecast (`check_against`): unknown units, years at or
before the data's last year, cuts larger than the town's employment. Every message names the
file, the scenario, the event and the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .config import load_yaml_model
from .errors import ConfigError


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(min_length=1)
    year: int = Field(description="the first year the event takes effect")
    note: str = ""


class _Employment(BaseModel):
    """The town's employment when the dataset has none (persons, with its source)."""

    employment: float | None = Field(
        None, gt=0, description="the town's employment (persons) when the data has none"
    )
    employment_source: str | None = None

    @model_validator(mode="after")
    def _sourced(self):
        if self.employment is not None and not (self.employment_source or "").strip():
            raise ValueError("a given `employment` needs its `employment_source`")
        return self


class JobsEvent(_Event, _Employment):
    type: Literal["jobs"]
    persons: float | None = Field(None, description="change in employment, persons (+/-)")
    percent: float | None = Field(None, gt=-100, description="change in employment, percent")
    phase_years: int = Field(1, ge=1, le=20)

    @model_validator(mode="after")
    def _one_size(self):
        if (self.persons is None) == (self.percent is None):
            raise ValueError("give exactly one of `persons` or `percent`")
        return self


class NewJobsEvent(_Event, _Employment):
    type: Literal["new_jobs"]
    persons: float = Field(ge=0)
    phase_years: int = Field(1, ge=1, le=20)


class ClosureEvent(_Event, _Employment):
    type: Literal["closure"]
    headcount: float | None = Field(None, ge=0, description="the enterprise's jobs, persons")
    source: str | None = Field(None, description="where the headcount comes from")

    @model_validator(mode="after")
    def _sourced_headcount(self):
        if self.headcount is not None and not (self.source or "").strip():
            raise ValueError("a given `headcount` needs its `source`")
        return self


class ResettlementEvent(_Event):
    type: Literal["resettlement"]
    to: str = Field(min_length=1, description="the receiving unit")
    persons_per_year: float = Field(ge=0)
    until: int | None = Field(None, description="last year of moves (default: to the horizon)")
    natural_increase_per_1000: float | None = Field(
        None,
        ge=-50,
        le=50,
        description="births minus deaths per 1,000 moved persons a year (default: the receiving "
        "unit's, from the panel's births and deaths; 0 where the panel has none)",
    )

    @model_validator(mode="after")
    def _span(self):
        if self.until is not None and self.until < self.year:
            raise ValueError(f"`until` {self.until} is before `year` {self.year}")
        if self.to == self.unit:
            raise ValueError("the receiving unit `to` is the unit itself")
        return self


Event = Annotated[
    JobsEvent | NewJobsEvent | ClosureEvent | ResettlementEvent, Field(discriminator="type")
]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    # plain text, or the same text per report language: {en: ..., ru: ..., kk: ...}
    description: str | dict[str, str] = ""
    events: list[Event] = Field(min_length=1)


class ResponseChoice(BaseModel):
    """Which estimate of the population response the scenarios use."""

    model_config = ConfigDict(extra="forbid")
    group: str = Field(
        "us_nonmetro_small", description="a group of the estimates file (docs/scenarios.md)"
    )
    file: str | None = Field(
        None, description="estimates CSV (default: the bundled resources/response_estimates.csv)"
    )
    heterogeneity: float = Field(
        0.179,
        ge=0,
        le=5,
        description="spread of the response between places, widening a scenario's range by "
        "z x heterogeneity x |log employment change| (calibrated on held-back US shock events, "
        "benchmarks/results/scenarios.md)",
    )
    rise_scale: float = Field(
        1.0,
        ge=0,
        le=1,
        description="the response to a rise of employment (new jobs, a positive `jobs` event) as "
        "a share of the estimate: rises are followed by people less than falls (chosen on the "
        "US shock events of the tuning origins, benchmarks/results/scenarios.md)",
    )
    heterogeneity_rise: float | None = Field(
        None,
        ge=0,
        le=5,
        description="spread of the response between places for rises (default: heterogeneity)",
    )


class ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    datasets: list[str] | None = Field(
        None,
        description="the datasets the scenarios are written for (their unit ids or names); "
        "`forecast run` applies the file only to these",
    )
    response: ResponseChoice = Field(default_factory=ResponseChoice)
    headcount_attribute: str = Field(
        "cfe_headcount",
        description="units column with the city-forming enterprise's headcount, if any",
    )
    scenarios: list[Scenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        names = [s.name for s in self.scenarios]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"scenario names must be unique: {', '.join(dup)}")
        if "baseline" in names:
            raise ValueError("'baseline' is reserved for the forecast without events")
        return self


def load_scenarios(path: Path) -> ScenarioFile:
    return load_yaml_model(ScenarioFile, Path(path))


# ---- meaning against the data ------------------------------------------------------------
@dataclass(frozen=True)
class EmploymentShock:
    """One permanent change of a unit's employment: log factor `shift` from `year` on."""

    scenario: str
    unit_id: str
    year: int
    shift: float  # log(new employment / baseline employment)
    persons: float  # signed change in persons where known (nan for a percent change)
    # the employment the shift applies to, persons (nan where unknown): a town without an
    # employment series of its own passes its change in persons to the unit whose series
    # stands in for it (forecast.scenario_apply)
    level: float = float("nan")


@dataclass(frozen=True)
class Move:
    scenario: str
    unit_id: str
    to: str
    first_year: int
    last_year: int
    persons_per_year: float
    natural_increase: float  # per person and year


def _where(path: Path | str, scenario: str, i: int, ev) -> str:
    return f"{path}: scenario {scenario!r}, event {i + 1} ({ev.type}, unit {ev.unit!r})"


def resolve_unit(name: str, units: pd.DataFrame) -> tuple[str | None, str]:
    """A unit by its id, else by its name (unique, or unique among the monotowns); with the
    reason when neither works."""
    if name in units.index:
        return name, ""
    hits = units.index[units["name"].astype(str) == name]
    if len(hits) > 1 and "monotown" in units:
        mono = hits[pd.to_numeric(units.loc[hits, "monotown"], errors="coerce") == 1]
        hits = mono if len(mono) == 1 else hits
    if len(hits) == 1:
        return str(hits[0]), ""
    if len(hits) > 1:
        return None, f"ambiguous name {name!r}: units {', '.join(map(str, hits))}; use a unit_id"
    return None, "not in units.csv"


def _value_before(path: pd.DataFrame | None, unit: str, year: int) -> tuple[float, int] | None:
    if path is None:
        return None
    rows = path[(path["unit_id"] == unit) & path["value"].notna()]
    if rows.empty:
        return None
    before = rows[rows["year"] < year]
    row = before.iloc[-1] if not before.empty else rows.iloc[0]
    return float(row["value"]), int(row["year"])


def _host_rate(units: pd.DataFrame, unit: str, year: int, emp, pop) -> tuple[float, str] | None:
    """Employment per resident of the unit that stands in for this town (`stands_in_for`)."""
    if "stands_in_for" not in units or emp is None or pop is None:
        return None
    name = str(units.loc[unit, "name"])
    hosts = units.index[
        units["stands_in_for"]
        .fillna("")
        .astype(str)
        .map(lambda v: name in [x.strip() for x in v.split(";")])
    ]
    for host in hosts:
        e = emp[(emp["unit_id"] == host) & emp["value"].notna()]
        p = pop[(pop["unit_id"] == host) & pop["value"].notna()]
        both = e.merge(p, on=["unit_id", "year"], suffixes=("_e", "_p"))
        both = both[both["year"] < year]
        if not both.empty:
            last = both.iloc[-1]
            return float(last["value_e"] / last["value_p"]), f"{host} {int(last['year'])}"
    return None


def _employment_at(
    emp: pd.DataFrame | None,
    unit: str,
    year: int,
    ev,
    where: str,
    units: pd.DataFrame,
    pop: pd.DataFrame | None,
) -> tuple[float, str]:
    """The town's employment in the year before `year`: the dataset's (observed, then the
    baseline forecast); else the town's population times the employment rate of the unit that
    stands in for it (`stands_in_for`, a larger territory); else the event's `employment`."""
    own = _value_before(emp, unit, year)
    if own is not None:
        return own[0], f"baseline employment {own[1]}"
    rate = _host_rate(units, unit, year, emp, pop)
    people = _value_before(pop, unit, year)
    if rate is not None and people is not None:
        return people[0] * rate[0], (
            f"population {people[1]} x employment rate of {rate[1]}, which stands in for it"
        )
    given = getattr(ev, "employment", None)
    if given is not None:
        return float(given), "given employment"
    raise ConfigError(
        f"{where}: the dataset has no employment for {unit!r}: give the change in `percent`, "
        "or the town's `employment` (persons) with its `employment_source`"
    )


def check_against(
    spec: ScenarioFile,
    path: Path | str,
    *,
    units: pd.DataFrame,
    last_year: int,
    last_forecast_year: int,
    employment: pd.DataFrame | None,
    population: pd.DataFrame | None = None,
    natural_increase: dict[str, float] | None = None,
) -> tuple[list[EmploymentShock], list[Move]]:
    """Turn events into employment shocks and moves, or raise ConfigError listing every problem.

    `employment`, `population`: unit_id, year, value — observed up to the last year, the
    baseline forecast after it (None when the dataset has none). Units are named by id or name
    (see `resolve_unit`); the shocks and moves carry ids. With `population`, the units an event
    changes must have a population forecast.
    """
    problems: list[str] = []
    shocks: list[EmploymentShock] = []
    moves: list[Move] = []
    natural_increase = natural_increase or {}
    emp = employment.sort_values(["unit_id", "year"]) if employment is not None else None
    pop = population.sort_values(["unit_id", "year"]) if population is not None else None
    forecast_units = set(pop.loc[pop["year"] > last_year, "unit_id"]) if pop is not None else None

    def unit_id(name: str, what: str, where: str) -> str | None:
        uid, why = resolve_unit(name, units)
        if uid is None:
            problems.append(f"{where}: unknown {what} {name!r} ({why})")
        elif forecast_units is not None and uid not in forecast_units:
            problems.append(f"{where}: {what} {name!r} has no population forecast")
            uid = None
        return uid

    for s in spec.scenarios:
        for i, ev in enumerate(s.events):
            where = _where(path, s.name, i, ev)
            uid = unit_id(ev.unit, "unit", where)
            bad = uid is None
            if ev.year <= last_year:
                problems.append(
                    f"{where}: year {ev.year} is at or before the data's last year {last_year}: "
                    "events must lie in the future"
                )
                bad = True
            elif ev.year > last_forecast_year:
                problems.append(
                    f"{where}: year {ev.year} is after the last forecast year {last_forecast_year}"
                )
                bad = True
            if isinstance(ev, ResettlementEvent):
                to = unit_id(ev.to, "receiving unit", where)
                if bad or to is None:
                    continue
                if to == uid:
                    problems.append(f"{where}: the receiving unit {ev.to!r} is the unit itself")
                    continue
                rate = ev.natural_increase_per_1000
                nat = rate / 1000 if rate is not None else natural_increase.get(to, 0.0)
                moves.append(
                    Move(
                        scenario=s.name,
                        unit_id=uid,
                        to=to,
                        first_year=ev.year,
                        last_year=min(ev.until or last_forecast_year, last_forecast_year),
                        persons_per_year=float(ev.persons_per_year),
                        natural_increase=float(nat),
                    )
                )
                continue
            if bad:
                continue
            try:
                shocks.extend(
                    _shocks(s.name, uid, ev, emp, pop, units, spec.headcount_attribute, where)
                )
            except ConfigError as exc:
                problems.append(str(exc))
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) in the scenarios:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    return shocks, moves


def _shocks(name: str, uid: str, ev, emp, pop, units, headcount_attr: str, where: str):
    if isinstance(ev, JobsEvent) and ev.percent is not None:
        steps = ev.phase_years
        total = np.log1p(ev.percent / 100)
        try:  # the level, where the data has it (a percent change does not need it)
            base, _ = _employment_at(emp, uid, ev.year, ev, where, units, pop)
        except ConfigError:
            base = np.nan
        return [
            EmploymentShock(
                name, uid, ev.year + k, total / steps, np.nan, base * np.exp(k * total / steps)
            )
            for k in range(steps)
        ]
    if isinstance(ev, ClosureEvent):
        persons = ev.headcount
        if persons is None:
            value = units[headcount_attr].get(uid) if headcount_attr in units else None
            if value is None or pd.isna(value):
                raise ConfigError(
                    f"{where}: no headcount for the city-forming enterprise "
                    f"(units.csv has no {headcount_attr!r} for it): give `headcount` and its "
                    "`source`"
                )
            persons = float(value)
        persons, steps = -float(persons), 1
    else:
        persons, steps = float(ev.persons), ev.phase_years
    base, what = _employment_at(emp, uid, ev.year, ev, where, units, pop)
    if base + persons <= 0:
        raise ConfigError(
            f"{where}: a cut of {-persons:,.0f} persons is not smaller than the town's "
            f"employment {base:,.0f} ({what})"
        )
    out = []
    level = base
    for k in range(steps):
        step = persons / steps
        out.append(
            EmploymentShock(
                name, uid, ev.year + k, float(np.log((level + step) / level)), step, level
            )
        )
        level += step
    return out
