"""The report's data: one JSON-ready dict built from a run folder.

The page's script draws every table and chart from this dict, so the HTML stays small for
3,000 units and the language switch is instant. Everything that is a *sentence* about a unit is
built here in both languages (see :mod:`.text`); the script only formats numbers and labels.
"""

from __future__ import annotations

import math
import re
from importlib import resources

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import ForecastError
from . import text as tx
from .rundir import RunFolder

CATEGORY_ORDER = ("diversify", "agglomerate", "stabilize", "resettle")
TABLE_HORIZONS = (5, 10)
SKIP_ATTRS = {"unit_id", "name", "name_ru", "name_kk", "region", "region_ru", "lat", "lon"}
TINY_PCT = 0.25  # drivers moving the forecast by less than this (pp) are pooled in the waterfall
# parts of every forecast that are not about the unit itself: left out of "main driver"
COMMON_DRIVERS = ("national_trend", "model_average", "total_control")


def _f(x, nd: int | None = None):
    """A JSON-safe number (None for missing), optionally rounded; whole numbers as int."""
    if not tx.is_num(x):
        return None
    v = float(x)
    if nd is not None:
        v = round(v, nd)
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def _s(x) -> str | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    s = str(x)
    return s if s.strip() and s != "nan" else None


def _driver_labels():
    """label(name, lang) for drivers, as forecast.explain.DriverMap.label does.

    Reads the same resources/drivers.yaml, but without importing forecast.explain (which
    imports shap and takes seconds): `forecast report` should be instant.
    """
    import sys

    import yaml

    dm = None
    explain = sys.modules.get("forecast.explain")
    if explain is not None:
        try:
            dm = explain.DriverMap.load()
        except (ForecastError, OSError, yaml.YAMLError):  # a broken drivers.yaml: no stop
            dm = None
    drivers, components = {}, {}
    if dm is None:
        try:
            raw = (
                yaml.safe_load(
                    resources.files("forecast")
                    .joinpath("resources/drivers.yaml")
                    .read_text("utf-8")
                )
                or {}
            )
            drivers = {
                d["name"]: d for d in raw.get("drivers", []) if isinstance(d, dict) and "name" in d
            }
            components = raw.get("components") or {}
        except (OSError, yaml.YAMLError, AttributeError, TypeError):  # broken: plain names
            pass

    def label(name: str, lang: str) -> str:
        if dm is not None:
            got = dm.label(name, lang)
        elif name in drivers:
            got = drivers[name].get(lang, drivers[name].get("en", name))
        else:
            got = (components.get(name) or {}).get(lang, name)
        if got and got != name:
            return got
        fallback = tx.ui(lang)["driver_fallback"]
        return fallback.get(name, name.replace("_", " "))

    return label


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


class _Run:
    """Convenience views of the run folder's tables."""

    def __init__(self, run: RunFolder):
        self.run = run
        self.cats = run.table("categories")
        self.policy = run.doc("policy")
        self.config = run.doc("config")
        self.meta = run.doc("run")
        self.target = str(self.policy.get("target") or "population")
        self.horizon = int(self.policy.get("horizon") or 10)
        lv = self.config.get("level")
        if not tx.is_num(lv):
            fc = run.table("forecasts")
            lv = (
                fc["level"].dropna().iloc[0]
                if fc is not None and "level" in fc and fc["level"].notna().any()
                else 0.8
            )
        self.level = float(lv)
        self.units = run.table("units")
        self.forecasts = self._forecasts()
        self.history = run.table("history")
        if self.history is not None and not {"unit_id", "year", "value"} <= set(self.history):
            self.history = None
        if self.history is not None and "target" not in self.history:
            self.history = self.history.assign(target=self.target)

    def _forecasts(self) -> pd.DataFrame | None:
        fc = self.run.table("forecasts")
        need = {"unit_id", "horizon", "year", "forecast"}
        if fc is None or not need <= set(fc):
            return None
        if "target" not in fc:
            fc = fc.assign(target=self.target)
        if "model" in fc and (fc["model"] == "combined").any():
            fc = fc[fc["model"] == "combined"]
        for c in ("lower", "upper"):
            if c not in fc:
                fc = fc.assign(**{c: np.nan})
        return fc.drop_duplicates(["unit_id", "target", "horizon"])


