"""qm7utils.book.results: the schema of results files."""

from __future__ import annotations

import json

import pytest

from qm7utils.book.results import ResultsError, load_results, save_results, validate_results


def entry(**changes):
    base = {
        "model": "XGBoost (deck parameters)",
        "task": "regression",
        "features": "sorted CM triangle",
        "protocol": "deck split",
        "split_sizes": {"train": 10, "test": 3, "validation": 3},
        "metrics": {"validation": {"mae": 8.3, "r2": 0.99}, "test": {"per_fold_mae": [1.0, 2.0]}},
        "headline": {"split": "validation", "metric": "mae", "value": 8.3, "std": None},
        "wall_time_s": 1.5,
        "parameters": {"max_depth": 5},
    }
    base.update(changes)
    return base


def test_save_and_load_roundtrip(tmp_path):
    import numpy as np

    path = save_results(
        "06_regression", [entry(wall_time_s=np.float64(2.0))], {"seed": np.int64(1)}, tmp_path
    )
    assert path.name == "06_regression.json"
    (document,) = load_results(tmp_path)
    assert document["entries"][0]["wall_time_s"] == 2.0
    assert document["run_parameters"] == {"seed": 1}
    assert "numpy" in document["versions"] and document["created"].endswith("+00:00")
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": ""}, "model is empty"),
        ({"task": "ranking"}, "task must be one of"),
        ({"protocol": "random"}, "protocol must be one of"),
        ({"split_sizes": {"train": 0}}, "split_sizes.train must be a positive int"),
        ({"split_sizes": {"train": 10, "dev": 3}}, r"split_sizes.dev: splits are \('train'"),
        ({"headline": {"split": "dev", "metric": "mae", "value": 1.0}}, "headline.split must"),
        (
            {"metrics": {"validation": {"mae": float("nan")}}},
            "metrics.validation.mae must be a finite",
        ),
        ({"headline": {"split": "validation", "metric": "mae"}}, "headline.value must be"),
        ({"wall_time_s": "fast"}, "wall_time_s must be"),
    ],
)
def test_schema_violations_are_named(tmp_path, changes, message):
    with pytest.raises(ResultsError, match=message):
        save_results("06_regression", [entry(**changes)], {}, tmp_path)
    assert not (tmp_path / "06_regression.json").exists()


def test_malformed_files_are_rejected(tmp_path):
    with pytest.raises(ResultsError, match="No results folder"):
        load_results(tmp_path / "missing")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ResultsError, match="bad.json is not valid JSON"):
        load_results(tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({"schema_version": 1}))
    with pytest.raises(ResultsError, match="notebook is missing"):
        load_results(tmp_path)
    with pytest.raises(ResultsError, match="created must carry a time zone"):
        validate_results(
            {"schema_version": 1, "notebook": "x", "created": "2026-01-01T00:00:00",
             "run_parameters": {}, "versions": {}, "entries": [entry()]}
        )
