"""Splits and metrics shared by the modelling chapters.

Two protocols appear in the book:

* the **deck's split** (:func:`deck_split`): 15% of the molecules held out first as the
  validation set, then 18% of the rest as the test (development) set, seed 42, about
  70/15/15. The classification and regression chapters use it, so their numbers compare with
  the slide deck's.
* the **standard QM7 protocol** (:func:`fold_splits`): the five folds in ``P``; train on four,
  test on the fifth, report the mean and standard deviation of the test MAE over the five
  rounds. Published QM7 results use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

__all__ = [
    "Split",
    "deck_split",
    "fold_splits",
    "holdout_split",
    "regression_metrics",
]


class Split(NamedTuple):
    """Index arrays of a train / test / validation split (``test`` is the deck's "dev" set)."""

    train: np.ndarray
    test: np.ndarray
    validation: np.ndarray

    def sizes(self) -> dict[str, int]:
        """Number of molecules in each part."""
        return {name: int(len(part)) for name, part in self._asdict().items()}


def _check_fraction(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{name} must be a number in (0, 1), got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be a fraction in (0, 1), got {value}")
    return float(value)


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 3:
        raise ValueError(f"n must be an integer number of molecules >= 3, got {n!r}")
    return int(n)


def deck_split(
    n: int, validation_size: float = 0.15, test_size: float = 0.18, seed: int = 42
) -> Split:
    """The deck's split of ``n`` molecules into train, test (dev) and validation indices.

    ``validation_size`` of all molecules is held out first; then ``test_size`` of the remaining
    ones becomes the test (dev) set, both with scikit-learn's ``train_test_split`` and the same
    seed, as in the deck. The defaults give 4,993 / 1,097 / 1,075 molecules on QM7 (69.7% /
    15.3% / 15.0%).

    Parameters
    ----------
    n : int
        Number of molecules.
    validation_size, test_size : float
        Fractions in (0, 1).
    seed : int
        ``random_state`` of both shuffles.

    Returns
    -------
    Split
        Sorted, disjoint index arrays covering ``range(n)``.
    """
    from sklearn.model_selection import train_test_split

    n = _check_n(n)
    validation_size = _check_fraction("validation_size", validation_size)
    test_size = _check_fraction("test_size", test_size)
    rest, validation = train_test_split(
        np.arange(n), test_size=validation_size, random_state=seed
    )
    train, test = train_test_split(rest, test_size=test_size, random_state=seed)
    return Split(np.sort(train), np.sort(test), np.sort(validation))


def holdout_split(n: int, test_size: float = 0.2, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """A plain train / test split of ``range(n)`` (the deck's 80/20 split of the 2D CNN)."""
    from sklearn.model_selection import train_test_split

    n = _check_n(n)
    test_size = _check_fraction("test_size", test_size)
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    return np.sort(train), np.sort(test)


def fold_splits(P) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """The standard QM7 protocol: for each fold ``k`` of ``P``, train on the others.

    Yields
    ------
    (k, train, test)
        Fold number and sorted index arrays.
    """
    P = np.asarray(P)
    if P.ndim != 2 or P.shape[0] < 2:
        raise ValueError(f"P must have shape (n_folds >= 2, fold_size), got {P.shape}")
    for k in range(P.shape[0]):
        train = np.sort(np.concatenate([P[j] for j in range(P.shape[0]) if j != k]))
        yield k, train, np.sort(P[k])


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
