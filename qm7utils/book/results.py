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
``headline.value`` must equal ``metrics[split][metric]``, and ``headline.std`` the
``<metric>_std`` of that group when it has one.

Where results go. Rerunning a chapter never destroys committed work:

- ``$QM7_RESULTS_DIR``, when set, takes every results file (the test suite points it at a
  temporary folder; ``python -m qm7utils.book.run`` points it at ``<output-dir>/results``
  for a run with ``--quick`` or ``--params``);
- otherwise only the book's default run, with exactly the parameters of
  :data:`qm7utils.book.params.DEFAULTS` (``make run``), writes to the committed ``results/``
  of the repository (:func:`book_results_dir`);
- a run with any other parameters (``papermill ... -p seed 1``, a notebook whose parameters
  cell was edited) writes to ``_build/executed/results/`` beside it (:func:`trial_results_dir`)
  and says so.

Files are written atomically under a unique temporary name, so two processes saving the same
file at once leave one complete file; a file's ``notebook`` must match its file name and be
a plain name (no folders, no ``..``).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import re
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from .params import is_default_run

__all__ = [
    "PROTOCOLS",
    "SCHEMA_VERSION",
    "SPLITS",
    "ResultsError",
    "book_results_dir",
    "load_results",
    "read_results",
    "results_dir",
    "save_results",
    "trial_results_dir",
    "validate_results",
]

SCHEMA_VERSION = 1
#: Known protocols: the deck's 70/15/15 split, the deck's 80/20 split (2D CNN), the five
#: P folds of QM7 (the literature's protocol), and single P folds or subsets (learning curves).
PROTOCOLS = ("deck split", "deck 80/20 split", "P folds", "P fold subset")
TASKS = ("regression", "classification")
#: The split names of ``split_sizes`` and of ``headline.split`` (which may also be ``cv``).
SPLITS = ("train", "validation", "test")
#: The headline metric of each task: the number the closing comparison shows.
HEADLINE_METRICS = {"regression": "mae", "classification": "accuracy"}
#: A notebook name: letters, digits, ``_`` and ``-`` (no folders, no dots).
NOTEBOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_VERSION_PACKAGES = (
    "numpy", "scipy", "pandas", "scikit-learn", "xgboost", "keras", "jax", "networkx",
    "optuna", "qmllib", "qm7utils",
)


class ResultsError(ValueError):
    """A results file is missing, malformed or does not follow the schema."""


def book_results_dir() -> Path:
    """The committed ``results/`` of the repository (or of the working folder, outside it)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "_toc.yml").is_file():
        return root / "results"
    return Path.cwd() / "results"


def trial_results_dir() -> Path:
    """Where runs with non-default parameters save: ``_build/executed/results`` beside
    :func:`book_results_dir` (the runner's default output folder for trial runs)."""
    return book_results_dir().parent / "_build" / "executed" / "results"


def results_dir(notebook: str | None = None, run_parameters: dict | None = None) -> Path:
    """The results folder: ``$QM7_RESULTS_DIR`` when set, else the committed ``results/``.

    Given a notebook and its parameters (as :func:`save_results` does), a run whose
    parameters differ from the notebook's defaults gets :func:`trial_results_dir` instead, so
    that it never overwrites the committed results.
    """
    env = os.environ.get("QM7_RESULTS_DIR")
    if env:
        return Path(env).expanduser()
    if notebook is not None and not is_default_run(notebook, run_parameters or {}):
        return trial_results_dir()
    return book_results_dir()


def _check_name(notebook: Any, source: str) -> None:
    if not isinstance(notebook, str) or not NOTEBOOK_NAME.fullmatch(notebook):
        raise ResultsError(
            f"{source}: notebook {notebook!r} is not a notebook name (letters, digits, '_' "
            "and '-', e.g. '06_regression'; no folders or dots)"
        )


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


def validate_results(
    data: dict, source: str = "results", path: str | os.PathLike | None = None
) -> dict:
    """Check a results document against the schema; return it unchanged.

    Parameters
    ----------
    data : dict
        The document, as read from JSON.
    source : str
        How messages name the document (the file name when ``path`` is given).
    path : path, optional
        The file it was read from: its ``notebook`` must then match the file's name.

    Raises
    ------
    ResultsError
        Naming the first field that is missing or wrong.
    """
    if path is not None:
        source = Path(path).name

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
    _check_name(need(data, "notebook", str, ""), source)
    if path is not None and data["notebook"] != Path(path).stem:
        raise ResultsError(
            f"{source}: notebook {data['notebook']!r} does not match the file name; a results "
            f"file is named after its notebook ({data['notebook']}.json)"
        )
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
        _check_headline(entry, f"{source}: {where}headline")
        _number(need(entry, "wall_time_s", (int, float), where), f"{source}: {where}wall_time_s")
        need(entry, "parameters", dict, where)
    return data


def _check_headline(entry: dict, where: str) -> None:
    """The headline is the task's metric, and equals the value in ``metrics`` it names."""
    headline, metrics = entry["headline"], entry["metrics"]
    split, metric = headline["split"], headline["metric"]
    expected = HEADLINE_METRICS[entry["task"]]
    if metric != expected:
        raise ResultsError(f"{where}.metric of a {entry['task']} entry must be {expected!r}")
    group = metrics.get(split, {})
    if metric not in group or isinstance(group[metric], list):
        raise ResultsError(f"{where} names metrics.{split}.{metric}, which is missing")
    if not math.isclose(headline["value"], group[metric], rel_tol=1e-9, abs_tol=1e-12):
        raise ResultsError(
            f"{where}.value {headline['value']!r} differs from metrics.{split}.{metric} "
            f"{group[metric]!r}"
        )
    std = group.get(f"{metric}_std")
    if std is not None and not isinstance(std, list) and (
        headline.get("std") is None
        or not math.isclose(headline["std"], std, rel_tol=1e-9, abs_tol=1e-12)
    ):
        raise ResultsError(
            f"{where}.std {headline.get('std')!r} differs from metrics.{split}.{metric}_std "
            f"{std!r}"
        )


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
        Defaults to :func:`results_dir` for this notebook and these parameters: the committed
        ``results/`` only for the default parameters (see the module docstring).

    Returns
    -------
    Path of the written file.
    """
    _check_name(notebook, "save_results")
    data = {
        "schema_version": SCHEMA_VERSION,
        "notebook": notebook,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "run_parameters": _jsonable(run_parameters),
        "versions": library_versions(),
        "entries": _jsonable(entries),
    }
    validate_results(data, source=notebook)
    if directory is not None:
        folder = Path(directory)
    else:
        folder = results_dir(notebook, data["run_parameters"])
        if folder == trial_results_dir():
            print(f"Non-default parameters: results go to {folder}, not over the committed "
                  "results/ (set QM7_RESULTS_DIR to choose the folder).")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{notebook}.json"
    # A unique temporary file in the same folder, then an atomic rename: a concurrent save or
    # a crash never leaves a torn file, and no two writers share a temporary name.
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=f".{notebook}.", suffix=".json.tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(json.dumps(data, indent=2, allow_nan=False) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_results(path: str | os.PathLike) -> dict:
    """Read and validate one results file (its ``notebook`` must match its name).

    Raises
    ------
    ResultsError
        If the file cannot be read, is not valid JSON or breaks the schema.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise ResultsError(f"Cannot read {path}: {error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ResultsError(f"{path.name} is not valid JSON: {error}") from None
    return validate_results(data, path=path)


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
    return [read_results(path) for path in sorted(folder.glob("*.json"))]
