"""The report's scenario data, read from a run folder (optional: a run without scenarios has
none): each scenario's line per town and target, the category under each scenario, and which
towns keep their category under all of them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

# columns of scenario_categories.csv shown under each scenario; their words are the category
# card's (i18n.json: prob_decline, prob_mid, prob_growth), so the two never disagree
PROBABILITIES = ("p_decline", "p_stabilize", "p_growth")
LABELS = {
    "en": {
        "title": "Scenarios",
        "table": "Category under each scenario",
        "scenario": "scenario",
        "category": "category",
        "change": "change to the policy horizon",
        "changed": "changes the category",
        "baseline": "baseline (no event)",
        "robust": "Category robust to all scenarios",
        "not_robust": "Category changed by",
        "none": "No scenario file was applied to this run.",
        "line": "line: scenario forecast; the band is the baseline's 80% range",
    },
    "ru": {
        "title": "Сценарии",
        "table": "Категория при каждом сценарии",
        "scenario": "сценарий",
        "category": "категория",
        "change": "изменение к горизонту политики",
        "changed": "меняет категорию",
        "baseline": "базовый (без событий)",
        "robust": "Категория устойчива ко всем сценариям",
        "not_robust": "Категорию меняют",
        "none": "К этому прогону сценарии не применялись.",
        "line": "линия: прогноз по сценарию; полоса — 80% диапазон базового прогноза",
    },
    "kk": {
        "title": "Сценарийлер",
        "table": "Әр сценарий бойынша санат",
        "scenario": "сценарий",
        "category": "санат",
        "change": "саясат көкжиегіне дейінгі өзгеріс",
        "changed": "санатты өзгертеді",
        "baseline": "базалық (оқиғасыз)",
        "robust": "Санат барлық сценарийлерге төзімді",
        "not_robust": "Санатты өзгертетіндер",
        "none": "Бұл есептеуге сценарийлер қолданылмаған.",
        "line": "сызық: сценарий болжамы; жолақ — базалық болжамның 80% ауқымы",
    },
}


def _read(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pd.read_csv(path, dtype={"unit_id": str})
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None


def _num(x, nd: int = 4):
    return None if pd.isna(x) else round(float(x), nd)


def scenario_payload(folder: Path) -> dict | None:
    """None when the run has no scenarios.csv and scenario_categories.csv."""
    traj = _read(folder / "scenarios.csv")
    cats = _read(folder / "scenario_categories.csv")
    if traj is None or cats is None:
        return None
    descriptions: dict[str, str] = {}
    spec = folder / "scenarios.yaml"
    if spec.exists():
        try:
            raw = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
            descriptions = {
                s["name"]: s.get("description", "") for s in raw.get("scenarios", []) if "name" in s
            }
        except (OSError, yaml.YAMLError, TypeError, KeyError):
            descriptions = {}
    names = [n for n in pd.unique(cats["scenario"]) if n != "baseline"]
    lines: dict[str, dict] = {}
    for (uid, target, name), g in traj.groupby(["unit_id", "target", "scenario"], sort=False):
        g = g.sort_values("year")
        lines.setdefault(str(uid), {}).setdefault(target, {})[name] = [
            [int(r.year), _num(r.forecast, 1), _num(r.lower, 1), _num(r.upper, 1)]
            for r in g.itertuples()
        ]
    by_unit: dict[str, list] = {}
    for r in cats.itertuples():
        by_unit.setdefault(str(r.unit_id), []).append(
            {
                "scenario": r.scenario,
                "category": r.category,
                # the outcome probabilities, as on the category card (not a "confidence")
                **{k: _num(getattr(r, k, None), 3) for k in PROBABILITIES},
                "change_pct": _num(r.change_pct, 2),
                "changed": bool(r.changed),
            }
        )
    robust = {}
    for uid, rows in by_unit.items():
        changed = [f"{x['scenario']} ({x['category']})" for x in rows if x["changed"]]
        robust[uid] = {
            "robust": not changed,
            "changed_by": changed,
            # the same, for the page's language (the category's name is translated there)
            "changes": [
                {"scenario": x["scenario"], "category": x["category"]} for x in rows if x["changed"]
            ],
        }
    return {
        "names": [{"name": n, "description": descriptions.get(n, "")} for n in names],
        "lines": lines,
        "categories": by_unit,
        "robust": robust,
        "labels": LABELS,
    }
