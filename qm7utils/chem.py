"""Chemistry constants and small facts about molecules that every other module uses.

The elements of QM7, the unit conversion of its coordinates, molecular formulas and the count
of each element per molecule live here, once.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = ["BOHR_TO_ANGSTROM", "ELEMENTS", "element_counts", "hill_formula"]

#: Element symbols of the nuclear charges that occur in QM7 (0 is padding), in the order the
#: book uses for per-element columns: H, C, N, O, S.
ELEMENTS = {1: "H", 6: "C", 7: "N", 8: "O", 16: "S"}

#: One Bohr (QM7's unit of length) in Ångström (CODATA 2018).
BOHR_TO_ANGSTROM = 0.529177210903


def element_counts(Z) -> np.ndarray:
    """Number of atoms of each element (H, C, N, O, S) in each molecule.

    Parameters
    ----------
    Z : array-like of shape (n_atoms,) or (n_molecules, n_atoms)
        Nuclear charges, 0 for padding.

    Returns
    -------
    ndarray of int64, shape (5,) or (n_molecules, 5)
        Columns in the order of :data:`ELEMENTS`.

    Raises
    ------
    ValueError
        If ``Z`` is not one- or two-dimensional, or holds a charge other than 0 and those of
        :data:`ELEMENTS`.
    """
    Z = np.asarray(Z)
    if Z.ndim not in (1, 2):
        raise ValueError(
            f"Z must have shape (n_atoms,) or (n_molecules, n_atoms), got shape {Z.shape}"
        )
    known = np.isin(Z, (0, *ELEMENTS))
    if not known.all():
        bad = sorted({int(v) for v in np.unique(Z[~known])})
        raise ValueError(
            f"unknown nuclear charges {bad}: QM7 has only {sorted(ELEMENTS)} (0 = padding)"
        )
    counts = np.stack([(Z == z).sum(axis=-1) for z in ELEMENTS], axis=-1)
    return counts.astype(np.int64)


def hill_formula(z) -> str:
    """Formula of one molecule from its nuclear charges, in Hill order (C, H, then A-Z)."""
    counts = Counter(ELEMENTS[int(v)] for v in np.asarray(z).ravel() if v > 0)
    order = [s for s in ("C", "H") if s in counts] if "C" in counts else []
    order += sorted(s for s in counts if s not in order)
    return "".join(f"{s}{counts[s] if counts[s] > 1 else ''}" for s in order)
