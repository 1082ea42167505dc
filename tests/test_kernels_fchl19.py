"""qm7utils.representations.fchl19: atomic environments, their compression, their subsets."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import batch, methane, methanol, random_rotation, toy_environments, water
from qm7utils.models import kernels as KR
from qm7utils.representations.fchl19 import (
    AtomicEnvironments,
    compress_environments,
    fchl19_environments,
)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_compression_keeps_distances_of_low_dimensional_environments(rng):
    env = toy_environments(rng, 30, dim=3)
    # Embed the 3-D environments in 40 dimensions by a random orthonormal map.
    q, _ = np.linalg.qr(rng.normal(size=(40, 3)))
    wide = AtomicEnvironments((env.features @ q.T).astype(np.float32), env.element,
                              env.molecule, env.n_molecules)
    small = compress_environments(wide, 3)
    assert small.features.shape == (len(env.element), 3)
    K_wide = KR.local_gaussian_kernels(wide, [1.0])[1.0]
    K_small = KR.local_gaussian_kernels(small, [1.0])[1.0]
    np.testing.assert_allclose(K_small, K_wide, rtol=1e-4, atol=1e-5)
    assert compress_environments(env, 5).features[:, 3:].max() == 0  # beyond the dimension
    with pytest.raises(ValueError, match="n_components"):
        compress_environments(env, 0)


def test_subset_keeps_the_atoms_of_the_chosen_molecules(rng):
    env = toy_environments(rng, 12)
    chosen = np.array([1, 4, 5, 10])
    part = env.subset(chosen)
    assert part.n_molecules == 4
    np.testing.assert_array_equal(part.features, env.features[np.isin(env.molecule, chosen)])
    K = KR.local_gaussian_kernels(env, [1.5])[1.5]
    np.testing.assert_allclose(KR.local_gaussian_kernels(part, [1.5])[1.5],
                               K[np.ix_(chosen, chosen)], rtol=1e-6)
    with pytest.raises(ValueError, match="sorted"):
        env.subset([4, 1])


def test_environments_are_checked():
    with pytest.raises(ValueError, match="non-decreasing"):
        AtomicEnvironments(np.zeros((2, 3)), np.array([1, 1]), np.array([1, 0]), 2)
    with pytest.raises(ValueError, match="same atoms"):
        AtomicEnvironments(np.zeros((2, 3)), np.array([1]), np.array([0, 1]), 2)


def test_fchl19_local_kernel_is_invariant_to_rotation_and_atom_order(rng):
    pytest.importorskip("qmllib")
    Z, R = batch(water(), methanol(), methane(), n=8)
    env = fchl19_environments(Z, R)
    assert env.features.shape == (3 + 6 + 5, 720)
    np.testing.assert_array_equal(env.molecule, np.repeat([0, 1, 2], [3, 6, 5]))
    # Methanol again, rotated and with its atoms in another order.
    z, r = methanol()
    order = rng.permutation(len(z))
    Z2, R2 = batch((z[order], r[order] @ random_rotation(rng).T), n=8)
    moved = fchl19_environments(Z2, R2)
    K = KR.local_gaussian_kernels(env, [2.0], other=moved)[2.0]
    K_self = KR.local_gaussian_kernels(env, [2.0])[2.0]
    np.testing.assert_allclose(K[:, 0], K_self[:, 1], rtol=1e-4)
    with pytest.raises(ValueError, match="padding last"):
        fchl19_environments(np.array([[0, 1]]), np.zeros((1, 2, 3)))
