"""Driver names in words, per language, from resources/drivers.yaml.

Read here without importing forecast.explain (which imports shap and takes seconds), so that
`forecast report` is instant; when forecast.explain is already loaded, its DriverMap is used.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import resources

import yaml

from ..errors import ForecastError
from . import text as tx


def _raw() -> tuple[dict, dict]:
    text = resources.files("forecast").joinpath("resources/drivers.yaml").read_text("utf-8")
    raw = yaml.safe_load(text) or {}
    drivers = {d["name"]: d for d in raw.get("drivers", []) if isinstance(d, dict) and "name" in d}
    return drivers, raw.get("components") or {}


def driver_labels() -> Callable[[str, str], str]:
    """label(name, lang): a driver's words, the report's fallback words, or the name itself."""
    dm = None
    explain = sys.modules.get("forecast.explain")
    if explain is not None:
        try:
            dm = explain.DriverMap.load()
        except (ForecastError, OSError, ValueError, yaml.YAMLError):
            dm = None  # a broken drivers.yaml must not stop the report
    drivers: dict = {}
    components: dict = {}
    if dm is None:
        try:
            drivers, components = _raw()
        except (OSError, ValueError, yaml.YAMLError, AttributeError, TypeError):
            pass

    def label(name: str, lang: str) -> str:
        if dm is not None:
            got = dm.label(name, lang)
        elif name in drivers:
            got = drivers[name].get(lang, drivers[name].get("en", name))
        else:
            got = (components.get(name) or {}).get(lang, name)
        if got and got != name:
            return got
        return tx.ui(lang)["driver_fallback"].get(name, name.replace("_", " "))

    return label
