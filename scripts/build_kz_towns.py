#!/usr/bin/env python3
"""Build the bundled Kazakhstan towns dataset (data/kz_towns/) from the compiled public facts.

    python scripts/build_kz_towns.py [--shared PATH] [--out PATH]

Inputs (read-only): <repo>/../shared/data/kz/{population,monotowns,regions_annual,country_annual,
bns_2023_monotown_rows}.csv.  Outputs: panel.csv, units.csv, regions.csv, country.csv, sources.csv,
README.md.  Nothing is interpolated, summed or invented: every output number is one source value,
chosen by the named rules below.  Deterministic: same inputs -> byte-identical outputs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CENSUS_YEARS = {1959, 1970, 1979, 1989, 1999, 2009, 2021}
MIN_YEAR = 1959  # rule 3: the 1939 rows are left out (see README)
JUMP_THRESHOLD = 0.30  # rule 5: sanity check between consecutive used observations
SOURCE_COLS = [
    "file",
    "unit_id",
    "year",
    "variable",
    "value",
    "status",
    "kind",
    "scope",
    "reason",
    "source_url",
    "source_note",
]
UNIT_COLS = [
    "unit_id",
    "name",
    "name_ru",
    "name_kk",
    "region",
    "lat",
    "lon",
    "monotown",
    "main_industry",
    "resource",
    "city_forming_enterprise",
    "region_centre",
    "dist_region_centre_km",
    "nearest_city_250k",
    "dist_nearest_250k_km",
    "scope",
]
MONO_ATTRS = {
    "lat": "lat",
    "lon": "lon",
    "main_industry": "main_industry",
    "resource": "resource",
    "city_forming_enterprise": "city_forming_enterprise",
    "region_centre": "oblast_center",
    "dist_region_centre_km": "dist_oblast_center_km_haversine",
    "nearest_city_250k": "nearest_city_250k",
    "dist_nearest_250k_km": "dist_nearest_250k_km_haversine",
}
REGION_INDICATORS = {
    "population_1jan": "population",
    "avg_per_capita_nominal_cash_income": "avg_per_capita_nominal_cash_income",
    "applied_to_employment_authorities": "applied_to_employment_authorities",
    "unemployment_rate": "unemployment_rate",
    "avg_monthly_nominal_wage": "avg_monthly_nominal_wage",
}

# Rule 2: a row is doubtful when its note matches one of these (case-insensitive) patterns.
DOUBT_PATTERNS = [
    ("implausible", r"\bimplausib"),
    ("erroneous", r"\berroneous\b"),
    ("content farm", r"content[- ]farm"),
    ("low reliability", r"low reliability|unreliable"),
    ("rounded", r"\brounded\b|\bas printed\b"),
    ("approximate", r"\bapprox|\babout\b|\bca\.|\bsome \d|\bungefähr\b|\brund\b|\brunt\b"),
    ("scope not stated", r"scope not stated|city vs administration not stated"),
    ("scope/date unclear", r"unclear|uncertain"),
    ("conflicts with another source", r"\bconflicts? with\b|\binconsistent\b"),
    ("differs from bureau/census", r"\bdiffers\b"),
    ("likely typo", r"\btypo\b"),
    ("years swapped", r"\bswapped\b"),
    ("not the census figure", r"not the census"),
]
SCOPE_MATCHES_CITY = r"magnitudes? match(?:es)? the city"  # resolves "scope not stated"
LINKED_ROW = r"see (?:note on )?(\d{4}) row"  # note refers to a sibling row
TIER_LABELS = {
    1: "BNS",
    2: "en/ru Wikipedia",
    3: "Wikipedia (other language)",
    4: "UN DYB",
    5: "other source",
}
SERIES_LABELS = {
    1: "BNS regional series",
    2: "BNS 1 Jan 2023 bulletin",
    3: "BNS/agency figure via press",
    4: "other source",
}


# ----------------------------------------------------------------------------- town rules
def doubt_labels(note: str) -> list[str]:
    """Rule 2: the doubtful-keyword labels matched by a note ('scope not stated' is dropped when
    the note itself says the magnitudes match the city rows)."""
    labels = [lab for lab, pat in DOUBT_PATTERNS if re.search(pat, note, re.I)]
    if re.search(SCOPE_MATCHES_CITY, note, re.I):
        labels = [lab for lab in labels if lab != "scope not stated"]
    return labels


def row_kind(year: int, note: str) -> str:
    """census for census years when the note says census (not 'pre-2021-census series')."""
    text = re.sub(r"(pre|post)-\d{4}-census", "", note, flags=re.I)
    said = re.search(r"census|censo|volkszählung|перепис", text, re.I)
    return "census" if year in CENSUS_YEARS and said else "estimate"


def source_tier(note: str, url: str) -> int:
    """Rule 3 ranking: 1 BNS bulletin/settlement list > 2 en/ru Wikipedia, citypopulation.de
    (official census results) > 3 other Wikipedia editions > 4 UN Demographic Yearbook > 5 other."""
    if re.search(r"BNS(/stat\.gov\.kz)? (bulletin|settlement list)", note):
        return 1
    if re.search(r"\b(en|ru)\.wikipedia", note) or "citypopulation.de" in url:
        return 2
    if re.search(r"\b[a-z]{2}\.wikipedia", note):
        return 3
    return 4 if "UN Demographic Yearbook" in note else 5


def un_2006_mixup(year: int, note: str) -> bool:
    """Rule-5 fix: the UN DYB 'source year 2007' city-proper figures for 2006 carry
    agglomeration-level values for several towns (Atyrau, Ekibastuz, Kyzylorda, Oral, Rudny,
    Temirtau: 6-16 % above their 2004-2007 path), so all UN 2006 rows are excluded."""
    return year == 2006 and "UN Demographic Yearbook" in note


def looks_rounded(value: int, tier: int, bns_values: set[int]) -> bool:
    """A non-BNS value that is an exact multiple of 100 (and not a copy of a BNS value)."""
    return value % 100 == 0 and tier != 1 and value not in bns_values


def choose_scope(eligible: pd.DataFrame) -> str:
    """Rule 1: city proper unless the town's history exists only as administration."""
    years = eligible.groupby("scope")["year"].nunique()
    if years.get("city", 0) >= 2 or years.get("administration", 0) < 2:
        return "city"
    return "administration"


