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

import warnings
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

__all__ = [
    "DECK_BIN_WIDTH",
    "Split",
    "boundary_distance",
    "class_table",
    "classification_metrics",
    "classification_report_frame",
    "deck_split",
    "energy_classes",
    "fold_splits",
    "holdout_split",
    "nested_fractions",
    "overall_fractions",
    "recall_table",
    "regression_metrics",
]

#: Width (kcal/mol) of the deck's energy classes: the range of QM7's energies, 1,787.12
#: kcal/mol, cut into 10 bins.
DECK_BIN_WIDTH = 178.712


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


# --- Fractions of a three-way split -----------------------------------------------------------


def overall_fractions(validation_size: float = 0.15, test_size: float = 0.18) -> dict[str, float]:
    """Share of all molecules in each part of :func:`deck_split`.

    The deck's fractions are nested: ``validation_size`` of everything, then ``test_size`` of
    the rest. The defaults give train 0.697, test 0.153, validation 0.15.

    Returns
    -------
    dict with keys ``train``, ``test``, ``validation``; the values sum to 1.
    """
    validation_size = _check_fraction("validation_size", validation_size)
    test_size = _check_fraction("test_size", test_size)
    rest = 1.0 - validation_size
    return {
        "train": rest * (1.0 - test_size),
        "test": rest * test_size,
        "validation": validation_size,
    }


def nested_fractions(
    train: float, test: float, validation: float, atol: float = 1e-6
) -> dict[str, float]:
    """The ``validation_size`` and ``test_size`` of :func:`deck_split` for overall shares.

    For example ``nested_fractions(0.8, 0.1, 0.1)`` gives ``validation_size=0.1`` and
    ``test_size=0.1111``, so ``deck_split(n, **nested_fractions(0.8, 0.1, 0.1))`` is an
    80/10/10 split.

    Parameters
    ----------
    train, test, validation : float
        Shares in (0, 1) that sum to 1 (within ``atol``).

    Raises
    ------
    ValueError
        If a share is outside (0, 1) or the three do not sum to 1.
    """
    shares = {
        "train": _check_fraction("train", train),
        "test": _check_fraction("test", test),
        "validation": _check_fraction("validation", validation),
    }
    total = sum(shares.values())
    if abs(total - 1.0) > atol:
        raise ValueError(
            f"train, test and validation fractions must sum to 1, got {train} + {test} + "
            f"{validation} = {total:.6g}; e.g. 0.7, 0.15, 0.15"
        )
    return {
        "validation_size": shares["validation"],
        "test_size": shares["test"] / (shares["train"] + shares["test"]),
    }


# --- Energy classes (chapter 5) --------------------------------------------------------------


def _check_bin_width(bin_width) -> float:
    if isinstance(bin_width, bool) or not isinstance(bin_width, (int, float, np.number)):
        raise TypeError(f"bin_width must be a number of kcal/mol, got {bin_width!r}")
    if not np.isfinite(bin_width) or bin_width <= 0:
        raise ValueError(
            f"bin_width must be a positive energy in kcal/mol (the deck uses "
            f"{DECK_BIN_WIDTH}), got {bin_width}"
        )
    return float(bin_width)


def energy_classes(T, bin_width: float = DECK_BIN_WIDTH) -> np.ndarray:
    r"""The deck's energy classes: :math:`\lfloor |T| / w \rfloor` for bin width :math:`w`.

    Class ``k`` holds the molecules with :math:`k w \le |T| < (k+1) w`, i.e. atomization
    energies in :math:`(-(k+1) w, -k w]`. Higher classes are more strongly bound molecules,
    which on QM7 mostly means larger ones. With the deck's width of 178.712 kcal/mol, QM7 spans
    classes 2 to 12.

    Parameters
    ----------
    T : array_like
        Energies in kcal/mol (finite).
    bin_width : float
        Width of a class in kcal/mol (> 0).

    Returns
    -------
    ndarray of int64, same shape as ``T``.
    """
    bin_width = _check_bin_width(bin_width)
    T = np.asarray(T, dtype=np.float64)
    if not np.all(np.isfinite(T)):
        raise ValueError("T must hold finite energies")
    return np.floor(np.abs(T) / bin_width).astype(np.int64)


def boundary_distance(T, bin_width: float = DECK_BIN_WIDTH) -> np.ndarray:
    """Distance (kcal/mol) of each energy to the nearest class boundary.

    A molecule 2 kcal/mol from a boundary is a near miss waiting to happen: a model whose
    error is larger than that can put it in the neighbouring class.
    """
    bin_width = _check_bin_width(bin_width)
    T = np.asarray(T, dtype=np.float64)
    if not np.all(np.isfinite(T)):
        raise ValueError("T must hold finite energies")
    position = np.mod(np.abs(T), bin_width)
    return np.minimum(position, bin_width - position)


