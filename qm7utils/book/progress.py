"""Progress bars for long loops, kept out of the stored notebook outputs.

:func:`progress` is :class:`tqdm.tqdm` with the book's defaults: a text bar that is redrawn
at most once a second and removed when the loop ends. Bars are switched off with tqdm's own
environment variable, ``TQDM_DISABLE=1``, which the batch runner
(``python -m qm7utils.book.run``) and ``make test`` set, so stored outputs carry no progress
lines. tqdm reads its ``TQDM_*`` variables when it is first imported, so set them before that.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["progress"]


def progress(iterable: Iterable | None = None, desc: str = "", total: int | None = None, **kw):
    """A :class:`tqdm.tqdm` text progress bar with the book's defaults.

    Parameters
    ----------
    iterable : iterable, optional
        What to loop over.
    desc : str
        Label in front of the bar.
    total : int, optional
        Number of steps when ``iterable`` has no length.
    **kw
        Passed on to :class:`tqdm.tqdm`; they replace the defaults ``leave=False``,
        ``mininterval=1.0`` and ``dynamic_ncols=True``.
    """
    from tqdm import tqdm

    options = {"leave": False, "mininterval": 1.0, "dynamic_ncols": True, **kw}
    return tqdm(iterable, desc=desc, total=total, **options)
