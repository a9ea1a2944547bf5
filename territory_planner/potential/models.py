"""The two lookalike models: a quantile of revenue among similar accounts.

Both are scikit-learn regressors over a frame of feature columns (text columns are
categories, the rest numbers; blanks allowed), fitted on the customers (revenue > 0) and
predicting the ``quantile`` of revenue for any account:

- :func:`gradient_boosting`: scikit-learn's ``HistGradientBoostingRegressor`` with the
  quantile (pinball) loss, on log(1 + revenue). A quantile is unchanged by a monotone
  transform, so the model's quantile of log revenue is the log of the revenue quantile,
  and the log keeps a few very large accounts from steering every split.
- :class:`PeerGroups`: the field's lookalike benchmark by hand (FIELD.md §2b): accounts
  with the same categories and in the same size band (numeric features cut at the
  customers' quintiles) are peers, and the potential is the quantile of their revenue.
  A group with fewer than ``min_peers`` customers backs off to the group of its first
  features only (the last feature listed is dropped first), down to all customers.

Both are deterministic for a seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from territory_planner.potential.features import BLANK, categorical

#: Categories past this many (by frequency) are pooled as "other" (the trees' limit is 255).
MAX_CATEGORIES = 250


def gradient_boosting(features: pd.DataFrame, *, quantile: float, seed: int = 0) -> TransformedTargetRegressor:
    """A quantile gradient-boosting model for these feature columns (not fitted)."""
    cats = categorical(features)
    nums = [c for c in features.columns if c not in cats]
    encode = ColumnTransformer(
        [("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                       max_categories=MAX_CATEGORIES), cats),
         ("numbers", "passthrough", nums)],
        verbose_feature_names_out=False,
    )
    trees = HistGradientBoostingRegressor(
        loss="quantile", quantile=quantile, learning_rate=0.05, max_iter=300, max_leaf_nodes=15,
        min_samples_leaf=20, l2_regularization=1.0, categorical_features=[True] * len(cats) + [False] * len(nums),
        early_stopping=False, random_state=seed,
    )
    return TransformedTargetRegressor(regressor=Pipeline([("encode", encode), ("trees", trees)]),
                                      func=np.log1p, inverse_func=np.expm1, check_inverse=False)


class PeerGroups(RegressorMixin, BaseEstimator):
    """The ``quantile`` of revenue among peers: same categories, same size band."""

    def __init__(self, quantile: float = 0.75, min_peers: int = 10, bands: int = 5):
        self.quantile = quantile
        self.min_peers = min_peers
        self.bands = bands

    def _keys(self, X: pd.DataFrame) -> pd.DataFrame:
        keys = {}
        for column in self.columns_:
            if column in self.edges_:
                values = pd.to_numeric(X[column], errors="coerce").to_numpy(float)
                band = np.searchsorted(self.edges_[column], values, side="right").astype(float)
                keys[column] = np.where(np.isfinite(values), band, -1.0)
            else:
                keys[column] = X[column].astype(object).where(X[column].notna(), BLANK).astype(str).to_numpy()
        return pd.DataFrame(keys, index=range(len(X)))

    def fit(self, X: pd.DataFrame, y):
        X = pd.DataFrame(X)
        y = np.asarray(y, dtype=float)
        self.columns_ = list(X.columns)
        cats = set(categorical(X))
        self.edges_ = {}
        for column in self.columns_:
            if column not in cats:
                values = pd.to_numeric(X[column], errors="coerce").dropna().to_numpy(float)
                inner = np.quantile(values, np.linspace(0, 1, self.bands + 1)[1:-1]) if len(values) else np.array([])
                self.edges_[column] = np.unique(inner)
        keys = self._keys(X).assign(_y=y)
        self.levels_ = []
        for depth in range(len(self.columns_), 0, -1):
            by = self.columns_[:depth]
            grouped = keys.groupby(by, sort=True)["_y"]
            table = pd.DataFrame({"q": grouped.quantile(self.quantile), "n": grouped.size()})
            self.levels_.append((by, table[table["n"] >= self.min_peers]["q"]))
        self.overall_ = float(np.quantile(y, self.quantile))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        keys = self._keys(pd.DataFrame(X))
        out = np.full(len(keys), np.nan)
        for by, table in self.levels_:
            todo = np.isnan(out)
            if not todo.any():
                break
            if len(table):
                index = pd.MultiIndex.from_frame(keys.loc[todo, by]) if len(by) > 1 else pd.Index(keys.loc[todo, by[0]])
                out[todo] = table.reindex(index).to_numpy(float)
        return np.where(np.isnan(out), self.overall_, out)

    def depth(self, X: pd.DataFrame) -> np.ndarray:
        """How many features each account's peer group matches (0: all customers)."""
        keys = self._keys(pd.DataFrame(X))
        out = np.zeros(len(keys), dtype=int)
        for by, table in reversed(self.levels_):
            index = pd.MultiIndex.from_frame(keys[by]) if len(by) > 1 else pd.Index(keys[by[0]])
            out = np.where(table.reindex(index).notna().to_numpy(), len(by), out)
        return out


def model(method: str, features: pd.DataFrame, *, quantile: float, min_peers: int, seed: int):
    """The unfitted model of a method ("gbm" or "peers")."""
    if method == "gbm":
        return gradient_boosting(features, quantile=quantile, seed=seed)
    return PeerGroups(quantile=quantile, min_peers=min_peers)
