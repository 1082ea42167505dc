"""qm7utils.models.kernels: kernels, the Cholesky solver, the choice of width, local kernels."""

from __future__ import annotations

import numpy as np
import pytest

from qm7utils.chem import element_counts
from qm7utils.models import kernels as KR
from qm7utils.models.baseline import DressedAtoms
from qm7utils.representations.fchl19 import AtomicEnvironments


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _direct_l1(A, B):
    return np.array([[np.sum(np.abs(a - b)) for b in B] for a in A])


def _direct_sq(A, B):
    return np.array([[np.sum((a - b) ** 2) for b in B] for a in A])


# --- Distances and global kernels -------------------------------------------------------------


def test_distances_match_a_direct_computation(rng):
    A, B = rng.normal(size=(7, 5)), rng.normal(size=(4, 5))
    np.testing.assert_allclose(KR.pairwise_distances(A, B), _direct_l1(A, B), rtol=1e-12)
    np.testing.assert_allclose(KR.pairwise_distances(A), _direct_l1(A, A), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(KR.pairwise_distances(A, B, "sqeuclidean"), _direct_sq(A, B),
                               rtol=1e-10)
    D = KR.pairwise_distances(A, metric="sqeuclidean")
    assert np.all(np.diag(D) == 0) and np.all(D >= 0)
    np.testing.assert_allclose(D, D.T)
    assert KR.pairwise_distances(A, dtype=np.float32).dtype == np.float32


def test_laplacian_kernel_matches_a_direct_computation(rng):
    A, B = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    sigma = 1.7
    expected = np.array([[np.exp(-np.sum(np.abs(a - b)) / sigma) for b in B] for a in A])
    np.testing.assert_allclose(KR.laplacian_kernel(A, B, sigma), expected, rtol=1e-12)
    K = KR.laplacian_kernel(A, sigma=sigma)
    np.testing.assert_allclose(np.diag(K), 1.0)
    np.testing.assert_allclose(K, K.T)


def test_gaussian_kernel_matches_a_direct_computation(rng):
    A, B = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    sigma = 0.9
    expected = np.array([[np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2)) for b in B] for a in A])
    np.testing.assert_allclose(KR.gaussian_kernel(A, B, sigma), expected, rtol=1e-10)


@pytest.mark.parametrize("sigma", [0, -1.0, float("nan"), float("inf"), "wide", True])
def test_bad_widths_are_refused(sigma):
    with pytest.raises((TypeError, ValueError), match="sigma"):
        KR.laplacian_kernel(np.ones((2, 2)), sigma=sigma)


def test_bad_feature_arrays_are_refused():
    with pytest.raises(ValueError, match="2-D"):
        KR.pairwise_distances(np.ones(3))
    with pytest.raises(ValueError, match="same number of features"):
        KR.pairwise_distances(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        KR.pairwise_distances(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="metric"):
        KR.pairwise_distances(np.ones((2, 2)), metric="cosine")


# --- The solver -------------------------------------------------------------------------------


def test_krr_equals_the_closed_form_and_scikit_learn(rng):
    from sklearn.kernel_ridge import KernelRidge

    X, y = rng.normal(size=(30, 4)), rng.normal(size=30)
    K = KR.laplacian_kernel(X, sigma=2.0)
    K_copy = K.copy()
    alpha = KR.krr_fit(K, y, 1e-3)
    np.testing.assert_allclose(alpha, np.linalg.solve(K + 1e-3 * np.eye(30), y), rtol=1e-8)
    np.testing.assert_array_equal(K, K_copy)  # not overwritten by default
    reference = KernelRidge(alpha=1e-3, kernel="precomputed").fit(K, y)
    np.testing.assert_allclose(alpha, reference.dual_coef_, rtol=1e-8)


def test_krr_interpolates_with_tiny_regularization(rng):
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    K = KR.gaussian_kernel(X, sigma=1.0)
    np.testing.assert_allclose(K @ KR.krr_fit(K, y, 1e-10), y, atol=1e-5)


def test_krr_errors_name_the_problem():
    with pytest.raises(ValueError, match="square"):
        KR.krr_fit(np.ones((2, 3)), np.ones(2), 1.0)
    with pytest.raises(ValueError, match="y must have shape"):
        KR.krr_fit(np.eye(3), np.ones(2), 1.0)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="regularization"):
            KR.krr_fit(np.eye(3), np.ones(3), bad)
    with pytest.raises(ValueError, match="increase the regularization"):
        KR.krr_fit(-np.eye(3), np.ones(3), 1e-3)
    with pytest.raises(ValueError, match="finite"):
        KR.krr_fit(np.eye(2), np.array([1.0, np.nan]), 1.0)


