"""qm7utils.evaluation: splits, folds, metrics and the cross-validation protocols."""

from __future__ import annotations

import numpy as np
import pytest

from qm7utils.evaluation import (
    Split,
    compare_features,
    deck_split,
    extrapolate_learning_curve,
    fold_labels,
    fold_splits,
    fold_summary,
    holdout_split,
    p_fold_scores,
    regression_metrics,
)


def test_deck_split_fractions_disjoint_and_reproducible():
    split = deck_split(7165)
    assert split.sizes() == {"train": 4993, "validation": 1097, "test": 1075}
    everything = np.concatenate(split)
    np.testing.assert_array_equal(np.sort(everything), np.arange(7165))
    again = deck_split(7165)
    for a, b in zip(split, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = deck_split(7165, seed=1)
    assert not np.array_equal(split.test, other.test)


def test_deck_split_holds_out_the_test_set_first_as_the_deck_did():
    """The deck's "validation" set (held out first) is our test set, its "dev" our validation."""
    from sklearn.model_selection import train_test_split

    rest, deck_validation = train_test_split(np.arange(500), test_size=0.15, random_state=42)
    _, deck_dev = train_test_split(rest, test_size=0.18, random_state=42)
    split = deck_split(500)
    np.testing.assert_array_equal(split.test, np.sort(deck_validation))
    np.testing.assert_array_equal(split.validation, np.sort(deck_dev))
    assert Split._fields == ("train", "validation", "test")


def test_holdout_split():
    train, test = holdout_split(100, test_size=0.2)
    assert len(train) == 80 and len(test) == 20
    assert not set(train) & set(test)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"validation_size": 0.0}, "validation_size == 0.0, must be > 0"),
        ({"validation_size": 1.2}, "validation_size == 1.2, must be < 1"),
        ({"test_size": -0.1}, "test_size == -0.1, must be > 0"),
    ],
)
def test_bad_fractions(kwargs, message):
    with pytest.raises(ValueError, match=message):
        deck_split(100, **kwargs)
    with pytest.raises(TypeError, match="test_size must be an instance of float"):
        holdout_split(100, test_size="0.2")
    with pytest.raises(ValueError, match="n .the number of molecules. == 2, must be >= 3"):
        deck_split(2)


def test_fold_splits_follow_P():
    P = np.arange(20).reshape(5, 4)[:, ::-1]
    seen = []
    for k, train, test in fold_splits(P):
        np.testing.assert_array_equal(test, np.sort(P[k]))
        assert len(train) == 16 and not set(train) & set(test)
        seen.extend(test)
    assert sorted(seen) == list(range(20))


def test_fold_labels_make_a_predefined_split():
    P = np.array([[4, 0], [1, 5], [2, 3]])
    labels = fold_labels(P, 7)
    np.testing.assert_array_equal(labels, [0, 1, 2, 2, 0, 1, -1])
    with pytest.raises(ValueError, match="outside 0..4"):
        fold_labels(P, 5)
    with pytest.raises(ValueError, match="appears twice"):
        fold_labels(np.array([[0, 1], [1, 2]]), 3)
    with pytest.raises(ValueError, match="shape .n_folds >= 2"):
        fold_labels(np.arange(4), 4)


