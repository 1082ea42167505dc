"""Threads for the few loops of the book that NumPy and SciPy do not parallelise themselves.

Matrix products and factorizations already use every core (through BLAS). Element-wise work
(``numpy.exp``), reductions (``numpy.add.reduceat``) and SciPy's distance loops run on one
core, but they release Python's global lock, so a small pool of threads runs them side by
side. Each thread writes its own block of the result, so the numbers do not depend on the
number of threads.

``QM7_THREADS`` sets the number of threads (for example ``QM7_THREADS=1`` on a machine that
is busy with other work); by default it is the number of cores this process may use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["available_cores", "thread_map"]

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """Threads to use: ``QM7_THREADS`` if set, else the cores this process may run on.

    Raises
    ------
    ValueError
        If ``QM7_THREADS`` is not a positive integer.
    """
    setting = os.environ.get("QM7_THREADS", "").strip()
    if setting:
        try:
            value = int(setting)
        except ValueError:
            value = 0
        if value < 1:
            raise ValueError(
                f"QM7_THREADS must be a positive integer (the number of threads), got {setting!r}"
            )
        return value
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def thread_map(func: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> list[R]:
    """``[func(item) for item in items]``, run by a pool of threads, results in order.

    Parameters
    ----------
    func : callable
        Should spend its time in code that releases the global lock (NumPy, SciPy).
    items : iterable
    workers : int, optional
        Threads; default :func:`available_cores`. One runs the plain loop.
    """
    items = list(items)
    workers = available_cores() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers}")
    if workers == 1 or len(items) < 2:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(func, items))
