r"""Kernel ridge regression (chapter 8): kernels, the Cholesky solve, the choice of width.

Kernel ridge regression (KRR) predicts the energy of a molecule :math:`M` as a weighted sum of
its similarities to the training molecules,

.. math::

    E(M) = \sum_i \alpha_i\, k(M, M_i), \qquad
    (\mathbf K + \lambda \mathbf I)\,\boldsymbol\alpha = \mathbf y ,

where :math:`K_{ij} = k(M_i, M_j)` and :math:`\lambda` is the regularization. The system is
symmetric positive definite and is solved by a Cholesky factorization (:func:`krr_fit`).

Kernels come from distance matrices computed once for all molecules (:class:`DistanceKernel`)
or from precomputed matrices such as the local kernel over atomic environments
(:func:`local_gaussian_kernels`), indexed fold by fold: the test molecules' *energies* are never
used to build them. :func:`fit_predict` fits the residual of the dressed-atom baseline;
:func:`inner_holdout_search` runs the P-fold protocol with each fold's width and
regularization chosen on a validation fold held out of its training folds.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg
from scipy.spatial.distance import cdist, pdist, squareform
from sklearn.utils import check_scalar

from ..evaluation import fold_splits, regression_metrics
from ..parallel import available_cores, thread_map
from .baseline import DressedAtoms

if TYPE_CHECKING:
    from ..representations.fchl19 import AtomicEnvironments

__all__ = [
    "FCHL19_CHOICES",
    "FCHL19_GRID",
    "CVResult",
    "DistanceKernel",
    "PrecomputedKernel",
    "extrapolate_learning_curve",
    "fit_predict",
    "gaussian_kernel",
    "inner_holdout_search",
    "krr_fit",
    "laplacian_kernel",
    "learning_curve",
    "local_gaussian_kernels",
    "pairwise_distances",
    "validation_errors",
]

#: The grid searched for the FCHL19 local kernel of chapter 8 (widths in the units of the
#: FCHL19 vectors, regularizations added to the diagonal of the kernel matrix).
FCHL19_GRID = {"sigmas": (1.0, 1.5, 2.0, 3.0), "regularizations": (1e-5, 1e-4, 1e-3, 1e-2)}
#: ``(sigma, regularization)`` of the FCHL19 local kernel for each P fold, chosen offline by
#: :func:`inner_holdout_search` over :data:`FCHL19_GRID` with the full inner training folds
#: (``inner_size=None``; 128 principal components per element): on each test fold ``k`` the
#: pair with the lowest MAE on fold ``k + 1``, trained on the other three training folds. The
#: search takes several minutes on two cores; chapter 8 reruns it with ``frontier_search``.
FCHL19_CHOICES = ((1.5, 1e-3), (2.0, 1e-4), (2.0, 1e-4), (2.0, 1e-4), (2.0, 1e-4))


def _positive(name: str, value) -> float:
    """``value`` as a float, or an error if it is not a positive, finite number."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    check_scalar(value, name, numbers.Real, min_val=0, include_boundaries="neither")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a positive, finite number, got {value}")
    return float(value)


# --- Distances and global kernels ------------------------------------------------------------


def _as_matrix(name: str, A) -> np.ndarray:
    # C-contiguous: SciPy's distance loops run several times slower on strided rows.
    A = np.ascontiguousarray(A, dtype=np.float64)
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features), got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return A


