"""The report's data: one JSON-ready dict built from a run folder (schema ``SCHEMA_VERSION``).

The page's script draws every table and chart from this dict, so the HTML stays small for
3,000 units and the language switch is instant. Everything that is a *sentence* about a unit is
built here in every language (see :mod:`.text` and :mod:`.headline`), its numbers as tokens
that the page formats with ``numbers.js``, the one formatter of every number it shows. Every
record has named fields; the pieces read from the run folder are in :mod:`.runtables`.

Top-level keys: ``schema_version``, ``meta``, ``i18n``, ``languages``, ``category_order``,
``units`` (one per row of categories.csv), ``driver_labels``, ``series`` (unit -> target ->
``{obs, fc, latest}``; also for a unit whose employment stands in for a town's),
``components`` (unit -> the births, deaths and migration of each year, for units that have
them; see ``RunTables.components``), ``notes``, ``sources``, ``coverage``, ``accuracy``,
``coverage_by_origin`` (interval coverage per backtest origin and horizon, None without the file),
``calibration``, ``sensitivity``, ``policy_rows``, ``policy_record``, ``warnings``, ``map`` (region borders and growth points, or
None when the units are not in the bundled map's country).
"""

from __future__ import annotations

import re

import pandas as pd

from .. import __version__
from ..coverage import COLUMNS as COVERAGE_COLUMNS
from . import headline as hl
from . import names as nm
from . import text as tx
from .driverlabels import driver_labels
from .policyview import focus, policy_rows, record_text
from .rundir import RunFolder
from .runtables import RunTables, number, text
from .scenarios import scenario_payload

# 1: the first payload (positional arrays); 2: three languages, named fields everywhere,
# headline {decision, outcome, p, rule, p_rule}, outcome probabilities, map; 3: numbers in
# sentences as tokens (text.token), components of change, territory, jobs and comp sources
SCHEMA_VERSION = 3
CATEGORY_ORDER = ("diversify", "agglomerate", "stabilize", "resettle")
TABLE_HORIZONS = (5, 10)
SKIP_ATTRS = {"unit_id", "name", "name_ru", "name_kk", "region", "region_ru", "region_kk"}
SKIP_ATTRS |= {"lat", "lon", "territory", "parent_id", "stands_in_for"}  # shown as words
PLACE_ATTRS = {"nearest_city_250k", "region_centre"}  # values that are names of places
FLAG_ATTRS = {"monotown", "metro"}  # and every *_dependent column
TINY_PCT = 0.25  # drivers moving the forecast by less than this (pp) are pooled in the waterfall
# parts of every forecast that are not about the unit itself: left out of "main driver"
COMMON_DRIVERS = ("national_trend", "model_average", "total_control")


def build_payload(run: RunFolder) -> dict:
    """The report's data for a run folder."""
    r = RunTables(run)
    ctx = _Context(r)
    units, series, coverage, components = [], {}, [], {}
    for row in r.cats.to_dict("records"):
        uid = str(row["unit_id"])
        u = _unit(ctx, uid, row)
        units.append(u)
        series[uid] = _unit_series(ctx, uid)
        jobs = (u["jobs"] or {}).get("from")
        if jobs and jobs["id"] not in series:
            series[jobs["id"]] = _unit_series(ctx, jobs["id"], ["employment"])
        comp = (u["comp"] or {}).get("from")
        for cid in (uid, comp["id"] if comp else None):
            if cid in ctx.components:
                components[cid] = ctx.components[cid]
        cov = _coverage(uid, ctx.hist.get((uid, r.target), []))
        if cov:
            coverage.append(cov)
    return {
        "schema_version": SCHEMA_VERSION,
        "meta": _meta(ctx, run),
        "i18n": {lang: tx.ui(lang) for lang in tx.LANGS},
        "languages": tx.i18n()["languages"],
        "category_order": list(CATEGORY_ORDER),
        "units": units,
        "driver_labels": {
            name: {lang: ctx.label(name, lang) for lang in tx.LANGS}
            for name in sorted({d["driver"] for wf in ctx.drivers.values() for d in wf})
        },
        "series": series,
        "components": components,
        "notes": ctx.notes,
        "sources": ctx.sources,
        "coverage": coverage,
        "accuracy": r.records(
            "accuracy",
            ["target", "horizon", "method", "n", "mape", "mdape", "malpe", "coverage", "width_pct"],
        ),
        "coverage_by_origin": r.records("coverage_by_origin", COVERAGE_COLUMNS),
        "calibration": r.records(
            "interval_calibration", ["target", "span", "size_class", "q_lo", "q_hi", "n"]
        ),
        "sensitivity": r.records(
            "sensitivity_summary", ["threshold", "move", "unit", "units_changing"]
        ),
        "policy_rows": policy_rows(r.policy, ctx.label),
        "policy_record": record_text(r.policy),
        "warnings": _warnings(ctx),
        "map": _map(units),
        "scenarios": scenario_payload(run.path),
    }


