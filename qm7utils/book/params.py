"""Notebook parameters: one declaration per notebook, checked where they enter.

Every notebook has a cell tagged ``parameters`` (papermill replaces its values) and, right
after it, a cell that calls :func:`check_parameters` with the notebook's name and every
parameter. A wrong type, a negative size, an unknown feature-set name or a fraction outside
(0, 1) stops the run there, with a message that names the parameter and its allowed values,
instead of failing deep inside a model. So does a misspelt name given to papermill
(``papermill ... -p sede 1``): in a kernel run by papermill, :func:`check_parameters` reads
papermill's injected ``# Parameters`` cell from the kernel's history and refuses any name the
notebook does not declare (papermill itself only warns).

:data:`NOTEBOOKS` declares the parameters of every chapter, :data:`DEFAULTS` their values in
the notebooks' parameters cells (a test checks that they agree) and :data:`QUICK` the small
values of the quick profile (``python -m qm7utils.book.run --quick``), which the test suite
runs. Only a run with the defaults (:func:`is_default_run`) refreshes the committed
``results/`` (see :mod:`qm7utils.book.results`).
"""

from __future__ import annotations

import ast
import numbers
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULTS",
    "NOTEBOOKS",
    "QUICK",
    "Boolean",
    "Choice",
    "Integer",
    "ParameterError",
    "Real",
    "check_parameters",
    "describe_parameters",
    "injected_names",
    "is_default_run",
]


class ParameterError(ValueError):
    """A notebook parameter has a wrong type or value."""


