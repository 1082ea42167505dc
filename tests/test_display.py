"""qm7utils.book.display: source listings and the plotly renderer."""

from __future__ import annotations

import functools

import pytest
from IPython.core.formatters import DisplayFormatter

import qm7utils
from qm7utils.book import display
from qm7utils.book.display import SourceListing, show_source
from qm7utils.book.run import RunError, find_notebooks


def test_show_source_is_a_highlighted_listing_that_names_its_file():
    listing = show_source(find_notebooks)
    assert isinstance(listing, SourceListing)
    assert listing.path == "qm7utils/book/run.py"
    assert listing.source.startswith("def find_notebooks(")
    assert listing.last_line - listing.first_line + 1 == len(listing.source.splitlines())
    data, _ = DisplayFormatter().format(listing)
    markdown = data["text/markdown"]
    assert markdown.startswith("`qm7utils/book/run.py`, lines ")
    assert "\n```python\ndef find_notebooks(" in markdown and markdown.endswith("\n```\n")
    assert data["text/plain"].startswith("# qm7utils/book/run.py, lines ")
    assert "def find_notebooks(" in data["text/plain"]


def test_show_source_shows_classes_methods_and_unwraps_decorators():
    assert show_source(RunError).source.startswith("class RunError(")
    method = show_source(SourceListing._repr_markdown_)
    assert method.source.startswith("def _repr_markdown_(")  # dedented

    @functools.lru_cache
    def cached(x):
        return x

    assert "def cached(x)" in show_source(cached).source


def test_show_source_uses_a_longer_fence_when_the_code_holds_one():
    listing = SourceListing('text = """\n```python\n"""\n', "qm7utils/x.py", 1, 3)
    assert "\n````python\n" in listing._repr_markdown_()


@pytest.mark.parametrize("obj", [len, 3, "text", display])
def test_show_source_needs_python_source(obj):
    with pytest.raises(TypeError, match="show_source|no Python source"):
        show_source(obj)


def test_show_source_is_exported_by_the_package():
    assert qm7utils.show_source is show_source


def test_the_book_renderer_stores_plotly_json_and_cdn_free_html():
    go = pytest.importorskip("plotly.graph_objects")
    import plotly.io as pio

    display.configure_plotly(default=False)
    figure = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    bundle = pio.renderers[display.RENDERER].to_mimebundle(figure.to_dict())
    again = pio.renderers[display.RENDERER].to_mimebundle(figure.to_dict())
    assert "application/vnd.plotly.v1+json" in bundle
    html = bundle["text/html"]
    assert "Plotly.newPlot" in html and "cdn.plot.ly" not in html
    assert html == again["text/html"]  # the div id depends on the figure only