# --- Baseline, cached kernels, views and the choice of width ----------------------------------


def _toy_set(rng, n=60):
    """Random 'molecules' (charges only) with energy = sum of atoms + a smooth extra term."""
    Z = np.zeros((n, 6), dtype=int)
    for i in range(n):
        k = rng.integers(2, 7)
        Z[i, :k] = rng.choice([1, 6, 7, 8], size=k)
    X = rng.normal(size=(n, 3))
    y = element_counts(Z) @ np.array([-60.0, -150.0, -120.0, -100.0, -200.0])
    return Z, X, y + 3.0 * np.sin(X[:, 0]) + X[:, 1] ** 2


def test_fit_predict_learns_the_residual_of_the_dressed_atoms(rng):
    """With a huge regularization the kernel adds nothing: the prediction is the baseline."""
    Z, X, y = _toy_set(rng)
    kernel = KR.DistanceKernel(KR.pairwise_distances(X))
    train, test = np.arange(40), np.arange(40, 60)
    atoms = DressedAtoms().fit(Z[train], y[train]).predict(Z[test])
    flat = KR.fit_predict(kernel, y, Z, train, test, sigma=2.0, regularization=1e12)
    np.testing.assert_allclose(flat, atoms, rtol=1e-9)
    mean = KR.fit_predict(kernel, y, Z, train, test, 2.0, 1e12, baseline="mean")
    np.testing.assert_allclose(mean, np.mean(y[train]), rtol=1e-9)
    fitted = KR.fit_predict(kernel, y, Z, train, test, sigma=2.0, regularization=1e-6)
    assert np.mean(np.abs(fitted - y[test])) < np.mean(np.abs(atoms - y[test]))
    with pytest.raises(ValueError, match="baseline"):
        KR.fit_predict(kernel, y, Z, train, test, 2.0, 1e-3, baseline="median")


def test_two_identical_views_equal_one_view_with_half_the_regularization(rng):
    Z, X, y = _toy_set(rng)
    D = KR.pairwise_distances(X)
    one = KR.DistanceKernel(D)
    two = KR.DistanceKernel(np.block([[D, D], [D, D]]), n_views=2)
    train, test = np.arange(40), np.arange(40, 60)
    p1 = KR.fit_predict(one, y, Z, train, test, sigma=2.0, regularization=1e-3)
    p2 = KR.fit_predict(two, y, Z, train, test, sigma=2.0, regularization=2e-3)
    np.testing.assert_allclose(p1, p2, rtol=1e-6)


def test_distance_kernel_blocks_and_errors(rng):
    X = rng.normal(size=(5, 2))
    kernel = KR.DistanceKernel(KR.pairwise_distances(X))
    np.testing.assert_allclose(kernel([0, 2], [1, 3, 4], 1.5),
                               KR.laplacian_kernel(X[[0, 2]], X[[1, 3, 4]], 1.5))
    gauss = KR.DistanceKernel(KR.pairwise_distances(X, metric="sqeuclidean"), kind="gaussian")
    np.testing.assert_allclose(gauss([1], [0, 4], 0.8), KR.gaussian_kernel(X[[1]], X[[0, 4]], 0.8))
    with pytest.raises(ValueError, match="views"):
        KR.DistanceKernel(np.zeros((5, 5)), n_views=2)
    with pytest.raises(ValueError, match="kind"):
        KR.DistanceKernel(np.zeros((2, 2)), kind="cosine")
    fixed = KR.PrecomputedKernel({1.0: np.eye(3)})
    with pytest.raises(ValueError, match="no kernel for sigma"):
        fixed([0], [1], 2.0)


