r"""Molecular features: Coulomb matrices, their sorted and unrolled forms, spectra, distances.

All functions are vectorised NumPy and take one molecule or a batch, in the book's one
convention for ``(Z, R)`` (:func:`qm7utils.chem.as_molecules`); padding atoms get zero rows
and columns.

The Coulomb matrix (Rupp et al. 2012) of a molecule with nuclear charges :math:`Z_I` at
positions :math:`\mathbf{R}_I` is

.. math::

    C_{II} = \tfrac12 Z_I^{2.4}, \qquad
    C_{IJ} = \frac{Z_I Z_J}{\lVert \mathbf{R}_I - \mathbf{R}_J \rVert} \quad (I \ne J).

The diagonal is a fit of the energy of the free atom to its charge; the off-diagonal is the
Coulomb repulsion of the two nuclei.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils import check_scalar

from ..chem import BOHR_TO_ANGSTROM, as_molecules

__all__ = [
    "agrees_as_sets",
    "check_file_convention",
    "coulomb_matrix",
    "distance_matrix",
    "distances",
    "eigenvalues",
    "randomly_sorted_coulomb_matrix",
    "row_norm_order",
    "row_norms",
    "sort_by_row_norm",
    "sorted_coulomb_matrix",
    "square_matrices",
    "upper_triangle",
]


def distances(R) -> np.ndarray:
    """Pairwise distances of a batch of coordinates, ``(b, n, 3) -> (b, n, n)``.

    No check and no padding mask: :func:`distance_matrix` is the checked version for
    molecules ``(Z, R)``; this is the bare geometry that other functions build on.
    """
    R = np.asarray(R, dtype=np.float64)
    diff = R[:, :, None, :] - R[:, None, :, :]
    return np.sqrt(np.einsum("bijk,bijk->bij", diff, diff))


def square_matrices(M, name: str = "M", dtype=np.float64) -> np.ndarray:
    """``M`` as an array of square matrices, shape (n, n) or (b, n, n); else ``ValueError``."""
    M = np.asarray(M, dtype=dtype)
    if M.ndim not in (2, 3) or M.shape[-1] != M.shape[-2]:
        raise ValueError(
            f"{name} must be square matrices of shape (n, n) or (b, n, n), got {M.shape}"
        )
    return M


def distance_matrix(Z, R, unit: str = "bohr") -> np.ndarray:
    r"""Interatomic distances :math:`D_{IJ} = \lVert \mathbf{R}_I - \mathbf{R}_J \rVert`.

    Parameters
    ----------
    Z, R : array-like
        One molecule or a batch (:func:`qm7utils.chem.as_molecules`).
    unit : {"bohr", "angstrom"}
        Unit of the result; Angstrom uses :data:`BOHR_TO_ANGSTROM`.

    Returns
    -------
    ndarray of shape (n, n) or (b, n, n), zero on the diagonal and on padding.
    """
    Z, R, single = as_molecules(Z, R)
    if unit not in ("bohr", "angstrom"):
        raise ValueError(f"unit must be 'bohr' or 'angstrom', got {unit!r}")
    real = Z > 0
    D = distances(R) * (real[:, :, None] & real[:, None, :])
    if unit == "angstrom":
        D = D * BOHR_TO_ANGSTROM
    return D[0] if single else D


def coulomb_matrix(Z, R) -> np.ndarray:
    r"""Coulomb matrix in the atom order of ``Z``.

    :math:`C_{II} = 0.5 Z_I^{2.4}` and :math:`C_{IJ} = Z_I Z_J / \lVert \mathbf{R}_I -
    \mathbf{R}_J \rVert`, with ``R`` in Bohr; rows and columns of padding atoms are zero.

    Parameters
    ----------
    Z, R : array-like
        One molecule or a batch (:func:`qm7utils.chem.as_molecules`).

    Returns
    -------
    ndarray of shape (n, n) or (b, n, n), symmetric.

    Raises
    ------
    ValueError
        On mismatched shapes, unknown elements, or two atoms at the same position.
    """
    Z, R, single = as_molecules(Z, R)
    D = distances(R)
    real = Z > 0  # padding atoms have Z = 0
    off = real[:, :, None] & real[:, None, :] & ~np.eye(Z.shape[1], dtype=bool)  # pairs I != J
    if np.any(off & (D == 0)):
        b, i, j = np.argwhere(off & (D == 0))[0]
        raise ValueError(f"atoms {i} and {j} of molecule {b} are at the same position")
    Zf = Z.astype(np.float64)
    # Off the diagonal Z_I Z_J / |R_I - R_J| (np.where keeps the division away from zeros).
    C = np.where(off, Zf[:, :, None] * Zf[:, None, :] / np.where(off, D, 1.0), 0.0)
    diagonal = np.arange(Z.shape[1])
    C[:, diagonal, diagonal] = 0.5 * Zf**2.4  # 0 for padding
    return C[0] if single else C


def row_norms(C, norm: str = "l2") -> np.ndarray:
    """Norm of each row of a batch of matrices: ``"l2"`` (Euclidean) or ``"l1"`` (sum of absolute
    values)."""
    C = np.asarray(C, dtype=np.float64)
    if norm == "l2":
        return np.sqrt(np.einsum("...ij,...ij->...i", C, C))
    if norm == "l1":
        return np.abs(C).sum(axis=-1)
    raise ValueError(f"norm must be 'l2' or 'l1', got {norm!r}")


def row_norm_order(C, norm: str = "l2", noise: float = 0.0, rng=None) -> np.ndarray:
    r"""The atom order that sorts rows by descending norm: the one row-norm sort of the book.

    ``order[k]`` is the atom (row of ``C``) that lands in row ``k``, so ``C[order][:, order]``
    is the sorted matrix (:func:`sort_by_row_norm`). The sort is stable: ties keep the atom
    order. Padding rows (norm 0) end up last.

    With ``noise > 0`` the norms are perturbed by :math:`\varepsilon \sim \mathcal N(0,
    \sigma^2)` before sorting (Montavon et al. 2012), which gives a random order among atoms
    whose norms are close.

    Parameters
    ----------
    C : array of shape (n, n) or (b, n, n)
    norm : {"l2", "l1"}
    noise : float
        Standard deviation :math:`\sigma` of the noise added to the norms.
    rng : numpy.random.Generator, optional
        Required when ``noise > 0``.

    Returns
    -------
    ndarray of int, shape (n,) or (b, n)
    """
    C = square_matrices(C, "C")
    keys = row_norms(C, norm)
    check_scalar(noise, "noise", Real, min_val=0.0)
    if noise > 0:
        if not isinstance(rng, np.random.Generator):
            raise ValueError(
                "noise > 0 needs a random generator: pass rng=np.random.default_rng(seed)"
            )
        real = keys > 0
        keys = np.where(real, keys + rng.normal(0.0, noise, size=keys.shape), -np.inf)
    return np.argsort(-keys, axis=-1, kind="stable")


def sort_by_row_norm(C, norm: str = "l2", noise: float = 0.0, rng=None) -> np.ndarray:
    """Permute rows and columns into descending order of row norm.

    ``C[order][:, order]`` with ``order`` from :func:`row_norm_order` (same parameters).

    Parameters
    ----------
    C : array of shape (n, n) or (b, n, n)
    norm : {"l2", "l1"}
    noise : float
        Standard deviation of the noise added to the norms (see :func:`row_norm_order`).
    rng : numpy.random.Generator, optional
        Required when ``noise > 0``.

    Returns
    -------
    ndarray of shape (n, n) or (b, n, n)
    """
    C = square_matrices(C, "C")
    order = row_norm_order(C, norm=norm, noise=noise, rng=rng)
    rows = np.take_along_axis(C, order[..., :, None], axis=-2)
    return np.take_along_axis(rows, order[..., None, :], axis=-1)


def sorted_coulomb_matrix(Z, R, norm: str = "l2") -> np.ndarray:
    r"""Coulomb matrix with rows and columns in descending order of row norm.

    Sorting removes the arbitrary atom order (Rupp et al. 2012; Montavon et al. 2012): two
    numberings of the same molecule give the same matrix. ``norm="l2"`` is the usual choice;
    ``norm="l1"`` (row sum, as every entry is positive) is the convention of the ``X`` stored in
    qm7.mat. Ties keep the atom order of ``Z``.

    Parameters
    ----------
    Z, R : array-like
        One molecule or a batch (:func:`qm7utils.chem.as_molecules`).
    norm : {"l2", "l1"}

    Returns
    -------
    ndarray of shape (n, n) or (b, n, n)
    """
    if norm not in ("l2", "l1"):
        raise ValueError(f"norm must be 'l2' or 'l1', got {norm!r}")
    return sort_by_row_norm(coulomb_matrix(Z, R), norm=norm)


def randomly_sorted_coulomb_matrix(
    Z, R, rng: np.random.Generator, noise: float = 1.0, norm: str = "l2"
) -> np.ndarray:
    r"""A randomly sorted Coulomb matrix (Montavon et al. 2012).

    Rows and columns are sorted by :math:`\lVert C_I \rVert + \varepsilon_I` with
    :math:`\varepsilon_I \sim \mathcal N(0, \sigma^2)`: atoms whose norms are close swap places
    at random, so repeated draws give an augmented set of valid matrices of one molecule.

    Parameters
    ----------
    Z, R : array-like
        One molecule or a batch (:func:`qm7utils.chem.as_molecules`).
    rng : numpy.random.Generator
        Source of the noise (pass ``np.random.default_rng(seed)``).
    noise : float
        :math:`\sigma`; 0 gives :func:`sorted_coulomb_matrix`.
    norm : {"l2", "l1"}
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator, e.g. np.random.default_rng(0)")
    return sort_by_row_norm(coulomb_matrix(Z, R), norm=norm, noise=noise, rng=rng)


