"""How figures are shown: plotly output that works offline, in the book and in Jupyter.

The book registers a plotly renderer, ``"qm7book"``, that stores two representations of each
figure:

* ``application/vnd.plotly.v1+json`` for JupyterLab, Notebook 7 and VS Code, which render it
  with their own plotly.js;
* ``text/html`` with the figure's ``<div>`` and a ``Plotly.newPlot`` call but **without**
  plotly.js, for the HTML book, which serves plotly.js from its own static files (no CDN, so
  the book works offline too).

The div id is derived from the figure's content, so rerunning a notebook gives the same
output. On Colab the renderer is left at Colab's default (it loads plotly.js itself).
"""

from __future__ import annotations

import hashlib
import json
import sys

__all__ = ["RENDERER", "configure_plotly"]

RENDERER = "qm7book"


def _make_renderer():
    import plotly.io as pio
    from plotly.io._base_renderers import MimetypeRenderer, PlotlyRenderer

    class BookRenderer(MimetypeRenderer):
        """Plotly mimetype plus CDN-free HTML with a deterministic div id."""

        def __init__(self, config=None):
            self.config = dict(config) if config else {"responsive": True}

        def to_mimebundle(self, fig_dict):
            bundle = PlotlyRenderer(config=self.config).to_mimebundle(dict(fig_dict))
            digest = hashlib.sha1(
                json.dumps(bundle["application/vnd.plotly.v1+json"], sort_keys=True).encode()
            ).hexdigest()[:16]
            bundle["text/html"] = pio.to_html(
                fig_dict,
                config=self.config,
                include_plotlyjs=False,
                include_mathjax=False,
                full_html=False,
                div_id=f"qm7fig-{digest}",
                default_width="100%",
                default_height=f"{fig_dict.get('layout', {}).get('height') or 480}px",
                validate=False,
            )
            return bundle

    return BookRenderer()


def configure_plotly(default: bool = True) -> None:
    """Register the ``"qm7book"`` renderer and make it the default (except on Colab)."""
    import plotly.io as pio

    if RENDERER not in pio.renderers:
        pio.renderers[RENDERER] = _make_renderer()
    if default and "google.colab" not in sys.modules:
        pio.renderers.default = RENDERER
