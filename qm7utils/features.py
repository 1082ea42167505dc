r"""Molecular features: Coulomb matrices, their sorted and unrolled forms, spectra, distances.

All functions are vectorised NumPy and batch-first: they take one molecule (``Z`` of shape
``(n,)``, ``R`` of shape ``(n, 3)``) or a batch (``(b, n)`` and ``(b, n, 3)``) and return
arrays with the same leading shape. Atoms with ``Z = 0`` are padding: they are ignored and get
zero rows and columns. Coordinates are in Bohr, as in QM7.

The Coulomb matrix (Rupp et al. 2012) of a molecule with nuclear charges :math:`Z_I` at
positions :math:`\mathbf{R}_I` is

.. math::

    C_{II} = \tfrac12 Z_I^{2.4}, \qquad
    C_{IJ} = \frac{Z_I Z_J}{\lVert \mathbf{R}_I - \mathbf{R}_J \rVert} \quad (I \ne J).

The diagonal is a fit of the energy of the free atom to its charge; the off-diagonal is the
Coulomb repulsion of the two nuclei.
"""

from __future__ import annotations

import numpy as np

from .data import ELEMENTS

__all__ = [
    "BOHR_TO_ANGSTROM",
    "bag_labels",
    "bag_of_bonds",
    "bag_sizes",
    "coulomb_matrix",
    "distance_matrix",
    "eigenvalues",
    "randomly_sorted_coulomb_matrix",
    "row_norms",
    "sort_by_row_norm",
    "sorted_coulomb_matrix",
    "upper_triangle",
]

#: Bohr radius in Angstrom (CODATA 2018). QM7's own xyz exports used 0.52917720859 (CODATA
#: 2006); the two differ by 2e-9 relative.
from .chem import BOHR_TO_ANGSTROM  # noqa: E402,F401  (temporary: chem holds it)

_KNOWN_Z = (0, *ELEMENTS)


def _as_molecules(Z, R) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validate ``Z`` and ``R`` and return them batched: ``(b, n)`` int, ``(b, n, 3)`` float."""
    Z = np.asarray(Z)
    R = np.asarray(R, dtype=np.float64)
    single = Z.ndim == 1
    if Z.ndim not in (1, 2):
        raise ValueError(
            f"Z must have shape (n_atoms,) or (n_molecules, n_atoms), got {Z.shape}"
        )
    if R.shape != Z.shape + (3,):
        raise ValueError(
            f"R must have shape Z.shape + (3,) = {Z.shape + (3,)} (Cartesian coordinates in "
            f"Bohr), got {R.shape}"
        )
    if Z.size and not np.issubdtype(Z.dtype, np.number):
        raise ValueError(f"Z must hold nuclear charges (numbers), got dtype {Z.dtype}")
    if Z.size and not np.all(Z == np.round(Z)):
        raise ValueError("Z must hold integer nuclear charges")
    Zi = Z.astype(np.int64)
    unknown = sorted(set(np.unique(Zi).tolist()) - set(_KNOWN_Z))
    if unknown:
        known = ", ".join(f"{s} ({z})" for z, s in ELEMENTS.items())
        raise ValueError(
            f"Z contains unknown element(s) {unknown}: qm7utils supports {known}, and 0 for "
            "padding"
        )
    if not np.all(np.isfinite(R)):
        raise ValueError("R contains NaN or infinite coordinates")
    if single:
        Zi, R = Zi[None], R[None]
    return Zi, R, single


def _unbatch(array: np.ndarray, single: bool) -> np.ndarray:
    return array[0] if single else array


def _distances(R: np.ndarray) -> np.ndarray:
    """Pairwise distances of a batch of coordinates (b, n, 3) -> (b, n, n)."""
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
    Z : array of shape (n,) or (b, n)
        Nuclear charges, 0 for padding.
    R : array of shape (n, 3) or (b, n, 3)
        Coordinates in Bohr.
    unit : {"bohr", "angstrom"}
        Unit of the result; Angstrom uses :data:`BOHR_TO_ANGSTROM`.

    Returns
    -------
    ndarray of shape (n, n) or (b, n, n), zero on the diagonal and on padding.
    """
    Z, R, single = _as_molecules(Z, R)
    if unit not in ("bohr", "angstrom"):
        raise ValueError(f"unit must be 'bohr' or 'angstrom', got {unit!r}")
    real = Z > 0
    D = _distances(R) * (real[:, :, None] & real[:, None, :])
    if unit == "angstrom":
        D = D * BOHR_TO_ANGSTROM
    return _unbatch(D, single)


