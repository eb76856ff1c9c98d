"""Combination weights, the rolling-origin loop and the fitted forecaster's state."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from forecast import holdout
from forecast.combination import CombinationWeights, simplex
from forecast.engine import Forecaster
from forecast.io import read_dataset
from forecast.schema import Dataset

from .conftest import synthetic_panel, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")


def test_simplex_grid():
    g = simplex(2, 0.5)
    assert g.tolist() == [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]
    assert np.allclose(simplex(3, 0.1).sum(axis=1), 1.0) and len(simplex(3, 0.1)) == 66


def test_weights_go_to_the_accurate_member_then_shrink():
    """`model` is exact, `average` 10% too high: all weight on the model, then halfway to
    equal weights (shrinkage 0.5)."""
    res = pd.DataFrame(
        {"actual": [100.0, 200.0, 50.0], "span": [1, 1, 2], "model": [100.0, 200.0, 50.0]}
    ).assign(average=lambda d: d["actual"] * 1.1)
    cw = CombinationWeights(members=["model", "average"], step=0.1, shrinkage=0.5, min_cell=2)
    cw.fit(res)
    assert cw.weights_[-1].tolist() == pytest.approx([0.75, 0.25])
    assert set(cw.weights_) == {-1, 1}  # span 2 has 1 residual < min_cell: overall weights
    table = pd.DataFrame({"span": [1, 2, 3], "model": [100.0, 100.0, 100.0]}).assign(
        average=[121.0, np.nan, 121.0]
    )
    w = cw.weights(table)
    assert w.loc[1].tolist() == [1.0, 0.0]  # average missing there: renormalised
    expected = np.exp(0.75 * np.log(100.0) + 0.25 * np.log(121.0))
    assert cw.combine(table).tolist() == pytest.approx([expected, 100.0, expected])


def test_unfitted_weights_give_everything_to_the_first_member():
    cw = CombinationWeights(members=["model", "average"])
    table = pd.DataFrame({"span": [5], "model": [90.0], "average": [110.0]})
    assert cw.combine(table).tolist() == pytest.approx([90.0])


def test_unfitted_equal_weights_need_no_residuals():
    """shrinkage 1 (equal weights, kz_annual): the same weights before fit as after it."""
    table = pd.DataFrame({"span": [5], "model": [90.0], "average": [110.0]})
    cw = CombinationWeights(members=["model", "average"], shrinkage=1.0)
    assert cw.weights(table).loc[0].tolist() == [0.5, 0.5]
    assert cw.combine(table).tolist() == pytest.approx([np.sqrt(90.0 * 110.0)])
    half = CombinationWeights(members=["model", "average"], shrinkage=0.5)
    assert half.weights(table).loc[0].tolist() == [1.0, 0.0]  # unchanged below 1


def test_rolling_joins_outcomes_and_keeps_only_observed_cells(tmp_path):
    panel = pd.DataFrame(
        {"unit_id": ["A"] * 4 + ["B"] * 2, "year": [2000, 2001, 2002, 2004, 2000, 2001]}
    ).assign(population=[10.0, 11.0, 12.0, 14.0, 5.0, 6.0])
    units = pd.DataFrame({"unit_id": ["A", "B"], "name": ["A", "B"], "region": "R"})
    data = read_dataset(write_dataset(tmp_path / "d", panel, units))
    seen = []

    def fit_forecast(d: Dataset, origin: int, hs: list[int]) -> dict[str, pd.DataFrame]:
        seen.append((origin, hs))
        rows = [(u, origin + h, 1.0) for u in ("A", "B") for h in hs]
        return {"population": pd.DataFrame(rows, columns=["unit_id", "year", "forecast"])}

    out = holdout.rolling(data, [2000, 2001], [1, 3], fit_forecast)
    assert seen == [(2000, [1, 3]), (2001, [1, 3])]
    cells = list(zip(out["origin"], out["unit_id"], out["year"], out["actual"], strict=True))
    assert cells == [(2000, "A", 2001, 11.0), (2000, "B", 2001, 6.0), (2001, "A", 2002, 12.0),
                     (2001, "A", 2004, 14.0)]  # fmt: skip
    assert holdout.rolling(data, [2000], [1], fit_forecast, targets=["employment"]).empty


def test_fitted_forecaster_keeps_no_data_and_reads_the_data_it_is_given(tmp_path, fast_config):
    panel, units = synthetic_panel(n_units=30, seed=3)
    data = read_dataset(write_dataset(tmp_path / "s", panel, units))
    fc = Forecaster(config=fast_config).fit(data, 2005)
    for tf in fc.targets_.values():
        kept = [k for k, v in vars(tf).items() if isinstance(v, pd.DataFrame | Dataset)]
        assert kept == []
    blob = pickle.dumps(fc)
    assert len(blob) < 3 * len(pickle.dumps(fc.targets_["population"].model_))
    # the same fitted model on a panel whose latest values are 10% higher: forecasts follow
    bumped = panel.astype({"population": float})
    bumped.loc[bumped["year"] == 2005, "population"] *= 1.1
    data2 = read_dataset(write_dataset(tmp_path / "b", bumped, units))
    a = fc.forecast(data, [5]).table()
    b = pickle.loads(blob).forecast(data2, [5]).table()
    assert (b["forecast"] > a["forecast"]).all()
