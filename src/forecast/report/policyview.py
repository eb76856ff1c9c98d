"""The policy in force, in words: its focus and the table of thresholds (every language)."""

from __future__ import annotations

import re
from collections.abc import Callable

from . import text as tx

Label = Callable[[str, str], str]
MISSING = object()

# (key in policy.json, how its value reads); agglomeration rows only when it is enabled
ROWS = (
    ("name", "plain"),
    ("horizon", "plain"),
    ("focus", "focus"),
    ("thresholds.decline_pct", "threshold"),
    ("thresholds.growth_pct", "threshold"),
    ("thresholds.employment_decline_pct", "threshold"),
    ("agglomeration.enabled", "yes_no"),
    ("agglomeration.max_distance_km", "km"),
    ("agglomeration.pole_min_growth_pct", "threshold"),
    ("resettle.min_probability", "share"),
    ("resettle.boundary_probability", "share"),
    ("resettle.require_interval_below", "yes_no"),
    ("diversify.min_probability", "share"),
    ("resettle.min_structural_share", "share"),
    ("resettle.structural_drivers", "drivers"),
    ("hysteresis_points", "points"),
)


def focus(policy: dict) -> dict | None:
    """{lang: words} for the policy's focus (None when every unit is categorised)."""
    f = policy.get("focus")
    if not isinstance(f, dict) or "attribute" not in f:
        return None
    attr, val = str(f["attribute"]), f.get("value")
    if tx.is_num(val) and float(val).is_integer():
        val = int(float(val))
    out = {}
    for lang in tx.LANGS:
        known = tx.ui(lang)["focus"].get(attr)
        out[lang] = known if known and val in (1, True, "1") else f"{attr} = {val}"
    return out


def _value(policy: dict, key: str):
    section, _, field = key.partition(".")
    if not field:
        return policy.get(section, MISSING)
    return (policy.get(section) or {}).get(field, MISSING)


def _words(kind: str, v, lang: str, policy: dict, label: Label) -> str:
    if kind == "plain":
        return "–" if v is None else str(v)
    if kind == "yes_no":
        return tx.ui(lang)["yes"] if v else tx.ui(lang)["no"]
    if kind == "threshold":
        return tx.threshold(v) if v is not None else "–"
    if kind == "km":
        return tx.km(v)
    if kind == "points":
        return tx.points(v, dec=1, sign=False)
    if kind == "share":
        return tx.share(v)
    if kind == "drivers":
        return ", ".join(label(str(x), lang) for x in (v or []))
    f = focus(policy)  # kind == "focus"
    return f[lang] if f else tx.ui(lang)["focus_all"]


def policy_rows(policy: dict, label: Label) -> list[dict]:
    """[{key, label{lang}, value{lang}}] for the settings in force."""
    if not policy:
        return []
    agglo = (policy.get("agglomeration") or {}).get("enabled", True)
    rows = []
    for key, kind in ROWS:
        if not agglo and key.startswith("agglomeration.") and key != "agglomeration.enabled":
            continue
        v = None if key == "focus" else _value(policy, key)
        if v is MISSING:
            continue
        rows.append(
            {
                "key": key,
                "label": {lang: tx.ui(lang)["policy_rows"].get(key, key) for lang in tx.LANGS},
                "value": {lang: _words(kind, v, lang, policy, label) for lang in tx.LANGS},
            }
        )
    return rows


# ---- the rule's track record (policy `record:`), in words ----------------------------------
SCORED = re.compile(r"origins (\d{4})\s*-\s*(\d{4}), outcomes to (\d{4})")


def _clauses(rec: dict, prefix: str, policy: dict, lang: str) -> list[str]:
    """The record's sentences for one group: resettle, flagged, diversify (keys with `prefix`)."""
    w = tx.ui(lang)["policy_record"]
    cat = {c: tx.category(c, lang) for c in ("resettle", "diversify")}
    thr = tx.abs_threshold((policy.get("thresholds") or {}).get("decline_pct"))
    out = []
    called, right = rec.get(prefix + "resettle_called"), rec.get(prefix + "resettle_precision")
    if tx.is_num(called) and called > 0 and tx.is_num(right):
        calls = tx.plural(called, w["calls"], lang)
        out.append(
            tx.fill(w["resettle"], n=tx.num(called), calls=calls, p=tx.share(right), thr=thr, **cat)
        )
    elif tx.is_num(called) and called == 0:
        never = (policy.get("resettle") or {}).get("min_probability")
        key = "resettle_never" if tx.is_num(never) and never >= 1 else "resettle_none"
        out.append(tx.fill(w[key], **cat))
    recall, fell = rec.get(prefix + "decliners_flagged_recall"), rec.get(prefix + "decliners")
    if tx.is_num(recall):
        key = "flagged_of" if tx.is_num(fell) else "flagged"
        out.append(tx.fill(w[key], p=tx.share(recall), n=tx.num(fell), thr=thr, **cat))
    called, right = rec.get(prefix + "diversify_called"), rec.get(prefix + "diversify_precision")
    if tx.is_num(called) and called > 0 and tx.is_num(right):
        calls = tx.plural(called, w["calls"], lang)
        out.append(tx.fill(w["diversify"], n=tx.num(called), calls=calls, p=tx.share(right), **cat))
    return out


def record_text(policy: dict) -> dict[str, list[str]] | None:
    """{lang: [paragraphs]} on the rule's record on origins not used to choose it, every number
    from the policy's `record:` block (as number tokens); None when the policy has no record.
    Keys `focus_*` in the record give the same figures for the policy's focus alone."""
    rec = (policy or {}).get("record")
    if not isinstance(rec, dict) or not rec:
        return None
    m = SCORED.search(str(rec.get("scored_on", "")))
    gap = rec.get("reliability_worst_gap_points")
    out = {}
    for lang in tx.LANGS:
        w = tx.ui(lang)["policy_record"]
        first = tx.fill(w["scored"], first=m[1], last=m[2], end=m[3]) if m else w["scored_plain"]
        main = [first, *_clauses(rec, "", policy, lang)]
        if tx.is_num(gap):
            main.append(tx.fill(w["gap"], gap=tx.points(gap, dec=0, sign=False)))
        paragraphs = [" ".join(main)]
        caveat = _clauses(rec, "focus_", policy, lang)
        f = focus(policy)
        if caveat and f:
            paragraphs.append(" ".join([tx.fill(w["focus"], focus=f[lang]), *caveat]))
        if rec.get("results"):
            paragraphs.append(tx.fill(w["details"], path=str(rec["results"])))
        out[lang] = paragraphs
    return out