def exclusion_reason(scope: str, year: int, doubts: list[str]) -> str:
    """Rules 1-2 and the 1959 cut-off, in this order; '' = still a candidate."""
    if scope == "urban_agglomeration":
        return "scope: urban_agglomeration (UN rows never used)"
    if doubts:
        return "doubtful: " + ", ".join(doubts)
    if scope == "unknown":
        return "scope: unknown (source does not say city or administration)"
    if year < MIN_YEAR:
        return "pre-1959: single 1939 census value, outside the 1959+ window"
    return ""


def classify_population(pop: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Apply rules 1-3 to every population.csv row: adds kind, tier, status and reason; also
    returns the scope chosen per town."""
    df = pop.reset_index(drop=True)
    df["kind"] = [row_kind(y, n) for y, n in zip(df.year, df.source_note)]
    df["tier"] = [source_tier(n, u) for n, u in zip(df.source_note, df.source_url)]
    bns = df[df.tier == 1].groupby(["city", "year"])["population"].agg(set).to_dict()
    doubts = [
        doubt_labels(n)
        + (["UN DYB 2006 scope mix-up"] if un_2006_mixup(y, n) else [])
        + (["rounded (multiple of 100)"] if looks_rounded(v, t, bns.get((c, y), set())) else [])
        for c, y, v, t, n in zip(df.city, df.year, df.population, df.tier, df.source_note)
    ]
    for i, r in df.iterrows():  # a note pointing at a doubtful sibling row of the same source
        m = re.search(LINKED_ROW, r.source_note)
        if m and not doubts[i]:
            sib = df.index[
                (df.city == r.city) & (df.year == int(m.group(1))) & (df.source_url == r.source_url)
            ]
            if any(doubts[j] for j in sib):
                doubts[i] = [f"linked to doubtful {m.group(1)} row of the same source"]
    df["reason"] = [exclusion_reason(s, y, d) for s, y, d in zip(df.scope, df.year, doubts)]
    chosen = {t: choose_scope(g[g.reason == ""]) for t, g in df.groupby("city")}
    off = (df.reason == "") & (df.scope != df.city.map(chosen))
    df.loc[off, "reason"] = [
        f"scope: {s} (town uses {chosen[t]})" for s, t in zip(df.scope[off], df.city[off])
    ]
    df["status"] = "excluded"
    for _, g in df[df.reason == ""].groupby(["city", "year"]):
        resolve_conflict(df, g)
    return df, chosen


def resolve_conflict(df: pd.DataFrame, g: pd.DataFrame) -> None:
    """Rule 3: census before estimate (same integer year), then source tier, then the value
    most sources agree on, then file order; same value -> duplicate, else conflict."""
    support = g.population.map(g.population.value_counts())
    order = sorted(g.index, key=lambda i: (g.kind[i] != "census", g.tier[i], -support[i], i))
    win = order[0]
    df.loc[win, "status"] = "used"
    source = (
        "citypopulation.de"
        if "citypopulation.de" in g.source_url[win]
        else TIER_LABELS[g.tier[win]]
    )
    v, label = g.population[win], f"{source} {g.kind[win]}"
    for i in order[1:]:
        df.loc[i, "reason"] = (
            "duplicate of used row"
            if g.population[i] == v
            else f"conflict: superseded by {label} value {v}"
        )


# ----------------------------------------------------------------------------- units
def strip_label(label: str) -> str:
    return re.sub(r"\s+(қ\.ә\.|қаласы|қ\.)$", "", label).strip()


def kazakh_name(notes: pd.Series) -> str:
    """Name from the BNS 2023 bulletin row labels, cross-checked with the 2021 settlement list."""
    bulletin = {strip_label(m) for n in notes for m in re.findall(r'row "([^"]+)"', n)}
    listed = {m for n in notes for m in re.findall(r'as "([^"]+)"', n)}
    if len(bulletin) > 1:
        bulletin &= listed
    return bulletin.pop() if len(bulletin) == 1 else ""


def russian_name(notes: pd.Series) -> str:
    """Only an unambiguous ru.wikipedia article title quoted in a note (not 'Население ...')."""
    found = {
        m
        for n in notes
        for m in re.findall(r'ru\.wikipedia "([^"]+)"', n)
        if not m.startswith("Население")
    }
    return found.pop() if len(found) == 1 else ""


def build_units(pop: pd.DataFrame, mono: pd.DataFrame, scope: dict) -> pd.DataFrame:
    mono = mono.set_index("town")
    rows = []
    for town, g in pop.groupby("city"):
        region = g.oblast.iloc[0]
        row = dict.fromkeys(UNIT_COLS, "")
        row.update(
            unit_id=town,
            name=town,
            region=region,
            scope=scope[town],
            name_ru=russian_name(g.source_note),
            name_kk=kazakh_name(g.source_note),
            monotown="1" if town in mono.index else "0",
        )
        if town in mono.index:
            m = mono.loc[town]
            row.update({k: m[c] for k, c in MONO_ATTRS.items()})
            row.update(name_ru=re.sub(r"\s*\(.*\)$", "", m["name_ru"]), name_kk=m["name_kk"])
        rows.append(row)
    return pd.DataFrame(rows, columns=UNIT_COLS)


def region_mismatches(pop: pd.DataFrame, mono: pd.DataFrame) -> list[str]:
    """monotowns.csv oblast_2023 vs population.csv oblast (parenthetical history stripped)."""
    obl = pop.groupby("city").oblast.first()
    out = []
    for town, o in zip(mono.town, mono.oblast_2023):
        base = re.sub(r"\s*\(.*\)$", "", o)
        if base != obl[town]:
            out.append(f"{town}: monotowns.csv '{o}' vs population.csv '{obl[town]}'")
    return out


# ----------------------------------------------------------------------------- regions / country
def boundary_tag(note: str) -> str:
    m = re.search(r"boundary(?:=|:\s*|\s+)((?:\([^)]*\)|[^;(])+)", note)
    return m.group(1).strip() if m else "not stated"


def series_tier(note: str) -> int:
    """1 BNS regional series > 2 BNS 1 Jan 2023 bulletin > 3 BNS/agency via press > 4 other."""
    if note.startswith("BNS regional series"):
        return 1
    if note.startswith("BNS bulletin"):
        return 2
    return 3 if re.search(r"\bBNS\b|Statistics (Agency|Committee)|statistics dept", note) else 4


def pick_series(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One used value per key: non-'persons' rounded units out, then lowest series tier, then
    notes without doubt keywords, then file order; others are duplicates or conflicts."""
    df = df.copy()
    df["status"], df["reason"] = "excluded", ""
    rounded = df.unit.isin(["thousand persons", "million persons"])
    df.loc[rounded, "reason"] = "doubtful: rounded (published in thousand/million persons)"
    df["tier"] = df.source_note.map(series_tier)
    for _, g in df[~rounded].groupby(keys):
        order = sorted(g.index, key=lambda i: (g.tier[i], bool(doubt_labels(g.source_note[i])), i))
        df.loc[order[0], "status"] = "used"
        v = g.value[order[0]]
        for i in order[1:]:
            df.loc[i, "reason"] = (
                "duplicate of used row"
                if g.value[i] == v
                else f"conflict: superseded by {SERIES_LABELS[g.tier[order[0]]]} value {fmt(v)}"
            )
    return df


def build_regions(reg: pd.DataFrame):
    reg = reg[reg.indicator.isin(REGION_INDICATORS)].copy()
    reg["variable"] = reg.indicator.map(REGION_INDICATORS)
    picked = pick_series(reg, ["region", "year", "variable"])
    used = picked[picked.status == "used"]
    table = used.pivot(index=["region", "year"], columns="variable", values="value").reset_index()
    table = table[["region", "year"] + list(REGION_INDICATORS.values())]
    picked["kind"], picked["scope"] = "estimate", picked.source_note.map(boundary_tag)
    return table, picked.rename(columns={"region": "unit_id"})


def country_definition(indicator: str, year: int) -> str:
    """One population definition per year: World Bank mid-year 1960-1999, BNS 1 January 2000+."""
    if indicator == "population_midyear_wb":
        return "" if year < 2000 else "definition: BNS 1 January series used from 2000"
    if indicator == "population_1jan":
        return (
            "" if year >= 2000 else "definition: before 2000 the World Bank mid-year series is used"
        )
    if indicator == "population_census":
        return "definition: census count (country series is WB mid-year / BNS 1 January)"
    return "doubtful: low reliability, rounded (not an official series)"


def build_country(cty: pd.DataFrame):
    pop_ind = [
        "population_1jan",
        "population_midyear_wb",
        "population_census",
        "population_wiki_series",
    ]
    cty = cty[cty.indicator.isin(pop_ind + ["employment_rate", "unemployment_rate"])].copy()
    cty["variable"] = cty.indicator.where(~cty.indicator.isin(pop_ind), "population")
    cty["definition"] = [
        country_definition(i, y) if v == "population" else ""
        for i, y, v in zip(cty.indicator, cty.year, cty.variable)
    ]
    candidates = pick_series(cty[cty.definition == ""], ["year", "variable"])
    out = cty[cty.definition != ""].assign(status="excluded", reason=lambda d: d.definition)
    picked = pd.concat([candidates, out]).sort_index()
    used = picked[picked.status == "used"]
    table = used.pivot(index="year", columns="variable", values="value").reset_index()
    table = table[["year", "population", "employment_rate", "unemployment_rate"]]
    picked["kind"] = [
        "census" if i == "population_census" else "estimate" for i in picked.indicator
    ]
    picked["scope"] = "country"
    return table, picked.rename(columns={"region": "unit_id"})


# ----------------------------------------------------------------------------- checks / output
def fmt(v) -> str:
    """Fixed number formatting: integers without decimals, others with up to 10 significant digits."""
    if v is None or pd.isna(v) or v == "":
        return ""
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.10g}"


