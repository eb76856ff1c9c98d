"""Estimate the population response to local employment shocks (docs/scenarios.md).

Reads the US county panel in place (../shared/data/us_counties) and, where it exists, the
Kazakh annual panel (data/kz_annual); writes the estimates by group to
src/forecast/resources/response_estimates.csv (the file scenarios read) and prints them.

    .venv/bin/python scripts/estimate_response.py
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from forecast import io
from forecast.errors import ForecastError
from forecast.response import estimate, estimates_table, relative_changes

ROOT = Path(__file__).resolve().parents[1]
US = ROOT.parent / "shared" / "data" / "us_counties"
KZ = ROOT / "data" / "kz_annual"
OUT = ROOT / "src" / "forecast" / "resources" / "response_estimates.csv"
LAGS = 4
US_BREAKS = (2000,)  # LAUS county employment re-based in 2000 (docs/scenarios.md)
KZ_POPULATION_BREAKS = (2022,)  # the 2021 census re-basing, stored at 1 January 2022
MIN_UNITS = 10


def us_groups(data) -> dict[str, pd.Index]:
    units = data.units
    p0 = data.panel[data.panel["year"] == 1990].set_index("unit_id")["population"]
    metro = units["metro"].astype(float) == 1
    mining = units["mining_dependent"].astype(float) == 1
    size = p0.reindex(units.index)
    return {
        "us_all": units.index,
        "us_metro": units.index[metro],
        "us_nonmetro": units.index[~metro],
        "us_small": units.index[size < 10_000],
        "us_mid": units.index[(size >= 10_000) & (size < 50_000)],
        "us_large": units.index[size >= 50_000],
        "us_nonmetro_small": units.index[~metro & (size < 50_000)],
        "us_mining": units.index[mining],
    }


def kz_groups(data) -> dict[str, pd.Index]:
    """Top-level units partition the country (nested towns would count twice); by kind."""
    units = data.units
    top = units.index[units["parent_id"].isna()] if "parent_id" in units else units.index
    out = {"kz_top": top}
    if "territory" in units:
        for kind, name in (
            ("district", "kz_districts"),
            ("city_administration", "kz_city_administrations"),
            ("town_proper", "kz_towns_proper"),
        ):
            out[name] = units.index[units["territory"] == kind]
    return out


def markdown(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def main() -> int:
    estimates = []
    for path, groups, source, breaks, pop_breaks in (
        (
            US,
            us_groups,
            "US counties 1990-2006 (SEER population, BLS LAUS employment)",
            US_BREAKS,
            (),
        ),
        (
            KZ,
            kz_groups,
            "Kazakhstan annual panel kz_annual (BNS population, LFS employment)",
            (),
            KZ_POPULATION_BREAKS,
        ),
    ):
        if not path.exists():
            print(f"skipped: {path} not found", file=sys.stderr)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # jumps are reported by `forecast validate`
            data = io.read_dataset(path)
        changes = relative_changes(
            data.panel, data.country, break_years=breaks, population_break_years=pop_breaks
        )
        for name, members in groups(data).items():
            sub = changes[changes["unit_id"].isin(members)]
            try:
                estimates.append(
                    estimate(sub, lags=LAGS, group=name, source=source, min_units=MIN_UNITS)
                )
            except ForecastError as exc:
                print(f"skipped: {exc}", file=sys.stderr)
    table = estimates_table(estimates)
    io.write_csv(table, OUT, float_format="%.6g")
    show = table.assign(
        cell=lambda t: t["effect"].map("{:.3f}".format) + " (" + t["se"].map("{:.3f}".format) + ")"
    )
    wide = show.pivot(index="group", columns="horizon", values="cell")
    wide["n_units"] = show.groupby("group")["n_units"].first()
    wide["n_obs"] = show.groupby("group")["n_obs"].first()
    wide["years"] = show.groupby("group").apply(
        lambda g: f"{g['first_year'].iloc[0]}-{g['last_year'].iloc[0]}"
    )
    order = [e.group for e in estimates]
    print(markdown(wide.loc[order].reset_index()))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
