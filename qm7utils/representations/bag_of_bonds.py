r"""The Bag of Bonds of Hansen et al. (2015): Coulomb-matrix entries sorted within bags.

Chapter 9 uses it as the input of its kernels. Like every representation it takes molecules
as ``(Z, R)`` (one molecule or a batch, coordinates in Bohr) and returns an array.
"""

from __future__ import annotations

import numpy as np

from ..chem import ELEMENTS, as_molecules, element_counts
from .coulomb import coulomb_matrix

__all__ = ["bag_labels", "bag_of_bonds", "bag_sizes"]


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
    table = np.atleast_2d(element_counts(Z))
    counts = {z: table[:, k] for k, z in enumerate(ELEMENTS) if table[:, k].any()}
    elements = list(counts)
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
    Z, R : array-like
        One molecule or a batch (:func:`qm7utils.chem.as_molecules`).
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
    Zb, Rb, single = as_molecules(Z, R)
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
    return out[0] if single else out