def reason_category(reason: str) -> str:
    """'scope: unknown', 'scope: administration', ... or 'doubtful', 'conflict', 'duplicate of used row'."""
    return reason.split(" (")[0] if reason.startswith("scope") else reason.split(":")[0]


def find_jumps(panel: pd.DataFrame) -> list[tuple]:
    """Rule 5: consecutive used observations of a town changing by more than JUMP_THRESHOLD."""
    out = []
    for unit, g in panel.groupby("unit_id"):
        g = g.sort_values("year")
        for (y0, v0), (y1, v1) in zip(zip(g.year, g.population), zip(g.year[1:], g.population[1:])):
            if abs(v1 / v0 - 1) > JUMP_THRESHOLD:
                out.append((unit, y0, v0, y1, v1, v1 / v0 - 1))
    return out


JUMP_NOTES = {  # (town, first year) -> reading of a post-1999 jump
    ("Aktobe", 2009): "growth + BNS added ~59k akimat-village residents to the city in 2019",
    ("Almaty", 2009): "growth + city territory enlarged in 2014",
    ("Astana", 1999): "capital moved to Astana in 1997: rapid growth",
    ("Astana", 2009): "capital growth over 11 years",
    ("Shymkent", 2009): "growth + territory enlarged (2014, republican city from 2018)",
    (
        "Arkalyk",
        1999,
    ): "decline after losing oblast-centre status in 1997 (possible 1999 scope mix, see above)",
    ("Kaskelen", 1999): "Almaty suburban growth",
    ("Kulsary", 1999): "oil-region growth (Tengiz field)",
    ("Saryagash", 1999): "growth between censuses",
}


