"""The report's numbers: one formatter (numbers.js) for everything people read.

The Python side writes sentences with number tokens and never formats a number itself; the
page formats the tokens and every number it draws with numbers.js. These tests run numbers.js
in node, on tokens the Python side writes."""

from __future__ import annotations

import pytest

from forecast.report import text as tx

from .jsnumbers import needs_node, render, run_numbers_js

MINUS, NBSP = "\u2212", "\u00a0"


@needs_node
def test_number_formats_per_locale():
    cases = [
        (tx.num(28560), {"en": "28,560", "ru": f"28{NBSP}560", "kk": f"28{NBSP}560"}),
        (tx.num(28560.5, 1), {"en": "28,560.5", "ru": f"28{NBSP}560,5", "kk": f"28{NBSP}560,5"}),
        (tx.num(-1234567), {"en": f"{MINUS}1,234,567", "ru": f"{MINUS}1{NBSP}234{NBSP}567"}),
        (
            tx.pct(-13.389),
            {"en": f"{MINUS}13.4%", "ru": f"{MINUS}13,4{NBSP}%", "kk": f"{MINUS}13,4%"},
        ),
        (tx.pct(-12.0), {"kk": f"{MINUS}12,0%"}),
        (tx.pct(0.04), {"en": "0.0%"}),
        (tx.pct(-0.04), {"en": "0.0%"}),  # no minus on a number that rounds to zero
        (tx.pct(7.25, 0), {"en": "+7%"}),
        (tx.threshold(0.0), {"en": "+0%", "kk": "+0%"}),
        (tx.threshold(-10.0), {"en": f"{MINUS}10%", "ru": f"{MINUS}10{NBSP}%"}),
        (tx.threshold(-7.5), {"en": f"{MINUS}7.5%"}),
        (tx.abs_threshold(-10), {"kk": "10%", "en": "10%"}),
        (tx.share(0.709), {"ru": f"71{NBSP}%", "en": "71%"}),
        (tx.share(0.9), {"kk": "90%", "ru": f"90{NBSP}%"}),
        (tx.points(3, 0, sign=False), {"ru": f"3{NBSP}п.{NBSP}п.", "en": f"3{NBSP}pp"}),
        (tx.points(-4.26), {"en": f"{MINUS}4.3{NBSP}pp", "kk": f"{MINUS}4,3{NBSP}п.т."}),
        (tx.km(79.4), {"en": f"79{NBSP}km", "ru": f"79{NBSP}км"}),
    ]
    texts = [tok for tok, _ in cases]
    out = run_numbers_js(texts)["texts"]
    for i, (tok, want) in enumerate(cases):
        for lang, expected in want.items():
            assert out[lang][i] == expected, (tok, lang, out[lang][i])


@needs_node
def test_tokens_inside_a_sentence_and_an_unknown_kind():
    sentence = f"from {tx.num(171200)} to {tx.num(155724)}: {tx.pct(-9.04)}."
    assert render([sentence], "ru") == [f"from 171{NBSP}200 to 155{NBSP}724: {MINUS}9,0{NBSP}%."]
    # a token of a kind the page does not know stays visible rather than vanishing
    assert render(["x \u27e6foo|1.0|0|\u27e7 y"], "en") == ["x \u27e6foo|1.0|0|\u27e7 y"]


@needs_node
def test_the_two_sides_know_the_same_kinds():
    assert tuple(run_numbers_js([])["kinds"]) == tx.KINDS


def test_python_writes_tokens_not_formatted_numbers():
    assert tx.pct(-13.389) == "\u27e6pct|-13.389|1|+\u27e7"
    assert tx.tokens(f"a {tx.num(5)} b {tx.share(0.25)}") == [
        ("num", 5.0, 0, False),
        ("share", 0.25, None, False),
    ]
    for missing in (None, float("nan"), float("inf"), "text"):
        assert tx.num(missing) == "–" and tx.pct(missing) == "–"
    with pytest.raises(ValueError, match="unknown number kind 'money'"):
        tx.token("money", 1.0)
