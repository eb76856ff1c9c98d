"""Territories of the BNS workbooks: what kind of unit a printed name is, and which printed names
(Russian or Kazakh, adjective or noun form, older region) are the same unit."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources

import pandas as pd

KK_TO_RU = str.maketrans("әғқңөұүһіё", "агкноуухие")
LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "ә": "a", "ғ": "g",
    "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}  # fmt: skip
CITY_MARK = re.compile(
    r"(^|\s|\()(г\.\s?а\b|г\.|[Гг]ород|[Гг]ородск\w+ администрац\w+|қ\.|қаласы|г\s)|г\.\s?а\.?$"
)
TOWN_MARK = re.compile(r"моног", re.IGNORECASE)
REMOVE = re.compile(
    r"\(?моног\w*\.?\)?|городская администрация|г\.\s?а\.?(?![а-яё])|\bг\.|\bгород\b|\bгорода\b|"
    r"\bрайон[а-я]*\b|\bауданы\b|\bқ\.|\bқаласы\b|\bобласт\w*|\bкаласы\b|\bк\.$",
    re.IGNORECASE,
)
TERRITORY_SUFFIX = {"city_administration": "CA", "district": "D", "town_proper": "T"}
ADJ = re.compile(r"(инскии|ынскии|скии|скои|ского|скому|ском|ии)$")


@dataclass
class Unit:
    region: str
    territory: str  # city_administration | district | town_proper
    key: str
    name_ru: str
    unit_id: str = ""
    name: str = ""
    parent_id: str = ""
    name_kk: str = ""


def latin(s: str) -> str:
    out = "".join(LATIN.get(ch.lower(), ch) if ch.isalpha() else ch for ch in s)
    out = re.sub(r"[^A-Za-z0-9-]+", "-", out).strip("-")
    return "-".join(p[:1].upper() + p[1:] for p in out.split("-"))


def display_name(printed: str) -> str:
    """A printed territory name without its administrative words ('г.а.Кентау' -> 'Кентау')."""
    s = REMOVE.sub(" ", printed)
    return re.sub(r"\s+", " ", s).strip(" .,()*")


def key(printed: str) -> str:
    """A comparison key: Kazakh letters folded to Russian, administrative words and adjective
    endings removed ('Жанааркинский' and 'Жаңаарқа ауданы' -> 'жанаарк', 'жанаарка')."""
    s = display_name(printed).lower().translate(KK_TO_RU)
    s = s.replace("х", "к").replace("ь", "").replace("ы", "и").replace("й", "и")
    s = re.sub(r"[^а-я]+", "", s)
    return ADJ.sub("", s) or s


def territory(printed: str, title: str = "") -> str:
    if TOWN_MARK.search(printed) or TOWN_MARK.search(title):
        return "town_proper"
    if CITY_MARK.search(printed) or CITY_MARK.search(title):
        return "city_administration"
    return "district"


def same(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if a.startswith(b) or b.startswith(a):
        return 0.95 if min(len(a), len(b)) >= 3 else 0.0
    return difflib.SequenceMatcher(None, a, b).ratio()


def best_match(k: str, candidates: list[Unit], threshold: float = 0.8) -> Unit | None:
    """The unique candidate whose key is closest to `k` (None when none or a tie)."""
    scored = sorted(((same(k, u.key), i) for i, u in enumerate(candidates)), reverse=True)
    if not scored or scored[0][0] < threshold:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return candidates[scored[0][1]]


def title_hint(sheet: str, title: str) -> str:
    """The administrative word of a profile sheet: from its name, else from its title."""
    if CITY_MARK.search(sheet) or re.search(r"г\.\s?а\.?\s*$", sheet.strip()):
        return "г.а."
    head = re.split(r"област|Области", title)[0]
    if re.search(r"район", head, re.I):
        return ""
    return "г.а." if CITY_MARK.search(head) or re.search(r"г\.\s?а\b|городск", head) else ""


class Registry:
    """The units found so far, matched across sources by region, territory and name key."""

    def __init__(self, regions: dict):
        self.regions = regions
        self.units: list[Unit] = []
        self.names = _name_overrides()
        self.aliases = {k: key(v[1]) for (_, k), v in self.names.items()}
        self.cache: dict[tuple[str, str, str], Unit] = {}

    def _candidates(self, region: str, territory: str) -> list[Unit]:
        return [u for u in self.units if u.region == region and u.territory == territory]

    def find(self, region: str, territory: str, printed: str) -> Unit | None:
        cached = self.cache.get((region, territory, printed))
        if cached is not None:
            return cached
        hit = self._find(region, territory, printed)
        if hit is not None:
            self.cache[(region, territory, printed)] = hit
        return hit

    def _find(self, region: str, territory: str, printed: str) -> Unit | None:
        k = self.aliases.get(key(printed), key(printed))
        hit = best_match(k, self._candidates(region, territory))
        if hit is None:  # a unit printed in its former region's workbook
            for r in self.regions.values():
                if r.formed_from == region:
                    hit = best_match(k, self._candidates(r.name, territory))
                    if hit is not None:
                        break
        return hit

    def add(self, region: str, territory: str, printed: str) -> Unit:
        k = self.aliases.get(key(printed), key(printed))
        name_ru = display_name(printed)
        override = self.names.get((region, key(printed)))
        if override:
            name, name_ru = override
        else:
            name = latin(name_ru)
        u = Unit(region, territory, k, name_ru, name=name)
        self.units.append(u)
        return u


def _name_overrides() -> dict[tuple[str, str], tuple[str, str]]:
    path = resources.files("forecast") / "resources" / "bns_names.csv"
    with path.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return {(r.region, key(r.key)): (r.name, r.name_ru) for r in df.itertuples(index=False)}


def merge_moved(reg: Registry, rows: list[dict]) -> None:
    """A unit first met in its former region's workbook (Shymkent in the Turkistan profiles) is
    the same unit as the one of its current region."""
    target: dict[int, Unit] = {}
    for u in reg.units:
        for r in reg.regions.values():
            if r.formed_from == u.region:
                cands = [v for v in reg.units if v.region == r.name and v.territory == u.territory]
                hit = best_match(u.key, cands)
                if hit is not None:
                    target[id(u)] = hit
                    break
    if not target:
        return
    for row in rows:
        if row["unit"] is not None and id(row["unit"]) in target:
            row["unit"] = target[id(row["unit"])]
    reg.units = [u for u in reg.units if id(u) not in target]


def assign_ids(units: list[Unit], regions: dict) -> None:
    codes = {r.name: r.code for r in regions.values()}
    seen: Counter = Counter()
    for u in units:
        base = f"{codes[u.region]}-{u.name}-{TERRITORY_SUFFIX[u.territory]}"
        seen[base] += 1
        u.unit_id = base if seen[base] == 1 else f"{base}{seen[base]}"


def _town_hosts() -> dict[tuple[str, str], str]:
    """Towns whose host has another name (resources/bns_town_hosts.csv): (region, key) -> key."""
    path = resources.files("forecast") / "resources" / "bns_town_hosts.csv"
    with path.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return {(r.region, key(r.town)): key(r.host) for r in df.itertuples(index=False)}


def link_parents(units: list[Unit]) -> None:
    """A town proper lies inside the administration or district of the same name in its region
    (or the host named in resources/bns_town_hosts.csv)."""
    named = _town_hosts()
    for u in units:
        if u.territory != "town_proper":
            continue
        hosts = [
            v for v in units if v.region == u.region and v.territory != "town_proper" and v is not u
        ]
        hit = best_match(named.get((u.region, u.key), u.key), hosts, threshold=0.85)
        if hit is not None:
            u.parent_id = hit.unit_id
