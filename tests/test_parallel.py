"""qm7utils.parallel: how many threads, and a map that keeps the order."""

from __future__ import annotations

import threading

import pytest

from qm7utils.parallel import available_cores, thread_map


def test_available_cores_follows_qm7_threads(monkeypatch):
    monkeypatch.delenv("QM7_THREADS", raising=False)
    assert available_cores() >= 1
    monkeypatch.setenv("QM7_THREADS", "3")
    assert available_cores() == 3
    for bad in ("0", "-2", "two"):
        monkeypatch.setenv("QM7_THREADS", bad)
        with pytest.raises(ValueError, match="QM7_THREADS must be a positive integer"):
            available_cores()


def test_thread_map_keeps_the_order_and_uses_threads():
    seen = set()

    def square(x):
        seen.add(threading.get_ident())
        return x * x

    assert thread_map(square, range(20), workers=3) == [x * x for x in range(20)]
    seen.clear()
    assert thread_map(square, [1, 2, 3], workers=1) == [1, 4, 9]
    assert seen == {threading.get_ident()}  # one worker: the plain loop, no pool
    assert thread_map(square, [], workers=2) == []
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        thread_map(square, [1, 2], workers=0)
