"""qm7utils.viz.style: one colour-blind-safe palette, a marker shape per category, the template."""

from __future__ import annotations

import plotly.io as pio

from qm7utils import viz
from qm7utils.viz import style

#: The eight colours of Okabe and Ito (2008), in any order.
OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
             "#CC79A7"}


def test_one_okabe_ito_palette_with_distinct_markers_and_patterns():
    assert set(style.PALETTE) == OKABE_ITO and len(style.PALETTE) == 8
    assert len(set(style.MARKERS)) == len(style.MARKERS) == len(style.PALETTE)
    assert len(set(style.PATTERNS)) == len(style.PATTERNS) == len(style.PALETTE)
    first, second = style.category_marker(0, size=5), style.category_marker(1)
    assert first == {"color": "#0072B2", "symbol": "circle", "size": 5}
    assert second["color"] != first["color"] and second["symbol"] != first["symbol"]
    assert style.category_marker(8) == style.category_marker(0)  # cycles
    assert style.category_bar(1)["pattern"]["shape"] != style.category_bar(0)["pattern"]["shape"]


def test_register_template_makes_the_palette_the_default():
    style.register_template()
    assert pio.templates.default == viz.TEMPLATE == "qm7book"
    assert list(pio.templates[viz.TEMPLATE].layout.colorway) == list(style.PALETTE)


def test_categories_differ_in_colour_and_shape():
    truth = [1.0, 2.0, 3.0]
    figure = viz.residual_figure(truth, {"a": [1.5, 2.0, 3.0], "b": [1.0, 2.5, 3.0]})
    markers = [(t.marker.color, t.marker.symbol) for t in figure.data]
    assert len({c for c, _ in markers}) == 2 and len({s for _, s in markers}) == 2
    scatter = viz.energy_scatter([1, 2, 3, 4], [-1.0, -2.0, -3.0, -4.0], "x",
                                 groups=["p", "q", "p", "q"])
    assert scatter.data[0].marker.symbol != scatter.data[1].marker.symbol
    assert scatter.data[0].marker.color != scatter.data[1].marker.color
