r"""The classical models of chapters 5 and 6: a linear SVM and gradient-boosted trees.

* :func:`linear_svm`: the deck's classifier of energy classes, a linear support-vector machine
  (Cortes & Vapnik 1995) with balanced class weights, on standardised features;
  :func:`choose_svm_C` picks its ``C`` on the validation set, never on the test set.
* :func:`xgb_regressor`: XGBoost (Chen & Guestrin 2016) with the deck's hyper-parameters
  (:data:`DECK_XGB_PARAMS`) unless told otherwise, seeded so that results are reproducible.
* :class:`ResidualRegressor`: a linear "dressed bond" baseline (ridge regression on atom and
  bond counts) plus boosted trees fitted to what the baseline misses. Trees predict piecewise
  constants and cannot extrapolate an additive trend; the linear part carries the trend.
* Evaluation on a :class:`~qm7utils.evaluation.Split`: :func:`timed_fit`,
  :func:`split_metrics`, :func:`split_classification_metrics`, :func:`compare_models`. The
  standard QM7 protocol is :func:`qm7utils.evaluation.p_fold_scores`.
* :func:`gain_importance`: what share of the trees' loss reduction each feature carries.
* :func:`tune_xgboost`: a small, seeded Optuna search (Akiba et al. 2019) of
  :data:`SEARCH_SPACE`, scored on the validation set.

Threads: XGBoost's histogram method builds the same trees whatever the number of threads
(its sums do not depend on how the work is split), so the book uses every core by default
(``n_jobs=None``, see :func:`qm7utils.parallel.available_cores`) and the results stay
identical on any machine. On a machine that is busy with other jobs, threads wait for each
other; pass ``n_jobs=1`` (or set ``QM7_THREADS=1``) there.
"""

from __future__ import annotations

import numbers
import time
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import check_scalar

from ..evaluation import Split, classification_metrics, regression_metrics
from ..parallel import available_cores

__all__ = [
    "DECK_XGB_PARAMS",
    "SEARCH_SPACE",
    "SVM_C_GRID",
    "ResidualRegressor",
    "SearchResult",
    "choose_svm_C",
    "compare_models",
    "gain_importance",
    "linear_svm",
    "split_classification_metrics",
    "split_metrics",
    "timed_fit",
    "tune_xgboost",
    "xgb_regressor",
]

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

#: The values of ``C`` that :func:`choose_svm_C` tries (a decade apart).
SVM_C_GRID: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)

#: The hyper-parameter ranges :func:`tune_xgboost` samples: (kind, low, high[, step]); "log"
#: ranges are sampled on a log scale.
SEARCH_SPACE: dict[str, tuple] = {
    "n_estimators": ("int", 100, 600, 100),
    "learning_rate": ("log", 0.02, 0.3),
    "max_depth": ("int", 3, 7, 1),
    "min_child_weight": ("log", 1.0, 30.0),
    "subsample": ("float", 0.5, 1.0),
    "colsample_bytree": ("float", 0.2, 1.0),
    "reg_lambda": ("log", 1e-2, 10.0),
}


