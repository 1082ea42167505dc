"""qm7utils.book.params: notebook parameters are checked where they enter."""

from __future__ import annotations

import pytest

from qm7utils.book.params import (
    NOTEBOOKS,
    QUICK,
    Boolean,
    Choice,
    Integer,
    ParameterError,
    Real,
    check_parameters,
    describe_parameters,
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
