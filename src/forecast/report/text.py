"""Words and numbers of the report, per language.

All wording lives in ``i18n.json`` (one block per language). Sentences about a unit are built
here from the structured columns of categories.csv and the thresholds in policy.json, with the
language's templates, rather than by translating the English ``reasons`` text. Numbers are not
formatted here: a sentence carries each number as a token (:func:`token`) that the page formats
in its language with the one formatter, ``numbers.js`` (Russian: no-break space between
thousands, decimal comma, space before %), as it formats every number it draws.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from importlib import resources

LANGS = ("en", "ru", "kk")


@lru_cache(maxsize=1)
def i18n() -> dict:
    text = resources.files("forecast").joinpath("report/i18n.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=8)
def ui(lang: str) -> dict:
    """The language's strings, with English filling any key the language lacks (do not mutate)."""
    data = i18n()
    out = dict(data["en"])
    if lang != "en":
        for k, v in data.get(lang, {}).items():
            out[k] = {**out[k], **v} if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def is_num(x) -> bool:
    try:
        return x is not None and not isinstance(x, bool) and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


# ---- numbers ------------------------------------------------------------------------------
# The page formats every number people read, in its language, in one place (numbers.js). A
# sentence written here carries each number as a token the page formats: ⟦kind|value|dec|sign⟧.
TOKEN = re.compile(r"\u27e6(\w+)\|([^|\u27e7]*)\|(\d*)\|(\+?)\u27e7")
KINDS = ("num", "pct", "share", "pts", "thr", "absthr", "km")  # as in numbers.js
MISSING = "–"


def token(kind: str, x, dec: int | None = None, sign: bool = False) -> str:
    """A number in a sentence, for the page to format: '⟦pct|-12.3|1|+⟧' ('–' if missing)."""
    if kind not in KINDS:
        raise ValueError(f"unknown number kind {kind!r} (one of {', '.join(KINDS)})")
    if not is_num(x):
        return MISSING
    return (
        f"\u27e6{kind}|{float(x)!r}|{'' if dec is None else int(dec)}|{'+' if sign else ''}\u27e7"
    )


def num(x, dec: int = 0, sign: bool = False) -> str:
    """A count or amount: 28560 -> '28,560' (en) / '28 560' (ru) on the page."""
    return token("num", x, dec, sign)


def pct(x, dec: int = 1, sign: bool = True) -> str:
    """A percentage change: -13.389 -> '−13.4%' (en) / '−13,4 %' (ru)."""
    return token("pct", x, dec, sign)


def share(x) -> str:
    """A probability or share in 0..1 as a whole percentage."""
    return token("share", x)


def points(x, dec: int = 1, sign: bool = True) -> str:
    """Percentage points."""
    return token("pts", x, dec, sign)


def km(x) -> str:
    return token("km", x)


def threshold(x) -> str:
    """A threshold in percent: '+0%', '−10%' (one decimal only when needed)."""
    return token("thr", x)


def abs_threshold(x) -> str:
    """A threshold without its sign: -10 -> '10%' (for 'a fall of more than 10%')."""
    return token("absthr", x)


def tokens(text: str) -> list[tuple[str, float, int | None, bool]]:
    """The numbers a sentence carries: [(kind, value, decimals, sign)], in order."""
    return [(k, float(x), int(d) if d else None, sg == "+") for k, x, d, sg in TOKEN.findall(text)]


def plural(n: int, forms: dict, lang: str) -> str:
    """forms: {'one','few','many'} (ru) or {'one','many'} (en, kk: a noun after a numeral
    stays singular in Kazakh, so its two forms are the same word)."""
    n = abs(int(n))
    if lang == "ru":
        if n % 10 == 1 and n % 100 != 11:
            key = "one"
        elif 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            key = "few"
        else:
            key = "many"
    else:
        key = "one" if n == 1 else "many"
    return forms.get(key) or forms.get("many") or ""


def fill(template: str, **values) -> str:
    """str.format that leaves unknown fields visible instead of failing."""

    class Safe(dict):
        def __missing__(self, key):
            return "{" + key + "}"

    return template.format_map(Safe(values))


# ---- names ------------------------------------------------------------------------------
def category(name, lang: str) -> str:
    return ui(lang)["categories"].get(str(name), str(name))


# ---- sentences about one unit -------------------------------------------------------------
def _get(r: dict, key):
    v = r.get(key)
    return v if is_num(v) else None


def _flag(r: dict, key) -> bool:
    v = r.get(key)
    if isinstance(v, str):
        return v.strip().lower() == "true"
    return bool(v) if v is not None and not (isinstance(v, float) and math.isnan(v)) else False