def linear_svm(C: float = 1.0, class_weight: str | None = "balanced", scale: bool = True):
    """The deck's classifier: a linear support-vector machine, optionally on scaled features.

    scikit-learn's ``SVC(kernel="linear")`` (libsvm, one-vs-one over the classes) is exact and
    deterministic, and on QM7 it trains in about a second.

    Parameters
    ----------
    C : float
        Inverse regularisation strength (> 0): large ``C`` fits the training set harder.
    class_weight : {"balanced", None}
        ``"balanced"`` weights each class by the inverse of its frequency, so the few molecules
        of the extreme classes are not ignored.
    scale : bool
        Standardise every feature to zero mean and unit variance first (the features range
        from 0.01 to 400).

    Returns
    -------
    sklearn.pipeline.Pipeline
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    C = check_scalar(C, "C", numbers.Real, min_val=0.0, include_boundaries="neither")
    if class_weight not in ("balanced", None):
        raise ValueError(f"class_weight must be 'balanced' or None, got {class_weight!r}")
    svm = SVC(kernel="linear", C=float(C), class_weight=class_weight)
    return make_pipeline(StandardScaler(), svm) if scale else make_pipeline(svm)


def choose_svm_C(
    X, y, split: Split, grid=SVM_C_GRID, class_weight: str | None = "balanced",
    scale: bool = True,
):
    """Choose the ``C`` of :func:`linear_svm`: the best validation accuracy of a grid.

    Every ``C`` of ``grid`` trains a linear SVM on ``split.train`` and is scored on
    ``split.validation`` (the deck's "dev" set). The test set is never used, so it stays an
    honest estimate of the chosen model. Ties (equal validation accuracy) go to the smaller
    ``C``, the stronger regularisation.

    Parameters
    ----------
    X : array of shape (n, d)
    y : array of shape (n,)
        Classes.
    split : Split
    grid : sequence of float
        Candidate values (> 0); default :data:`SVM_C_GRID`.
    class_weight, scale
        As in :func:`linear_svm`.

    Returns
    -------
    best_C : float
    table : pandas.DataFrame
        Indexed by ``C``: ``train`` and ``validation`` accuracy and balanced accuracy
        (``train_balanced``, ``validation_balanced``).
    """
    import pandas as pd

    grid = [float(c) for c in grid]
    if not grid or any(not c > 0 for c in grid):
        raise ValueError(f"grid must hold positive values of C, e.g. {SVM_C_GRID}; got {grid}")
    X = np.asarray(X)
    y = np.asarray(y)
    rows = {}
    for c in grid:
        model = linear_svm(c, class_weight, scale).fit(X[split.train], y[split.train])
        scores = {part: classification_metrics(y[idx], model.predict(X[idx]))
                  for part, idx in (("train", split.train), ("validation", split.validation))}
        rows[c] = {"train": scores["train"]["accuracy"],
                   "validation": scores["validation"]["accuracy"],
                   "train_balanced": scores["train"]["balanced_accuracy"],
                   "validation_balanced": scores["validation"]["balanced_accuracy"]}
    table = pd.DataFrame(rows).T.rename_axis("C")
    best = min(grid, key=lambda c: (-table.loc[c, "validation"], c))
    return best, table


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


def split_metrics(model, X, y, split: Split) -> dict[str, dict[str, float]]:
    """Regression metrics of a fitted model on each part of a split.

    Returns
    -------
    dict
        ``{"train": {...}, "validation": {...}, "test": {...}}`` with the keys of
        :func:`qm7utils.evaluation.regression_metrics`.
    """
    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64)
    return {
        name: regression_metrics(y[part], model.predict(X[part]))
        for name, part in split._asdict().items()
    }


def split_classification_metrics(model, X, y, split: Split) -> dict[str, dict[str, float]]:
    """Classification metrics of a fitted classifier on each part of a split.

    Returns
    -------
    dict
        ``{"train": {...}, "validation": {...}, "test": {...}}`` with the keys of
        :func:`qm7utils.evaluation.classification_metrics`.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    return {
        name: classification_metrics(y[part], model.predict(X[part]))
        for name, part in split._asdict().items()
    }


def compare_models(models: dict, y, split: Split):
    """Train several models on the training part of a split and compare their MAEs.

    Parameters
    ----------
    models : dict
        Name -> ``(model, X)``: an unfitted estimator and the design matrix it uses.
    y : array
        Targets (kcal/mol).
    split : Split

    Returns
    -------
    pandas.DataFrame
        One row per model: ``features`` (number of columns), ``train``, ``validation`` and
        ``test`` MAE, and ``seconds`` (training wall time).
    """
    import pandas as pd

    rows = {}
    for name, (model, X) in models.items():
        fitted = clone(model)
        seconds = timed_fit(fitted, X[split.train], np.asarray(y)[split.train])
        maes = {part: m["mae"] for part, m in split_metrics(fitted, X, y, split).items()}
        rows[name] = {"features": int(X.shape[1]), **maes, "seconds": seconds}
    return pd.DataFrame(rows).T.astype({"features": int})


def gain_importance(model, names, kind: str = "total_gain"):
    """Each feature's share of a boosted model's loss reduction, largest first.

    XGBoost scores a split by its *gain*, the drop of the training loss it buys.
    ``"total_gain"`` sums the gains of every split on a feature: the feature's share of
    everything the trees learned. ``"gain"`` (what ``XGBRegressor.feature_importances_``
    reports) is the *mean* gain per split, which ranks a feature used in a few decisive splits
    (say, on a bond that 50 molecules have) above one the trees use everywhere.

    Parameters
    ----------
    model : fitted XGBRegressor or ResidualRegressor
        For a :class:`ResidualRegressor`, the importances of its trees (the residual model).
    names : sequence of str
        One name per feature column.
    kind : {"total_gain", "gain", "weight"}
        ``"weight"`` counts the splits on each feature.

    Returns
    -------
    pandas.Series
        Indexed by feature name, sorted in descending order, summing to 1; features the trees
        never split on have 0.
    """
    import pandas as pd

    if kind not in ("total_gain", "gain", "weight"):
        raise ValueError(f"kind must be 'total_gain', 'gain' or 'weight', got {kind!r}")
    booster = model.booster_ if isinstance(model, ResidualRegressor) else model
    if not hasattr(booster, "get_booster"):
        raise ValueError(
            f"gain_importance needs a fitted XGBRegressor or ResidualRegressor, got "
            f"{type(model).__name__}"
        )
    names = [str(n) for n in names]
    if len(names) != booster.n_features_in_:
        raise ValueError(
            f"names has {len(names)} entries but the model has {booster.n_features_in_} features"
        )
    scores = booster.get_booster().get_score(importance_type=kind)  # keys "f0", "f1", ...
    values = np.zeros(len(names))
    for key, value in scores.items():
        values[int(key[1:])] = value
    total = values.sum()
    shares = values / total if total > 0 else values
    return pd.Series(shares, index=names, name=kind).sort_values(ascending=False, kind="stable")


class SearchResult(NamedTuple):
    """Outcome of :func:`tune_xgboost`."""

    best_params: dict
    best_mae: float
    trials: Any  # pandas.DataFrame: one row per trial, its parameters, validation MAE, seconds
    seconds: float


def _suggest(trial, name: str, spec: tuple):
    kind, low, high, *step = spec
    if kind == "int":
        return trial.suggest_int(name, low, high, step=step[0] if step else 1)
    if kind == "log":
        return trial.suggest_float(name, low, high, log=True)
    if kind == "float":
        return trial.suggest_float(name, low, high)
    raise ValueError(f"unknown kind {kind!r} in SEARCH_SPACE[{name!r}]")


def _import_optuna():
    """Import optuna without tqdm's notebook warning.

    Importing optuna imports ``tqdm.auto``, which warns "IProgress not found" in a notebook
    without ipywidgets; optuna's progress bar is never used here (``show_progress_bar=False``),
    so the warning is irrelevant and would only clutter the stored outputs.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import optuna
    return optuna


def tune_xgboost(
    X_train,
    y_train,
    X_validation,
    y_validation,
    n_trials: int = 20,
    seed: int = 0,
    baseline_columns=None,
    n_jobs: int | None = None,
    space: dict | None = None,
    n_startup_trials: int = 6,
) -> SearchResult:
    """A small Optuna search of XGBoost hyper-parameters, scored by the MAE on a validation set.

    The tree-structured Parzen estimator (TPE) first samples ``n_startup_trials`` points at
    random, then proposes values where good trials concentrate. The sampler is seeded and the
    trials run one after another, so the search is reproducible. The test set is never seen:
    it stays an honest estimate of the chosen model.

    Parameters
    ----------
    X_train, y_train : arrays
        Training data.
    X_validation, y_validation : arrays
        The validation set (the deck's "dev" set) that scores each trial.
    n_trials : int
        Budget: number of models trained.
    seed : int
        Seed of the sampler and of every model.
    baseline_columns : array of int, optional
        When given, every trial is a :class:`ResidualRegressor` with a ridge baseline on these
        columns; otherwise a plain XGBoost model.
    n_jobs : int, optional
        Threads per model (default: every available core; the results do not depend on it).
    space : dict, optional
        Search space in the format of :data:`SEARCH_SPACE` (the default).
    n_startup_trials : int
        Random trials before TPE takes over.

    Returns
    -------
    SearchResult
    """
    import pandas as pd

    optuna = _import_optuna()

    n_trials = check_scalar(n_trials, "n_trials", numbers.Integral, min_val=1)
    space = SEARCH_SPACE if space is None else space
    y_train = np.asarray(y_train, dtype=np.float64)
    y_validation = np.asarray(y_validation, dtype=np.float64)

    def build(params: dict):
        booster = xgb_regressor(params, seed=seed, n_jobs=n_jobs)
        if baseline_columns is None:
            return booster
        return ResidualRegressor(booster=booster, baseline_columns=baseline_columns)

    def objective(trial) -> float:
        params = {name: _suggest(trial, name, spec) for name, spec in space.items()}
        model = build(params)
        trial.set_user_attr("seconds", timed_fit(model, X_train, y_train))
        return regression_metrics(y_validation, model.predict(X_validation))["mae"]

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no per-trial log lines in outputs
    try:
        sampler = optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=min(n_startup_trials, n_trials)
        )
        study = optuna.create_study(direction="minimize", sampler=sampler)
        start = time.perf_counter()
        study.optimize(objective, n_trials=n_trials, show_progress_bar=False)
        seconds = time.perf_counter() - start
    finally:
        optuna.logging.set_verbosity(verbosity)
    rows = [
        {"trial": t.number, **t.params, "validation_mae": t.value,
         "seconds": t.user_attrs["seconds"]}
        for t in study.trials
    ]
    trials = pd.DataFrame(rows).set_index("trial")
    return SearchResult(dict(study.best_params), float(study.best_value), trials, seconds)
