"""What is in QM7: the arrays of the file, its elements and its five folds (chapter 1).

Tables that describe the data set: :func:`describe_arrays` (shape, unit and range of each
array), :func:`composition_table` (how often each element occurs), :func:`fold_table` and
:func:`fold_stratification` (how the folds ``P`` were drawn).
"""

from __future__ import annotations

import numpy as np

from .chem import ELEMENTS
from .data import QM7

__all__ = [
    "ARRAY_DESCRIPTIONS",
    "composition_table",
    "describe_arrays",
    "fold_stratification",
    "fold_table",
]

#: Unit and meaning of each array of the QM7 file.
ARRAY_DESCRIPTIONS = {
    "X": ("Hartree (atomic units)", "Coulomb matrices, sorted by row sum"),
    "T": ("kcal/mol", "atomization energies (PBE0)"),
    "P": ("molecule index", "five cross-validation folds"),
    "Z": ("e (charge number)", "nuclear charges, 0 = padding"),
    "R": ("Bohr", "Cartesian coordinates, padding rows are 0"),
}


def _check_qm7(qm7) -> QM7:
    if not isinstance(qm7, QM7):
        raise TypeError(f"expected a QM7 object (from load_qm7()), got {type(qm7).__name__}")
    return qm7


def describe_arrays(qm7: QM7):
    """One row per array of the file: shape, dtype, unit, content, value range.

    Parameters
    ----------
    qm7 : QM7

    Returns
    -------
    pandas.DataFrame indexed by array name (``X``, ``T``, ``P``, ``Z``, ``R``).
    """
    import pandas as pd

    qm7 = _check_qm7(qm7)
    rows = []
    for name, (unit, content) in ARRAY_DESCRIPTIONS.items():
        array = getattr(qm7, name)
        rows.append(
            {
                "array": name,
                "shape": str(tuple(array.shape)),
                "dtype": str(array.dtype),
                "unit": unit,
                "content": content,
                "min": float(array.min()),
                "max": float(array.max()),
            }
        )
    return pd.DataFrame(rows).set_index("array")


def composition_table(Z):
    """How often each element occurs: atoms, molecules containing it, atoms per molecule.

    Parameters
    ----------
    Z : array of shape (n_molecules, n_atoms)
        Nuclear charges, 0 for padding.

    Returns
    -------
    pandas.DataFrame indexed by element symbol (H, C, N, O, S) with columns ``atoms``,
    ``share_of_atoms`` (fraction of all atoms), ``molecules`` (that contain the element),
    ``share_of_molecules``, ``max_per_molecule``.
    """
    import pandas as pd

    Z = np.asarray(Z)
    if Z.ndim != 2:
        raise ValueError(f"Z must have shape (n_molecules, n_atoms), got {Z.shape}")
    total_atoms = int((Z > 0).sum())
    n = Z.shape[0]
    rows = []
    for z, symbol in ELEMENTS.items():
        counts = (Z == z).sum(axis=1)
        rows.append(
            {
                "element": symbol,
                "atoms": int(counts.sum()),
                "share_of_atoms": counts.sum() / max(total_atoms, 1),
                "molecules": int((counts > 0).sum()),
                "share_of_molecules": (counts > 0).sum() / max(n, 1),
                "max_per_molecule": int(counts.max()) if n else 0,
            }
        )
    return pd.DataFrame(rows).set_index("element")


def fold_table(qm7: QM7):
    """One row per fold of ``P``: size, atoms per molecule and energy statistics (kcal/mol)."""
    qm7 = _check_qm7(qm7)
    frame = qm7.to_frame()
    table = frame.groupby("fold").agg(
        molecules=("energy", "size"),
        mean_atoms=("n_atoms", "mean"),
        mean_energy=("energy", "mean"),
        std_energy=("energy", "std"),
        min_energy=("energy", "min"),
        max_energy=("energy", "max"),
    )
    return table


def fold_stratification(T, P) -> float:
    """Fraction of energy-sorted blocks of ``n_folds`` molecules that hold one molecule per fold.

    Sort the molecules by energy and cut the list into consecutive blocks of ``n_folds``
    (5). If the folds were drawn by *stratified* sampling on the energy, every block has one
    molecule of each fold and the result is 1.0; folds drawn at random give about
    ``n_folds! / n_folds**n_folds`` (0.038 for 5 folds).

    Parameters
    ----------
    T : array of shape (n,)
        Energies.
    P : array of shape (n_folds, n // n_folds)
        Folds (molecule indices).
    """
    T = np.asarray(T, dtype=np.float64).ravel()
    P = np.asarray(P)
    if P.ndim != 2 or P.size != T.size:
        raise ValueError(
            f"P must have shape (n_folds, n / n_folds) and cover the {T.size} energies, "
            f"got {P.shape}"
        )
    fold = np.empty(T.size, dtype=np.int64)
    for k, members in enumerate(P):
        fold[members] = k
    n_folds = P.shape[0]
    ordered = fold[np.argsort(T, kind="stable")]
    blocks = ordered[: T.size // n_folds * n_folds].reshape(-1, n_folds)
    complete = (np.sort(blocks, axis=1) == np.arange(n_folds)).all(axis=1)
    return float(complete.mean())
