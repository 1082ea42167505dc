"""qm7utils.models.classical on small synthetic data (seconds, no QM7 needed)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from qm7utils.evaluation import regression_metrics
from qm7utils.models.classical import DECK_XGB_PARAMS, ResidualRegressor, timed_fit, xgb_regressor
from qm7utils.parallel import available_cores


@pytest.fixture(scope="module")
def data():
    """An additive target (as atomization energies nearly are) plus a small interaction."""
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 8, size=(300, 4)).astype(float)
    noise = rng.normal(size=(300, 3))
    X = np.hstack([counts, noise])
    y = counts @ np.array([-100.0, -80.0, -60.0, -40.0]) + 5.0 * noise[:, 0] * noise[:, 1]
    return X, y


def test_xgb_regressor_uses_deck_parameters_and_is_reproducible(data):
    X, y = data
    model = xgb_regressor(seed=3)
    got = model.get_params()
    for key, value in DECK_XGB_PARAMS.items():
        assert got[key] == value
    assert got["random_state"] == 3
    assert got["n_jobs"] == available_cores()
    assert xgb_regressor(n_jobs=1).get_params()["n_jobs"] == 1
    assert xgb_regressor(max_depth=2).get_params()["max_depth"] == 2
    first = xgb_regressor(seed=3).fit(X, y).predict(X)
    second = xgb_regressor(seed=3).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, second)
    other = xgb_regressor(seed=4).fit(X, y).predict(X)
    assert not np.array_equal(first, other)  # the seed drives the subsampling
    with pytest.raises(ValueError, match="n_jobs == 0, must be >= 1"):
        xgb_regressor(n_jobs=0)


def test_xgb_trees_do_not_depend_on_the_number_of_threads():
    """Why the book may use every core: the same trees, bit for bit, on 1, 2 or 3 threads."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(4000, 30))
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + 0.1 * rng.normal(size=4000)
    one = xgb_regressor(seed=5, n_jobs=1).fit(X, y).predict(X)
    for threads in (2, 3):
        np.testing.assert_array_equal(xgb_regressor(seed=5, n_jobs=threads).fit(X, y).predict(X),
                                      one)


def test_residual_regressor_extrapolates_an_additive_trend():
    """Trees cannot predict beyond the training range; the linear baseline can."""
    rng = np.random.default_rng(2)
    X_train = rng.integers(0, 5, size=(400, 3)).astype(float)
    X_test = X_train + 5.0  # larger molecules than any in training
    weights = np.array([-90.0, -70.0, -50.0])
    y_train, y_test = X_train @ weights, X_test @ weights
    trees = xgb_regressor().fit(X_train, y_train)
    both = ResidualRegressor(xgb_regressor(), baseline_columns=[0, 1, 2]).fit(X_train, y_train)
    tree_mae = regression_metrics(y_test, trees.predict(X_test))["mae"]
    both_mae = regression_metrics(y_test, both.predict(X_test))["mae"]
    assert both_mae < 1.0 < 100.0 < tree_mae
    np.testing.assert_allclose(both.predict_baseline(X_test), y_test, atol=1.0)
    assert both.feature_importances_.shape == (3,)


def test_residual_regressor_uses_only_the_baseline_columns(data):
    X, y = data
    model = ResidualRegressor(xgb_regressor(n_estimators=5), baseline=Ridge(alpha=1.0),
                              baseline_columns=[0, 1])
    model.fit(X, y)
    ridge = Ridge(alpha=1.0).fit(X[:, :2], y)
    np.testing.assert_allclose(model.predict_baseline(X), ridge.predict(X[:, :2]))
    with pytest.raises(ValueError, match="one row per target"):
        ResidualRegressor().fit(X, y[:-1])



def test_timed_fit_fits_in_place_and_returns_seconds(data):
    X, y = data
    model = Ridge()
    seconds = timed_fit(model, X, y)
    assert seconds >= 0.0
    np.testing.assert_allclose(model.predict(X), Ridge().fit(X, y).predict(X))