class _Context:
    """What every unit's entry draws on, read once."""

    def __init__(self, r: RunTables):
        self.r = r
        self.label = driver_labels()
        self.names = nm.UnitNames(r.units)
        self.fc = r.forecast_series()
        self.hist, self.notes, self.sources = r.history_series()
        self.latest = r.latest()
        self.drivers = r.drivers()
        self.components = r.components()
        self.targets = sorted(
            {t for (_, t) in self.fc} | {t for (_, t) in self.hist},
            key=lambda t: (t != r.target, t),
        )
        available = r.horizons()
        self.table_h = [h for h in TABLE_HORIZONS if h in available]
        if not self.table_h and available:
            self.table_h = [r.horizon if r.horizon in available else available[-1]]
        self.available_h = available


# ---- one unit -----------------------------------------------------------------------------
def _unit(ctx: _Context, uid: str, row: dict) -> dict:
    r = ctx.r
    urow = r.unit_row(uid)
    name = text(row.get("name")) or (text(urow.get("name")) if urow is not None else None) or uid
    region = (
        text(row.get("region")) or (text(urow.get("region")) if urow is not None else None) or ""
    )
    wf = ctx.drivers.get(uid, [])
    local = [d for d in wf if d["driver"] not in COMMON_DRIVERS]
    u = {
        "id": uid,
        "name": ctx.names.unit(uid, name),
        "region": ctx.names.region(uid, region),
        "lat": number(urow.get("lat"), 5) if urow is not None else None,
        "lon": number(urow.get("lon"), 5) if urow is not None else None,
        **_numbers(row),
        "cat": text(row.get("category")) or "",
        "boundary": tx._flag(row, "boundary"),
        "held": tx._flag(row, "held_by_hysteresis"),
        "prev": text(row.get("previous_category")),
        "probs": _rounded(hl.outcome_probs(row)),
        "headline": hl.headline(row, r.policy, r.level),
        "pole": _pole(ctx, row),
        "fc": {str(h): p for h in ctx.table_h if (p := ctx.fc.get((uid, r.target), {}).get(h))},
        "top": {"driver": local[0]["driver"], "pct": local[0]["pct"]} if local else None,
        "wf": wf,
        "attrs": _attrs(urow, ctx.names) if urow is not None else [],
        "territory": text(row.get("territory")),
        "jobs": _jobs(ctx, uid, row),
        "comp": _components_source(ctx, uid, row),
    }
    u["text"] = _unit_text(ctx, row, u, local[:3], wf)
    return u


def _numbers(row: dict) -> dict:
    def year(key: str) -> int | None:
        return int(row[key]) if tx.is_num(row.get(key)) else None

    return {
        "latest": number(row.get("latest"), 0),
        "latest_year": year("latest_year"),
        "target_year": year("target_year"),
        "forecast": number(row.get("forecast"), 0),
        "change": number(row.get("change_pct"), 3),
        "lower": number(row.get("lower_pct"), 3),
        "upper": number(row.get("upper_pct"), 3),
        "emp_change": number(row.get("employment_change_pct"), 3),
    }


def _rounded(probs: dict | None) -> dict:
    """{decline, mid, growth} probabilities, rounded (empty without them)."""
    return {k: number(v, 4) for k, v in (probs or {}).items()}


def _pole(ctx: _Context, row: dict) -> dict | None:
    pole = text(row.get("pole"))
    if not pole or not tx.is_num(row.get("pole_distance_km")):
        return None
    return {
        "name": ctx.names.by_name(pole),
        "dist": number(row.get("pole_distance_km"), 1),
        "change": number(row.get("pole_change_pct"), 3),
    }