class Param:
    """Base class: ``validate(value)`` returns the value or raises ``ValueError``/``TypeError``."""

    allow_none: bool = False
    none_means: str = ""

    def text(self) -> str:  # pragma: no cover - overridden
        """What the parameter accepts, without the ``None`` option."""
        raise NotImplementedError

    def describe(self) -> str:
        """What the parameter accepts, in words (with ``None`` and its meaning, if allowed)."""
        text = self.text()
        if self.allow_none:
            text += f", or None{' (' + self.none_means + ')' if self.none_means else ''}"
        return text

    def validate(self, value: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def check(self, name: str, value: Any, notebook: str) -> Any:
        if value is None and self.allow_none:
            return None
        try:
            return self.validate(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"Parameter {name!r} of {notebook} must be {self.describe()}; got {value!r} "
                f"({type(value).__name__}). Change it in the parameters cell or in "
                f"`papermill ... -p {name} <value>`."
            ) from None


class Number(Param):
    """Base class of :class:`Integer` and :class:`Real`: a number between optional bounds."""

    min: float | None = None
    max: float | None = None
    open: bool = False
    #: The accepted type, the noun for messages, and how a both-bounded range is written.
    kind: type = numbers.Real
    noun: str = "a number"

    def span(self) -> str:
        left, right = ("(", ")") if self.open else ("[", "]")
        return f"in {left}{self.min}, {self.max}{right}"

    def text(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.noun} {self.span()}"
        if self.min is not None:
            return f"{self.noun} {'>' if self.open else '>='} {self.min}"
        if self.max is not None:
            return f"{self.noun} {'<' if self.open else '<='} {self.max}"
        return self.noun

    def validate(self, value):
        from sklearn.utils import check_scalar

        if isinstance(value, bool):
            raise TypeError
        if value != value:  # NaN passes every comparison of check_scalar
            raise ValueError
        value = check_scalar(value, "value", self.kind, min_val=self.min, max_val=self.max,
                             include_boundaries="neither" if self.open else "both")
        return int(value) if self.kind is numbers.Integral else float(value)


@dataclass(frozen=True)
class Integer(Number):
    """An integer in ``[min, max]`` (either bound optional), or ``None`` when allowed."""

    min: int | None = None
    max: int | None = None
    allow_none: bool = False
    none_means: str = ""
    kind = numbers.Integral
    noun = "an integer"

    def span(self) -> str:
        return f"from {self.min} to {self.max}"


@dataclass(frozen=True)
class Real(Number):
    """A real number in an interval; ``open`` excludes both ends."""

    min: float | None = None
    max: float | None = None
    open: bool = False
    allow_none: bool = False
    none_means: str = ""


def Fraction() -> Real:  # noqa: N802 - reads like the other declarations
    """A fraction strictly between 0 and 1."""
    return Real(0.0, 1.0, open=True)


@dataclass(frozen=True)
class Choice(Param):
    """One of a fixed set of strings."""

    options: tuple[str, ...] = ()

    def text(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def validate(self, value):
        if not isinstance(value, str) or value not in self.options:
            raise ValueError
        return value


@dataclass(frozen=True)
class Boolean(Param):
    """True or False."""

    def text(self) -> str:
        return "True or False"

    def validate(self, value):
        if not isinstance(value, bool):
            raise TypeError
        return value


SEED = Integer(min=0, max=2**32 - 1)
#: Names of the feature sets of chapters 5-6 (the keys of
#: qm7utils.representations.sets.FEATURE_SETS; a test checks they agree, so that this module
#: need not import the features).
FEATURE_SET_NAMES = ("deck", "cm_eigenvalues", "counts", "compact", "deck+counts")
N_MOLECULES = Integer(min=50, max=7165, allow_none=True, none_means="all 7,165 molecules")
#: A molecule by its index in the file (chapters 2-4 draw their worked examples from the file).
MOLECULE = Integer(min=0, max=7164)

#: The parameters of every notebook, by notebook name (file stem).
NOTEBOOKS: dict[str, dict[str, Param]] = {
    "01_data": {"seed": SEED, "n_molecules": N_MOLECULES},
    "02_features": {"seed": SEED, "n_molecules": N_MOLECULES, "example": MOLECULE},
    "03_centrality": {"seed": SEED, "n_molecules": N_MOLECULES, "example": MOLECULE},
    "04_visualization": {
        "seed": SEED,
        "n_molecules": N_MOLECULES,
        "example": MOLECULE,
        "max_points": Integer(min=100),
        "tsne_molecules": Integer(min=0, max=7165),
    },
    "05_classification": {
        "seed": SEED,
        "n_molecules": N_MOLECULES,
        "bin_width": Real(min=0.0, open=True),
        "features": Choice(FEATURE_SET_NAMES),
        "C": Real(min=0.0, open=True, allow_none=True,
                  none_means="chosen on the validation set"),
        "class_weight": Choice(("balanced", "none")),
        "scale": Boolean(),
        "test_size": Fraction(),
        "validation_size": Fraction(),
    },
    "06_regression": {
        "seed": SEED,
        "n_molecules": N_MOLECULES,
        "features": Choice(FEATURE_SET_NAMES),
        "n_trials": Integer(min=1, max=500),
        "cv_folds": Integer(min=2, max=10),
        "n_jobs": Integer(min=1, max=256, allow_none=True,
                          none_means="every core this process may use"),
        "test_size": Fraction(),
        "validation_size": Fraction(),
    },
    "07_cnn": {
        "seed": SEED,
        "n_molecules": N_MOLECULES,
        "deck_epochs": Integer(min=1, max=100),
        "deck_batch_size": Integer(min=1, max=1024),
        "learning_rate": Real(0.0, 1.0, open=True),
        "batch_size": Integer(min=1, max=1024),
        "ablation_epochs": Integer(min=1, max=1000),
        "best_epochs": Integer(min=1, max=2000),
        "p_fold_epochs": Integer(min=1, max=2000),
        "patience": Integer(min=1, max=1000, allow_none=True, none_means="no early stopping"),
        "augmentation_noise": Real(min=0.0, max=100.0),
    },
    "08_message_passing": {
        "seed": SEED,
        "n_molecules": N_MOLECULES,
        "cutoff": Real(0.0, 20.0, open=True),
        "n_basis": Integer(min=2, max=1000),
        "features": Integer(min=2, max=4096),
        "interactions": Integer(min=1, max=20),
        "epochs": Integer(min=1, max=10000),
        "batch_size": Integer(min=1, max=4096),
        "learning_rate": Real(0.0, 1.0, open=True),
    },
    "09_kernels": {
        "seed": SEED,
        "n_molecules": N_MOLECULES,
        "inner_size": Integer(min=50, allow_none=True, none_means="all three inner folds"),
        "view_noise": Real(min=0.0, open=True),
        "frontier_components": Integer(min=1, max=720),
        "frontier_inner_size": Integer(min=50, allow_none=True,
                                       none_means="all three inner folds"),
    },
    "10_conclusion": {},
}

#: The value of every parameter in the notebook's own parameters cell (a test checks that they
#: agree): the book's default run, the only one that refreshes the committed ``results/``.
DEFAULTS: dict[str, dict[str, Any]] = {
    "01_data": {"seed": 42, "n_molecules": None},
    "02_features": {"seed": 42, "n_molecules": None, "example": 108},
    "03_centrality": {"seed": 42, "n_molecules": None, "example": 1000},
    "04_visualization": {"seed": 42, "n_molecules": None, "example": 7000, "max_points": 1500,
                         "tsne_molecules": 1000},
    "05_classification": {"seed": 42, "n_molecules": None, "bin_width": 178.712,
                          "features": "deck", "C": None, "class_weight": "balanced",
                          "scale": True, "test_size": 0.15, "validation_size": 0.18},
    "06_regression": {"seed": 42, "n_molecules": None, "features": "compact", "n_trials": 10,
                      "cv_folds": 5, "n_jobs": None, "test_size": 0.15, "validation_size": 0.18},
    "07_cnn": {"seed": 42, "n_molecules": None, "deck_epochs": 10, "deck_batch_size": 4,
               "learning_rate": 0.001, "batch_size": 32, "ablation_epochs": 40,
               "best_epochs": 200, "p_fold_epochs": 120, "patience": 30,
               "augmentation_noise": 1.0},
    "08_message_passing": {"seed": 42, "n_molecules": None, "cutoff": 4.0, "n_basis": 25,
                           "features": 64, "interactions": 3, "epochs": 16, "batch_size": 32,
                           "learning_rate": 0.005},
    "09_kernels": {"seed": 42, "n_molecules": None, "inner_size": 2000, "view_noise": 1.0,
                   "frontier_components": 128, "frontier_inner_size": 3000},
    "10_conclusion": {},
}

#: Parameter values of the quick profile (tiny subsets, one epoch): every notebook in seconds.
QUICK: dict[str, dict[str, Any]] = {
    "01_data": {"n_molecules": 500},
    "02_features": {"n_molecules": 500},
    "03_centrality": {"n_molecules": 500},
    "04_visualization": {"n_molecules": 500, "max_points": 300, "tsne_molecules": 200},
    "05_classification": {"n_molecules": 500},
    "06_regression": {"n_molecules": 500, "n_trials": 2, "cv_folds": 2},
    "07_cnn": {"n_molecules": 300, "deck_epochs": 1, "ablation_epochs": 2, "best_epochs": 3,
               "p_fold_epochs": 2, "patience": 2},
    "08_message_passing": {"n_molecules": 300, "epochs": 2, "features": 16},
    "09_kernels": {"n_molecules": 500, "inner_size": 200, "frontier_components": 32,
                   "frontier_inner_size": 250},
    "10_conclusion": {},
}


def _spec(notebook: str) -> dict[str, Param]:
    try:
        return NOTEBOOKS[notebook]
    except KeyError:
        raise ParameterError(
            f"Unknown notebook {notebook!r}: known notebooks are {', '.join(NOTEBOOKS)}"
        ) from None


def check_parameters(notebook: str, **values: Any) -> dict[str, Any]:
    """Validate a notebook's parameters; return them as a dict.

    Parameters
    ----------
    notebook : str
        The notebook's name, e.g. ``"06_regression"``.
    **values
        Every parameter of the notebook, by name.

    Raises
    ------
    ParameterError
        On an unknown or missing parameter name, or a value of the wrong type or range; the
        message names the parameter and what it accepts. In an IPython kernel, also on a name
        that papermill injected (``-p NAME VALUE``) but the notebook does not declare.
    """
    spec = _spec(notebook)
    unknown = sorted(set(values) - set(spec))
    if unknown:
        raise ParameterError(
            f"Unknown parameter(s) {unknown} for {notebook}; its parameters are "
            f"{', '.join(spec) or 'none'}"
        )
    injected = sorted(set(injected_names(_kernel_history())) - set(spec))
    if injected:
        raise ParameterError(
            f"Unknown parameter(s) {injected} given to papermill for {notebook}; its "
            f"parameters are {', '.join(spec) or 'none'}. Correct the name in `-p NAME VALUE`."
        )
    missing = sorted(set(spec) - set(values))
    if missing:
        raise ParameterError(f"Parameter(s) {missing} of {notebook} were not passed to the check")
    return {name: spec[name].check(name, values[name], notebook) for name in spec}


def describe_parameters(notebook: str) -> dict[str, str]:
    """What each parameter of a notebook accepts, in words."""
    return {name: param.describe() for name, param in _spec(notebook).items()}


def is_default_run(notebook: str, values: dict[str, Any]) -> bool:
    """Whether ``values`` are exactly the notebook's :data:`DEFAULTS` (the book's own run).

    An unknown notebook is never a default run.
    """
    return notebook in DEFAULTS and dict(values) == DEFAULTS[notebook]


def injected_names(history: list[str]) -> list[str]:
    """The names that papermill's injected parameters cell assigns, in order.

    Parameters
    ----------
    history : list of str
        Sources of the cells a kernel has run (IPython's ``In``). The last one whose first
        line is papermill's ``# Parameters`` comment is read; without one, nothing is returned.
    """
    injected = [source for source in history if isinstance(source, str)
                and source.strip().partition("\n")[0].rstrip() == "# Parameters"]
    if not injected:
        return []
    try:
        tree = ast.parse(injected[-1])
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        else:
            continue
        for target in targets:
            names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return names


def _kernel_history() -> list[str]:
    """IPython's ``In`` (the sources of the cells run so far), or ``[]`` outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    if shell is None:
        return []
    history = getattr(shell, "user_ns", {}).get("In", [])
    return list(history) if isinstance(history, list) else []
