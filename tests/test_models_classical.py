"""qm7utils.models.classical on small synthetic data (seconds, no QM7 needed)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from qm7utils.evaluation import Split, regression_metrics
from qm7utils.models.classical import (
    DECK_XGB_PARAMS,
    SEARCH_SPACE,
    SVM_C_GRID,
    ResidualRegressor,
    choose_svm_C,
    compare_models,
    gain_importance,
    linear_svm,
    split_classification_metrics,
    split_metrics,
    tune_xgboost,
    xgb_regressor,
)
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


def _split(n=300):
    index = np.arange(n)
    return Split(train=index[: n * 7 // 10], validation=index[n * 7 // 10 : n * 85 // 100],
                 test=index[n * 85 // 100 :])


def test_linear_svm_separates_separable_classes():
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    X = np.concatenate([c + rng.normal(size=(30, 2)) for c in centres]) * [1, 100]
    y = np.repeat([3, 4, 5], 30)
    for scale in (True, False):
        model = linear_svm(C=1.0, scale=scale).fit(X, y)
        assert np.mean(model.predict(X) == y) == 1.0
    assert linear_svm().named_steps["svc"].class_weight == "balanced"
    assert "standardscaler" in linear_svm().named_steps
    assert "standardscaler" not in linear_svm(scale=False).named_steps


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"C": 0}, "C == 0, must be > 0"),
    ({"C": -1.0}, "C == -1.0, must be > 0"),
    ({"class_weight": "equal"}, "class_weight must be 'balanced' or None"),
])
def test_linear_svm_refuses_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        linear_svm(**kwargs)


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


def test_split_metrics_and_compare_models(data):
    X, y = data
    split = _split()
    model = ResidualRegressor(xgb_regressor(), baseline_columns=[0, 1, 2, 3]).fit(
        X[split.train], y[split.train])
    metrics = split_metrics(model, X, y, split)
    assert list(metrics) == ["train", "validation", "test"]
    assert metrics["train"]["mae"] < metrics["test"]["mae"]
    table = compare_models(
        {"trees": (xgb_regressor(), X), "ridge": (Ridge(), X[:, :4])}, y, split
    )
    assert table.index.tolist() == ["trees", "ridge"]
    assert table.loc["ridge", "features"] == 4
    assert table.columns.tolist() == ["features", "train", "validation", "test", "seconds"]
    ridge = Ridge().fit(X[split.train, :4], y[split.train])
    assert table.loc["ridge", "test"] == pytest.approx(
        regression_metrics(y[split.test], ridge.predict(X[split.test, :4]))["mae"])


def test_split_classification_metrics():
    X = np.arange(20, dtype=float)[:, None]
    y = (X[:, 0] >= 10).astype(int)
    model = linear_svm().fit(X, y)
    split = Split(np.arange(0, 20, 2), np.arange(1, 20, 4), np.arange(3, 20, 4))
    scores = split_classification_metrics(model, X, y, split)
    assert list(scores) == ["train", "validation", "test"]
    assert scores["train"]["accuracy"] == 1.0 and scores["test"]["within_one"] == 1.0


def test_tune_xgboost_is_reproducible_stays_in_range_and_quiet(data, caplog):
    import optuna

    X, y = data
    split = _split()
    args = (X[split.train], y[split.train], X[split.validation], y[split.validation])
    space = {"n_estimators": ("int", 20, 60, 20), "max_depth": ("int", 2, 4, 1),
             "learning_rate": ("log", 0.05, 0.3)}
    before = optuna.logging.get_verbosity()
    with caplog.at_level(logging.INFO):
        first = tune_xgboost(*args, n_trials=4, seed=0, space=space, baseline_columns=[0, 1, 2, 3])
    assert not [r for r in caplog.records if r.name.startswith("optuna")]
    assert optuna.logging.get_verbosity() == before
    second = tune_xgboost(*args, n_trials=4, seed=0, space=space, baseline_columns=[0, 1, 2, 3])
    assert first.best_params == second.best_params and first.best_mae == second.best_mae
    assert len(first.trials) == 4 and first.best_mae == first.trials["validation_mae"].min()
    assert 20 <= first.trials["n_estimators"].min() and first.trials["n_estimators"].max() <= 60
    assert set(first.best_params) == set(space)
    assert set(SEARCH_SPACE) >= {"n_estimators", "learning_rate", "max_depth"}
    with pytest.raises(ValueError, match="n_trials == 0, must be >= 1"):
        tune_xgboost(*args, n_trials=0)


def _classes(seed=5, n=240):
    """Three overlapping classes in two dimensions: C matters, no C is perfect."""
    rng = np.random.default_rng(seed)
    y = np.repeat([3, 4, 5], n // 3)
    X = rng.normal(size=(n, 2)) + np.c_[y * 1.5, np.zeros(n)]
    return X, y


def test_choose_svm_C_uses_train_and_validation_only_and_prefers_small_C_on_ties():
    X, y = _classes()
    index = np.random.default_rng(0).permutation(len(y))
    split = Split(train=np.sort(index[:160]), validation=np.sort(index[160:200]),
                  test=np.sort(index[200:]))
    best, table = choose_svm_C(X, y, split, grid=(0.001, 1.0, 100.0))
    assert table.index.tolist() == [0.001, 1.0, 100.0]
    assert list(table.columns) == ["train", "validation", "train_balanced",
                                   "validation_balanced"]
    top = table["validation"].max()
    assert best == min(c for c in table.index if table.loc[c, "validation"] == top)
    model = linear_svm(1.0).fit(X[split.train], y[split.train])
    assert table.loc[1.0, "validation"] == pytest.approx(
        np.mean(model.predict(X[split.validation]) == y[split.validation]))
    # Garbage labels on the test set change nothing: it is never used.
    scrambled = y.copy()
    scrambled[split.test] = 99
    best_again, table_again = choose_svm_C(X, scrambled, split, grid=(0.001, 1.0, 100.0))
    assert best_again == best
    assert table_again.equals(table)
    # Well separated classes: every C is perfect on validation, and the smallest C wins the tie,
    # whatever the order of the grid.
    separable = np.c_[y * 10.0, np.zeros(len(y))] + X * 0.1
    best_tie, tie_table = choose_svm_C(separable, y, split, grid=(10.0, 1.0, 100.0))
    assert (tie_table["validation"] == 1.0).all() and best_tie == 1.0
    assert SVM_C_GRID == tuple(sorted(SVM_C_GRID))
    with pytest.raises(ValueError, match="positive values of C"):
        choose_svm_C(X, y, split, grid=(0.0, 1.0))
    with pytest.raises(ValueError, match="positive values of C"):
        choose_svm_C(X, y, split, grid=())


def test_gain_importance_shares_and_kinds(data):
    X, y = data
    # Only columns 0-3 carry the additive part, column 4 the interaction; 5 and 6 are noise.
    model = xgb_regressor(n_estimators=30).fit(X, y)
    names = [f"x{i}" for i in range(X.shape[1])]
    total = gain_importance(model, names)
    assert total.sum() == pytest.approx(1.0) and (total >= 0).all()
    assert total.index[0] in {"x0", "x1"}  # the largest weights (-100, -80)
    assert total.is_monotonic_decreasing
    mean = gain_importance(model, names, kind="gain")
    np.testing.assert_allclose(
        mean.reindex(names).to_numpy(), model.feature_importances_, rtol=1e-5, atol=1e-7)
    weight = gain_importance(model, names, kind="weight")
    counts = model.get_booster().get_score(importance_type="weight")
    assert weight["x0"] == pytest.approx(counts["f0"] / sum(counts.values()))
    # A feature the trees never use gets 0: a constant column cannot be split on.
    constant = np.hstack([X, np.ones((len(X), 1))])
    model = xgb_regressor(n_estimators=10).fit(constant, y)
    assert gain_importance(model, names + ["constant"])["constant"] == 0.0
    residual = ResidualRegressor(xgb_regressor(n_estimators=10), baseline_columns=[0, 1, 2, 3])
    residual.fit(X, y)
    shares = gain_importance(residual, names)
    assert shares.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="kind must be"):
        gain_importance(residual, names, kind="cover")
    with pytest.raises(ValueError, match="names has 2 entries"):
        gain_importance(residual, names[:2])
    with pytest.raises(ValueError, match="fitted XGBRegressor or ResidualRegressor"):
        gain_importance(Ridge().fit(X, y), names)
