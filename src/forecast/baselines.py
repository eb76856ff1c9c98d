"""Demographic extrapolation baselines (Smith, Tayman & Swanson; Wilson).

Every method works from an *anchor*: the unit's latest observation at or before the origin
(`t0`, `p0`) and a *base* observation (`tb`, `pb`): the latest one at least `base_years` before
`t0`, or, when the history is shorter, the earliest one available. With annual data and a
10-year base this is the textbook base period; with census years plus scattered estimates it is
the nearest earlier observation, so irregular years need no special path.

All functions are vectorised over aligned arrays and return NaN where a method is undefined.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BASELINES = ("naive", "lin", "exp", "lin_exp", "csp_vsg", "average")


def anchors(obs: pd.DataFrame, origin: int, base_years: int = 10) -> pd.DataFrame:
    """Anchor and base observation of each unit from `obs` (unit_id, year, value).

    Only observations with year <= origin are read. Units with no such observation are absent.
    """
    seen = obs[(obs["year"] <= origin) & obs["value"].notna()].sort_values(["unit_id", "year"])
    if seen.empty:
        return pd.DataFrame(columns=["t0", "p0", "tb", "pb"], index=pd.Index([], name="unit_id"))
    last = seen.groupby("unit_id", sort=True).tail(1).set_index("unit_id")
    t0 = seen["unit_id"].map(last["year"])
    early = seen[seen["year"] <= t0 - base_years]
    base = early.groupby("unit_id").tail(1).set_index("unit_id")
    earliest = seen[seen["year"] < t0].groupby("unit_id").head(1).set_index("unit_id")
    base = base.reindex(last.index).fillna(earliest.reindex(last.index))
    out = pd.DataFrame(
        {"t0": last["year"], "p0": last["value"], "tb": base["year"], "pb": base["value"]},
        index=last.index,
    )
    out.index.name = "unit_id"
    return out


def naive(p0, **_) -> np.ndarray:
    return np.asarray(p0, dtype=float)


def lin(p0, t0, pb, tb, year, **_) -> np.ndarray:
    p0, t0, pb, tb, year = (np.asarray(a, dtype=float) for a in (p0, t0, pb, tb, year))
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (p0 - pb) / (t0 - tb)
    out = p0 + slope * (year - t0)
    out = np.where(np.isnan(tb), p0, out)  # one observation only: no trend to extend
    return np.where(out > 0, out, np.nan)


def exp(p0, t0, pb, tb, year, **_) -> np.ndarray:
    p0, t0, pb, tb, year = (np.asarray(a, dtype=float) for a in (p0, t0, pb, tb, year))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.log(p0 / pb) / (t0 - tb)
    out = p0 * np.exp(rate * (year - t0))
    return np.where(np.isnan(tb), p0, out)


def lin_exp(p0, t0, pb, tb, year, **_) -> np.ndarray:
    """Linear where the base period grew, exponential where it declined."""
    grew = np.asarray(p0, dtype=float) >= np.asarray(pb, dtype=float)
    return np.where(grew, lin(p0, t0, pb, tb, year), exp(p0, t0, pb, tb, year))


def csp(p0, r0, r_hat, **_) -> np.ndarray:
    """Constant share of the reference (region) population."""
    p0, r0, r_hat = (np.asarray(a, dtype=float) for a in (p0, r0, r_hat))
    return p0 / r0 * r_hat


def vsg(p0, pb, r0, rb, r_hat, **_) -> np.ndarray:
    """Variable share of growth: the unit keeps its share of the region's growth since the base."""
    p0, pb, r0, rb, r_hat = (np.asarray(a, dtype=float) for a in (p0, pb, r0, rb, r_hat))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (p0 - pb) / (r0 - rb)
    out = p0 + share * (r_hat - r0)
    out = np.where(np.isnan(pb), p0 / r0 * r_hat, out)
    return np.where(out > 0, out, np.nan)


def csp_vsg(p0, pb, r0, rb, r_hat, **_) -> np.ndarray:
    a = csp(p0, r0, r_hat)
    b = vsg(p0, pb, r0, rb, r_hat)
    return np.where(np.isnan(b), a, (a + b) / 2)


def average(p0, t0, pb, tb, year, r0, rb, r_hat, **_) -> np.ndarray:
    """The average of LIN/EXP and CSP-VSG (LIN/EXP alone where no reference is known)."""
    a = lin_exp(p0, t0, pb, tb, year)
    b = csp_vsg(p0, pb, r0, rb, r_hat)
    return np.where(np.isnan(b), a, (a + b) / 2)


METHODS = {
    "naive": naive,
    "lin": lin,
    "exp": exp,
    "lin_exp": lin_exp,
    "csp_vsg": csp_vsg,
    "average": average,
}


def all_baselines(frame: pd.DataFrame) -> pd.DataFrame:
    """Every baseline for each row of `frame` (columns p0, t0, pb, tb, year, r0, rb, r_hat)."""
    cols = {c: frame[c].to_numpy(dtype=float) for c in ("p0", "t0", "pb", "tb", "year")}
    for c in ("r0", "rb", "r_hat"):
        cols[c] = frame[c].to_numpy(dtype=float) if c in frame else np.full(len(frame), np.nan)
    out = pd.DataFrame({name: fn(**cols) for name, fn in METHODS.items()}, index=frame.index)
    # a method that is undefined for a row falls back to naive rather than vanishing
    return out.apply(lambda s: s.fillna(out["naive"]))
