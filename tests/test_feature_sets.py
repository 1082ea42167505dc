"""qm7utils.representations.counts and .sets: the count features and the named feature sets."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import batch, benzene, methane, methanol, pad, random_rotation, water
from qm7utils.book.params import FEATURE_SET_NAMES
from qm7utils.chem import BOHR_TO_ANGSTROM
from qm7utils.representations.coulomb import (
    coulomb_matrix,
    distance_matrix,
    eigenvalues,
    upper_triangle,
)
from qm7utils.representations.counts import COUNT_NAMES, count_features, ring_count
from qm7utils.representations.sets import FEATURE_SETS, deck_features, feature_set


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


def _counts(Z, R, prefix: str, **options) -> dict[str, float]:
    """The columns of :func:`count_features` whose names start with ``prefix``, by name."""
    X = count_features(Z, R, **options)
    return {n: X[i] for i, n in enumerate(COUNT_NAMES) if n.startswith(prefix)}


def test_names_of_feature_sets_agree_with_the_notebook_parameters():
    assert tuple(FEATURE_SETS) == FEATURE_SET_NAMES


def test_count_features_start_with_the_element_counts():
    np.testing.assert_array_equal(count_features(*benzene())[:5], [6, 6, 0, 0, 0])
    assert COUNT_NAMES[:5] == ("n_H", "n_C", "n_N", "n_O", "n_S")


def test_bond_counts_of_known_molecules():
    counts = _counts(*methanol(), "bonds_")
    pairs = {n: v for n, v in counts.items() if n.count("_") == 1}
    assert len(pairs) == 15
    assert pairs["bonds_H-C"] == 3 and pairs["bonds_H-O"] == 1 and pairs["bonds_C-O"] == 1
    assert sum(pairs.values()) == 5
    pairs = {n: v for n, v in _counts(*benzene(), "bonds_").items() if n.count("_") == 1}
    assert pairs["bonds_C-C"] == 6 and pairs["bonds_H-C"] == 6 and sum(pairs.values()) == 12


@pytest.mark.parametrize(
    ("molecule", "expected"),
    [
        (_linear((6, 6), 1.20), "bonds_C-C_short"),  # acetylene, triple bond
        (benzene(), "bonds_C-C_medium"),  # aromatic
        (_ethane_like(1.53), "bonds_C-C_long"),  # single bond
    ],
)
def test_bond_length_classes_follow_the_bond_order(molecule, expected):
    cc = _counts(*molecule, "bonds_C-C")
    assert cc[expected] == cc["bonds_C-C"] > 0
    assert sum(cc.values()) == 2 * cc[expected]
    assert len([n for n in COUNT_NAMES if n.endswith(("_short", "_medium", "_long"))]) == 30


def test_bond_length_classes_are_length_bins_not_bond_orders_beyond_carbon():
    """The edges separate C-C bond orders; for C-O the same bins shift by one bond order."""
    co = _counts(*methanol(), "bonds_C-O_")  # single C-O bond, 1.42 A
    assert co["bonds_C-O_medium"] == 1 and co["bonds_C-O_long"] == 0
    co = _counts(*_linear((6, 8), 1.21), "bonds_C-O_")  # a C=O double bond's length
    assert co["bonds_C-O_short"] == 1 and co["bonds_C-O_medium"] == 0
    # Other edges move the classes.
    co = _counts(*methanol(), "bonds_C-O_", edges=(1.25, 1.40))
    assert co["bonds_C-O_long"] == 1


def test_bond_length_edges_are_checked():
    with pytest.raises(ValueError, match="two increasing bond lengths"):
        count_features(*benzene(), edges=(1.45, 1.25))
    with pytest.raises(ValueError, match="two increasing bond lengths"):
        count_features(*benzene(), edges=(1.3,))


def test_degree_counts_reflect_hybridisation():
    counts = _counts(*methane(), "deg_")
    assert len(counts) == 20
    assert counts["deg_C4"] == 1 and sum(counts.values()) == 1
    counts = _counts(*benzene(), "deg_")
    assert counts["deg_C3"] == 6 and sum(counts.values()) == 6
    counts = _counts(*methanol(), "deg_")
    assert counts["deg_C4"] == 1 and counts["deg_O2"] == 1


def test_count_features_are_consistent_and_ignore_padding():
    X = count_features(*batch(water(), methane(), benzene(), methanol()))
    names = list(COUNT_NAMES)
    assert X.shape == (4, 70) and len(names) == 70 and len(set(names)) == 70
    # Every bond has a length class: the length columns add up to the heavy-atom bonds.
    heavy_pairs = [n for n in names if n.startswith("bonds_") and n.count("_") == 1
                   and "H" not in n]
    for pair in heavy_pairs:
        lengths = [names.index(f"{pair}_{c}") for c in ("short", "medium", "long")]
        np.testing.assert_array_equal(X[:, lengths].sum(axis=1), X[:, names.index(pair)])
    single = count_features(*pad(*benzene(), n=12))
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
    X = deck_features(Z, R)
    assert X.shape == (3, 23 * 24 // 2 + 23 + 23) == (3, 322)
    assert len(feature_set("deck", Z, R).names) == 322
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
    assert counts.names == COUNT_NAMES
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


@pytest.mark.parametrize("name", sorted(FEATURE_SETS))
def test_feature_set_refuses_empty_batches_and_molecules_without_atoms(name):
    Z, R = batch(water(), methane(), methanol())
    with pytest.raises(ValueError, match=r"at least one molecule, got Z of shape \(0, 23\)"):
        feature_set(name, Z[:0], R[:0])
    Z[1], R[1] = 0, 0.0  # methane's slot emptied: a molecule of padding only
    with pytest.raises(ValueError, match=r"1 molecule\(s\) have no atoms .* e\.g\. \[1\]"):
        feature_set(name, Z, R)
    # A one-atom molecule is a molecule: finite features, padding columns zero.
    Z[1, 0] = 6
    one_atom = feature_set(name, Z, R)
    assert np.all(np.isfinite(one_atom.X))
    for block in ("deck", "bond_centralities"):
        if block in one_atom.blocks:
            centralities = one_atom.X[1, one_atom.columns(block)][-23:]
            np.testing.assert_array_equal(centralities, np.eye(23)[0])  # 1 for the atom
