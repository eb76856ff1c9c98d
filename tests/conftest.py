"""Shared fixtures. Synthetic data here is for unit tests only and is labelled as such."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli import app
from forecast.config import EngineConfig, LightGBMParams

ROOT = Path(__file__).resolve().parents[1]
KZ = ROOT / "data" / "kz_towns"
US = ROOT.parent / "shared" / "data" / "us_counties"
US_MISSING = "../shared/data/us_counties not found: the US county panel is read in place"


# `make test` runs the suite on two xdist workers with `--dist loadfile`, under the scheduler
# below: one work unit per test module (its module fixtures are built once), except that the
# modules reading the shared kz_towns run (fixture `kz_towns_run`) form one unit, so one worker
# makes that run once for all of them; and the units start longest first (a long module
# started last would leave the other core idle at the end). Modules not listed follow, in file
# order. (`--dist loadgroup` would do the grouping, but its markers are ignored with pytest 9.)
SHARED_RUN_MODULES = ("test_end_to_end.py", "test_report.py", "test_report_browser.py")
LONGEST_FIRST = (
    "test_kz_annual_run.py",
    "kz_towns_run",  # SHARED_RUN_MODULES
    "test_engine.py",
    "test_hierarchy.py",
    "test_short_history.py",
    "test_retrain.py",
    "test_runs.py",
    "test_tracking.py",
    "test_mlflow_server.py",
    "test_towns.py",
    "test_export.py",
)


def _work_unit(nodeid: str) -> str:
    module = Path(nodeid.split("::", 1)[0]).name
    return "kz_towns_run" if module in SHARED_RUN_MODULES else nodeid.split("::", 1)[0]


def _rank(nodeid: str) -> int:
    unit = Path(_work_unit(nodeid)).name
    return LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: ignored when xdist is not installed
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadfile` with the work units of `_work_unit`, in collection order."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedRunScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    config.option.loadscopereorder = False  # keep the longest-first order of the collection
    return SharedRunScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest work units first (the order inside a module is kept); a test reading the shared
    kz_towns run is a full-run test (marked `slow`) and must live in SHARED_RUN_MODULES."""
    for item in items:
        if "kz_towns_run" in getattr(item, "fixturenames", ()):
            if item.path.name not in SHARED_RUN_MODULES:
                raise pytest.UsageError(
                    f"{item.nodeid} reads kz_towns_run: add its module to SHARED_RUN_MODULES "
                    "(tests/conftest.py) so that the run is made once"
                )
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: _rank(item.nodeid))


@pytest.fixture(scope="session")
def kz_towns_run(tmp_path_factory) -> tuple:
    """One tracked `forecast run --data kz_towns` (the bundled data, its real engine config) for
    the end-to-end, report and browser tests, which only read it (those that write into a run
    folder take a copy: `copy_of_run`). Returns (CLI result, run folder, folder holding `runs/`
    and `mlflow.db`). Under xdist their modules are one work unit: one worker, one run."""
    tmp = tmp_path_factory.mktemp("kz_towns_run")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    try:
        result = CliRunner().invoke(app, ["run", "--data", "kz_towns", "--runs", str(tmp / "runs")])
    finally:
        mp.undo()
    assert result.exit_code == 0, result.output
    (folder,) = [p.parent for p in (tmp / "runs").glob("*/*/categories.csv")]
    return result, folder, tmp


def copy_of_run(folder: Path, parent: Path) -> Path:
    """A copy of a run folder under `parent` (same folder name), for tests that write into it."""
    return Path(shutil.copytree(folder, parent / folder.name))