def pairwise_distances(A, B=None, metric: str = "l1", dtype=np.float64) -> np.ndarray:
    r"""Distances between the rows of ``A`` and of ``B`` (or of ``A`` with itself).

    ``"l1"`` (city-block, :math:`\sum_k |a_k - b_k|`) uses SciPy's compiled ``pdist`` /
    ``cdist`` (on every core, in blocks of rows); ``"sqeuclidean"``
    (:math:`\lVert a - b\rVert^2`) uses one matrix product,
    :math:`\lVert a\rVert^2 + \lVert b\rVert^2 - 2\,a\cdot b`. No Python loop runs over pairs.

    ``A`` is (n, d), ``B`` (m, d); the result is (n, m), or (n, n) with an exact zero diagonal
    when ``B`` is omitted, of type ``dtype`` (``float32`` halves the memory of a cached matrix).
    """
    A = _as_matrix("A", A)
    if B is not None:
        B = _as_matrix("B", B)
        if B.shape[1] != A.shape[1]:
            raise ValueError(
                f"A and B must have the same number of features, got {A.shape[1]} and {B.shape[1]}"
            )
    if metric == "l1":
        D = _l1_distances(A, B, dtype)
    elif metric == "sqeuclidean":
        other = A if B is None else B
        D = (
            np.einsum("ij,ij->i", A, A)[:, None]
            + np.einsum("ij,ij->i", other, other)[None, :]
            - 2.0 * (A @ other.T)
        )
        np.maximum(D, 0.0, out=D)  # rounding can make tiny distances negative
        if B is None:
            np.fill_diagonal(D, 0.0)
    else:
        raise ValueError(f"metric must be 'l1' or 'sqeuclidean', got {metric!r}")
    return D.astype(dtype, copy=False)


def _l1_distances(A: np.ndarray, B: np.ndarray | None, dtype) -> np.ndarray:
    """L1 distances by SciPy's compiled loop, on every core: blocks of rows, one per task.

    SciPy's loop runs on one core but releases the global lock, so threads run blocks side by
    side; every entry is the same number as in one ``cdist`` call. Without ``B`` only the upper
    triangle is computed (blocks of equal work) and mirrored, as ``pdist`` would.
    """
    workers = available_cores()
    n = len(A)
    if workers == 1 or n < 256:
        D = squareform(pdist(A, "cityblock")) if B is None else cdist(A, B, "cityblock")
        return D.astype(dtype, copy=False)
    D = np.empty((n, n if B is None else len(B)), dtype=dtype)
    n_blocks = 4 * workers
    if B is None:
        # Row block k of the upper triangle ends where the work done so far is k / n_blocks.
        edges = n * (1.0 - np.sqrt(1.0 - np.arange(n_blocks + 1) / n_blocks))
    else:
        edges = np.linspace(0, n, n_blocks + 1)
    edges = np.unique(np.round(edges).astype(int))

    def block(k: int) -> None:
        a, b = edges[k], edges[k + 1]
        if B is None:
            D[a:b, a:] = cdist(A[a:b], A[a:], "cityblock")
            D[b:, a:b] = D[a:b, b:].T  # the mirror image: no other block writes there
        else:
            D[a:b] = cdist(A[a:b], B, "cityblock")

    thread_map(block, range(len(edges) - 1), workers)
    return D


def laplacian_kernel(A, B=None, sigma: float = 1.0) -> np.ndarray:
    r"""Laplacian kernel :math:`k(a, b) = \exp(-\lVert a - b\rVert_1 / \sigma)` (L1 norm).

    ``A`` (n, d) and ``B`` (m, d, default ``A``) hold feature vectors; ``sigma`` is the
    width, in the units of the features.
    """
    sigma = _positive("sigma", sigma)
    return np.exp(-pairwise_distances(A, B, "l1") / sigma)


def gaussian_kernel(A, B=None, sigma: float = 1.0) -> np.ndarray:
    r"""Gaussian kernel :math:`k(a, b) = \exp(-\lVert a - b\rVert_2^2 / 2\sigma^2)`."""
    sigma = _positive("sigma", sigma)
    return np.exp(-pairwise_distances(A, B, "sqeuclidean") / (2.0 * sigma**2))


def _views(rows: np.ndarray, n: int, n_views: int) -> np.ndarray:
    """Row numbers of every view of molecules ``rows``: view ``r`` of molecule ``i`` is
    ``r * n + i``."""
    return (np.arange(n_views)[:, None] * n + rows[None, :]).ravel()