def build_payload(run: RunFolder) -> dict:
    r = _Run(run)
    label = _driver_labels()
    cats = r.cats
    dataset = str(r.meta.get("dataset") or run.path.parent.name or run.path.name)
    as_of = r.meta.get("as_of")
    if not tx.is_num(as_of) and r.forecasts is not None and "origin_year" in r.forecasts:
        as_of = r.forecasts["origin_year"].max()
    as_of = int(as_of) if tx.is_num(as_of) else None

    # names and regions per language
    units = r.units.set_index("unit_id") if r.units is not None and "unit_id" in r.units else None
    name_ru = {}
    by_name_ru = {}
    if units is not None and "name_ru" in units:
        name_ru = {k: v for k, v in units["name_ru"].items() if _s(v)}
        if "name" in units:
            by_name_ru = {
                str(n): v for n, v in zip(units["name"], units["name_ru"]) if _s(n) and _s(v)
            }
    region_ru = {}
    if units is not None and "region_ru" in units:
        region_ru = {k: v for k, v in units["region_ru"].items() if _s(v)}

    available_h = (
        sorted(r.forecasts.loc[r.forecasts["target"] == r.target, "horizon"].astype(int).unique())
        if r.forecasts is not None
        else []
    )
    table_h = [h for h in TABLE_HORIZONS if h in available_h]
    if not table_h and available_h:
        table_h = [r.horizon if r.horizon in available_h else available_h[-1]]

    fc_by = _forecast_series(r)
    hist_by, notes, sources = _history_series(r)
    latest_by = _latest(r)
    drivers_by = _drivers(r)
    targets = sorted(
        {t for (_, t) in fc_by} | {t for (_, t) in hist_by},
        key=lambda t: (t != r.target, t),
    )
    has_emp = any(t == "employment" for t in targets)

    out_units, series, coverage = [], {}, []
    for row in cats.to_dict("records"):
        uid = str(row["unit_id"])
        region = (
            _s(row.get("region"))
            or (
                _s(units.at[uid, "region"])
                if units is not None and uid in units.index and "region" in units
                else ""
            )
            or ""
        )
        name = (
            _s(row.get("name"))
            or (
                _s(units.at[uid, "name"])
                if units is not None and uid in units.index and "name" in units
                else uid
            )
            or uid
        )
        pole = _s(row.get("pole"))
        wf = drivers_by.get(uid, [])
        local = [d for d in wf if d["driver"] not in COMMON_DRIVERS]
        top3 = local[:3]
        national = next((d for d in wf if d["driver"] == "national_trend"), None)
        u = {
            "id": uid,
            "name": {"en": name, "ru": name_ru.get(uid, name)},
            "region": {lang: tx.region(region, lang, region_ru.get(uid)) for lang in tx.LANGS},
            "lat": None,
            "lon": None,
            "latest": _f(row.get("latest"), 0),
            "latest_year": int(row["latest_year"]) if tx.is_num(row.get("latest_year")) else None,
            "target_year": int(row["target_year"]) if tx.is_num(row.get("target_year")) else None,
            "forecast": _f(row.get("forecast"), 0),
            "change": _f(row.get("change_pct"), 3),
            "lower": _f(row.get("lower_pct"), 3),
            "upper": _f(row.get("upper_pct"), 3),
            "emp_change": _f(row.get("employment_change_pct"), 3),
            "cat": _s(row.get("category")) or "",
            "conf": _f(row.get("confidence"), 4),
            "runner": _s(row.get("runner_up")),
            "runner_conf": _f(row.get("runner_up_confidence"), 4),
            "boundary": tx._flag(row, "boundary"),
            "held": tx._flag(row, "held_by_hysteresis"),
            "prev": _s(row.get("previous_category")),
            "probs": {
                k: _f(row.get(f"p_{k}"), 4)
                for k in ("resettle", "stabilize", "diversify")
                if tx.is_num(row.get(f"p_{k}"))
            },
            "pole": None,
            "fc": {},
            "top": ({"driver": top3[0]["driver"], "pct": top3[0]["pct"]} if top3 else None),
            "wf": [[d["driver"], d["persons"], d["pct"]] for d in wf],
            "attrs": [],
            "text": {},
        }
        if pole and tx.is_num(row.get("pole_distance_km")):
            u["pole"] = {
                "name": {"en": pole, "ru": by_name_ru.get(pole, pole)},
                "dist": _f(row.get("pole_distance_km"), 1),
                "change": _f(row.get("pole_change_pct"), 3),
            }
        if units is not None and uid in units.index:
            urow = units.loc[uid]
            if isinstance(urow, pd.DataFrame):
                urow = urow.iloc[0]
            for c in ("lat", "lon"):
                if c in units:
                    u[c] = _f(urow[c], 5)
            u["attrs"] = _attrs(urow)
        for h in table_h:
            p = fc_by.get((uid, r.target), {}).get(h)
            if p:
                u["fc"][str(h)] = p
        for lang in tx.LANGS:
            top_lang = [(label(d["driver"], lang), d["pct"]) for d in top3]
            u["text"][lang] = tx.unit_sentences(
                row,
                r.policy,
                lang,
                level=r.level,
                driver_list=top_lang,
                national=national["pct"] if national else None,
                pole_label=(u["pole"]["name"][lang] if u["pole"] else pole),
            )
        s = {}
        for t in targets:
            entry = {}
            if (uid, t) in hist_by:
                entry["obs"] = hist_by[(uid, t)]
            if (uid, t) in fc_by:
                entry["fc"] = [[h, *v] for h, v in sorted(fc_by[(uid, t)].items())]
            if (uid, t) in latest_by:
                entry["latest"] = latest_by[(uid, t)]
            if entry:
                s[t] = entry
        series[uid] = s
        obs = hist_by.get((uid, r.target), [])
        if obs:
            kinds = [o[2] for o in obs]
            coverage.append(
                {
                    "id": uid,
                    "n": len(obs),
                    "census": kinds.count("census"),
                    "estimate": kinds.count("estimate"),
                    "years": _years_compact(o[0] for o in obs),
                }
            )
        out_units.append(u)

    level = r.level
    med_lo = med_hi = None
    if {"lower_pct", "upper_pct"} <= set(cats):
        med_lo = _f(cats["lower_pct"].median(), 2)
        med_hi = _f(cats["upper_pct"].median(), 2)
    target_year = (
        int(cats["target_year"].dropna().max())
        if "target_year" in cats and cats["target_year"].notna().any()
        else (as_of + r.horizon if as_of else None)
    )
    return {
        "meta": {
            "dataset": dataset,
            "dataset_title": {
                lang: tx.ui(lang)["datasets"].get(dataset, dataset) for lang in tx.LANGS
            },
            "as_of": as_of,
            "target_year": target_year,
            "digest": _s(r.meta.get("dataset_digest")),
            "version": _s(r.meta.get("package_version")) or __version__,
            "folder": run.path.name,
            "created": _created(run.path.name),
            "level": level,
            "horizon": r.horizon,
            "horizons": [int(h) for h in (r.config.get("horizons") or available_h)],
            "table_horizons": table_h,
            "target": r.target,
            "targets": targets,
            "has_emp": has_emp,
            "noun": _unit_kind(dataset),
            "focus": _focus(r.policy),
            "policy_name": _s(r.policy.get("name")),
            "thresholds": {
                "decline": _f((r.policy.get("thresholds") or {}).get("decline_pct")),
                "growth": _f((r.policy.get("thresholds") or {}).get("growth_pct")),
                "limit": _f((r.policy.get("agglomeration") or {}).get("max_distance_km")),
                "agglo": bool((r.policy.get("agglomeration") or {}).get("enabled", True)),
            },
            "tiny_pct": TINY_PCT,
            "median_lower": med_lo,
            "median_upper": med_hi,
            "problems": run.problems,
        },
        "i18n": {lang: tx.ui(lang) for lang in tx.LANGS},
        "languages": tx.i18n()["languages"],
        "category_order": list(CATEGORY_ORDER),
        "units": out_units,
        "driver_labels": {
            name: {lang: label(name, lang) for lang in tx.LANGS}
            for name in sorted({d["driver"] for wf in drivers_by.values() for d in wf})
        },
        "series": series,
        "notes": notes,
        "sources": sources,
        "coverage": coverage,
        "accuracy": _records(
            run.table("accuracy"),
            ["target", "horizon", "method", "n", "mape", "mdape", "malpe", "coverage", "width_pct"],
        ),
        "calibration": _records(
            run.table("interval_calibration"), ["target", "span", "size_class", "q_lo", "q_hi", "n"]
        ),
        "sensitivity": _records(
            run.table("sensitivity_summary"), ["threshold", "move", "unit", "units_changing"]
        ),
        "policy_rows": _policy_rows(r.policy, label),
        "warnings": {
            lang: [tx.data_warning(w, lang) for w in (r.meta.get("data_warnings") or [])]
            for lang in tx.LANGS
        },
    }


