"""Sphinx extension for the API reference page (book/api.md).

scikit-learn adds ``set_fit_request``, ``set_score_request`` and their kin (metadata routing)
to every estimator class; they are not the book's API, and their docstrings refer to
scikit-learn's own glossary, which this book does not have. They are left out.
"""

from __future__ import annotations

import re

_SKLEARN_REQUEST = re.compile(r"set_\w+_request")


def _skip_member(app, what, name, obj, skip, options):
    if what == "class" and _SKLEARN_REQUEST.fullmatch(name):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
