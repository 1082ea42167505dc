r"""Inputs of chapter 7's networks that do not depend on how the atoms are numbered.

* :func:`atom_environments`: one row per atom, the atom's Coulomb-matrix row with its
  diagonal first and its interactions sorted, the input of the atom-wise network;
* :func:`atomwise_inputs`: those rows, scaled, with the mask of real atoms, as the network
  takes them;
* :class:`RandomSorter`: random atom orders of a fixed set of Coulomb matrices (the data
  augmentation of Montavon et al. 2012), drawn with the one row-norm sort
  :func:`qm7utils.representations.coulomb.sort_by_row_norm`.
"""

from __future__ import annotations

import numpy as np

from .coulomb import sort_by_row_norm, upper_triangle

__all__ = ["RandomSorter", "atom_environments", "atomwise_inputs"]


def atom_environments(C, Z) -> tuple[np.ndarray, np.ndarray]:
    """Per-atom rows of Coulomb matrices, made independent of the order of the other atoms.

    Row ``I`` becomes ``[C_II, then the off-diagonal entries C_IJ sorted in descending
    order]``: the diagonal says which element the atom is, the sorted rest how strongly it
    interacts with its neighbours, whatever their numbering. Padding rows are zero.

    Parameters
    ----------
    C : array of shape (b, n, n)
        Coulomb matrices (any atom order).
    Z : array of shape (b, n)
        Nuclear charges in the same atom order (0 = padding).

    Returns
    -------
    features : ndarray (b, n, n), float64
    mask : ndarray (b, n), float32, 1 for real atoms
    """
    C = np.asarray(C, dtype=np.float64)
    Z = np.asarray(Z)
    if C.ndim != 3 or C.shape[1] != C.shape[2] or Z.shape != C.shape[:2]:
        raise ValueError(
            f"C must have shape (b, n, n) and Z shape (b, n) with the same b and n; got "
            f"{C.shape} and {Z.shape}"
        )
    n = C.shape[1]
    diagonal = C[:, np.arange(n), np.arange(n)]                  # C_II: which element
    off_diagonal = C * (1.0 - np.eye(n))
    neighbours = -np.sort(-off_diagonal, axis=2)[:, :, : n - 1]  # C_IJ, largest first
    real = Z > 0
    features = np.concatenate([diagonal[..., None], neighbours], axis=2) * real[..., None]
    return features, real.astype(np.float32)


def atomwise_inputs(C, Z, scaler=None) -> list[np.ndarray]:
    """Inputs of the atom-wise network: ``[features, mask]``, features scaled by ``scaler``.

    Parameters
    ----------
    C, Z
        As in :func:`atom_environments`.
    scaler : object with ``transform(x, mask)``, optional
        A fitted :class:`qm7utils.models.training.InputScaler`.
    """
    features, mask = atom_environments(C, Z)
    if scaler is not None:
        features = scaler.transform(features, mask)
    return [np.asarray(features, dtype=np.float32), mask]


class RandomSorter:
    r"""Random atom orders of a fixed set of Coulomb matrices (Montavon et al. 2012).

    Each :meth:`draw` adds :math:`\mathcal N(0, \sigma^2)` noise to the row norms of the real
    atoms and sorts rows and columns by the noisy norms
    (:func:`~qm7utils.representations.coulomb.sort_by_row_norm`); with ``noise=0`` it is the
    plain sort. With the same generator state it returns exactly what
    ``randomly_sorted_coulomb_matrix`` returns for the same molecules.

    Parameters
    ----------
    C : array of shape (b, n, n)
        Coulomb matrices; padding atoms have zero rows.
    norm : {"l2", "l1"}
        Row norm used for sorting.
    """

    def __init__(self, C, norm: str = "l2"):
        C = np.asarray(C, dtype=np.float64)
        if C.ndim != 3 or C.shape[1] != C.shape[2]:
            raise ValueError(f"C must have shape (b, n, n), got {C.shape}")
        if norm not in ("l2", "l1"):
            raise ValueError(f"norm must be 'l2' or 'l1', got {norm!r}")
        self.C = C
        self.norm = norm

    def __len__(self) -> int:
        return len(self.C)

    def draw(self, rng: np.random.Generator, noise: float = 1.0, index=None) -> np.ndarray:
        """Randomly sorted matrices (b, n, n) of all molecules, or of ``index``."""
        if not isinstance(rng, np.random.Generator):
            raise ValueError("rng must be a numpy.random.Generator, e.g. np.random.default_rng(0)")
        C = self.C if index is None else self.C[index]
        return sort_by_row_norm(C, self.norm, noise=noise, rng=rng)

    def draw_triangles(self, rng: np.random.Generator, noise: float = 1.0, index=None):
        """Upper triangles (diagonal included) of :meth:`draw`: shape (b, n(n+1)/2)."""
        return upper_triangle(self.draw(rng, noise, index))