def unit_sentences(
    r: dict,
    policy: dict,
    lang: str,
    *,
    level: float,
    driver_list: list[tuple[str, float]],
    pole_label: str | None,
    national: float | None = None,
    follows_label: str | None = None,
) -> dict:
    """{headline, range, reasons[], crossed[], sensitivity[]} for one row of categories.csv.

    `driver_list` is the top drivers as (label in this language, percentage points), without
    the parts common to every unit; `national` is the national trend's part, in points;
    `follows_label` the name (in this language) of the administration a nested town follows
    (categories.csv's `follows`).
    """
    s = ui(lang)["s"]
    th = policy.get("thresholds", {}) or {}
    ag = policy.get("agglomeration", {}) or {}
    rs = policy.get("resettle", {}) or {}
    decline, growth = th.get("decline_pct"), th.get("growth_pct")
    emp_thr = th.get("employment_decline_pct")
    change = _get(r, "change_pct")
    lo_pct, hi_pct = _get(r, "lower_pct"), _get(r, "upper_pct")
    latest = _get(r, "latest")
    cat = str(r.get("category", ""))
    f = {
        "latest": num(latest),
        "latest_year": _year(r.get("latest_year")),
        "forecast": num(_get(r, "forecast")),
        "target_year": _year(r.get("target_year")),
        "change": pct(change),
        "lo_pct": pct(lo_pct),
        "hi_pct": pct(hi_pct),
        "lo": num(latest * (1 + lo_pct / 100)) if latest and lo_pct is not None else "–",
        "hi": num(latest * (1 + hi_pct / 100)) if latest and hi_pct is not None else "–",
        "level": share(level),
        "decline": threshold(decline),
        "growth": threshold(growth),
        "emp": pct(_get(r, "employment_change_pct")),
        "emp_thr": threshold(emp_thr),
        "pole": pole_label or str(r.get("pole") or ""),
        "dist": km(_get(r, "pole_distance_km")),
        "limit": km(ag.get("max_distance_km")),
        "pole_change": pct(_get(r, "pole_change_pct")),
        "pole_min": threshold(ag.get("pole_min_growth_pct")),
        "structural": share(_get(r, "structural_share")),
        "structural_min": share(rs.get("min_structural_share")),
        "p_decline": share(_get(r, "p_decline")),
        "p_rule": share(rs.get("min_probability")),
    }
    # the rule chosen by its track record reads a probability of decline (policies before it:
    # the whole likely range below the threshold); the reasons say which one decided
    by_probability = is_num(rs.get("min_probability")) and _get(r, "p_decline") is not None
    headline = fill(s["headline"], **f) if change is not None and latest is not None else ""
    out = {"headline": headline, "range": "", "reasons": [], "crossed": []}
    if lo_pct is not None and hi_pct is not None:
        out["range"] = fill(s["range"], **f)

    reasons = out["reasons"]
    if change is not None and is_num(decline) and is_num(growth):
        if change >= growth:
            reasons.append(fill(s["pos_growth"], **f))
        elif change < decline:
            reasons.append(fill(s["pos_decline"], **f))
        else:
            reasons.append(fill(s["pos_between"], **f))
    boundary = _flag(r, "boundary")
    if cat == "agglomerate":
        reasons.append(fill(s["agglomerate"], **f))
        if r.get("runner_up"):
            reasons.append(fill(s["agglomerate_band"], band=category(r["runner_up"], lang)))
    elif cat == "resettle":
        reasons.append(fill(s["resettle_p" if by_probability else "resettle"], **f))
    if boundary:
        if by_probability and "probability_ok" in r and not _flag(r, "probability_ok"):
            never = float(rs["min_probability"]) >= 1.0  # no threshold held on the record
            reasons.append(fill(s["boundary_never" if never else "boundary_p"], **f))
        elif "interval_ok" in r and not _flag(r, "interval_ok"):
            reasons.append(fill(s["boundary_interval"], **f))
        else:
            reasons.append(fill(s["boundary_structural"], **f))
    if (
        cat == "stabilize"
        and _flag(r, "jobs_collapse")
        and change is not None
        and is_num(growth)
        and change >= growth
    ):
        reasons.append(fill(s["jobs"], **f))
    parent = r.get("follows")
    if isinstance(parent, str) and parent:
        kind = r.get("follows_territory")
        kinds = ui(lang).get("territories_short", {})
        reasons.append(
            fill(
                s["follows"],
                parent=follows_label or str(r.get("follows_name") or parent),
                territory=kinds.get(kind, "") if isinstance(kind, str) else "",
                parent_change=pct(_get(r, "follows_change_pct")),
                target_year=f["target_year"],
            )
        )
    prev = r.get("previous_category")
    if isinstance(prev, str) and prev:
        if _flag(r, "held_by_hysteresis"):
            reasons.append(
                fill(
                    s["hysteresis"],
                    prev=category(prev, lang),
                    points=points(policy.get("hysteresis_points"), sign=False),
                )
            )
        elif prev != cat:
            reasons.append(fill(s["previous"], prev=category(prev, lang)))
    if driver_list:
        items = ", ".join(f"{label} ({points(pp)})" for label, pp in driver_list)
        if is_num(national) and abs(float(national)) >= 0.05:
            reasons.append(fill(s["drivers_national"], list=items, national=points(national)))
        else:
            reasons.append(fill(s["drivers"], list=items))

    crossed = out["crossed"]
    if change is not None:
        for key, thr in (("cr_decline", decline), ("cr_growth", growth)):
            if is_num(thr):
                d = change - float(thr)
                crossed.append(
                    fill(
                        s[key],
                        thr=threshold(thr),
                        change=f["change"],
                        diff=points(abs(d), sign=False),
                        side=s["side_above"] if d >= 0 else s["side_below"],
                    )
                )
        if hi_pct is not None and is_num(decline) and change < decline:
            crossed.append(fill(s["cr_upper"], hi_pct=f["hi_pct"], thr=f["decline"]))
        if (
            is_num(r.get("structural_share"))
            and is_num(decline)
            and change < decline
            and is_num(rs.get("min_structural_share"))
        ):
            crossed.append(fill(s["cr_structural"], share=f["structural"], min=f["structural_min"]))
    if _get(r, "pole_distance_km") is not None and ag.get("enabled", True):
        crossed.append(fill(s["cr_pole"], min=f["pole_min"], **f))
    if _get(r, "employment_change_pct") is not None and is_num(emp_thr):
        crossed.append(fill(s["cr_jobs"], emp=f["emp"], thr=f["emp_thr"]))
    out["sensitivity"] = sensitivity(r.get("sensitivity"), policy, lang)
    return out


