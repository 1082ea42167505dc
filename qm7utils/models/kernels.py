r"""Kernel ridge regression (chapter 8): kernels, Cholesky solves, nested model selection.

Kernel ridge regression (KRR) predicts the energy of a molecule :math:`M` as a weighted sum of
its similarities to the training molecules,

.. math::

    E(M) = \sum_i \alpha_i\, k(M, M_i), \qquad
    (\mathbf K + \lambda \mathbf I)\,\boldsymbol\alpha = \mathbf y ,

where :math:`K_{ij} = k(M_i, M_j)` and :math:`\lambda` is the regularization. The system is
symmetric positive definite and is solved by a Cholesky factorization (``n^3 / 3`` flops,
about two seconds for the 5,732 training molecules of a QM7 fold on two cores).

The module holds

* global kernels from vectorised distance computations: :func:`pairwise_distances`
  (L1 distances with :func:`scipy.spatial.distance.pdist`/``cdist``; squared Euclidean ones
  with one matrix product), :func:`laplacian_kernel`, :func:`gaussian_kernel`;
* the solver :func:`krr_fit` and a baseline of per-element energies (:class:`AtomEnergies`),
  so that the kernel only learns what the atoms' sum does not explain;
* kernels cached for the whole data set (:class:`DistanceKernel`, :class:`PrecomputedKernel`),
  optionally over several *views* of each molecule (randomly sorted Coulomb matrices: data
  augmentation, :func:`coulomb_views`), with :func:`nested_cv` (hyper-parameters chosen on the
  training folds only), :func:`learning_curve` and :func:`extrapolate_learning_curve`;
* a local kernel over atomic environments (:func:`fchl19_environments`,
  :func:`compress_environments`, :func:`local_gaussian_kernels`), the book's frontier model.

All matrices of kernels and distances are computed once for all molecules and indexed per fold:
the test molecules' *energies* are never used to build them, and hyper-parameters are chosen on
splits of the training folds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
from scipy.spatial.distance import cdist, pdist, squareform

from ..data import ELEMENTS
from ..evaluation import fold_splits, regression_metrics
from ..features import BOHR_TO_ANGSTROM, coulomb_matrix, sort_by_row_norm, upper_triangle
from ..parallel import available_cores, thread_map
from ..progress import progress

__all__ = [
    "FCHL19_CHOICES",
    "FCHL19_GRID",
    "AtomEnergies",
    "AtomicEnvironments",
    "CVResult",
    "DistanceKernel",
    "PrecomputedKernel",
    "compress_environments",
    "coulomb_views",
    "element_counts",
    "extrapolate_learning_curve",
    "fchl19_environments",
    "fit_predict",
    "gaussian_kernel",
    "krr_fit",
    "laplacian_kernel",
    "learning_curve",
    "local_gaussian_kernels",
    "nested_cv",
    "pairwise_distances",
    "validation_errors",
]

#: Elements of QM7 in the order of the count columns of :func:`element_counts`.
ELEMENT_ORDER = tuple(ELEMENTS)

#: The grid searched for the FCHL19 local kernel of chapter 8 (widths in the units of the
#: FCHL19 vectors, regularizations added to the diagonal of the kernel matrix).
FCHL19_GRID = {"sigmas": (1.0, 1.5, 2.0, 3.0), "regularizations": (1e-5, 1e-4, 1e-3, 1e-2)}
#: ``(sigma, regularization)`` of the FCHL19 local kernel for each P fold, chosen offline by
#: :func:`nested_cv` over :data:`FCHL19_GRID` with the full inner training folds
#: (``inner_size=None``; 128 principal components per element): on each test fold ``k`` the
#: pair with the lowest MAE on fold ``k + 1``, trained on the other three training folds. The
#: search takes several minutes on two cores; chapter 8 reruns it with ``frontier_search``.
FCHL19_CHOICES = ((1.5, 1e-3), (2.0, 1e-4), (2.0, 1e-4), (2.0, 1e-4), (2.0, 1e-4))


# --- Global kernels --------------------------------------------------------------------------


def _as_matrix(name: str, A) -> np.ndarray:
    # C-contiguous: SciPy's distance loops run several times slower on strided rows.
    A = np.ascontiguousarray(A, dtype=np.float64)
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features), got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return A


def _check_sigma(sigma) -> float:
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating, np.integer)):
        raise ValueError(f"sigma (the kernel width) must be a positive number, got {sigma!r}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma (the kernel width) must be a positive number, got {sigma}")
    return float(sigma)


def pairwise_distances(A, B=None, metric: str = "l1", dtype=np.float64) -> np.ndarray:
    r"""Distances between the rows of ``A`` and of ``B`` (or of ``A`` with itself).

    ``"l1"`` (city-block, :math:`\sum_k |a_k - b_k|`) uses SciPy's compiled ``pdist`` (half the
    pairs when ``B`` is omitted) or ``cdist``; ``"sqeuclidean"``
    (:math:`\lVert a - b\rVert^2`) uses one matrix product,
    :math:`\lVert a\rVert^2 + \lVert b\rVert^2 - 2\,a\cdot b`. No Python loop runs over pairs.

    Parameters
    ----------
    A : array of shape (n, d)
    B : array of shape (m, d), optional
    metric : {"l1", "sqeuclidean"}
    dtype : numpy dtype
        Of the result (``float32`` halves the memory of a cached matrix).

    Returns
    -------
    ndarray of shape (n, m) or (n, n), with an exact zero diagonal when ``B`` is omitted.
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
    side (:func:`qm7utils.parallel.thread_map`); every entry is the same number as in one
    ``cdist`` call. Without ``B`` only the upper triangle is computed (blocks of equal work)
    and mirrored, as ``pdist`` would.
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

    Parameters
    ----------
    A : array of shape (n, d)
    B : array of shape (m, d), optional (default: ``A``)
    sigma : float
        Kernel width, in the units of the features (kcal/mol-free: for Coulomb matrices, the
        units of the matrix entries).
    """
    sigma = _check_sigma(sigma)
    return np.exp(-pairwise_distances(A, B, "l1") / sigma)


def gaussian_kernel(A, B=None, sigma: float = 1.0) -> np.ndarray:
    r"""Gaussian kernel :math:`k(a, b) = \exp(-\lVert a - b\rVert_2^2 / 2\sigma^2)`."""
    sigma = _check_sigma(sigma)
    return np.exp(-pairwise_distances(A, B, "sqeuclidean") / (2.0 * sigma**2))


def krr_fit(K, y, regularization: float, overwrite: bool = False) -> np.ndarray:
    r"""KRR weights :math:`(\mathbf K + \lambda\mathbf I)^{-1}\mathbf y`, by Cholesky factorization.

    Parameters
    ----------
    K : array of shape (n, n)
        Symmetric positive semi-definite kernel matrix of the training samples.
    y : array of shape (n,)
        Training targets.
    regularization : float
        :math:`\lambda > 0`, added to the diagonal.
    overwrite : bool
        Let the factorization overwrite ``K`` (saves a copy of a large matrix).

    Returns
    -------
    ndarray of shape (n,)

    Raises
    ------
    ValueError
        On mismatched shapes, non-finite input, :math:`\lambda \le 0`, or a matrix that is not
        positive definite even with :math:`\lambda` (the message says to increase it).
    """
    K = np.asarray(K, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square (n, n) kernel matrix, got shape {K.shape}")
    if y.shape != (K.shape[0],):
        raise ValueError(f"y must have shape ({K.shape[0]},) to match K, got {y.shape}")
    if isinstance(regularization, bool) or not np.isfinite(regularization) or regularization <= 0:
        raise ValueError(f"regularization must be a positive number, got {regularization!r}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(K))):
        raise ValueError("K and y must be finite")
    if not overwrite:
        K = K.copy()
    K[np.diag_indices_from(K)] += regularization
    try:
        factor = scipy.linalg.cho_factor(K, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"K + {regularization:g} I is not positive definite (a kernel matrix computed in "
            "limited precision, or duplicate samples): increase the regularization"
        ) from None
    return scipy.linalg.cho_solve(factor, y, check_finite=False)


# --- Per-element baseline --------------------------------------------------------------------


def element_counts(Z) -> np.ndarray:
    """Number of atoms of each element of QM7 (H, C, N, O, S) per molecule, shape (n, 5)."""
    Z = np.atleast_2d(np.asarray(Z))
    return np.stack([(Z == z).sum(axis=1) for z in ELEMENT_ORDER], axis=1).astype(np.float64)


class AtomEnergies:
    r"""The "dressed atom" baseline: :math:`E \approx \sum_e n_e\,\varepsilon_e`.

    One energy per element, fitted by least squares on the training molecules. Most of an
    atomization energy is the sum of its atoms' shares (a C-H bond is worth about the same
    everywhere), so a kernel model fitted to the *residual* only has to learn how the
    environment shifts each share: a smaller, smoother target.
    """

    def fit(self, Z, y) -> AtomEnergies:
        """Fit per-element energies (kcal/mol per atom) to molecules ``Z`` with energies ``y``."""
        counts = element_counts(Z)
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (counts.shape[0],):
            raise ValueError(
                f"y must have one energy per molecule ({counts.shape[0]}), got {y.shape}"
            )
        self.energies_ = np.linalg.lstsq(counts, y, rcond=None)[0]
        return self

    def predict(self, Z) -> np.ndarray:
        """Sum of the fitted per-element energies of each molecule."""
        if not hasattr(self, "energies_"):
            raise ValueError("AtomEnergies is not fitted yet: call fit(Z, y) first")
        return element_counts(Z) @ self.energies_

    def as_dict(self) -> dict[str, float]:
        """The fitted energy of each element, by symbol."""
        return {ELEMENTS[z]: float(e) for z, e in zip(ELEMENT_ORDER, self.energies_, strict=True)}


# --- Kernels cached over the whole data set --------------------------------------------------


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
        Row ``r * n + i`` is view ``r`` of molecule ``i``.
    kind : {"laplacian", "gaussian"}
    n_views : int
        Views per molecule (1, or the number of randomly sorted matrices of each molecule).
    """

    def __init__(self, distances, kind: str = "laplacian", n_views: int = 1):
        distances = np.asarray(distances)
        if distances.ndim != 2 or distances.shape[0] != distances.shape[1]:
            raise ValueError(f"distances must be a square matrix, got shape {distances.shape}")
        if kind not in ("laplacian", "gaussian"):
            raise ValueError(f"kind must be 'laplacian' or 'gaussian', got {kind!r}")
        if n_views < 1 or distances.shape[0] % n_views:
            raise ValueError(
                f"{distances.shape[0]} rows cannot hold {n_views} views of every molecule"
            )
        self.distances = distances
        self.kind = kind
        self.n_views = int(n_views)
        self.n_molecules = distances.shape[0] // self.n_views

    def __call__(self, rows, cols, sigma: float) -> np.ndarray:
        """Kernel between every view of molecules ``rows`` and of molecules ``cols``."""
        sigma = _check_sigma(sigma)
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
        if not matrices:
            raise ValueError("matrices is empty: pass {sigma: K}")
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


