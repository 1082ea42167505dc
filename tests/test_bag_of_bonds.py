"""qm7utils.representations.bag_of_bonds: values, invariances, layout, all of QM7."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import batch, benzene, methane, methanol, random_rotation, water
from qm7utils.chem import ELEMENTS
from qm7utils.representations.bag_of_bonds import bag_labels, bag_of_bonds, bag_sizes
from qm7utils.representations.coulomb import coulomb_matrix, upper_triangle


def test_water_by_hand():
    Z, R = water()
    sizes = bag_sizes(Z)
    assert sizes == {(1,): 2, (8,): 1, (1, 1): 1, (1, 8): 2}
    assert bag_labels(sizes) == ["H", "O", "H-H", "O-H"]
    d_oh = np.linalg.norm(R[1] - R[0])
    d_hh = np.linalg.norm(R[2] - R[1])
    expected = [0.5, 0.5, 0.5 * 8**2.4, 1 / d_hh, 8 / d_oh, 8 / d_oh]
    np.testing.assert_allclose(bag_of_bonds(Z, R), expected, rtol=1e-12)


def test_invariant_to_atom_order_rotation_and_translation():
    rng = np.random.default_rng(3)
    for Z, R in (methanol(), benzene(), methane()):
        sizes = bag_sizes(Z)
        reference = bag_of_bonds(Z, R)
        for _ in range(5):
            order = rng.permutation(len(Z))
            moved = R[order] @ random_rotation(rng).T + rng.normal(size=3)
            np.testing.assert_allclose(bag_of_bonds(Z[order], moved, sizes), reference,
                                       rtol=1e-10, atol=1e-12)


def test_bags_are_sorted_and_conserve_the_coulomb_matrix():
    Z, R = batch(water(), methanol(), benzene())
    sizes = bag_sizes(Z)
    B = bag_of_bonds(Z, R, sizes)
    assert B.shape == (3, sum(sizes.values()))
    # Every entry of the upper triangle (diagonal included) lands in exactly one bag.
    np.testing.assert_allclose(B.sum(axis=1), upper_triangle(coulomb_matrix(Z, R)).sum(axis=1))
    start = 0
    for size in sizes.values():
        bag = B[:, start : start + size]
        assert np.all(np.diff(bag, axis=1) <= 0)
        start += size
    # The batch and the single molecules agree once they share the layout.
    np.testing.assert_allclose(bag_of_bonds(*methanol(), sizes), B[1])


def test_layout_errors_are_explained():
    Z, R = benzene()
    too_small = {**bag_sizes(Z), (1, 6): 3}
    with pytest.raises(ValueError, match="bag_sizes"):
        bag_of_bonds(Z, R, too_small)
    missing = {k: v for k, v in bag_sizes(Z).items() if k != (6, 6)}
    with pytest.raises(ValueError, match="fall in no bag"):
        bag_of_bonds(Z, R, missing)
    with pytest.raises(ValueError, match="unknown element"):
        bag_sizes(np.array([1, 9]))


@pytest.mark.data
def test_bag_sizes_fit_all_of_qm7(qm7):
    sizes = bag_sizes(qm7.Z)
    assert len(sizes) == 19 and sum(sizes.values()) == 386
    assert sizes[(1,)] == (qm7.Z == 1).sum(axis=1).max() == 16
    assert (16, 16) not in sizes  # no molecule of QM7 has two sulfur atoms
    B = bag_of_bonds(qm7.Z, qm7.R, sizes)
    assert B.shape == (7165, 386) and np.all(np.isfinite(B)) and np.all(B >= 0)
    # The file stores X in single precision.
    np.testing.assert_allclose(B.sum(axis=1), upper_triangle(qm7.X).sum(axis=1), rtol=1e-6)
    # A subset featurized with the full layout lines up with the full matrix.
    np.testing.assert_allclose(bag_of_bonds(qm7.Z[:50], qm7.R[:50], sizes), B[:50])


def _qmllib_bob(Z, R, sizes):
    """qmllib's Bag of Bonds of every molecule of a padded batch, with bags large enough."""
    generate_bob = pytest.importorskip("qmllib.representations").generate_bob
    asize = {ELEMENTS[bag[0]]: size for bag, size in sizes.items() if len(bag) == 1}
    rows = []
    for z, r in zip(Z, R, strict=True):
        real = z > 0
        rows.append(generate_bob(z[real], r[real], z[real], size=len(z), asize=asize))
    return np.array(rows)


def test_matches_an_independent_implementation_qmllib():
    # qmllib lays the bags out in another order and pads them to other sizes, so the vectors
    # differ; the same values in the same sorted, zero-padded bags give the same L1 distances.
    Z, R = batch(water(), methanol(), benzene(), methane())
    sizes = bag_sizes(Z)
    ours, reference = bag_of_bonds(Z, R, sizes), _qmllib_bob(Z, R, sizes)
    l1 = np.abs(ours[:, None, :] - ours[None, :, :]).sum(axis=-1)
    l1_reference = np.abs(reference[:, None, :] - reference[None, :, :]).sum(axis=-1)
    np.testing.assert_allclose(l1, l1_reference, rtol=1e-12)
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_allclose(np.sort(a[a > 0]), np.sort(b[b > 0]), rtol=1e-12)


@pytest.mark.data
def test_matches_qmllib_on_qm7(qm7):
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(qm7.T), size=200, replace=False))
    sizes = bag_sizes(qm7.Z)
    ours = bag_of_bonds(qm7.Z[rows], qm7.R[rows], sizes)
    reference = _qmllib_bob(qm7.Z[rows], qm7.R[rows], sizes)
    i, j = np.triu_indices(len(rows), k=1)
    np.testing.assert_allclose(np.abs(ours[i] - ours[j]).sum(axis=1),
                               np.abs(reference[i] - reference[j]).sum(axis=1), rtol=1e-10)
