"""Fit the lookalike model of a ``potential:`` section: choose, cross-validate, calibrate, estimate.

The scikit-learn part of the step (potential/step.py imports it only when it runs, since
loading scikit-learn costs about a second in every process that imports the package).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory_planner.potential.models import PeerGroups, model
from territory_planner.potential.quality import (
    calibration_shift,
    log_pinball,
    out_of_fold,
    quality,
    shifted,
)
from territory_planner.scenario.potential import PotentialSpec

#: Below this many customers a gradient-boosting model has too little to learn from.
GBM_MIN_CUSTOMERS = 200
#: Cross-validation (method choice, calibration, quality) reads at most this many customers.
CV_MAX_CUSTOMERS = 50_000


@dataclass(frozen=True)
class Fit:
    method: str
    choice: dict
    lookalike: np.ndarray  # every account's calibrated estimate
    shift: float
    quality: dict


def fit_lookalikes(spec: PotentialSpec, X: pd.DataFrame, customers: np.ndarray, revenue: np.ndarray, segment: np.ndarray,
         seed: int, measure: bool) -> Fit:
    """Choose the method, cross-validate it, calibrate it and estimate every account.

    Cross-validation reads at most CV_MAX_CUSTOMERS customers (a seeded sample); the
    model that estimates the accounts is fitted on all of them.
    """
    Xc, yc, seg = X[customers].reset_index(drop=True), revenue[customers], segment[customers]
    q = spec.quantile
    Xv, yv, segv = Xc, yc, seg
    if len(yc) > CV_MAX_CUSTOMERS:
        sample = np.sort(np.random.default_rng(seed).choice(len(yc), CV_MAX_CUSTOMERS, replace=False))
        Xv, yv, segv = Xc.iloc[sample].reset_index(drop=True), yc[sample], seg[sample]
    validated: dict = {}

    def validate(method: str, importance: bool = False):
        if method not in validated or (importance and not validated[method].importance):
            validated[method] = out_of_fold(model(method, Xv, quantile=q, min_peers=spec.min_peers, seed=seed), Xv, yv,
                                            quantile=q, seed=seed, importance=importance)
        return validated[method]

    choice: dict = {}
    if spec.method != "auto":
        method = spec.method
    elif len(yc) < GBM_MIN_CUSTOMERS:
        method, choice = "peers", {"rule": f"peer groups: fewer than {GBM_MIN_CUSTOMERS} customers to learn from"}
    else:
        losses = {m: log_pinball(yv, validate(m).estimate, q) for m in ("gbm", "peers")}
        method = min(losses, key=lambda m: (losses[m], m))
        choice = {"cross_validated_log_pinball_loss": losses, "rule": "the lower cross-validated loss"}
    oof = validate(method, importance=measure)
    shift = calibration_shift(yv, oof.estimate, q)
    fitted = model(method, Xc, quantile=q, min_peers=spec.min_peers, seed=seed).fit(Xc, yc)
    lookalike = shifted(np.maximum(fitted.predict(X), 0.0), shift)
    figures = quality(yv, oof, quantile=q, shift=shift, segment=segv)
    backed = 0
    if isinstance(fitted, PeerGroups):
        backed = int((fitted.depth(X) < X.shape[1]).sum())
    return Fit(method, {**choice, "peers_backed_off": backed} if backed else choice, lookalike, shift, figures)
