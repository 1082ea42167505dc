"""Results files: what each modelling chapter measured, for the closing comparison.

Each modelling notebook ends with :func:`save_results`, which writes
``results/<notebook-stem>.json``::

    {
      "schema_version": 1,
      "notebook": "06_regression",
      "created": "2026-11-25T10:00:00+00:00",        # UTC, when the notebook saved it
      "run_parameters": {"seed": 42, ...},           # the notebook's papermill parameters
      "versions": {"python": "3.11.7", "numpy": ..., "qm7utils": ...},
      "entries": [                                   # one per model
        {
          "model": "XGBoost (deck parameters)",
          "task": "regression",                      # or "classification"
          "features": "sorted CM triangle + distance eigenvalues + centralities",
          "protocol": "deck split",                  # see PROTOCOLS
          "split_sizes": {"train": 4993, "validation": 1097, "test": 1075},
          "metrics": {"test": {"mae": 8.3, "rmse": 11.2, "r2": 0.997}, ...},
          "headline": {"split": "test", "metric": "mae", "value": 8.3, "std": null},
          "wall_time_s": 2.1,
          "parameters": {"n_estimators": 150, ...}
        }
      ]
    }

Splits carry the book's names (:data:`SPLITS`): ``train``, ``validation`` (for choosing) and
``test`` (the final hold-out; the deck calls it "validation"). ``metrics`` may hold other
groups as well (``cv``, ``learning_curve``). ``headline`` is the one number the comparison
table shows for the entry: MAE in kcal/mol for regression, accuracy for classification, on a
split or on ``cv``; ``std`` is the spread over folds (P-folds protocol).
The output folder is ``$QM7_RESULTS_DIR`` when set (the test suite points it at a temporary
folder, so test runs never touch the committed files), else ``results/`` of the repository.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "PROTOCOLS",
    "SCHEMA_VERSION",
    "SPLITS",
    "ResultsError",
    "load_results",
    "results_dir",
    "save_results",
    "validate_results",
]

SCHEMA_VERSION = 1
#: Known protocols: the deck's 70/15/15 split, the deck's 80/20 split (2D CNN), the five
#: P folds of QM7 (the literature's protocol), and single P folds or subsets (learning curves).
PROTOCOLS = ("deck split", "deck 80/20 split", "P folds", "P fold subset")
TASKS = ("regression", "classification")
#: The split names of ``split_sizes`` and of ``headline.split`` (which may also be ``cv``).
SPLITS = ("train", "validation", "test")
_VERSION_PACKAGES = (
    "numpy", "scipy", "pandas", "scikit-learn", "xgboost", "keras", "jax", "networkx",
    "optuna", "qmllib", "qm7utils",
)


class ResultsError(ValueError):
    """A results file is missing, malformed or does not follow the schema."""


def results_dir() -> Path:
    """``$QM7_RESULTS_DIR``, else ``results/`` of the repository (or of the working folder)."""
    env = os.environ.get("QM7_RESULTS_DIR")
    if env:
        return Path(env).expanduser()
    root = Path(__file__).resolve().parents[2]
    if (root / "_toc.yml").is_file():
        return root / "results"
    return Path.cwd() / "results"


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries the models use."""
    versions = {"python": platform.python_version()}
    for package in _VERSION_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _number(value: Any, where: str, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ResultsError(f"{where} must be a finite number, got {value!r}")


def validate_results(data: dict, source: str = "results") -> dict:
    """Check a results document against the schema; return it unchanged.

    Raises
    ------
    ResultsError
        Naming the first field that is missing or wrong.
    """

    def need(mapping: dict, key: str, kind, where: str):
        if not isinstance(mapping, dict) or key not in mapping:
            raise ResultsError(f"{source}: {where}{key} is missing")
        if not isinstance(mapping[key], kind):
            raise ResultsError(
                f"{source}: {where}{key} must be {getattr(kind, '__name__', kind)}, "
                f"got {type(mapping[key]).__name__}"
            )
        return mapping[key]

    if need(data, "schema_version", int, "") != SCHEMA_VERSION:
        raise ResultsError(f"{source}: schema_version must be {SCHEMA_VERSION}")
    need(data, "notebook", str, "")
    created = need(data, "created", str, "")
    try:
        stamp = _dt.datetime.fromisoformat(created)
    except ValueError:
        raise ResultsError(f"{source}: created is not an ISO 8601 time: {created!r}") from None
    if stamp.tzinfo is None:
        raise ResultsError(f"{source}: created must carry a time zone (UTC)")
    need(data, "run_parameters", dict, "")
    need(data, "versions", dict, "")
    entries = need(data, "entries", list, "")
    if not entries:
        raise ResultsError(f"{source}: entries is empty")
    for i, entry in enumerate(entries):
        where = f"entries[{i}]."
        for key in ("model", "features"):
            if not need(entry, key, str, where).strip():
                raise ResultsError(f"{source}: {where}{key} is empty")
        if need(entry, "task", str, where) not in TASKS:
            raise ResultsError(f"{source}: {where}task must be one of {TASKS}")
        if need(entry, "protocol", str, where) not in PROTOCOLS:
            raise ResultsError(f"{source}: {where}protocol must be one of {PROTOCOLS}")
        sizes = need(entry, "split_sizes", dict, where)
        for name, size in sizes.items():
            if name not in SPLITS:
                raise ResultsError(f"{source}: {where}split_sizes.{name}: splits are {SPLITS}")
            if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
                raise ResultsError(f"{source}: {where}split_sizes.{name} must be a positive int")
        metrics = need(entry, "metrics", dict, where)
        for split, values in metrics.items():
            if not isinstance(values, dict):
                raise ResultsError(f"{source}: {where}metrics.{split} must be a dict")
            for name, value in values.items():
                if isinstance(value, list):
                    for v in value:
                        _number(v, f"{source}: {where}metrics.{split}.{name}[]")
                else:
                    _number(value, f"{source}: {where}metrics.{split}.{name}")
        headline = need(entry, "headline", dict, where)
        for key in ("split", "metric"):
            need(headline, key, str, where + "headline.")
        if headline["split"] not in (*SPLITS, "cv"):
            raise ResultsError(
                f"{source}: {where}headline.split must be one of {(*SPLITS, 'cv')}"
            )
        _number(headline.get("value"), f"{source}: {where}headline.value")
        _number(headline.get("std"), f"{source}: {where}headline.std", allow_none=True)
        _number(need(entry, "wall_time_s", (int, float), where), f"{source}: {where}wall_time_s")
        need(entry, "parameters", dict, where)
    return data


def _jsonable(value: Any) -> Any:
    """Plain JSON types from NumPy scalars, arrays, tuples and paths."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, Path):
        return str(value)
    return value


def save_results(
    notebook: str,
    entries: list[dict],
    run_parameters: dict,
    directory: str | os.PathLike | None = None,
) -> Path:
    """Write ``<directory>/<notebook>.json`` (validated first; written atomically).

    Parameters
    ----------
    notebook : str
        The notebook's stem, e.g. ``"06_regression"``.
    entries : list of dict
        One per model, with the keys of the schema (see the module docstring).
    run_parameters : dict
        The notebook's validated parameters.
    directory : path, optional
        Defaults to :func:`results_dir`.

    Returns
    -------
    Path of the written file.
    """
    data = {
        "schema_version": SCHEMA_VERSION,
        "notebook": notebook,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "run_parameters": _jsonable(run_parameters),
        "versions": library_versions(),
        "entries": _jsonable(entries),
    }
    validate_results(data, source=notebook)
    folder = Path(directory) if directory is not None else results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{notebook}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
    tmp.replace(target)
    return target


def load_results(directory: str | os.PathLike | None = None) -> list[dict]:
    """Read and validate every ``*.json`` in the results folder, sorted by notebook.

    Raises
    ------
    ResultsError
        If the folder is missing or a file is not valid JSON or breaks the schema.
    """
    folder = Path(directory) if directory is not None else results_dir()
    if not folder.is_dir():
        raise ResultsError(
            f"No results folder at {folder}: run the modelling notebooks first (make run)"
        )
    documents = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ResultsError(f"{path.name} is not valid JSON: {error}") from None
        documents.append(validate_results(data, source=path.name))
    return documents
