"""`forecast scenario` reuses the baseline of a finished run of the same data and engine config
(forecast.scenario_baseline), and fits the engine, with a message saying why, otherwise."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from forecast import io, pipeline, scenario_baseline, scenario_run
from forecast.scenario_apply import Trajectories
from forecast.scenarios import load_scenarios

from .conftest import ROOT, fast_engine_config

pytestmark = pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")

SCENARIOS = {
    "version": 1,
    "scenarios": [
        {
            "name": "temirtau_cut",
            "events": [{"type": "jobs", "unit": "Temirtau", "year": 2027, "percent": -40}],
        },
        {
            "name": "arkalyk_moves",
            "events": [
                {
                    "type": "resettlement",
                    "unit": "Arkalyk",
                    "to": "Kostanay",
                    "year": 2027,
                    "persons_per_year": 800,
                }
            ],
        },
    ],
}


def _config():
    return fast_engine_config().model_copy(update={"horizons": list(range(1, 11))})


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """A finished `forecast run` of kz_towns, then the same scenarios reusing it and refitting."""
    tmp = tmp_path_factory.mktemp("reuse")
    spec = tmp / "scenarios.yaml"
    spec.write_text(yaml.safe_dump(SCENARIOS), encoding="utf-8")
    cfg = _config()
    policy, _ = pipeline.resolve_policy(None)
    runs_root = tmp / "runs"
    ran = pipeline.run("kz_towns", config=cfg, runs_root=runs_root, track=False)
    notes: list[str] = []
    reused = scenario_run.run(
        "kz_towns",
        spec,
        config=cfg,
        policy=policy,
        runs_root=runs_root,
        track=False,
        progress=notes.append,
    )
    fitted = scenario_run.run(
        "kz_towns", spec, config=cfg, policy=policy, runs_root=tmp / "other", track=False
    )
    return ran, reused, fitted, notes, runs_root, policy


def test_the_run_is_reused(done):
    ran, reused, fitted, notes, _, _ = done
    assert reused.baseline_run == ran.out_dir
    assert fitted.baseline_run is None
    assert "baseline" in reused.timings and "scenarios" in reused.timings
    assert any(f"reusing the baseline of run {ran.out_dir.name}" in n for n in notes)
    meta = json.loads((reused.out_dir / "scenario_run.json").read_text(encoding="utf-8"))
    assert meta["baseline_from"] == str(ran.out_dir)
    assert json.loads((fitted.out_dir / "scenario_run.json").read_text())["baseline_from"] == (
        "fitted by this scenario run"
    )


def test_reused_and_refitted_scenarios_agree(done):
    _, reused, fitted, _, _, _ = done
    a = reused.trajectories.table.set_index(["scenario", "unit_id", "target", "year"])
    b = fitted.trajectories.table.set_index(["scenario", "unit_id", "target", "year"])
    assert a.index.equals(b.index)
    # the run's forecasts.csv keeps 6 significant digits
    for col in ("forecast", "lower", "upper", "baseline"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-5)
    ca = reused.categories.set_index(["scenario", "unit_id"])
    cb = fitted.categories.set_index(["scenario", "unit_id"])
    assert (ca["category"] == cb["category"].reindex(ca.index)).all()
    for col in ("p_decline", "p_stabilize", "p_growth"):
        np.testing.assert_allclose(ca[col], cb[col].reindex(ca.index), atol=1e-3)


def test_fit_explains_only_what_the_categories_read(done):
    ran, _, _, _, _, policy = done
    data = io.read_dataset("kz_towns")
    base = scenario_baseline.fit_baseline(data, _config(), policy)
    assert set(base.explanations["target"]) == {policy.target}
    assert set(base.explanations["horizon"]) == {policy.horizon}
    assert sorted(base.forecasts["horizon"].unique()) == list(range(1, 11))
    # the same SHAP numbers as the run's full explanation of that target and horizon
    full = ran.explanations
    full = full[(full["target"] == policy.target) & (full["horizon"] == policy.horizon)]
    keys = ["unit_id", "feature"]
    m = base.explanations.merge(full, on=keys, suffixes=("", "_run"))
    assert len(m) == len(full) == len(base.explanations)
    np.testing.assert_allclose(m["contribution_log"], m["contribution_log_run"], atol=1e-9)


def _copy_run(done, tmp_path, edit_meta=None, edit_config=None):
    ran, _, _, _, _, policy = done
    root = tmp_path / "runs"
    dest = root / "kz_towns" / ran.out_dir.name
    shutil.copytree(ran.out_dir, dest)
    for name, edit in (("run.json", edit_meta), ("config.json", edit_config)):
        if edit:
            d = json.loads((dest / name).read_text(encoding="utf-8"))
            edit(d)
            (dest / name).write_text(json.dumps(d), encoding="utf-8")
    return root, policy


@pytest.mark.parametrize(
    "edit_meta, edit_config, reason",
    [
        (lambda m: m.update(dataset_digest="0" * 16), None, "dataset digest differs"),
        (lambda m: m.update(as_of=2015), None, "it forecasts from 2015, not the data's last year"),
        (None, lambda c: c.update(seed=99), "its engine config differs (seed)"),
    ],
)
def test_a_run_that_is_not_the_same_baseline_is_not_reused(
    done, tmp_path, edit_meta, edit_config, reason
):
    root, policy = _copy_run(done, tmp_path, edit_meta, edit_config)
    run, note = scenario_baseline.find_run(root, io.read_dataset("kz_towns"), _config(), policy)
    assert run is None
    assert reason in note and "does not match" in note


def test_horizons_that_skip_years_are_not_reused(done, tmp_path):
    cfg = fast_engine_config()  # horizons 1, 5, 10
    root, policy = _copy_run(done, tmp_path, None, lambda c: c.update(horizons=[1, 5, 10]))
    run, note = scenario_baseline.find_run(root, io.read_dataset("kz_towns"), cfg, policy)
    assert run is None
    assert "its horizons [1, 5, 10] skip years" in note


def test_no_run_says_so_and_fits(tmp_path, monkeypatch):
    """Without a run the message says why and that the engine is fitted (the fit itself is
    replaced here by a stub: the fitted path is exercised by the fixture above)."""
    data = io.read_dataset("kz_towns")
    policy, _ = pipeline.resolve_policy(None)
    empty = pd.DataFrame()
    stub = scenario_baseline.Baseline(empty, empty, None, "")
    monkeypatch.setattr(scenario_baseline, "fit_baseline", lambda *a, **k: stub)
    notes: list[str] = []
    out = scenario_baseline.baseline(data, _config(), policy, tmp_path, progress=notes.append)
    assert out.run is None
    assert notes == [
        f"no finished run of kz_towns under {tmp_path}: fitting the engine "
        "(`forecast run --data kz_towns` first makes this fast)"
    ]
    notes.clear()
    scenario_baseline.baseline(
        data, _config(), policy, tmp_path, reuse=False, progress=notes.append
    )
    assert notes == ["fitting the engine (--refit)"]


def test_scenarios_categorised_together_as_one_by_one(done, monkeypatch):
    """The example file's scenarios are categorised in a few policy passes (scenarios that
    cannot see each other share one); every category and probability is the one a pass of its
    own gives."""
    ran, _, _, _, _, policy = done
    path = ROOT / "experiments" / "scenarios.yaml"
    spec = load_scenarios(path)
    data = io.read_dataset("kz_towns")
    base = scenario_baseline.read_run(ran.out_dir, data, _config(), policy)
    calls = []
    real = scenario_run.category_facts
    monkeypatch.setattr(
        scenario_run, "category_facts", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    _, traj, cats = scenario_run.evaluate(
        spec, path, data, base.forecasts, base.explanations, policy, _config()
    )
    assert 1 < len(calls) < 1 + len(spec.scenarios)
    for name in traj.forecasts:
        one = Trajectories(traj.table[traj.table["scenario"] == name], {name: traj.forecasts[name]})
        alone = scenario_run.categories(
            data, base.forecasts, one, base.explanations, policy, _config().level
        )
        pd.testing.assert_frame_equal(
            alone[alone["scenario"] == name].reset_index(drop=True),
            cats[cats["scenario"] == name].reset_index(drop=True),
        )