def upper_triangle(M, sort: bool = False) -> np.ndarray:
    """The upper triangle of square matrices, diagonal included, unrolled row by row.

    For 23 x 23 matrices this gives 23 * 24 / 2 = 276 values: the deck's "unrolled" vector.

    Parameters
    ----------
    M : array of shape (n, n) or (b, n, n)
    sort : bool
        Sort the values of each vector in descending order (an atom-order-free feature).

    Returns
    -------
    ndarray of shape (n(n+1)/2,) or (b, n(n+1)/2)
    """
    M = square_matrices(M, dtype=None)
    rows, cols = np.triu_indices(M.shape[-1])
    values = M[..., rows, cols]
    if sort:
        values = -np.sort(-values, axis=-1)
    # C order: row-wise consumers (SciPy's pdist/cdist) are several times slower on the
    # strided result that fancy indexing of a sorted (permuted) batch can give.
    return np.ascontiguousarray(values)


def eigenvalues(M) -> np.ndarray:
    """Eigenvalues of symmetric matrices, sorted by absolute value, descending.

    Padding rows and columns contribute zero eigenvalues, which end up last, so the vectors
    are zero-padded to a fixed length. The spectrum does not depend on the atom order.

    Parameters
    ----------
    M : array of shape (n, n) or (b, n, n), symmetric (Coulomb or distance matrices)

    Returns
    -------
    ndarray of shape (n,) or (b, n)
    """
    M = square_matrices(M)
    if not np.allclose(M, np.swapaxes(M, -1, -2), rtol=1e-10, atol=1e-10):
        raise ValueError("M must be symmetric (Coulomb and distance matrices are)")
    values = np.linalg.eigvalsh(M)
    order = np.argsort(-np.abs(values), axis=-1, kind="stable")
    values = np.take_along_axis(values, order, axis=-1)
    # eigvalsh returns tiny non-zero values for padding; make them exact zeros.
    scale = np.abs(values).max(axis=-1, keepdims=True)
    values[np.abs(values) <= 1e-12 * np.maximum(scale, 1.0)] = 0.0
    return values