SENS = re.compile(r"^\s*([\w.]+)\s+([+-]?[\d.]+)\s+(points|km)\s*->\s*(\w+)\s*$")


def sensitivity(text, policy: dict, lang: str) -> list[str]:
    """policy.sensitivity strings ('thresholds.growth_pct +7 points -> stabilize') in words."""
    u = ui(lang)
    s = u["s"]
    if not isinstance(text, str) or not text.strip():
        return [fill(s["sens_none"], max=points(policy.get("sensitivity_max_points"), 0, False))]
    out = []
    for part in text.split(";"):
        m = SENS.match(part)
        if not m:
            out.append(part.strip())
            continue
        key, delta, unit, cat = m.group(1), float(m.group(2)), m.group(3), m.group(4)
        section, _, field = key.partition(".")
        old = (policy.get(section) or {}).get(field)
        what = u["thresholds"].get(key, key)
        if unit == "km":
            d_txt, old_txt = km(abs(delta)), km(old)
            new_txt = km(old + delta) if is_num(old) else "–"
        else:
            d_txt = points(abs(delta), dec=1 if delta % 1 else 0, sign=False)
            old_txt = threshold(old)
            new_txt = threshold(old + delta) if is_num(old) else "–"
        out.append(
            fill(
                s["sens"],
                what=what,
                dir=s["dir_up"] if delta > 0 else s["dir_down"],
                delta=d_txt,
                old=old_txt,
                new=new_txt,
                cat=category(cat, lang),
            )
        )
    return out


WARN = re.compile(
    r"^unit (?P<unit>.+?): (?P<target>\w+) changes by more than (?P<thr>\d+)% between "
    r"consecutive observations \((?P<list>.*)\); check for a boundary or definition change$"
)


def data_warning(text: str, lang: str, names: dict[str, str] | None = None) -> str:
    """A suspicious-jump warning from run.json in the language (the raw text if unknown);
    `names` maps a unit id to its name in the language."""
    m = WARN.match(str(text))
    if not m or lang == "en":
        return str(text)
    u = ui(lang)
    steps = m.group("list").replace("->", "→")
    steps = re.sub(r"([+-]\d+)%", lambda g: pct(int(g[1]), 0), steps)
    unit = m.group("unit")
    return fill(
        u["s"]["jump"],
        unit=(names or {}).get(unit, unit),
        target=u["targets"].get(m.group("target"), m.group("target")),
        thr=m.group("thr"),
        list=steps,
    )


def _year(v) -> str:
    return str(int(float(v))) if is_num(v) else "–"
