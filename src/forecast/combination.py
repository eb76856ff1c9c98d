"""Combination weights: a small estimator learned from calibration residuals.

The combined forecast is log-linear: `log(forecast) = sum_m w_m log(member_m)` with weights on
the simplex, chosen per span (and overall, key -1) to minimise the mean absolute log error of
the combination at calibration origins, then shrunk towards equal weights. Before `fit` (or
with one member) the first member takes all the weight; with `shrinkage` 1 the weights are
equal whether fitted or not.

`GroupedCombination` (opt-in, issue 11) learns separate weights, over their own members, for
groups of units flagged in units.csv (e.g. `mining_dependent`): such places move with commodity
prices, not with the rest, and a no-change member may beat the model there. Each group's weights
are learned on that group's calibration residuals only, the rest on everyone else's. A group
with no (or too few) calibration residuals takes the others' weights, or, where `unfitted`
names members for it (opt-in), equal weights over those: a short series (US employment at
1991) has no calibration origin at all, and a boom-and-bust group should not then follow the
model alone.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


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
        return combine_with(table, self.weights(table) if weights is None else weights)


def combine_with(table: pd.DataFrame, w: pd.DataFrame) -> np.ndarray:
    """log-linear combination of the forecasts in `table` with per-row weights `w`."""
    logs = np.column_stack([np.log(table[m].to_numpy(dtype=float)) for m in w.columns])
    return np.exp(np.nansum(np.where(w.to_numpy() > 0, logs, 0.0) * w.to_numpy(), axis=1))


class GroupedCombination:
    """`CombinationWeights` for the units outside every group, and one per group of units
    (`groups`: name -> (unit ids, weights over the group's members)). A group with too few
    calibration residuals (fewer than its `min_cell`) takes the others' weights, or equal
    weights over `unfitted[name]` where given."""

    def __init__(
        self,
        rest: CombinationWeights,
        groups: dict[str, tuple[pd.Index, CombinationWeights]],
        unfitted: dict[str, list[str]] | None = None,
    ):
        self.rest = rest
        self.groups = groups
        self.unfitted = dict(unfitted or {})
        self.fitted_: dict[str, bool] = {}

    @property
    def members(self) -> list[str]:
        out = list(self.rest.members)
        for _, cw in self.groups.values():
            out += [m for m in cw.members if m not in out]
        for ms in self.unfitted.values():
            out += [m for m in ms if m not in out]
        return out

    def _masks(self, table: pd.DataFrame) -> dict[str, np.ndarray]:
        if "unit_id" not in table:
            raise ValueError("grouped combination weights need a unit_id column")
        return {k: table["unit_id"].isin(ids).to_numpy() for k, (ids, _) in self.groups.items()}

    def fit(self, residuals: pd.DataFrame) -> GroupedCombination:
        masks = self._masks(residuals)
        anywhere = np.zeros(len(residuals), dtype=bool)
        for m in masks.values():
            anywhere |= m
        self.rest.fit(residuals[~anywhere] if (~anywhere).any() else residuals)
        for name, (_, cw) in self.groups.items():
            part = residuals[masks[name]]
            enough = len(part) >= cw.min_cell
            if enough:
                cw.fit(part)
            self.fitted_[name] = enough
        return self

    def weights(self, table: pd.DataFrame) -> pd.DataFrame:
        members = self.members
        w = self.rest.weights(table).reindex(columns=members, fill_value=0.0)
        for name, mask in self._masks(table).items():
            if not mask.any():
                continue
            if self.fitted_.get(name):
                cw = self.groups[name][1]
            elif self.unfitted.get(name):  # no calibration for the group: equal weights
                cw = CombinationWeights(members=self.unfitted[name], shrinkage=1.0)
            else:
                continue
            part = cw.weights(table[mask]).reindex(columns=members, fill_value=0.0)
            w.loc[mask] = part.to_numpy()
        return w

    def combine(self, table: pd.DataFrame, weights: pd.DataFrame | None = None) -> np.ndarray:
        return combine_with(table, self.weights(table) if weights is None else weights)


def flagged_units(units: pd.DataFrame, column: str) -> pd.Index:
    """Units whose units.csv `column` is set (1, yes, true); an error names a missing column."""
    if column not in units:
        raise ValueError(
            f"combine_groups: units.csv has no column {column!r} (columns: "
            f"{', '.join(map(str, units.columns))})"
        )
    flag = units[column].astype(str).str.strip().str.lower()
    ids = units["unit_id"] if "unit_id" in units else units.index.to_series()
    return pd.Index(ids[flag.isin(["1", "1.0", "yes", "true"]).to_numpy()].to_numpy())


def combiner(
    members: list[str],
    *,
    step: float,
    shrinkage: float,
    min_cell: int,
    groups: dict[str, list[str]] | None = None,
    units: pd.DataFrame | None = None,
    has_model: bool = True,
    unfitted: dict[str, list[str]] | None = None,
) -> CombinationWeights | GroupedCombination:
    """Plain weights, or grouped ones for `groups` (units.csv flag column -> members);
    `unfitted`: members weighed equally for a group that gets no calibration residuals."""

    def make(ms: list[str]) -> CombinationWeights:
        ms = [m for m in ms if has_model or m != "model"] or list(members)
        return CombinationWeights(members=ms, step=step, shrinkage=shrinkage, min_cell=min_cell)

    rest = make(members)
    if groups and units is not None:
        # the default engine serves every dataset: one without the flag column has no such group
        missing = [col for col in groups if col not in units]
        if missing:
            log.info("combine_groups: no column %s in units.csv; no own weights", missing)
        groups = {col: ms for col, ms in groups.items() if col in units}
    if not groups or units is None:
        return rest
    prior = {
        col: [m for m in ms if has_model or m != "model"]
        for col, ms in (unfitted or {}).items()
        if col in groups
    }
    return GroupedCombination(
        rest,
        {col: (flagged_units(units, col), make(ms)) for col, ms in groups.items()},
        {col: ms for col, ms in prior.items() if ms},
    )
