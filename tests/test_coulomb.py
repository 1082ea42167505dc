"""qm7utils.representations.coulomb: values, shapes, invariances, errors, the file's convention."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from molecules import batch, benzene, methane, methanol, random_rotation, water
from qm7utils.chem import BOHR_TO_ANGSTROM
from qm7utils.representations import coulomb as F


def test_coulomb_matrix_of_water_by_hand():
    Z, R = water()
    C = F.coulomb_matrix(Z, R)
    d_oh = np.linalg.norm(R[1] - R[0])
    d_hh = np.linalg.norm(R[2] - R[1])
    expected = np.array(
        [
            [0.5 * 8**2.4, 8 / d_oh, 8 / d_oh],
            [8 / d_oh, 0.5, 1 / d_hh],
            [8 / d_oh, 1 / d_hh, 0.5],
        ]
    )
    np.testing.assert_allclose(C, expected, rtol=1e-12)
    assert C[0, 0] == pytest.approx(73.5166, abs=1e-4)  # 0.5 * 8^2.4


def test_batch_equals_single_and_padding_is_zero():
    Z, R = batch(water(), methane(), benzene())
    C = F.coulomb_matrix(Z, R)
    assert C.shape == (3, 23, 23)
    for k, (z, r) in enumerate([water(), methane(), benzene()]):
        n = len(z)
        np.testing.assert_allclose(C[k, :n, :n], F.coulomb_matrix(z, r), rtol=1e-13)
        assert not C[k, n:].any() and not C[k, :, n:].any()
    np.testing.assert_allclose(C, np.swapaxes(C, 1, 2))


def test_distance_matrix_units():
    Z, R = water()
    D = F.distance_matrix(Z, R)
    DA = F.distance_matrix(Z, R, unit="angstrom")
    assert DA[0, 1] == pytest.approx(np.hypot(0.7572, 0.5858), rel=1e-12)
    np.testing.assert_allclose(DA, D * BOHR_TO_ANGSTROM)
    assert np.all(np.diag(D) == 0)


def _all_features(Z, R):
    """Every atom-order-free feature of qm7utils for one padded batch."""
    C = F.sorted_coulomb_matrix(Z, R)
    return {
        "sorted_l2": C,
        "sorted_l1": F.sorted_coulomb_matrix(Z, R, norm="l1"),
        "eig_cm": F.eigenvalues(F.coulomb_matrix(Z, R)),
        "eig_dist": F.eigenvalues(F.distance_matrix(Z, R)),
        "triangle_sorted": F.upper_triangle(F.coulomb_matrix(Z, R), sort=True),
    }


def test_translation_and_rotation_invariance():
    rng = np.random.default_rng(0)
    Z, R = methanol()
    moved = R @ random_rotation(rng).T + rng.normal(size=3) * 5
    before, after = _all_features(Z, R), _all_features(Z, moved)
    for name in before:
        np.testing.assert_allclose(after[name], before[name], rtol=1e-9, atol=1e-9, err_msg=name)
    # The atom-ordered matrix and the distance matrix are invariant too.
    np.testing.assert_allclose(F.coulomb_matrix(Z, moved), F.coulomb_matrix(Z, R), rtol=1e-9)
    np.testing.assert_allclose(F.distance_matrix(Z, moved), F.distance_matrix(Z, R), atol=1e-9)


def test_permutation_invariance_of_sorted_features():
    rng = np.random.default_rng(1)
    Z, R = methanol()
    perm = rng.permutation(len(Z))
    before, after = _all_features(Z, R), _all_features(Z[perm], R[perm])
    for name in before:
        np.testing.assert_allclose(after[name], before[name], rtol=1e-12, err_msg=name)
    # ...whereas the raw Coulomb matrix follows the atom order.
    C, Cp = F.coulomb_matrix(Z, R), F.coulomb_matrix(Z[perm], R[perm])
    assert not np.allclose(C, Cp)
    np.testing.assert_allclose(Cp, C[np.ix_(perm, perm)])


def test_sorted_rows_have_descending_norms():
    Z, R = batch(methanol(), benzene())
    for norm in ("l1", "l2"):
        C = F.sorted_coulomb_matrix(Z, R, norm=norm)
        norms = F.row_norms(C, norm)
        assert np.all(np.diff(norms, axis=1) <= 1e-12)


def test_row_norm_order_is_the_permutation_of_the_sorted_matrix():
    Z, R = methanol()
    C = F.coulomb_matrix(Z, R)
    order = F.row_norm_order(C, "l1")
    np.testing.assert_array_equal(C[np.ix_(order, order)], F.sort_by_row_norm(C, "l1"))
    assert order[0] == 1  # the oxygen
    # Batched, with padding last; with noise, a random order among close norms.
    Zb, Rb = batch(methanol(), benzene())
    Cb = F.coulomb_matrix(Zb, Rb)
    orders = F.row_norm_order(Cb)
    assert orders.shape == (2, 23) and set(orders[1, :12]) == set(range(12))
    rng = np.random.default_rng(0)
    noisy = {tuple(F.row_norm_order(Cb, noise=1.0, rng=rng)[1, :6]) for _ in range(20)}
    assert len(noisy) > 1 and all(set(o) == set(range(6)) for o in noisy)  # carbons first
    with pytest.raises(ValueError, match="noise"):
        F.row_norm_order(C, noise=-1.0)
    with pytest.raises(ValueError, match="random generator"):
        F.row_norm_order(C, noise=1.0)


def test_upper_triangle_shape_and_order():
    M = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(F.upper_triangle(M), [0, 1, 2, 4, 5, 8])
    np.testing.assert_array_equal(F.upper_triangle(M, sort=True), [8, 5, 4, 2, 1, 0])
    Z, R = batch(water(), methane())
    assert F.upper_triangle(F.coulomb_matrix(Z, R)).shape == (2, 276)
    # C order even from a permuted (strided) batch: row-wise distance loops need it fast
    permuted = F.sorted_coulomb_matrix(Z, R)[:, ::-1, ::-1]
    assert F.upper_triangle(permuted).flags.c_contiguous


def test_eigenvalues_sorted_by_magnitude_and_zero_padded():
    Z, R = batch(water(), benzene())
    ev = F.eigenvalues(F.coulomb_matrix(Z, R))
    assert ev.shape == (2, 23)
    assert np.all(np.diff(np.abs(ev), axis=1) <= 1e-12)
    assert np.count_nonzero(ev[0]) == 3 and np.count_nonzero(ev[1]) == 12
    z, r = water()
    np.testing.assert_allclose(
        np.sort(ev[0, :3]), np.linalg.eigvalsh(F.coulomb_matrix(z, r)), rtol=1e-12
    )


def test_randomly_sorted_matrices_are_permutations():
    Z, R = benzene()
    rng = np.random.default_rng(0)
    C = F.coulomb_matrix(Z, R)
    draws = [F.randomly_sorted_coulomb_matrix(Z, R, rng, noise=1.0) for _ in range(20)]
    # Same spectrum as the original, but several distinct orderings of the symmetric atoms.
    for D in draws:
        np.testing.assert_allclose(np.linalg.eigvalsh(D), np.linalg.eigvalsh(C), rtol=1e-10)
    assert len({D.tobytes() for D in draws}) > 1
    np.testing.assert_allclose(
        F.randomly_sorted_coulomb_matrix(Z, R, rng, noise=0.0), F.sorted_coulomb_matrix(Z, R)
    )


@pytest.mark.parametrize(
    ("Z", "R", "message"),
    [
        (np.array([8, 1, 1]), np.zeros((3, 2)), r"R must have shape"),
        (np.array([[8, 1]]), np.zeros((2, 2, 3)), r"R must have shape"),
        (np.array([8, 1, 9]), np.ones((3, 3)), r"unknown element\(s\) \[9\]"),
        (np.array([8, 1, -1]), np.ones((3, 3)), r"unknown element\(s\) \[-1\]"),
        (np.array([8.0, 1.5]), np.ones((2, 3)), "integer nuclear charges"),
        (np.zeros((2, 2, 2)), np.zeros((2, 2, 2, 3)), "Z must have shape"),
    ],
)
def test_bad_input_raises_clear_errors(Z, R, message):
    with pytest.raises(ValueError, match=message):
        F.coulomb_matrix(Z, R)


def test_coincident_atoms_and_bad_options():
    Z = np.array([6, 1])
    with pytest.raises(ValueError, match="same position"):
        F.coulomb_matrix(Z, np.zeros((2, 3)))
    Z, R = water()
    with pytest.raises(ValueError, match="norm must be"):
        F.sorted_coulomb_matrix(Z, R, norm="max")
    with pytest.raises(ValueError, match="unit must be"):
        F.distance_matrix(Z, R, unit="nm")
    with pytest.raises(ValueError, match="Generator"):
        F.randomly_sorted_coulomb_matrix(Z, R, rng=0)
    with pytest.raises(ValueError, match="symmetric"):
        F.eigenvalues(np.array([[1.0, 2.0], [0.0, 1.0]]))


# --- the convention of the stored X ---------------------------------------------------------


def _distorted_methanol():
    """Methanol with its atoms shaken (seed 1): no symmetry, and l1 and l2 orders differ."""
    Z, R = methanol()
    return Z, R + np.random.default_rng(1).normal(0.0, 0.3, R.shape)


def test_check_file_convention_finds_the_sorting_rule():
    Z, R = batch(water(), methane(), methanol(), _distorted_methanol())
    C = F.coulomb_matrix(Z, R)
    X = F.sort_by_row_norm(C, "l1").astype(np.float32)  # the file stores single precision
    l1 = F.check_file_convention(Z, R, X, norm="l1")
    assert l1["agrees"].all() and l1["agrees_up_to_ties"].all()
    assert (l1["max_abs_diff"] < 1e-4).all()
    assert l1["has_tie"].tolist() == [True, True, True, False]  # equivalent hydrogens
    # Orders of symmetric molecules agree, but the distorted molecule's l2 order differs
    # from its l1 order: the l2 convention does not reproduce its X.
    l2 = F.check_file_convention(Z, R, X, norm="l2")
    assert l2["agrees_up_to_ties"].tolist() == [True, True, True, False]
    assert not l2.loc[3, "agrees"] and l2.loc[3, "max_abs_diff"] > 0.1
    # A matrix of another molecule is not explained by any tie.
    wrong = X.copy()
    wrong[0] = X[1]
    assert not F.check_file_convention(Z, R, wrong)["agrees_up_to_ties"][0]
    with pytest.raises(ValueError, match="must have shape"):
        F.check_file_convention(Z, R, X[:, :5, :5])
    with pytest.raises(ValueError, match="a batch"):
        F.check_file_convention(Z[0], R[0], X[0])
    with pytest.raises(ValueError, match="norm"):
        F.check_file_convention(Z, R, X, norm="max")


def test_check_file_convention_accepts_any_order_of_tied_atoms_and_nothing_else():
    Z, R = batch(methanol())
    C = F.coulomb_matrix(Z, R)
    shuffled = np.array([5, 2, 0, 4, 1, 3, *range(6, 23)])  # not in descending row sums
    X = C[:, shuffled][:, :, shuffled]
    strict = F.check_file_convention(Z, R, X, norm="l1")
    assert not strict["agrees"][0] and not strict["agrees_up_to_ties"][0]
    # Were every atom tied (tie_tol huge), any order would be a valid tie break ...
    loose = F.check_file_convention(Z, R, X, norm="l1", tie_tol=1e3)
    assert loose["has_tie"][0] and loose["agrees_up_to_ties"][0]
    # ... but only for the molecule's own matrix.
    other = X.copy()
    other[0, 0, 1] = other[0, 1, 0] = other[0, 0, 1] + 0.5
    assert not F.check_file_convention(Z, R, other, tie_tol=1e3)["agrees_up_to_ties"][0]


def _swap_first_two(M):
    order = [1, 0, *range(2, M.shape[-1])]
    return M[..., order, :][..., :, order]


def test_agrees_as_sets_accepts_the_convention_with_any_tie_break():
    Z, R = batch(water(), methane(), benzene(), _distorted_methanol())
    X = F.sorted_coulomb_matrix(Z, R, norm="l1").astype(np.float32)
    assert F.agrees_as_sets(Z, R, X).all()
    tie_broken = X.copy()
    tie_broken[2] = _swap_first_two(X[2])  # two carbons of benzene: equal row sums
    assert np.abs(tie_broken[2] - X[2]).max() > 0.1  # not a symmetry: another matrix
    assert F.agrees_as_sets(Z, R, tie_broken).all()
    assert F.agrees_as_sets(Z, R, np.swapaxes(X, 1, 2)).all()  # symmetric anyway
    l2 = F.sorted_coulomb_matrix(Z, R, norm="l2")
    assert F.agrees_as_sets(Z, R, l2, norm="l2").all()
    # ... and agrees with the exhaustive search of check_file_convention.
    check = F.check_file_convention(Z, R, tie_broken)
    assert not check["agrees"][2] and check["agrees_up_to_ties"].all()


def _rows_only(X):
    return X[:, [1, 0, *range(2, 23)], :]


def _one_entry(X):
    X = X.copy()
    X[:, 0, 1] += 0.5
    X[:, 1, 0] += 0.5
    return X


@pytest.mark.parametrize(
    "damage",
    [
        lambda X, C, l2: X[:, ::-1, ::-1],  # reversed, padding first
        lambda X, C, l2: np.zeros_like(X),
        lambda X, C, l2: C,  # atom order, not sorted
        lambda X, C, l2: l2,  # sorted by the other norm
        lambda X, C, l2: np.roll(X, 1, axis=0),  # another molecule's matrix
        lambda X, C, l2: 1.01 * X,
        lambda X, C, l2: _rows_only(X),  # rows permuted, columns not
        lambda X, C, l2: _one_entry(X),
        lambda X, C, l2: np.where(X > 0, X + 1e-2, X),  # beyond single precision
    ],
    ids=["reversed", "zero", "atom-order", "l2-order", "other-molecule", "rescaled",
         "rows-only", "one-entry", "shifted"],
)
def test_agrees_as_sets_refuses_what_is_not_the_sorted_matrix(damage):
    z, r = methanol()
    other = (z, r + np.random.default_rng(2).normal(0.0, 0.3, r.shape))  # l1, l2 orders differ
    Z, R = batch(_distorted_methanol(), other)
    C = F.coulomb_matrix(Z, R)
    X = F.sort_by_row_norm(C, "l1")
    assert F.agrees_as_sets(Z, R, X).all()
    assert not F.agrees_as_sets(Z, R, damage(X, C, F.sort_by_row_norm(C, "l2"))).any()


def _benzene_rows_swapped(X):
    X = X.copy()
    X[0, [0, 1]] = X[0, [1, 0]]  # two tied carbons: rows swapped, columns not
    return X


def _value_moved_into_padding(X):
    X = X.copy()  # the C0-H0 entry moves to padding column 22: row 0 keeps its entries
    value = X[0, 0, 6]
    X[0, 0, 6] = X[0, 6, 0] = 0.0
    X[0, 0, 22] = X[0, 22, 0] = value
    return X


def _four_cycle_among_tied_atoms(X):
    X = X.copy()  # every row sum kept, symmetric, only tied (carbon) rows touched
    for i, j, d in ((0, 1, 0.5), (0, 2, -0.5), (3, 1, -0.5), (3, 2, 0.5)):
        X[0, i, j] += d
        X[0, j, i] += d
    return X


def _entries_swapped_in_an_untied_row(X):
    X = X.copy()  # row 0 keeps its entries; rows 1 and 2 (no ties) get another's
    X[1, 0, [1, 2]] = X[1, 0, [2, 1]]
    X[1, [1, 2], 0] = X[1, [2, 1], 0]
    return X


@pytest.mark.parametrize(
    ("damage", "only_caught_by"),
    [
        (_benzene_rows_swapped, "symmetry"),
        (_value_moved_into_padding, "zero padding"),
        (_four_cycle_among_tied_atoms, "the set of entries"),
        (_entries_swapped_in_an_untied_row, "the set of each untied row"),
    ],
    ids=["asymmetric", "padding", "entries", "rows"],
)
def test_agrees_as_sets_each_condition_is_needed(damage, only_caught_by):
    """Damage that only one of the four conditions of agrees_as_sets sees."""
    Z, R = batch(benzene(), _distorted_methanol())
    X = F.sorted_coulomb_matrix(Z, R, norm="l1")
    damaged = damage(X)
    assert not np.allclose(damaged, X)
    assert F.agrees_as_sets(Z, R, X).all()
    assert F.agrees_as_sets(Z, R, damaged).tolist().count(False) == 1, only_caught_by


def test_agrees_as_sets_errors():
    Z, R = batch(water(), methane())
    X = F.sorted_coulomb_matrix(Z, R, norm="l1")
    with pytest.raises(ValueError, match="must have shape"):
        F.agrees_as_sets(Z, R, X[:, :5, :5])
    with pytest.raises(ValueError, match="a batch"):
        F.agrees_as_sets(Z[0], R[0], X[0])
    with pytest.raises(ValueError, match="norm"):
        F.agrees_as_sets(Z, R, X, norm="max")


# --- the real file ------------------------------------------------------------------------

#: Row sums that differ by less than this (relative) count as tied: symmetric atoms whose sums
#: differ only through the float32 rounding of R.
TIE_TOLERANCE = 1e-7
#: Elementwise tolerance between our float64 matrices and the file's float32 X.
MATCH_RTOL = 2e-6


def _matches_up_to_ties(C_atom_order, X, norms):
    """Whether some reordering of near-tied atoms turns C into X (both l1-sorted)."""
    order = np.argsort(-norms, kind="stable")
    groups, start = [], 0
    sorted_norms = norms[order]
    for i in range(1, len(order) + 1):
        gap = sorted_norms[i - 1] - sorted_norms[i] if i < len(order) else np.inf
        if gap > TIE_TOLERANCE * sorted_norms[i - 1]:
            groups.append(order[start:i])
            start = i
    for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
        perm = np.concatenate(choice)
        if np.allclose(C_atom_order[np.ix_(perm, perm)], X, rtol=MATCH_RTOL, atol=1e-5):
            return True
    return False


@pytest.mark.data
def test_l1_sorted_matrices_equal_the_files_X(qm7):
    """The X of qm7.mat is sorted by descending row sum (l1), not by l2, nor in atom order.

    Tolerance: relative 2e-6 elementwise (X is float32). Molecules with symmetric atoms whose
    row sums tie (relative gap < 1e-7) may list those atoms in either order; for them we check
    that some order of the tied atoms reproduces X.
    """
    S = F.sorted_coulomb_matrix(qm7.Z, qm7.R, norm="l1")
    close = np.all(np.isclose(S, qm7.X, rtol=MATCH_RTOL, atol=1e-5), axis=(1, 2))
    mismatched = np.flatnonzero(~close)
    assert len(mismatched) <= 10, mismatched  # 6 on the reference file
    C = F.coulomb_matrix(qm7.Z[mismatched], qm7.R[mismatched])
    norms = F.row_norms(C, "l1")
    for k, i in enumerate(mismatched):
        n = qm7.n_atoms[i]
        assert _matches_up_to_ties(C[k, :n, :n], qm7.X[i, :n, :n], norms[k, :n]), i
    # The l2 order and the atom order are not the file's convention.
    l2 = F.sorted_coulomb_matrix(qm7.Z, qm7.R, norm="l2")
    assert np.sum(~np.all(np.isclose(l2, qm7.X, rtol=MATCH_RTOL, atol=1e-5), axis=(1, 2))) > 1000
    raw = F.coulomb_matrix(qm7.Z, qm7.R)
    assert np.sum(~np.all(np.isclose(raw, qm7.X, rtol=MATCH_RTOL, atol=1e-5), axis=(1, 2))) > 5000


@pytest.mark.data
def test_spectra_of_X_and_recomputed_matrices_agree(qm7):
    ev_file = F.eigenvalues(qm7.X)
    ev_ours = F.eigenvalues(F.coulomb_matrix(qm7.Z, qm7.R))
    np.testing.assert_allclose(ev_ours, ev_file, rtol=1e-5, atol=1e-4)


@pytest.mark.data
def test_qm7_x_is_sorted_by_row_sum_up_to_ties(qm7):
    """Every X is the l1-sorted matrix; only molecules with a float tie may differ from ours.

    Which of them differ depends on how rounding breaks the ties (six with the reference file
    and NumPy today), so no list of indices is pinned: the molecules that differ must all have
    two row sums equal up to single-precision rounding, and be few.
    """
    l1 = F.check_file_convention(qm7.Z, qm7.R, qm7.X, norm="l1")
    assert l1["agrees_up_to_ties"].all()
    differ = np.flatnonzero(~l1["agrees"])
    assert differ.size <= 0.005 * qm7.n_molecules
    sums = -np.sort(-F.row_norms(F.coulomb_matrix(qm7.Z, qm7.R), "l1"), axis=1)
    between_atoms = sums[:, 1:] > 0
    gaps = np.where(between_atoms, sums[:, :-1] - sums[:, 1:], np.inf)
    float_tie = (gaps <= 1e-6 * sums[:, :1]).any(axis=1)  # float32: 6e-8 relative per value
    assert set(differ.tolist()) <= set(np.flatnonzero(float_tie).tolist())
    assert l1.loc[differ, "has_tie"].all()
    l2 = F.check_file_convention(qm7.Z, qm7.R, qm7.X, norm="l2")
    assert l2["agrees_up_to_ties"].sum() < 1000