class DistanceKernel:
    r"""Laplacian or Gaussian kernel blocks from a cached matrix of distances.

    The distances between all molecules (or all their views) are computed once; the kernel of
    any block and any width is then one ``exp``: :math:`\exp(-D/\sigma)` (Laplacian, ``D`` the
    L1 distances) or :math:`\exp(-D/2\sigma^2)` (Gaussian, ``D`` the squared distances).

    Parameters
    ----------
    distances : array of shape (n_views * n, n_views * n)
        Row ``r * n + i`` is view ``r`` of molecule ``i`` (e.g. the sorted Coulomb matrices of
        all molecules, then a randomly sorted one of each).
    kind : {"laplacian", "gaussian"}
    n_views : int
        Views per molecule.
    """

    def __init__(self, distances, kind: str = "laplacian", n_views: int = 1):
        distances = np.asarray(distances)
        if distances.ndim != 2 or distances.shape[0] != distances.shape[1]:
            raise ValueError(f"distances must be a square matrix, got shape {distances.shape}")
        if kind not in ("laplacian", "gaussian"):
            raise ValueError(f"kind must be 'laplacian' or 'gaussian', got {kind!r}")
        check_scalar(n_views, "n_views", numbers.Integral, min_val=1)
        if distances.shape[0] % n_views:
            raise ValueError(
                f"{distances.shape[0]} rows cannot hold {n_views} views of every molecule"
            )
        self.distances = distances
        self.kind = kind
        self.n_views = int(n_views)
        self.n_molecules = distances.shape[0] // self.n_views

    def __call__(self, rows, cols, sigma: float) -> np.ndarray:
        """Kernel between every view of molecules ``rows`` and of molecules ``cols``."""
        sigma = _positive("sigma", sigma)
        r = _views(np.asarray(rows), self.n_molecules, self.n_views)
        c = _views(np.asarray(cols), self.n_molecules, self.n_views)
        block = self.distances[np.ix_(r, c)].astype(np.float64)
        scale = sigma if self.kind == "laplacian" else 2.0 * sigma**2
        block *= -1.0 / scale
        return np.exp(block, out=block)


class PrecomputedKernel:
    """Kernel blocks from full kernel matrices computed in advance, one per width.

    Parameters
    ----------
    matrices : dict
        ``{sigma: K}`` with ``K`` of shape (n, n), e.g. from :func:`local_gaussian_kernels`.
    """

    n_views = 1

    def __init__(self, matrices: dict[float, np.ndarray]):
        shapes = {np.shape(K) for K in matrices.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"all kernel matrices must be square and of one shape, got {shapes}")
        self.matrices = {float(s): K for s, K in matrices.items()}
        self.n_molecules = next(iter(shapes))[0]

    def __call__(self, rows, cols, sigma: float) -> np.ndarray:
        """Kernel block between molecules ``rows`` and ``cols`` at width ``sigma``."""
        try:
            K = self.matrices[float(sigma)]
        except KeyError:
            raise ValueError(
                f"no kernel for sigma={sigma}: computed widths are {sorted(self.matrices)}"
            ) from None
        return np.asarray(K[np.ix_(np.asarray(rows), np.asarray(cols))], dtype=np.float64)


# --- The solver and the dressed-atom residual ------------------------------------------------


def krr_fit(K, y, regularization: float, overwrite: bool = False) -> np.ndarray:
    r"""KRR weights :math:`(\mathbf K + \lambda\mathbf I)^{-1}\mathbf y`, by Cholesky factorization.

    ``K`` (n, n) is the kernel matrix of the training samples, ``y`` (n,) their targets,
    ``regularization`` :math:`\lambda > 0`; ``overwrite=True`` lets the factorization overwrite
    ``K`` (saves a copy of a large matrix). Raises ``ValueError`` on bad input or on a matrix
    that is not positive definite even with :math:`\lambda` (the message says to increase it).
    """
    K = np.asarray(K, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square (n, n) kernel matrix, got shape {K.shape}")
    if y.shape != (K.shape[0],):
        raise ValueError(f"y must have shape ({K.shape[0]},) to match K, got {y.shape}")
    regularization = _positive("regularization", regularization)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(K))):
        raise ValueError("K and y must be finite")
    if not overwrite:
        K = K.copy()
    K[np.diag_indices_from(K)] += regularization  # K + lambda I
    try:  # K + lambda I = L L^T
        L = scipy.linalg.cho_factor(K, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"K + {regularization:g} I is not positive definite (a kernel matrix computed in "
            "limited precision, or duplicate samples): increase the regularization"
        ) from None
    return scipy.linalg.cho_solve(L, y, check_finite=False)  # two triangular solves


