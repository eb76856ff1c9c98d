"""The report's scenario data from a run folder (SYNTHETIC tables, for unit tests only)."""

from __future__ import annotations

import pandas as pd

from forecast.report.scenarios import scenario_payload


def test_no_scenarios_no_payload(tmp_path):
    assert scenario_payload(tmp_path) is None


def test_lines_categories_and_robustness(tmp_path):
    pd.DataFrame(
        {
            "scenario": ["cut", "cut"],
            "unit_id": ["007", "007"],
            "target": ["population", "population"],
            "year": [2027, 2026],
            "forecast": [90.0, 100.0],
            "lower": [80.0, 90.0],
            "upper": [99.0, 110.0],
        }
    ).to_csv(tmp_path / "scenarios.csv", index=False)
    pd.DataFrame(
        {
            "scenario": ["baseline", "baseline", "cut", "cut"],
            "unit_id": ["007", "008", "007", "008"],
            "category": ["stabilize", "diversify", "resettle", "diversify"],
            "confidence": [0.5, 0.7, 0.8, 0.7],
            "p_decline": [0.3, 0.1, 0.8, 0.1],
            "p_stabilize": [0.5, 0.2, 0.15, 0.2],
            "p_growth": [0.2, 0.7, 0.05, 0.7],
            "change_pct": [-5.0, 3.0, -20.0, 3.0],
            "changed": [False, False, True, False],
        }
    ).to_csv(tmp_path / "scenario_categories.csv", index=False)
    (tmp_path / "scenarios.yaml").write_text(
        "scenarios:\n  - name: cut\n    description: the plant cuts\n", encoding="utf-8"
    )
    p = scenario_payload(tmp_path)
    assert p["names"] == [{"name": "cut", "description": "the plant cuts"}]
    # ids keep their leading zeros; points are sorted by year
    assert p["lines"]["007"]["population"]["cut"] == [
        [2026, 100.0, 90.0, 110.0],
        [2027, 90.0, 80.0, 99.0],
    ]
    assert p["robust"]["007"] == {
        "robust": False,
        "changed_by": ["cut (resettle)"],
        "changes": [{"scenario": "cut", "category": "resettle"}],
    }
    assert p["robust"]["008"] == {"robust": True, "changed_by": [], "changes": []}
    assert [r["scenario"] for r in p["categories"]["007"]] == ["baseline", "cut"]
    assert set(p["labels"]) == {"en", "ru", "kk"}
    assert {frozenset(v) for v in p["labels"].values()} == {frozenset(p["labels"]["en"])}
    # under each scenario the outcome probabilities (as on the category card), not a confidence
    cut = p["categories"]["007"][1]
    assert (cut["p_decline"], cut["p_stabilize"], cut["p_growth"]) == (0.8, 0.15, 0.05)
    assert "confidence" not in cut


def test_a_run_without_probabilities_shows_none(tmp_path):
    """Scenario tables of older runs (before p_* columns): the cells stay empty."""
    pd.DataFrame(
        {"scenario": ["cut"], "unit_id": ["007"], "target": ["population"], "year": [2027]}
        | {"forecast": [90.0], "lower": [80.0], "upper": [99.0]}
    ).to_csv(tmp_path / "scenarios.csv", index=False)
    pd.DataFrame(
        {"scenario": ["baseline", "cut"], "unit_id": ["007", "007"]}
        | {"category": ["stabilize", "resettle"], "confidence": [0.5, 0.8]}
        | {"change_pct": [-5.0, -20.0], "changed": [False, True]}
    ).to_csv(tmp_path / "scenario_categories.csv", index=False)
    rows = scenario_payload(tmp_path)["categories"]["007"]
    assert rows[1]["p_decline"] is None and rows[1]["category"] == "resettle"
