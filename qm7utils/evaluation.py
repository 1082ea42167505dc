"""Splits, folds, metrics, the cross-validation protocols and the learning-curve fit of the book.

The split names are the standard ones (scikit-learn's and most textbooks'):

* **train**: what a model is fitted on;
* **validation**: what settings are *chosen* on (hyper-parameters, features, early stopping);
* **test**: the final hold-out, touched once, for the number that is reported.

Two protocols appear in the book:

* the **deck's split** (:func:`deck_split`): 15% of the molecules held out first as the test
  set, then 18% of the rest as the validation set, seed 42, about 70/15/15. The slide deck
  the book grew from calls these two parts the other way round ("validation" for the
  hold-out, "test" or "dev" for the part it chooses on); chapter 5 maps its names onto ours
  in one table. The classification and regression chapters use this split, so their numbers
  compare with the deck's.
* the **standard QM7 protocol**: the five folds in ``P``; train on four, test on the fifth,
  report the mean and standard deviation of the test MAE over the five rounds. Published QM7
  results use it. :func:`fold_labels` turns ``P`` into scikit-learn's
  :class:`~sklearn.model_selection.PredefinedSplit`, and :func:`p_fold_scores` runs
  :func:`~sklearn.model_selection.cross_validate` over it: the one P-fold evaluation of the
  book. :func:`fold_splits` yields the same folds as index arrays, for loops that need more
  than ``fit`` and ``predict``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import numpy as np
from sklearn.utils import check_scalar

__all__ = [
    "Split",
    "compare_features",
    "deck_split",
    "extrapolate_learning_curve",
    "fold_labels",
    "fold_splits",
    "fold_summary",
    "holdout_split",
    "p_fold_scores",
    "regression_metrics",
]

class Split(NamedTuple):
    """Index arrays of a train / validation / test split.

    ``validation`` is for choosing (the deck's "test" or "dev" set), ``test`` the final
    hold-out (the deck's "validation" set).
    """

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        """Number of molecules in each part."""
        return {name: int(len(part)) for name, part in self._asdict().items()}


def _check_fraction(name: str, value) -> float:
    return float(check_scalar(value, name, numbers.Real, min_val=0.0, max_val=1.0,
                              include_boundaries="neither"))


def _check_n(n) -> int:
    return int(check_scalar(n, "n (the number of molecules)", numbers.Integral, min_val=3))


def deck_split(
    n: int, test_size: float = 0.15, validation_size: float = 0.18, seed: int = 42
) -> Split:
    """The deck's split of ``n`` molecules into train, validation and test indices.

    ``test_size`` of all molecules is held out first as the test set (the deck's
    "validation" set); then ``validation_size`` of the remaining ones becomes the validation
    set (the deck's "test" or "dev" set), both with scikit-learn's ``train_test_split`` and the
    same seed, as in the deck. The defaults give 4,993 / 1,097 / 1,075 molecules on QM7
    (69.7% / 15.3% / 15.0%).

    Parameters
    ----------
    n : int
        Number of molecules (at least 3).
    test_size : float
        Share of all molecules held out first, in (0, 1).
    validation_size : float
        Share of the remaining molecules used for choosing, in (0, 1).
    seed : int
        ``random_state`` of both shuffles.

    Returns
    -------
    Split
        Sorted, disjoint index arrays ``train``, ``validation``, ``test`` covering
        ``range(n)``.
    """
    from sklearn.model_selection import train_test_split

    n = _check_n(n)
    test_size = _check_fraction("test_size", test_size)
    validation_size = _check_fraction("validation_size", validation_size)
    rest, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    train, validation = train_test_split(rest, test_size=validation_size, random_state=seed)
    return Split(np.sort(train), np.sort(validation), np.sort(test))


def holdout_split(n: int, test_size: float = 0.2, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """A plain two-way split of ``range(n)``: sorted ``(train, test)`` index arrays.

    The deck's 80/20 split of its 2D ConvNet; ``test_size`` is the share held out.
    """
    from sklearn.model_selection import train_test_split

    n = _check_n(n)
    test_size = _check_fraction("test_size", test_size)
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    return np.sort(train), np.sort(test)


# --- The P folds ---------------------------------------------------------------------------------


def fold_labels(P, n: int) -> np.ndarray:
    """The fold of each of ``n`` molecules: ``P`` as the ``test_fold`` of a ``PredefinedSplit``.

    Parameters
    ----------
    P : array of int, shape (n_folds >= 2, fold_size)
        Row ``k`` holds the indices of the molecules of fold ``k`` (``qm7.P``).
    n : int
        Number of molecules the indices refer to.

    Returns
    -------
    ndarray of int64, shape (n,)
        ``k`` for the molecules of fold ``k``, ``-1`` for molecules in no fold (scikit-learn's
        :class:`~sklearn.model_selection.PredefinedSplit` would put those in every training
        set; :func:`p_fold_scores` and :func:`fold_splits` leave them out instead).

    Raises
    ------
    ValueError
        If ``P`` is not a 2D array of integer indices in ``0..n-1``, or a molecule is in two
        folds.
    """
    P = np.asarray(P)
    if P.ndim != 2 or P.shape[0] < 2 or not np.issubdtype(P.dtype, np.integer):
        raise ValueError(
            f"P must be an integer array of shape (n_folds >= 2, fold_size), e.g. qm7.P; got "
            f"dtype {P.dtype}, shape {P.shape}"
        )
    if P.size and (P.min() < 0 or P.max() >= n):
        raise ValueError(f"P holds indices outside 0..{n - 1}: it must index X and y")
    if np.unique(P).size != P.size:
        raise ValueError("a molecule appears twice in P: every molecule belongs to one fold")
    labels = np.full(n, -1, dtype=np.int64)
    for k, fold in enumerate(P):
        labels[fold] = k
    return labels


def fold_splits(P) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """The standard QM7 protocol as index arrays: for each fold ``k`` of ``P``, train on the others.

    The same folds as :func:`p_fold_scores` (scikit-learn's ``PredefinedSplit`` over
    :func:`fold_labels`); molecules in no fold are in no training set.

    Yields
    ------
    (k, train, test)
        Fold number and sorted index arrays.
    """
    from sklearn.model_selection import PredefinedSplit

    P = np.asarray(P)
    n = int(P.max()) + 1 if P.size else 0
    labels = fold_labels(P, n)
    used = np.flatnonzero(labels >= 0)
    for k, (train, test) in enumerate(PredefinedSplit(labels[used]).split()):
        yield k, used[train], used[test]


#: scikit-learn scorers of :func:`p_fold_scores` (the ``neg_`` ones are sign-flipped there).
_FOLD_SCORERS = {
    "mae": "neg_mean_absolute_error",
    "rmse": "neg_root_mean_squared_error",
    "r2": "r2",
    "max_abs_error": "neg_max_error",
}


def p_fold_scores(estimator, X, y, P, return_predictions: bool = False):
    """The standard QM7 protocol: train on four folds of ``P``, test on the fifth, five times.

    scikit-learn's :func:`~sklearn.model_selection.cross_validate` over a
    :class:`~sklearn.model_selection.PredefinedSplit` whose folds are the rows of ``P``
    (:func:`fold_labels`): each fold fits a fresh clone of ``estimator`` on the other
    folds and scores it on this one. Molecules in no fold are left out.

    Parameters
    ----------
    estimator : scikit-learn regressor
        Cloned for every fold.
    X : array of shape (n, ...)
        Inputs of all molecules (features, or ``Z`` for
        :class:`~qm7utils.models.baseline.DressedAtoms`).
    y : array of shape (n,)
        Targets (kcal/mol).
    P : array of shape (n_folds, fold_size)
        The folds (``qm7.P``).
    return_predictions : bool
        Also return the out-of-fold predictions: every molecule of ``P`` predicted by the
        model that did not train on it.

    Returns
    -------
    scores : pandas.DataFrame
        One row per fold: ``n_train``, ``n_test``, ``mae``, ``rmse``, ``r2``,
        ``max_abs_error`` (units of ``y``) and ``seconds`` (training wall time).
    predictions : ndarray of shape (n,)
        Only with ``return_predictions``; NaN for molecules in no fold.
    """
    import pandas as pd
    from sklearn.model_selection import PredefinedSplit, cross_validate

    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64).ravel()
    if len(X) != len(y):
        raise ValueError(f"X and y differ in length: {len(X)} vs {len(y)} (one row per target)")
    labels = fold_labels(P, len(y))
    used = np.flatnonzero(labels >= 0)
    result = cross_validate(
        estimator, X[used], y[used], cv=PredefinedSplit(labels[used]), scoring=_FOLD_SCORERS,
        return_estimator=return_predictions, return_indices=True, error_score="raise",
    )
    scores = pd.DataFrame({
        "n_train": [len(train) for train in result["indices"]["train"]],
        "n_test": [len(test) for test in result["indices"]["test"]],
        **{name: (-1 if scorer.startswith("neg_") else 1) * result[f"test_{name}"]
           for name, scorer in _FOLD_SCORERS.items()},
        "seconds": result["fit_time"],
    }).rename_axis("fold")
    if not return_predictions:
        return scores
    predictions = np.full(len(y), np.nan)
    for model, test in zip(result["estimator"], result["indices"]["test"], strict=True):
        predictions[used[test]] = model.predict(X[used[test]])
    return scores, predictions


def fold_summary(fold_maes: Mapping[str, np.ndarray], index_name: str = "model"):
    """Mean ± standard deviation of per-fold MAEs, one row per model, best first.

    The standard deviation is the population one over the folds (``ddof=0``, NumPy's
    default), the convention of every "±" in the book.

    Parameters
    ----------
    fold_maes : mapping of name to array of shape (n_folds,)
        E.g. the ``mae`` column of :func:`p_fold_scores`.
    index_name : str
        Name of the index of the table.

    Returns
    -------
    pandas.DataFrame indexed by name, columns ``mae`` and ``mae_std``, sorted by ``mae``.
    """
    import pandas as pd

    if not fold_maes:
        raise ValueError("fold_maes is empty: pass {name: array of per-fold MAEs}")
    rows = []
    for name, maes in fold_maes.items():
        maes = np.asarray(maes, dtype=np.float64)
        if maes.ndim != 1 or maes.size == 0 or not np.all(np.isfinite(maes)):
            raise ValueError(
                f"the MAEs of {name!r} must be a non-empty 1D array of finite values (one per "
                f"fold), got shape {maes.shape}"
            )
        rows.append({index_name: name, "mae": float(maes.mean()), "mae_std": float(maes.std())})
    return pd.DataFrame(rows).set_index(index_name).sort_values("mae", kind="stable")


def compare_features(feature_sets: Mapping[str, np.ndarray], y, P, alphas=None):
    """How much each feature set says about ``y``: a linear probe under the P folds, best first.

    For each feature set, :func:`p_fold_scores` of a ridge regression on standardised
    features whose penalty is chosen by efficient leave-one-out cross-validation on the
    training folds (``make_pipeline(StandardScaler(), RidgeCV(alphas))``). A quick, linear
    look, not a tuned model. The fits run on one BLAS thread: at this size extra threads cost
    more than they give, and one thread gives the same sums on every machine.

    Parameters
    ----------
    feature_sets : mapping of name to array of shape (n, d) or (n,)
    y : array of shape (n,)
    P : array of shape (n_folds, fold_size)
    alphas : sequence of float, optional
        Penalties to choose from; default ``10**k`` for k = -4..4.

    Returns
    -------
    pandas.DataFrame indexed by name with columns ``n_features``, ``mae`` (mean over folds)
    and ``mae_std`` (population standard deviation over folds, see :func:`fold_summary`).
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    if not feature_sets:
        raise ValueError("feature_sets is empty: pass {name: array of shape (n, d)}")
    alphas = np.logspace(-4, 4, 9) if alphas is None else np.asarray(alphas, dtype=np.float64)
    probe = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))
    maes, n_features = {}, {}
    for name, X in feature_sets.items():
        X = np.asarray(X, dtype=np.float64)
        X = X[:, None] if X.ndim == 1 else X
        if X.ndim != 2 or not np.all(np.isfinite(X)):
            raise ValueError(
                f"feature set {name!r} must be a finite array of shape (n, d), got shape "
                f"{X.shape}{'' if X.ndim != 2 else ' with NaN or infinite values'}"
            )
        with threadpool_limits(limits=1):
            maes[name] = p_fold_scores(probe, X, y, P)["mae"].to_numpy()
        n_features[name] = int(X.shape[1])
    table = fold_summary(maes, index_name="features")
    table.insert(0, "n_features", [n_features[name] for name in table.index])
    return table


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """MAE, RMSE, R^2 and maximum absolute error of predictions (units of ``y``).

    Raises ``ValueError`` on shape mismatch, empty or non-finite input.
    """
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.size} vs {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("no predictions to evaluate")
    if not (np.all(np.isfinite(y_true)) and np.all(np.isfinite(y_pred))):
        raise ValueError("y_true and y_pred must be finite (a model diverged?)")
    error = y_pred - y_true
    ss_tot = np.sum((y_true - y_true.mean()) ** 2)
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "r2": float(1.0 - np.sum(error**2) / ss_tot) if ss_tot > 0 else float("nan"),
        "max_abs_error": float(np.max(np.abs(error))),
    }