def _baseline(baseline: str, Z, y, train, predict):
    """Baseline energies of molecules ``train`` and ``predict``, fitted on ``train``."""
    if baseline == "atoms":
        model = DressedAtoms().fit(Z[train], y[train])
        return model.predict(Z[train]), model.predict(Z[predict])
    if baseline == "mean":
        mean = float(np.mean(y[train]))
        return np.full(len(train), mean), np.full(len(predict), mean)
    raise ValueError(f"baseline must be 'atoms' or 'mean', got {baseline!r}")


def fit_predict(
    kernel, y, Z, train, test, sigma: float, regularization: float, baseline: str = "atoms"
) -> np.ndarray:
    """Fit KRR on molecules ``train`` (every view) and predict molecules ``test``.

    The kernel learns the residual of the baseline; the prediction for a molecule with several
    views is the mean over its views.

    Parameters
    ----------
    kernel : DistanceKernel or PrecomputedKernel
        ``kernel(rows, cols, sigma)`` gives a block of the kernel matrix.
    y : array of shape (n,)
        Energies of all molecules (only ``y[train]`` is used).
    Z : array of shape (n, n_atoms)
        Nuclear charges (for the dressed-atom baseline).
    train, test : index arrays
    sigma, regularization : float
    baseline : {"atoms", "mean"}
        Fit the kernel to the residual of
        :class:`~qm7utils.models.baseline.DressedAtoms` or of the training mean.
    """
    y = np.asarray(y, dtype=np.float64)
    train, test = np.asarray(train), np.asarray(test)
    base_train, base_test = _baseline(baseline, Z, y, train, test)
    m = kernel.n_views
    alpha = krr_fit(kernel(train, train, sigma), np.tile(y[train] - base_train, m),
                    regularization, overwrite=True)
    K_test = kernel(test, train, sigma)
    return (K_test @ alpha).reshape(m, len(test)).mean(axis=0) + base_test


# --- Choosing the width and regularization, learning curves ----------------------------------


def validation_errors(
    kernel, y, Z, train, valid, sigmas: Sequence[float], regularizations: Sequence[float],
    baseline: str = "atoms",
) -> np.ndarray:
    """Validation MAE of every (width, regularization) pair: the error surface.

    Fits on molecules ``train`` and scores on molecules ``valid``; nothing else is read.
    Returns an array of shape (len(sigmas), len(regularizations)); a pair whose matrix is not
    positive definite gets ``inf``.
    """
    y = np.asarray(y, dtype=np.float64)
    train, valid = np.asarray(train), np.asarray(valid)
    base_train, base_valid = _baseline(baseline, Z, y, train, valid)
    m = kernel.n_views
    target = np.tile(y[train] - base_train, m)
    errors = np.full((len(sigmas), len(regularizations)), np.inf)
    for i, sigma in enumerate(sigmas):
        K_train = kernel(train, train, sigma)
        K_valid = kernel(valid, train, sigma)
        for j, lam in enumerate(regularizations):
            try:
                alpha = krr_fit(K_train, target, lam)
            except ValueError:
                continue
            pred = (K_valid @ alpha).reshape(m, len(valid)).mean(axis=0) + base_valid
            errors[i, j] = np.mean(np.abs(pred - y[valid]))
    return errors