def write_dataset(
    folder: Path, panel: str | pd.DataFrame, units: str | pd.DataFrame, **extra: str | pd.DataFrame
) -> Path:
    """Write a dataset folder from CSV text or frames (file name -> content)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in {"panel.csv": panel, "units.csv": units, **extra}.items():
        if isinstance(content, pd.DataFrame):
            content.to_csv(folder / name, index=False)
        else:
            (folder / name).write_text(content.strip() + "\n", encoding="utf-8")
    return folder


def synthetic_panel(
    n_units: int = 60,
    years=range(1980, 2011),
    seed: int = 0,
    noise: float = 0.01,
    employment: bool = False,
):
    """SYNTHETIC panel: each unit grows at its own rate plus noise (for unit tests only)."""
    rng = np.random.default_rng(seed)
    rows, units = [], []
    for i in range(n_units):
        uid = f"SYN{i:03d}"
        rate = rng.normal(0.0, 0.015)
        level = float(np.exp(rng.uniform(8, 12)))
        p = level
        for y in years:
            p *= np.exp(rate + rng.normal(0, noise))
            row = {"unit_id": uid, "year": y, "population": round(p)}
            if employment:
                row["employment"] = round(0.4 * p * np.exp(rng.normal(0, noise)))
            rows.append(row)
        units.append(
            {
                "unit_id": uid,
                "name": f"Synthetic {i}",
                "region": f"R{i % 4}",
                "kind": "A" if i % 2 else "B",
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(units)


def fast_engine_config() -> EngineConfig:
    """A small, quick engine configuration for tests (also for module-scoped fixtures)."""
    return EngineConfig(
        horizons=[1, 5, 10],
        calibration_offsets=[3, 8],
        backtest_offsets=[5],
        max_pairs=20_000,
        min_cell=10,
        lightgbm=LightGBMParams(n_estimators=60, num_leaves=15, min_child_samples=10),
    )


@pytest.fixture
def fast_config() -> EngineConfig:
    return fast_engine_config()


@pytest.fixture
def synthetic_dataset(tmp_path) -> Path:
    panel, units = synthetic_panel()
    return write_dataset(tmp_path / "synthetic", panel, units)


@pytest.fixture
def us_slice(tmp_path) -> Path:
    """The first counties of three states of the real US panel (skips when ../shared is absent)."""
    if not US.is_dir():
        pytest.skip(US_MISSING)
    units = pd.read_csv(US / "units.csv", dtype=str)
    keep = units[units["region"].isin(["US-19", "US-20", "US-21"])]
    panel = pd.read_csv(US / "panel.csv.gz", dtype=str)
    panel = panel[panel["unit_id"].isin(keep["unit_id"])]
    return write_dataset(tmp_path / "us_slice", panel, keep)


def synthetic_nested(n_units: int = 24, years=range(1990, 2011), seed: int = 0):
    """SYNTHETIC panel with nested units and components of change (for unit tests only).

    Top-level units SYN000.. partition a synthetic country; every third one contains a town
    proper SYN000T (parent_id = its unit, about 60% of its population). Columns: population,
    employment, births, deaths, arrivals, departures, wage (nominal, inflating 5% a year).
    """
    rng = np.random.default_rng(seed)
    rows, units = [], []
    for i in range(n_units):
        uid = f"SYN{i:03d}"
        rate = rng.normal(0.0, 0.015)
        p = float(np.exp(rng.uniform(9, 12)))
        nested = i % 3 == 0
        share = rng.uniform(0.5, 0.7)
        for k, y in enumerate(years):
            births = p * rng.uniform(0.012, 0.025)
            deaths = p * rng.uniform(0.007, 0.012)
            arrivals = p * rng.uniform(0.01, 0.04)
            departures = arrivals - p * (rate - (births - deaths) / p) + rng.normal(0, p * 0.002)
            wage = 1000 * 1.05**k * rng.uniform(0.8, 1.3)
            p *= np.exp(rate + rng.normal(0, 0.01))
            row = {
                "unit_id": uid,
                "year": y,
                "population": round(p),
                "employment": round(0.45 * p * np.exp(rng.normal(0, 0.01))),
                "births": round(births),
                "deaths": round(deaths),
                "arrivals": round(arrivals),
                "departures": round(max(departures, 0)),
                "wage": round(wage, 1),
            }
            rows.append(row)
            if nested and y >= years[0] + 5:  # the town proper's series starts later
                rows.append(
                    {
                        **{
                            c: round(v * share)
                            for c, v in row.items()
                            if c not in ("unit_id", "year", "wage")
                        },
                        "unit_id": f"{uid}T",
                        "year": y,
                        "wage": round(wage * 1.1, 1),
                    }
                )
        base = {"name": f"Synthetic {i}", "region": f"R{i % 4}", "kind": "A" if i % 2 else "B"}
        units.append({"unit_id": uid, **base, "parent_id": "", "territory": "district"})
        if nested:
            units.append(
                {
                    "unit_id": f"{uid}T",
                    **base,
                    "name": f"Synthetic town {i}",
                    "parent_id": uid,
                    "territory": "town_proper",
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(units)


class FixedIntervals:
    """A fitted interval estimator stand-in: +-q per year of span (log scale)."""

    def __init__(self, q: float):
        self.q = q

    def quantiles(self, span, p0):
        s = np.asarray(span, dtype=float)
        return -self.q * s, self.q * s

    def summary(self):
        return pd.DataFrame({"q": [self.q]})


def town_facts(unit_id: str = "T", **over) -> pd.DataFrame:
    """The category facts of one hand-made town (synthetic numbers), `over` replacing any."""
    row = dict(
        name="Town",
        region="R",
        latest=10000.0,
        latest_year=2023,
        target_year=2035,
        forecast=8000.0,
        change_pct=-20.0,
        lower_pct=-30.0,
        upper_pct=-12.0,
        employment_change_pct=np.nan,
        pole=None,
        pole_distance_km=np.nan,
        pole_change_pct=np.nan,
        pole_lower_pct=np.nan,
        pole_upper_pct=np.nan,
        structural_share=0.8,
        top_drivers="long_run_trend -15.0 pts",
    )
    row.update(over)
    return pd.DataFrame([row], index=pd.Index([unit_id], name="unit_id"))


def track_record(mu, s_lo, s_hi, real, origins=(1990, 1995), **extra) -> pd.DataFrame:
    """A SYNTHETIC track record: log medians `mu`, 80% ranges of log spreads `s_lo` / `s_hi`
    below / above, outcomes `real` (log), origins alternating; `extra` columns after `origin`."""
    from scipy.special import ndtri

    z, n = ndtri(0.9), len(mu)
    return pd.DataFrame(
        {
            "origin": np.asarray(origins)[np.arange(n) % len(origins)],
            **extra,
            "change_pct": 100 * np.expm1(mu),
            "lower_pct": 100 * np.expm1(mu - z * s_lo),
            "upper_pct": 100 * np.expm1(mu + z * s_hi),
            "structural_share": np.nan,
            "realized_pct": 100 * np.expm1(real),
        },
        index=pd.Index([f"S{i}" for i in range(n)], name="unit_id"),
    )
