"""SHAP explanations: additivity that can fail, exact decomposition, drivers from a file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import explain as ex
from forecast.engine import Forecaster
from forecast.errors import ConfigError
from forecast.facts import latest_observations
from forecast.io import read_dataset

from .conftest import fast_engine_config, synthetic_panel, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    cfg = fast_engine_config()
    panel, units = synthetic_panel(n_units=50, seed=8, employment=True)
    data = read_dataset(write_dataset(tmp_path_factory.mktemp("x") / "d", panel, units))
    fc = Forecaster(config=cfg).fit(data, 2005)
    return data, fc, fc.forecast(data, [1, 5, 10])


def test_additivity_holds_on_real_models(fitted):
    _, fc, points = fitted
    expl = ex.explain(fc, points)
    assert set(expl["target"]) == {"population", "employment"}
    assert expl["driver"].notna().all()


def test_additivity_check_fails_on_a_corrupted_model(fitted, monkeypatch):
    """The forecast used a model output that the trees (and so SHAP) do not reproduce."""
    data, fc, _ = fitted
    model = fc.targets_["population"].model_
    real = model.predict
    monkeypatch.setattr(model, "predict", lambda X: real(X) + 1e-3)
    corrupted = fc.forecast(data, [1, 5, 10]).targets["population"]
    with pytest.raises(ex.AdditivityError, match="SHAP additivity failed: .* tolerance 1e-06"):
        ex.explain_target(model, corrupted, ex.DriverMap.load())


def test_decomposition_check_fails_when_a_part_is_lost(fitted):
    data, fc, points = fitted
    expl = ex.explain(fc, points)
    dropped = expl[expl["feature"] != "baseline_methods"]
    with pytest.raises(ex.AdditivityError, match="do not add up to the forecast"):
        ex.check_decomposition(dropped, points.table(), latest_observations(data.up_to(2005)))


def test_check_additivity_tolerance_is_real():
    values = np.array([[0.1, 0.2], [0.3, -0.1]])
    ex.check_additivity(values, [0.5, 0.5], [0.8, 0.7])
    with pytest.raises(ex.AdditivityError):
        ex.check_additivity(values, [0.5, 0.5], [0.8, 0.71])


def test_parts_add_up_to_the_forecast(fitted):
    data, fc, points = fitted
    expl = ex.explain(fc, points)
    forecasts = points.table()
    worst = ex.check_decomposition(expl, forecasts, latest_observations(data.up_to(2005)))
    assert worst < 1e-6
    # percentage points and persons add up to the forecast change too
    one = expl[
        (expl["unit_id"] == "SYN001") & (expl["target"] == "population") & (expl["horizon"] == 10)
    ]
    f = forecasts.query("unit_id == 'SYN001' and target == 'population' and horizon == 10")
    latest = data.panel.query("unit_id == 'SYN001' and year == 2005")["population"].iloc[0]
    change = f["forecast"].iloc[0] / latest - 1
    assert one["contribution_pct"].sum() == pytest.approx(100 * change, abs=1e-6)
    assert one["contribution_persons"].sum() == pytest.approx(
        f["forecast"].iloc[0] - latest, abs=1e-3
    )
    assert {"model_average", "national_trend", "baseline_methods"} <= set(one["feature"])


def test_driver_mapping_is_data(tmp_path):
    path = tmp_path / "drivers.yaml"
    path.write_text(
        "drivers:\n  - name: trend\n    features: ['{t}_growth_*']\n"
        "  - name: everything_else\n    features: ['*']\n"
    )
    dm = ex.DriverMap.load(path)
    assert dm.driver("pop_growth_10y", "population") == "trend"
    assert dm.driver("emp_growth_10y", "population") == "everything_else"
    assert dm.driver("emp_growth_10y", "employment") == "trend"


def test_driver_mapping_errors_are_named(tmp_path):
    path = tmp_path / "drivers.yaml"
    path.write_text("drivers: {trend: x}\n")
    with pytest.raises(ConfigError, match="'drivers' must be a list of {name, features} entries"):
        ex.DriverMap.load(path)


def test_default_mapping_names_the_usual_features():
    dm = ex.DriverMap.load()
    assert dm.driver("pop_rel_growth_20y", "population") == "long_run_trend"
    assert dm.driver("pop_growth_3y", "population") == "recent_change"
    assert dm.driver("dist_nearest_250k_km", "population") == "distance_to_city"
    assert dm.driver("emp_growth_5y", "population") == "employment_growth"
    assert dm.driver("emp_to_pop_log", "population") == "labour_market"
    assert dm.driver("natural_increase_rate_5y", "population") == "natural_increase"
    assert dm.driver("births_share", "population") == "natural_increase"
    assert dm.driver("net_migration_rate", "employment") == "net_migration"
    assert dm.driver("wage_rel_region_log", "population") == "wages"
    assert dm.label("net_migration", "ru") == "миграционный прирост (прибывшие минус выбывшие)"
    assert dm.driver("pop_growth_5y", "employment") == "population_dynamics"
    assert dm.label("distance_to_city", "ru") == "удалённость от крупного города"


def test_global_importance_by_hand():
    """Two units, two drivers: the mean absolute contribution per driver, largest first."""
    rows = [
        ("A", "trend", "pop_growth_10y", 0.2),
        ("B", "trend", "pop_growth_10y", -0.4),
        ("A", "size", "pop_log", 0.1),
        ("B", "size", "pop_log", 0.1),
    ]
    expl = pd.DataFrame(
        {
            "unit_id": [r[0] for r in rows],
            "target": "population",
            "horizon": 5,
            "year": 2030,
            "driver": [r[1] for r in rows],
            "feature": [r[2] for r in rows],
            "contribution_log": [r[3] for r in rows],
            "contribution_pct": 0.0,
            "contribution_persons": 0.0,
        }
    )
    imp = ex.global_importance(expl)
    assert imp["driver"].tolist() == ["trend", "size"]
    np.testing.assert_allclose(imp["mean_abs_contribution_log"], [0.3, 0.1])


def test_dependence_bins_every_row_once(fitted):
    _, fc, points = fitted
    expl = ex.explain(fc, points)
    dep = ex.dependence(expl, top=3)
    assert set(dep["target"]) == {"population", "employment"}
    assert dep.groupby(["target", "feature"]).ngroups == 6
    feats = expl[~expl["feature"].isin(ex.COMPONENTS)]
    for (target, feature), g in dep.groupby(["target", "feature"]):
        rows = feats[(feats["target"] == target) & (feats["feature"] == feature)]
        assert g["n"].sum() == len(rows)
