"""The report's "track record of this rule" block: the policy file's `record:` in words.

The policies are the project's own files (experiments/); the run folder is the synthetic one of
tests/test_report.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from forecast.policy import load_policy
from forecast.report import text as tx
from forecast.report.html import render_report
from forecast.report.policyview import record_text

from .test_report import make_synthetic_run, payload_of

ROOT = Path(__file__).resolve().parents[1]


def _policy(name: str) -> dict:
    """A policy file as its run folder's policy.json holds it."""
    return json.loads(load_policy(ROOT / "experiments" / name).model_dump_json())


def _numbers(text: str) -> set[float]:
    return {x for _, x, _, _ in tx.tokens(text)}


def test_the_record_reads_in_every_language_with_the_files_numbers():
    policy = _policy("policy_kz_annual.yaml")
    rec = policy["record"]
    got = record_text(policy)
    assert set(got) == set(tx.LANGS)
    for lang, paragraphs in got.items():
        first = paragraphs[0]
        # every number is a token for numbers.js, and each comes from the policy file
        assert _numbers(first) == {
            rec["resettle_called"],
            rec["resettle_precision"],
            policy["thresholds"]["decline_pct"],  # shown as "10%" (absthr)
            rec["decliners_flagged_recall"],
            rec["diversify_called"],
            rec["diversify_precision"],
            rec["reliability_worst_gap_points"],
        }, lang
        # outside the tokens only the years of `scored_on` are written out
        bare = re.findall(r"\d+", tx.TOKEN.sub("", first))
        assert sorted(set(bare)) == ["2010", "2014", "2024"], (lang, first)
        assert "{" not in first and tx.category("resettle", lang) in first
        assert paragraphs[-1].endswith(rec["results"])
    assert got["en"][0].startswith("The rule was chosen on earlier years and then checked on ")
    assert "Из рекомендаций «Переселение» (всего " in got["ru"][0]
    assert "«Қоныс аудару» ұсынылған жағдайлардың (барлығы " in got["kk"][0]


def test_the_monotown_caveat_comes_from_the_focus_figures():
    policy = _policy("policy.yaml")
    rec = policy["record"]
    got = record_text(policy)
    for lang in tx.LANGS:
        assert len(got[lang]) == 3, lang  # the record, the monotowns alone, the results file
        caveat = got[lang][1]
        assert tx.ui(lang)["focus"]["monotown"] in caveat
        assert _numbers(caveat) == {
            rec["focus_resettle_called"],
            rec["focus_resettle_precision"],
            policy["thresholds"]["decline_pct"],  # shown as "10%" (absthr)
            rec["focus_decliners"],
            rec["focus_decliners_flagged_recall"],
            rec["focus_diversify_called"],
            rec["focus_diversify_precision"],
        }, lang
    # without a focus (every unit categorised) the focus figures have nothing to name
    assert len(record_text({**policy, "focus": None})["en"]) == 2
    # one call is one call: the monotowns' record has a single resettle call
    assert rec["focus_resettle_called"] == 1
    assert f"Of {tx.num(1.0)} “Resettle” call, " in got["en"][1]
    assert "“Diversify” was right" in got["en"][1] and " calls)." in got["en"][1]


def test_no_resettle_call_on_the_record_says_so_and_why():
    policy = _policy("policy_us_counties.yaml")
    assert policy["record"]["resettle_called"] == 0
    assert policy["resettle"]["min_probability"] == 1.0
    got = record_text(policy)
    assert "No “Resettle” call was made on the record: " in got["en"][0]
    assert "this rule never advises it." in got["en"][0]
    assert "не давалась ни разу" in got["ru"][0] and "никогда" in got["ru"][0]
    assert "бірде-бір рет ұсынылмады" in got["kk"][0] and "ешқашан" in got["kk"][0]
    for lang in tx.LANGS:  # "none called" is the file's word, not a number to show
        assert "none called" not in got[lang][0]
        assert policy["record"]["resettle_called"] not in _numbers(got[lang][0])
    # a threshold below 1 that made no call on the record does not claim "never"
    low = {**policy, "resettle": {**policy["resettle"], "min_probability": 0.9}}
    en = record_text(low)["en"][0]
    assert "No “Resettle” call was made on the record." in en and "never" not in en


@pytest.mark.parametrize("record", [None, {}])
def test_no_record_no_block(record):
    assert record_text({**_policy("policy.yaml"), "record": record}) is None
    assert record_text({}) is None


def test_the_payload_carries_the_record_only_when_the_policy_has_one(tmp_path: Path):
    folder = make_synthetic_run(tmp_path / "run")
    assert payload_of(render_report(folder))["policy_record"] is None
    plain = json.loads((folder / "policy.json").read_text(encoding="utf-8"))
    with_record = {**plain, "record": _policy("policy_kz_annual.yaml")["record"]}
    (folder / "policy.json").write_text(json.dumps(with_record), encoding="utf-8")
    data = payload_of(render_report(folder))
    assert data["policy_record"] == record_text(with_record)
    assert data["policy_record"]["ru"][0].startswith("Правило выбрано по более ранним годам")
    (folder / "policy.json").unlink()
    assert payload_of(render_report(folder))["policy_record"] is None
