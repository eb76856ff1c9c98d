"""Census re-basing: splice a series across a known level break before a model learns from it.

After a census the statistics office re-bases its annual estimates: the series jumps in the
census year by the error the estimates had accumulated since the previous census (Kazakhstan:
1999, 2009 and the 2021 census, printed from 1 January 2022). The jump is no growth: a model
that learns growth from pairs of years across it, or reads recent growth at an anchor just
after it, takes a one-off correction for a trend (on the Kazakh districts the mean relative
growth was -4.9% in 2009 against -1% to -1.4% in the years around it).

`splice` removes the break from a (key, year, value) series: at each re-basing year `y` the
key's excess growth `g(y) - mean g(y-3..y-1)` (the growth of the break year beyond the mean of
up to three years before it) is taken as the break, and every value before `y` is moved to the
new level by it. Only years up to `y` are read, so a series spliced at years up to an origin
reads nothing after that origin. Keys without values at `y - 1` and `y` are left as they are.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy.stats import norm

from . import hierarchy
from .schema import Dataset

PRIOR_YEARS = 3


def breaks(obs: pd.DataFrame, years: list[int], key: str = "unit_id") -> pd.DataFrame:
    """The log level break (columns key, year, jump) of every key at every re-basing year in
    `years` where the key is observed in `y - 1` and `y` (`obs`: key, year, value > 0)."""
    wide = obs.drop_duplicates([key, "year"]).pivot(index="year", columns=key, values="value")
    if wide.empty:
        return pd.DataFrame(columns=[key, "year", "jump"])
    wide = wide.reindex(np.arange(int(wide.index.min()), int(wide.index.max()) + 1))
    g = np.log(wide).diff()
    rows = []
    for y in sorted(set(years)):
        if y not in g.index:
            continue
        prior = g.loc[y - PRIOR_YEARS : y - 1].mean()  # NaN-skipping mean of what exists
        jump = g.loc[y] - prior.fillna(0.0)
        jump = jump[g.loc[y].notna()]
        rows.append(pd.DataFrame({key: jump.index, "year": y, "jump": jump.to_numpy()}))
    if not rows:
        return pd.DataFrame(columns=[key, "year", "jump"])
    return pd.concat(rows, ignore_index=True)


def splice(obs: pd.DataFrame, years: list[int], key: str = "unit_id") -> pd.DataFrame:
    """`obs` (key, year, value, ...) with every value before each re-basing year `y` scaled by
    that key's break at `y` (see `breaks`): the series continues at the re-based level."""
    if obs.empty or not years:
        return obs
    b = breaks(obs[[key, "year", "value"]], years, key)
    if b.empty:
        return obs
    out = obs.copy()
    log_factor = np.zeros(len(out))
    year = out["year"].to_numpy()
    for y, g in b.groupby("year"):
        jump = out[key].map(pd.Series(g["jump"].to_numpy(), index=g[key])).fillna(0.0)
        log_factor += np.where(year < y, jump.to_numpy(dtype=float), 0.0)
    out["value"] = out["value"].to_numpy(dtype=float) * np.exp(log_factor)
    return out


def spliced(data: Dataset, years: dict[str, list[int]], origin: int) -> Dataset:
    """`data` with each target in `years` spliced at its re-basing years up to `origin`: the
    units' panel column, and the country and region totals where the dataset has them."""
    panel, country, regions = data.panel, data.country, data.regions
    for target, ys in years.items():
        ys = [y for y in ys if y <= origin]
        if not ys or target not in panel:
            continue
        panel = _splice_column(panel, "unit_id", target, ys)
        if country is not None and target in country:
            country = _splice_column(country.assign(_k="_"), "_k", target, ys).drop(columns="_k")
        if regions is not None and target in regions:
            regions = _splice_column(regions, "region", target, ys)
    return dataclasses.replace(data, panel=panel, country=country, regions=regions)


def _splice_column(frame: pd.DataFrame, key: str, column: str, years: list[int]) -> pd.DataFrame:
    has = frame[column].notna() & (frame[column] > 0)
    obs = frame.loc[has, [key, "year", column]].rename(columns={column: "value"})
    fixed = splice(obs, years, key)
    out = frame.copy()
    out.loc[has, column] = fixed["value"].to_numpy()
    return out