def coulomb_views(Z, R, n_views: int, rng: np.random.Generator, noise: float = 1.0,
                  include_sorted: bool = True) -> np.ndarray:
    r"""Several sorted Coulomb matrices per molecule: the sorted one and random sortings.

    A random sorting (Montavon et al. 2012) orders the rows by :math:`\lVert C_I\rVert +
    \varepsilon_I`, :math:`\varepsilon_I \sim \mathcal N(0, \text{noise}^2)`, so atoms whose
    row norms are close trade places at random: each view is a valid Coulomb matrix of the same
    molecule. Used as extra training samples (data augmentation) they teach a kernel model that
    these orderings describe one molecule.

    Parameters
    ----------
    Z, R : arrays of shape (n, n_atoms) and (n, n_atoms, 3)
        Nuclear charges and coordinates (Bohr).
    n_views : int
        Views per molecule.
    rng : numpy.random.Generator
    noise : float
        Standard deviation of the noise on the row norms.
    include_sorted : bool
        Make view 0 the plainly sorted matrix (no noise); the others are random.

    Returns
    -------
    ndarray of shape (n_views * n, n_atoms (n_atoms + 1) / 2)
        Unrolled upper triangles; view ``r`` of molecule ``i`` in row ``r * n + i`` (the layout of
        :class:`DistanceKernel`).
    """
    if isinstance(n_views, bool) or not isinstance(n_views, (int, np.integer)) or n_views < 1:
        raise ValueError(f"n_views must be an integer >= 1, got {n_views!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator, e.g. np.random.default_rng(0)")
    C = coulomb_matrix(Z, R)
    views = []
    for r in range(n_views):
        if r == 0 and include_sorted:
            views.append(upper_triangle(sort_by_row_norm(C)))
        else:
            views.append(upper_triangle(sort_by_row_norm(C, noise=noise, rng=rng)))
    return np.concatenate(views)


