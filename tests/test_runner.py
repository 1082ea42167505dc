"""qm7utils.book.run: the batch runner, on small notebooks made here (no real data needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest

from qm7utils.book import run
from qm7utils.book.params import ParameterError

KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def make_notebook(path, body: str = "print('ok')") -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = KERNEL
    nb.cells = [
        nbformat.v4.new_code_cell(
            "seed = 0\nn_molecules = None", metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell("print({'seed': seed, 'n_molecules': n_molecules})"),
        nbformat.v4.new_code_cell(body),
    ]
    nbformat.write(nb, path)


@pytest.fixture
def book(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    make_notebook(folder / "01_data.ipynb")
    make_notebook(folder / "02_features.ipynb", "raise RuntimeError('boom')")
    make_notebook(folder / "03_centrality.ipynb")
    return folder


def outputs(path) -> str:
    nb = nbformat.read(path, as_version=4)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def test_find_notebooks_order_and_only(book):
    names = [p.stem for p in run.find_notebooks(book)]
    assert names == ["01_data", "02_features", "03_centrality"]
    chosen = run.find_notebooks(book, ["03", "01_data"])
    assert [p.stem for p in chosen] == ["01_data", "03_centrality"]
    with pytest.raises(run.RunError, match="matches no notebook"):
        run.find_notebooks(book, ["07"])


def test_resolve_parameters_layers_and_validation():
    assert run.resolve_parameters("01_data", quick=True) == {"n_molecules": 500}
    layered = run.resolve_parameters(
        "01_data", quick=True, overrides={"all": {"seed": 3}, "01_data": {"n_molecules": 100}}
    )
    assert layered == {"n_molecules": 100, "seed": 3}
    assert run.resolve_parameters("09_conclusion", overrides={"all": {"seed": 3}}) == {}
    with pytest.raises(ParameterError, match=r"Unknown parameter\(s\) \['epochs'\] for 01_data"):
        run.resolve_parameters("01_data", overrides={"01_data": {"epochs": 1}})
    with pytest.raises(ParameterError, match=r"Unknown notebook\(s\) \['01_dat'\]"):
        run.resolve_parameters("01_data", overrides={"01_dat": {"seed": 1}})
    with pytest.raises(ParameterError, match="'n_molecules' of 01_data"):
        run.resolve_parameters("01_data", overrides={"01_data": {"n_molecules": -5}})


def test_run_writes_copies_with_parameters_and_leaves_originals(book, tmp_path):
    out = tmp_path / "out"
    before = (book / "01_data.ipynb").read_text()
    times = run.run_notebooks(
        run.find_notebooks(book, ["01"]), out, overrides={"all": {"seed": 7}}
    )
    assert list(times) == ["01_data"]
    assert (book / "01_data.ipynb").read_text() == before
    assert "'seed': 7" in outputs(out / "01_data.ipynb")


def test_stops_at_first_failure_and_names_the_cell(book, tmp_path, capsys):
    code = run.main(["--notebooks-dir", str(book), "--output-dir", str(tmp_path / "o")])
    assert code == 1
    err = capsys.readouterr()
    assert "02_features failed in cell 2" in err.err and "RuntimeError: boom" in err.err
    assert (tmp_path / "o" / "01_data.ipynb").exists()
    assert not (tmp_path / "o" / "03_centrality.ipynb").exists()  # stopped


def test_bad_parameter_file_is_refused_before_running(book, tmp_path, capsys):
    params = tmp_path / "p.yml"
    params.write_text("01_data:\n  n_molecules: 3\n")
    assert run.main(["--notebooks-dir", str(book), "--params", str(params)]) == 1
    assert "'n_molecules' of 01_data must be an integer from 50" in capsys.readouterr().err
    params.write_text("- not a mapping\n")
    assert run.main(["--notebooks-dir", str(book), "--params", str(params)]) == 1
    assert "must map notebook names" in capsys.readouterr().err


def test_list(book, capsys):
    assert run.main(["--notebooks-dir", str(book), "--list"]) == 0
    assert "n_molecules: an integer from 50 to 7165" in capsys.readouterr().out


def test_progress_bars_are_switched_off_by_tqdms_own_variable():
    code = "from qm7utils.book.progress import progress; print(progress(range(3)).disable)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TQDM_")}
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True)
    hidden = subprocess.run([sys.executable, "-c", code], env={**env, "TQDM_DISABLE": "1"},
                            capture_output=True, text=True, check=True)
    assert (shown.stdout.strip(), hidden.stdout.strip()) == ("False", "True")