def relative_breaks(data: Dataset, target: str, years: list[int], origin: int) -> pd.DataFrame:
    """(unit_id, year, jump): each top-level unit's break at every re-basing year up to
    `origin`, minus the national break (of `country.csv` where the dataset has the target,
    else the median unit break): the part of a re-basing no national series carries."""
    ys = [y for y in years if y <= origin]
    cut = data.up_to(origin)
    top = hierarchy.top_level(cut.units)
    panel = cut.panel[cut.panel["unit_id"].isin(top) & (cut.panel[target] > 0)]
    obs = panel[["unit_id", "year", target]].rename(columns={target: "value"})
    b = breaks(obs, ys)
    if b.empty:
        return b
    national = {}
    if cut.country is not None and target in cut.country:
        c = cut.country.loc[cut.country[target] > 0, ["year", target]]
        nb = breaks(c.assign(key="_").rename(columns={target: "value"}), ys, "key")
        national = dict(zip(nb["year"], nb["jump"], strict=True))
    med = b.groupby("year")["jump"].median()
    b["jump"] = b["jump"] - b["year"].map(lambda y: national.get(y, med[y]))
    return b.reset_index(drop=True)


def breaks_between(rows: pd.DataFrame, unit_breaks: pd.DataFrame) -> np.ndarray:
    """For rows (unit_id, t0, year): the sum of the unit's breaks at re-basing years in
    (t0, year], i.e. the part of the change from the anchor to the outcome that is re-basing."""
    out = np.zeros(len(rows))
    if unit_breaks.empty:
        return out
    uid, t0, yr = rows["unit_id"].to_numpy(), rows["t0"].to_numpy(), rows["year"].to_numpy()
    for y, g in unit_breaks.groupby("year"):
        jump = pd.Series(g["jump"].to_numpy(), index=g["unit_id"]).reindex(uid).fillna(0.0)
        out += np.where((t0 < y) & (y <= yr), jump.to_numpy(), 0.0)
    return out


class RebasingRisk:
    """Intervals widened by the chance of a census re-basing within the span.

    Wraps a fitted interval estimator (anything with `quantiles(span, p0)` and `summary()`)
    whose residuals were cleaned of past re-basing breaks. A re-basing falls within a span of
    `s` years with probability `min(1, s / period)` (a census every `period` years, its date
    not assumed known) and then moves a unit by a break drawn from `jumps` (the units' breaks
    at past re-basings, relative to the national one). The base error is taken as normal with
    the base interval's width; each bound is the level quantile of the mixture. `probability`
    (span -> chance of a re-basing within it: `census_calendar.CensusWindow`) replaces
    `s / period` where the date of the last re-basing is known."""

    def __init__(self, base, jumps, period: float, level: float, probability=None):
        self.base = base
        j = np.asarray(jumps, dtype=float)
        self.jumps = j[np.isfinite(j)]
        self.period = float(period)
        self.level = float(level)
        self.probability = probability

    def _widen(self, q: float, span: float) -> float:
        if q <= 0 or not len(self.jumps):
            return q
        p = self.probability(span) if self.probability else min(1.0, span / self.period)
        if p <= 0:
            return q
        sigma = q / norm.ppf(0.5 + self.level / 2)
        j = np.concatenate([self.jumps, -self.jumps])  # symmetric: the sign is not carried

        def inside(x: float) -> float:
            jumped = np.mean(norm.cdf((x - j) / sigma) - norm.cdf((-x - j) / sigma))
            calm = norm.cdf(x / sigma) - norm.cdf(-x / sigma)
            return (1 - p) * calm + p * jumped

        lo, hi = q, q + float(np.abs(j).max()) + 5 * sigma
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if inside(mid) >= self.level else (mid, hi)
        return hi

    def quantiles(self, span, p0) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.base.quantiles(span, p0)
        span = np.asarray(span, dtype=float)
        out_lo, out_hi = np.empty(len(lo)), np.empty(len(hi))
        keys = pd.DataFrame({"lo": lo, "hi": hi, "span": span})
        for (a, b, s), idx in keys.groupby(["lo", "hi", "span"]).groups.items():
            out_lo[idx] = -self._widen(-a, s)
            out_hi[idx] = self._widen(b, s)
        return out_lo, out_hi

    def summary(self) -> pd.DataFrame:
        return self.base.summary()
