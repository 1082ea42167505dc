"""qm7utils: the shared code of the qm7-book.

Every chapter imports this package. Its modules read as the book's index:
:mod:`~qm7utils.data` and :mod:`~qm7utils.chem` at the ground, then the representations
(:mod:`qm7utils.representations`), :mod:`~qm7utils.graphs` and :mod:`~qm7utils.evaluation`,
then the models (:mod:`qm7utils.models`), and on top the figures (:mod:`qm7utils.viz`) and the
book's machinery (:mod:`qm7utils.book`: parameters, results files, the runner). The names
below are the ones a chapter needs first; :func:`setup` seeds the random generators and
configures the figures: call it at the top of a notebook.

Importing the package changes nothing but one environment variable: Keras runs on the JAX
backend throughout the book, so ``KERAS_BACKEND`` is set to ``jax`` before Keras can be
imported (with a warning if it was set to another backend).
"""

from __future__ import annotations

import os
import warnings

if os.environ.get("KERAS_BACKEND", "jax") != "jax":
    warnings.warn(
        f"KERAS_BACKEND={os.environ['KERAS_BACKEND']!r} is overridden: the qm7-book runs Keras "
        "on the JAX backend.",
        stacklevel=2,
    )
os.environ["KERAS_BACKEND"] = "jax"

from .book.display import show_source  # noqa: E402
from .book.params import ParameterError, check_parameters  # noqa: E402
from .data import QM7, QM7DataError, load_qm7  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "QM7",
    "ParameterError",
    "QM7DataError",
    "__version__",
    "check_parameters",
    "load_qm7",
    "setup",
    "show_source",
]


def setup(seed: int = 0) -> None:
    """Prepare a notebook: seed Python's and NumPy's generators, configure plotly and pandas.

    Plotly gets the book's renderer (:func:`qm7utils.book.display.configure_plotly`) and
    figure template (:func:`qm7utils.viz.style.register_template`); importing the package
    changes neither.

    Parameters
    ----------
    seed : int
        Seed for :mod:`random` and the legacy :func:`numpy.random.seed` (code in the book
        passes explicit ``numpy.random.Generator`` objects or ``random_state`` as well).
    """
    import random

    import numpy as np
    import pandas as pd

    from .book.display import configure_plotly
    from .viz.style import register_template

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds code that uses the legacy global generator
    configure_plotly()
    register_template()
    pd.set_option("display.precision", 3)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 120)