# --- The convention of the stored X (chapter 2) ---------------------------------------------


def agrees_as_sets(Z, R, X, norm: str = "l1", atol: float = 1e-3, tie_tol: float = 1e-3):
    """Whether each stored ``X`` is its molecule's Coulomb matrix sorted by row norm, ties allowed.

    A fast check, without searching for the order of tied atoms (that is
    :func:`check_file_convention`): the Coulomb matrix is recomputed from ``Z`` and ``R`` and
    sorted by descending row norm (``norm``), giving ``S``, and ``X`` is compared with it as
    *sets*, which no order of tied atoms changes. ``X`` agrees when

    * it is symmetric;
    * it is zero outside its first ``n x n`` block (``n`` real atoms come first);
    * it holds the same entries as ``S`` (compared as sorted lists, to ``atol``);
    * each of its rows holds the same entries as the row of ``S`` at the same place, except
      where ``S`` has rows whose norms tie (within ``tie_tol``): tied rows may come in any
      order.

    A reversed, otherwise permuted, rescaled, all-zero or another molecule's ``X`` fails. Most
    molecules have no tie and agree with ``S`` entry by entry; only the others are compared as
    sets, all at once: a fraction of a second for the whole of QM7.

    Parameters
    ----------
    Z, R : array-like of shape (b, n) and (b, n, 3)
        A batch of molecules (:func:`qm7utils.chem.as_molecules`).
    X : array of shape (b, n, n)
        The stored matrices.
    norm : {"l1", "l2"}
        The sorting convention (QM7's ``X``: ``"l1"``, descending row sums).
    atol : float
        Largest difference of two entries counted as equal (QM7 stores single precision).
    tie_tol : float
        Row norms closer than this are ties.

    Returns
    -------
    ndarray of bool, shape (b,)
    """
    if norm not in ("l1", "l2"):
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
    Zb, Rb, single = as_molecules(Z, R)
    if single:
        raise ValueError("agrees_as_sets expects a batch: Z (b, n), R (b, n, 3), X (b, n, n)")
    S = sort_by_row_norm(coulomb_matrix(Zb, Rb), norm)
    X = np.asarray(X, dtype=np.float64)
    if X.shape != S.shape:
        raise ValueError(f"X must have shape {S.shape} to match Z and R, got {X.shape}")
    agrees = np.abs(S - X).max(axis=(1, 2), initial=0.0) <= atol  # most molecules: no tie
    todo = np.flatnonzero(~agrees)
    if todo.size == 0:
        return agrees
    S, X, n_real = S[todo], X[todo], (Zb[todo] > 0).sum(axis=1)
    b, n = n_real.size, Zb.shape[1]

    def sorted_gap(a, c):
        """Largest difference of the values of a and c, each sorted along its last axis."""
        return np.abs(np.sort(a, axis=-1) - np.sort(c, axis=-1)).max(axis=-1)

    block = np.arange(n)[None, :] < n_real[:, None]
    outside = ~(block[:, :, None] & block[:, None, :])
    ties = np.abs(np.diff(row_norms(S, norm), axis=1)) <= tie_tol
    tied = np.zeros((b, n), dtype=bool)
    tied[:, 1:] |= ties
    tied[:, :-1] |= ties
    agrees[todo] = (
        (np.abs(X - np.swapaxes(X, 1, 2)).max(axis=(1, 2)) <= atol)
        & (np.where(outside, np.abs(X), 0.0).max(axis=(1, 2)) <= atol)
        & (sorted_gap(X.reshape(b, n * n), S.reshape(b, n * n)) <= atol)
        & ((sorted_gap(X, S) <= atol) | tied).all(axis=1)
    )
    return agrees


