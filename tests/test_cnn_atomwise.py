"""qm7utils.representations.atomwise: per-atom environments and random atom orders."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import batch, benzene, methane, methanol, water
from qm7utils.representations.atomwise import RandomSorter, atom_environments, atomwise_inputs
from qm7utils.representations.coulomb import (
    coulomb_matrix,
    randomly_sorted_coulomb_matrix,
    sorted_coulomb_matrix,
    upper_triangle,
)


@pytest.fixture(scope="module")
def molecules():
    """Four small molecules padded to 23 atoms."""
    Z, R = batch(water(), methane(), benzene(), methanol())
    return Z, R, coulomb_matrix(Z, R)


def test_atom_environments_follow_the_atoms_not_their_numbering(molecules):
    Z, R, C = molecules
    features, mask = atom_environments(C, Z)
    assert features.shape == (4, 23, 23) and mask.shape == (4, 23)
    np.testing.assert_array_equal(mask.sum(axis=1), [3, 5, 12, 6])
    # diagonal first: 0.5 Z^2.4 of oxygen for water's first atom
    assert features[0, 0, 0] == pytest.approx(0.5 * 8**2.4)
    # then water's oxygen feels its two hydrogens, equally, and nothing else
    np.testing.assert_allclose(features[0, 0, 1], C[0, 0, 1])
    np.testing.assert_allclose(features[0, 0, 2], C[0, 0, 2])
    assert not features[0, 0, 3:].any()
    # the rest of each row is sorted in descending order, padding rows are zero
    assert np.all(np.diff(features[:, :, 1:], axis=2) <= 0)
    assert not features[mask == 0].any()
    # renumbering a molecule's atoms permutes its rows and nothing else
    Zp, Rp = batch(water(), methane(), benzene(), methanol())
    p = np.random.default_rng(1).permutation(12)
    Zp[2, :12], Rp[2, :12] = Zp[2, p], Rp[2, p]
    moved, _ = atom_environments(coulomb_matrix(Zp, Rp), Zp)
    np.testing.assert_allclose(moved[2, :12], features[2, p], atol=1e-12)
    with pytest.raises(ValueError, match="same b and n"):
        atom_environments(C, Z[:, :5])


def test_atomwise_inputs_scale_the_real_atoms_only(molecules):
    Z, R, C = molecules

    class Halve:
        def transform(self, x, mask):
            return x / 2 * mask[..., None]

    features, mask = atom_environments(C, Z)
    x, m = atomwise_inputs(C, Z, Halve())
    assert x.dtype == np.float32 and m.dtype == np.float32
    np.testing.assert_allclose(x, features / 2, rtol=1e-6)
    np.testing.assert_array_equal(m, mask)


def test_random_sorter_matches_the_reference_implementation(molecules):
    Z, R, C = molecules
    sorter = RandomSorter(C)
    assert len(sorter) == 4
    fast = sorter.draw(np.random.default_rng(7), noise=2.0)
    reference = randomly_sorted_coulomb_matrix(Z, R, np.random.default_rng(7), noise=2.0)
    np.testing.assert_allclose(fast, reference)
    np.testing.assert_allclose(sorter.draw(np.random.default_rng(0), noise=0.0),
                               sorted_coulomb_matrix(Z, R))
    tri = sorter.draw_triangles(np.random.default_rng(7), 2.0, index=[1, 2])
    subset = randomly_sorted_coulomb_matrix(Z[[1, 2]], R[[1, 2]], np.random.default_rng(7), 2.0)
    np.testing.assert_allclose(tri, upper_triangle(subset))


def test_random_orders_are_valid_permutations_that_vary(molecules):
    Z, R, C = molecules
    sorter = RandomSorter(C)
    rng = np.random.default_rng(0)
    draws = [sorter.draw(rng, noise=5.0) for _ in range(20)]
    for drawn in draws:  # same molecules: same spectra, real atoms first, padding last
        np.testing.assert_allclose(np.linalg.eigvalsh(drawn), np.linalg.eigvalsh(C), atol=1e-9)
        diagonal = np.diagonal(drawn, axis1=1, axis2=2)
        for k, n in enumerate((Z > 0).sum(axis=1)):
            assert np.all(diagonal[k, :n] > 0) and not diagonal[k, n:].any()
    # benzene's equivalent hydrogens and carbons are drawn in different orders
    assert len({drawn[2].tobytes() for drawn in draws}) > 1
    with pytest.raises(ValueError, match="noise"):
        sorter.draw(rng, noise=-1.0)
    with pytest.raises(ValueError, match="Generator"):
        sorter.draw(0)
    with pytest.raises(ValueError, match="norm"):
        RandomSorter(C, norm="max")
