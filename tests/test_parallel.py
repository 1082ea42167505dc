"""qm7utils.parallel: how many threads, and maps (threads, processes) that keep the order."""

from __future__ import annotations

import os
import threading

import pytest

from qm7utils.parallel import available_cores, process_map, thread_map


def test_available_cores_follows_qm7_threads(monkeypatch):
    monkeypatch.delenv("QM7_THREADS", raising=False)
    assert available_cores() >= 1
    monkeypatch.setenv("QM7_THREADS", "3")
    assert available_cores() == 3
    for bad in ("0", "-2", "two"):
        monkeypatch.setenv("QM7_THREADS", bad)
        with pytest.raises(ValueError, match="QM7_THREADS must be a positive integer"):
            available_cores()


def test_thread_map_runs_workers_side_by_side_and_keeps_the_order():
    # The first three calls wait for each other at a barrier: only three threads running at
    # the same time get past it (a plain loop, or fewer threads, breaks it after 10 s).
    barrier = threading.Barrier(3, timeout=10)
    threads = {}  # item -> the thread that computed it
    lock = threading.Lock()

    def square(x):
        if x < 3:
            barrier.wait()
        with lock:
            threads[x] = threading.get_ident()
        return x * x

    assert thread_map(square, range(20), workers=3) == [x * x for x in range(20)]
    assert sorted(threads) == list(range(20))
    assert len({threads[x] for x in range(3)}) == 3  # three threads, side by side
    assert threading.get_ident() not in threads.values()  # none of them this one


def test_thread_map_results_follow_the_items_not_the_finishing_order():
    # Early items finish last: item 0 waits until every other item is done.
    done = threading.Event()
    finished = []

    def late_first(x):
        if x == 0:
            done.wait(timeout=10)
        finished.append(x)
        if len(finished) == 5:
            done.set()
        return -x

    assert thread_map(late_first, range(6), workers=2) == [0, -1, -2, -3, -4, -5]
    assert finished[-1] == 0  # it really finished last


def test_thread_map_with_one_worker_is_the_plain_loop_and_checks_workers():
    callers = []

    def record(x):
        callers.append(threading.get_ident())
        return x + 1

    assert thread_map(record, [1, 2, 3], workers=1) == [2, 3, 4]
    assert callers == [threading.get_ident()] * 3  # this thread, in order
    assert thread_map(record, [], workers=2) == []
    with pytest.raises(ValueError, match="workers == 0, must be >= 1"):
        thread_map(record, [1, 2], workers=0)
    with pytest.raises(TypeError, match="workers must be an instance of"):
        thread_map(record, [1, 2], workers=2.0)


# process_map pickles its function by name: the workers import it from this module.
def _square_where(x):
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return x * x, os.getpid(), tuple(cores)


def _fail_on_three(x):
    if x == 3:
        raise ValueError(f"bad item {x}")
    return x


def _die(x):
    os._exit(3)


def test_process_map_keeps_the_order_and_gives_each_worker_its_own_cores():
    results = process_map(_square_where, range(7), workers=2)
    assert [value for value, _, _ in results] == [x * x for x in range(7)]
    pids = {pid for _, pid, _ in results}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) >= 2:
        mine = set(os.sched_getaffinity(0))
        shares = {pid: set(cores) for _, pid, cores in results}
        assert all(share and share <= mine for share in shares.values())
        if len(shares) == 2:  # two workers took items: their cores do not overlap
            first, second = shares.values()
            assert not first & second


def test_process_map_runs_in_this_process_with_one_worker_or_one_item():
    assert process_map(_square_where, [5], workers=2)[0][1] == os.getpid()
    results = process_map(_square_where, [1, 2], workers=1)
    assert [value for value, _, _ in results] == [1, 4]
    assert {pid for _, pid, _ in results} == {os.getpid()}
    assert process_map(_square_where, [], workers=2) == []
    for bad, error in ((0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError)):
        with pytest.raises(error, match="workers"):
            process_map(_square_where, [1, 2], workers=bad)


def test_process_map_raises_the_workers_errors():
    with pytest.raises(ValueError, match="bad item 3"):
        process_map(_fail_on_three, [1, 2, 3, 4], workers=2)
    with pytest.raises(RuntimeError, match="worker process .* died"):
        process_map(_die, [1, 2], workers=2)
