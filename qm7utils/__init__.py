"""qm7utils: the shared code of the qm7-book.

Every chapter imports this package. It holds the data loader (:mod:`qm7utils.data`), the
features (:mod:`qm7utils.features`, :mod:`qm7utils.graphs`), splits and metrics
(:mod:`qm7utils.evaluation`), notebook parameters (:mod:`qm7utils.params`) and results files
(:mod:`qm7utils.results`). :func:`setup` seeds the random generators and configures the
figures; call it at the top of a notebook.

Keras runs on the JAX backend throughout the book: importing this package sets
``KERAS_BACKEND=jax`` before Keras is imported.
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

from .data import QM7, QM7DataError, load_qm7  # noqa: E402
from .params import ParameterError, check_parameters  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "QM7",
    "ParameterError",
    "QM7DataError",
    "__version__",
    "check_parameters",
    "load_qm7",
    "setup",
]


def setup(seed: int = 0) -> None:
    """Prepare a notebook: seed Python's and NumPy's generators, configure plotly and pandas.

    Parameters
    ----------
    seed : int
        Seed for :mod:`random` and the legacy :func:`numpy.random.seed` (code in the book
        passes explicit ``numpy.random.Generator`` objects or ``random_state`` as well).
    """
    import random

    import numpy as np
    import pandas as pd

    from .display import configure_plotly

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds code that uses the legacy global generator
    configure_plotly()
    pd.set_option("display.precision", 3)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 120)
