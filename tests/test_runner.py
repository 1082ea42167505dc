"""qm7utils.book.run: the batch runner, on small notebooks made here (no real data needed)."""

from __future__ import annotations

import json
import os
import re
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
    assert run.resolve_parameters("10_conclusion", overrides={"all": {"seed": 3}}) == {}
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


# --- Parameters files: nothing dropped silently -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "gives no parameter values"),
        ("# only a comment\n\n# and another\n", "gives no parameter values"),
        ("all: {}\n", "gives no parameter values"),
        ("all:\n  sede: 1\n", r"Unknown parameter\(s\) \['sede'\] under 'all'; the notebooks' "
                              r"parameters are seed, n_molecules, example"),
        ("01_data:\n  n_molecule: 500\n", r"\['n_molecule'\] for 01_data; its parameters are "
                                          r"seed, n_molecules"),
        ("01_dta:\n  seed: 1\n", r"Unknown notebook\(s\) \['01_dta'\]"),
        ("all:\n  seed: 1\n  seed: 2\n", r"repeated key\(s\) \['seed'\]"),
        ("01_data:\n  seed: 1\n01_data:\n  seed: 2\n", r"repeated key\(s\) \['01_data'\]"),
    ],
)
def test_parameter_files_that_would_run_something_else_are_refused(book, tmp_path, capsys,
                                                                     text, message):
    before = {p.name: p.read_text() for p in book.iterdir()}
    params = tmp_path / "p.yml"
    params.write_text(text)
    out = tmp_path / "out"
    assert run.main(["--notebooks-dir", str(book), "--params", str(params),
                     "--output-dir", str(out)]) == 1
    assert re.search(message, capsys.readouterr().err)
    assert not out.exists()  # refused before anything ran
    assert {p.name: p.read_text() for p in book.iterdir()} == before


def test_all_applies_to_the_notebooks_that_have_the_parameter():
    overrides = {"all": {"seed": 3, "features": "deck"}}
    assert run.resolve_parameters("01_data", overrides=overrides) == {"seed": 3}
    assert run.resolve_parameters("06_regression", overrides=overrides) == {
        "seed": 3, "features": "deck"}
    with pytest.raises(ParameterError, match="'features' of 06_regression"):
        run.resolve_parameters("06_regression", overrides={"all": {"features": "dek"}})


# --- Reruns never destroy committed notebooks -------------------------------------------------


def test_a_failed_in_place_run_leaves_the_notebook_unchanged(book, capsys):
    before = (book / "02_features.ipynb").read_bytes()
    assert run.main(["--notebooks-dir", str(book), "--only", "02"]) == 1
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err and "02_features.ipynb is unchanged" in err
    assert (book / "02_features.ipynb").read_bytes() == before
    assert sorted(p.name for p in book.iterdir()) == [
        "01_data.ipynb", "02_features.ipynb", "03_centrality.ipynb"]  # no temporary copy left


def test_an_in_place_run_replaces_the_notebook_on_success(book):
    (book / "01_data.ipynb").chmod(0o664)
    run.run_notebooks(run.find_notebooks(book, ["01"]))
    nb = nbformat.read(book / "01_data.ipynb", as_version=4)
    assert "'seed': 0" in outputs(book / "01_data.ipynb")
    assert nb.metadata.papermill["output_path"].endswith("01_data.ipynb")
    assert len(list(book.iterdir())) == 3
    assert (book / "01_data.ipynb").stat().st_mode & 0o777 == 0o664  # its mode is kept


def test_a_failed_copy_elsewhere_is_kept_with_its_error(book, tmp_path):
    with pytest.raises(run.RunError, match="the executed copy, with the error, is"):
        run.run_notebooks(run.find_notebooks(book, ["02"]), tmp_path / "o")
    assert "boom" in outputs(tmp_path / "o" / "02_features.ipynb")
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["02_features.ipynb"]


@pytest.mark.parametrize("args", [["--quick"], ["--params", "PARAMS"]])
def test_trial_runs_into_the_notebooks_folder_are_refused_unless_asked(book, tmp_path, capsys,
                                                                        args):
    params = tmp_path / "p.yml"
    params.write_text("all:\n  seed: 5\n")
    args = [str(params) if a == "PARAMS" else a for a in args]
    before = (book / "01_data.ipynb").read_text()
    for output_dir in (str(book), str(book / ".." / "notebooks")):
        code = run.main(["--notebooks-dir", str(book), "--only", "01", "--output-dir",
                         output_dir, *args])
        assert code == 1
        assert "would overwrite the committed notebooks" in capsys.readouterr().err
        assert (book / "01_data.ipynb").read_text() == before
    with pytest.raises(run.RunError, match="--in-place"):  # the same through the API
        run.run_notebooks(run.find_notebooks(book, ["01"]), quick=True)
    assert run.main(["--notebooks-dir", str(book), "--only", "01", "--in-place", *args]) == 0
    assert (book / "01_data.ipynb").read_text() != before


def test_the_environment_is_restored_after_a_run(book, tmp_path, monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.delenv("QM7_RESULTS_DIR", raising=False)
    make_notebook(book / "01_data.ipynb", "import os\n"
                  "print(os.environ.get('TQDM_DISABLE'), os.environ.get('QM7_RESULTS_DIR'))")
    out = tmp_path / "out"
    run.run_notebooks(run.find_notebooks(book, ["01"]), out, overrides={"all": {"seed": 1}})
    assert f"1 {out / 'results'}" in outputs(out / "01_data.ipynb")  # set for the kernel
    assert "TQDM_DISABLE" not in os.environ and "QM7_RESULTS_DIR" not in os.environ
    monkeypatch.setenv("TQDM_DISABLE", "0")
    monkeypatch.setenv("QM7_RESULTS_DIR", str(tmp_path / "mine"))
    run.run_notebooks(run.find_notebooks(book, ["01"]), out, overrides={"all": {"seed": 1}})
    assert f"1 {tmp_path / 'mine'}" in outputs(out / "01_data.ipynb")  # the caller's choice
    assert (os.environ["TQDM_DISABLE"], os.environ["QM7_RESULTS_DIR"]) == (
        "0", str(tmp_path / "mine"))


def test_copies_in_the_repository_root_keep_results_out_of_results(book, tmp_path, monkeypatch):
    monkeypatch.delenv("QM7_RESULTS_DIR", raising=False)
    monkeypatch.setattr(run, "book_results_dir", lambda: tmp_path / "results")
    monkeypatch.setattr(run, "trial_results_dir", lambda: tmp_path / "trial")
    make_notebook(book / "01_data.ipynb", "import os; print(os.environ['QM7_RESULTS_DIR'])")
    run.run_notebooks(run.find_notebooks(book, ["01"]), tmp_path, overrides={"all": {"seed": 1}})
    assert str(tmp_path / "trial") in outputs(tmp_path / "01_data.ipynb")