def _folds(n, k=5):
    return np.arange(n).reshape(k, n // k)


def test_inner_holdout_search_never_looks_at_the_test_fold(rng):
    Z, X, y = _toy_set(rng, n=100)
    kernel = KR.DistanceKernel(KR.pairwise_distances(X))
    P = _folds(100)
    grid = dict(sigmas=[0.5, 2.0, 8.0], regularizations=[1e-6, 1e-2])
    first = KR.inner_holdout_search(kernel, y, Z, P, **grid)
    assert first.fold_mae.shape == (5,) and np.all(np.isfinite(first.predictions))
    assert first.surfaces[0].shape == (3, 2)
    # Scramble the energies of test fold 0: what fold 0 chose and predicted cannot change.
    y2 = y.copy()
    y2[P[0]] = rng.normal(size=P.shape[1]) * 1e3
    second = KR.inner_holdout_search(kernel, y2, Z, P, **grid)
    assert (first.folds[0]["sigma"], first.folds[0]["regularization"]) == (
        second.folds[0]["sigma"], second.folds[0]["regularization"])
    np.testing.assert_allclose(first.predictions[P[0]], second.predictions[P[0]])
    assert second.folds[0]["mae"] != first.folds[0]["mae"]
    assert first.mae == pytest.approx(np.mean(first.fold_mae))
    assert list(first.to_frame().columns)[:3] == ["fold", "sigma", "regularization"]


def test_inner_holdout_search_picks_the_minimum_of_its_surface(rng):
    Z, X, y = _toy_set(rng, n=100)
    kernel = KR.DistanceKernel(KR.pairwise_distances(X))
    result = KR.inner_holdout_search(kernel, y, Z, _folds(100), [0.3, 3.0, 30.0], [1e-8, 1e-1])
    for fold, surface in zip(result.folds, result.surfaces, strict=True):
        i, j = np.unravel_index(np.argmin(surface), surface.shape)
        assert fold["sigma"] == [0.3, 3.0, 30.0][i]
        assert fold["regularization"] == [1e-8, 1e-1][j]
    fixed = [(f["sigma"], f["regularization"]) for f in result.folds]
    again = KR.inner_holdout_search(kernel, y, Z, _folds(100), [0.3, 3.0, 30.0], [1e-8, 1e-1],
                                    fixed=fixed)
    np.testing.assert_allclose(again.predictions, result.predictions)
    with pytest.raises(ValueError, match="one \\(sigma, regularization\\) per fold"):
        KR.inner_holdout_search(kernel, y, Z, _folds(100), [1.0], [1e-3], fixed=fixed[:2])
    with pytest.raises(ValueError, match="at least one value"):
        KR.inner_holdout_search(kernel, y, Z, _folds(100), [], [1e-3])


def test_the_choice_is_made_on_the_next_fold_by_the_remaining_ones(rng):
    """Test fold k: fold k + 1 validates, the other folds (or a seeded subset) train."""
    Z, X, y = _toy_set(rng, n=100)
    kernel = KR.DistanceKernel(KR.pairwise_distances(X))
    P = _folds(100)
    grid = ([0.5, 2.0, 8.0], [1e-6, 1e-2])
    result = KR.inner_holdout_search(kernel, y, Z, P, *grid)
    for k in range(5):
        valid = P[(k + 1) % 5]
        inner = np.sort(np.concatenate([P[j] for j in range(5) if j not in (k, (k + 1) % 5)]))
        np.testing.assert_array_equal(
            result.surfaces[k], KR.validation_errors(kernel, y, Z, inner, valid, *grid))
    small = KR.inner_holdout_search(kernel, y, Z, P, *grid, inner_size=30, seed=3)
    again = KR.inner_holdout_search(kernel, y, Z, P, *grid, inner_size=30, seed=3)
    np.testing.assert_array_equal(small.surfaces[0], again.surfaces[0])
    assert not np.array_equal(small.surfaces[0], result.surfaces[0])
    one = KR.inner_holdout_search(kernel, y, Z, P, [2.0], [1e-6])  # a 1 x 1 grid: no search
    assert np.isnan(one.surfaces[0]).all() and {f["sigma"] for f in one.folds} == {2.0}


def test_learning_curve_uses_nested_subsets(rng):
    Z, X, y = _toy_set(rng, n=100)
    kernel = KR.DistanceKernel(KR.pairwise_distances(X))
    curve = KR.learning_curve(kernel, y, Z, _folds(100), [10, 40, 80], [(2.0, 1e-6)] * 5)
    assert len(curve) == 15 and set(curve.n_train) == {10, 40, 80}
    means = curve.groupby("n_train").mae.mean()
    assert means[80] < means[10]
    with pytest.raises(ValueError, match="one \\(sigma, regularization\\) per fold"):
        KR.learning_curve(kernel, y, Z, _folds(100), [10], [(2.0, 1e-6)])
    with pytest.raises(ValueError, match="training size"):
        KR.learning_curve(kernel, y, Z, _folds(100), [500], [(2.0, 1e-6)] * 5)


# --- Local kernels over atomic environments ---------------------------------------------------


def _toy_environments(rng, n_molecules, dim=4):
    sizes = rng.integers(1, 5, size=n_molecules)
    molecule = np.repeat(np.arange(n_molecules), sizes)
    element = rng.choice([1, 6, 8], size=len(molecule))
    features = rng.normal(size=(len(molecule), dim)).astype(np.float32)
    return AtomicEnvironments(features, element, molecule, n_molecules)


def _direct_local(a, b, sigma):
    K = np.zeros((a.n_molecules, b.n_molecules))
    for i in range(len(a.element)):
        for j in range(len(b.element)):
            if a.element[i] == b.element[j]:
                d2 = np.sum((a.features[i].astype(float) - b.features[j]) ** 2)
                K[a.molecule[i], b.molecule[j]] += np.exp(-d2 / (2 * sigma**2))
    return K


def test_local_kernel_matches_a_direct_double_sum(rng):
    a, b = _toy_environments(rng, 9), _toy_environments(rng, 6)
    got = KR.local_gaussian_kernels(a, [0.7, 2.0], other=b, chunk_atoms=4)
    for sigma in (0.7, 2.0):
        np.testing.assert_allclose(got[sigma], _direct_local(a, b, sigma), rtol=1e-4, atol=1e-5)
    sym = KR.local_gaussian_kernels(a, [1.3], chunk_atoms=3)[1.3]
    np.testing.assert_allclose(sym, _direct_local(a, a, 1.3), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sym, sym.T)


def test_threads_give_the_same_numbers_as_one_loop(rng, monkeypatch):
    """Distances and local kernels are split between threads by rows: same entries, bit for bit."""
    A, B = rng.normal(size=(700, 12)), rng.normal(size=(300, 12))
    a, b = _toy_environments(rng, 40), _toy_environments(rng, 25)
    results = {}
    for threads in ("1", "3"):
        monkeypatch.setenv("QM7_THREADS", threads)
        results[threads] = (
            KR.pairwise_distances(A), KR.pairwise_distances(A, B, dtype=np.float32),
            KR.local_gaussian_kernels(a, [0.7, 2.0], chunk_atoms=8),
            KR.local_gaussian_kernels(a, [1.1], other=b, chunk_atoms=5),
        )
    one, three = results["1"], results["3"]
    np.testing.assert_array_equal(one[0], three[0])
    np.testing.assert_array_equal(one[1], three[1])
    np.testing.assert_array_equal(three[0], three[0].T)
    np.testing.assert_array_equal(np.diag(three[0]), 0.0)
    np.testing.assert_allclose(three[0], _direct_l1(A, A), rtol=1e-12, atol=1e-12)
    for sigma in (0.7, 2.0):
        np.testing.assert_array_equal(one[2][sigma], three[2][sigma])
    np.testing.assert_array_equal(one[3][1.1], three[3][1.1])


def test_local_kernel_errors():
    env = AtomicEnvironments(np.zeros((2, 3), np.float32), np.array([1, 1]), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="sigmas is empty"):
        KR.local_gaussian_kernels(env, [])
    other = AtomicEnvironments(np.zeros((1, 4), np.float32), np.array([1]), np.array([0]), 1)
    with pytest.raises(ValueError, match="same number of features"):
        KR.local_gaussian_kernels(env, [1.0], other=other)


def test_extrapolate_learning_curve_recovers_a_power_law():
    n = np.array([100, 300, 1000, 3000, 6000])
    mae = 50.0 * n**-0.4
    slope, needed = KR.extrapolate_learning_curve(n, mae, target=1.0)
    assert slope == pytest.approx(0.4)
    assert needed == pytest.approx(50.0**2.5, rel=1e-9)  # 50 N^-0.4 = 1
    # Only the larger half is fitted: a bent start does not change the line.
    bent = mae.copy()
    bent[:2] *= 3.0
    assert KR.extrapolate_learning_curve(n, bent, 1.0)[0] == pytest.approx(0.4)
    # A target above the last point lies inside the data: a smaller size.
    assert KR.extrapolate_learning_curve(n, mae, target=mae[2])[1] == pytest.approx(1000.0)


def test_extrapolate_learning_curve_errors():
    with pytest.raises(ValueError, match="does not fall"):
        KR.extrapolate_learning_curve([100, 1000, 5000], [2.0, 2.5, 3.0], 1.0)
    with pytest.raises(ValueError, match="two different"):
        KR.extrapolate_learning_curve([100, 1000], [5.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="positive and finite"):
        KR.extrapolate_learning_curve([100, 1000, 5000], [5.0, 0.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="one length"):
        KR.extrapolate_learning_curve([100, 1000, 5000], [5.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="target"):
        KR.extrapolate_learning_curve([100, 1000, 5000], [5.0, 2.0, 1.0], -1.0)


def test_local_kernel_of_double_precision_environments_is_exact(rng):
    """float64 features keep the whole computation in double precision."""
    a = _toy_environments(rng, 7)
    wide = AtomicEnvironments(a.features.astype(np.float64), a.element, a.molecule, 7)
    got = KR.local_gaussian_kernels(wide, [0.9], chunk_atoms=4)[0.9]
    np.testing.assert_allclose(got, _direct_local(wide, wide, 0.9), rtol=1e-12, atol=1e-12)
