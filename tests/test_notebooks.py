"""The book's notebooks under papermill: the quick profile, parameters, validation errors.

These execute the real notebooks (on the real data) with non-default parameters; the copies
and results files go to temporary folders, never over the committed ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import papermill
import pytest

from qm7utils.book import run
from qm7utils.book.params import NOTEBOOKS, QUICK
from qm7utils.book.results import load_results

pytestmark = [pytest.mark.notebooks, pytest.mark.data]


def _notebooks(root):
    notebooks = sorted((root / "notebooks").glob("[0-9][0-9]*.ipynb"))
    if not notebooks:
        pytest.skip("no notebooks yet")
    return notebooks


def _text(nb) -> str:
    """Every stored output of a notebook as one string."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            for value in output.get("data", {}).values():
                parts.append(value if isinstance(value, str) else json.dumps(value))
    return "\n".join(parts)


def _error_outputs(nb) -> list[str]:
    """The stored error outputs of a notebook, as ``cell N: ename: evalue``."""
    return [
        f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
        for index, cell in enumerate(nb.cells)
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


@pytest.fixture(scope="module")
def quick_run(root, qm7, tmp_path_factory):
    """The whole quick profile, once: executed copies, their results files, and the failures.

    Each notebook runs on its own, so one that fails does not hide the others: its failure is
    recorded, and its executed copy, error output included, is kept for the tests to read.
    """
    notebooks = _notebooks(root)
    out = tmp_path_factory.mktemp("quick")
    failures = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QM7_RESULTS_DIR", str(out / "results"))
        for notebook in notebooks:
            try:
                run.run_notebooks([notebook], output_dir=out, quick=True)
            except run.RunError as error:
                failures[notebook.stem] = str(error)
        yield out, notebooks, failures


def test_error_outputs_are_found():
    """The check below reads error outputs where papermill stores them."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1 / 0"), nbformat.v4.new_code_cell("1")]
    nb.cells[0].outputs = [nbformat.v4.new_output(
        "error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1"})]
    assert _error_outputs(nb) == ["cell 0: ZeroDivisionError: division by zero"]


def test_quick_profile_runs_every_notebook(quick_run):
    out, notebooks, failures = quick_run
    problems = [f"{stem}: {message}" for stem, message in failures.items()]
    for notebook in notebooks:
        executed = out / notebook.name
        if not executed.exists():
            problems.append(f"{notebook.stem}: no executed copy")
            continue
        # A cell may store an error without stopping the run (a raises-exception tag).
        errors = _error_outputs(nbformat.read(executed, as_version=4))
        problems += [f"{notebook.stem} {error}" for error in errors]
    assert not problems, "\n".join(problems)


def test_quick_outputs_reflect_the_parameters(quick_run):
    out, notebooks, _ = quick_run
    for notebook in notebooks:
        quick = QUICK.get(notebook.stem, {})
        if "n_molecules" not in quick:
            continue
        text = _text(nbformat.read(out / notebook.name, as_version=4))
        assert f"n_molecules={quick['n_molecules']}" in text, notebook.stem
    # Results files of the modelling chapters record the quick parameters they ran with.
    documents = {d["notebook"]: d for d in load_results(out / "results")}
    for name, document in documents.items():
        for key, value in QUICK.get(name, {}).items():
            assert document["run_parameters"].get(key) == value, (name, key)


@pytest.mark.parametrize("bad", [{"seed": -1}, {"seed": "forty-two"}])
def test_bad_parameters_stop_in_the_check_cell(root, tmp_path, bad):
    for notebook in _notebooks(root):
        if "seed" not in NOTEBOOKS.get(notebook.stem, {}):
            continue
        with pytest.raises(papermill.PapermillExecutionError) as info:
            papermill.execute_notebook(
                str(notebook), str(tmp_path / notebook.name), parameters=bad,
                cwd=str(notebook.parent), kernel_name="python3", progress_bar=False,
            )
        error = info.value
        assert error.ename == "ParameterError", notebook.stem
        assert "'seed'" in error.evalue and "must be an integer" in error.evalue
        assert "check_parameters(" in error.source, notebook.stem


def test_papermill_command_line_as_a_user_types_it(root, tmp_path):
    notebook = root / "notebooks" / "06_regression.ipynb"
    if not notebook.exists():
        pytest.skip("06_regression.ipynb does not exist yet")
    out = tmp_path / "out.ipynb"
    papermill_cli = os.path.join(os.path.dirname(sys.executable), "papermill")
    subprocess.run(
        [papermill_cli, str(notebook), str(out), "-p", "seed", "1", "-p", "n_molecules", "500",
         "--cwd", str(notebook.parent), "--no-progress-bar"],
        check=True, capture_output=True, text=True,
        env={**os.environ, "QM7_RESULTS_DIR": str(tmp_path / "results")},
    )
    text = _text(nbformat.read(out, as_version=4))
    assert "n_molecules=500" in text
    (document,) = load_results(tmp_path / "results")
    assert document["run_parameters"]["seed"] == 1