@dataclass
class CVResult:
    """What :func:`inner_holdout_search` measured on each of the P folds."""

    name: str
    folds: list[dict] = field(default_factory=list)
    predictions: np.ndarray | None = None
    sigmas: tuple[float, ...] = ()
    regularizations: tuple[float, ...] = ()
    surfaces: list[np.ndarray] = field(default_factory=list)
    wall_time_s: float = 0.0

    @property
    def fold_mae(self) -> np.ndarray:
        """Test MAE of each fold (kcal/mol)."""
        return np.array([f["mae"] for f in self.folds])

    @property
    def mae(self) -> float:
        """Mean test MAE over the folds."""
        return float(self.fold_mae.mean())

    @property
    def std(self) -> float:
        """Standard deviation of the test MAE over the folds (population, ``ddof=0``)."""
        return float(self.fold_mae.std())

    def to_frame(self):
        """One row per fold: fold, chosen width and regularization, test MAE, RMSE, max error."""
        import pandas as pd

        return pd.DataFrame(self.folds)[
            ["fold", "sigma", "regularization", "mae", "rmse", "max_abs_error"]
        ]

    def summary(self) -> str:
        """``"name: 3.77 ± 0.10 kcal/mol"``."""
        return f"{self.name}: {self.mae:.2f} ± {self.std:.2f} kcal/mol"


def inner_holdout_search(
    kernel, y, Z, P, sigmas: Sequence[float], regularizations: Sequence[float],
    name: str = "KRR", inner_size: int | None = None, baseline: str = "atoms", seed: int = 0,
    fixed: Sequence[tuple[float, float]] | None = None,
) -> CVResult:
    """The P-fold protocol, each fold's width and regularization chosen on a held-out fold.

    For each test fold ``k`` of ``P`` (train on the other folds): fold ``k + 1`` is held out of
    the training folds as the validation set, and the remaining folds (optionally a random
    subset of ``inner_size`` of their molecules, to save time) train the model for each
    (width, regularization) pair of the grid; the pair with the lowest validation MAE is refitted
    on all training folds and evaluated on fold ``k``. The test fold is never used to choose
    anything. This is one inner split per test fold, not a nested cross-validation (which
    would repeat the choice with each training fold held out in turn, at several times the cost).

    Parameters
    ----------
    kernel, y, Z, baseline
        As in :func:`fit_predict` (energies and charges of all molecules).
    P : array of shape (n_folds, fold_size)
    sigmas, regularizations : sequences of float
        The grid; a 1 x 1 grid skips the search.
    inner_size : int, optional
        Size of the inner training subset, drawn with ``seed`` (default: all of it).
    fixed : sequence of (sigma, regularization), optional
        One pair per fold, chosen beforehand on that fold's training folds (e.g. by another
        model's search): no search is run; ``sigmas`` and ``regularizations`` describe the grid.
    """
    start = time.perf_counter()
    P, y, Z = np.asarray(P), np.asarray(y, dtype=np.float64), np.asarray(Z)
    n_folds = P.shape[0]
    if len(sigmas) == 0 or len(regularizations) == 0:
        raise ValueError("sigmas and regularizations must each hold at least one value")
    if fixed is not None and len(fixed) != n_folds:
        raise ValueError(f"fixed must hold one (sigma, regularization) per fold ({n_folds}), "
                         f"got {len(fixed)}")
    if fixed is None and len(sigmas) * len(regularizations) == 1:
        fixed = [(sigmas[0], regularizations[0])] * n_folds  # nothing to choose
    result = CVResult(name, sigmas=tuple(sigmas), regularizations=tuple(regularizations))
    result.predictions = np.full(len(y), np.nan)
    rng = np.random.default_rng(seed)
    for k, train, test in fold_splits(P):
        if fixed is not None:
            surface = np.full((1, 1), np.nan)
            sigma, lam = (float(v) for v in fixed[k])
        else:
            # The choice, inside the training folds: fold k + 1 validates, the others train.
            valid = np.sort(P[(k + 1) % n_folds])
            inner = np.setdiff1d(train, valid)
            if inner_size is not None and inner_size < len(inner):
                inner = np.sort(rng.choice(inner, size=inner_size, replace=False))
            surface = validation_errors(kernel, y, Z, inner, valid, sigmas, regularizations,
                                        baseline)
            if not np.isfinite(surface).any():
                raise ValueError(f"{name}: no (sigma, regularization) pair of the grid gave a "
                                 "positive definite matrix: use larger regularizations")
            i, j = np.unravel_index(np.argmin(surface), surface.shape)
            sigma, lam = float(sigmas[i]), float(regularizations[j])
        # The test: refit on all training folds, predict fold k (its energies are read here only).
        pred = fit_predict(kernel, y, Z, train, test, sigma, lam, baseline)
        result.predictions[test] = pred
        result.surfaces.append(surface)
        result.folds.append(
            {"fold": k, "sigma": sigma, "regularization": lam, "n_train": len(train),
             "n_test": len(test), **regression_metrics(y[test], pred)}
        )
    result.wall_time_s = time.perf_counter() - start
    return result


