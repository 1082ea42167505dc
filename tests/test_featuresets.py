"""qm7utils.featuresets: the deck's features and the count features, on small molecules."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import batch, benzene, methane, methanol, pad, random_rotation, water
from qm7utils.features import (
    BOHR_TO_ANGSTROM,
    coulomb_matrix,
    distance_matrix,
    eigenvalues,
    upper_triangle,
)
from qm7utils.featuresets import (
    FEATURE_SETS,
    atom_counts,
    bond_counts,
    bond_length_counts,
    count_features,
    deck_features,
    degree_counts,
    feature_set,
    ring_count,
)
from qm7utils.params import FEATURE_SET_NAMES


def _linear(symbols_z, bond: float, ch: float = 1.06):
    """A linear X-Y molecule with one H on each end (e.g. acetylene), lengths in Angstrom."""
    a, b = symbols_z
    x = np.array([-bond / 2 - ch, -bond / 2, bond / 2, bond / 2 + ch])
    R = np.zeros((4, 3))
    R[:, 0] = x / BOHR_TO_ANGSTROM
    return np.array([1, a, b, 1]), R


def _ethane_like(cc: float):
    """Two carbons at distance ``cc`` (Angstrom), each with three hydrogens (C-H 1.09 A)."""
    Z = [6, 6] + [1] * 6
    R = [[-cc / 2, 0, 0], [cc / 2, 0, 0]]
    for sign in (-1, 1):
        for angle in (0, 2 * np.pi / 3, 4 * np.pi / 3):
            R.append([sign * (cc / 2 + 0.36), np.cos(angle) * 1.03, np.sin(angle) * 1.03])
    return np.array(Z), np.array(R) / BOHR_TO_ANGSTROM


def _names():
    return count_features(*batch(water()))[1]


def _column(name):
    return _names().index(name)


def test_names_of_feature_sets_agree_with_the_notebook_parameters():
    assert tuple(FEATURE_SETS) == FEATURE_SET_NAMES


def test_atom_counts_single_and_batched():
    np.testing.assert_array_equal(atom_counts(benzene()[0]), [6, 6, 0, 0, 0])
    Z, _ = batch(water(), methanol())
    np.testing.assert_array_equal(atom_counts(Z), [[2, 0, 0, 1, 0], [4, 1, 0, 1, 0]])


def test_bond_counts_of_known_molecules():
    names = _names()
    pairs = [n for n in names if n.startswith("bonds_") and n.count("_") == 1]
    assert len(pairs) == 15
    counts = dict(zip(pairs, bond_counts(*methanol()), strict=True))
    assert counts["bonds_H-C"] == 3 and counts["bonds_H-O"] == 1 and counts["bonds_C-O"] == 1
    assert sum(counts.values()) == 5
    counts = dict(zip(pairs, bond_counts(*benzene()), strict=True))
    assert counts["bonds_C-C"] == 6 and counts["bonds_H-C"] == 6 and sum(counts.values()) == 12


@pytest.mark.parametrize(
    ("molecule", "expected"),
    [
        (_linear((6, 6), 1.20), "bonds_C-C_short"),  # acetylene, triple bond
        (benzene(), "bonds_C-C_medium"),  # aromatic
        (_ethane_like(1.53), "bonds_C-C_long"),  # single bond
    ],
)
def test_bond_length_classes_follow_the_bond_order(molecule, expected):
    X, names = count_features(*molecule)
    cc = {n: X[names.index(n)] for n in names if n.startswith("bonds_C-C_")}
    assert cc[expected] == X[names.index("bonds_C-C")] > 0
    assert sum(cc.values()) == cc[expected]
    assert bond_length_counts(*molecule).shape == (30,)


def test_bond_length_classes_are_length_bins_not_bond_orders_beyond_carbon():
    """The edges separate C-C bond orders; for C-O the same bins shift by one bond order."""
    X, names = count_features(*methanol())  # single C-O bond, 1.42 A
    assert X[names.index("bonds_C-O_medium")] == 1 and X[names.index("bonds_C-O_long")] == 0
    X, names = count_features(*_linear((6, 8), 1.21))  # a C=O double bond's length
    assert X[names.index("bonds_C-O_short")] == 1 and X[names.index("bonds_C-O_medium")] == 0


def test_bond_length_edges_are_checked():
    with pytest.raises(ValueError, match="two increasing bond lengths"):
        bond_length_counts(*benzene(), edges=(1.45, 1.25))
    with pytest.raises(ValueError, match="two increasing bond lengths"):
        count_features(*benzene(), edges=(1.3,))


def test_degree_counts_reflect_hybridisation():
    names = [n for n in _names() if n.startswith("deg_")]
    assert len(names) == 20
    counts = dict(zip(names, degree_counts(*methane()), strict=True))
    assert counts["deg_C4"] == 1 and sum(counts.values()) == 1
    counts = dict(zip(names, degree_counts(*benzene()), strict=True))
    assert counts["deg_C3"] == 6 and sum(counts.values()) == 6
    counts = dict(zip(names, degree_counts(*methanol()), strict=True))
    assert counts["deg_C4"] == 1 and counts["deg_O2"] == 1


def test_count_features_are_consistent_and_ignore_padding():
    X, names = count_features(*batch(water(), methane(), benzene(), methanol()))
    assert X.shape == (4, 70) and len(names) == 70 and len(set(names)) == 70
    # Every bond has a length class: the length columns add up to the heavy-atom bonds.
    heavy_pairs = [n for n in names if n.startswith("bonds_") and n.count("_") == 1
                   and "H" not in n]
    for pair in heavy_pairs:
        lengths = [names.index(f"{pair}_{c}") for c in ("short", "medium", "long")]
        np.testing.assert_array_equal(X[:, lengths].sum(axis=1), X[:, names.index(pair)])
    single, _ = count_features(*pad(*benzene(), n=12))
    np.testing.assert_array_equal(single, X[2])


def test_ring_count():
    Z, R = batch(water(), methane(), benzene(), methanol())
    np.testing.assert_array_equal(ring_count(Z, R), [0, 0, 1, 0])
    # Two waters far apart: two components, still no ring.
    Zw, Rw = water()
    Z2 = np.concatenate([Zw, Zw])
    R2 = np.concatenate([Rw, Rw + 20.0])
    assert ring_count(Z2, R2) == 0


def test_deck_features_match_their_definition():
    Z, R = batch(water(), benzene(), methanol())
    X, names = deck_features(Z, R)
    assert X.shape == (3, 23 * 24 // 2 + 23 + 23) == (3, 322) and len(names) == 322
    np.testing.assert_allclose(X[:, :276], upper_triangle(coulomb_matrix(Z, R), sort=True))
    np.testing.assert_allclose(X[:, 276:299], eigenvalues(distance_matrix(Z, R)))
    centralities = X[:, 299:]
    assert np.all(np.diff(centralities, axis=1) <= 1e-12)  # sorted, descending
    np.testing.assert_allclose(np.linalg.norm(centralities, axis=1), 1.0)


@pytest.mark.parametrize("name", list(FEATURE_SETS))
def test_feature_sets_are_invariant_to_rotation_translation_and_atom_order(name):
    rng = np.random.default_rng(0)
    Z, R = methanol()
    order = rng.permutation(len(Z))
    moved = R[order] @ random_rotation(rng).T + np.array([1.0, -2.0, 0.5])
    first = feature_set(name, *batch((Z, R)))
    second = feature_set(name, *batch((Z[order], moved)))
    np.testing.assert_allclose(first.X, second.X, atol=1e-8)


def test_feature_set_blocks_select_and_join():
    Z, R = batch(water(), methane(), benzene())
    compact = feature_set("compact", Z, R)
    assert compact.X.shape == (3, 23 + 70 + 23)
    assert list(compact.blocks) == ["cm_eigenvalues", "counts", "bond_centralities"]
    assert len(compact.names) == compact.X.shape[1]
    counts = compact.select("counts")
    np.testing.assert_array_equal(counts.X, feature_set("counts", Z, R).X)
    assert counts.names == tuple(count_features(Z, R)[1])
    deck = feature_set("deck", Z, R)
    joined = deck.join(counts)
    np.testing.assert_array_equal(joined.X, feature_set("deck+counts", Z, R).X)
    np.testing.assert_array_equal(joined.columns("counts"), np.arange(322, 392))
    assert "atom, bond" in joined.description and "sorted CM" in joined.description
    with pytest.raises(ValueError, match="has no block 'deck'"):
        compact.columns("deck")
    with pytest.raises(ValueError, match="both feature sets contain"):
        joined.join(counts)
    with pytest.raises(ValueError, match="cannot join"):
        deck.join(feature_set("counts", Z[:2], R[:2]))


def test_feature_set_refuses_unknown_names_and_single_molecules():
    with pytest.raises(ValueError, match="unknown feature set 'cm'.*'deck'"):
        feature_set("cm", *batch(water()))
    with pytest.raises(ValueError, match="takes a batch"):
        feature_set("deck", *water())
