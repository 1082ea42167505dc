"""qm7utils.explore: tables of the data, the file's convention, invariances, quick fits, maps."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import batch, benzene, methane, methanol, random_rotation, water
from qm7utils import explore as E
from qm7utils.data import QM7
from qm7utils.features import coulomb_matrix, sort_by_row_norm


def _tiny_qm7() -> QM7:
    Z, R = batch(water(), methane(), methanol(), benzene(), water())
    X = sort_by_row_norm(coulomb_matrix(Z, R), norm="l1")
    T = np.array([-230.0, -420.0, -510.0, -1360.0, -231.0])
    return QM7(X=X, T=T, P=np.arange(5).reshape(5, 1), Z=Z, R=R)


def test_describe_arrays_and_fold_table():
    qm7 = _tiny_qm7()
    table = E.describe_arrays(qm7)
    assert list(table.index) == ["X", "T", "P", "Z", "R"]
    assert table.loc["R", "unit"] == "Bohr" and table.loc["T", "unit"] == "kcal/mol"
    assert table.loc["X", "shape"] == "(5, 23, 23)"
    assert table.loc["Z", "max"] == 8
    folds = E.fold_table(qm7)
    assert folds["molecules"].tolist() == [1] * 5
    assert folds.loc[3, "mean_energy"] == -1360.0
    with pytest.raises(TypeError, match="QM7 object"):
        E.describe_arrays({"X": 1})


def test_atom_labels_sort_order_and_element_sets():
    Z, R = batch(methanol())
    assert E.atom_labels(Z[0]) == ["C0", "O1", "H2", "H3", "H4", "H5"]
    with pytest.raises(ValueError, match="one molecule"):
        E.atom_labels(Z)
    with pytest.raises(ValueError, match="unknown element"):
        E.atom_labels(np.array([6, 9]))
    C = coulomb_matrix(*methanol())
    order = E.sort_order(C, "l1")
    np.testing.assert_array_equal(C[np.ix_(order, order)], sort_by_row_norm(C, "l1"))
    assert order[0] == 1  # the oxygen
    Zs, _ = batch(water(), methane(), methanol(), benzene())
    assert E.element_sets(Zs).tolist() == ["HO", "CH", "CHO", "CH"]
    with pytest.raises(ValueError, match="n_molecules, n_atoms"):
        E.element_sets(Zs[0])


def test_composition_table_counts_atoms_and_molecules():
    Z, _ = batch(water(), methane(), methanol())
    table = E.composition_table(Z)
    assert table.loc["H", "atoms"] == 2 + 4 + 4
    assert table.loc["O", "molecules"] == 2 and table.loc["C", "molecules"] == 2
    assert table.loc["S", "atoms"] == 0
    assert table["share_of_atoms"].sum() == pytest.approx(1.0)
    assert table.loc["H", "max_per_molecule"] == 4


def test_fold_stratification_recognises_energy_stratified_folds():
    rng = np.random.default_rng(0)
    T = rng.normal(size=500)
    order = np.argsort(T)
    stratified = order.reshape(-1, 5).T  # fold k takes the k-th of each block of 5
    assert E.fold_stratification(T, stratified) == 1.0
    shuffled = rng.permutation(500).reshape(5, 100)
    assert E.fold_stratification(T, shuffled) < 0.2
    with pytest.raises(ValueError, match="cover"):
        E.fold_stratification(T, shuffled[:, :50])


def _distorted_methanol():
    """Methanol with its atoms shaken (seed 1): no symmetry, and l1 and l2 orders differ."""
    Z, R = methanol()
    return Z, R + np.random.default_rng(1).normal(0.0, 0.3, R.shape)


def test_check_file_convention_finds_the_sorting_rule():
    Z, R = batch(water(), methane(), methanol(), _distorted_methanol())
    C = coulomb_matrix(Z, R)
    X = sort_by_row_norm(C, "l1").astype(np.float32)  # the file stores single precision
    l1 = E.check_file_convention(Z, R, X, norm="l1")
    assert l1["agrees"].all() and l1["agrees_up_to_ties"].all()
    assert (l1["max_abs_diff"] < 1e-4).all()
    assert l1["has_tie"].tolist() == [True, True, True, False]  # equivalent hydrogens
    # Orders of symmetric molecules agree, but the distorted molecule's l2 order differs
    # from its l1 order: the l2 convention does not reproduce its X.
    l2 = E.check_file_convention(Z, R, X, norm="l2")
    assert l2["agrees_up_to_ties"].tolist() == [True, True, True, False]
    assert not l2.loc[3, "agrees"] and l2.loc[3, "max_abs_diff"] > 0.1
    # A matrix of another molecule is not explained by any tie.
    wrong = X.copy()
    wrong[0] = X[1]
    assert not E.check_file_convention(Z, R, wrong)["agrees_up_to_ties"][0]
    with pytest.raises(ValueError, match="must have shape"):
        E.check_file_convention(Z, R, X[:, :5, :5])
    with pytest.raises(ValueError, match="a batch"):
        E.check_file_convention(Z[0], R[0], X[0])
    with pytest.raises(ValueError, match="norm"):
        E.check_file_convention(Z, R, X, norm="max")


def test_check_file_convention_accepts_any_order_of_tied_atoms_and_nothing_else():
    Z, R = batch(methanol())
    C = coulomb_matrix(Z, R)
    shuffled = np.array([5, 2, 0, 4, 1, 3, *range(6, 23)])  # not in descending row sums
    X = C[:, shuffled][:, :, shuffled]
    strict = E.check_file_convention(Z, R, X, norm="l1")
    assert not strict["agrees"][0] and not strict["agrees_up_to_ties"][0]
    # Were every atom tied (tie_tol huge), any order would be a valid tie break ...
    loose = E.check_file_convention(Z, R, X, norm="l1", tie_tol=1e3)
    assert loose["has_tie"][0] and loose["agrees_up_to_ties"][0]
    # ... but only for the molecule's own matrix.
    other = X.copy()
    other[0, 0, 1] = other[0, 1, 0] = other[0, 0, 1] + 0.5
    assert not E.check_file_convention(Z, R, other, tie_tol=1e3)["agrees_up_to_ties"][0]


def test_random_rotation_is_a_proper_rotation():
    rotation = E.random_rotation(np.random.default_rng(5))
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="Generator"):
        E.random_rotation(5)


def test_invariance_table_on_methanol():
    Z, R = methanol()
    table = E.invariance_table(Z, R, np.random.default_rng(0))
    invariant = table < 1e-9
    assert list(table.columns) == ["rotation", "translation", "atom order"]
    assert not invariant.loc["coordinates R"].any()
    assert invariant.loc["Coulomb matrix, atom order"].tolist() == [True, True, False]
    assert invariant.loc["distance matrix, atom order"].tolist() == [True, True, False]
    for name in ("Coulomb matrix, sorted by row sum (l1)",
                 "Coulomb matrix, sorted by row norm (l2)", "upper triangle, sorted values",
                 "Coulomb eigenvalues", "distance eigenvalues",
                 "sorted centralities (distance graph)"):
        assert invariant.loc[name].all(), name
    # Works on a padded molecule, and with custom features.
    Zp, Rp = batch((Z, R))
    custom = E.invariance_table(Zp[0], Rp[0], np.random.default_rng(1),
                                features={"first atom": lambda z, r: r[0]})
    assert list(custom.index) == ["first atom"]
    moved = custom.loc["first atom"]
    assert moved["rotation"] > 0 and 0 < moved["translation"] <= 5.0 and moved["atom order"] > 0
    with pytest.raises(ValueError, match="one molecule"):
        E.invariance_table(Zp, Rp, np.random.default_rng(0))


def test_invariance_table_rotation_matches_the_test_helper():
    # The same rotation applied by hand leaves the Coulomb matrix unchanged.
    Z, R = methanol()
    rotation = random_rotation(np.random.default_rng(2))
    np.testing.assert_allclose(coulomb_matrix(Z, R @ rotation.T), coulomb_matrix(Z, R),
                               atol=1e-12)


def test_fold_cv_mae_recovers_a_linear_law_and_compare_features_ranks_sets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = X @ np.array([3.0, -2.0, 1.0]) + rng.normal(0, 0.1, size=400)
    P = rng.permutation(400).reshape(5, 80)
    maes = E.fold_cv_mae(X, y, P)
    assert maes.shape == (5,) and maes.max() < 0.15
    table = E.compare_features({"noise": rng.normal(size=(400, 2)), "true": X}, y, P)
    assert list(table.index) == ["true", "noise"]
    assert table.loc["true", "n_features"] == 3
    assert table.loc["noise", "mae"] > 10 * table.loc["true", "mae"]
    with pytest.raises(ValueError, match="one row per energy"):
        E.fold_cv_mae(X[:10], y, P)
    with pytest.raises(ValueError, match="NaN"):
        E.fold_cv_mae(np.full((400, 1), np.nan), y, P)
    with pytest.raises(ValueError, match="empty"):
        E.compare_features({}, y, P)


def test_fold_summary_and_compare_features_use_the_population_std():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = X @ np.array([1.0, 2.0]) + rng.normal(0, 0.5, size=200)
    P = rng.permutation(200).reshape(5, 40)
    maes = E.fold_cv_mae(X, y, P)
    table = E.compare_features({"x": X}, y, P)
    assert table.loc["x", "mae"] == pytest.approx(maes.mean())
    assert table.loc["x", "mae_std"] == pytest.approx(np.std(maes))  # ddof=0, as in the book
    assert table.loc["x", "mae_std"] != pytest.approx(np.std(maes, ddof=1))
    summary = E.fold_summary({"b": [2.0, 4.0], "a": [1.0, 1.0]})
    assert list(summary.index) == ["a", "b"] and list(summary.columns) == ["mae", "mae_std"]
    assert summary.loc["b", "mae"] == 3.0 and summary.loc["b", "mae_std"] == 1.0
    assert summary.loc["a", "mae_std"] == 0.0
    with pytest.raises(ValueError, match="empty"):
        E.fold_summary({})
    with pytest.raises(ValueError, match="'bad'"):
        E.fold_summary({"bad": [[1.0, 2.0]]})


def test_dressed_atom_cv_mae_is_exact_on_additive_energies_and_has_no_intercept():
    from qm7utils.models.baseline import DressedAtoms

    rng = np.random.default_rng(2)
    Z = np.zeros((100, 6), dtype=int)
    for row in Z:
        n = rng.integers(2, 7)
        row[:n] = rng.choice([1, 6, 7, 8], size=n)
    energies = {1: -70.0, 6: -150.0, 7: -100.0, 8: -95.0}
    y = np.array([sum(energies.get(int(z), 0.0) for z in row) for row in Z])
    P = rng.permutation(100).reshape(5, 20)
    np.testing.assert_allclose(E.dressed_atom_cv_mae(Z, y, P), 0.0, atol=1e-8)
    # A constant offset is not absorbed by an intercept: the model has none.
    assert E.dressed_atom_cv_mae(Z, y + 50.0, P).mean() > 1.0
    # Each fold's MAE is that of DressedAtoms fitted on the other folds.
    noisy = y + rng.normal(0, 5.0, size=100)
    test, train = np.sort(P[0]), np.sort(P[1:].ravel())
    model = DressedAtoms().fit(Z[train], noisy[train])
    assert E.dressed_atom_cv_mae(Z, noisy, P)[0] == pytest.approx(
        np.mean(np.abs(model.predict(Z[test]) - noisy[test])))
    # Folds of a subset: indices into Z and y, not covering every molecule.
    assert E.dressed_atom_cv_mae(Z, noisy, P[:, :10]).shape == (5,)
    with pytest.raises(ValueError, match="one row per energy"):
        E.dressed_atom_cv_mae(Z[:10], y, P)
    with pytest.raises(ValueError, match="outside"):
        E.dressed_atom_cv_mae(Z, y, P + 1)


def test_bond_lengths_by_element_pair():
    Z, R = batch(water(), methane(), methanol())
    table = E.bond_lengths(Z, R)
    assert list(table.index) == ["C-O", "C-H", "O-H"]
    assert table.loc["C-H", "bonds"] == 4 + 3 and table.loc["O-H", "bonds"] == 2 + 1
    assert table.loc["C-O", "bonds"] == 1
    assert 1.3 < table.loc["C-O", "min"] <= table.loc["C-O", "max"] < 1.5
    assert 0.9 < table.loc["O-H", "min"] and table.loc["C-H", "max"] < 1.15
    assert (table["min"] <= table["median"]).all() and (table["median"] <= table["max"]).all()
    with pytest.raises(ValueError, match="batch"):
        E.bond_lengths(*methanol())


def test_embed_pca_and_tsne():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (60, 5)), rng.normal(6, 1, (60, 5))])
    X[:, 4] = 1.0  # a constant column is dropped, not divided by zero
    coords, info = E.embed(X, "pca")
    assert coords.shape == (120, 2)
    assert info["explained_variance"][0] > 0.5
    # Two clusters separate along the first axis.
    assert abs(coords[:60, 0].mean() - coords[60:, 0].mean()) > 3
    again, _ = E.embed(X, "pca")
    np.testing.assert_allclose(coords, again)
    tsne, info = E.embed(X, "tsne", seed=0, perplexity=10)
    assert tsne.shape == (120, 2) and np.isfinite(info["kl_divergence"])
    with pytest.raises(ValueError, match="method"):
        E.embed(X, "umap")
    with pytest.raises(ValueError, match="perplexity"):
        E.embed(X, "tsne", perplexity=500)
    with pytest.raises(ValueError, match="constant"):
        E.embed(np.ones((10, 3)))


def test_is_connected_batched_with_padding():
    from qm7utils.graphs import bond_adjacency

    Z, R = batch(water(), benzene(), methanol())
    A = bond_adjacency(Z, R)
    assert E.is_connected(A, Z).tolist() == [True, True, True]
    # Pull the hydroxyl hydrogen of methanol away: an isolated atom.
    R2 = R.copy()
    R2[2, 5] += 20.0
    assert E.is_connected(bond_adjacency(Z, R2), Z).tolist() == [True, True, False]
    # Two fragments: a path 0-1 and an edge 2-3.
    two = np.zeros((4, 4), dtype=bool)
    two[0, 1] = two[1, 0] = two[2, 3] = two[3, 2] = True
    assert E.is_connected(two) is False
    two[1, 2] = two[2, 1] = True
    assert E.is_connected(two) is True
    with pytest.raises(ValueError, match="square"):
        E.is_connected(np.ones((2, 3)))
    with pytest.raises(ValueError, match="match A"):
        E.is_connected(A, Z[:, :5])


def test_neighbour_agreement_separates_clusters_from_noise():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 50)
    clustered = rng.normal(size=(100, 2)) + 10.0 * labels[:, None]
    share, chance = E.neighbour_agreement(clustered, labels, k=5)
    assert share == 1.0 and chance == pytest.approx(0.5)
    mixed, _ = E.neighbour_agreement(rng.normal(size=(100, 2)), labels, k=5)
    assert 0.3 < mixed < 0.7
    with pytest.raises(ValueError, match="k must be"):
        E.neighbour_agreement(clustered, labels, k=100)
    with pytest.raises(ValueError, match="labels shape"):
        E.neighbour_agreement(clustered, labels[:10])


@pytest.mark.data
def test_qm7_x_is_sorted_by_row_sum_up_to_six_ties(qm7):
    l1 = E.check_file_convention(qm7.Z, qm7.R, qm7.X, norm="l1")
    assert int(l1["agrees"].sum()) == 7159
    assert l1["agrees_up_to_ties"].all()
    assert l1.index[~l1["agrees"]].tolist() == [16, 446, 559, 561, 726, 1026]
    assert l1.loc[~l1["agrees"], "has_tie"].all()
    l2 = E.check_file_convention(qm7.Z, qm7.R, qm7.X, norm="l2")
    assert l2["agrees_up_to_ties"].sum() < 1000


@pytest.mark.data
def test_qm7_folds_are_stratified_by_energy(qm7):
    assert E.fold_stratification(qm7.T, qm7.P) == 1.0
    table = E.composition_table(qm7.Z)
    assert table["atoms"].to_dict() == {"H": 61959, "C": 35761, "N": 6655, "O": 5978, "S": 297}
    assert table.loc["S", "molecules"] == 297


@pytest.mark.data
def test_qm7_has_one_disconnected_bond_graph(qm7):
    from qm7utils.graphs import bond_adjacency

    connected = E.is_connected(bond_adjacency(qm7.Z, qm7.R), qm7.Z)
    assert np.flatnonzero(~connected).tolist() == [133]
