"""The built HTML book, read as files: every chapter, its figures, offline assets, features."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

#: The book's repository, from the one place it is written (``_config.yml``).
REPOSITORY = yaml.safe_load((Path(__file__).resolve().parents[2] / "_config.yml").read_text(
    encoding="utf-8"))["repository"]["url"].removeprefix("https://").rstrip("/")
NOTEBOOK_PAGE = re.compile(r"notebooks/\d\d")
#: A CDN or remote script/style would break the book offline.
REMOTE_ASSET = re.compile(
    r"""<(script|link)[^>]+(src|href)=["']https?://(?!github\.com)[^"']+""", re.I
)


def test_every_page_of_the_toc_is_built(html_dir, pages):
    for page in pages:
        assert (html_dir / page).is_file(), page
    assert "book/intro.html" in (html_dir / "index.html").read_text()


def test_chapters_carry_their_plotly_figures_without_a_cdn(html_dir, pages):
    assert (html_dir / "_static" / "offline" / "plotly.min.js").is_file()
    assert (html_dir / "_static" / "offline" / "mathjax" / "tex-chtml.js").is_file()
    chapters = [p for p in pages if NOTEBOOK_PAGE.match(p)]
    with_figures = 0
    for page in pages:
        html = (html_dir / page).read_text()
        assert not REMOTE_ASSET.search(html), f"{page}: {REMOTE_ASSET.search(html).group()}"
        assert "cdn.plot.ly" not in html and "cdn.jsdelivr.net" not in html, page
        if page in chapters and "plotly-graph-div" in html:
            with_figures += 1
            assert "_static/offline/plotly.min.js" in html, page
    if chapters:
        assert with_figures >= 1


def test_book_features(html_dir, pages):
    assert (html_dir / "search.html").is_file() and (html_dir / "searchindex.js").is_file()
    references = (html_dir / "book" / "references.html").read_text()
    for key_text in ("Rupp", "Montavon", "Hansen", "MoleculeNet", "Blum", "Himmetoglu"):
        assert key_text in references, key_text
    for page in pages:
        html = (html_dir / page).read_text()
        assert REPOSITORY in html, f"{page}: repository button"
        assert "btn-download" in html or "download" in html.lower(), f"{page}: download button"
        if NOTEBOOK_PAGE.match(page):
            assert "mybinder.org" in html, f"{page}: Binder launch button"
            assert "colab.research.google.com" in html, f"{page}: Colab launch button"


def test_the_api_reference_is_generated_from_the_docstrings(html_dir, pages):
    assert "book/api.html" in pages
    html = (html_dir / "book" / "api.html").read_text()
    for name in ("qm7utils.setup", "qm7utils.data.load_qm7", "qm7utils.book.display.show_source",
                 "qm7utils.book.params.check_parameters"):
        assert f'id="{name}"' in html, f"{name} is not documented on the API page"
    assert "_modules/qm7utils/" in html, "no links to the highlighted source (viewcode)"
    assert "set_fit_request" not in html  # scikit-learn's routing methods are left out