# ---- pieces -------------------------------------------------------------------------------
def _forecast_series(r: _Run) -> dict:
    """(unit, target) -> {horizon: [year, forecast, lower, upper]}."""
    out: dict = {}
    if r.forecasts is None:
        return out
    fc = r.forecasts
    cols = [
        fc[c].tolist()
        for c in ("unit_id", "target", "horizon", "year", "forecast", "lower", "upper")
    ]
    for uid, t, h, y, f, lo, hi in zip(*cols):
        if tx.is_num(h) and tx.is_num(y):
            out.setdefault((str(uid), str(t)), {})[int(h)] = [
                int(y),
                _f(f, 1),
                _f(lo, 1),
                _f(hi, 1),
            ]
    return out


def _history_series(r: _Run):
    """(unit, target) -> [[year, value, kind, source index, note index]], notes, sources."""
    out: dict = {}
    notes: list[str] = []
    sources: list[dict] = []
    h = r.history
    if h is None or h.empty:
        return out, notes, sources
    h = h[h["value"].notna()].sort_values(["unit_id", "target", "year"])
    kind = (
        h["kind"].fillna("").astype(str).str.lower()
        if "kind" in h
        else pd.Series("", index=h.index)
    )
    url = h["source_url"] if "source_url" in h else pd.Series(None, index=h.index)
    note = h["source_note"] if "source_note" in h else pd.Series(None, index=h.index)
    url_idx: dict[str, int] = {}
    note_idx: dict[str, int] = {}
    for uid, t, y, v, k, su, sn in zip(
        h["unit_id"], h["target"], h["year"], h["value"], kind, url, note
    ):
        su, sn = _s(su), _s(sn)
        si = ni = None
        if su:
            if su not in url_idx:
                url_idx[su] = len(sources)
                sources.append({"url": su, "n": 0})
            si = url_idx[su]
            sources[si]["n"] += 1
        if sn:
            if sn not in note_idx:
                note_idx[sn] = len(notes)
                notes.append(sn)
            ni = note_idx[sn]
        o = [int(y), _f(v, 1), k, si, ni]
        while o[-1] is None:  # trailing missing source and note: shorter JSON
            o.pop()
        out.setdefault((str(uid), str(t)), []).append(o)
    return out, notes, sources


