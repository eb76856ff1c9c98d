"""The policy in force, in words: its focus and the table of thresholds (every language)."""

from __future__ import annotations

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
