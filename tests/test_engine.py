"""The forecaster: contract of `forecast predict`, no leakage, exactness, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from forecast.cli import app
from forecast.engine import Forecaster
from forecast.errors import NotFittedError
from forecast.io import read_dataset

from .conftest import KZ, synthetic_panel, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")

COLUMNS = ["unit_id", "target", "origin_year", "horizon", "year", "forecast", "lower", "upper"]


def config_file(tmp_path, cfg) -> str:
    path = tmp_path / "engine.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump()))
    return str(path)


def invoke_predict(data, as_of, out, cfg_path=None, horizons="5,10"):
    args = [
        "predict",
        "--data",
        str(data),
        "--as-of",
        str(as_of),
        "--horizons",
        horizons,
        "--out",
        str(out),
    ]
    return CliRunner().invoke(app, args + (["--config", cfg_path] if cfg_path else []))


def run_predict(data, as_of, out, cfg_path, horizons="5,10") -> pd.DataFrame:
    result = invoke_predict(data, as_of, out, cfg_path, horizons)
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "forecasts.csv")


def test_predict_contract(tmp_path, fast_config):
    panel, units = synthetic_panel(employment=True)
    panel.loc[panel["unit_id"] == "SYN000", "employment"] = np.nan  # no jobs data for one unit
    data = write_dataset(tmp_path / "syn", panel, units)
    out = run_predict(data, 2000, tmp_path / "out", config_file(tmp_path, fast_config))
    assert list(out.columns[: len(COLUMNS)]) == COLUMNS
    assert set(out["target"]) == {"population", "employment"}
    assert (out["origin_year"] == 2000).all()
    assert (out["year"] == out["origin_year"] + out["horizon"]).all()
    assert sorted(out["horizon"].unique()) == [5, 10]
    n_units = panel["unit_id"].nunique()
    assert len(out[out["target"] == "population"]) == n_units * 2
    assert len(out[out["target"] == "employment"]) == (n_units - 1) * 2
    assert not out.duplicated(["unit_id", "target", "horizon"]).any()
    assert (out["lower"] <= out["forecast"]).all() and (out["forecast"] <= out["upper"]).all()
    assert (out["level"] == 0.8).all()


def _perturb_after(panel: pd.DataFrame, year: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    later = panel["year"] > year
    out = panel.copy()
    for c in ("population", "employment"):
        if c in out:
            out.loc[later, c] = (out.loc[later, c] * rng.uniform(0.2, 5, later.sum())).round()
    return out


# 2003 stays in `make test`; 1996 (the longer history, the slower fit) runs in `make test-all`.
@pytest.mark.parametrize("as_of", [pytest.param(1996, marks=pytest.mark.slow), 2003])
def test_no_leakage_from_after_the_origin(tmp_path, fast_config, as_of):
    panel, units = synthetic_panel(employment=True, seed=3)
    cfg = config_file(tmp_path, fast_config)
    base = run_predict(write_dataset(tmp_path / "a", panel, units), as_of, tmp_path / "oa", cfg)
    changed = _perturb_after(panel, as_of, seed=as_of)
    deleted = panel[panel["year"] <= as_of]
    for name, variant in (("changed", changed), ("deleted", deleted)):
        out = run_predict(
            write_dataset(tmp_path / name, variant, units), as_of, tmp_path / f"o{name}", cfg
        )
        pd.testing.assert_frame_equal(base, out)


def test_no_leakage_on_bundled_data_including_region_and_country_files(tmp_path, fast_config):
    as_of = 2012
    cfg = config_file(tmp_path, fast_config)
    base = run_predict(KZ, as_of, tmp_path / "base", cfg)
    files = {
        n: pd.read_csv(KZ / n)
        for n in ("panel.csv", "units.csv", "regions.csv", "country.csv", "sources.csv")
    }
    for name in ("panel.csv", "regions.csv", "country.csv"):
        df = files[name]
        later = df["year"] > as_of
        df.loc[later, "population"] = df.loc[later, "population"] * 3
    out = run_predict(
        write_dataset(
            tmp_path / "kz",
            **{"panel": files["panel.csv"], "units": files["units.csv"]},
            **{"regions.csv": files["regions.csv"], "country.csv": files["country.csv"]},
        ),
        as_of,
        tmp_path / "changed",
        cfg,
    )
    pd.testing.assert_frame_equal(base, out)


@pytest.mark.slow  # three more origins of the check above: `make test-all` and CI
def test_property_no_leakage_random_origins(tmp_path, fast_config):
    """Property-style: for random origins, forecasts use nothing after the origin."""
    panel, units = synthetic_panel(n_units=30, seed=11)
    data = read_dataset(write_dataset(tmp_path / "p", panel, units))
    rng = np.random.default_rng(5)
    for origin in rng.integers(1992, 2008, size=3):
        a = Forecaster(config=fast_config).fit(data, int(origin)).forecast(data).table()
        changed = _perturb_after(panel, int(origin), seed=int(origin))
        data2 = read_dataset(write_dataset(tmp_path / f"p{origin}", changed, units))
        b = Forecaster(config=fast_config).fit(data2, int(origin)).forecast(data2).table()
        pd.testing.assert_frame_equal(a, b)


def test_linear_unit_is_forecast_exactly_by_lin(tmp_path, fast_config):
    panel, units = synthetic_panel(n_units=20, seed=2)
    years = np.arange(1980, 2011)
    line = pd.DataFrame(
        {"unit_id": "LINEAR", "year": years, "population": 5000 + 120 * (years - 1980)}
    )
    units = pd.concat(
        [units, pd.DataFrame([{"unit_id": "LINEAR", "name": "Line", "region": "R0", "kind": "A"}])]
    )
    data = read_dataset(write_dataset(tmp_path / "lin", pd.concat([panel, line]), units))
    fc = Forecaster(config=fast_config).fit(data, 2005)
    t = fc.forecast(data, [1, 5, 10]).targets["population"].table
    row = t[t["unit_id"] == "LINEAR"].sort_values("year")
    expected = 5000 + 120 * (row["year"].to_numpy() - 1980)
    np.testing.assert_allclose(row["lin"].to_numpy(), expected, rtol=1e-12)


def test_irregular_years_go_through_the_same_path(tmp_path, fast_config):
    """Census-like irregular observations: forecasts for every unit, spans reflect the gaps."""
    panel, units = synthetic_panel(n_units=40, seed=4)
    census = panel[panel["year"].isin([1980, 1989, 1999, 2003, 2007, 2009])]
    data = read_dataset(write_dataset(tmp_path / "irr", census, units))
    fc = Forecaster(config=fast_config).fit(data, 2010)
    t = fc.forecast(data, [5]).targets["population"].table
    assert len(t) == 40
    assert (t["t0"] == 2009).all() and (t["span"] == 6).all()
    assert t["forecast"].notna().all()


def test_reproducible(tmp_path, fast_config, synthetic_dataset):
    data = read_dataset(synthetic_dataset)
    a = Forecaster(config=fast_config).fit(data, 2005).forecast(data).table()
    b = Forecaster(config=fast_config).fit(data, 2005).forecast(data).table()
    pd.testing.assert_frame_equal(a, b)


def test_predict_before_fit_is_a_clear_error():
    with pytest.raises(NotFittedError, match="not fitted: call fit"):
        Forecaster().forecast(None)


def test_predict_as_of_before_data_is_a_clear_error(tmp_path, fast_config, synthetic_dataset):
    cfg = config_file(tmp_path, fast_config)
    result = invoke_predict(synthetic_dataset, 1900, tmp_path / "o", cfg)
    assert result.exit_code == 1
    assert "--as-of 1900 is before the first observation (1980)" in result.output


def test_predict_bad_horizons_message(tmp_path, synthetic_dataset):
    result = invoke_predict(synthetic_dataset, 2000, tmp_path / "o", horizons="5,x")
    assert result.exit_code == 2
    assert "--horizons must be whole numbers separated by commas, got '5,x'" in result.output


def test_target_without_pairs_is_skipped_with_a_named_warning(tmp_path, fast_config):
    from forecast.errors import SparseHistoryWarning

    panel, units = synthetic_panel(n_units=20, seed=1, employment=True)
    panel.loc[panel["year"] < 2000, "employment"] = np.nan  # jobs observed from 2000 only
    data = read_dataset(write_dataset(tmp_path / "e", panel, units))
    with pytest.warns(SparseHistoryWarning, match="employment is not forecast from 2000"):
        fc = Forecaster(config=fast_config).fit(data, 2000)
    assert set(fc.forecast(data).table()["target"]) == {"population"}


def _thin_dataset(tmp_path):
    """One town observed in census-spaced years; as of 2020 it has one training pair."""
    panel = pd.DataFrame(
        {
            "unit_id": "A",
            "year": [1999, 2009, 2021, 2023],
            "population": [1000.0, 1100.0, 1200.0, 1250.0],
        }
    )
    units = pd.DataFrame([{"unit_id": "A", "name": "Alpha", "region": "R1"}])
    return write_dataset(tmp_path / "thin", panel, units)


def test_too_thin_for_the_model_forecasts_with_the_baselines_alone(tmp_path, fast_config):
    from forecast.errors import SparseHistoryWarning

    folder = _thin_dataset(tmp_path)
    result = invoke_predict(folder, 2020, tmp_path / "o", config_file(tmp_path, fast_config))
    assert result.exit_code == 0, result.output
    assert "1 training pair(s) up to 2020, fewer than the model needs" in result.output
    out = pd.read_csv(tmp_path / "o" / "forecasts.csv")
    assert out["model"].tolist() == ["baselines", "baselines"]
    # the average of the baselines: LIN/EXP-like growth from 1999-2009 (+100 per decade)
    data = read_dataset(folder)
    with pytest.warns(SparseHistoryWarning, match="forecasting with the baselines alone"):
        fc = Forecaster(config=fast_config).fit(data, 2020)
    tf = fc.forecast(data, [5, 10]).targets["population"]
    assert tf.X is None and fc.targets_["population"].model_ is None
    np.testing.assert_allclose(tf.table["forecast"], tf.table["average"])
    assert (tf.table["forecast"] > 1100).all()


def test_too_thin_dataset_is_explained_and_categorised(tmp_path, fast_config):
    from forecast.compose import outlook
    from forecast.policy import load_policy

    data = read_dataset(_thin_dataset(tmp_path))
    with pytest.warns(UserWarning):
        fc = Forecaster(config=fast_config).fit(data, 2020)
    policy = load_policy(None).model_copy(update={"focus": None})
    out = outlook(fc, data, policy, horizons=[5, 10])
    one = out.explanations[out.explanations["horizon"] == 10]
    # no model part to split: the whole change is carried by the baselines
    assert set(one["feature"]) == {
        "model_average",
        "national_trend",
        "total_control",
        "baseline_methods",
    }
    share = one.set_index("feature")["contribution_log"]
    assert share["baseline_methods"] == pytest.approx(
        np.log(out.forecasts["forecast"].iloc[1] / 1100)
    )
    assert out.categories["unit_id"].tolist() == ["A"]


def test_predict_defaults_come_from_the_config(tmp_path, fast_config):
    """Without --horizons and --level, `forecast predict` uses the engine config's."""
    cfg = fast_config.model_copy(update={"horizons": [2, 3], "level": 0.9})
    panel, units = synthetic_panel(n_units=20, seed=6)
    data = write_dataset(tmp_path / "d", panel, units)
    args = ["predict", "--data", str(data), "--as-of", "2000", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, [*args, "--config", config_file(tmp_path, cfg)])
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "o" / "forecasts.csv")
    assert sorted(out["horizon"].unique()) == [2, 3]
    assert (out["level"] == 0.9).all()
