"""Scenario definitions (validation), their application (zero event, monotonicity,
resettlement accounting). Baselines and responses here are SYNTHETIC, for unit tests only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ConfigError
from forecast.response import ResponseEstimate
from forecast.scenario_apply import apply, moved_stock
from forecast.scenario_effects import describe
from forecast.scenarios import check_against, load_scenarios

UNITS = pd.DataFrame(
    {"name": ["Mine Town", "Big City", "Other"], "region": ["R", "R", "S"]},
    index=pd.Index(["MINE", "CITY", "OTHER"], name="unit_id"),
)
YEARS = list(range(2021, 2031))


def employment_path(level: float = 5000.0) -> pd.DataFrame:
    """SYNTHETIC employment: observed 2020, flat baseline forecast 2021-2030."""
    return pd.DataFrame(
        [("MINE", y, level) for y in [2020, *YEARS]], columns=["unit_id", "year", "value"]
    )


def baseline_table() -> pd.DataFrame:
    """SYNTHETIC baseline forecasts (population of all units, employment of MINE)."""
    rows = []
    for unit, level in (("MINE", 20000.0), ("CITY", 300000.0), ("OTHER", 8000.0)):
        for h, y in enumerate(YEARS, start=1):
            f = level * (1 - 0.005 * h)
            rows.append((unit, "population", 2020, h, y, f, f * 0.9, f * 1.12))
    for h, y in enumerate(YEARS, start=1):
        rows.append(("MINE", "employment", 2020, h, y, 5000.0, 4500.0, 5600.0))
    return pd.DataFrame(
        rows,
        columns=[
            "unit_id",
            "target",
            "origin_year",
            "horizon",
            "year",
            "forecast",
            "lower",
            "upper",
        ],
    )


RESPONSE = ResponseEstimate(
    group="synthetic",
    effect=np.array([0.1, 0.2, 0.3]),
    se=np.array([0.02, 0.03, 0.05]),
    lags=2,
    n_obs=100,
    n_units=50,
    first_year=2000,
    last_year=2010,
)


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "scenarios.yaml"
    p.write_text(body, encoding="utf-8")
    return p


def check(tmp_path: Path, body: str, employment=None):
    path = write(tmp_path, body)
    spec = load_scenarios(path)
    return path, check_against(
        spec,
        path,
        units=UNITS,
        last_year=2020,
        last_forecast_year=2030,
        employment=employment_path() if employment is None else employment,
    )


def one_event(event: str) -> str:
    return f"version: 1\nscenarios:\n  - name: s1\n    events:\n      - {event}\n"


# ---- validation --------------------------------------------------------------------------
def test_unknown_unit_is_named(tmp_path):
    with pytest.raises(ConfigError) as exc:
        check(tmp_path, one_event("{type: jobs, unit: NOWHERE, year: 2025, percent: -10}"))
    assert (
        "scenarios.yaml: scenario 's1', event 1 (jobs, unit 'NOWHERE'): unknown unit 'NOWHERE' "
        "(not in units.csv)"
    ) in str(exc.value)


def test_year_at_or_before_the_last_year(tmp_path):
    with pytest.raises(ConfigError) as exc:
        check(tmp_path, one_event("{type: jobs, unit: MINE, year: 2020, percent: -10}"))
    assert (
        "event 1 (jobs, unit 'MINE'): year 2020 is at or before the data's last year 2020: "
        "events must lie in the future"
    ) in str(exc.value)


def test_year_after_the_horizon(tmp_path):
    with pytest.raises(ConfigError, match="year 2031 is after the last forecast year 2030"):
        check(tmp_path, one_event("{type: jobs, unit: MINE, year: 2031, percent: -10}"))


def test_cut_larger_than_employment(tmp_path):
    with pytest.raises(ConfigError) as exc:
        check(tmp_path, one_event("{type: jobs, unit: MINE, year: 2025, persons: -6000}"))
    assert (
        "event 1 (jobs, unit 'MINE'): a cut of 6,000 persons is not smaller than the town's "
        "employment 5,000 (baseline employment 2024)"
    ) in str(exc.value)


def test_closure_larger_than_employment(tmp_path):
    ev = "{type: closure, unit: MINE, year: 2025, headcount: 5000, source: 'company report'}"
    with pytest.raises(ConfigError, match="a cut of 5,000 persons is not smaller than"):
        check(tmp_path, one_event(ev))


def test_unknown_receiving_unit(tmp_path):
    ev = "{type: resettlement, unit: MINE, to: ATLANTIS, year: 2025, persons_per_year: 100}"
    with pytest.raises(ConfigError) as exc:
        check(tmp_path, one_event(ev))
    assert (
        "event 1 (resettlement, unit 'MINE'): unknown receiving unit 'ATLANTIS' (not in units.csv)"
    ) in str(exc.value)


def test_every_problem_is_listed_at_once(tmp_path):
    body = (
        "scenarios:\n  - name: a\n    events:\n"
        "      - {type: jobs, unit: X1, year: 2025, percent: -10}\n"
        "      - {type: jobs, unit: MINE, year: 2019, percent: -10}\n"
    )
    with pytest.raises(ConfigError, match=r"^2 problem\(s\) in the scenarios:"):
        check(tmp_path, body)


def test_persons_need_employment(tmp_path):
    none = pd.DataFrame(columns=["unit_id", "year", "value"])
    with pytest.raises(ConfigError) as exc:
        check(tmp_path, one_event("{type: new_jobs, unit: OTHER, year: 2025, persons: 100}"), none)
    assert (
        "the dataset has no employment for 'OTHER': give the change in `percent`, or the "
        "town's `employment` (persons) with its `employment_source`"
    ) in str(exc.value)
    ev = (
        "{type: new_jobs, unit: OTHER, year: 2025, persons: 100, employment: 1000, "
        "employment_source: 'labour survey 2023'}"
    )
    _, (shocks, _) = check(tmp_path, one_event(ev), none)
    assert shocks[0].shift == pytest.approx(np.log(1.1))


def test_closure_without_headcount(tmp_path):
    with pytest.raises(ConfigError, match="no headcount for the city-forming enterprise"):
        check(tmp_path, one_event("{type: closure, unit: MINE, year: 2025}"))


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("{type: jobs, unit: MINE, year: 2025}", "give exactly one of `persons` or `percent`"),
        (
            "{type: jobs, unit: MINE, year: 2025, persons: 1, percent: 1}",
            "give exactly one of `persons` or `percent`",
        ),
        (
            "{type: closure, unit: MINE, year: 2025, headcount: 10}",
            "a given `headcount` needs its `source`",
        ),
        (
            "{type: jobs, unit: MINE, year: 2025, persons: 5, employment: 10}",
            "a given `employment` needs its `employment_source`",
        ),
        (
            "{type: resettlement, unit: MINE, to: MINE, year: 2025, persons_per_year: 1}",
            "the receiving unit `to` is the unit itself",
        ),
        ("{type: strike, unit: MINE, year: 2025}", "scenarios.0.events.0"),
    ],
)
def test_shape_errors(tmp_path, event, message):
    with pytest.raises(ConfigError) as exc:
        load_scenarios(write(tmp_path, one_event(event)))
    assert str(exc.value).startswith(str(tmp_path / "scenarios.yaml") + ": ")
    assert message in str(exc.value)


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ("{rise_scale: 1.5}", "response.rise_scale: Input should be less than or equal to 1"),
        ("{rise_scale: -0.1}", "response.rise_scale: Input should be greater than or equal to 0"),
        ("{heterogeneity_rise: -1}", "response.heterogeneity_rise: Input should be greater"),
    ],
)
def test_response_errors(tmp_path, response, message):
    body = one_event("{type: jobs, unit: MINE, year: 2025, percent: 1}")
    path = write(tmp_path, body.replace("scenarios:", f"response: {response}\nscenarios:", 1))
    with pytest.raises(ConfigError) as exc:
        load_scenarios(path)
    assert str(exc.value).startswith(f"{path}: {message}")


def test_duplicate_and_reserved_names(tmp_path):
    ev = "{type: jobs, unit: MINE, year: 2025, percent: 1}"
    body = f"scenarios:\n  - {{name: a, events: [{ev}]}}\n  - {{name: a, events: [{ev}]}}\n"
    with pytest.raises(ConfigError, match="scenario names must be unique: a"):
        load_scenarios(write(tmp_path, body))
    body = f"scenarios:\n  - {{name: baseline, events: [{ev}]}}\n"
    with pytest.raises(ConfigError, match="'baseline' is reserved"):
        load_scenarios(write(tmp_path, body))


def test_phased_jobs_add_up(tmp_path):
    ev = "{type: jobs, unit: MINE, year: 2025, persons: -3000, phase_years: 3}"
    _, (shocks, _) = check(tmp_path, one_event(ev))
    assert [s.year for s in shocks] == [2025, 2026, 2027]
    assert sum(s.persons for s in shocks) == pytest.approx(-3000)
    assert sum(s.shift for s in shocks) == pytest.approx(np.log(2000 / 5000))


# ---- application -------------------------------------------------------------------------
def run(tmp_path, body: str, response: ResponseEstimate = RESPONSE):
    _, (shocks, moves) = check(tmp_path, body)
    return apply(baseline_table(), shocks, moves, response, ["s1"], 0.8)


@pytest.mark.parametrize(
    "event",
    [
        "{type: jobs, unit: MINE, year: 2023, persons: 0}",
        "{type: jobs, unit: MINE, year: 2023, percent: 0}",
        "{type: new_jobs, unit: MINE, year: 2023, persons: 0}",
        "{type: closure, unit: MINE, year: 2023, headcount: 0, source: 'given'}",
        "{type: resettlement, unit: MINE, to: CITY, year: 2023, persons_per_year: 0}",
    ],
)
def test_zero_event_is_the_baseline_exactly(tmp_path, event):
    traj = run(tmp_path, one_event(event))
    base = baseline_table()
    out = traj.forecasts["s1"]
    for col in ("forecast", "lower", "upper"):
        assert (out[col].to_numpy() == base[col].to_numpy()).all(), col
    assert (traj.table["forecast"] == traj.table["baseline"]).all()


def test_cut_moves_population_by_the_response(tmp_path):
    traj = run(tmp_path, one_event("{type: jobs, unit: MINE, year: 2023, percent: -20}"))
    t = traj.table[(traj.table["target"] == "population")].set_index("year")
    s = np.log(0.8)
    assert t.loc[2022, "forecast"] == t.loc[2022, "baseline"]  # before the event
    for year, eff in ((2023, 0.1), (2024, 0.2), (2025, 0.3), (2030, 0.3)):
        assert t.loc[year, "forecast"] == pytest.approx(t.loc[year, "baseline"] * np.exp(eff * s))
    emp = traj.table[traj.table["target"] == "employment"].set_index("year")
    assert emp.loc[2023, "forecast"] == pytest.approx(4000.0)
    assert emp.loc[2022, "forecast"] == 5000.0
    # the range widens by the response's uncertainty
    width = np.log(t["upper"] / t["lower"])
    base_width = np.log(t["baseline_upper"] / t["baseline_lower"])
    assert (width.loc[2023:] > base_width.loc[2023:]).all()
    assert (width.loc[:2022] == base_width.loc[:2022]).all()


def test_range_is_the_baselines_until_the_event_with_heterogeneity(tmp_path):
    # the spread of responses between places widens the range from the event's year on, not
    # before it (an event in 2025 leaves 2021-2024 as they were)
    _, (shocks, moves) = check(
        tmp_path, one_event("{type: jobs, unit: MINE, year: 2025, percent: -20}")
    )
    t = apply(baseline_table(), shocks, moves, RESPONSE, ["s1"], 0.8, 0.179).table
    t = t[(t["unit_id"] == "MINE") & (t["target"] == "population")].set_index("year")
    for col in ("forecast", "lower", "upper"):
        assert (
            t.loc[:2024, col]
            == t.loc[:2024, f"baseline_{col}" if col != "forecast" else "baseline"]
        ).all()
    width = np.log(t["upper"] / t["lower"])
    base_width = np.log(t["baseline_upper"] / t["baseline_lower"])
    assert (width.loc[2025:] > base_width.loc[2025:]).all()


def test_larger_cut_never_gives_larger_population(tmp_path):
    negative = ResponseEstimate(  # a noisy estimate dipping below zero is clipped
        group="noisy",
        effect=np.array([0.05, -0.02, 0.2]),
        se=np.array([0.05, 0.05, 0.05]),
        lags=2,
        n_obs=10,
        n_units=5,
        first_year=2000,
        last_year=2010,
    )
    for response in (RESPONSE, negative):
        previous = None
        for cut in range(0, 5000, 250):
            ev = f"{{type: jobs, unit: MINE, year: 2023, persons: {-cut}}}"
            out = run(tmp_path, one_event(ev), response).forecasts["s1"]
            pop = out[(out["unit_id"] == "MINE") & (out["target"] == "population")]
            now = pop[["forecast", "lower"]].to_numpy()
            if previous is not None:
                assert (now <= previous + 1e-9).all(), (response.group, cut)
            previous = now


def _pop(tmp_path, event: str, **kw) -> pd.DataFrame:
    _, (shocks, moves) = check(tmp_path, one_event(event))
    out = apply(baseline_table(), shocks, moves, RESPONSE, ["s1"], 0.8, 0.1, **kw).table
    return out[out["target"] == "population"].set_index("year")


def test_rises_respond_by_their_own_share(tmp_path):
    gain = "{type: new_jobs, unit: MINE, year: 2023, persons: 1000}"
    full = _pop(tmp_path, gain)
    half = _pop(tmp_path, gain, rise_scale=0.5)
    none = _pop(tmp_path, gain, rise_scale=0.0, heterogeneity_rise=0.3)
    s = np.log(6000 / 5000)
    for year, eff in ((2023, 0.1), (2025, 0.3)):
        assert full.loc[year, "response_log"] == pytest.approx(eff * s)
        assert half.loc[year, "response_log"] == pytest.approx(0.5 * eff * s)
    # no response: the baseline point, a range widened only by the spread for rises
    assert (none["forecast"] == none["baseline"]).all()
    z = 1.2815515655446004
    lo = np.log(none["baseline"] / none["baseline_lower"])
    assert np.log(none.loc[2025, "forecast"] / none.loc[2025, "lower"]) == pytest.approx(
        np.hypot(lo.loc[2025], z * 0.3 * s)
    )
    # falls keep the whole estimate
    cut = "{type: jobs, unit: MINE, year: 2023, percent: -20}"
    a, b = _pop(tmp_path, cut), _pop(tmp_path, cut, rise_scale=0.0, heterogeneity_rise=0.3)
    assert (a[["forecast", "lower", "upper"]] == b[["forecast", "lower", "upper"]]).all().all()


def test_population_never_falls_with_more_jobs_across_zero(tmp_path):
    previous = None
    for persons in range(-4500, 3000, 250):
        ev = f"{{type: jobs, unit: MINE, year: 2023, persons: {persons}}}"
        now = _pop(tmp_path, ev, rise_scale=0.3)["forecast"].to_numpy()
        if previous is not None:
            assert (now >= previous - 1e-9).all(), persons
        previous = now


def test_rise_scale_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match="rise_scale must be between 0 and 1, got 1.5"):
        apply(baseline_table(), [], [], RESPONSE, ["s1"], 0.8, rise_scale=1.5)


def test_resettlement_conserves_people(tmp_path):
    ev = (
        "{type: resettlement, unit: MINE, to: CITY, year: 2023, until: 2026, "
        "persons_per_year: 500, natural_increase_per_1000: 0}"
    )
    traj = run(tmp_path, one_event(ev))
    t = traj.table[traj.table["target"] == "population"]
    out = t[t["unit_id"] == "MINE"].set_index("year")
    into = t[t["unit_id"] == "CITY"].set_index("year")
    assert ((out["baseline"] - out["forecast"]) == (into["forecast"] - into["baseline"])).all()
    moved = into["forecast"] - into["baseline"]
    assert moved.loc[2022] == 0
    assert moved.loc[2023] == pytest.approx(500)
    assert moved.loc[2026] == pytest.approx(2000)
    assert moved.loc[2030] == pytest.approx(2000)  # moves end in 2026
    other = traj.forecasts["s1"]
    untouched = other[other["unit_id"] == "OTHER"]["forecast"].to_numpy()
    base = baseline_table()
    assert (untouched == base[base["unit_id"] == "OTHER"]["forecast"].to_numpy()).all()


def test_moved_people_bring_their_later_births():
    from forecast.scenarios import Move

    m = Move("s", "MINE", "CITY", 2023, 2024, 1000.0, 0.01)
    stock = moved_stock(m, np.array([2022, 2023, 2024, 2025]))
    assert stock == pytest.approx([0, 1000, 1000 * 1.01 + 1000, (1000 * 1.01 + 1000) * 1.01])


def test_resettling_more_than_the_town(tmp_path):
    ev = "{type: resettlement, unit: OTHER, to: CITY, year: 2023, persons_per_year: 3000}"
    with pytest.raises(ConfigError) as exc:
        run(tmp_path, one_event(ev))
    assert "scenario 's1': resettlement moves more people out of 'OTHER' by 2025" in str(exc.value)


# ---- units by name, nested units, towns without their own employment ----------------------
NESTED = pd.DataFrame(
    {
        "name": ["Mine Town", "Mine Town", "Big City", "Mine Town district"],
        "region": ["R", "R", "R", "R"],
        "monotown": [1, 0, 0, 0],
        "stands_in_for": [None, None, None, "Mine Town"],
    },
    index=pd.Index(["MINE-T", "MINE-CA", "CITY", "HOST-D"], name="unit_id"),
)


def nested_check(tmp_path, event: str, population=None, employment=None):
    path = write(tmp_path, one_event(event))
    if population is None:
        population = pd.DataFrame(
            [
                (u, y, v)
                for u, v in (("MINE-T", 10000.0), ("HOST-D", 40000.0), ("CITY", 9e5))
                for y in [2020, *YEARS]
            ],
            columns=["unit_id", "year", "value"],
        )
    if employment is None:  # only the host district has employment (the labour survey)
        employment = pd.DataFrame(
            [("HOST-D", y, 16000.0) for y in [2020, *YEARS]], columns=["unit_id", "year", "value"]
        )
    return check_against(
        load_scenarios(path),
        path,
        units=NESTED,
        last_year=2020,
        last_forecast_year=2030,
        employment=employment,
        population=population,
    )


def test_units_by_name_prefer_the_monotown(tmp_path):
    shocks, _ = nested_check(tmp_path, "{type: jobs, unit: Mine Town, year: 2025, percent: -10}")
    assert {s.unit_id for s in shocks} == {"MINE-T"}
    with pytest.raises(ConfigError, match="unknown unit 'Nowhere' \\(not in units.csv\\)"):
        nested_check(tmp_path, "{type: jobs, unit: Nowhere, year: 2025, percent: -10}")


def test_ambiguous_names_are_refused(tmp_path):
    units = NESTED.assign(monotown=0)
    path = write(tmp_path, one_event("{type: jobs, unit: Mine Town, year: 2025, percent: -10}"))
    with pytest.raises(ConfigError) as exc:
        check_against(
            load_scenarios(path),
            path,
            units=units,
            last_year=2020,
            last_forecast_year=2030,
            employment=None,
        )
    assert (
        "unknown unit 'Mine Town' (ambiguous name 'Mine Town': units MINE-T, MINE-CA; use a "
        "unit_id)" in str(exc.value)
    )


def test_receiving_unit_needs_a_population_forecast(tmp_path):
    ev = "{type: resettlement, unit: MINE-T, to: MINE-CA, year: 2025, persons_per_year: 10}"
    with pytest.raises(ConfigError, match="receiving unit 'MINE-CA' has no population forecast"):
        nested_check(tmp_path, ev)


def test_employment_from_the_unit_that_stands_in(tmp_path):
    # the district employs 16,000 of its 40,000 residents: the town's 10,000 residents -> 4,000
    shocks, _ = nested_check(tmp_path, "{type: jobs, unit: MINE-T, year: 2025, persons: -1000}")
    assert shocks[0].shift == pytest.approx(np.log(3000 / 4000))
    with pytest.raises(
        ConfigError,
        match="a cut of 4,000 persons is not smaller than the town's "
        "employment 4,000 \\(population 2024 x employment rate of HOST-D 2024",
    ):
        nested_check(tmp_path, "{type: jobs, unit: MINE-T, year: 2025, persons: -4000}")


def test_a_change_inside_a_unit_changes_the_unit_containing_it(tmp_path):
    _, (shocks, _) = check(
        tmp_path, one_event("{type: jobs, unit: MINE, year: 2023, percent: -20}")
    )
    parents = {"MINE": "OTHER"}  # SYNTHETIC nesting: MINE lies inside OTHER
    traj = apply(baseline_table(), shocks, [], RESPONSE, ["s1"], 0.8, parents=parents)
    t = traj.table[traj.table["target"] == "population"]
    town = t[t["unit_id"] == "MINE"].set_index("year")
    host = t[t["unit_id"] == "OTHER"].set_index("year")
    lost = town["forecast"] - town["baseline"]
    assert (lost.loc[2023:] < 0).all()
    assert (host["forecast"] - host["baseline"]).to_numpy() == pytest.approx(lost.to_numpy())
    assert host["from_inner_units"].to_numpy() == pytest.approx(lost.to_numpy())
    # moving people from a town into the unit containing it leaves that unit unchanged
    ev = "{type: resettlement, unit: MINE, to: OTHER, year: 2023, persons_per_year: 100}"
    _, (_, moves) = check(tmp_path, one_event(ev))
    traj = apply(baseline_table(), [], moves, RESPONSE, ["s1"], 0.8, parents=parents)
    out = traj.forecasts["s1"]
    base = baseline_table()
    host_rows = (out["unit_id"] == "OTHER").to_numpy()
    assert out.loc[host_rows, "forecast"].to_numpy() == pytest.approx(
        base.loc[host_rows, "forecast"].to_numpy()
    )


def nested_baseline() -> pd.DataFrame:
    """SYNTHETIC flat baseline: population of MINE-T and HOST-D, employment of HOST-D only."""
    rows = [
        (u, t, 2020, h, y, v, v * 0.9, v * 1.1)
        for u, t, v in (
            ("MINE-T", "population", 10000.0),
            ("HOST-D", "population", 40000.0),
            ("HOST-D", "employment", 16000.0),
        )
        for h, y in enumerate(YEARS, start=1)
    ]
    cols = ["unit_id", "target", "origin_year", "horizon", "year", "forecast", "lower", "upper"]
    return pd.DataFrame(rows, columns=cols)


@pytest.mark.parametrize(
    ("event", "lost"),
    [
        ("{type: jobs, unit: MINE-T, year: 2025, persons: -1000}", 1000.0),
        # 10% of the town's 4,000 jobs (its 10,000 residents x the district's rate 0.4)
        ("{type: jobs, unit: MINE-T, year: 2025, percent: -10}", 400.0),
        ("{type: jobs, unit: MINE-T, year: 2025, percent: -10, phase_years: 2}", 400.0),
    ],
)
def test_jobs_of_a_town_without_its_own_series_leave_the_series_standing_in(tmp_path, event, lost):
    shocks, _ = nested_check(tmp_path, event)
    traj = apply(nested_baseline(), shocks, [], RESPONSE, ["s1"], 0.8, parents={"MINE-T": "HOST-D"})
    t = traj.table
    host = t[(t["unit_id"] == "HOST-D") & (t["target"] == "employment")].set_index("year")
    change = host["forecast"] - host["baseline"]
    assert (change.loc[:2024] == 0).all()  # before the event
    assert change.loc[2026:].to_numpy() == pytest.approx(-lost)
    assert host["from_inner_units"].to_numpy() == pytest.approx(change.to_numpy())
    assert (host["upper"] - host["baseline_upper"]).to_numpy() == pytest.approx(change.to_numpy())
    # the town's population responds, and the district's by as many persons
    town = t[(t["unit_id"] == "MINE-T") & (t["target"] == "population")].set_index("year")
    pop = t[(t["unit_id"] == "HOST-D") & (t["target"] == "population")].set_index("year")
    assert (town["forecast"] < town["baseline"]).loc[2026:].all()
    assert (pop["forecast"] - pop["baseline"]).to_numpy() == pytest.approx(
        (town["forecast"] - town["baseline"]).to_numpy()
    )


# ---- the effect of a job change on population, and its uncertainty, in words ------------
def _effects(tmp_path, body: str, response: ResponseEstimate = RESPONSE) -> pd.DataFrame:
    _, (shocks, moves) = check(tmp_path, body)
    table = apply(baseline_table(), shocks, moves, response, ["s1"], 0.8, 0.1).table
    return describe(table, response, 10, 0.8, UNITS["name"])


def test_effect_of_a_cut_and_its_range_from_the_standard_error(tmp_path):
    out = _effects(tmp_path, one_event("{type: jobs, unit: MINE, year: 2023, percent: -20}"))
    (r,) = out.itertuples()
    s, z = np.log(0.8), 1.2815515655446004
    # 7 years after the cut: the last lag's effect 0.3 (se 0.05)
    assert (r.name, r.year) == ("Mine Town", 2030)
    assert r.employment_change_pct == pytest.approx(-20.0)
    assert r.population_response_pct == pytest.approx(100 * np.expm1(0.3 * s))
    assert r.response_low_pct == pytest.approx(100 * np.expm1((0.3 + z * 0.05) * s))
    assert r.response_high_pct == pytest.approx(100 * np.expm1((0.3 - z * 0.05) * s))
    assert (r.response_per_10pct_jobs, r.response_se_per_10pct_jobs) == pytest.approx((3.0, 0.5))
    assert "a 10% change in jobs goes with a 3.00% change in population" in r.note
    assert "give or take 0.50 points (one standard error)" in r.note
    assert "cannot rule out" not in r.note  # 0.3 +- 1.28 x 0.05 is far from zero


def test_an_estimate_within_noise_of_zero_is_said_so(tmp_path):
    weak = ResponseEstimate(  # like the Kazakh estimate: 0.044, se 0.036
        group="weak",
        effect=np.array([0.036, 0.044]),
        se=np.array([0.023, 0.036]),
        lags=1,
        n_obs=1419,
        n_units=160,
        first_year=2002,
        last_year=2025,
    )
    out = _effects(tmp_path, one_event("{type: jobs, unit: MINE, year: 2023, percent: -20}"), weak)
    (r,) = out.itertuples()
    assert r.response_low_pct < r.population_response_pct < 0 < r.response_high_pct
    assert "estimated on weak (160 units, 2002-2025)" in r.note
    assert "the data cannot rule out that population does not follow the jobs at all" in r.note


def test_standard_errors_of_several_job_changes_add_up(tmp_path):
    out = _effects(
        tmp_path, one_event("{type: jobs, unit: MINE, year: 2023, percent: -20, phase_years: 2}")
    )
    (r,) = out.itertuples()
    # two steps of log(0.8) / 2, both held at the last lag by 2030: the same as one step
    assert r.response_se_per_10pct_jobs == pytest.approx(0.5)


def test_no_effect_row_without_a_job_change(tmp_path):
    moves = "{type: resettlement, unit: MINE, to: CITY, year: 2023, persons_per_year: 100}"
    assert _effects(tmp_path, one_event(moves)).empty
    assert _effects(tmp_path, one_event("{type: jobs, unit: MINE, year: 2023, percent: 0}")).empty
