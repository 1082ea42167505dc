"""Which representations survive a rotation, a translation and a renumbering of the atoms.

The energy of a molecule does not change when it is rotated, moved or its atoms renumbered;
a good representation does not change either. :func:`invariance_table` checks this for any
set of functions ``f(Z, R) -> array`` (chapter 2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy.spatial.transform import Rotation

from ..graphs import centrality_features
from .coulomb import (
    coulomb_matrix,
    distance_matrix,
    eigenvalues,
    sorted_coulomb_matrix,
    upper_triangle,
)

__all__ = ["invariance_table"]


def _default_features() -> dict[str, Callable]:
    return {
        "coordinates R": lambda Z, R: np.asarray(R, dtype=np.float64),
        "Coulomb matrix, atom order": coulomb_matrix,
        "Coulomb matrix, sorted by row sum (l1)": lambda Z, R: sorted_coulomb_matrix(Z, R, "l1"),
        "Coulomb matrix, sorted by row norm (l2)": lambda Z, R: sorted_coulomb_matrix(Z, R, "l2"),
        "upper triangle, sorted values": lambda Z, R: upper_triangle(
            coulomb_matrix(Z, R), sort=True
        ),
        "Coulomb eigenvalues": lambda Z, R: eigenvalues(coulomb_matrix(Z, R)),
        "distance matrix, atom order": distance_matrix,
        "distance eigenvalues": lambda Z, R: eigenvalues(distance_matrix(Z, R)),
        "sorted centralities (distance graph)": lambda Z, R: centrality_features(Z, R),
    }


def invariance_table(
    Z, R, rng: np.random.Generator, features: Mapping[str, Callable] | None = None
):
    """How much each feature set changes under a rotation, a translation and a renumbering.

    The molecule is rotated by a uniformly random rotation
    (:meth:`scipy.spatial.transform.Rotation.random`), translated by a random vector of
    length 5 Bohr, and its real atoms are renumbered by a random permutation (padding stays
    last). Each feature function is evaluated on the original and the transformed molecule.

    Parameters
    ----------
    Z : array of shape (n,)
        Nuclear charges of one molecule (0 for padding).
    R : array of shape (n, 3)
        Coordinates in Bohr.
    rng : numpy.random.Generator
    features : mapping of name to ``f(Z, R) -> array``, optional
        Defaults to the book's feature sets (raw, sorted and unrolled Coulomb matrices,
        spectra, distances, centralities).

    Returns
    -------
    pandas.DataFrame indexed by feature name, columns ``rotation``, ``translation``,
    ``atom order``: the largest absolute change of any entry (``inf`` when the shape changes).
    0 up to float rounding (about 1e-12) means invariant.
    """
    import pandas as pd

    Z = np.asarray(Z)
    R = np.asarray(R, dtype=np.float64)
    if Z.ndim != 1 or R.shape != Z.shape + (3,):
        raise ValueError(
            f"invariance_table takes one molecule: Z of shape (n,), R of shape (n, 3); got "
            f"{Z.shape} and {R.shape}"
        )
    features = dict(features) if features is not None else _default_features()
    real = Z > 0
    n_real = int(real.sum())
    if n_real < 2:
        raise ValueError("the molecule needs at least two atoms")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator, e.g. np.random.default_rng(0)")
    rotation = Rotation.random(random_state=rng).as_matrix()
    shift = rng.normal(size=3)
    shift *= 5.0 / np.linalg.norm(shift)
    permutation = np.arange(Z.size)
    while np.array_equal(permutation[:n_real], np.arange(n_real)):
        permutation[:n_real] = rng.permutation(n_real)
    moves = {
        "rotation": (Z, np.where(real[:, None], R @ rotation.T, 0.0)),
        "translation": (Z, np.where(real[:, None], R + shift, 0.0)),
        "atom order": (Z[permutation], R[permutation]),
    }
    table = {}
    for name, function in features.items():
        before = np.asarray(function(Z, R), dtype=np.float64)
        row = {}
        for move, (Zm, Rm) in moves.items():
            after = np.asarray(function(Zm, Rm), dtype=np.float64)
            row[move] = (
                float(np.abs(after - before).max()) if after.shape == before.shape else np.inf
            )
        table[name] = row
    return pd.DataFrame.from_dict(table, orient="index")[list(moves)]
