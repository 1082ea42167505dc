"""FCHL19 atomic environments (chapter 9): one vector per atom, and their compression.

FCHL19 (Christensen et al. 2020) describes each atom by Gaussian-smeared distributions of the
distances (two-body) and of the distances and angles (three-body) to its neighbours, element by
element, within 8 Angstrom: 720 numbers per atom with the five elements of QM7. The vectors are
computed by ``qmllib``; :class:`AtomicEnvironments` holds them for a whole data set, with each
atom's element and molecule, and :func:`compress_environments` projects each element's vectors
on their leading principal axes. The local kernel over them is
:func:`qm7utils.models.kernels.local_gaussian_kernels`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_scalar

from ..chem import BOHR_TO_ANGSTROM, ELEMENTS

__all__ = ["AtomicEnvironments", "compress_environments", "fchl19_environments"]


@dataclass(frozen=True)
class AtomicEnvironments:
    """One feature vector per atom, with its element and its molecule.

    Attributes
    ----------
    features : ndarray of shape (n_atoms, d)
        float32 from :func:`fchl19_environments` (float64 works too, and keeps
        :func:`~qm7utils.models.kernels.local_gaussian_kernels` in double precision).
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

    def subset(self, molecules) -> AtomicEnvironments:
        """The environments of the molecules ``molecules`` (sorted indices), renumbered 0, 1, ..."""
        molecules = np.asarray(molecules)
        if molecules.ndim != 1 or np.any(np.diff(molecules) <= 0):
            raise ValueError("molecules must be a sorted 1-D array of distinct indices")
        keep = np.isin(self.molecule, molecules)
        return AtomicEnvironments(self.features[keep], self.element[keep],
                                  np.searchsorted(molecules, self.molecule[keep]), len(molecules))


def fchl19_environments(Z, R, elements: Sequence[int] = tuple(ELEMENTS),
                        **options) -> AtomicEnvironments:
    """FCHL19 atomic environments of every atom, computed with ``qmllib``.

    Parameters
    ----------
    Z : array of shape (b, n)
        Nuclear charges, 0 for padding (after the real atoms).
    R : array of shape (b, n, 3)
        Coordinates in **Bohr** (converted to Angstrom, the unit of FCHL19's parameters).
    elements : sequence of int
        Elements the representation has channels for.
    **options
        Passed on to :func:`qmllib.representations.generate_fchl19` (its defaults are the
        published ones).

    Returns
    -------
    AtomicEnvironments
        float32 vectors, 720 per atom with the five elements of QM7.
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
        for i, k in enumerate(n_atoms)
    ]
    return AtomicEnvironments(
        features=np.concatenate(blocks),
        element=Z[Z > 0].astype(np.int64),
        molecule=np.repeat(np.arange(Z.shape[0]), n_atoms),
        n_molecules=Z.shape[0],
    )


def compress_environments(env: AtomicEnvironments, n_components: int) -> AtomicEnvironments:
    """Project each element's environments on their leading principal axes.

    A local kernel only compares atoms of the same element, and the environments of one element
    fill a small part of the 720 dimensions: about a hundred principal components keep their
    distances nearly exactly, and make the matrix products of the local kernel several times
    cheaper. Each element is centred on its own mean, which changes no distance between two
    atoms of that element. Uses no energies. If ``n_components`` exceeds the dimension, the
    extra columns are zero.

    Parameters
    ----------
    env : AtomicEnvironments
    n_components : int
        Principal components kept per element.

    Returns
    -------
    AtomicEnvironments
        The same atoms with ``n_components`` features each (float32). Check what the
        compression changes by comparing the local kernels of both on a sample.
    """
    check_scalar(n_components, "n_components", numbers.Integral, min_val=1)
    X = env.features
    out = np.zeros((X.shape[0], n_components), dtype=np.float32)
    for z in np.unique(env.element):
        rows = np.flatnonzero(env.element == z)
        centred = X[rows] - X[rows].mean(axis=0, dtype=np.float64).astype(X.dtype)
        # The d x d covariance from one product of the centred vectors; its eigenvectors are
        # the principal axes.
        covariance = (centred.T @ centred).astype(np.float64) / len(rows)
        _, vectors = np.linalg.eigh(covariance)
        top = vectors[:, ::-1][:, :n_components].astype(np.float32)
        out[rows, : top.shape[1]] = centred @ top
    return AtomicEnvironments(out, env.element, env.molecule, env.n_molecules)
