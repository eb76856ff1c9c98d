"""How population responds to a local employment shock, estimated from history.

The estimator is a distributed-lag regression in first differences on an annual panel:

    dp[i,t] = sum_k gamma_k * de[i,t-k] + a_i + b_t + u[i,t],   k = 0..lags

where `dp` and `de` are the yearly changes of log population and log employment *relative to
the country* (the national log change is subtracted), `a_i` a unit effect (a unit's own trend of
relative growth), `b_t` a year effect. The cumulative multiplier
`effect[h] = gamma_0 + ... + gamma_h` is the change of log relative population h years after a
permanent change of log relative employment of one, which is what a scenario event is (a town
loses or gains jobs and does not get them back). Standard errors are clustered by unit.

Employment in both panels counts employed residents, so the contemporaneous term also carries
people who move in or out together with their jobs: the estimate is a conditional relation
(population given the employment path), the one a scenario needs, not a causal multiplier of a
plant's direct jobs. See docs/scenarios.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

from .errors import ForecastError

ESTIMATE_COLUMNS = [
    "group",
    "horizon",
    "effect",
    "se",
    "lags",
    "n_obs",
    "n_units",
    "first_year",
    "last_year",
    "source",
]


def national_log_change(panel: pd.DataFrame, target: str) -> pd.Series:
    """Yearly log change of the national total of `target`, measured on the units observed in
    both years (so that units entering or leaving the panel are not growth)."""
    wide = panel.pivot(index="year", columns="unit_id", values=target).sort_index()
    prev = wide.shift()
    both = wide.notna() & prev.notna()
    # the previous row of the pivot need not be the previous calendar year
    consecutive = pd.Series(wide.index, index=wide.index).diff() == 1
    growth = np.log(wide.where(both).sum(axis=1) / prev.where(both).sum(axis=1))
    return growth.where(consecutive & (both.sum(axis=1) > 0)).rename(f"national_dlog_{target}")


def relative_changes(
    panel: pd.DataFrame,
    country: pd.DataFrame | None = None,
    break_years: tuple[int, ...] = (),
    population_break_years: tuple[int, ...] = (),
) -> pd.DataFrame:
    """unit_id, year, dp, de: yearly log changes of population and employment minus the national
    ones (from `country` (year, population, employment) where it has them, else from the units).
    Only consecutive years. The change of employment into one of `break_years` (a series
    re-based that year, e.g. US LAUS county employment in 2000) and of population into one of
    `population_break_years` (e.g. Kazakh estimates re-based on the 2021 census) is left
    missing, so that no regression row uses it."""
    cols = ["unit_id", "year", "population", "employment"]
    missing = [c for c in cols if c not in panel]
    if missing:
        raise ForecastError(f"the response needs a panel with {', '.join(missing)}")
    p = panel[cols].sort_values(["unit_id", "year"]).reset_index(drop=True)
    out = pd.DataFrame({"unit_id": p["unit_id"], "year": p["year"]})
    step = p.groupby("unit_id")["year"].diff() == 1
    for target, name in (("population", "dp"), ("employment", "de")):
        v = p[target].where(p[target] > 0)
        d = np.log(v).groupby(p["unit_id"]).diff().where(step)
        nat = national_log_change(p, target)
        if country is not None and target in country and country[target].notna().sum() > 1:
            c = country.set_index("year")[target].sort_index()
            c = c.reindex(range(int(c.index.min()), int(c.index.max()) + 1))
            nat = np.log(c).diff().combine_first(nat)
        out[name] = d - p["year"].map(nat).to_numpy()
    out.loc[out["year"].isin(break_years), "de"] = np.nan
    out.loc[out["year"].isin(population_break_years), "dp"] = np.nan
    return out.dropna(how="all", subset=["dp", "de"]).reset_index(drop=True)


def _two_way_demean(df: pd.DataFrame, cols: list[str], iterations: int = 50) -> pd.DataFrame:
    """Remove unit and year means (alternating projections; exact for a balanced panel)."""
    x = df[cols].to_numpy(dtype=float).copy()
    units, years = df["unit_id"].to_numpy(), df["year"].to_numpy()
    for _ in range(iterations):
        before = x.copy()
        for key in (units, years):
            means = pd.DataFrame(x).groupby(key).transform("mean").to_numpy()
            x -= means
        if np.abs(x - before).max() < 1e-12:
            break
    return pd.DataFrame(x, columns=cols, index=df.index)


@dataclass
class ResponseEstimate:
    """Cumulative response of log relative population to a permanent log relative employment
    change of one, by years since the change (0 = the year of the change)."""

    group: str
    effect: np.ndarray
    se: np.ndarray
    lags: int
    n_obs: int
    n_units: int
    first_year: int
    last_year: int
    source: str = ""

    def at(self, years_since: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(effect, se) h years after the change (0 before it; held at the last lag after)."""
        h = np.asarray(years_since, dtype=int)
        idx = np.clip(h, 0, self.lags)
        eff = np.where(h >= 0, self.effect[idx], 0.0)
        se = np.where(h >= 0, self.se[idx], 0.0)
        return eff, se

    def bounds(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        z = ndtri((1 + level) / 2)
        return self.effect - z * self.se, self.effect + z * self.se

    def monotone(self) -> ResponseEstimate:
        """The estimate with negative cumulative effects set to zero: fewer jobs never mean more
        people (a negative estimate is within noise of zero on both panels, docs/scenarios.md)."""
        return ResponseEstimate(
            group=self.group,
            effect=np.maximum(self.effect, 0.0),
            se=self.se,
            lags=self.lags,
            n_obs=self.n_obs,
            n_units=self.n_units,
            first_year=self.first_year,
            last_year=self.last_year,
            source=self.source,
        )

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "group": self.group,
                "horizon": np.arange(self.lags + 1),
                "effect": self.effect,
                "se": self.se,
                "lags": self.lags,
                "n_obs": self.n_obs,
                "n_units": self.n_units,
                "first_year": self.first_year,
                "last_year": self.last_year,
                "source": self.source,
            }
        )[ESTIMATE_COLUMNS]