def _latest(r: _Run) -> dict:
    out = {}
    if r.history is None:
        return out
    h = r.history[r.history["value"].notna()]
    idx = h.groupby(["unit_id", "target"])["year"].idxmax()
    for (uid, t), i in idx.items():
        out[(str(uid), str(t))] = [int(h.at[i, "year"]), _f(h.at[i, "value"], 1)]
    return out


def _drivers(r: _Run) -> dict:
    """unit -> [{driver, persons, pct}] at the policy horizon, largest first."""
    d = r.run.table("drivers")
    need = {"unit_id", "driver", "contribution_pct"}
    if d is None or not need <= set(d):
        return {}
    if "target" in d:
        d = d[d["target"] == r.target]
    if "horizon" in d:
        d = d[d["horizon"] == r.horizon]
    if "contribution_persons" not in d:
        d = d.assign(contribution_persons=np.nan)
    d = d[d["contribution_pct"].notna()]
    d = d.assign(a=-d["contribution_pct"].abs()).sort_values(["unit_id", "a"], kind="stable")
    out: dict = {}
    for uid, name, p, pp in zip(
        d["unit_id"].tolist(),
        d["driver"].tolist(),
        d["contribution_persons"].tolist(),
        d["contribution_pct"].tolist(),
    ):
        out.setdefault(str(uid), []).append(
            {"driver": str(name), "persons": _f(p, 1), "pct": _f(pp, 3)}
        )
    return out