def learning_curve(
    kernel, y, Z, P, sizes: Sequence[int], hyperparameters: Sequence[tuple[float, float]],
    baseline: str = "atoms", seed: int = 0, name: str = "",
):
    """Test MAE against the number of training molecules, on every P fold.

    For fold ``k`` the training molecules of the other folds are shuffled once (``seed``) and
    the first ``n`` of them train the model, so the subsets are nested; the test set is the
    whole fold ``k``. The width and regularization of fold ``k`` are ``hyperparameters[k]``
    (those chosen by :func:`inner_holdout_search` on the full training set). Returns a
    :class:`pandas.DataFrame` with columns ``model``, ``fold``, ``n_train``, ``mae``.
    """
    import pandas as pd

    P = np.asarray(P)
    if len(hyperparameters) != P.shape[0]:
        raise ValueError(f"hyperparameters must hold one (sigma, regularization) per fold "
                         f"({P.shape[0]}), got {len(hyperparameters)}")
    rows = []
    rng = np.random.default_rng(seed)
    for k, train, test in fold_splits(P):
        order = rng.permutation(train)
        sigma, lam = hyperparameters[k]
        for n in sizes:
            if not 1 <= n <= len(train):
                raise ValueError(f"training size {n} must be between 1 and {len(train)}")
            pred = fit_predict(kernel, y, Z, np.sort(order[:n]), test, sigma, lam, baseline)
            rows.append({"model": name, "fold": k, "n_train": int(n),
                         "mae": float(np.mean(np.abs(pred - np.asarray(y)[test])))})
    return pd.DataFrame(rows)


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
    target = _positive("target", target)
    upper = n >= np.median(n)
    if len(np.unique(n[upper])) < 2:
        raise ValueError("the larger half of the sizes needs at least two different n_train "
                         "to fit a line: pass more sizes")
    slope, intercept = np.polyfit(np.log(n[upper]), np.log(mae[upper]), 1)
    if slope >= 0:
        raise ValueError(f"the learning curve does not fall (log-log slope {slope:.3g}): "
                         "it never reaches a lower MAE")
    return float(-slope), float(np.exp((np.log(target) - intercept) / slope))


# --- The local kernel over atomic environments (the frontier model) --------------------------


