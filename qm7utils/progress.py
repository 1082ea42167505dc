"""Progress bars for long loops that stay out of the stored notebook outputs.

Interactive users see a compact text bar. Batch runs (``python -m qm7utils.run``, the test
suite) set ``QM7_PROGRESS=0``, which turns the bars off so the notebooks' stored outputs carry
no volatile progress lines.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

__all__ = ["enabled", "progress"]


def enabled() -> bool:
    """Whether progress bars are shown (``QM7_PROGRESS`` is not ``0``/``false``/``no``)."""
    return os.environ.get("QM7_PROGRESS", "1").strip().lower() not in ("0", "false", "no")


def progress(iterable: Iterable | None = None, desc: str = "", total: int | None = None, **kw):
    """A tqdm text progress bar (to stderr, refreshed at most once a second), or a no-op.

    Parameters
    ----------
    iterable : iterable, optional
        What to loop over.
    desc : str
        Label in front of the bar.
    total : int, optional
        Number of steps when ``iterable`` has no length.
    **kw
        Passed on to :class:`tqdm.tqdm`.
    """
    from tqdm import tqdm

    options = {"mininterval": 1.0, "leave": False, "file": sys.stderr, "dynamic_ncols": True}
    options.update(kw)
    return tqdm(iterable, desc=desc, total=total, disable=not enabled(), **options)
