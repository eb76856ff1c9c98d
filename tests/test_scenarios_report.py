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
    assert p["robust"]["007"] == {"robust": False, "changed_by": ["cut (resettle)"]}
    assert p["robust"]["008"] == {"robust": True, "changed_by": []}
    assert [r["scenario"] for r in p["categories"]["007"]] == ["baseline", "cut"]
    assert set(p["labels"]) == {"en", "ru", "kk"}
