"""The track record: the facts the policy reads at past origins, beside what happened.

For each past origin the data are cut there, the engine is fitted and forecasts the policy
horizon, the forecasts are explained, and the policy facts (forecast change, interval, driver
shares, current-state indicators) are put beside the realised change at origin + horizon. The
resulting table (one row per origin and unit) is what the decision rule is chosen on
(`forecast.rulechoice`) and scored on (`forecast.scoring`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from . import explain as explain_mod
from .config import EngineConfig
from .engine import Forecaster
from .errors import ForecastError
from .pipeline import category_facts
from .policy import Policy
from .schema import Dataset

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def origin_record(
    data: Dataset,
    origin: int,
    policy: Policy,
    config: EngineConfig,
    progress: Progress = _quiet,
) -> pd.DataFrame:
    """The policy facts at `origin` for every unit with an outcome at origin + horizon, with
    ``origin``, ``actual`` and ``realized_pct`` (percent change from the latest value)."""
    h = policy.horizon
    outcome_year = origin + h
    if outcome_year > data.last_year:
        raise ForecastError(
            f"no outcomes to check: origin {origin} + horizon {h} = {outcome_year} is after the "
            f"last year of the data ({data.last_year})"
        )
    cfg = config.model_copy(update={"horizons": sorted({*config.horizons, h})})
    progress(f"fitting at {origin}")
    fc = Forecaster(config=cfg).fit(data, origin, progress=progress)
    points = fc.forecast([h])
    forecasts = fc.forecast_table([h])
    progress(f"explaining at {origin}")
    expl = explain_mod.explain(fc, points)
    cut = data.up_to(origin)
    facts = category_facts(cut, forecasts, expl, policy)
    actual = data.panel.loc[data.panel["year"] == outcome_year].set_index("unit_id")[policy.target]
    facts["origin"] = origin
    facts["actual"] = actual.reindex(facts.index)
    facts = facts[facts["actual"].notna()].copy()
    facts["realized_pct"] = 100 * (facts["actual"] / facts["latest"] - 1)
    return facts


def collect(
    data: Dataset,
    origins: Iterable[int],
    policy: Policy,
    config: EngineConfig,
    cache_dir: Path | None = None,
    progress: Progress = _quiet,
) -> pd.DataFrame:
    """`origin_record` for several origins, stacked (index ``unit_id``). With `cache_dir`, each
    origin's record is kept as a pickle named after the dataset, origin and horizon and reused."""
    frames = []
    for origin in origins:
        path = None
        if cache_dir is not None:
            path = Path(cache_dir) / f"{data.name}_o{origin}_h{policy.horizon}.pkl"
            if path.exists():
                frames.append(pd.read_pickle(path))
                continue
        rec = origin_record(data, origin, policy, config, progress)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            rec.to_pickle(path)
        frames.append(rec)
    return pd.concat(frames)
