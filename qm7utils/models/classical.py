r"""The boosted-tree models of chapters 5 and 6.

* :func:`xgb_regressor`: XGBoost (Chen & Guestrin 2016) with the deck's hyper-parameters
  (:data:`DECK_XGB_PARAMS`) unless told otherwise, seeded so that results are reproducible.
* :class:`ResidualRegressor`: a linear "dressed bond" baseline (ridge regression on atom and
  bond counts) plus boosted trees fitted to what the baseline misses. Trees predict piecewise
  constants and cannot extrapolate an additive trend; the linear part carries the trend.
* :func:`timed_fit`: fit a model and return its wall time.

The linear SVM and its choice of ``C`` are defined in chapter 5, the comparison of feature
sets, the gain importances and the Optuna search in chapter 6, where they are taught.

Threads: XGBoost's histogram method builds the same trees whatever the number of threads
(its sums do not depend on how the work is split), so the book uses every core by default
(``n_jobs=None``, see :func:`qm7utils.parallel.available_cores`) and the results stay
identical on any machine. On a machine that is busy with other jobs, threads wait for each
other; pass ``n_jobs=1`` (or set ``QM7_THREADS=1``) there.
"""

from __future__ import annotations

import numbers
import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import check_scalar

from ..parallel import available_cores

__all__ = ["DECK_XGB_PARAMS", "ResidualRegressor", "timed_fit", "xgb_regressor"]

#: The deck's XGBoost hyper-parameters (150 rounds of depth-5 trees, learning rate 0.06, rows
#: and columns subsampled, light L2/L1 penalties on the leaf weights).
DECK_XGB_PARAMS: dict[str, Any] = {
    "n_estimators": 150,
    "learning_rate": 0.06,
    "max_depth": 5,
    "subsample": 0.9,
    "colsample_bytree": 0.2,
    "reg_lambda": 0.9,
    "reg_alpha": 0.01,
}

def xgb_regressor(params: dict | None = None, seed: int = 0, n_jobs: int | None = None,
                  **overrides):
    """An ``xgboost.XGBRegressor`` with the deck's hyper-parameters, seeded and reproducible.

    Parameters
    ----------
    params : dict, optional
        Hyper-parameters; default :data:`DECK_XGB_PARAMS`.
    seed : int
        ``random_state`` (row and column subsampling).
    n_jobs : int, optional
        Threads; default every available core (:func:`qm7utils.parallel.available_cores`).
        The trees do not depend on it; on a machine busy with other jobs, 1 can be faster.
    **overrides
        Replace single entries of ``params``.

    Returns
    -------
    xgboost.XGBRegressor
        ``tree_method="hist"``, squared-error objective.
    """
    import xgboost as xgb

    if n_jobs is None:
        n_jobs = available_cores()
    else:
        n_jobs = check_scalar(n_jobs, "n_jobs", numbers.Integral, min_val=1)
    chosen = dict(DECK_XGB_PARAMS if params is None else params)
    chosen.update(overrides)
    return xgb.XGBRegressor(
        **chosen, tree_method="hist", random_state=int(seed), n_jobs=n_jobs, verbosity=0
    )


class ResidualRegressor(RegressorMixin, BaseEstimator):
    """A linear baseline on some columns plus a booster fitted to its residuals.

    ``predict(X) = baseline.predict(X[:, baseline_columns]) + booster.predict(X)``.

    With the atom and bond counts as baseline columns, the baseline is a "dressed bond"
    model: each bond type contributes a fixed energy, which is most of an atomization energy.

    Parameters
    ----------
    booster : estimator, optional
        Regressor of the residuals; default :func:`xgb_regressor` with the deck's parameters.
    baseline : estimator, optional
        Linear model; default ``Ridge(alpha=1e-2)`` (a little ridge, because the counts are
        linearly dependent: every bond has two ends).
    baseline_columns : array of int, optional
        Columns the baseline sees; default all.
    """

    def __init__(self, booster=None, baseline=None, baseline_columns=None):
        self.booster = booster
        self.baseline = baseline
        self.baseline_columns = baseline_columns

    def _columns(self, X: np.ndarray) -> np.ndarray:
        if self.baseline_columns is None:
            return X
        return X[:, np.asarray(self.baseline_columns)]

    def fit(self, X, y):
        from sklearn.linear_model import Ridge

        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError(f"X must be (n, d) with one row per target; got {X.shape}, {y.shape}")
        self.baseline_ = clone(self.baseline) if self.baseline is not None else Ridge(alpha=1e-2)
        self.baseline_.fit(self._columns(X), y)
        self.booster_ = clone(self.booster) if self.booster is not None else xgb_regressor()
        self.booster_.fit(X, y - self.baseline_.predict(self._columns(X)))
        self.n_features_in_ = X.shape[1]
        return self

    def predict_baseline(self, X) -> np.ndarray:
        """The linear part of the prediction alone."""
        X = np.asarray(X, dtype=np.float64)
        return self.baseline_.predict(self._columns(X))

    def predict(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return self.predict_baseline(X) + self.booster_.predict(X)

    @property
    def feature_importances_(self) -> np.ndarray:
        """The booster's feature importances (of the residual model)."""
        return self.booster_.feature_importances_


def timed_fit(model, X, y) -> float:
    """Fit ``model`` in place; return the wall time in seconds."""
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start
