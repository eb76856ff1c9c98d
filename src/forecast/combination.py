"""Combination weights: a small estimator learned from calibration residuals.

The combined forecast is log-linear: `log(forecast) = sum_m w_m log(member_m)` with weights on
the simplex, chosen per span (and overall, key -1) to minimise the mean absolute log error of
the combination at calibration origins, then shrunk towards equal weights. Before `fit` (or
with one member) the first member takes all the weight; with `shrinkage` 1 the weights are
equal whether fitted or not.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd


def simplex(k: int, step: float) -> np.ndarray:
    """All weight vectors of length k on a grid of `step` that sum to one."""
    n = int(round(1 / step))
    pts = [c for c in itertools.product(range(n + 1), repeat=k) if sum(c) == n]
    return np.array(pts, dtype=float) / n


class CombinationWeights:
    def __init__(
        self, *, members: list[str], step: float = 0.1, shrinkage: float = 0.0, min_cell: int = 30
    ):
        self.members = list(members)
        self.step = step
        self.shrinkage = shrinkage
        self.min_cell = min_cell
        self.weights_: dict[int, np.ndarray] = {}

    def fit(self, residuals: pd.DataFrame) -> CombinationWeights:
        """`residuals`: columns actual, span and one column per member (its forecast)."""
        members = self.members
        self.weights_ = {}
        if len(members) == 1:
            return self
        err = np.column_stack([np.log(residuals["actual"] / residuals[m]) for m in members])
        ok = np.isfinite(err).all(axis=1)
        err, span = err[ok], residuals["span"].to_numpy()[ok]
        grid = simplex(len(members), self.step)
        lam = self.shrinkage

        def best(e: np.ndarray) -> np.ndarray:
            learned = grid[int(np.argmin(np.abs(e @ grid.T).mean(axis=0)))]
            return (1 - lam) * learned + lam / len(members)

        if len(err):
            self.weights_[-1] = best(err)
        for s in np.unique(span):
            m = span == s
            if m.sum() >= self.min_cell:
                self.weights_[int(s)] = best(err[m])
        return self

    def weights(self, table: pd.DataFrame) -> pd.DataFrame:
        """Per-row weights of the members (renormalised over the members available there)."""
        members = self.members
        # before fit the first member takes all, except with equal weights (shrinkage 1),
        # which need no residuals (kz_annual at 1994: no calibration origin)
        first = np.full(len(members), 1 / len(members)) if self.shrinkage >= 1 else None
        default = self.weights_.get(-1, np.eye(len(members))[0] if first is None else first)
        w = np.array([self.weights_.get(int(s), default) for s in table["span"]], dtype=float)
        w = w.reshape(len(table), len(members))
        avail = np.column_stack([np.isfinite(table[m].to_numpy(dtype=float)) for m in members])
        w = np.where(avail, w, 0.0)
        total = w.sum(axis=1, keepdims=True)
        fallback = np.where(avail[:, :1], 1.0, 0.0)  # nothing weighted available: the first
        w = np.where(
            total > 0,
            w / np.where(total > 0, total, 1),
            np.hstack([fallback, np.zeros((len(table), len(members) - 1))]),
        )
        return pd.DataFrame(w, columns=members, index=table.index)

    def combine(self, table: pd.DataFrame, weights: pd.DataFrame | None = None) -> np.ndarray:
        """The combined forecast of each row of `table` (member forecasts as columns)."""
        w = self.weights(table) if weights is None else weights
        logs = np.column_stack([np.log(table[m].to_numpy(dtype=float)) for m in w.columns])
        return np.exp(np.nansum(np.where(w.to_numpy() > 0, logs, 0.0) * w.to_numpy(), axis=1))