# --- Fitting, model selection and learning curves --------------------------------------------


def _baseline(baseline: str, Z, y, train, predict):
    """Baseline predictions for molecules ``predict`` fitted on ``train``."""
    if baseline == "atoms":
        model = AtomEnergies().fit(Z[train], y[train])
        return model.predict(Z[train]), model.predict(Z[predict])
    if baseline == "mean":
        mean = float(np.mean(y[train]))
        return np.full(len(train), mean), np.full(len(predict), mean)
    raise ValueError(f"baseline must be 'atoms' or 'mean', got {baseline!r}")


def fit_predict(
    kernel, y, Z, train, test, sigma: float, regularization: float, baseline: str = "atoms"
) -> np.ndarray:
    """Fit KRR on molecules ``train`` (every view) and predict molecules ``test``.

    The prediction for a molecule with several views is the mean over its views.

    Parameters
    ----------
    kernel : DistanceKernel or PrecomputedKernel
    y : array of shape (n,)
        Energies of all molecules (only ``y[train]`` is used).
    Z : array of shape (n, n_atoms)
        Nuclear charges (for the per-element baseline).
    train, test : index arrays
    sigma, regularization : float
    baseline : {"atoms", "mean"}
        Fit the kernel to the residual of :class:`AtomEnergies` or of the training mean.
    """
    y = np.asarray(y, dtype=np.float64)
    train, test = np.asarray(train), np.asarray(test)
    base_train, base_test = _baseline(baseline, Z, y, train, test)
    m = kernel.n_views
    alpha = krr_fit(kernel(train, train, sigma), np.tile(y[train] - base_train, m),
                    regularization, overwrite=True)
    K_test = kernel(test, train, sigma)
    return (K_test @ alpha).reshape(m, len(test)).mean(axis=0) + base_test


