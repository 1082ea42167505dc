"""How outputs are shown, in Jupyter and in the HTML book: figures and source listings.

:func:`show_source` displays the source of a function or class of the package as a
highlighted listing, so a chapter shows the code it teaches while the code exists once.

For figures, the book registers a plotly renderer, ``"qm7book"``, that stores two
representations of each figure:

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
import inspect
import json
import re
import sys
import textwrap
from pathlib import Path

__all__ = ["RENDERER", "SourceListing", "configure_plotly", "show_source"]

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


class SourceListing:
    """The source of a function or class, shown as a highlighted listing.

    Jupyter and the HTML book render its Markdown form (a caption naming the file and lines,
    then a ``python`` code fence); plain-text front ends show the caption and the code.

    Attributes
    ----------
    source : str
        The code, dedented.
    path : str
        The file, relative to the folder that holds the package (``qm7utils/...``).
    first_line, last_line : int
        Where the code is in that file (1-based, inclusive).
    """

    def __init__(self, source: str, path: str, first_line: int, last_line: int):
        self.source = source
        self.path = path
        self.first_line = first_line
        self.last_line = last_line

    @property
    def caption(self) -> str:
        """``qm7utils/module.py, lines a-b``."""
        return f"{self.path}, lines {self.first_line}\u2013{self.last_line}"

    def _repr_markdown_(self) -> str:
        longest = max((len(run) for run in re.findall(r"`+", self.source)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"`{self.path}`, lines {self.first_line}\u2013{self.last_line}\n\n" \
            f"{fence}python\n{self.source.rstrip()}\n{fence}\n"

    def __repr__(self) -> str:
        return f"# {self.caption}\n{self.source.rstrip()}"


def show_source(obj) -> SourceListing:
    """The source of a function, class or method, to display in a notebook.

    Put it last in a cell: Jupyter and the HTML book show the code highlighted, under a
    caption that names its file and lines, for example ``qm7utils/models/kernels.py``.

    Parameters
    ----------
    obj : function, class or method
        Something defined in Python source (decorated functions are unwrapped).

    Returns
    -------
    SourceListing

    Raises
    ------
    TypeError
        If ``obj`` has no Python source (a built-in, a module constant, an instance).
    """
    target = inspect.unwrap(obj) if callable(obj) else obj
    if not (inspect.isfunction(target) or inspect.isclass(target) or inspect.ismethod(target)):
        raise TypeError(
            f"show_source needs a function, class or method, got {type(obj).__name__} {obj!r}"
        )
    try:
        lines, first = inspect.getsourcelines(target)
        filename = inspect.getsourcefile(target)
    except (OSError, TypeError) as error:
        raise TypeError(f"no Python source for {obj!r}: {error}") from None
    path = Path(filename).resolve()
    package_parent = Path(__file__).resolve().parents[2]
    try:
        shown = path.relative_to(package_parent).as_posix()
    except ValueError:
        shown = f"{target.__module__.replace('.', '/')}.py"
    return SourceListing(textwrap.dedent("".join(lines)), shown, first, first + len(lines) - 1)
