"""Make every chapter's Colab cell install the package from the repository in ``_config.yml``.

The book's repository URL lives in one place, ``repository: url:`` of ``_config.yml``. The first
code cell of each chapter (and the chapter template in ``book/writing_a_chapter.md``) installs
``qm7utils @ git+<that URL>`` on Colab; this module rewrites that line wherever it differs.

Usage, from the repository root::

    python -m qm7utils.book.install_url          # rewrite the cells that differ from _config.yml
    python -m qm7utils.book.install_url --check  # only list them; exit status 1 if any differ

Notebooks are edited as JSON (indent 1, as Jupyter writes them), so only the install line
changes; their outputs are left as they are.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

#: The install line of a Colab cell; the URL is what this module keeps in step.
INSTALL = re.compile(r'"qm7utils @ git\+(?P<url>[^"\s]+)"')
TEMPLATE = Path("book") / "writing_a_chapter.md"


def repository_url(root: Path) -> str:
    """The book's repository URL, ``repository: url:`` of ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url")
    if not url:
        raise SystemExit("_config.yml has no `repository: url:`; add the book's repository URL")
    return url.rstrip("/")


def _rewrite(text: str, url: str, where: str) -> str:
    if not INSTALL.search(text):
        raise SystemExit(f'{where}: no `"qm7utils @ git+..."` install line to keep in step')
    return INSTALL.sub(f'"qm7utils @ git+{url}"', text)


def sync(root: Path, check: bool = False) -> list[str]:
    """Rewrite (or, with ``check``, only find) the install lines that differ from _config.yml.

    Returns the paths, relative to ``root``, whose install line differs (differed).
    """
    url = repository_url(root)
    changed = []
    for path in sorted((root / "notebooks").glob("[0-9][0-9]*.ipynb")):
        raw = path.read_text(encoding="utf-8")
        notebook = json.loads(raw)
        cell = next(c for c in notebook["cells"] if c["cell_type"] == "code")
        source = "".join(cell["source"])
        new = _rewrite(source, url, f"{path.name}, first code cell")
        if new != source:
            changed.append(str(path.relative_to(root)))
            if not check:
                cell["source"] = new.splitlines(keepends=True)
                text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
                path.write_text(text, encoding="utf-8")
    template = root / TEMPLATE
    if template.exists():
        text = template.read_text(encoding="utf-8")
        new = _rewrite(text, url, str(TEMPLATE))
        if new != text:
            changed.append(str(TEMPLATE))
            if not check:
                template.write_text(new, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list what differs")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2],
                        help="the repository root (default: the repository of this checkout)")
    args = parser.parse_args(argv)
    changed = sync(args.root, check=args.check)
    url = repository_url(args.root)
    if args.check and changed:
        print(f"install lines that differ from _config.yml ({url}):", *changed, sep="\n  ")
        print("run `python -m qm7utils.book.install_url` to rewrite them")
        return 1
    print(f"{len(changed)} file(s) rewritten to install from {url}" if changed
          else f"every install line installs from {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