def validation_errors(
    kernel, y, Z, train, valid, sigmas: Sequence[float], regularizations: Sequence[float],
    baseline: str = "atoms",
) -> np.ndarray:
    """Validation MAE of every (width, regularization) pair: the error surface.

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
    """What :func:`nested_cv` measured on each of the five P folds."""

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


def nested_cv(
    kernel, y, Z, P, sigmas: Sequence[float], regularizations: Sequence[float],
    name: str = "KRR", inner_size: int | None = None, baseline: str = "atoms", seed: int = 0,
    fixed: Sequence[tuple[float, float]] | None = None,
) -> CVResult:
    """The standard QM7 protocol with hyper-parameters chosen inside the training folds.

    For each test fold ``k`` of ``P`` (train on the other four): the next fold, ``k + 1``, is
    the inner validation set, and the remaining three folds (optionally a random subset of
    ``inner_size`` of them, to save time) the inner training set; the (width, regularization)
    pair with the lowest inner validation MAE is refitted on all four training folds and
    evaluated on fold ``k``. The test fold is never used to choose anything.

    Parameters
    ----------
    kernel : DistanceKernel or PrecomputedKernel
    y, Z : arrays
        Energies (kcal/mol) and nuclear charges of all molecules.
    P : array of shape (n_folds, fold_size)
    sigmas, regularizations : sequences of float
        The grid; a 1 x 1 grid skips the search.
    name : str
    inner_size : int, optional
        Size of the inner training subset (all three folds by default).
    baseline : {"atoms", "mean"}
    seed : int
        Seed of the inner subset.
    fixed : sequence of (sigma, regularization), optional
        One pair per fold, chosen beforehand on that fold's training folds (for example by
        another model's search): no search is run, ``sigmas`` and ``regularizations`` only
        describe the grid the pairs came from.
    """
    start = time.perf_counter()
    P = np.asarray(P)
    y = np.asarray(y, dtype=np.float64)
    Z = np.asarray(Z)
    if len(sigmas) == 0 or len(regularizations) == 0:
        raise ValueError("sigmas and regularizations must each hold at least one value")
    result = CVResult(name, sigmas=tuple(sigmas), regularizations=tuple(regularizations))
    predictions = np.full(len(y), np.nan)
    rng = np.random.default_rng(seed)
    n_folds = P.shape[0]
    if fixed is not None and len(fixed) != n_folds:
        raise ValueError(f"fixed must hold one (sigma, regularization) per fold ({n_folds}), "
                         f"got {len(fixed)}")
    for k, train, test in progress(fold_splits(P), desc=name, total=n_folds):
        if fixed is not None:
            surface = np.full((1, 1), np.nan)
            sigma, lam = (float(v) for v in fixed[k])
        elif len(sigmas) * len(regularizations) > 1:
            valid = np.sort(P[(k + 1) % n_folds])
            inner = np.setdiff1d(train, valid)
            if inner_size is not None and inner_size < len(inner):
                inner = np.sort(rng.choice(inner, size=inner_size, replace=False))
            surface = validation_errors(kernel, y, Z, inner, valid, sigmas, regularizations,
                                        baseline)
            if not np.isfinite(surface).any():
                raise ValueError(
                    f"{name}: no (sigma, regularization) pair of the grid gave a positive "
                    "definite matrix: use larger regularizations"
                )
            i, j = np.unravel_index(np.argmin(surface), surface.shape)
        else:
            surface, i, j = np.full((1, 1), np.nan), 0, 0
        if fixed is None:
            sigma, lam = float(sigmas[i]), float(regularizations[j])
        pred = fit_predict(kernel, y, Z, train, test, sigma, lam, baseline)
        predictions[test] = pred
        result.surfaces.append(surface)
        result.folds.append(
            {"fold": k, "sigma": sigma, "regularization": lam, "n_train": len(train),
             "n_test": len(test), **regression_metrics(y[test], pred)}
        )
    result.predictions = predictions
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
    (those chosen by :func:`nested_cv` on the full training set).

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``fold``, ``n_train``, ``mae``.
    """
    import pandas as pd

    P = np.asarray(P)
    if len(hyperparameters) != P.shape[0]:
        raise ValueError(
            f"hyperparameters must hold one (sigma, regularization) per fold ({P.shape[0]}), "
            f"got {len(hyperparameters)}"
        )
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
    (:math:`N \ge` their median), where the curve is straightest; the legend of
    :func:`qm7utils.plots.learning_curve_figure` shows the same slope. An extrapolation, not a
    promise: nothing guarantees that the line stays straight beyond the data.

    Parameters
    ----------
    n_train : sequence of int
        Training-set sizes (at least two different ones in the larger half).
    mae : sequence of float
        The mean test MAE at each size (positive).
    target : float
        The MAE to reach (positive, same units as ``mae``).

    Returns
    -------
    (slope, n_needed) : tuple of float
        The exponent :math:`a` (positive for a falling curve) and the training-set size at
        which the line reaches ``target``.

    Raises
    ------
    ValueError
        On mismatched or non-positive input, too few sizes, or a curve that does not fall
        (it never reaches a lower target).
    """
    n = np.asarray(n_train, dtype=np.float64)
    mae = np.asarray(mae, dtype=np.float64)
    if n.ndim != 1 or n.shape != mae.shape:
        raise ValueError(f"n_train and mae must be 1-D and of one length, got {n.shape} and "
                         f"{mae.shape}")
    if not (np.all(np.isfinite(n)) and np.all(n > 0) and np.all(np.isfinite(mae))
            and np.all(mae > 0)):
        raise ValueError("n_train and mae must be positive and finite (they are log-transformed)")
    if isinstance(target, bool) or not np.isfinite(target) or target <= 0:
        raise ValueError(f"target must be a positive MAE, got {target!r}")
    upper = n >= np.median(n)
    if len(np.unique(n[upper])) < 2:
        raise ValueError("the larger half of the sizes needs at least two different n_train "
                         "to fit a line: pass more sizes")
    slope, intercept = np.polyfit(np.log(n[upper]), np.log(mae[upper]), 1)
    if slope >= 0:
        raise ValueError(f"the learning curve does not fall (log-log slope {slope:.3g}): "
                         "it never reaches a lower MAE")
    return float(-slope), float(np.exp((np.log(target) - intercept) / slope))


# --- Local kernels over atomic environments (the frontier model) -----------------------------


@dataclass(frozen=True)
class AtomicEnvironments:
    """One feature vector per atom, with its element and its molecule.

    Attributes
    ----------
    features : ndarray of shape (n_atoms, d), float32
    element : ndarray of shape (n_atoms,), int
        Nuclear charge of each atom.
    molecule : ndarray of shape (n_atoms,), int
        Index of each atom's molecule, non-decreasing (a molecule's atoms are contiguous).
    n_molecules : int
    """

    features: np.ndarray
    element: np.ndarray
    molecule: np.ndarray
    n_molecules: int

    def __post_init__(self):
        n = self.features.shape[0]
        if self.features.ndim != 2 or self.element.shape != (n,) or self.molecule.shape != (n,):
            raise ValueError("features (n_atoms, d), element (n_atoms,) and molecule (n_atoms,) "
                             "must describe the same atoms")
        if n and (np.any(np.diff(self.molecule) < 0) or self.molecule[-1] >= self.n_molecules):
            raise ValueError("molecule must be non-decreasing and below n_molecules")

    def __repr__(self) -> str:
        return (f"AtomicEnvironments(n_molecules={self.n_molecules}, "
                f"n_atoms={self.features.shape[0]}, dim={self.features.shape[1]})")


def fchl19_environments(Z, R, elements: Sequence[int] = ELEMENT_ORDER,
                        **options) -> AtomicEnvironments:
    """FCHL19 atomic environments (Christensen et al. 2020), computed with ``qmllib``.

    FCHL19 describes each atom by Gaussian-smeared two-body (distances) and three-body
    (distances and angles) distributions of its neighbours, element by element, with cut-offs
    of 8 Angstrom. With the five elements of QM7 a vector has 720 values.

    Parameters
    ----------
    Z : array of shape (b, n)
        Nuclear charges, 0 for padding.
    R : array of shape (b, n, 3)
        Coordinates in **Bohr** (converted to Angstrom, the unit of FCHL19's parameters).
    elements : sequence of int
        Elements the representation has channels for.
    **options
        Passed on to :func:`qmllib.representations.generate_fchl19` (its defaults are the
        published ones).
    """
    try:
        from qmllib.representations import generate_fchl19
    except ImportError as error:  # pragma: no cover - qmllib is a dependency of the book
        raise ImportError("FCHL19 needs qmllib: pip install qmllib") from error
    Z = np.asarray(Z)
    R = np.asarray(R, dtype=np.float64)
    if Z.ndim != 2 or R.shape != Z.shape + (3,):
        raise ValueError(f"Z must be (b, n) and R (b, n, 3), got {Z.shape} and {R.shape}")
    n_atoms = (Z > 0).sum(axis=1)
    if np.any((Z > 0) != (np.arange(Z.shape[1])[None, :] < n_atoms[:, None])):
        raise ValueError("real atoms must come first in every row of Z (padding last)")
    blocks = [
        generate_fchl19(Z[i, :k], R[i, :k] * BOHR_TO_ANGSTROM, elements=list(elements),
                        **options).astype(np.float32)
        for i, k in enumerate(progress(n_atoms, desc="FCHL19"))
    ]
    mask = Z > 0
    return AtomicEnvironments(
        features=np.concatenate(blocks),
        element=Z[mask].astype(np.int64),
        molecule=np.repeat(np.arange(Z.shape[0]), n_atoms),
        n_molecules=Z.shape[0],
    )


def compress_environments(env: AtomicEnvironments, n_components: int) -> AtomicEnvironments:
    """Project each element's environments on their leading principal axes.

    A local kernel only compares atoms of the same element, and the environments of one element
    fill a small part of the 720 dimensions: about a hundred principal components keep their
    distances nearly exactly, and make the matrix products of :func:`local_gaussian_kernels`
    several times cheaper. Each element is centred on its own mean, which changes no distance
    between two atoms of that element. Uses no energies. If ``n_components`` exceeds the
    dimension, the extra columns are zero.

    Parameters
    ----------
    env : AtomicEnvironments
    n_components : int
        Principal components kept per element.

    Returns
    -------
    AtomicEnvironments
        The same atoms with ``n_components`` features each (float32). Check what the
        compression changes by comparing :func:`local_gaussian_kernels` of both on a sample.
    """
    if n_components < 1:
        raise ValueError(f"n_components must be >= 1, got {n_components}")
    X = env.features
    out = np.zeros((X.shape[0], n_components), dtype=np.float32)
    for z in np.unique(env.element):
        rows = np.flatnonzero(env.element == z)
        centred = X[rows] - X[rows].mean(axis=0, dtype=np.float64).astype(X.dtype)
        # The d x d covariance from one single-precision product of the centred vectors;
        # its eigenvectors are the principal axes.
        covariance = (centred.T @ centred).astype(np.float64) / len(rows)
        _, vectors = np.linalg.eigh(covariance)
        top = vectors[:, ::-1][:, :n_components].astype(np.float32)
        out[rows, : top.shape[1]] = centred @ top
    return AtomicEnvironments(out, env.element, env.molecule, env.n_molecules)


def local_gaussian_kernels(
    env: AtomicEnvironments, sigmas: Sequence[float], other: AtomicEnvironments | None = None,
    chunk_atoms: int = 1024,
) -> dict[float, np.ndarray]:
    r"""Local Gaussian kernels between molecules, as sums over pairs of same-element atoms.

    .. math::

        K(M, M') = \sum_{I \in M} \sum_{J \in M',\, Z_J = Z_I}
                   \exp\!\left(-\frac{\lVert x_I - x_J \rVert^2}{2\sigma^2}\right)

    (the FCHL19 kernel of Christensen et al. 2020). The squared distances of a block of atoms
    come from one float32 matrix product (:math:`\lVert x\rVert^2 + \lVert y\rVert^2 -
    2\,x\cdot y`), the exponentials are summed over each molecule's atoms with
    :func:`numpy.add.reduceat`; no Python loop runs over pairs. Without ``other`` the symmetric
    matrix of ``env`` with itself is computed, each pair of molecules once. Several widths
    share the matrix products.

    Parameters
    ----------
    env : AtomicEnvironments
    sigmas : sequence of float
        Kernel widths.
    other : AtomicEnvironments, optional
        Columns of the result; by default ``env`` itself.
    chunk_atoms : int
        Atoms per block of rows (memory: ``chunk_atoms * n_atoms * 8`` bytes per element).

    Returns
    -------
    dict
        ``{sigma: K}``, ``K`` of shape (env.n_molecules, other.n_molecules), float64.
    """
    sigmas = [_check_sigma(s) for s in sigmas]
    if not sigmas:
        raise ValueError("sigmas is empty")
    symmetric = other is None
    other = env if other is None else other
    if env.features.shape[1] != other.features.shape[1]:
        raise ValueError("env and other must have the same number of features")
    K = {s: np.zeros((env.n_molecules, other.n_molecules)) for s in sigmas}
    scales = {s: np.float32(-0.5 / s**2) for s in sigmas}
    workers = available_cores()
    for z in np.unique(env.element):
        rows = np.flatnonzero(env.element == z)
        cols = np.flatnonzero(other.element == z)
        if not len(cols):
            continue
        X, mol_x = env.features[rows], env.molecule[rows]
        Y, mol_y = other.features[cols], other.molecule[cols]
        # Augmented vectors: [x, |x|^2, 1] . [-2y, 1, |y|^2] = |x - y|^2 in one product.
        sq_x = np.einsum("ij,ij->i", X, X, dtype=np.float32)
        sq_y = np.einsum("ij,ij->i", Y, Y, dtype=np.float32)
        one_x = np.ones_like(sq_x)
        one_y = np.ones_like(sq_y)
        Xa = np.concatenate([X, sq_x[:, None], one_x[:, None]], axis=1)
        Ya = np.concatenate([-2.0 * Y, one_y[:, None], sq_y[:, None]], axis=1)
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
