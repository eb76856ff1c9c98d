"""Names and attribute values of units in the report's three languages.

Names come, in this order, from the run's units.csv (`name_ru`, `name_kk`, `region_ru`,
`region_kk` when a dataset provides them), then from the bundled ``names_kz.csv`` (Russian names
as printed by the Bureau of National Statistics, Kazakh names from the kz_towns dataset; the
source of each name is in the file). A town without a Russian name in any source is shown in
Russian pages under its Kazakh name, which is Cyrillic. Attribute values (industry, resource,
enterprise) are translated through ``attr_values.json``; the growth points' coordinates are in
``kz_cities.csv``. See ``MAP_SOURCE.md`` for sources and licences.
"""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache
from importlib import resources

import pandas as pd

LANGS = ("en", "ru", "kk")


def _read(name: str) -> str:
    return resources.files("forecast").joinpath(f"report/{name}").read_text("utf-8")


@lru_cache(maxsize=1)
def _names() -> dict:
    towns: dict[str, dict] = {}
    regions: dict[str, dict] = {}
    aliases: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(_read("names_kz.csv"))):
        if row["kind"] == "alias":
            aliases[row["key"]] = row["ru"]
        elif row["kind"] == "region":
            regions[row["key"]] = {"ru": row["ru"], "kk": row["kk"]}
        else:
            towns[row["key"]] = {"ru": row["ru"], "kk": row["kk"]}
    return {"towns": towns, "regions": regions, "aliases": aliases}


@lru_cache(maxsize=1)
def _values() -> dict:
    return json.loads(_read("attr_values.json"))["values"]


@lru_cache(maxsize=1)
def growth_points() -> list[dict]:
    """[{name, lat, lon}] of the large cities (250,000+) in kz_cities.csv."""
    rows = csv.DictReader(io.StringIO(_read("kz_cities.csv")))
    return [{"name": r["city"], "lat": float(r["lat"]), "lon": float(r["lon"])} for r in rows]


@lru_cache(maxsize=1)
def regions_map() -> dict:
    return json.loads(_read("kz_regions.json"))


def _pick(*options) -> str | None:
    for o in options:
        if isinstance(o, str) and o.strip() and o != "nan":
            return o.strip()
    return None


def place(name: str, ru: str | None = None, kk: str | None = None) -> dict[str, str]:
    """{en, ru, kk} for a town or city called `name` in English (the dataset's own Russian and
    Kazakh names first, when given)."""
    n = _names()
    key = n["aliases"].get(name, name)
    known = n["towns"].get(key, {})
    kk_name = _pick(kk, known.get("kk"))
    ru_name = _pick(ru, known.get("ru"))
    return {
        "en": name,
        "ru": ru_name or kk_name or name,
        "kk": kk_name or ru_name or name,
    }


def region(name: str, ru: str | None = None, kk: str | None = None) -> dict[str, str]:
    known = _names()["regions"].get(name, {})
    ru_name = _pick(ru, known.get("ru"))
    kk_name = _pick(kk, known.get("kk"))
    return {"en": name, "ru": ru_name or kk_name or name, "kk": kk_name or ru_name or name}


def value(text: str) -> dict[str, str]:
    """An attribute value in the three languages (unknown values stay as they are)."""
    got = _values().get(text, {})
    return {"en": text, "ru": got.get("ru", text), "kk": got.get("kk", text)}


def is_translated(text: str) -> bool:
    return text in _values()


class UnitNames:
    """Names of a run's units, regions and places in every language.

    `units` is the run's units.csv indexed by unit_id (or None); its `name_ru`, `name_kk`,
    `region_ru` and `region_kk` columns, where present, come before the bundled names."""

    def __init__(self, units: pd.DataFrame | None):
        self.units = units
        self.by_en: dict[str, dict] = {}
        if units is not None and "name" in units:
            for uid, name in zip(units.index, units["name"]):
                self.by_en.setdefault(str(name), self.unit(str(uid), None))

    def _col(self, uid: str, col: str) -> str | None:
        u = self.units
        if u is None or col not in u or uid not in u.index:
            return None
        v = u.at[uid, col]
        return _pick(v.iloc[0] if isinstance(v, pd.Series) else v)

    def unit(self, uid: str, name: str | None) -> dict[str, str]:
        en = name or self._col(uid, "name") or uid
        return place(en, self._col(uid, "name_ru"), self._col(uid, "name_kk"))

    def region(self, uid: str, name: str) -> dict[str, str]:
        return region(name, self._col(uid, "region_ru"), self._col(uid, "region_kk"))

    def by_name(self, name: str) -> dict[str, str]:
        """A place named in an attribute (a pole, a regional centre): a unit's names if it is
        one of the run's units, else the bundled ones."""
        return self.by_en.get(name) or place(name)