def _linear_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([3.0, -2.0, 1.0]) + rng.normal(0, 0.1, size=n)
    return X, y, rng.permutation(n).reshape(5, n // 5)


def test_p_fold_scores_follow_the_folds():
    from sklearn.linear_model import Ridge

    X, y, _ = _linear_data(300)
    P = np.arange(300).reshape(5, 60)
    scores = p_fold_scores(Ridge(), X, y, P)
    assert scores.index.tolist() == [0, 1, 2, 3, 4]
    assert scores["n_train"].tolist() == [240] * 5 and scores["n_test"].tolist() == [60] * 5
    fold = Ridge().fit(X[60:], y[60:])
    expected = regression_metrics(y[:60], fold.predict(X[:60]))
    for key, value in expected.items():
        assert scores.loc[0, key] == pytest.approx(value, rel=1e-12)
    assert (scores["seconds"] >= 0).all()
    again, predictions = p_fold_scores(Ridge(), X, y, P[:, :50], return_predictions=True)
    assert predictions.shape == (300,)
    in_P = np.zeros(300, bool)
    in_P[P[:, :50].ravel()] = True
    assert np.all(np.isnan(predictions[~in_P])) and np.all(np.isfinite(predictions[in_P]))
    # Molecules in no fold are in no training set.
    first_fold = Ridge().fit(X[P[1:, :50].ravel()], y[P[1:, :50].ravel()])
    np.testing.assert_allclose(predictions[P[0, :50]], first_fold.predict(X[P[0, :50]]))
    assert again.loc[0, "mae"] == pytest.approx(
        np.mean(np.abs(predictions[P[0, :50]] - y[P[0, :50]])))
    with pytest.raises(ValueError, match="differ in length"):
        p_fold_scores(Ridge(), X[:10], y, P)


def test_p_fold_scores_of_the_dressed_atom_baseline_are_exact_on_additive_energies():
    from qm7utils.models.baseline import DressedAtoms

    rng = np.random.default_rng(2)
    Z = np.zeros((100, 6), dtype=int)
    for row in Z:
        n = rng.integers(2, 7)
        row[:n] = rng.choice([1, 6, 7, 8], size=n)
    energies = {1: -70.0, 6: -150.0, 7: -100.0, 8: -95.0}
    y = np.array([sum(energies.get(int(z), 0.0) for z in row) for row in Z])
    P = rng.permutation(100).reshape(5, 20)
    np.testing.assert_allclose(p_fold_scores(DressedAtoms(), Z, y, P)["mae"], 0.0, atol=1e-8)
    # A constant offset is not absorbed by an intercept: the model has none.
    assert p_fold_scores(DressedAtoms(), Z, y + 50.0, P)["mae"].mean() > 1.0
    noisy = y + rng.normal(0, 5.0, size=100)
    test, train = np.sort(P[0]), np.sort(P[1:].ravel())
    model = DressedAtoms().fit(Z[train], noisy[train])
    assert p_fold_scores(DressedAtoms(), Z, noisy, P).loc[0, "mae"] == pytest.approx(
        np.mean(np.abs(model.predict(Z[test]) - noisy[test])), rel=1e-12)


def test_compare_features_ranks_sets_with_a_linear_probe():
    X, y, P = _linear_data()
    rng = np.random.default_rng(1)
    table = compare_features({"noise": rng.normal(size=(400, 2)), "true": X, "x0": X[:, 0]},
                             y, P)
    assert list(table.index) == ["true", "x0", "noise"]
    assert table["n_features"].tolist() == [3, 1, 2]
    assert table.loc["true", "mae"] < 0.15
    assert table.loc["noise", "mae"] > 10 * table.loc["true", "mae"]
    with pytest.raises(ValueError, match="'bad' must be a finite array"):
        compare_features({"bad": np.full((400, 1), np.nan)}, y, P)
    with pytest.raises(ValueError, match="empty"):
        compare_features({}, y, P)


def test_fold_summary_and_compare_features_use_the_population_std():
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, P = _linear_data(200, seed=1)
    probe = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-4, 4, 9)))
    maes = p_fold_scores(probe, X, y, P)["mae"].to_numpy()
    table = compare_features({"x": X}, y, P)
    assert table.loc["x", "mae"] == pytest.approx(maes.mean())
    assert table.loc["x", "mae_std"] == pytest.approx(np.std(maes))  # ddof=0, as in the book
    assert table.loc["x", "mae_std"] != pytest.approx(np.std(maes, ddof=1))
    summary = fold_summary({"b": [2.0, 4.0], "a": [1.0, 1.0]})
    assert list(summary.index) == ["a", "b"] and list(summary.columns) == ["mae", "mae_std"]
    assert summary.loc["b", "mae"] == 3.0 and summary.loc["b", "mae_std"] == 1.0
    assert summary.loc["a", "mae_std"] == 0.0
    with pytest.raises(ValueError, match="empty"):
        fold_summary({})
    with pytest.raises(ValueError, match="'bad'"):
        fold_summary({"bad": [[1.0, 2.0]]})


def test_regression_metrics_values():
    m = regression_metrics([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, 4.0])
    assert m["mae"] == pytest.approx(0.375)
    assert m["rmse"] == pytest.approx(np.sqrt((0.25 + 1.0) / 4))
    assert m["r2"] == pytest.approx(1 - 1.25 / 5.0)
    assert m["max_abs_error"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="differ in length"):
        regression_metrics([1, 2], [1])
    with pytest.raises(ValueError, match="finite"):
        regression_metrics([1, 2], [1, np.nan])


def test_deck_split_parts_are_disjoint_for_small_n_and_other_fractions():
    split = deck_split(50, test_size=0.3, validation_size=0.5, seed=7)
    parts = [set(p.tolist()) for p in split]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set().union(*parts) == set(range(50))
    assert split.sizes() == {"train": 17, "validation": 18, "test": 15}


# --- Learning curves -------------------------------------------------------------------------


def test_extrapolate_learning_curve_recovers_a_power_law():
    n = np.array([100, 300, 1000, 3000, 6000])
    mae = 50.0 * n**-0.4
    slope, needed = extrapolate_learning_curve(n, mae, target=1.0)
    assert slope == pytest.approx(0.4)
    assert needed == pytest.approx(50.0**2.5, rel=1e-9)  # 50 N^-0.4 = 1
    # Only the larger half is fitted: a bent start does not change the line.
    bent = mae.copy()
    bent[:2] *= 3.0
    assert extrapolate_learning_curve(n, bent, 1.0)[0] == pytest.approx(0.4)
    # A target above the last point lies inside the data: a smaller size.
    assert extrapolate_learning_curve(n, mae, target=mae[2])[1] == pytest.approx(1000.0)


def test_extrapolate_learning_curve_errors():
    with pytest.raises(ValueError, match="does not fall"):
        extrapolate_learning_curve([100, 1000, 5000], [2.0, 2.5, 3.0], 1.0)
    with pytest.raises(ValueError, match="two different"):
        extrapolate_learning_curve([100, 1000], [5.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="positive and finite"):
        extrapolate_learning_curve([100, 1000, 5000], [5.0, 0.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="one length"):
        extrapolate_learning_curve([100, 1000, 5000], [5.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="target"):
        extrapolate_learning_curve([100, 1000, 5000], [5.0, 2.0, 1.0], -1.0)
