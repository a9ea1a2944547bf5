"""How good a potential estimate is, measured on accounts the model did not see.

Five-fold cross-validation over the customers (accounts with revenue): each customer's
estimate comes from a model fitted on the other four folds. On those out-of-fold
estimates:

- **calibration**: the share of customers whose revenue lies at or below their estimated
  potential. A model of the q-th quantile should put q of them there (0.75 for the 75th
  percentile); far below means the potential is set too low, far above too high.
- **pinball loss** of log(1 + revenue), the loss a quantile model minimises, and its
  **skill**: 1 − loss / the loss of one potential for all (the customers' own quantile,
  also out of fold). 0 means the features say nothing, 1 a perfect fit.
- the same **by segment**, so a planner sees where the estimate is weak;
- **calibration shift**: a quantile model fitted on a sample covers fewer new accounts
  than it covered in training (measured: 0.70–0.72 of customers below a 75% estimate out
  of fold). The estimate is therefore scaled by exp(c), c = the q-th quantile of the
  out-of-fold log residuals log(1 + revenue) − log(1 + estimate) (one-sided conformalised
  quantile regression, Romano, Patterson & Candès 2019). After it the overall share is q
  by construction, so the share reported is the model's own, before the factor; per
  segment the share after the factor is reported cross-fitted (fold k judged with the c
  of the other folds), since conformal calibration holds overall, not per segment;
- **feature importance**: how much the loss grows when one feature's values are shuffled
  on the held-out fold (scikit-learn's permutation importance), averaged over folds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.inspection import permutation_importance
from sklearn.metrics import mean_pinball_loss
from sklearn.model_selection import KFold

FOLDS = 5
REPEATS = 5


def log_pinball(revenue, estimate, quantile: float) -> float:
    """Mean pinball loss of log(1 + revenue) against log(1 + estimate)."""
    return float(mean_pinball_loss(np.log1p(revenue), np.log1p(np.maximum(estimate, 0)), alpha=quantile))


def _scorer(quantile: float):
    def score(estimator, X, y) -> float:
        return -log_pinball(y, estimator.predict(X), quantile)
    return score


@dataclass(frozen=True)
class OutOfFold:
    """Estimates of each customer by a model fitted without its fold."""

    estimate: np.ndarray
    constant: np.ndarray  # one potential for all (the other folds' quantile)
    fold: np.ndarray  # each customer's fold
    importance: dict[str, float]  # feature → mean loss increase when shuffled (empty unless asked)


def out_of_fold(model, X: pd.DataFrame, y: np.ndarray, *, quantile: float, seed: int,
                importance: bool = False) -> OutOfFold:
    """Out-of-fold estimates of ``model`` and of one quantile for all, and the features' importance."""
    folds = KFold(n_splits=min(FOLDS, len(y)), shuffle=True, random_state=seed)
    estimate = np.empty(len(y))
    constant = np.empty(len(y))
    fold = np.empty(len(y), dtype=int)
    gains = {c: [] for c in X.columns}
    for k, (train, test) in enumerate(folds.split(X)):
        fitted = clone(model).fit(X.iloc[train], y[train])
        estimate[test] = fitted.predict(X.iloc[test])
        constant[test] = np.quantile(y[train], quantile)
        fold[test] = k
        if importance:
            result = permutation_importance(fitted, X.iloc[test], y[test], scoring=_scorer(quantile),
                                            n_repeats=REPEATS, random_state=seed)
            for column, gain in zip(X.columns, result.importances_mean, strict=True):
                gains[column].append(float(gain))
    return OutOfFold(estimate, constant, fold, {c: float(np.mean(v)) for c, v in gains.items() if v})


def _residuals(revenue: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    return np.log1p(revenue) - np.log1p(np.maximum(estimate, 0))


def calibration_shift(revenue: np.ndarray, estimate: np.ndarray, quantile: float) -> float:
    """c such that a share ``quantile`` of log residuals is ≤ c (the shift of the module docstring)."""
    return float(np.quantile(_residuals(revenue, estimate), quantile, method="higher"))


def shifted(estimate: np.ndarray, shift: float) -> np.ndarray:
    """The estimate scaled by the calibration shift, on the log(1 + x) scale it was measured on."""
    return np.expm1(np.log1p(np.maximum(estimate, 0)) + shift)


def cross_fitted(revenue: np.ndarray, oof: OutOfFold, quantile: float) -> np.ndarray:
    """Out-of-fold estimates shifted by the calibration of the *other* folds."""
    out = np.empty(len(revenue))
    for k in np.unique(oof.fold):
        mine = oof.fold == k
        out[mine] = shifted(oof.estimate[mine], calibration_shift(revenue[~mine], oof.estimate[~mine], quantile))
    return out


def _figures(revenue: np.ndarray, estimate: np.ndarray, constant: np.ndarray, quantile: float) -> dict:
    loss = log_pinball(revenue, estimate, quantile)
    baseline = log_pinball(revenue, constant, quantile)
    return {
        "customers": int(len(revenue)),
        "share_at_or_below_potential": float(np.mean(revenue <= estimate)) if len(revenue) else None,
        "log_pinball_loss": loss,
        "baseline_log_pinball_loss": baseline,
        "skill": float(1 - loss / baseline) if baseline > 0 else None,
        "median_penetration": float(np.median(revenue / np.maximum(estimate, 1e-9))) if len(revenue) else None,
    }


def quality(revenue: np.ndarray, oof: OutOfFold, *, quantile: float, shift: float, segment: np.ndarray) -> dict:
    """The figures of the module docstring, as a JSON-able mapping.

    ``revenue``, ``oof`` and ``segment`` are the customers cross-validation read. The
    share at or below, the loss and the skill are the model's own, measured out of fold
    before the calibration factor: after it, the overall share is the quantile by
    construction (that is what the factor is chosen for), so it is not reported as a
    measurement; per segment it is not guaranteed, and is reported cross-fitted.
    """
    after = cross_fitted(revenue, oof, quantile)
    overall = _figures(revenue, oof.estimate, oof.constant, quantile)
    by_segment = {}
    for s in sorted(set(segment.tolist())):
        mine = segment == s
        by_segment[str(s)] = {**_figures(revenue[mine], oof.estimate[mine], oof.constant[mine], quantile),
                              "share_at_or_below_after_calibration": float(np.mean(revenue[mine] <= after[mine]))}
    importance = oof.importance
    total = sum(max(g, 0.0) for g in importance.values())
    ranked = sorted(importance.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "method": f"{len(set(oof.fold.tolist()))}-fold cross-validation over {len(revenue):,} customers "
                  "(revenue > 0), each estimated by a model fitted without its fold",
        "quantile_asked": quantile,
        **overall,
        "calibration_factor": float(np.exp(shift)),
        "calibration": "share_at_or_below_potential is the model's own, out of fold; the potential written is the "
                       "model's estimate × calibration_factor, the factor that brings that share to the quantile "
                       "asked (one-sided split-conformal calibration), so on accounts like these it holds by "
                       "construction; by_segment.share_at_or_below_after_calibration (each fold judged with the "
                       "factor of the other folds) shows where it does not",
        "by_segment": by_segment,
        "feature_importance": [
            {"feature": f, "loss_increase_when_shuffled": g, "share": (max(g, 0.0) / total) if total > 0 else None}
            for f, g in ranked
        ] or None,
    }
