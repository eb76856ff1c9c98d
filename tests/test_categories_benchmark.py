"""benchmarks/categories.py: the chosen values written into a policy file."""

from __future__ import annotations

import importlib.util

import pytest

from forecast.policy import Policy, Probability, load_policy

from .conftest import ROOT


def _bench():
    spec = importlib.util.spec_from_file_location(
        "cat_bench", ROOT / "benchmarks" / "categories.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def chosen() -> Policy:
    pol = load_policy(ROOT / "experiments" / "policy_kz_annual.yaml")
    pol.probability = Probability(
        bias=0.01, group_by="size_class", groups=[{"size_class": "250,000+", "scale": 0.9}]
    )
    pol.resettle.min_probability, pol.resettle.boundary_probability = 0.7, 0.4
    pol.diversify.min_probability = 0.66
    return pol


def test_chosen_values_replace_only_their_blocks(tmp_path):
    bench = _bench()
    path = tmp_path / "policy.yaml"
    original = (ROOT / "experiments" / "policy_kz_annual.yaml").read_text()
    path.write_text(original)
    values = bench.fit_values(chosen(), "synthetic test fit", {"resettle_called": 12})
    assert list(values) == ["probability", "resettle", "diversify", "current_state", "record"]
    bench.write_policy(path, values)
    got = load_policy(path)
    assert got.probability.bias == 0.01 and got.probability.group("250,000+").scale == 0.9
    assert got.probability.fitted_on == "synthetic test fit"
    assert (got.resettle.min_probability, got.resettle.boundary_probability) == (0.7, 0.4)
    assert got.diversify.min_probability == 0.66 and got.record == {"resettle_called": 12}
    text = path.read_text()
    # everything else is kept as it was, comments included
    assert "  precision_at: every_origin   # the precision must hold" in text
    assert got.rationale == load_policy(ROOT / "experiments" / "policy_kz_annual.yaml").rationale
    assert text.count("\nprobability:") == 1 and text.count("\nrecord:") == 1


def test_a_pooled_calibration_is_written_without_group_keys():
    pol = load_policy(ROOT / "experiments" / "policy_kz_annual.yaml")
    pooled = pol.probability.model_copy(update={"group_by": None, "groups": []})
    values = _bench().fit_values(pol.model_copy(update={"probability": pooled}), "x", {})
    assert "groups" not in values["probability"] and "group_by" not in values["probability"]


def test_values_that_make_no_valid_policy_are_not_written(tmp_path):
    bench = _bench()
    path = tmp_path / "policy.yaml"
    path.write_text((ROOT / "experiments" / "policy_kz_annual.yaml").read_text())
    before = path.read_text()
    values = bench.fit_values(chosen(), "x", {})
    values["resettle"]["boundary_probability"] = 0.9  # above min_probability 0.7
    with pytest.raises(SystemExit, match=r"policy.yaml: the chosen values do not make a valid "):
        bench.write_policy(path, values)
    assert path.read_text() == before