def jump_class(unit: str, y0: int, y1: int) -> str:
    if (unit, y0) in JUMP_NOTES:
        return JUMP_NOTES[(unit, y0)]
    if y1 <= 1999:
        return "census to census: Soviet industrial growth / 1990s emigration"
    if y0 == 2021:
        return "pre-census BNS 1 Jan 2021 -> post-census 2023: rebasing and/or town merged with villages"
    return "up to the 2021 census: growth, census rebasing and/or boundary change"


def sources_frame(df: pd.DataFrame, file: str) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "file": file,
            "unit_id": df.unit_id,
            "year": df.year.astype(int),
            "variable": df.variable,
            "value": df.value.map(fmt),
            "status": df.status,
            "kind": df.kind,
            "scope": df.scope,
            "reason": df.reason,
            "source_url": df.source_url,
            "source_note": df.source_note,
        }
    )
    return out


def write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n")


def check_bns_2023(pop: pd.DataFrame, bns: pd.DataFrame) -> None:
    """The 2023 monotown rows in population.csv must equal bns_2023_monotown_rows.csv."""
    p = pop[(pop.year == 2023) & (pop.tier == 1)].set_index(["city", "scope"]).population
    for r in bns[bns.scope.isin(["city", "administration"])].itertuples():
        if int(r.total) not in set(p.get((r.town, r.scope), pd.Series(dtype=int)).tolist()):
            raise SystemExit(f"error: BNS 2023 {r.town}/{r.scope} {r.total} not in population.csv")