def estimate(
    changes: pd.DataFrame,
    *,
    lags: int = 5,
    group: str = "all",
    source: str = "",
    min_units: int = 20,
) -> ResponseEstimate:
    """Fit the distributed-lag model on `changes` (see `relative_changes`).

    A row enters when its unit has `de` for the year and each of the `lags` years before it.
    """
    if lags < 0:
        raise ValueError("lags must be >= 0")
    df = changes.sort_values(["unit_id", "year"]).reset_index(drop=True)
    g = df.groupby("unit_id")
    names = [f"de_l{k}" for k in range(lags + 1)]
    for k, name in enumerate(names):
        shifted = g["de"].shift(k)
        gap = df["year"] - g["year"].shift(k)
        df[name] = shifted.where(gap == k)
    df = df.dropna(subset=["dp", *names]).reset_index(drop=True)
    n_units = df["unit_id"].nunique()
    if n_units < min_units or len(df) <= len(names) + n_units:
        raise ForecastError(
            f"response group {group!r}: too little annual data with employment "
            f"({len(df)} rows, {n_units} units; need {min_units} units with {lags + 1} "
            "consecutive years of employment changes)"
        )
    dm = _two_way_demean(df, ["dp", *names])
    X, y = dm[names].to_numpy(), dm["dp"].to_numpy()
    xtx_inv = np.linalg.pinv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    resid = y - X @ beta
    scores = pd.DataFrame(X * resid[:, None]).groupby(df["unit_id"].to_numpy()).sum().to_numpy()
    meat = scores.T @ scores
    n, k = X.shape
    adj = n_units / (n_units - 1) * (n - 1) / max(n - k - n_units, 1)
    vcov = adj * xtx_inv @ meat @ xtx_inv
    cum = np.tril(np.ones((k, k)))  # row h sums gamma_0..gamma_h
    effect = cum @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", cum, vcov, cum))
    return ResponseEstimate(
        group=group,
        effect=effect,
        se=se,
        lags=lags,
        n_obs=len(df),
        n_units=n_units,
        first_year=int(df["year"].min()),
        last_year=int(df["year"].max()),
        source=source,
    )


def read_estimates(path: Path) -> dict[str, ResponseEstimate]:
    """Estimates written by `estimates_table` (e.g. benchmarks/results/response_estimates.csv)."""
    try:
        t = pd.read_csv(path)
    except OSError as exc:
        raise ForecastError(f"{path}: cannot read the response estimates: {exc}") from exc
    missing = [c for c in ESTIMATE_COLUMNS if c not in t]
    if missing:
        raise ForecastError(f"{path}: missing columns {', '.join(missing)}")
    out = {}
    for name, rows in t.groupby("group", sort=False):
        rows = rows.sort_values("horizon")
        if rows["horizon"].tolist() != list(range(len(rows))):
            raise ForecastError(f"{path}: group {name!r}: horizons must be 0, 1, 2, ...")
        first = rows.iloc[0]
        out[str(name)] = ResponseEstimate(
            group=str(name),
            effect=rows["effect"].to_numpy(dtype=float),
            se=rows["se"].to_numpy(dtype=float),
            lags=len(rows) - 1,
            n_obs=int(first["n_obs"]),
            n_units=int(first["n_units"]),
            first_year=int(first["first_year"]),
            last_year=int(first["last_year"]),
            source=str(first["source"]) if pd.notna(first["source"]) else "",
        )
    return out


def estimates_table(estimates: list[ResponseEstimate]) -> pd.DataFrame:
    return pd.concat([e.table() for e in estimates], ignore_index=True)
