"""Small molecules built by hand for the unit tests (coordinates in Angstrom -> Bohr)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from qm7utils.chem import BOHR_TO_ANGSTROM
from qm7utils.representations.fchl19 import AtomicEnvironments


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random proper rotation matrix (3 x 3), drawn from ``rng``."""
    return Rotation.random(random_state=rng).as_matrix()


def _bohr(angstrom) -> np.ndarray:
    return np.asarray(angstrom, dtype=np.float64) / BOHR_TO_ANGSTROM


def water():
    """H2O: O-H 0.957 A, H-O-H about 104.5 degrees."""
    Z = np.array([8, 1, 1])
    R = _bohr([[0.0, 0.0, 0.0], [0.7572, 0.5858, 0.0], [-0.7572, 0.5858, 0.0]])
    return Z, R


def methane():
    """CH4: tetrahedral, C-H 1.089 A."""
    a = 1.089 / np.sqrt(3.0)
    Z = np.array([6, 1, 1, 1, 1])
    R = _bohr([[0, 0, 0], [a, a, a], [-a, -a, a], [-a, a, -a], [a, -a, -a]])
    return Z, R


def benzene():
    """C6H6: regular hexagon, C-C 1.39 A, C-H 1.09 A; carbons first, then hydrogens."""
    angles = np.arange(6) * np.pi / 3
    ring = np.stack([np.cos(angles), np.sin(angles), np.zeros(6)], axis=1)
    Z = np.array([6] * 6 + [1] * 6)
    R = _bohr(np.concatenate([1.39 * ring, (1.39 + 1.09) * ring]))
    return Z, R


def methanol():
    """CH3OH, a molecule without symmetric ties between its heavy atoms."""
    Z = np.array([6, 8, 1, 1, 1, 1])
    R = _bohr(
        [
            [-0.0467, 0.6630, 0.0],
            [-0.0467, -0.7570, 0.0],
            [-1.0870, 0.9788, 0.0],
            [0.4352, 1.0791, 0.8920],
            [0.4352, 1.0791, -0.8920],
            [0.8611, -1.0881, 0.0],
        ]
    )
    return Z, R


def pad(Z, R, n: int = 23):
    """Pad one molecule to ``n`` atoms (Z = 0, R = 0 for the padding)."""
    Zp = np.zeros(n, dtype=np.int64)
    Rp = np.zeros((n, 3))
    Zp[: len(Z)] = Z
    Rp[: len(Z)] = R
    return Zp, Rp


def batch(*molecules, n: int = 23):
    """Stack padded molecules into (b, n) and (b, n, 3) arrays."""
    padded = [pad(Z, R, n) for Z, R in molecules]
    return np.stack([p[0] for p in padded]), np.stack([p[1] for p in padded])


def toy_environments(rng: np.random.Generator, n_molecules: int, dim: int = 4):
    """Random atomic environments of ``n_molecules`` molecules of 1-4 atoms (H, C, O)."""
    sizes = rng.integers(1, 5, size=n_molecules)
    molecule = np.repeat(np.arange(n_molecules), sizes)
    element = rng.choice([1, 6, 8], size=len(molecule))
    features = rng.normal(size=(len(molecule), dim)).astype(np.float32)
    return AtomicEnvironments(features, element, molecule, n_molecules)
