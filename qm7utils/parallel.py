"""Threads and processes for the work that NumPy, SciPy and XLA do not spread over the cores.

Matrix products and factorizations already use every core (through BLAS). Element-wise work
(``numpy.exp``), reductions (``numpy.add.reduceat``) and SciPy's distance loops run on one
core, but they release Python's global lock, so a small pool of threads runs them side by
side. Each thread writes its own block of the result, so the numbers do not depend on the
number of threads.

Small neural networks are different: a training step at a small batch size keeps about one
core busy, whatever the number of cores. :func:`process_map` trains several of them at the same
time, each in its own process on its own share of the cores.

``QM7_THREADS`` sets the number of threads and processes (for example ``QM7_THREADS=1`` on a
machine that is busy with other work); by default it is the number of cores this process may
use.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

__all__ = ["available_cores", "process_map", "thread_map"]

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


def _check_workers(workers: int | None) -> int:
    """``workers``, checked to be a positive integer; :func:`available_cores` for ``None``."""
    if workers is None:
        return available_cores()
    from sklearn.utils import check_scalar

    return check_scalar(workers, "workers", numbers.Integral, min_val=1)


def thread_map(func: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> list[R]:
    """``[func(item) for item in items]``, run by a pool of threads, results in order.

    Parameters
    ----------
    func : callable
        Should spend its time in code that releases the global lock (NumPy, SciPy).
    items : iterable
    workers : int, optional
        Threads; default :func:`available_cores`. One runs the plain loop.

    Raises
    ------
    TypeError, ValueError
        If ``workers`` is not a positive integer.
    """
    workers = _check_workers(workers)
    items = list(items)
    if workers == 1 or len(items) < 2:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(func, items))


def _claim_cores(core_sets) -> None:
    """Worker initializer: take the next share of the cores and pin every thread to it.

    Threads started later (XLA's thread pool) inherit the pinning, and XLA sizes its pool by
    the cores the process may use, so each worker computes on its own cores only.
    """
    cores = core_sets.get()
    if not cores or not hasattr(os, "sched_setaffinity"):
        return
    tids = [0]
    try:
        tids = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:  # no /proc: pin the calling thread only
        pass
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cores)
        except OSError:  # a thread that ended meanwhile, or pinning not allowed
            pass


def _core_sets(workers: int) -> list[list[int]]:
    """Split the cores this process may use into ``workers`` interleaved shares."""
    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux: the workers are not pinned
        return [[] for _ in range(workers)]
    if len(cores) < workers:
        return [[] for _ in range(workers)]
    return [cores[i::workers] for i in range(workers)]


def process_map(func: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> list[R]:
    """``[func(item) for item in items]``, each call in a worker process, results in order.

    For work that keeps only part of the machine busy, such as training a neural network at a
    small batch size: each of ``workers`` processes is pinned to its own share of the cores
    (on Linux), and the items go to whichever worker is free, in order, so put the longest
    first. Workers are started fresh (``spawn``), not forked, which is safe with JAX's
    threads; each pays a few seconds to import its libraries. With one worker, or one item,
    the calls run in this process instead, one after the other.

    Parameters
    ----------
    func : callable
        A function defined at the top level of a module (it is pickled by name), which
        returns something that can be pickled.
    items : iterable
        Arguments of ``func``; each is pickled and sent to a worker.
    workers : int, optional
        Worker processes; default: :func:`available_cores`, at most one per item.

    Returns
    -------
    list
        ``func(item)`` for every item, in the order of ``items``.

    Raises
    ------
    TypeError, ValueError
        If ``workers`` is not a positive integer.
    RuntimeError
        If a worker process dies (for example killed for lack of memory); an exception raised
        by ``func`` itself is raised here unchanged.
    """
    import multiprocessing

    workers = _check_workers(workers)
    items = list(items)
    workers = min(workers, len(items))
    if workers <= 1:
        return [func(item) for item in items]
    context = multiprocessing.get_context("spawn")
    core_sets = context.SimpleQueue()
    for cores in _core_sets(workers):
        core_sets.put(cores)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=_claim_cores, initargs=(core_sets,)) as pool:
            return list(pool.map(func, items))
    except BrokenProcessPool as error:
        raise RuntimeError(
            f"a worker process of process_map({getattr(func, '__name__', func)!r}) died before "
            "it finished (killed for lack of memory?); free memory, or run the calls one after "
            "the other in this process with workers=1 (or QM7_THREADS=1)"
        ) from error
