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

from .config import EngineConfig
from .policy import Policy
from .reality import origin_record
from .schema import Dataset

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


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