def class_table(T, bin_width: float = DECK_BIN_WIDTH, split: Split | None = None):
    """The populated classes, their energy ranges and their counts.

    Parameters
    ----------
    T : array_like
        Energies in kcal/mol.
    bin_width : float
        Class width in kcal/mol.
    split : Split, optional
        Adds a count column per part of the split (``train``, ``test``, ``validation``).

    Returns
    -------
    pandas.DataFrame
        Indexed by class, with ``from`` and ``to`` (the energy range in kcal/mol, ``from`` the
        more negative end), ``molecules`` and, with a split, one column per part.
    """
    import pandas as pd

    classes = energy_classes(T, bin_width)
    width = _check_bin_width(bin_width)
    labels = np.unique(classes)
    table = pd.DataFrame(
        {
            "from": -(labels + 1) * width,
            "to": -labels * width,
            "molecules": [int(np.sum(classes == k)) for k in labels],
        },
        index=pd.Index(labels, name="class"),
    )
    if split is not None:
        for name, part in split._asdict().items():
            table[name] = [int(np.sum(classes[part] == k)) for k in labels]
    return table


def _check_labels(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.size} vs {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("no predictions to evaluate")
    return y_true, y_pred


def classification_metrics(y_true, y_pred) -> dict[str, float]:
    """Accuracy and ordinal scores of class predictions.

    The per-class scores are averaged over the classes **present in** ``y_true``. A class that
    occurs only among the predictions (a "phantom" class, e.g. an extreme energy class with no
    molecule in a small validation set) gets no term of its own: a molecule predicted into it
    is simply a miss of its true class. Counting it as a class with f1 = 0, as scikit-learn's
    ``f1_score(average="macro")`` does by default, would lower the macro average by a class
    nobody asked about.

    Returns
    -------
    dict
        ``accuracy``; ``balanced_accuracy`` (mean recall over the true classes, so rare
        classes count as much as common ones); ``macro_f1`` (mean f1 over the true classes);
        and, because the classes are ordered energies, ``within_one`` (share of predictions at
        most one class off) and ``mean_class_error`` (mean absolute difference of class
        numbers).
    """
    from sklearn.metrics import balanced_accuracy_score, f1_score

    y_true, y_pred = _check_labels(y_true, y_pred)
    difference = np.abs(y_true.astype(np.int64) - y_pred.astype(np.int64))
    with warnings.catch_warnings():
        # sklearn warns "y_pred contains classes not in y_true" and then leaves those classes
        # out of the mean recall (their recall is undefined): the mean over the true classes,
        # as documented above. Routine for the sparse extreme classes, so not worth a warning.
        warnings.simplefilter("ignore", UserWarning)
        balanced = balanced_accuracy_score(y_true, y_pred)
    macro_f1 = f1_score(y_true, y_pred, labels=np.unique(y_true), average="macro",
                        zero_division=0)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "balanced_accuracy": float(balanced),
        "macro_f1": float(macro_f1),
        "within_one": float(np.mean(difference <= 1)),
        "mean_class_error": float(np.mean(difference)),
    }


def classification_report_frame(y_true, y_pred, labels=None):
    """Per-class precision, recall, f1 and support as a table (scikit-learn's report).

    Classes that are never predicted get precision 0 (not a warning). By default the rows
    are the classes present in ``y_true``, so the ``macro avg`` row is the mean over the
    true classes, like ``balanced_accuracy`` and ``macro_f1`` of
    :func:`classification_metrics`: a prediction into a class absent from ``y_true`` counts
    only as a miss (lower recall) of its true class. Pass ``labels`` to list other classes.

    Parameters
    ----------
    y_true, y_pred : array_like
        True and predicted classes.
    labels : sequence, optional
        Classes to report (default: the classes in ``y_true``).

    Returns
    -------
    pandas.DataFrame
        One row per class, then ``macro avg`` and ``weighted avg``; columns ``precision``,
        ``recall``, ``f1-score``, ``support``.
    """
    import pandas as pd
    from sklearn.metrics import classification_report

    y_true, y_pred = _check_labels(y_true, y_pred)
    if labels is None:
        labels = np.unique(y_true)
    report = classification_report(
        y_true, y_pred, labels=list(labels), output_dict=True, zero_division=0
    )
    report.pop("accuracy", None)
    report.pop("micro avg", None)
    table = pd.DataFrame(report).T
    table["support"] = table["support"].astype(int)
    table.index.name = "class"
    return table


def recall_table(y_true, predictions: dict):
    """Support and recall of every true class for one or more models side by side.

    Parameters
    ----------
    y_true : array_like
        True classes.
    predictions : dict
        Model name -> predicted classes (same length as ``y_true``).

    Returns
    -------
    pandas.DataFrame
        Indexed by the classes present in ``y_true``: ``molecules`` (support), then one column
        per model with the share of that class's molecules it put in the right class.
    """
    import pandas as pd

    if not predictions:
        raise ValueError("predictions must be a non-empty {model name: predicted classes}")
    y_true = np.asarray(y_true).ravel()
    classes, support = np.unique(y_true, return_counts=True)
    table = pd.DataFrame({"molecules": support}, index=pd.Index(classes, name="class"))
    for name, y_pred in predictions.items():
        truth, y_pred = _check_labels(y_true, y_pred)
        hits = truth == y_pred
        table[name] = [float(hits[truth == c].mean()) for c in classes]
    return table
