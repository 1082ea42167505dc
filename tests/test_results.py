"""qm7utils.book.results: the schema of results files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from qm7utils.book import results
from qm7utils.book.params import DEFAULTS
from qm7utils.book.results import (
    ResultsError,
    load_results,
    read_results,
    save_results,
    validate_results,
)


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


# --- Where results go: only the default run writes the committed results/ ------------------


@pytest.fixture
def book(tmp_path, monkeypatch):
    """A stand-in for the repository: its results/ is tmp_path/results; no QM7_RESULTS_DIR."""
    monkeypatch.delenv("QM7_RESULTS_DIR", raising=False)
    monkeypatch.setattr(results, "book_results_dir", lambda: tmp_path / "results")
    return tmp_path


def test_the_default_run_writes_the_book_results(book):
    path = save_results("06_regression", [entry()], DEFAULTS["06_regression"])
    assert path == book / "results" / "06_regression.json"


@pytest.mark.parametrize("change", [{"seed": 1}, {"n_molecules": 500}, {"features": "deck"}])
def test_other_parameters_never_write_the_book_results(book, capsys, change):
    path = save_results("06_regression", [entry()], {**DEFAULTS["06_regression"], **change})
    assert path == book / "_build" / "executed" / "results" / "06_regression.json"
    assert not (book / "results").exists()
    assert "Non-default parameters" in capsys.readouterr().out
    (document,) = load_results(path.parent)
    assert document["run_parameters"] == {**DEFAULTS["06_regression"], **change}


def test_qm7_results_dir_takes_every_run(book, monkeypatch):
    monkeypatch.setenv("QM7_RESULTS_DIR", str(book / "mine"))
    for params in (DEFAULTS["06_regression"], {**DEFAULTS["06_regression"], "seed": 1}):
        assert save_results("06_regression", [entry()], params).parent == book / "mine"


def test_the_repository_folders(root, monkeypatch):
    monkeypatch.delenv("QM7_RESULTS_DIR", raising=False)
    assert results.book_results_dir() == root / "results" == results.results_dir()
    assert results.trial_results_dir() == root / "_build" / "executed" / "results"
    assert results.results_dir("06_regression", {"seed": 1}) == results.trial_results_dir()


# --- Concurrent saves: one complete file, no temporary left ---------------------------------


def test_concurrent_saves_in_threads_leave_one_complete_file(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    def save(i):
        for _ in range(20):
            save_results("06_regression", [entry(wall_time_s=float(i))], {"seed": i}, tmp_path)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(save, range(8)))  # re-raises any error of a thread
    (document,) = load_results(tmp_path)
    assert document["entries"][0]["wall_time_s"] == document["run_parameters"]["seed"]
    assert [p.name for p in tmp_path.iterdir()] == ["06_regression.json"]


def test_concurrent_saves_in_two_processes(tmp_path):
    code = (
        "import sys; from qm7utils.book.results import save_results\n"
        f"entry = {entry()!r}\n"
        "entry['wall_time_s'] = float(sys.argv[1])\n"
        f"folder = {str(tmp_path)!r}\n"
        "for _ in range(40):\n"
        "    save_results('06_regression', [entry], {'seed': int(sys.argv[1])}, folder)\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", code, str(i)], stderr=subprocess.PIPE,
                                text=True) for i in (1, 2)]
    errors = [w.communicate()[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], errors
    (document,) = load_results(tmp_path)
    assert document["entries"][0]["wall_time_s"] == document["run_parameters"]["seed"]
    assert [p.name for p in tmp_path.iterdir()] == ["06_regression.json"]


# --- A file names its own notebook, and its headline is one of its metrics ------------------


def document(**changes):
    base = {"schema_version": 1, "notebook": "06_regression",
            "created": "2026-01-01T00:00:00+00:00", "run_parameters": {}, "versions": {},
            "entries": [entry()]}
    base.update(changes)
    return base


def test_notebook_must_match_the_file_name(tmp_path):
    (tmp_path / "06_regression.json").write_text(json.dumps(document(notebook="05_classification")))
    with pytest.raises(ResultsError, match="06_regression.json: notebook '05_classification' "
                                           "does not match the file name"):
        load_results(tmp_path)
    with pytest.raises(ResultsError, match="does not match"):
        read_results(tmp_path / "06_regression.json")
    assert validate_results(document(), path="results/06_regression.json")


@pytest.mark.parametrize("name", ["../06_regression", "sub/06_regression", "..", "a\\b",
                                  "/tmp/x", "06.regression", "", " 06"])
def test_notebook_names_cannot_point_outside_the_folder(tmp_path, name):
    folder = tmp_path / "results"
    with pytest.raises(ResultsError, match="is not a notebook name"):
        save_results(name, [entry()], {}, folder)
    assert not folder.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(ResultsError, match="is not a notebook name"):
        validate_results(document(notebook=name))


@pytest.mark.parametrize(
    ("headline", "message"),
    [
        ({"value": 9.0}, r"headline.value 9.0 differs from metrics.validation.mae 8.3"),
        ({"split": "test"}, r"names metrics.test.mae, which is missing"),
        ({"metric": "r2", "value": 0.99}, r"headline.metric of a regression entry must be 'mae'"),
        ({"split": "cv"}, r"names metrics.cv.mae, which is missing"),
    ],
)
def test_headline_must_match_its_metrics(tmp_path, headline, message):
    bad = entry(headline={**entry()["headline"], **headline})
    with pytest.raises(ResultsError, match=message):
        save_results("06_regression", [bad], {}, tmp_path)


def test_headline_std_and_classification_metric():
    folds = entry(metrics={"test": {"mae": 2.0, "mae_std": 0.1, "mae_folds": [1.9, 2.1]}},
                  headline={"split": "test", "metric": "mae", "value": 2.0, "std": 0.1})
    assert validate_results(document(entries=[folds]))
    folds["headline"]["std"] = 0.3
    with pytest.raises(ResultsError, match=r"headline.std 0.3 differs from metrics.test.mae_std"):
        validate_results(document(entries=[folds]))
    classified = entry(task="classification", metrics={"test": {"accuracy": 0.9, "mae": 1.0}},
                       headline={"split": "test", "metric": "mae", "value": 1.0, "std": None})
    with pytest.raises(ResultsError, match="classification entry must be 'accuracy'"):
        validate_results(document(entries=[classified]))
