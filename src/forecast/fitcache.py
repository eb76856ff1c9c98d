"""Sharing fitted growth models between the fits of one run.

A run fits the same uncalibrated model more than once: the forecaster at the as-of year
calibrates on models fitted at earlier origins (as-of minus `calibration_offsets`), and the
track-record backtest fits a whole forecaster at as-of minus `backtest_offsets`, with its own
calibration origins. Where two of these fits have the same target, origin, engine config and
data up to that origin, they are the same fit (LightGBM is deterministic with its seed and one
thread), so the second one can take the first one's learned state.

What the fits and forecasts of one target at one origin read from the data (the cut, the
reference totals, the feature frames: `forecast.engine._Context`) is shared the same way
(`remember`): a forecaster's fit and its forecast read the same context, and so do the
calibration forecasts of the run and of the backtest at a common origin.

The sharing is off unless a caller opens it (``with fitcache.sharing(): ...``); it lives for that
block only and keeps nothing on disk. The key holds the content hash of the data cut at the
origin (:meth:`forecast.schema.Dataset.digest`), so a fit on other data never matches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .config import EngineConfig
from .schema import Dataset

__all__ = ["key", "lookup", "remember", "sharing", "stats", "store"]

_store: ContextVar[dict | None] = ContextVar("forecast_fitcache", default=None)


@contextmanager
def sharing() -> Iterator[dict]:
    """Share fitted state between the fits made inside the block (nested blocks share the
    outer one's). Yields the counters (`hits`, `misses`), for measurements and tests."""
    if _store.get() is not None:
        yield _store.get()["stats"]
        return
    token = _store.set({"fits": {}, "values": {}, "stats": {"hits": 0, "misses": 0}})
    try:
        yield _store.get()["stats"]
    finally:
        _store.reset(token)


def key(target: str, origin: int, config: EngineConfig, data: Dataset) -> tuple | None:
    """What makes two fits the same: target, origin, engine config and the data up to the
    origin (None when no sharing is open: the key is not computed then)."""
    if _store.get() is None:
        return None
    cut = data.up_to(origin)
    return (target, int(origin), config.model_dump_json(), cut.digest())


def lookup(k: tuple | None) -> dict[str, Any] | None:
    """The learned state stored under `k`, or None (also when no sharing is open)."""
    s = _store.get()
    if s is None or k is None:
        return None
    found = s["fits"].get(k)
    s["stats"]["hits" if found is not None else "misses"] += 1
    return found


def store(k: tuple | None, state: dict[str, Any]) -> None:
    """Keep the learned state of a fit under `k` (nothing when no sharing is open). The state
    is shared, not copied: fitted models are only read after fitting."""
    s = _store.get()
    if s is not None and k is not None:
        s["fits"][k] = state


def stats() -> dict[str, int] | None:
    """Hits and misses of the open sharing block, or None."""
    s = _store.get()
    return None if s is None else dict(s["stats"])


def remember(k: tuple, make: Callable[[], Any]) -> Any:
    """`make()`, kept under `k` for the open sharing block and returned again for the same
    `k` (just `make()` when no sharing is open or `k` holds None: see `key`)."""
    s = _store.get()
    if s is None or any(part is None for part in k):
        return make()
    if k not in s["values"]:
        s["values"][k] = make()
    return s["values"][k]
