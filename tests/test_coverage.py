"""Coverage per backtest origin (the table the report's "Method and trust" page reads)."""

from __future__ import annotations

import pandas as pd
import pytest

from forecast.coverage import COLUMNS, coverage_by_origin


def test_coverage_by_origin_by_hand():
    rows = pd.DataFrame(
        {
            "target": "population",
            "origin": [2000, 2000, 2000, 2000, 2005],
            "horizon": 5,
            "actual": [100.0, 100.0, 100.0, 100.0, 100.0],
            "combined": [100.0, 110.0, 90.0, 100.0, 125.0],
            "lower": [95.0, 105.0, 85.0, 90.0, 110.0],
            "upper": [105.0, 115.0, 95.0, 110.0, 140.0],
        }
    )
    out = coverage_by_origin(rows)
    assert list(out.columns) == COLUMNS
    first, second = out.iloc[0], out.iloc[1]
    assert (first["origin"], first["n"], second["origin"], second["n"]) == (2000, 4, 2005, 1)
    assert first["coverage"] == 0.5  # rows 1 and 4 inside
    assert first["below"] == 0.25 and first["above"] == 0.25  # row 2 below, row 3 above
    assert first["mape"] == pytest.approx(5.0)
    assert second["coverage"] == 0.0 and second["bias_pct"] == pytest.approx(25.0)


def test_coverage_needs_the_interval_columns():
    with pytest.raises(ValueError, match=r"lack column\(s\) \['lower', 'upper'\]"):
        coverage_by_origin(
            pd.DataFrame({"target": [], "origin": [], "horizon": [], "actual": [], "combined": []})
        )


def test_pooled_coverage_ignores_rows_without_an_interval():
    """An origin without calibration (no interval) must not count as 'not covered'."""
    from forecast.backtest import metrics

    rows = pd.DataFrame(
        {
            "target": "employment",
            "origin": [1991, 1996],
            "horizon": 5,
            "unit_id": ["A", "A"],
            "p0": 100.0,
            "actual": 100.0,
            "combined": 100.0,
            "lower": [float("nan"), 90.0],
            "upper": [float("nan"), 110.0],
        }
    )
    row = metrics(rows, ["target", "horizon"], ("combined",)).iloc[0]
    assert row["coverage"] == 1.0 and row["n"] == 2