def build(shared: Path, out: Path) -> dict:
    read = lambda name: pd.read_csv(shared / name, keep_default_na=False)  # noqa: E731
    pop, mono = read("population.csv"), read("monotowns.csv").astype(str)
    reg, cty, bns = (
        read("regions_annual.csv"),
        read("country_annual.csv"),
        read("bns_2023_monotown_rows.csv"),
    )
    pop, scope = classify_population(pop)
    check_bns_2023(pop, bns)
    used = pop[pop.status == "used"]
    panel = used.rename(columns={"city": "unit_id"})[["unit_id", "year", "population"]]
    panel = panel.sort_values(["unit_id", "year"]).reset_index(drop=True)
    units = build_units(pop, mono, scope)
    regions, reg_src = build_regions(reg)
    country, cty_src = build_country(cty)
    pop_src = pop.rename(columns={"city": "unit_id", "population": "value"}).assign(
        variable="population"
    )
    sources = pd.concat(
        [
            sources_frame(pop_src, "panel"),
            sources_frame(reg_src, "regions"),
            sources_frame(cty_src, "country"),
        ]
    )
    sources = sources.sort_values(
        SOURCE_COLS, key=lambda s: s.map(str) if s.name != "year" else s, kind="mergesort"
    ).reset_index(drop=True)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(panel, out / "panel.csv")
    write_csv(units, out / "units.csv")
    write_csv(
        regions.assign(**{c: regions[c].map(fmt) for c in regions.columns[2:]}), out / "regions.csv"
    )
    write_csv(
        country.assign(**{c: country[c].map(fmt) for c in country.columns[1:]}), out / "country.csv"
    )
    write_csv(sources, out / "sources.csv")
    stats = dict(
        pop=pop,
        panel=panel,
        units=units,
        regions=regions,
        country=country,
        sources=sources,
        jumps=find_jumps(panel),
        mismatches=region_mismatches(pop, mono),
    )
    (out / "README.md").write_text(render_readme(stats), encoding="utf-8")
    return stats


