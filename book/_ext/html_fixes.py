"""Sphinx extension: small corrections to the pages of the theme stack of Jupyter Book 1.0.

* sphinx-thebe registers its inline configuration script once per environment read, and
  Jupyter Book reads twice, so pages declared ``const THEBE_JS_URL`` twice (a console error);
  duplicate script entries are dropped.
* pydata-sphinx-theme reads its colour mode from ``html_context["default_mode"]``; left empty,
  every first visit logs "invalid theme mode". The book uses the light mode by default (its
  figures are styled for a white background); readers can still switch.
"""

from __future__ import annotations


def _script_key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    # Inline scripts are registered with filename None or "" depending on the extension.
    filename = getattr(script, "filename", str(script)) or ""
    return (str(filename), tuple(sorted(attributes.items())))


def _fix_page(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for script in scripts:
            key = _script_key(script)
            if key not in seen:
                seen.add(key)
                unique.append(script)
        scripts[:] = unique
    if not context.get("default_mode"):
        context["default_mode"] = "light"


def setup(app):
    app.connect("html-page-context", _fix_page, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
