"""Build src/forecast/report/names_kz.csv: Cyrillic names of kz_towns' towns, cities and regions.

Every Russian name is read from a label the Bureau of National Statistics printed (a sheet name
or a row label of its workbooks in ``../shared/data/kz/bns/raw/``) or from
``../shared/data/kz/monotowns.csv``; the label is kept in ``ru_source`` as ``file|label`` so a
test can find it again. Kazakh names come from ``data/kz_towns/units.csv`` (``name_kk``: the
monotown table or the Bureau's 2023 bulletin) for towns; region names in Kazakh are the
official names, written here (``kk_source`` says so). A town with no Russian label in any of
these sources keeps ``ru`` empty: the report then shows its Kazakh name, which is Cyrillic.

Run from the repository root: ``python scripts/build_kz_names.py``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "kz"
RAW = SHARED / "bns" / "raw"
OUT = ROOT / "src" / "forecast" / "report" / "names_kz.csv"

# town or city (as units.csv / nearest_city_250k / region_centre spell it) -> the Bureau's label
TOWN_LABELS = {
    "Abay": "Абай (моногород)",
    "Aksai": "моногород Аксай",
    "Aksu": "Аксу г.а.",
    "Aktau": "г.а.Актау",
    "Aktobe": "г.Актобе",
    "Almaty": "г.Алматы",
    "Altai": "Моногорода Алтай",
    "Arkalyk": "Аркалык г.а.",
    "Arys": "г.а.Арысь",
    "Astana": "г. Астана",
    "Atyrau": "Атырау г.а.",
    "Baikonur": "Байконыр г.а.",
    "Balkhash": "Балхаш г.а.",
    "Ekibastuz": "Экибастуз г.а.",
    "Karaganda": "Караганда г.а.",
    "Karazhal": "г.Каражал",
    "Kentau": "г.а.Кентау",
    "Kokshetau": "г.а. Кокшетау",
    "Konaev": "г.а.Конаев",
    "Kosshy": "г.а. Косшы",
    "Kostanay": "г. Костанай",
    "Kurchatov": "г.Курчатов",
    "Kyzylorda": "Кызылорда г.а.",
    "Lisakovsk": "Лисаковск г.а.",
    "Oral": "г.Уральск",
    "Oskemen": "г. Усть-Каменогорск",
    "Pavlodar": "Павлодар г.а.",
    "Petropavl": "г.Петропавловск",
    "Priozersk": "г. Приозерск",
    "Ridder": "г.Риддер",
    "Rudny": "Рудный г.а.",
    "Saran": "Сарань г.а.",
    "Satpayev": "г.Сатпаев",
    "Semey": "г.Семей",
    "Shakhtinsk": "Шахтинск г.а.",
    "Shymkent": "г.Шымкент",
    "Stepnogorsk": "г.а.Степногорск",
    "Taldykorgan": "Талдыкорган г.а.",
    "Taraz": "г.Тараз",
    "Tekeli": "Текели г.а.",
    "Temirtau": "Темиртау г.а.",
    "Turkistan": "г.Туркестан",
    "Zhanaozen": "г.а. Жанаозен",
    "Zhezkazgan": "г. Жезказган",
}
ALIASES = {"Turkestan": "Turkistan"}  # region_centre spelling in units.csv

# region (as units.csv spells it) -> (the Bureau's label, Russian name, Kazakh official name)
REGIONS = {
    "Abai": ("до 2022г. данные включая область Абай", "область Абай", "Абай облысы"),
    "Akmola": ("Акмолинская область", "Акмолинская область", "Ақмола облысы"),
    "Aktobe": ("Актюбинская область", "Актюбинская область", "Ақтөбе облысы"),
    "Almaty Region": (
        "Основные индикаторы рынка труда по Алматинской области 2014-2023гг.1)",
        "Алматинская область",
        "Алматы облысы",
    ),
    "Almaty city": ("г.Алматы", "город Алматы", "Алматы қаласы"),
    "Astana city": ("г. Астана", "город Астана", "Астана қаласы"),
    "Atyrau": ("Атырауская", "Атырауская область", "Атырау облысы"),
    "East Kazakhstan": (
        "Восточно-Казахстанская область",
        "Восточно-Казахстанская область",
        "Шығыс Қазақстан облысы",
    ),
    "Jetisu": ("Область Жетісу", "область Жетісу", "Жетісу облысы"),
    "Karaganda": ("Карагандинская", "Карагандинская область", "Қарағанды облысы"),
    "Kostanay": ("Костанайская область", "Костанайская область", "Қостанай облысы"),
    "Kyzylorda": ("Кызылординская область", "Кызылординская область", "Қызылорда облысы"),
    "Mangystau": ("Мангистауская область", "Мангистауская область", "Маңғыстау облысы"),
    "North Kazakhstan": (
        "Северо-Казахстанская область",
        "Северо-Казахстанская область",
        "Солтүстік Қазақстан облысы",
    ),
    "Pavlodar": ("Павлодарская область", "Павлодарская область", "Павлодар облысы"),
    "Shymkent city": ("г.Шымкент", "город Шымкент", "Шымкент қаласы"),
    "Turkistan": ("Туркестанская", "Туркестанская область", "Түркістан облысы"),
    "Ulytau": (
        "Основные индикаторы рынка труда по районам области Ұлытау 2023гг.1)",
        "область Ұлытау",
        "Ұлытау облысы",
    ),
    "West Kazakhstan": (
        "Западно-Казахстанская",
        "Западно-Казахстанская область",
        "Батыс Қазақстан облысы",
    ),
    "Zhambyl": ("Жамбылская область", "Жамбылская область", "Жамбыл облысы"),
}

PREFIX = re.compile(r"^(?:г\.\s*а\.|г\.|город|моногорода|моногород)\s*", re.IGNORECASE)
SUFFIX = re.compile(r"\s*(?:г\.\s*а\.|\(моногород\))$", re.IGNORECASE)


def labels_of(path: Path) -> set[str]:
    """Sheet names and first-column cells of a Bureau workbook (stripped, spaces collapsed)."""
    book = pd.read_excel(path, sheet_name=None, header=None, engine="calamine")
    out = {str(s).strip() for s in book}
    for df in book.values():
        if df.shape[1]:
            out |= {" ".join(str(v).split()) for v in df.iloc[:, 0].dropna()}
    return out


def find(label: str, books: dict[str, set[str]]) -> str:
    for name, labels in books.items():
        if label in labels:
            return f"{name}|{label}"
    raise SystemExit(f"label {label!r} not found in any Bureau workbook under {RAW}")


def ru_from_label(label: str) -> str:
    return SUFFIX.sub("", PREFIX.sub("", label)).strip()


def main() -> None:
    books = {
        str(p.relative_to(SHARED)): labels_of(p)
        for p in sorted(RAW.rglob("*.xls*"))
        if p.name != "Employment_sources.xlsx"
    }
    units = pd.read_csv(ROOT / "data" / "kz_towns" / "units.csv", dtype=str)
    mono = pd.read_csv(SHARED / "monotowns.csv", dtype=str).set_index("town")
    kk = dict(zip(units["unit_id"], units["name_kk"]))
    ru_units = dict(zip(units["unit_id"], units["name_ru"]))
    towns = set(units["unit_id"])
    for col in ("nearest_city_250k", "region_centre"):
        towns |= {ALIASES.get(v, v) for v in units[col].dropna()}
    rows = []
    for town in sorted(towns):
        label = TOWN_LABELS.get(town)
        if label:
            ru, ru_src = ru_from_label(label), find(label, books)
        elif town in mono.index and isinstance(mono.at[town, "name_ru"], str):
            ru, ru_src = mono.at[town, "name_ru"], "monotowns.csv|name_ru"
        elif isinstance(ru_units.get(town), str) and ru_units[town]:
            ru, ru_src = ru_units[town], "kz_towns/units.csv|name_ru"
        else:
            ru, ru_src = "", ""
        k = kk.get(town)
        kk_src = "kz_towns/units.csv|name_kk" if isinstance(k, str) and k else ""
        rows.append(["town", town, ru, ru_src, k or "", kk_src])
    for alias, town in ALIASES.items():
        rows.append(["alias", alias, town, "", "", ""])
    for region, (label, ru, kk_name) in sorted(REGIONS.items()):
        rows.append(["region", region, ru, find(label, books), kk_name, "official name"])
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["kind", "key", "ru", "ru_source", "kk", "kk_source"])
        w.writerows(rows)
    missing = [r[1] for r in rows if r[0] == "town" and not r[2]]
    print(
        f"wrote {OUT}: {len(rows)} rows; towns without a Russian label ({len(missing)}): {missing}"
    )


if __name__ == "__main__":
    main()