def coulomb_matrix(Z, R) -> np.ndarray:
    r"""Coulomb matrix in the atom order of ``Z``.

    :math:`C_{II} = 0.5 Z_I^{2.4}` and :math:`C_{IJ} = Z_I Z_J / \lVert \mathbf{R}_I -
    \mathbf{R}_J \rVert`, with ``R`` in Bohr; rows and columns of padding atoms are zero.

    Parameters
    ----------
    Z : array of shape (n,) or (b, n)
        Nuclear charges, 0 for padding.
    R : array of shape (n, 3) or (b, n, 3)
        Coordinates in Bohr.

    Returns
    -------
    ndarray of shape (n, n) or (b, n, n), symmetric.

    Raises
    ------
    ValueError
        On mismatched shapes, unknown elements, or two atoms at the same position.
    """
    Z, R, single = _as_molecules(Z, R)
    real = Z > 0
    pair = real[:, :, None] & real[:, None, :]
    n = Z.shape[1]
    off = pair & ~np.eye(n, dtype=bool)
    D = _distances(R)
    if np.any(off & (D == 0)):
        b, i, j = np.argwhere(off & (D == 0))[0]
        raise ValueError(f"atoms {i} and {j} of molecule {b} are at the same position")
    Zf = Z.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        C = np.where(off, Zf[:, :, None] * Zf[:, None, :] / np.where(off, D, 1.0), 0.0)
    diagonal = 0.5 * Zf**2.4
    idx = np.arange(n)
    C[:, idx, idx] = diagonal
    return _unbatch(C, single)


def row_norms(C, norm: str = "l2") -> np.ndarray:
    """Norm of each row of a batch of matrices: ``"l2"`` (Euclidean) or ``"l1"`` (sum of |.|)."""
    C = np.asarray(C, dtype=np.float64)
    if norm == "l2":
        return np.sqrt(np.einsum("...ij,...ij->...i", C, C))
    if norm == "l1":
        return np.abs(C).sum(axis=-1)
    raise ValueError(f"norm must be 'l2' or 'l1', got {norm!r}")


