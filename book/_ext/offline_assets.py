"""Sphinx extension: serve plotly.js and MathJax from the book's own static files.

The book must work offline (and in browsers that cannot reach a CDN), so:

* ``plotly.min.js`` is copied from the installed ``plotly`` package (the same version that
  wrote the figures) to ``_static/offline/plotly.min.js`` and loaded on every page; the
  figures' HTML outputs contain no plotly.js of their own (see ``qm7utils.book.display``);
* MathJax 3 is taken from the npm registry's ``mathjax`` tarball (downloaded once into the
  user cache and verified by SHA-256), and only the parts the book needs (the ``tex-chtml``
  bundle, its input/output components and fonts, the menu) are copied to
  ``_static/offline/mathjax/``; ``mathjax_path`` points there.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from sphinx.errors import ExtensionError

MATHJAX_VERSION = "3.2.2"
MATHJAX_URL = f"https://registry.npmjs.org/mathjax/-/mathjax-{MATHJAX_VERSION}.tgz"
MATHJAX_SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
#: Parts of the package's es5/ folder the book loads (tex-chtml bundle and what it may load).
MATHJAX_PARTS = ("tex-chtml.js", "input/", "output/chtml/", "ui/", "a11y/", "adaptors/")


def _plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise ExtensionError(f"plotly.min.js not found in the plotly package at {path}")
    return path


def _mathjax_tarball() -> Path:
    import pooch

    try:
        return Path(
            pooch.retrieve(
                MATHJAX_URL,
                known_hash=f"sha256:{MATHJAX_SHA256}",
                fname=f"mathjax-{MATHJAX_VERSION}.tgz",
                path=pooch.os_cache("qm7-book"),
                progressbar=False,
            )
        )
    except Exception as error:  # network or checksum problems
        raise ExtensionError(
            f"Could not get MathJax {MATHJAX_VERSION} from the npm registry ({error}). The "
            "book serves MathJax itself so that it works offline; connect once to download "
            "it into the cache."
        ) from error


def _extract_mathjax(tarball: Path, target: Path) -> None:
    prefix = "package/es5/"
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith(prefix):
                continue
            relative = member.name[len(prefix):]
            if not relative.startswith(MATHJAX_PARTS):
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)


def _on_builder_inited(app) -> None:
    if app.builder.format != "html":
        return
    app.config._qm7_assets = (_plotly_js(), _mathjax_tarball())


def _on_build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    plotly_js, tarball = app.config._qm7_assets
    vendor = Path(app.outdir) / "_static" / "offline"
    vendor.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plotly_js, vendor / "plotly.min.js")
    if not (vendor / "mathjax" / "tex-chtml.js").is_file():
        _extract_mathjax(tarball, vendor / "mathjax")


def _on_config_inited(app, config) -> None:
    config.mathjax_path = "offline/mathjax/tex-chtml.js"


def setup(app):
    app.connect("config-inited", _on_config_inited)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("build-finished", _on_build_finished)
    # Loaded in <head> before the figures' inline scripts call Plotly.newPlot.
    app.add_js_file("offline/plotly.min.js")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
