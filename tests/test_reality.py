"""Reality check: realised classes, confusion table and precision on hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import reality as rc
from forecast.errors import ForecastError
from forecast.io import read_dataset
from forecast.policy import Policy

from .conftest import synthetic_panel, write_dataset


def test_realized_class_uses_policy_thresholds():
    s = pd.Series([-15.0, -10.0, -0.1, 0.0, 12.0])
    assert rc.realized_class(s, Policy()).tolist() == [
        "decline",
        "middle",
        "middle",
        "growth",
        "growth",
    ]


def test_confusion_and_summary_on_hand_made_categories():
    cats = pd.DataFrame(
        {
            "category": ["resettle", "resettle", "stabilize", "diversify", "stabilize"],
            "boundary": [False, False, True, False, False],
            "realized": ["decline", "middle", "decline", "growth", "decline"],
            "realized_pct": [-20.0, -5.0, -12.0, 3.0, -11.0],
        }
    )
    tab = rc.confusion(cats)
    assert tab.loc["resettle", "decline"] == 1 and tab.loc["resettle", "total"] == 2
    s = rc.summary(cats)
    assert s["resettle_precision"] == 0.5
    assert s["resettle_declined_at_all"] == 1.0
    assert s["decliners"] == 3 and s["decliners_flagged"] == pytest.approx(2 / 3)


@pytest.mark.filterwarnings("ignore::forecast.errors.SuspiciousJumpWarning")
def test_reality_check_runs_on_a_synthetic_panel(tmp_path, fast_config):
    panel, units = synthetic_panel(n_units=40, seed=5)
    data = read_dataset(write_dataset(tmp_path / "s", panel, units))
    out = rc.reality_check(data, 2000, Policy(agglomeration={"enabled": False}), fast_config)
    assert set(out) == {"as configured", "point forecast only"}
    cats = out["as configured"]
    assert len(cats) == 40 and cats["realized"].isin(rc.REALIZED).all()
    # realised change from the raw panel: population in 2010 against 2000
    wide = panel.pivot(index="unit_id", columns="year", values="population")
    expected = 100 * (wide[2010] / wide[2000] - 1)
    got = cats.set_index("unit_id")["realized_pct"]
    np.testing.assert_allclose(got, expected.reindex(got.index), rtol=1e-12)
    declined = got < Policy().thresholds.decline_pct
    assert (cats.set_index("unit_id")["realized"].eq("decline") == declined).all()


def test_reality_check_needs_outcomes(tmp_path, fast_config):
    panel, units = synthetic_panel(n_units=10, seed=5)
    data = read_dataset(write_dataset(tmp_path / "s", panel, units))
    with pytest.raises(ForecastError, match="no outcomes to check: origin 2005 \\+ horizon 10"):
        rc.reality_check(data, 2005, Policy(), fast_config)