def extrapolate_learning_curve(n_train, mae, target: float) -> tuple[float, float]:
    r"""Slope of a learning curve on log-log axes, and where its straight line reaches ``target``.

    Kernel models give learning curves close to a power law, :math:`\text{MAE} \approx
    c\,N^{-a}`: a straight line on log-log axes. The line is fitted by least squares to
    :math:`\log \text{MAE}` against :math:`\log N` on the larger half of the sizes
    (:math:`N \ge` their median), where the curve is straightest. An extrapolation, not a
    promise: nothing guarantees that the line stays straight beyond the data.

    Returns the exponent :math:`a` (positive for a falling curve) and the training-set size
    at which the line reaches the MAE ``target``. Raises ``ValueError`` on mismatched or
    non-positive input, fewer than two sizes in the larger half, or a curve that does not fall.
    """
    n = np.asarray(n_train, dtype=np.float64)
    mae = np.asarray(mae, dtype=np.float64)
    if n.ndim != 1 or n.shape != mae.shape:
        raise ValueError(f"n_train and mae must be 1-D and of one length, got {n.shape}, "
                         f"{mae.shape}")
    if not (np.all(np.isfinite(n) & (n > 0)) and np.all(np.isfinite(mae) & (mae > 0))):
        raise ValueError("n_train and mae must be positive and finite (they are log-transformed)")
    target = float(check_scalar(target, "target", numbers.Real, min_val=0.0,
                                include_boundaries="neither"))
    upper = n >= np.median(n)
    if len(np.unique(n[upper])) < 2:
        raise ValueError("the larger half of the sizes needs at least two different n_train "
                         "to fit a line: pass more sizes")
    slope, intercept = np.polyfit(np.log(n[upper]), np.log(mae[upper]), 1)
    if slope >= 0:
        raise ValueError(f"the learning curve does not fall (log-log slope {slope:.3g}): "
                         "it never reaches a lower MAE")
    return float(-slope), float(np.exp((np.log(target) - intercept) / slope))
