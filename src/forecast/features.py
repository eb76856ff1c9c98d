"""Training pairs and features, computed from observations at or before each anchor year.

A *pair* is two observations of one unit, `t0 < t1`; the model learns the growth from `t0` to
`t1` from what was known at `t0`. With annual data the pairs are the usual (origin, origin + h)
rows; with census years plus scattered estimates they are whatever pairs the data holds, and the
span `t1 - t0` is a feature. Forecasting from an as-of year T uses each unit's latest
observation `t0 <= T` and spans `T + h - t0`. Every feature of an anchor reads only rows with
year <= t0, which is what makes the no-leakage property hold by construction.

Feature names describe themselves because they appear in SHAP tables and reports.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from .components import REPLACED, component_series
from .reference import COUNTRY, Reference
from .schema import DESCRIPTIVE_UNIT_COLUMNS, TARGETS, Dataset

GROWTH_SPANS = (1, 3, 5, 10, 20)
REGION_SPANS = (5, 10, 20)  # opt-in (issue 11): growth relative to the unit's own region
PREFIX = {"population": "pop", "employment": "emp"}
MAX_CATEGORY_LEVELS = 60


def observations(panel: pd.DataFrame, column: str) -> pd.DataFrame:
    """(unit_id, year, value) rows where `column` is observed, sorted."""
    obs = panel.loc[panel[column].notna(), ["unit_id", "year", column]]
    return (
        obs.rename(columns={column: "value"})
        .sort_values(["unit_id", "year"])
        .reset_index(drop=True)
    )


def _asof(points: pd.DataFrame, on: str, obs: pd.DataFrame, direction: str) -> pd.DataFrame:
    """For each point, the observation of the same unit nearest to `points[on]` in `direction`."""
    left = points[["unit_id", on]].reset_index()
    left[on] = left[on].astype(float)
    left = left[left[on].notna()].sort_values(on, kind="mergesort")
    right = obs.rename(columns={"year": "obs_year", "value": "obs_value"}).copy()
    right["obs_year"] = right["obs_year"].astype(float)
    right = right.sort_values("obs_year", kind="mergesort")
    merged = pd.merge_asof(
        left, right, left_on=on, right_on="obs_year", by="unit_id", direction=direction
    )
    return merged.set_index("index").reindex(points.index)[["obs_year", "obs_value"]]


def latest(points: pd.DataFrame, obs: pd.DataFrame, at: str = "t0") -> pd.DataFrame:
    """Latest observation at or before `points[at]`."""
    return _asof(points, at, obs, "backward")


def growth(
    points: pd.DataFrame,
    obs: pd.DataFrame,
    years: int,
    anchor: str = "t0",
    anchor_value: str = "v0",
) -> tuple[pd.Series, pd.Series]:
    """Annualised log growth over about `years` years up to the anchor, and the earlier year used.

    The earlier observation is the one nearest to `anchor - years` among those strictly before
    the anchor; it counts only if the actual gap lies in [years/2, 2*years].
    """
    pts = points.assign(ref=points[anchor] - years)
    back = _asof(pts, "ref", obs, "backward")
    fwd = _asof(pts, "ref", obs, "forward")
    fwd = fwd.where(fwd["obs_year"] < pts[anchor])
    use_fwd = back["obs_year"].isna() | (
        (fwd["obs_year"] - pts["ref"]) < (pts["ref"] - back["obs_year"])
    )
    chosen = back.where(~use_fwd, fwd)
    gap = pts[anchor] - chosen["obs_year"]
    ok = (gap >= max(1.0, years / 2)) & (gap <= 2 * years)
    g = (np.log(pts[anchor_value]) - np.log(chosen["obs_value"])) / gap
    return g.where(ok), chosen["obs_year"].where(ok)


class FeatureBuilder:
    """Builds the feature table for one target from a (cut) dataset."""

    def __init__(
        self,
        data: Dataset,
        target: str,
        refs: dict[str, Reference],
        *,
        region_relative: bool = False,
    ):
        self.target = target
        self.region_relative = region_relative
        self.data = data
        self.refs = refs
        self.obs = {t: observations(data.panel, t) for t in data.targets}
        self.region = data.units["region"]
        self.static = self._static(data.units)
        self.indicators = self._indicators(data.panel, data.indicators)
        for name, obs in component_series(data.panel, data.units).items():
            self.indicators[name] = (obs, False)

    @staticmethod
    def _static(units: pd.DataFrame) -> pd.DataFrame:
        keep = {}
        for c in units.columns:
            if c in DESCRIPTIVE_UNIT_COLUMNS or c == "region":
                continue
            col = units[c]
            if pd.api.types.is_numeric_dtype(col):
                keep[c] = col.astype(float)
            else:
                levels = col.dropna().unique()
                # free text (one value per unit) cannot be learned; skip it
                if 1 < len(levels) <= MAX_CATEGORY_LEVELS and len(levels) <= 0.5 * len(units):
                    keep[c] = col.astype("category")
        return pd.DataFrame(keep, index=units.index)

    @staticmethod
    def _indicators(panel: pd.DataFrame, names: list[str]) -> dict[str, tuple[pd.DataFrame, bool]]:
        out = {}
        for c in names:
            if c in REPLACED:  # enters in its derived form only (forecast.components)
                continue
            obs = observations(panel, c)
            if obs.empty:
                continue
            both = panel[c].notna() & panel["population"].notna()
            ratio = panel.loc[both, c] / panel.loc[both, "population"]
            share = len(ratio) > 0 and float(((ratio >= 0) & (ratio <= 1.05)).mean()) >= 0.95
            if share:  # a count of people: its share of the population is comparable
                sub = panel.loc[both, ["unit_id", "year"]].assign(value=ratio.to_numpy())
                obs = sub.sort_values(["unit_id", "year"]).reset_index(drop=True)
            out[c] = (obs, share)
        return out

    def _ref_growth(self, key_years0, key_years1, ref: Reference | None, key=COUNTRY):
        if ref is None or not ref.has(key):
            return pd.Series(np.nan, index=key_years0.index)
        r0 = ref.at(key, key_years0.to_numpy())
        r1 = ref.at(key, key_years1.to_numpy())
        return pd.Series(np.log(r0) - np.log(r1), index=key_years0.index)

    def _region_growth(
        self, points: pd.DataFrame, a: pd.Series, y_prev: pd.Series, ref: Reference | None
    ) -> pd.Series:
        """Annualised log growth of each point's region between `y_prev` and `a` (NaN where the
        region total is unknown at either year)."""
        out = pd.Series(np.nan, index=points.index)
        if ref is None:
            return out
        ok = (y_prev.notna() & a.notna()).to_numpy()
        for region, m in self._regions(points, ref, ok):
            r0 = ref.at(region, a.to_numpy(dtype=float)[m])
            rb = ref.at(region, y_prev.to_numpy(dtype=float)[m])
            span = a.to_numpy(dtype=float)[m] - y_prev.to_numpy(dtype=float)[m]
            out.iloc[np.flatnonzero(m)] = (np.log(r0) - np.log(rb)) / span
        return out

    def _regions(
        self, points: pd.DataFrame, ref: Reference, among: np.ndarray | None = None
    ) -> Iterator[tuple[str, np.ndarray]]:
        """Each region with a reference series, and the mask of `points` (within `among`)
        whose unit lies in it."""
        regions = self.region.reindex(points["unit_id"].to_numpy()).astype(str).to_numpy()
        among = np.ones(len(points), dtype=bool) if among is None else among
        for region in pd.unique(regions[among]):
            if ref.has(region):
                yield region, among & (regions == region)

    def build(self, points: pd.DataFrame) -> pd.DataFrame:
        """Features for anchors `points` (columns unit_id, t0: a year the target is observed)."""
        feats = pd.DataFrame(index=points.index)
        for tgt in TARGETS:
            if tgt not in self.obs:
                continue
            p = PREFIX[tgt]
            ref = self.refs.get(tgt)
            cur = latest(points, self.obs[tgt])
            if tgt != self.target:
                feats[f"{p}_age"] = points["t0"] - cur["obs_year"]
            pts = points.assign(a=cur["obs_year"], v0=cur["obs_value"])
            feats[f"{p}_log"] = np.log(pts["v0"])
            for k in GROWTH_SPANS:
                g, y_prev = growth(pts, self.obs[tgt], k, anchor="a")
                feats[f"{p}_growth_{k}y"] = g
                rg = self._ref_growth(pts["a"], y_prev, ref) / (pts["a"] - y_prev)
                feats[f"{p}_rel_growth_{k}y"] = g - rg
                if tgt == self.target and self.region_relative and k in REGION_SPANS:
                    feats[f"{p}_rel_region_growth_{k}y"] = g - self._region_growth(
                        points, pts["a"], y_prev, ref
                    )
            if tgt == self.target and self.region_relative:
                # a turn in the unit's own trend (the 1970s rural rebound, the 1980s farm
                # crisis): recent relative growth against the long-run one
                feats[f"{p}_rel_growth_change_5y_20y"] = (
                    feats[f"{p}_rel_growth_5y"] - feats[f"{p}_rel_growth_20y"]
                )
            if tgt == self.target:
                prev = _asof(pts.assign(b=pts["a"] - 1), "b", self.obs[tgt], "backward")
                feats[f"{p}_obs_gap"] = pts["a"] - prev["obs_year"]
        if "population" in self.obs and "employment" in self.obs:
            feats["emp_to_pop_log"] = feats["emp_log"] - feats["pop_log"]
        self._region_context(points, feats)
        for c, (obs, share) in self.indicators.items():
            cur = latest(points, obs)
            fresh = (points["t0"] - cur["obs_year"]) <= 5
            feats[f"{c}_share" if share else c] = cur["obs_value"].where(fresh)
        static = self.static.reindex(points["unit_id"].to_numpy())
        static.index = points.index
        return pd.concat([feats, static], axis=1)

    def _region_context(self, points: pd.DataFrame, feats: pd.DataFrame) -> None:
        ref = self.refs.get(self.target)
        if ref is None:
            return
        t0 = points["t0"].to_numpy(dtype=float)
        p = PREFIX[self.target]
        share = np.full(len(points), np.nan)
        rel = {k: np.full(len(points), np.nan) for k in (5, 10)}
        country = {k: ref.at(COUNTRY, t0) / ref.at(COUNTRY, t0 - k) for k in (5, 10)}
        for region, m in self._regions(points, ref):
            r0 = ref.at(region, t0[m])
            share[m] = np.log(np.exp(feats.loc[m, f"{p}_log"].to_numpy()) / r0)
            for k in (5, 10):
                rk = ref.at(region, t0[m] - k)
                rel[k][m] = (np.log(r0 / rk) - np.log(country[k][m])) / k
        feats[f"{p}_share_of_region_log"] = share
        for k in (5, 10):
            feats[f"region_rel_growth_{k}y"] = rel[k]


def pairs(
    obs: pd.DataFrame, max_span: int, max_pairs: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """Pairs of observations of the same unit with 1 <= t1 - t0 <= max_span.

    Built by shifting the sorted observations k places (k = 1, 2, ...), so memory stays linear
    in the number of observations. With `max_pairs`, each pair is kept with the same
    probability (a uniform random sample, reproducible from `seed`).
    """
    o = obs.sort_values(["unit_id", "year"], kind="mergesort").reset_index(drop=True)
    unit = o["unit_id"].to_numpy()
    year = o["year"].to_numpy()
    value = o["value"].to_numpy(dtype=float)

    def valid(k: int) -> np.ndarray:
        same = unit[k:] == unit[:-k]
        span = year[k:] - year[:-k]
        return same & (span >= 1) & (span <= max_span)

    ks, total = [], 0
    for k in range(1, len(o)):
        ok = valid(k)
        if not ok.any():
            break
        ks.append(k)
        total += int(ok.sum())
    keep_p = 1.0 if not max_pairs or total <= max_pairs else max_pairs / total
    rng = np.random.default_rng(seed)
    frames = []
    for k in ks:
        ok = valid(k)
        if keep_p < 1.0:
            ok &= rng.random(len(ok)) < keep_p
        idx = np.flatnonzero(ok)
        frames.append(
            pd.DataFrame(
                {
                    "unit_id": unit[idx],
                    "t0": year[idx],
                    "v0": value[idx],
                    "t1": year[idx + k],
                    "v1": value[idx + k],
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            {
                "unit_id": pd.Series(dtype=str),
                "t0": pd.Series(dtype=int),
                "v0": pd.Series(dtype=float),
                "t1": pd.Series(dtype=int),
                "v1": pd.Series(dtype=float),
            }
        )
    return pd.concat(frames, ignore_index=True)


def inconsistent_features(
    train: pd.DataFrame,
    weights: np.ndarray,
    anchors: pd.DataFrame,
    tolerance: float,
) -> list[str]:
    """Features whose availability at the forecast anchors differs from that in the training
    pairs by more than `tolerance` (absolute difference of the observed share; training pairs
    weighted by `weights`).

    A feature observed at the anchor but missing from most training pairs (a labour survey that
    starts late, regional totals from 2000) gives the model a value it learned almost nothing
    about, and one missing at the anchor but observed in training sends every forecast down the
    "missing" branch; both bias the forecast. Dropping such features keeps the model on what it
    was trained with. Columns absent from `anchors` count as unobserved there."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum() if len(w) and w.sum() > 0 else np.full(len(train), 1.0 / max(len(train), 1))
    out = []
    for c in train.columns:
        trained = float(np.dot(w, train[c].notna().to_numpy(dtype=float)))
        at = float(anchors[c].notna().mean()) if c in anchors and len(anchors) else 0.0
        if abs(trained - at) > tolerance:
            out.append(c)
    return out