def _unit_text(ctx: _Context, row: dict, u: dict, top3: list[dict], wf: list[dict]) -> dict:
    """{lang: {decision, headline, range, reasons, crossed, sensitivity}}."""
    r = ctx.r
    national = next((d["pct"] for d in wf if d["driver"] == "national_trend"), None)
    parent = text(row.get("follows"))  # a nested town following its administration
    follows = ctx.names.unit(parent, text(row.get("follows_name"))) if parent else None
    out = {}
    for lang in tx.LANGS:
        out[lang] = tx.unit_sentences(
            row,
            r.policy,
            lang,
            level=r.level,
            driver_list=[(ctx.label(d["driver"], lang), d["pct"]) for d in top3],
            national=national,
            pole_label=u["pole"]["name"][lang] if u["pole"] else text(row.get("pole")),
            follows_label=follows[lang] if follows else None,
        )
        out[lang]["decision"] = hl.headline_text(u["headline"], row, r.policy, lang)
    return out


def _other(ctx: _Context, uid: str) -> dict:
    """Another unit named on a unit's page: {id, name{lang}, territory}."""
    urow = ctx.r.unit_row(uid)
    territory = text(urow.get("territory")) if urow is not None else None
    return {"id": uid, "name": ctx.names.unit(uid, None), "territory": territory}


def _jobs(ctx: _Context, uid: str, row: dict) -> dict | None:
    """Whose employment the page shows: {from: None} for the unit's own, {from: {id, name,
    territory}} for a larger territory standing in for the town (categories.csv's
    employment_unit), None without employment."""
    own = (uid, "employment") in ctx.fc or (uid, "employment") in ctx.hist
    other = text(row.get("employment_unit"))
    if other and other != uid and (other, "employment") in ctx.fc:
        return {"from": _other(ctx, other)}
    return {"from": None} if own else None


def _components_source(ctx: _Context, uid: str, row: dict) -> dict | None:
    """Whose births, deaths and migration the page shows: {from: None} for the unit's own,
    {from: {...}} when the unit has none: the other territory of the same town, else the
    territory whose employment stands in for the town (categories.csv's other_territory,
    employment_unit); None when none of them has any."""
    if uid in ctx.components:
        return {"from": None}
    for col in ("other_territory", "employment_unit"):
        other = text(row.get(col))
        if other and other in ctx.components:
            return {"from": _other(ctx, other)}
    return None


def _unit_series(ctx: _Context, uid: str, targets: list[str] | None = None) -> dict:
    """target -> {obs, fc, latest} for one unit (only the parts it has)."""
    out = {}
    for t in targets or ctx.targets:
        entry: dict = {}
        if (uid, t) in ctx.hist:
            entry["obs"] = ctx.hist[(uid, t)]
        if (uid, t) in ctx.fc:
            entry["fc"] = [{"h": h, **v} for h, v in sorted(ctx.fc[(uid, t)].items())]
        if (uid, t) in ctx.latest:
            entry["latest"] = ctx.latest[(uid, t)]
        if entry:
            out[t] = entry
    return out


def _coverage(uid: str, obs: list[dict]) -> dict | None:
    if not obs:
        return None
    kinds = [o["kind"] for o in obs]
    return {
        "id": uid,
        "n": len(obs),
        "census": kinds.count("census"),
        "estimate": kinds.count("estimate"),
        "years": _years_compact(o["year"] for o in obs),
    }


def _attrs(urow: pd.Series, names: nm.UnitNames) -> list[dict]:
    """[{key, flag | num | text{lang}}] for the unit's descriptive columns."""
    out: list[dict] = []
    for k, v in urow.items():
        if k in SKIP_ATTRS or text(v) is None:
            continue
        if tx.is_num(v):
            fv = float(v)
            if fv in (0, 1) and (k in FLAG_ATTRS or k.endswith("_dependent")):
                out.append({"key": k, "flag": bool(fv)})
            else:
                out.append({"key": k, "num": fv})
        elif k in PLACE_ATTRS:
            out.append({"key": k, "text": names.by_name(str(v))})
        else:
            out.append({"key": k, "text": nm.value(str(v))})
    return out


