r"""Kernel ridge regression (chapter 9): kernels, the Cholesky solve, the local kernel.

Kernel ridge regression (KRR) predicts the energy of a molecule :math:`M` as a weighted sum of
its similarities to the training molecules,

.. math::

    E(M) = \sum_i \alpha_i\, k(M, M_i), \qquad
    (\mathbf K + \lambda \mathbf I)\,\boldsymbol\alpha = \mathbf y ,

where :math:`K_{ij} = k(M_i, M_j)` and :math:`\lambda` is the regularization. The system is
symmetric positive definite and is solved by a Cholesky factorization (:func:`krr_fit`).

This module holds what tests check against direct computations, scikit-learn and ``qmllib``,
and what ``benchmarks/kernels.py`` times: distances (:func:`pairwise_distances`), the Laplacian
and Gaussian kernels, the solver, and the local kernel over atomic environments
(:func:`local_gaussian_kernels`). Chapter 9 defines the rest where it teaches it: the fit on the
residual of the dressed-atom baseline, the error surface, the search of width and
regularization inside the training folds, and the learning curves.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg
from scipy.spatial.distance import cdist, pdist, squareform
from sklearn.utils import check_scalar

from ..parallel import available_cores, thread_map

if TYPE_CHECKING:
    from ..representations.fchl19 import AtomicEnvironments

__all__ = [
    "gaussian_kernel",
    "gp_predict",
    "krr_fit",
    "laplacian_kernel",
    "local_gaussian_kernels",
    "pairwise_distances",
    "regularized_cholesky",
]


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


# --- The solver -------------------------------------------------------------------------------


def regularized_cholesky(K, regularization: float, overwrite: bool = False):
    r"""Lower Cholesky factor of :math:`\mathbf K + \lambda\mathbf I = \mathbf L\mathbf L^\top`.

    ``K`` (n, n) is a kernel matrix, ``regularization`` :math:`\lambda > 0`;
    ``overwrite=True`` lets the factorization overwrite ``K`` (saves a copy of a large matrix).
    Returns the ``(L, lower)`` pair of :func:`scipy.linalg.cho_factor`. Raises ``ValueError`` on
    bad input or on a matrix that is not positive definite even with :math:`\lambda` (the
    message says to increase it).
    """
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square (n, n) kernel matrix, got shape {K.shape}")
    regularization = _positive("regularization", regularization)
    if not np.all(np.isfinite(K)):
        raise ValueError("K must be finite")
    if not overwrite:
        K = K.copy()
    K[np.diag_indices_from(K)] += regularization  # K + lambda I
    try:
        return scipy.linalg.cho_factor(K, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"K + {regularization:g} I is not positive definite (a kernel matrix computed in "
            "limited precision, or duplicate samples): increase the regularization"
        ) from None


def _targets(y, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},) to match K, got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite")
    return y


def krr_fit(K, y, regularization: float, overwrite: bool = False) -> np.ndarray:
    r"""KRR weights :math:`(\mathbf K + \lambda\mathbf I)^{-1}\mathbf y`, by Cholesky factorization.

    ``K`` (n, n) is the kernel matrix of the training samples, ``y`` (n,) their targets,
    ``regularization`` :math:`\lambda > 0`; ``overwrite=True`` lets the factorization overwrite
    ``K`` (saves a copy of a large matrix). Raises ``ValueError`` on bad input or on a matrix
    that is not positive definite even with :math:`\lambda` (the message says to increase it).
    """
    L = regularized_cholesky(K, regularization, overwrite)  # K + lambda I = L L^T
    y = _targets(y, len(L[0]))
    return scipy.linalg.cho_solve(L, y, check_finite=False)  # two triangular solves


def gp_predict(K, y, K_test, k_test_self, regularization: float):
    r"""KRR predictions with the standard deviation of a Gaussian process, from one factorization.

    KRR's prediction is the mean of a Gaussian process with covariance :math:`a\,k` and noise
    variance :math:`a\lambda`. The same Cholesky factor :math:`\mathbf L` gives each
    prediction's variance,

    .. math::

        s^2(M) = a\left(k(M, M) - \lVert \mathbf L^{-1}\mathbf k_M \rVert^2 + \lambda\right),
        \qquad a = \mathbf y^\top\boldsymbol\alpha / n ,

    with :math:`\mathbf k_M` the kernel between :math:`M` and the training samples and
    :math:`a` the amplitude of largest likelihood of the training targets (chosen on them alone).

    Parameters
    ----------
    K : array of shape (n, n)
        Kernel of the training samples.
    y : array of shape (n,)
        Training targets.
    K_test : array of shape (m, n)
        Kernel between the samples to predict and the training samples.
    k_test_self : array of shape (m,)
        Kernel of each sample to predict with itself, :math:`k(M, M)`.
    regularization : float
        :math:`\lambda > 0`.

    Returns
    -------
    mean, std : arrays of shape (m,)
        The KRR predictions (the same as with :func:`krr_fit`) and their standard deviations.
    """
    L = regularized_cholesky(K, regularization)
    y = _targets(y, len(L[0]))
    K_test = np.asarray(K_test, dtype=np.float64)
    k_test_self = np.asarray(k_test_self, dtype=np.float64)
    if K_test.ndim != 2 or K_test.shape[1] != len(y):
        raise ValueError(f"K_test must have shape (m, {len(y)}) to match K, got {K_test.shape}")
    if k_test_self.shape != (K_test.shape[0],):
        raise ValueError(f"k_test_self must have shape ({K_test.shape[0]},), one value per row "
                         f"of K_test, got {k_test_self.shape}")
    alpha = scipy.linalg.cho_solve(L, y, check_finite=False)
    amplitude = float(y @ alpha) / len(y)
    V = scipy.linalg.solve_triangular(L[0], K_test.T, lower=True, check_finite=False)
    explained = np.einsum("ij,ij->j", V, V)  # |L^-1 k_M|^2, one per sample to predict
    variance = amplitude * (np.maximum(k_test_self - explained, 0.0) + regularization)
    return K_test @ alpha, np.sqrt(variance)


# --- The local kernel over atomic environments (the frontier model) --------------------------

_ROWS_IN_CACHE = 64  # rows of a block whose exponentials are summed together


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
                summed = {s: np.empty((hi - lo, len(col_starts))) for s in sigmas}
                # A few rows at a time, in two buffers reused for every row and width: the
                # exponentials (in the features' precision) and their double-precision copy.
                rows_in_cache = min(_ROWS_IN_CACHE, hi - lo)
                part = np.empty((rows_in_cache, d2.shape[1]), dtype=d2.dtype)
                part64 = np.empty(part.shape)
                for r in range(lo, hi, rows_in_cache):
                    n = min(rows_in_cache, hi - r)
                    for sigma in sigmas:
                        np.multiply(d2[r:r + n], scales[sigma], out=part[:n])
                        np.exp(part[:n], out=part[:n])
                        # Sums in double precision (float32 sums put errors of ~1e-5 into K,
                        # enough to break positive definiteness). Casting first is several
                        # times faster than reduceat(..., dtype=np.float64), same numbers.
                        part64[:n] = part[:n]
                        np.add.reduceat(part64[:n], col_starts, axis=1,
                                        out=summed[sigma][r - lo:r - lo + n])
                for sigma in sigmas:
                    K[sigma][np.ix_(mols, col_mols)] += np.add.reduceat(summed[sigma], starts,
                                                                        axis=0)

            thread_map(add_rows, list(zip(cuts[:-1], cuts[1:], strict=True)), workers)
    if symmetric:
        for s in sigmas:
            upper = np.triu(K[s])
            K[s] = upper + np.triu(upper, 1).T
    return K
