#!/usr/bin/env python3
"""Build the bundled annual Kazakhstan dataset (data/kz_annual/) from the Bureau's workbooks.

    python scripts/build_kz_annual.py [--shared PATH] [--out PATH]

Inputs (read-only): <shared>/bns/raw/ (imported with `forecast.importers`, the code behind
`forecast import-bns`) and the repository's data/kz_towns (monotown attributes, Soviet census
points, regions.csv, country.csv). The decisions on the Bureau's known problems are the named rules
below and in the dataset README. Deterministic: same inputs -> byte-identical outputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.importers.dataset import SOURCE_COLUMNS, import_workbooks, write_dataset

REPO = Path(__file__).resolve().parents[1]
TOWNS = REPO / "data" / "kz_towns"
MONO_ATTRS = [
    "lat", "lon", "main_industry", "resource", "city_forming_enterprise", "region_centre",
    "dist_region_centre_km", "nearest_city_250k", "dist_nearest_250k_km",
]  # fmt: skip
# Rule M: the decision unit of each monotown. "T" = the Bureau's town-proper sheet; "CA" = the city
# administration (no town sheet); "census" = a town-proper unit built here from data/kz_towns,
# whose host (the administration or district with the Bureau's annual series) stands in for it.
DECISION = {
    "Abay": ("T", "KAR-Abay-T"),
    "Aksu": ("T", "PAV-Aksu-T"),
    "Altai": ("T", "VOS-Altay-T"),
    "Balkhash": ("T", "KAR-Balkhash-T"),
    "Ekibastuz": ("T", "PAV-Ekibastuz-T"),
    "Karazhal": ("T", "ULY-Karazhal-T"),
    "Kentau": ("T", "YUZ-Kentau-T"),
    "Kurchatov": ("T", "ABA-Kurchatov-T"),
    "Ridder": ("T", "VOS-Ridder-T"),
    "Satpayev": ("T", "ULY-Satpaev-T"),
    "Shakhtinsk": ("T", "KAR-Shakhtinsk-T"),
    "Stepnogorsk": ("T", "AKM-Stepnogorsk-T"),
    "Temirtau": ("T", "KAR-Temirtau-T"),
    "Zhanaozen": ("T", "MAN-Zhanaozen-T"),
    "Priozersk": ("CA", "KAR-Priozersk-CA"),
    "Saran": ("CA", "KAR-Saran-CA"),
    "Tekeli": ("CA", "ZHE-Tekeli-CA"),
    "Zhezkazgan": ("CA", "ULY-Zhezkazgan-CA"),
    "Arkalyk": ("census", "KUS-Arkalyk-CA"),
    "Lisakovsk": ("census", "KUS-Lisakovsk-CA"),
    "Rudny": ("census", "KUS-Rudnyy-CA"),
    "Zhitikara": ("census", "KUS-Zhitikarinskiy-D"),
    "Khromtau": ("census", "AKT-Khromtauskiy-D"),
    "Kulsary": ("census", "ATY-Zhylyoyskiy-D"),
    "Karatau": ("census", "ZHA-Talasskiy-D"),
    "Zhanatas": ("census", "ZHA-Sarysuskiy-D"),
    "Serebryansk": ("census", "VOS-Altay-D"),
}
# Rule K: Kentau city administration population 2017-2020 (198-295 thousand for a town of ~70
# thousand; the monotown sheet is consistent) and its labour-survey rows of the same years.
KENTAU = ("YUZ-Kentau-CA", range(2017, 2021))
# Rule Z: Zhanaozen town proper before the 2014 boundary change is a different territory.
ZHANAOZEN = ("MAN-Zhanaozen-T", 2014)  # printed periods < 2014 excluded
# Rule P: a value whose ratio to the unit's population of the same year is outside these bounds
# is a unit mix-up or a misprint in the sheet (e.g. Shymkent 2017 births = the whole region's,
# Tekeli births 4.4 "thousand", Kentau administration employment above its population 2002-2010).
PLAUSIBLE = {
    "births": (0.003, 0.06),
    "deaths": (0.001, 0.03),
    "arrivals": (0.0, 0.3),
    "departures": (0.0, 0.3),
    "employment": (0.0, 0.8),
    "labour_force": (0.0, 0.85),
    "hired_employees": (0.0, 0.8),
}
CITY_REGIONS = {
    "Almaty city": "ALA-Almaty-CA",
    "Astana city": "AST-Astana-CA",
    "Shymkent city": "SHY-Shymkent-CA",
}
CENSUS_YEARS = {1959, 1970, 1979, 1989, 1999, 2009}


def exclude(sources: pd.DataFrame, mask: pd.Series, reason: str) -> None:
    sources.loc[mask & (sources["status"] == "used"), "reason"] = reason
    sources.loc[mask & (sources["status"] == "used"), "status"] = "excluded"


def rebasing(panel: pd.DataFrame) -> pd.Series:
    """Rule R: the 2021 census re-basing residual, P(1.1.2022) - [P(1.1.2021) + births - deaths
    + arrivals - departures of 2021], stored at 2022 (persons); empty elsewhere."""
    p = panel.set_index(["unit_id", "year"])
    out = pd.Series(np.nan, index=p.index)
    for uid in p.index.get_level_values(0).unique():
        try:
            now, before = p.loc[(uid, 2022)], p.loc[(uid, 2021)]
        except KeyError:
            continue
        flows = now[["births", "deaths", "arrivals", "departures"]]
        if flows.isna().any() or pd.isna(now["population"]) or pd.isna(before["population"]):
            continue
        implied = before["population"] + flows["births"] - flows["deaths"]
        implied += flows["arrivals"] - flows["departures"]
        out[(uid, 2022)] = now["population"] - implied
    return out.values


RULE_T = (
    "rule T: the Bureau's town-proper sheet repeats its administration's population in most "
    "years both print, so it covers the administration, not the city proper of this census"
)


def sheet_is_its_administration(pop: pd.Series, unit_id: str, parent_id: object) -> bool:
    """Rule T: a town-proper sheet whose population (`pop`: by unit_id and year) equals its
    parent administration's in most years both print (at least three) is the administration's
    territory (Stepnogorsk and Satpayev: 65,900 in 2011 against 46,712 at the 2009 census of the
    city proper), so census points of the city proper would put a boundary jump into the series;
    they are kept out (sources: not used)."""
    have = pop.index.get_level_values(0)
    if pd.isna(parent_id) or unit_id not in have or parent_id not in have:
        return False
    town, admin = pop.loc[unit_id], pop.loc[parent_id]
    common = town.index.intersection(admin.index)
    same = int((town[common] == admin[common]).sum())
    return same >= 3 and same > len(common) / 2


def build(shared: Path, out: Path) -> None:
    panel, units, sources, summary = import_workbooks([shared / "bns" / "raw"])
    sources = sources.copy()
    uid, period, var = sources["unit_id"], sources["period"], sources["variable"]
    exclude(
        sources,
        (uid == KENTAU[0]) & period.isin(list(KENTAU[1])),
        "rule K: Kentau administration 2017-2020 implausible (198-295 thousand)",
    )
    exclude(
        sources,
        (uid == ZHANAOZEN[0]) & (period < ZHANAOZEN[1]),
        "rule Z: Zhanaozen town proper before the 2014 boundary change",
    )
    used = sources[sources["status"] == "used"]
    pop = used[used["variable"] == "population"].set_index(["unit_id", "year"])["value"]
    for var, (lo, hi) in PLAUSIBLE.items():
        rows = (sources["status"] == "used") & (sources["variable"] == var)
        ratio = (
            sources.loc[rows, "value"].values
            / pop.reindex(pd.MultiIndex.from_frame(sources.loc[rows, ["unit_id", "year"]])).values
        )
        bad = pd.Series(False, index=sources.index)
        bad[rows] = (ratio < lo) | (ratio > hi)  # NaN ratio (no population) -> kept
        exclude(sources, bad, f"rule P: {var} / population outside [{lo}, {hi}]")
    used = sources[sources["status"] == "used"]
    panel = (
        used.pivot(index=["unit_id", "year"], columns="variable", values="value")
        .reindex(columns=[c for c in panel.columns if c not in ("unit_id", "year")])
        .reset_index()
    )

    towns_units = pd.read_csv(TOWNS / "units.csv", dtype=str, keep_default_na=False)
    towns_panel = pd.read_csv(TOWNS / "panel.csv")
    towns_sources = pd.read_csv(TOWNS / "sources.csv", dtype=str, keep_default_na=False)
    mono = towns_units[towns_units["monotown"] == "1"].set_index("unit_id")
    units = units.copy()
    units["monotown"] = 0
    units["stands_in_for"] = ""
    for c in MONO_ATTRS:
        units[c] = ""
    extra_units, extra_rows, extra_sources = [], [], []
    # rule T reads the printed populations and the parent of each town-proper sheet
    printed = panel.loc[panel["population"].notna()].set_index(["unit_id", "year"])["population"]
    parent_of = units.set_index("unit_id")["parent_id"].replace("", np.nan)
    for town, (how, unit_id) in sorted(DECISION.items()):
        attrs = mono.loc[town]
        host = units.index[units["unit_id"] == unit_id]
        if len(host) != 1:
            raise SystemExit(f"decision unit {unit_id} for {town} not found in the import")
        if how == "census":
            units.loc[host, "stands_in_for"] = town
            host_row = units.loc[host[0]]
            new_id = f"{unit_id.split('-')[0]}-{town}-T"
            row = {
                "unit_id": new_id,
                "name": town,
                "name_ru": attrs["name_ru"],
                "name_kk": attrs["name_kk"],
                "region": host_row["region"],
                "territory": "town_proper",
                "parent_id": unit_id,
                "monotown": 1,
                "stands_in_for": "",
                **{c: attrs[c] for c in MONO_ATTRS},
            }
            extra_units.append(row)
            years = towns_panel[towns_panel["unit_id"] == town]
            target = new_id
        else:
            units.loc[host, "monotown"] = 1
            units.loc[host, "name"] = town
            units.loc[host, "name_kk"] = attrs["name_kk"]
            for c in MONO_ATTRS:
                units.loc[host, c] = attrs[c]
            target = unit_id
            years = towns_panel[towns_panel["unit_id"] == town]
            if how == "T":  # Soviet/early census points of the same territory (town proper)
                years = years[years["year"].isin(CENSUS_YEARS) & (years["year"] < 2010)]
            else:
                years = years.iloc[0:0]
        other_territory = how == "T" and sheet_is_its_administration(
            printed, target, parent_of.get(target)
        )
        for r in years.itertuples(index=False):
            if not other_territory:
                extra_rows.append(
                    {"unit_id": target, "year": int(r.year), "population": r.population}
                )
            src = towns_sources[
                (towns_sources["file"] == "population")
                & (towns_sources["unit_id"] == town)
                & (towns_sources["year"] == str(int(r.year)))
                & (towns_sources["status"] == "used")
            ]
            note = src["source_note"].iloc[0] if len(src) else ""
            url = src["source_url"].iloc[0] if len(src) else ""
            kind = src["kind"].iloc[0] if len(src) else ""
            extra_sources.append(
                {
                    "file": "data/kz_towns/panel.csv",
                    "unit_id": target,
                    "year": int(r.year),
                    "variable": "population",
                    "value": r.population,
                    "status": "not used" if other_territory else "used",
                    "kind": kind,
                    "scope": "kz_towns (city proper)",
                    "reason": RULE_T if other_territory else "",
                    "source_url": url,
                    "source_note": note,
                }
            )
    # Rule C: the three cities of republican significance are regions: their population on
    # 1 January is the regional series of data/kz_towns/regions.csv (same territory); their
    # profile workbooks hold only the inner-city districts.
    regions = pd.read_csv(TOWNS / "regions.csv")
    for region, unit_id in CITY_REGIONS.items():
        series = regions[(regions["region"] == region) & regions["population"].notna()]
        src = towns_sources[
            (towns_sources["file"] == "regions")
            & (towns_sources["unit_id"] == region)
            & (towns_sources["variable"] == "population")
            & (towns_sources["status"] == "used")
        ].set_index("year")
        for r in series.itertuples(index=False):
            extra_rows.append({"unit_id": unit_id, "year": int(r.year), "population": r.population})
            info = src.loc[str(int(r.year))] if str(int(r.year)) in src.index else None
            extra_sources.append(
                {
                    "file": "data/kz_towns/regions.csv",
                    "unit_id": unit_id,
                    "year": int(r.year),
                    "variable": "population",
                    "value": r.population,
                    "status": "used",
                    "kind": "estimate",
                    "scope": "region = city (rule C)",
                    "reason": "",
                    "source_url": "" if info is None else info["source_url"],
                    "source_note": "" if info is None else info["source_note"],
                }
            )
    units = pd.concat([units, pd.DataFrame(extra_units)], ignore_index=True)
    # inner-city districts: named after their city so that a city's name is unique
    city_name = units.set_index("unit_id")["name"]
    inner = (units["territory"] == "district") & units["region"].str.endswith(" city")
    units.loc[inner, "name"] = [
        f"{n} district ({city_name[p]})"
        for n, p in zip(units.loc[inner, "name"], units.loc[inner, "parent_id"])
    ]
    extra = pd.DataFrame(extra_rows)
    have = set(
        zip(
            panel.loc[panel["population"].notna(), "unit_id"],
            panel.loc[panel["population"].notna(), "year"],
        )
    )
    clash = [(u, y) in have for u, y in zip(extra["unit_id"], extra["year"])]
    extra = extra[~np.array(clash)]
    extra_sources = pd.DataFrame(extra_sources)
    clash = (extra_sources["status"] == "used") & pd.Series(
        [(u, y) in have for u, y in zip(extra_sources["unit_id"], extra_sources["year"])],
        index=extra_sources.index,
    )
    extra_sources.loc[clash, "status"] = "not used"
    extra_sources.loc[clash, "reason"] = "the Bureau's value for the same unit and year is used"
    keys = ["unit_id", "year"]
    order = list(panel.columns)
    panel = panel.set_index(keys).combine_first(extra.set_index(keys)).reset_index()[order]
    panel = panel.sort_values(["unit_id", "year"], kind="mergesort").reset_index(drop=True)
    panel["rebasing"] = rebasing(panel)
    sources = pd.concat([sources, extra_sources], ignore_index=True)
    sources = sources[SOURCE_COLUMNS].sort_values(
        ["unit_id", "variable", "year", "file", "sheet", "row"], kind="mergesort"
    )
    # Rule S: a host stands in for every monotown whose decision unit has no employment series
    with_emp = set(panel.loc[panel["employment"].notna(), "unit_id"])
    parent = units.set_index("unit_id")["parent_id"]
    for town, (_, unit_id) in sorted(DECISION.items()):
        target = unit_id if DECISION[town][0] != "census" else None
        if target is None or target in with_emp:
            continue
        host = parent.get(target, "")
        if host in with_emp:
            row = units["unit_id"] == host
            names = [n for n in units.loc[row, "stands_in_for"].item().split(";") if n] + [town]
            units.loc[row, "stands_in_for"] = ";".join(sorted(names))
    units = units.sort_values("unit_id", kind="mergesort").reset_index(drop=True)
    cols = ["unit_id", "year", "population", "employment"]
    panel = panel[cols + [c for c in panel.columns if c not in cols]]
    write_dataset(
        out,
        {
            "panel.csv": panel,
            "units.csv": units,
            "regions.csv": pd.read_csv(TOWNS / "regions.csv"),
            "country.csv": pd.read_csv(TOWNS / "country.csv"),
            # one row per printed cell (about 12 MB as text): kept compressed in the repository
            "sources.csv.gz": sources,
        },
        {"README.md": (REPO / "scripts" / "kz_annual_README.md").read_text(encoding="utf-8")},
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data" / "kz")
    ap.add_argument("--out", type=Path, default=REPO / "data" / "kz_annual")
    args = ap.parse_args()
    build(args.shared, args.out)


if __name__ == "__main__":
    main()