JUDGEMENT_CALLS = [
    "All 89 towns use scope `city`: each has the BNS 1 Jan 2023 city-proper row and no town has a "
    "usable history only in `administration` (Kosshy, new in 2023, has one year in both scopes).",
    "2021: the October 2021 census count is preferred to the BNS 1 January 2021 settlement-list value "
    "(pre-census series, later rebased; e.g. Aktau 199,640 vs census 251,855, Kurchatov 12,413 vs "
    "10,411, Saryagash 37,878 vs 59,606). Without a census value the 1 Jan 2021 figure is kept.",
    "Saran 2021 (42,864, BNS list) is kept as city although it is close to the 2023 administration "
    "(43,816) and far above the 2023 city (34,636): the settlement list behind it (the row's source_url) "
    "gives the subordinated settlement Aktas (8,975) separately, so it is the city itself; the "
    "2021->2023 drop (-19 %) is read as census rebasing.",
    "Khromtau 1999/2009 and Zhanaozen 1999/2009: old en.wikipedia figures flagged as swapped or "
    "implausible are excluded together with their sibling year (linked-row rule); Khromtau has no "
    "1999 value because the two remaining 1999 figures (23,882 / 21,740) contradict each other.",
    "Abay 2009: the fr.wikipedia census figure 25,550 is used; the old de.wikipedia 35,115 is flagged "
    "by the compiler as conflicting with it.",
    "Arkalyk 1999 (45,736, de.wikipedia census) is kept as city although a 1999 figure of 46,084 "
    "(scope not stated, assigned administration) is close to it; the -44 % to 2008 matches the "
    "town's decline after losing oblast-centre status in 1997, but a scope mix in 1999 cannot be ruled out.",
    "Aktobe: from spring 2019 BNS counts ~59k residents of akimat villages in the city (definition "
    "break noted in the source); 2019+ values follow the new definition, which the 2023 bulletin "
    "confirms (city = administration).",
    "Sarkand: the ru.wikipedia table rows (2004-2019) and the 2020 infobox (13,914) are kept as "
    "printed; the 2019-2021 pattern (11,368 / 13,914 / 10,502) is noisy and unresolved.",
    "Same-year ties between Wikipedia editions are settled by the rule order (census before estimate, "
    "en/ru before other editions): e.g. Balkhash 1989 86,609 (fr table, census) over 86,742 "
    "(en list column without a census mention); Zhezkazgan 1989 108,821 over 107,053.",
]
CAVEATS = [
    "Census counts (October 2021, February 1999/2009, January 1959-1989) and 1 January estimates are "
    "both stored under an integer `year`; use `sources.csv` `kind` to tell them apart.",
    "UN DYB estimates (2003-2009) have no stated reference date within the year; a few other estimates "
    "are dated 1 Jul / 1 Oct (see notes).",
    "Town boundaries changed (Almaty 2014, Shymkent 2014/2018, Aktobe 2019, several district towns "
    "merged with villages around the 2021 census); such breaks show up as jumps and are not adjusted.",
    "The 1 Jan 2023 bulletin (towns) and the later BNS regional series differ by <0.03 % for regions; "
    "regions.csv uses the regional series for all years, country.csv likewise.",
    "regions.csv keeps pre- and post-reform regions under their source names: East Kazakhstan, Karaganda "
    "and Almaty Region include Abai/Ulytau/Jetisu up to 2021 and exclude them from 2022 (Almaty Region "
    "also lost territory to Almaty city in 2014); South Kazakhstan population 2000-2016 includes Shymkent, "
    "Turkistan and Shymkent city start in 2017; cash income has South Kazakhstan to 2017, then Turkistan "
    "and Shymkent city; employment-office counts list South Kazakhstan and Shymkent city separately for "
    "2001-2021 (split not documented by the source). The boundary tag of every value is in `sources.csv` "
    "`scope`.",
    "country.csv population: World Bank mid-year estimates 1960-1999, BNS 1 January 2000-2026, so 1999 "
    "-> 2000 spans half a year. employment_rate/unemployment_rate: BNS decent-work table 2001-2020 "
    "(2018-2020 marked revised in the source), BNS/Finprom annual 2022-2023.",
]


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def render_readme(st: dict) -> str:
    pop, panel, units, src = st["pop"], st["panel"], st["units"], st["sources"]
    exc = pop[pop.status == "excluded"]
    by_cat = exc.reason.map(reason_category).value_counts().sort_index()
    doubt = exc[exc.reason.str.startswith("doubtful")].reason.str[10:].str.split(", ").explode()
    mono = units[units.monotown == "1"].unit_id
    mono_rows = [
        [t, len(g), ", ".join(map(str, g.year))]
        for t, g in panel[panel.unit_id.isin(mono)].groupby("unit_id")
    ]
    kinds = src[(src.file == "panel") & (src.status == "used")].kind.value_counts()
    jumps = [
        [u, f"{y0} -> {y1}", f"{v0:,} -> {v1:,}", f"{c:+.0%}", jump_class(u, y0, y1)]
        for u, y0, v0, y1, v1, c in st["jumps"]
    ]
    reg, cty = st["regions"], st["country"]
    out = [
        "# kz_towns - Kazakhstan town population panel",
        "",
        "Generated by `scripts/build_kz_towns.py` from the compiled public facts in `../shared/data/kz/` "
        "(read-only). Do not edit by hand: change the script and rebuild. The build is deterministic; "
        "`tests/test_kz_dataset.py` checks that a rebuild is byte-identical.",
        "",
        "## Files",
        "",
        md_table(
            ["file", "content"],
            [
                [
                    "panel.csv",
                    f"`unit_id,year,population`: only values accepted for training ({len(panel)} rows). "
                    "Each is one source value: nothing interpolated, summed or estimated here.",
                ],
                [
                    "units.csv",
                    f"{len(units)} towns; `unit_id` = English name as in population.csv; region = 2023 "
                    "boundaries; monotown attributes (coordinates, distances, industry) only for the 27 monotowns, "
                    "empty otherwise; `name_kk` from monotowns.csv or the BNS 2023 bulletin row label; `name_ru` from "
                    "monotowns.csv or an unambiguous ru.wikipedia title in a note; `scope` = scope of the series.",
                ],
                [
                    "regions.csv",
                    f"{len(reg)} region-years {reg.year.min()}-{reg.year.max()}: population on 1 January "
                    "(BNS regional series) plus avg_per_capita_nominal_cash_income (tenge/month, 2000-2020), "
                    "applied_to_employment_authorities (persons/year, 2001-2021), unemployment_rate (%) and "
                    "avg_monthly_nominal_wage (tenge) for 2022. Empty = no source value.",
                ],
                [
                    "country.csv",
                    f"Kazakhstan {cty.year.min()}-{cty.year.max()}: population (see caveats), "
                    "employment_rate and unemployment_rate (%).",
                ],
                [
                    "sources.csv",
                    "provenance of every value in panel/regions/country and of every population.csv "
                    "row not used: `status` used/excluded, `kind` census/estimate, `scope` (towns: city/administration/"
                    "unknown/urban_agglomeration; regions: boundary tag; country), `reason` for exclusions.",
                ],
            ],
        ),
        "",
        "## Counts",
        "",
        f"- towns: {len(units)}, monotowns: {len(mono)}, towns with panel data: {panel.unit_id.nunique()}",
        f"- panel observations: {len(panel)} ({kinds.get('census', 0)} census, {kinds.get('estimate', 0)} "
        f"estimate), years {panel.year.min()}-{panel.year.max()}",
        f"- population.csv rows: {len(pop)}: used {len(panel)}, excluded {len(exc)}:",
        "",
        md_table(["reason", "rows"], [[k, v] for k, v in by_cat.items()]),
        "",
        "Doubtful rows by matched label (a row can match several):",
        "",
        md_table(["label", "rows"], [[k, v] for k, v in doubt.value_counts().sort_index().items()]),
        "",
        "Observation years per monotown:",
        "",
        md_table(["monotown", "n", "years"], mono_rows),
        "",
        "## Rules as applied",
        "",
        "1. **Scope** (`choose_scope`): city proper wherever a town has >= 2 usable city years (all 89 do or "
        "have no alternative); `administration` only if the history exists only in that scope (none). "
        "`urban_agglomeration` (UN) rows are never used; `unknown` rows are used only if the note says which "
        "scope they match (none does; the 2024 Poletaev rows are labelled city with such a statement).",
        "2. **Doubtful** (`doubt_labels`, case-insensitive regex on `source_note`; 'scope not stated' is "
        f"cleared when the note says the magnitudes match the city rows `{SCOPE_MATCHES_CITY}`):",
        "",
        md_table(["label", "pattern"], [[lab, f"`{pat}`"] for lab, pat in DOUBT_PATTERNS]),
        "",
        "   Also doubtful: non-BNS values that are exact multiples of 100 unless equal to a BNS value "
        "(`looks_rounded`); all UN DYB 2006 figures (`un_2006_mixup`: for Atyrau, Ekibastuz, Kyzylorda, Oral, "
        "Rudny, Temirtau they sit 6-16 % above the 2004-2007 path at agglomeration magnitude - a scope mix-up "
        "found by the rule-5 check); rows whose note says 'see (note on) YYYY row' when that sibling row of "
        "the same source is doubtful. Rows before 1959 (one 1939 census value for Altai) are left out.",
        "3. **Conflicts** (`resolve_conflict`, same town and year): census before estimate (both carry the same "
        "integer year), then source tier: BNS bulletin / settlement list > en/ru Wikipedia and citypopulation.de "
        "(official census results) > other Wikipedia editions > UN DYB > other; then the value most rows agree "
        "on, then file order. Equal values are `duplicate of used row`, others `conflict: superseded by ...`.",
        "4. **Determinism**: rows sorted, integers without decimals, other numbers with up to 10 significant "
        "digits, no timestamps.",
        f"5. **Jump check** (`find_jumps`): consecutive used observations changing by more than "
        f"{JUMP_THRESHOLD:.0%}; see below.",
        "",
        "## Judgement calls",
        "",
        *[f"- {j}" for j in JUDGEMENT_CALLS],
        "",
        f"## Jumps > {JUMP_THRESHOLD:.0%} left in ({len(jumps)})",
        "",
        "None is a city/administration mix-up among used rows (all used rows are city proper); the one mix-up "
        "found (UN DYB 2006) is fixed by rule 2. The rest are real or definitional and documented here.",
        "",
        md_table(["town", "years", "values", "change", "reading"], jumps),
        "",
        "## Caveats",
        "",
        *[f"- {c}" for c in CAVEATS],
        *(
            [
                "- Region names: monotowns.csv `oblast_2023` differs from population.csv `oblast` (units.csv uses "
                "the population.csv / regions_annual.csv names): "
                + "; ".join(st["mismatches"])
                + "."
            ]
            if st["mismatches"]
            else []
        ),
        "",
    ]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data" / "kz")
    ap.add_argument("--out", type=Path, default=REPO / "data" / "kz_towns")
    args = ap.parse_args(argv)
    if not (args.shared / "population.csv").is_file():
        sys.exit(
            f"error: shared data folder not found or incomplete: {args.shared} "
            "(expected population.csv etc.; pass --shared PATH)"
        )
    s = build(args.shared, args.out)
    pop = s["pop"]
    print(f"towns: {len(s['units'])} (monotowns: {(s['units'].monotown == '1').sum()})")
    print(
        f"panel observations used: {len(s['panel'])}; population rows excluded: "
        f"{(pop.status == 'excluded').sum()} of {len(pop)}"
    )
    for cat, n in (
        pop[pop.status == "excluded"]
        .reason.map(reason_category)
        .value_counts()
        .sort_index()
        .items()
    ):
        print(f"  excluded {cat}: {n}")
    print(f"jumps > {JUMP_THRESHOLD:.0%} between consecutive used observations: {len(s['jumps'])}")
    for unit, y0, v0, y1, v1, ch in s["jumps"]:
        print(f"  {unit}: {y0} {v0} -> {y1} {v1} ({ch:+.0%})")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
