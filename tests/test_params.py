"""qm7utils.book.params: notebook parameters are checked where they enter."""

from __future__ import annotations

import pytest

from qm7utils.book.params import (
    DEFAULTS,
    NOTEBOOKS,
    QUICK,
    Boolean,
    Choice,
    Integer,
    ParameterError,
    Real,
    check_parameters,
    describe_parameters,
    injected_names,
    is_default_run,
)


def test_valid_parameters_pass_through():
    assert check_parameters("01_data", seed=3, n_molecules=None) == {"seed": 3, "n_molecules": None}
    assert check_parameters("01_data", seed=3, n_molecules=500)["n_molecules"] == 500


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"seed": -1, "n_molecules": None}, r"'seed' of 01_data must be an integer from 0"),
        ({"seed": 1.5, "n_molecules": None}, r"'seed' .* got 1.5 \(float\)"),
        ({"seed": True, "n_molecules": None}, r"'seed'"),
        ({"seed": 0, "n_molecules": -5}, r"'n_molecules' .* from 50 to 7165, or None"),
        ({"seed": 0, "n_molecules": "all"}, r"'n_molecules'"),
        ({"seed": 0}, r"\['n_molecules'\] of 01_data were not passed"),
        ({"seed": 0, "n_molecules": None, "epochs": 3}, r"Unknown parameter\(s\) \['epochs'\]"),
    ],
)
def test_bad_parameters_name_the_parameter(values, message):
    with pytest.raises(ParameterError, match=message):
        check_parameters("01_data", **values)


def test_validators():
    assert Real(0, 1, open=True).validate(0.5) == 0.5
    for bad in (0.0, 1.0, float("nan"), "0.5"):
        with pytest.raises((TypeError, ValueError)):
            Real(0, 1, open=True).validate(bad)
    assert Choice(("a", "b")).validate("a") == "a"
    with pytest.raises(ValueError):
        Choice(("a", "b")).validate("c")
    with pytest.raises(TypeError):
        Boolean().validate(1)
    assert Integer(min=1).describe() == "an integer >= 1"
    assert "one of 'a', 'b'" == Choice(("a", "b")).describe()


def test_unknown_notebook():
    with pytest.raises(ParameterError, match="Unknown notebook"):
        check_parameters("10_missing")


def test_quick_profile_values_are_valid():
    assert set(QUICK) == set(NOTEBOOKS)
    for notebook, quick in QUICK.items():
        spec = NOTEBOOKS[notebook]
        assert set(quick) <= set(spec), notebook
        for name, value in quick.items():
            spec[name].check(name, value, notebook)
    assert "seed" in describe_parameters("06_regression")


# --- Defaults: the notebooks' own values, the only run that refreshes results/ -------------


def _parameters_cell(path) -> dict:
    """The values assigned in a notebook's cell tagged ``parameters``."""
    import ast

    import nbformat

    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    values = {}
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign), f"{path.name}: only assignments in parameters"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def test_defaults_are_the_notebooks_parameters_cells(root):
    assert set(DEFAULTS) == set(NOTEBOOKS)
    notebooks = sorted((root / "notebooks").glob("[0-9][0-9]*.ipynb"))
    assert {p.stem for p in notebooks} <= set(DEFAULTS)
    for path in notebooks:
        assert _parameters_cell(path) == DEFAULTS[path.stem], path.stem
    for notebook, values in DEFAULTS.items():  # and every default passes its own check
        assert check_parameters(notebook, **values) == values


def test_is_default_run():
    values = check_parameters("06_regression", **DEFAULTS["06_regression"])
    assert is_default_run("06_regression", values)
    assert not is_default_run("06_regression", {**values, "seed": 1})
    assert not is_default_run("06_regression", {**values, "n_molecules": 500})
    assert not is_default_run("06_regression", {})
    assert not is_default_run("10_missing", {})
    assert is_default_run("10_conclusion", {})


# --- Names papermill injected (`papermill ... -p NAME VALUE`) are checked too --------------


def test_injected_names_reads_the_last_papermill_cell():
    history = ["", "seed = 42\nn_molecules = None", "# Parameters\nseed = 1\nsede = 2\n",
               "import qm7utils"]
    assert injected_names(history) == ["seed", "sede"]
    assert injected_names(["# Parameters\nseed = 1\n", "# Parameters\nx: int = 3\n"]) == ["x"]
    assert injected_names(["seed = 1", "n_molecules = 5"]) == []  # no papermill cell
    assert injected_names(["# Parameters of the model\nx = 1"]) == []  # not papermill's
    assert injected_names(["# Parameters\nnot python (\n"]) == []
    assert injected_names([]) == []


class FakeShell:
    def __init__(self, history):
        self.user_ns = {"In": history}


def test_check_refuses_a_misspelt_name_given_to_papermill(monkeypatch):
    import IPython

    history = ["", "seed = 42\nn_molecules = None", "# Parameters\nsede = 1\n"]
    monkeypatch.setattr(IPython, "get_ipython", lambda: FakeShell(history))
    with pytest.raises(ParameterError, match=r"\['sede'\] given to papermill for 01_data; its "
                                             r"parameters are seed, n_molecules"):
        check_parameters("01_data", seed=42, n_molecules=None)
    history[-1] = "# Parameters\nseed = 1\n"  # a declared name passes
    assert check_parameters("01_data", seed=1, n_molecules=None)["seed"] == 1
    with pytest.raises(ParameterError, match=r"\['seed'\] given to papermill for 10_conclusion"):
        check_parameters("10_conclusion")


def test_outside_ipython_nothing_more_is_checked(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert check_parameters("01_data", seed=1, n_molecules=None)["seed"] == 1


def test_a_real_papermill_run_refuses_a_misspelt_name(tmp_path):
    import nbformat
    import papermill

    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("seed = 42\nn_molecules = None",
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from qm7utils import check_parameters\n"
            "params = check_parameters('01_data', seed=seed, n_molecules=n_molecules)\n"
            "print(params)"
        ),
    ]
    nbformat.write(nb, tmp_path / "in.ipynb")
    run = dict(kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters={"n_molecule": 500}, **run)
    assert info.value.ename == "ParameterError" and "'n_molecule'" in info.value.evalue
    out = papermill.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "ok.ipynb"),
                                     parameters={"n_molecules": 500}, **run)
    assert "'n_molecules': 500" in out.cells[-1].outputs[0].text
