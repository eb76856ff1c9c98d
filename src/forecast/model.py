"""The global LightGBM growth model.

It predicts the *annualised* log growth of a unit relative to the reference total over a span
of years (`span` is a feature). Multiplying by the span gives the log growth over the span;
SHAP contributions scale the same way, so explanations stay exact.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from .config import LightGBMParams
from .errors import NotFittedError


class GrowthModel:
    def __init__(self, *, params: LightGBMParams | None = None, seed: int = 7, n_jobs: int = 2):
        self.params = params or LightGBMParams()
        self.seed = seed
        self.n_jobs = n_jobs

    def _estimator(self) -> lgb.LGBMRegressor:
        p = self.params.model_dump()
        return lgb.LGBMRegressor(
            **p,
            subsample_freq=1,
            random_state=self.seed,
            n_jobs=self.n_jobs,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )

    def fit(self, X: pd.DataFrame, z: np.ndarray, weight: np.ndarray | None = None) -> GrowthModel:
        if len(X) == 0:
            raise ValueError("no training pairs: every unit needs at least two observations")
        self.feature_names_ = list(X.columns)
        self.categories_ = {
            c: X[c].cat.categories for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)
        }
        est = self._estimator()
        est.fit(X, z, sample_weight=weight)
        self.estimator_ = est
        return self

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """X with the training columns in order and the training categories (for predict and
        for SHAP, which must see exactly what the trees see)."""
        if not hasattr(self, "estimator_"):
            raise NotFittedError("GrowthModel is not fitted: call fit() before predict()")
        X = X.reindex(columns=self.feature_names_)
        for c, cats in self.categories_.items():
            X[c] = pd.Categorical(X[c].astype(object), categories=cats)
        return X

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator_.predict(self.prepare(X))

    @property
    def booster(self) -> lgb.Booster:
        return self.estimator_.booster_