def _attrs(urow: pd.Series) -> list:
    out = []
    for k, v in urow.items():
        if k in SKIP_ATTRS or _s(v) is None:
            continue
        if tx.is_num(v):
            fv = float(v)
            if fv in (0, 1) and (k == "monotown" or k.endswith("_dependent") or k == "metro"):
                out.append([k, bool(fv)])
            else:
                out.append([k, fv])
        else:
            out.append([k, str(v)])
    return out


def _focus(policy: dict) -> dict | None:
    f = policy.get("focus")
    if not isinstance(f, dict) or "attribute" not in f:
        return None
    attr, val = str(f["attribute"]), f.get("value")
    out = {}
    for lang in tx.LANGS:
        known = tx.ui(lang)["focus"].get(attr)
        v = val
        if tx.is_num(v) and float(v).is_integer():
            v = int(float(v))
        out[lang] = known if known and v in (1, True, "1") else f"{attr} = {v}"
    return out


def _records(df: pd.DataFrame | None, cols: list[str]) -> list[dict] | None:
    if df is None or df.empty:
        return None
    keep = [c for c in cols if c in df.columns] + [c for c in df.columns if c not in cols]
    rows = []
    for rec in df[keep].to_dict("records"):
        rows.append({k: (_f(v, 6) if tx.is_num(v) else _s(v)) for k, v in rec.items()})
    return rows


def _policy_rows(policy: dict, label) -> list[dict]:
    """[{key, label{en,ru}, value{en,ru}}] for the thresholds in force."""
    if not policy:
        return []
    rows = []

    def add(key: str, fmt):
        section, _, field = key.partition(".")
        if field:
            value = (policy.get(section) or {}).get(field, "__missing__")
        else:
            value = policy.get(section, "__missing__")
        if value == "__missing__":
            return
        rows.append(
            {
                "key": key,
                "label": {lang: tx.ui(lang)["policy_rows"].get(key, key) for lang in tx.LANGS},
                "value": {lang: fmt(value, lang) for lang in tx.LANGS},
            }
        )

    def plain(v, lang):
        return "–" if v is None else str(v)

    def yn(v, lang):
        return tx.ui(lang)["yes"] if v else tx.ui(lang)["no"]

    def thr(v, lang):
        return tx.threshold(v, lang) if v is not None else "–"

    def kmf(v, lang):
        return tx.km(v, lang)

    def pts(v, lang):
        return tx.points(v, lang, dec=1, sign=False)

    def sharef(v, lang):
        return tx.share(v, lang)

    def drivers(v, lang):
        return ", ".join(label(str(x), lang) for x in (v or []))

    def focus(v, lang):
        f = _focus(policy)
        return f[lang] if f else tx.ui(lang)["focus_all"]

    add("name", plain)
    add("horizon", plain)
    rows.append(
        {
            "key": "focus",
            "label": {lang: tx.ui(lang)["policy_rows"]["focus"] for lang in tx.LANGS},
            "value": {lang: focus(None, lang) for lang in tx.LANGS},
        }
    )
    add("thresholds.decline_pct", thr)
    add("thresholds.growth_pct", thr)
    add("thresholds.employment_decline_pct", thr)
    add("agglomeration.enabled", yn)
    if (policy.get("agglomeration") or {}).get("enabled", True):
        add("agglomeration.max_distance_km", kmf)
        add("agglomeration.pole_min_growth_pct", thr)
    add("resettle.require_interval_below", yn)
    add("resettle.min_structural_share", sharef)
    add("resettle.structural_drivers", drivers)
    add("hysteresis_points", pts)
    return rows
