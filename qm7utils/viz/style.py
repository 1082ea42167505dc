"""The look of every figure: the plotly template, one colour palette, marker shapes, labels.

Categories (models, runs, groups of molecules) are told apart by colour **and** by marker
shape, so that a figure still reads in grey scale or to a colour-blind reader. The colours are
the Okabe-Ito palette (Okabe and Ito 2008, "Color Universal Design"), chosen to stay distinct
under the common forms of colour blindness. Continuous values use Viridis, which is
perceptually uniform and colour-blind safe as well.

Atoms keep the chemists' CPK convention (hydrogen light grey, carbon dark grey, nitrogen blue,
oxygen red, sulfur yellow): readers recognise it at a glance, and every atom is also labelled
by its symbol in the legend, the hover text or on the node itself.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

__all__ = [
    "BOND_COLOR",
    "CHEMICAL_ACCURACY",
    "ELEMENT_COLORS",
    "ENERGY_LABEL",
    "MARKERS",
    "MUTED",
    "PALETTE",
    "PATTERNS",
    "TEMPLATE",
    "category_bar",
    "category_color",
    "category_marker",
    "compact",
    "named_series",
    "register_template",
]

#: Name of the plotly template of the book (registered and made the default by
#: :func:`register_template`, which :func:`qm7utils.setup` calls; importing changes nothing).
TEMPLATE = "qm7book"

#: The Okabe-Ito colours, in the order categories get them (yellow late: it is faint on white).
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)

#: Marker shapes, one per category in the order of :data:`PALETTE`.
MARKERS = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "x",
    "cross",
    "triangle-down",
    "pentagon",
)

#: Fill patterns of bars, one per category in the order of :data:`PALETTE` (first: plain).
PATTERNS = ("", "/", ".", "x", "\\", "+", "-", "|")

#: CPK colours of the elements of QM7 (the chemists' convention), for every figure of atoms.
ELEMENT_COLORS = {"H": "#d9d9d9", "C": "#404040", "N": "#3050f8", "O": "#ff0d0d", "S": "#e6c619"}

#: Neutral grey for what a figure shows but plays down (results that are not comparable).
MUTED = "#999999"

#: Colour of bonds and of reference lines.
BOND_COLOR = "#8c8c8c"

#: Axis title of every energy axis.
ENERGY_LABEL = "atomization energy (kcal/mol)"

#: Chemical accuracy: 1 kcal/mol, the error of careful thermochemistry.
CHEMICAL_ACCURACY = 1.0


def category_color(i: int) -> str:
    """Colour of the ``i``-th category (cycles through :data:`PALETTE`)."""
    return PALETTE[i % len(PALETTE)]


def category_marker(i: int, **marker) -> dict:
    """Plotly ``marker`` of the ``i``-th category: its colour and its shape, plus ``marker``."""
    return {"color": category_color(i), "symbol": MARKERS[i % len(MARKERS)], **marker}


def category_bar(i: int) -> dict:
    """Plotly ``marker`` of the ``i``-th category of bars: its colour and its fill pattern."""
    return {"color": category_color(i), "pattern": {"shape": PATTERNS[i % len(PATTERNS)]}}


def compact(values, decimals: int | None = None) -> np.ndarray:
    """Values as float32 (half the size in stored notebooks), optionally rounded first."""
    values = np.asarray(values, dtype=np.float64)
    if decimals is not None:
        values = np.round(values, decimals)
    return values.astype(np.float32)


def named_series(series, what: str = "values") -> list[tuple[int, str, np.ndarray]]:
    """``(i, name, flat array)`` for each entry of ``{name: array}``: one trace per entry."""
    if not series:
        raise ValueError(f"{what} is empty: pass {{name: array}}")
    out = [(i, str(name), np.asarray(a).ravel()) for i, (name, a) in enumerate(series.items())]
    for _, name, array in out:
        if array.size == 0:
            raise ValueError(f"{name!r} holds no values")
    return out


def register_template() -> None:
    """Register the ``"qm7book"`` template (font, margins, :data:`PALETTE`) as the default."""
    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.font = {"family": "Inter, Helvetica, Arial, sans-serif", "size": 13}
    template.layout.margin = {"l": 60, "r": 20, "t": 60, "b": 50}
    template.layout.colorway = list(PALETTE)
    pio.templates[TEMPLATE] = template
    pio.templates.default = TEMPLATE