def _permute(C: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Reorder rows and columns of a batch of matrices (b, n, n) by ``order`` (b, n)."""
    rows = np.take_along_axis(C, order[:, :, None], axis=1)
    return np.take_along_axis(rows, order[:, None, :], axis=2)


def sort_by_row_norm(C, norm: str = "l2", noise: float = 0.0, rng=None) -> np.ndarray:
    r"""Permute rows and columns into descending order of row norm.

    With ``noise > 0`` the norms are perturbed by :math:`\varepsilon \sim \mathcal N(0,
    \sigma^2)` before sorting (Montavon et al. 2012). Ties keep the original order. Padding rows
    (norm 0) end up last.

    Parameters
    ----------
    C : array of shape (n, n) or (b, n, n)
    norm : {"l2", "l1"}
    noise : float
        Standard deviation :math:`\sigma` of the noise added to the norms.
    rng : numpy.random.Generator, optional
        Required when ``noise > 0``.
    """
    C = square_matrices(C, "C")
    single = C.ndim == 2
    batch = C[None] if single else C
    keys = row_norms(batch, norm)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if noise > 0:
        if rng is None:
            raise ValueError(
                "noise > 0 needs a random generator: pass rng=np.random.default_rng(seed)"
            )
        real = keys > 0
        keys = np.where(real, keys + rng.normal(0.0, noise, size=keys.shape), -np.inf)
    order = np.argsort(-keys, axis=-1, kind="stable")
    return _unbatch(_permute(batch, order), single)


def sorted_coulomb_matrix(Z, R, norm: str = "l2") -> np.ndarray:
    r"""Coulomb matrix with rows and columns in descending order of row norm.

    Sorting removes the arbitrary atom order (Rupp et al. 2012; Montavon et al. 2012): two
    numberings of the same molecule give the same matrix. ``norm="l2"`` is the usual choice;
    ``norm="l1"`` (row sum, as every entry is positive) is the convention of the ``X`` stored in
    qm7.mat. Ties keep the atom order of ``Z``.

    Parameters
    ----------
    Z : array of shape (n,) or (b, n)
    R : array of shape (n, 3) or (b, n, 3)
        Coordinates in Bohr.
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
    Z, R : arrays
        As in :func:`coulomb_matrix`.
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


# --- Bag of Bonds (chapter 8) ---------------------------------------------------------------


def bag_sizes(Z) -> dict[tuple[int, ...], int]:
    r"""Sizes of the bags of a Bag of Bonds that hold every molecule of ``Z``.

    A bag is either one element, ``(a,)`` (its atoms' diagonal entries
    :math:`\tfrac12 Z_a^{2.4}`), or a pair of elements ``(a, b)`` with ``a <= b`` (the
    Coulomb repulsions :math:`Z_a Z_b / R_{IJ}` of every such pair of atoms). A bag's size is the
    largest number of entries any molecule puts in it: ``max n_a`` for an element,
    ``max n_a (n_a - 1) / 2`` for a pair of equal elements and ``max n_a n_b`` for two different
    ones. Empty bags are left out. On all of QM7 this gives 19 bags (5 elements and 14 pairs; S-S
    is empty, as no molecule has two sulfur atoms) holding 386 values.

    Parameters
    ----------
    Z : array of shape (n,) or (b, n)
        Nuclear charges, 0 for padding. Pass the whole data set, so that training and test
        molecules get the same layout.

    Returns
    -------
    dict
        ``{bag: size}`` in a fixed order: elements by charge, then pairs by charges.
    """
    Z = np.atleast_2d(np.asarray(Z))
    if Z.ndim != 2:
        raise ValueError(f"Z must have shape (n_atoms,) or (n_molecules, n_atoms), got {Z.shape}")
    unknown = sorted(set(np.unique(Z).tolist()) - set(_KNOWN_Z))
    if unknown:
        raise ValueError(f"Z contains unknown element(s) {unknown}")
    elements = [z for z in ELEMENTS if np.any(Z == z)]
    counts = {z: (Z == z).sum(axis=1) for z in elements}
    sizes: dict[tuple[int, ...], int] = {(a,): int(counts[a].max()) for a in elements}
    for i, a in enumerate(elements):
        for b in elements[i:]:
            n = counts[a] * (counts[a] - 1) // 2 if a == b else counts[a] * counts[b]
            if n.max() > 0:
                sizes[(a, b)] = int(n.max())
    return sizes


def bag_labels(sizes: dict[tuple[int, ...], int]) -> list[str]:
    """Names of the bags, e.g. ``["H", "C", ..., "H-H", "C-H", ...]``, in the order of ``sizes``.

    A pair is written carbon first, hydrogen last and otherwise alphabetically (``"C-H"``,
    ``"C-N"``, ``"N-H"``, ``"N-O"``), as chemists write bonds.
    """

    def key(z: int) -> tuple[bool, bool, str]:
        return (ELEMENTS[z] != "C", ELEMENTS[z] == "H", ELEMENTS[z])

    return ["-".join(ELEMENTS[z] for z in sorted(bag, key=key)) for bag in sizes]


def bag_of_bonds(Z, R, sizes: dict[tuple[int, ...], int] | None = None) -> np.ndarray:
    r"""The Bag of Bonds of Hansen et al. (2015): Coulomb-matrix entries sorted within bags.

    The entries of the Coulomb matrix are grouped by the elements they involve: one bag per
    element (its diagonal entries :math:`\tfrac12 Z^{2.4}`) and one per pair of elements (the
    repulsions :math:`Z_a Z_b / R_{IJ}` of its atom pairs, distances in Bohr). Each bag is sorted
    in descending order and zero-padded to a fixed size, and the bags are concatenated. Sorting
    *within* a bag makes the vector independent of the atom order, while, unlike a sorted
    Coulomb matrix, an entry is only ever compared with entries of the same kind of bond.

    Parameters
    ----------
    Z : array of shape (n,) or (b, n)
        Nuclear charges, 0 for padding.
    R : array of shape (n, 3) or (b, n, 3)
        Coordinates in Bohr.
    sizes : dict, optional
        The layout, from :func:`bag_sizes`. By default the layout that fits this batch: pass
        the whole data set at once, or the same ``sizes`` for every call, so that vectors of
        different calls line up.

    Returns
    -------
    ndarray of shape (sum(sizes.values()),) or (b, sum(sizes.values()))
        386 values per molecule with the layout of all of QM7.

    Raises
    ------
    ValueError
        If a molecule has more entries for a bag than its size, or a bag it needs is missing.
    """
    Zb, Rb, single = _as_molecules(Z, R)
    if sizes is None:
        sizes = bag_sizes(Zb)
    C = coulomb_matrix(Zb, Rb)
    n = Zb.shape[1]
    rows, cols = np.triu_indices(n, k=1)
    pair_values = C[:, rows, cols]
    zi, zj = Zb[:, rows], Zb[:, cols]
    diagonal = np.einsum("bii->bi", C)
    covered = np.zeros(pair_values.shape, dtype=bool)
    covered_atoms = np.zeros(Zb.shape, dtype=bool)
    parts = []
    for bag, size in sizes.items():
        if len(bag) == 1:
            mask = Zb == bag[0]
            values = np.where(mask, diagonal, 0.0)
            covered_atoms |= mask
        elif len(bag) == 2:
            a, b = bag
            mask = ((zi == a) & (zj == b)) | ((zi == b) & (zj == a))
            values = np.where(mask, pair_values, 0.0)
            covered |= mask
        else:
            raise ValueError(f"bag {bag!r}: a bag is one element (a,) or a pair (a, b)")
        count = mask.sum(axis=1)
        if count.max(initial=0) > size:
            worst = int(np.argmax(count))
            raise ValueError(
                f"molecule {worst} has {int(count[worst])} entries for bag {bag} of size {size}: "
                "compute the sizes with bag_sizes() on the whole data set"
            )
        values = -np.sort(-values, axis=1)
        if values.shape[1] < size:
            values = np.pad(values, ((0, 0), (0, size - values.shape[1])))
        parts.append(values[:, :size])
    real_pairs = (zi > 0) & (zj > 0)
    if np.any(real_pairs & ~covered) or np.any((Zb > 0) & ~covered_atoms):
        raise ValueError(
            "some atoms or atom pairs fall in no bag of `sizes`: compute the sizes with "
            "bag_sizes() on the whole data set"
        )
    out = np.concatenate(parts, axis=1) if parts else np.zeros((Zb.shape[0], 0))
    return _unbatch(out, single)