# ---- the run as a whole -------------------------------------------------------------------
def _warnings(ctx: _Context) -> dict[str, list[str]]:
    """run.json's data warnings in every language, units named in the language."""
    r = ctx.r
    ids = [str(i) for i in r.units.index] if r.units is not None else []
    out = {}
    for lang in tx.LANGS:
        names = {uid: ctx.names.unit(uid, None)[lang] for uid in ids}
        out[lang] = [tx.data_warning(w, lang, names) for w in (r.meta.get("data_warnings") or [])]
    return out


def _meta(ctx: _Context, run: RunFolder) -> dict:
    r = ctx.r
    cats = r.cats
    dataset = str(r.meta.get("dataset") or run.path.parent.name or run.path.name)
    as_of = r.as_of()
    th = r.policy.get("thresholds") or {}
    ag = r.policy.get("agglomeration") or {}
    has_range = {"lower_pct", "upper_pct"} <= set(cats)
    years = cats["target_year"].dropna() if "target_year" in cats else pd.Series(dtype=float)
    return {
        "dataset": dataset,
        "dataset_title": {lang: tx.ui(lang)["datasets"].get(dataset, dataset) for lang in tx.LANGS},
        "as_of": as_of,
        "target_year": int(years.max()) if len(years) else (as_of + r.horizon if as_of else None),
        "digest": text(r.meta.get("dataset_digest")),
        "version": text(r.meta.get("package_version")) or __version__,
        "folder": run.path.name,
        "created": _created(run.path.name),
        "level": r.level,
        "horizon": r.horizon,
        "horizons": [int(h) for h in (r.config.get("horizons") or ctx.available_h)],
        "table_horizons": ctx.table_h,
        "target": r.target,
        "targets": ctx.targets,
        "has_emp": "employment" in ctx.targets,
        "noun": _unit_kind(dataset),
        "focus": focus(r.policy),
        "policy_name": text(r.policy.get("name")),
        "thresholds": {
            "decline": number(th.get("decline_pct")),
            "growth": number(th.get("growth_pct")),
            "limit": number(ag.get("max_distance_km")),
            "agglo": bool(ag.get("enabled", True)),
        },
        "tiny_pct": TINY_PCT,
        "median_lower": number(cats["lower_pct"].median(), 2) if has_range else None,
        "median_upper": number(cats["upper_pct"].median(), 2) if has_range else None,
        "problems": run.problems,
    }


def _map(units: list[dict]) -> dict | None:
    """Region borders and growth points, when most located units lie inside the map."""
    data = nm.regions_map()
    sc = data["scale"]
    xs = [x / sc for reg in data["regions"] for ring in reg["rings"] for x in ring[0::2]]
    ys = [y / sc for reg in data["regions"] for ring in reg["rings"] for y in ring[1::2]]
    pts = [(u["lat"], u["lon"]) for u in units if u["lat"] is not None and u["lon"] is not None]
    inside = [p for p in pts if min(ys) <= p[0] <= max(ys) and min(xs) <= p[1] <= max(xs)]
    if not pts or len(inside) < len(pts) / 2:
        return None
    return {
        "source": data["source"],
        "scale": sc,
        "regions": [
            {"region": reg["region"], "name": nm.region(reg["region"]), "rings": reg["rings"]}
            for reg in data["regions"]
        ],
        "cities": [{**c, "label": nm.place(c["name"])} for c in nm.growth_points()],
    }


def _unit_kind(dataset: str) -> str:
    d = dataset.lower()
    if "count" in d:
        return "county"
    if "town" in d or "city" in d or "cities" in d:
        return "town"
    return "unit"


def _created(folder: str) -> str | None:
    m = re.match(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})", folder)
    return f"{m[1]}-{m[2]}-{m[3]} {m[4]}:{m[5]}" if m else None


def _years_compact(years) -> str:
    """[1999, 2009, 2019, 2020, 2021] -> '1999, 2009, 2019–2021'."""
    ys = sorted({int(y) for y in years})
    parts, i = [], 0
    while i < len(ys):
        j = i
        while j + 1 < len(ys) and ys[j + 1] == ys[j] + 1:
            j += 1
        parts.append(str(ys[i]) if j == i else f"{ys[i]}–{ys[j]}")
        i = j + 1
    return ", ".join(parts)
