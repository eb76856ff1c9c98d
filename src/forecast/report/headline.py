"""A unit's headline: the decision and the likely outcome, as two things.

The decision is the category the policy assigns. The likely outcome is the most probable of the
three outcome bands of the run's probabilities: a fall below the decline threshold, a change
between the thresholds, a change at or above the growth threshold. The number in a headline is
always the probability of the outcome it names (so it can never contradict the probabilities
shown beside it), never a "confidence" in the decision. Where the precautionary rule decides (a
likely fall, yet no resettlement), the headline says so, with the probability at which the rule
would propose resettlement: the policy's ``resettle.min_probability`` (the rule chosen by its
track record), or, for policies written before it, the whole likely range below the threshold,
i.e. a probability of at least (1 + level) / 2 of falling below it.
"""

from __future__ import annotations

from . import text as tx

OUTCOMES = ("decline", "mid", "growth")
# column names for each outcome's probability, newest first (issue 12 may rename them)
PROB_COLUMNS = {
    "decline": ("p_below_decline", "p_decline", "p_resettle"),
    "mid": ("p_between", "p_mid", "p_stabilize"),
    "growth": ("p_above_growth", "p_growth", "p_diversify"),
}


def outcome_probs(row: dict) -> dict[str, float] | None:
    """{decline, mid, growth} probabilities from a categories.csv row (None if absent)."""
    out: dict[str, float] = {}
    for key, cols in PROB_COLUMNS.items():
        v = next((row[c] for c in cols if tx.is_num(row.get(c))), None)
        if v is not None:
            out[key] = float(v)
    if "decline" in out and "growth" in out and "mid" not in out:
        out["mid"] = max(0.0, 1.0 - out["decline"] - out["growth"])
    return out if len(out) == 3 else None


def headline(row: dict, policy: dict, level: float) -> dict:
    """{decision, outcome, p, rule, p_rule} for one row of categories.csv."""
    probs = outcome_probs(row)
    cat = str(row.get("category") or "")
    out = {"decision": cat, "outcome": None, "p": None, "rule": None, "p_rule": None}
    if probs is None:
        return out
    best = max(OUTCOMES, key=lambda k: probs[k])
    out["outcome"], out["p"] = best, round(probs[best], 4)
    rs = policy.get("resettle") or {}
    if cat != "resettle" and best == "decline":
        if tx.is_num(rs.get("min_probability")) and not tx._flag(row, "probability_ok"):
            # the rule chosen by its track record: resettle from a stated probability of decline;
            # a threshold of 1 means no threshold was right often enough: never resettle
            p_rule = float(rs["min_probability"])
            out["rule"] = "never" if p_rule >= 1.0 else "probability"
            out["p_rule"] = None if p_rule >= 1.0 else round(p_rule, 4)
        elif rs.get("require_interval_below", True) and not tx._flag(row, "interval_ok"):
            # policies before the track-record rule: the whole likely range below the threshold
            out["rule"] = "interval"
            out["p_rule"] = round((1 + level) / 2, 4)
        elif "structural_ok" in row and not tx._flag(row, "structural_ok"):
            out["rule"] = "structural"
    return out


def headline_text(h: dict, row: dict, policy: dict, lang: str) -> str:
    """'Stabilize and monitor — a fall of more than 10% is 80% likely; resettlement is …'."""
    u = tx.ui(lang)
    th = policy.get("thresholds") or {}
    rs = policy.get("resettle") or {}
    text = u["decision"].get(h["decision"], tx.category(h["decision"], lang))
    if h["outcome"] is None:
        return text
    values = {
        "p": tx.share(h["p"]),
        "decline": tx.threshold(th.get("decline_pct")),
        "decline_abs": tx.abs_threshold(th.get("decline_pct")),
        "growth": tx.threshold(th.get("growth_pct")),
    }
    text += " — " + tx.fill(u["outcome"][h["outcome"]], **values)
    if h["rule"] in ("interval", "probability"):
        key = "rule_interval" if h["rule"] == "interval" else "rule_probability"
        text += "; " + tx.fill(u[key], p_rule=tx.share(h["p_rule"]), **values)
    elif h["rule"] == "never":
        text += "; " + tx.fill(u["rule_never"], **values)
    elif h["rule"] == "structural":
        text += "; " + tx.fill(
            u["rule_structural"],
            min=tx.share(rs.get("min_structural_share")),
            structural=tx.share(row.get("structural_share")),
        )
    return text + "."
