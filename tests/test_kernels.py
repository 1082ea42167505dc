"""qm7utils.models.kernels: distances, kernels, the Cholesky solver, local kernels."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import toy_environments
from qm7utils.models import kernels as KR
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


def test_gp_predict_matches_scikit_learns_gaussian_process(rng):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    X_test = np.r_[rng.normal(size=(10, 3)), 5.0 + rng.normal(size=(3, 3))]  # 3 far away
    sigma, lam = 1.5, 1e-2
    K = KR.gaussian_kernel(X, sigma=sigma)
    K_test = KR.gaussian_kernel(X_test, X, sigma=sigma)
    mean, std = KR.gp_predict(K, y, K_test, np.ones(len(X_test)), lam)
    np.testing.assert_allclose(mean, K_test @ KR.krr_fit(K, y, lam), rtol=1e-10)
    amplitude = y @ np.linalg.solve(K + lam * np.eye(40), y) / 40  # the likeliest amplitude
    kernel = (ConstantKernel(amplitude, "fixed") * RBF(sigma, "fixed")
              + WhiteKernel(amplitude * lam, "fixed"))
    gp = GaussianProcessRegressor(kernel, alpha=1e-12, optimizer=None).fit(X, y)
    gp_mean, gp_std = gp.predict(X_test, return_std=True)
    np.testing.assert_allclose(mean, gp_mean, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(std, gp_std, rtol=1e-5)
    # Far from the data the prediction falls back to the prior: larger error bars.
    assert std[-3:].min() > std[:10].max()


def test_gp_predict_errors_name_the_problem():
    K, y = np.eye(3), np.ones(3)
    with pytest.raises(ValueError, match="K_test must have shape"):
        KR.gp_predict(K, y, np.ones((2, 4)), np.ones(2), 1e-3)
    with pytest.raises(ValueError, match="k_test_self"):
        KR.gp_predict(K, y, np.ones((2, 3)), np.ones(3), 1e-3)
    with pytest.raises(ValueError, match="regularization"):
        KR.gp_predict(K, y, np.ones((2, 3)), np.ones(2), 0.0)


# --- Local kernels over atomic environments ---------------------------------------------------


def _direct_local(a, b, sigma):
    K = np.zeros((a.n_molecules, b.n_molecules))
    for i in range(len(a.element)):
        for j in range(len(b.element)):
            if a.element[i] == b.element[j]:
                d2 = np.sum((a.features[i].astype(float) - b.features[j]) ** 2)
                K[a.molecule[i], b.molecule[j]] += np.exp(-d2 / (2 * sigma**2))
    return K


def test_local_kernel_matches_a_direct_double_sum(rng):
    a, b = toy_environments(rng, 9), toy_environments(rng, 6)
    got = KR.local_gaussian_kernels(a, [0.7, 2.0], other=b, chunk_atoms=4)
    for sigma in (0.7, 2.0):
        np.testing.assert_allclose(got[sigma], _direct_local(a, b, sigma), rtol=1e-4, atol=1e-5)
    sym = KR.local_gaussian_kernels(a, [1.3], chunk_atoms=3)[1.3]
    np.testing.assert_allclose(sym, _direct_local(a, a, 1.3), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sym, sym.T)


def test_threads_give_the_same_numbers_as_one_loop(rng, monkeypatch):
    """Distances and local kernels are split between threads by rows: same entries, bit for bit."""
    A, B = rng.normal(size=(700, 12)), rng.normal(size=(300, 12))
    a, b = toy_environments(rng, 40), toy_environments(rng, 25)
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


def test_local_kernel_of_double_precision_environments_is_exact(rng):
    """float64 features keep the whole computation in double precision."""
    a = toy_environments(rng, 7)
    wide = AtomicEnvironments(a.features.astype(np.float64), a.element, a.molecule, 7)
    got = KR.local_gaussian_kernels(wide, [0.9], chunk_atoms=4)[0.9]
    np.testing.assert_allclose(got, _direct_local(wide, wide, 0.9), rtol=1e-12, atol=1e-12)


def test_local_kernel_rows_summed_a_few_at_a_time_change_nothing(rng, monkeypatch):
    """The exponentials of a block are summed a few rows at a time: same entries, bit for bit."""
    a = toy_environments(rng, 30)
    whole = KR.local_gaussian_kernels(a, [0.8, 1.6], chunk_atoms=64)
    monkeypatch.setattr(KR, "_ROWS_IN_CACHE", 3)
    pieces = KR.local_gaussian_kernels(a, [0.8, 1.6], chunk_atoms=64)
    for sigma in (0.8, 1.6):
        np.testing.assert_array_equal(pieces[sigma], whole[sigma])
        np.testing.assert_allclose(pieces[sigma], _direct_local(a, a, sigma), rtol=1e-4, atol=1e-5)