def _match_atoms(C: np.ndarray, X: np.ndarray, n: int, atol: float) -> np.ndarray | None:
    """An atom order ``p`` with ``C[p][:, p] == X`` (to ``atol``) for one molecule, or None.

    Backtracking over the rows of ``X``: row ``k`` may take atom ``i`` when their sorted rows
    agree and ``C[i, p[:k]]`` matches ``X[k, :k]``; this prunes every branch but a few.
    """
    C, X = C[:n, :n], X[:n, :n]
    candidates = [
        np.flatnonzero(np.abs(np.sort(C, axis=1) - row).max(axis=1) <= atol)
        for row in np.sort(X, axis=1)
    ]
    chosen: list[int] = []

    def extend(k: int) -> bool:
        if k == n:
            return True
        for i in candidates[k]:
            if i in chosen or (chosen and np.abs(C[i, chosen] - X[k, :k]).max() > atol):
                continue
            chosen.append(int(i))
            if extend(k + 1):
                return True
            chosen.pop()
        return False

    return np.array(chosen) if extend(0) else None


def check_file_convention(
    Z,
    R,
    X,
    norm: str = "l1",
    atol: float = 1e-3,
    tie_tol: float = 1e-3,
):
    """Compare Coulomb matrices recomputed from ``Z``, ``R`` with the stored ``X``.

    QM7 stores the Coulomb matrices ``X`` already sorted; this function finds out by which
    rule. Each molecule's Coulomb matrix is computed in atom order, sorted by descending row norm
    (``norm``), and compared entry by entry with ``X``. QM7 stores ``X`` in single precision,
    so entries agree to about 1e-4, hence ``atol``.

    Two atoms whose row norms agree to ``tie_tol`` are *tied*: the order between them is decided
    by rounding, and the file (single precision) may have decided it the other way. For a
    molecule that does not agree, ``agrees_up_to_ties`` says whether ``X`` is nevertheless
    the molecule's Coulomb matrix in some atom order (found by a pruned search) whose row
    norms descend up to ``tie_tol``: the file then follows the convention and only broke a
    tie differently.

    Parameters
    ----------
    Z, R : array-like of shape (b, n) and (b, n, 3)
        A batch of molecules (:func:`qm7utils.chem.as_molecules`).
    X : array of shape (b, n, n)
        The stored matrices.
    norm : {"l1", "l2"}
        The sorting convention to test.
    atol : float
        Largest entry-wise difference counted as agreement.
    tie_tol : float
        Row norms closer than this are ties.

    Returns
    -------
    pandas.DataFrame, one row per molecule, with columns ``max_abs_diff`` (after sorting),
    ``agrees``, ``has_tie`` (two real atoms with row norms within ``tie_tol``) and
    ``agrees_up_to_ties``.
    """
    import pandas as pd

    if norm not in ("l1", "l2"):
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
    C = coulomb_matrix(Z, R)
    X = np.asarray(X, dtype=np.float64)
    if C.ndim != 3:
        raise ValueError(
            "check_file_convention expects a batch: Z (b, n), R (b, n, 3), X (b, n, n)"
        )
    if X.shape != C.shape:
        raise ValueError(f"X must have shape {C.shape} to match Z and R, got {X.shape}")
    norms = row_norms(C, norm)
    order = row_norm_order(C, norm)
    rows = np.take_along_axis(C, order[:, :, None], axis=1)
    S = np.take_along_axis(rows, order[:, None, :], axis=2)
    diff = np.abs(S - X).max(axis=(1, 2))
    agrees = diff <= atol
    real = np.asarray(Z) > 0
    sorted_norms = np.take_along_axis(norms, order, axis=1)
    gaps = np.abs(np.diff(sorted_norms, axis=1))
    both_real = np.take_along_axis(real, order, axis=1)
    has_tie = ((gaps <= tie_tol) & both_real[:, 1:] & both_real[:, :-1]).any(axis=1)
    x_norms = row_norms(X, norm)
    descending = (np.diff(x_norms, axis=1) <= tie_tol).all(axis=1)
    resolved = agrees.copy()
    for b in np.flatnonzero(~agrees & has_tie & descending):
        n_real = int(real[b].sum())
        if np.abs(X[b, n_real:]).max(initial=0.0) > atol:
            continue
        resolved[b] = _match_atoms(C[b], X[b], n_real, atol) is not None
    return pd.DataFrame(
        {
            "max_abs_diff": diff,
            "agrees": agrees,
            "has_tie": has_tie,
            "agrees_up_to_ties": resolved,
        }
    )