def local_gaussian_kernels(
    env: AtomicEnvironments, sigmas: Sequence[float], other: AtomicEnvironments | None = None,
    chunk_atoms: int = 1024,
) -> dict[float, np.ndarray]:
    r"""Local Gaussian kernels between molecules, as sums over pairs of same-element atoms.

    .. math::

        K(M, M') = \sum_{I \in M} \sum_{J \in M',\, Z_J = Z_I}
                   \exp\!\left(-\frac{\lVert x_I - x_J \rVert^2}{2\sigma^2}\right)

    (the FCHL19 kernel of Christensen et al. 2020). The squared distances of a block of atoms
    come from one matrix product (:math:`\lVert x\rVert^2 + \lVert y\rVert^2 - 2\,x\cdot y`) in
    the precision of the features (float32 for FCHL19), the exponentials are summed over each
    molecule's atoms with :func:`numpy.add.reduceat` in double precision; no Python loop runs
    over pairs. Without ``other`` the symmetric matrix of ``env`` with itself is computed, each
    pair of molecules once. Several widths share the matrix products.

    ``env`` and ``other`` (the columns; default ``env``) are
    :class:`~qm7utils.representations.fchl19.AtomicEnvironments`; ``chunk_atoms`` atoms make a
    block of rows (memory: ``chunk_atoms * n_atoms * 8`` bytes per element). Returns
    ``{sigma: K}``, ``K`` of shape (env.n_molecules, other.n_molecules), float64.
    """
    sigmas = [_positive("sigma", s) for s in sigmas]
    if not sigmas:
        raise ValueError("sigmas is empty")
    symmetric = other is None
    other = env if other is None else other
    if env.features.shape[1] != other.features.shape[1]:
        raise ValueError("env and other must have the same number of features")
    dtype = np.result_type(env.features, other.features)
    K = {s: np.zeros((env.n_molecules, other.n_molecules)) for s in sigmas}
    scales = {s: dtype.type(-0.5 / s**2) for s in sigmas}
    workers = available_cores()
    for z in np.unique(env.element):
        rows = np.flatnonzero(env.element == z)
        cols = np.flatnonzero(other.element == z)
        if not len(cols):
            continue
        X, mol_x = env.features[rows].astype(dtype, copy=False), env.molecule[rows]
        Y, mol_y = other.features[cols].astype(dtype, copy=False), other.molecule[cols]
        # Augmented vectors: [x, |x|^2, 1] . [-2y, 1, |y|^2] = |x - y|^2 in one product.
        sq_x = np.einsum("ij,ij->i", X, X, dtype=dtype)
        sq_y = np.einsum("ij,ij->i", Y, Y, dtype=dtype)
        Xa = np.concatenate([X, sq_x[:, None], np.ones_like(sq_x)[:, None]], axis=1)
        Ya = np.concatenate([-2.0 * Y, np.ones_like(sq_y)[:, None], sq_y[:, None]], axis=1)
        # Blocks of rows end at molecule boundaries.
        starts = np.flatnonzero(np.r_[True, mol_x[1:] != mol_x[:-1]])
        bounds = [0]
        for s in starts[1:]:
            if s - bounds[-1] >= chunk_atoms:
                bounds.append(s)
        bounds.append(len(rows))
        col_starts_all = np.flatnonzero(np.r_[True, mol_y[1:] != mol_y[:-1]])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            block_mols = mol_x[a:b]
            first = 0
            if symmetric:  # only columns of molecules from this block's first one on
                first = int(np.searchsorted(mol_y, block_mols[0]))
            col_starts = col_starts_all[col_starts_all >= first] - first
            col_mols = mol_y[first:][col_starts]
            row_starts = np.flatnonzero(np.r_[True, block_mols[1:] != block_mols[:-1]])
            d2 = Xa[a:b] @ Ya[first:].T
            # Exponentials and sums run on one core each: the block's rows are split between
            # threads at molecule boundaries, so each thread adds whole molecules into rows of
            # K that no other thread touches (the same numbers as one loop).
            cuts = row_starts[np.linspace(0, len(row_starts), workers + 1).astype(int)[:-1]]
            cuts = np.unique(np.r_[cuts, len(d2)])

            def add_rows(piece, d2=d2, col_starts=col_starts, col_mols=col_mols,
                         block_mols=block_mols, row_starts=row_starts):
                lo, hi = piece
                starts = row_starts[(row_starts >= lo) & (row_starts < hi)] - lo
                mols = block_mols[lo:hi][starts]
                for sigma in sigmas:
                    part = np.multiply(d2[lo:hi], scales[sigma])
                    np.exp(part, out=part)
                    # Sums in double precision: float32 sums of thousands of terms would put
                    # errors of ~1e-5 into K, enough to break positive definiteness.
                    summed = np.add.reduceat(part, col_starts, axis=1, dtype=np.float64)
                    summed = np.add.reduceat(summed, starts, axis=0)
                    K[sigma][np.ix_(mols, col_mols)] += summed

            thread_map(add_rows, list(zip(cuts[:-1], cuts[1:], strict=True)), workers)
    if symmetric:
        for s in sigmas:
            upper = np.triu(K[s])
            K[s] = upper + np.triu(upper, 1).T
    return K
