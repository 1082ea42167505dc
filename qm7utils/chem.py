"""Chemistry constants and small facts about molecules that every other module uses.

The elements of QM7, the unit conversion of its coordinates, covalent radii, molecular
formulas, atom labels, the count of each element per molecule, and the one check of a
molecule's input arrays (:func:`as_molecules`) live here, once.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = [
    "BOHR_TO_ANGSTROM",
    "COVALENT_RADII",
    "ELEMENTS",
    "as_molecules",
    "atom_labels",
    "element_counts",
    "element_sets",
    "hill_formula",
]

#: Element symbols of the nuclear charges that occur in QM7 (0 is padding), in the order the
#: book uses for per-element columns: H, C, N, O, S.
ELEMENTS = {1: "H", 6: "C", 7: "N", 8: "O", 16: "S"}

#: One Bohr (QM7's unit of length) in Ångström (CODATA 2018). QM7's own xyz exports used
#: 0.52917720859 (CODATA 2006); the two differ by 2e-9 relative.
BOHR_TO_ANGSTROM = 0.529177210903

#: Single-bond covalent radii in Ångström (Cordero et al., Dalton Trans. 2008, 2832; C sp3).
COVALENT_RADII = {1: 0.31, 6: 0.76, 7: 0.71, 8: 0.66, 16: 1.05}


def _check_known(Z: np.ndarray) -> None:
    known = np.isin(Z, (0, *ELEMENTS))
    if not known.all():
        bad = sorted({int(v) for v in np.unique(Z[~known])})
        known = ", ".join(f"{s} ({z})" for z, s in ELEMENTS.items())
        raise ValueError(
            f"Z contains unknown element(s) {bad}: QM7 has {known}, and 0 for padding"
        )


def as_molecules(Z, R) -> tuple[np.ndarray, np.ndarray, bool]:
    """Check one molecule or a batch of molecules and return them as a batch.

    This is the book's one convention for molecules: every function that takes ``(Z, R)``
    (representations, graphs, figures) accepts one molecule or a batch as described here,
    validates them here, once, and returns arrays with the same leading shape. Padding atoms
    (``Z = 0``) are ignored: they get zero rows and columns, or no entry at all.

    Parameters
    ----------
    Z : array-like of shape (n_atoms,) or (n_molecules, n_atoms)
        Nuclear charges (integers): 1, 6, 7, 8, 16 for H, C, N, O, S, and 0 for padding.
    R : array-like of shape Z.shape + (3,)
        Cartesian coordinates in Bohr, as in QM7.

    Returns
    -------
    Z : ndarray of int64, shape (b, n)
    R : ndarray of float64, shape (b, n, 3)
    single : bool
        True when one molecule was passed (``b`` is then 1); a caller returns ``out[0]``.

    Raises
    ------
    ValueError
        On a wrong shape, non-integer or unknown charges, or NaN / infinite coordinates.
    """
    Z = np.asarray(Z)
    R = np.asarray(R, dtype=np.float64)
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
    _check_known(Zi)
    if not np.all(np.isfinite(R)):
        raise ValueError("R contains NaN or infinite coordinates")
    single = Z.ndim == 1
    if single:
        Zi, R = Zi[None], R[None]
    return Zi, R, single


def element_counts(Z) -> np.ndarray:
    """Number of atoms of each element (H, C, N, O, S) in each molecule.

    Parameters
    ----------
    Z : array-like of shape (n_atoms,) or (n_molecules, n_atoms)
        Nuclear charges of one molecule or a batch (see :func:`as_molecules`).

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
    _check_known(Z)
    counts = np.stack([(Z == z).sum(axis=-1) for z in ELEMENTS], axis=-1)
    return counts.astype(np.int64)


def _hill_order(symbols) -> list[str]:
    """Symbols in Hill order: C, H, then alphabetical (without carbon: all alphabetical)."""
    symbols = set(symbols)
    order = [s for s in ("C", "H") if s in symbols] if "C" in symbols else []
    return order + sorted(symbols - set(order))


def hill_formula(z) -> str:
    """Formula of one molecule from its nuclear charges, in Hill order (C, H, then A-Z)."""
    counts = Counter(ELEMENTS[int(v)] for v in np.asarray(z).ravel() if v > 0)
    return "".join(f"{s}{counts[s] if counts[s] > 1 else ''}" for s in _hill_order(counts))


def element_sets(Z) -> np.ndarray:
    """The set of elements of each molecule as a label: ``"CH"``, ``"CHN"``, ``"CHNO"``, ...

    Elements are listed in Hill order (C, H, then alphabetical), so every molecule with
    carbon, hydrogen and oxygen only is ``"CHO"``.

    Parameters
    ----------
    Z : array of shape (n_molecules, n_atoms)
        Nuclear charges of a batch (see :func:`as_molecules`).

    Returns
    -------
    ndarray of str, shape (n_molecules,)
    """
    Z = np.asarray(Z)
    if Z.ndim != 2:
        raise ValueError(f"Z must have shape (n_molecules, n_atoms), got {Z.shape}")
    symbols = np.array(list(ELEMENTS.values()))
    present = element_counts(Z) > 0
    return np.array(["".join(_hill_order(symbols[row])) for row in present])


def atom_labels(Z) -> list[str]:
    """Labels ``"C0", "N1", "H4", ...`` of the real atoms of one molecule (index in ``Z``).

    Parameters
    ----------
    Z : array of shape (n,)
        Nuclear charges of one molecule, 0 for padding (padding gets no label).
    """
    Z = np.asarray(Z)
    if Z.ndim != 1:
        raise ValueError(f"Z must be the charges of one molecule, shape (n,), got {Z.shape}")
    _check_known(Z)
    return [f"{ELEMENTS[int(z)]}{i}" for i, z in enumerate(Z) if z > 0]
