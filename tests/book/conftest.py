"""Fixtures for the tests of the built book (`_build/html`, built by `make html`)."""

from __future__ import annotations

import functools
import http.server
import os
import threading

import pytest
import yaml


def _required() -> bool:
    return os.environ.get("QM7_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="session")
def html_dir(root):
    folder = root / "_build" / "html"
    if not (folder / "index.html").is_file():
        message = "the book is not built: run `make html` (make test builds it first)"
        if _required():
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def pages(root):
    """Every page of the table of contents, as paths relative to the HTML root."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    return [f"{f}.html" for f in files]


@pytest.fixture(scope="session")
def server(html_dir):
    """Serve the built book on 127.0.0.1 (the browser loads it over HTTP, as readers do)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(html_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
