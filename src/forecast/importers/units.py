"""Territories of the BNS workbooks: what kind of unit a printed name is, and which printed names
(Russian or Kazakh, adjective or noun form, older region) are the same unit."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

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
