"""qm7utils.evaluation: splits and metrics."""

from __future__ import annotations

import numpy as np
import pytest

from qm7utils.evaluation import deck_split, fold_splits, holdout_split, regression_metrics


def test_deck_split_fractions_disjoint_and_reproducible():
    split = deck_split(7165)
    assert split.sizes() == {"train": 4993, "test": 1097, "validation": 1075}
    everything = np.concatenate(split)
    np.testing.assert_array_equal(np.sort(everything), np.arange(7165))
    again = deck_split(7165)
    for a, b in zip(split, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = deck_split(7165, seed=1)
    assert not np.array_equal(split.validation, other.validation)


def test_holdout_split():
    train, test = holdout_split(100, test_size=0.2)
    assert len(train) == 80 and len(test) == 20
    assert not set(train) & set(test)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"validation_size": 0.0}, "validation_size must be a fraction"),
        ({"validation_size": 1.2}, "validation_size must be a fraction"),
        ({"test_size": -0.1}, "test_size must be a fraction"),
    ],
)
def test_bad_fractions(kwargs, message):
    with pytest.raises(ValueError, match=message):
        deck_split(100, **kwargs)
    with pytest.raises(TypeError, match="test_size must be a number"):
        holdout_split(100, test_size="0.2")


def test_fold_splits_follow_P():
    P = np.arange(20).reshape(5, 4)[:, ::-1]
    seen = []
    for k, train, test in fold_splits(P):
        np.testing.assert_array_equal(test, np.sort(P[k]))
        assert len(train) == 16 and not set(train) & set(test)
        seen.extend(test)
    assert sorted(seen) == list(range(20))


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
