"""Interactive plotly figures of the book. Every function returns a ``plotly`` Figure.

Figures are styled by the ``"qm7book"`` template (registered on import) and rendered by the
offline renderer of :mod:`qm7utils.display`.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["ELEMENT_COLORS", "TEMPLATE"]

TEMPLATE = "qm7book"

#: CPK-like colours of the elements of QM7, shared by every figure that colours atoms.
ELEMENT_COLORS = {"H": "#d9d9d9", "C": "#404040", "N": "#3050f8", "O": "#ff0d0d", "S": "#e6c619"}


def _register_template() -> None:
    base = pio.templates["plotly_white"]
    template = go.layout.Template(base)
    template.layout.font = {"family": "Inter, Helvetica, Arial, sans-serif", "size": 13}
    template.layout.margin = {"l": 60, "r": 20, "t": 60, "b": 50}
    pio.templates[TEMPLATE] = template
    pio.templates.default = TEMPLATE


_register_template()


# --- Chapters 1-4: data, features, graphs, visualization -----------------------------------


# --- Chapters 5-6: classification and regression -------------------------------------------


# --- Chapter 7: convolutional networks -----------------------------------------------------


# --- Chapters 8-9: kernels, learning curves, the closing comparison ------------------------
