"""The run folder's tables as the report's pieces: series, observations, drivers, records.

Every piece has named fields (no positional arrays): a forecast point is
``{h, year, value, lower, upper}``, an observation ``{year, value, kind, source?, note?}``
(``source`` and ``note`` index the payload's ``sources`` and ``notes`` lists, each text once),
a driver ``{driver, persons, pct}``, a year of the components of change
``{year, births, deaths, natural, migration, per1000: {births, deaths, natural, migration}}``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import text as tx
from .rundir import RunFolder


def number(x, nd: int | None = None):
    """A JSON-safe number (None for missing), optionally rounded; whole numbers as int."""
    if not tx.is_num(x):
        return None
    v = float(x)
    if nd is not None:
        v = round(v, nd)
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def text(x) -> str | None:
    """A non-empty string, or None for missing values."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    s = str(x)
    return s if s.strip() and s != "nan" else None


class RunTables:
    """Convenience views of the run folder's tables (every file but categories.csv optional)."""

    def __init__(self, run: RunFolder):
        self.run = run
        self.cats = run.table("categories")
        self.policy = run.doc("policy")
        self.config = run.doc("config")
        self.meta = run.doc("run")
        self.target = str(self.policy.get("target") or "population")
        self.horizon = int(self.policy.get("horizon") or 10)
        self.forecasts = self._forecasts()
        self.level = self._level()
        units = run.table("units")
        self.units = (
            units.set_index("unit_id") if units is not None and "unit_id" in units else None
        )
        self.history = run.table("history")
        if self.history is not None and not {"unit_id", "year", "value"} <= set(self.history):
            self.history = None
        if self.history is not None and "target" not in self.history:
            self.history = self.history.assign(target=self.target)

    def _level(self) -> float:
        lv = self.config.get("level")
        fc = self.forecasts
        if not tx.is_num(lv) and fc is not None and "level" in fc and fc["level"].notna().any():
            lv = fc["level"].dropna().iloc[0]
        return float(lv) if tx.is_num(lv) else 0.8

    def _forecasts(self) -> pd.DataFrame | None:
        fc = self.run.table("forecasts")
        need = {"unit_id", "horizon", "year", "forecast"}
        if fc is None or not need <= set(fc):
            return None
        if "target" not in fc:
            fc = fc.assign(target=self.target)
        if "model" in fc and (fc["model"] == "combined").any():
            fc = fc[fc["model"] == "combined"]
        for c in ("lower", "upper"):
            if c not in fc:
                fc = fc.assign(**{c: np.nan})
        return fc.drop_duplicates(["unit_id", "target", "horizon"])

    def as_of(self) -> int | None:
        as_of = self.meta.get("as_of")
        fc = self.forecasts
        if not tx.is_num(as_of) and fc is not None and "origin_year" in fc:
            as_of = fc["origin_year"].max()
        return int(as_of) if tx.is_num(as_of) else None

    def horizons(self) -> list[int]:
        """Horizons forecast for the policy's target."""
        fc = self.forecasts
        if fc is None:
            return []
        return sorted(int(h) for h in fc.loc[fc["target"] == self.target, "horizon"].unique())

    def unit_row(self, uid: str) -> pd.Series | None:
        """The unit's row of units.csv (the first, if the id repeats)."""
        if self.units is None or uid not in self.units.index:
            return None
        row = self.units.loc[uid]
        return row.iloc[0] if isinstance(row, pd.DataFrame) else row

    def forecast_series(self) -> dict:
        """(unit, target) -> {horizon: {year, value, lower, upper}}."""
        out: dict = {}
        fc = self.forecasts
        if fc is None:
            return out
        cols = [
            fc[c].tolist()
            for c in ("unit_id", "target", "horizon", "year", "forecast", "lower", "upper")
        ]
        for uid, t, h, y, f, lo, hi in zip(*cols):
            if tx.is_num(h) and tx.is_num(y):
                out.setdefault((str(uid), str(t)), {})[int(h)] = {
                    "year": int(y),
                    "value": number(f, 1),
                    "lower": number(lo, 1),
                    "upper": number(hi, 1),
                }
        return out

    def history_series(self) -> tuple[dict, list[str], list[dict]]:
        """(unit, target) -> [{year, value, kind, source?, note?}], notes, sources."""
        out: dict = {}
        notes: list[str] = []
        sources: list[dict] = []
        h = self.history
        if h is None or h.empty:
            return out, notes, sources
        h = h[h["value"].notna()].sort_values(["unit_id", "target", "year"])
        none = pd.Series(None, index=h.index)
        kind = h["kind"].fillna("").astype(str).str.lower() if "kind" in h else none.fillna("")
        url = h["source_url"] if "source_url" in h else none
        note = h["source_note"] if "source_note" in h else none
        url_idx: dict[str, int] = {}
        note_idx: dict[str, int] = {}
        for uid, t, y, v, k, su, sn in zip(
            h["unit_id"], h["target"], h["year"], h["value"], kind, url, note
        ):
            o = {"year": int(y), "value": number(v, 1), "kind": k}
            su, sn = text(su), text(sn)
            if su:
                if su not in url_idx:
                    url_idx[su] = len(sources)
                    sources.append({"url": su, "n": 0})
                o["source"] = url_idx[su]
                sources[o["source"]]["n"] += 1
            if sn:
                if sn not in note_idx:
                    note_idx[sn] = len(notes)
                    notes.append(sn)
                o["note"] = note_idx[sn]
            out.setdefault((str(uid), str(t)), []).append(o)
        return out, notes, sources

    def latest(self) -> dict:
        """(unit, target) -> {year, value} of the last observation."""
        out: dict = {}
        if self.history is None:
            return out
        h = self.history[self.history["value"].notna()]
        idx = h.groupby(["unit_id", "target"])["year"].idxmax()
        for (uid, t), i in idx.items():
            out[(str(uid), str(t))] = {
                "year": int(h.at[i, "year"]),
                "value": number(h.at[i, "value"], 1),
            }
        return out

    def components(self) -> dict:
        """unit -> [{year, births, deaths, natural, migration, per1000}], oldest first.

        components.csv stores a flow at the 1 January by which it is complete (the births of
        calendar year t at year t + 1, beside the population of 1 January t + 1). A record here
        is one calendar year t: its flows in persons, and per 1,000 residents of the year's mean
        population, (P(1 Jan t) + P(1 Jan t+1)) / 2, or the one of the two that is known.
        Units without births, deaths or migration are left out.
        """
        c = self.run.table("components")
        if c is None or c.empty or not {"unit_id", "year"} <= set(c):
            return {}
        c = c.sort_values(["unit_id", "year"], kind="mergesort").reset_index(drop=True)
        if "natural_increase" not in c and {"births", "deaths"} <= set(c):
            c["natural_increase"] = c["births"] - c["deaths"]
        if "net_migration" not in c and {"arrivals", "departures"} <= set(c):
            c["net_migration"] = c["arrivals"] - c["departures"]
        flows = {
            "births": "births",
            "deaths": "deaths",
            "natural": "natural_increase",
            "migration": "net_migration",
        }
        flows = {k: col for k, col in flows.items() if col in c}
        if not flows:
            return {}
        pop = c["population"] if "population" in c else pd.Series(np.nan, index=c.index)
        prev = pop.groupby(c["unit_id"]).shift(1)
        prev = prev.where(c["year"].groupby(c["unit_id"]).shift(1) == c["year"] - 1)
        mean = pd.concat([prev, pop], axis=1).mean(axis=1)  # the known one when one is missing
        out: dict = {}
        keep = c[list(flows.values())].notna().any(axis=1)
        for i in c.index[keep]:
            rec: dict = {"year": int(c.at[i, "year"]) - 1}
            per1000: dict = {}
            for key, col in flows.items():
                v = c.at[i, col]
                rec[key] = number(v, 0)
                m = mean.at[i]
                per1000[key] = number(1000 * v / m, 2) if tx.is_num(m) and m > 0 else None
            rec["per1000"] = per1000
            out.setdefault(str(c.at[i, "unit_id"]), []).append(rec)
        return out

    def drivers(self) -> dict:
        """unit -> [{driver, persons, pct}] at the policy horizon, largest first."""
        d = self.run.table("drivers")
        if d is None or not {"unit_id", "driver", "contribution_pct"} <= set(d):
            return {}
        if "target" in d:
            d = d[d["target"] == self.target]
        if "horizon" in d:
            d = d[d["horizon"] == self.horizon]
        if "contribution_persons" not in d:
            d = d.assign(contribution_persons=np.nan)
        d = d[d["contribution_pct"].notna()]
        d = d.assign(a=-d["contribution_pct"].abs()).sort_values(["unit_id", "a"], kind="stable")
        out: dict = {}
        for uid, name, p, pp in zip(
            d["unit_id"].tolist(),
            d["driver"].tolist(),
            d["contribution_persons"].tolist(),
            d["contribution_pct"].tolist(),
        ):
            out.setdefault(str(uid), []).append(
                {"driver": str(name), "persons": number(p, 1), "pct": number(pp, 3)}
            )
        return out

    def records(self, name: str, cols: list[str]) -> list[dict] | None:
        """A small table as records, the named columns first (None when absent or empty)."""
        df = self.run.table(name)
        if df is None or df.empty:
            return None
        keep = [c for c in cols if c in df.columns] + [c for c in df.columns if c not in cols]
        return [
            {k: (number(v, 6) if tx.is_num(v) else text(v)) for k, v in rec.items()}
            for rec in df[keep].to_dict("records")
        ]
