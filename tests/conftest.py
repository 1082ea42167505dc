"""Shared fixtures. Test runs never write into the repository's results/ folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Everything the tests (and the notebooks they run) save goes to a throwaway folder.
os.environ["QM7_RESULTS_DIR"] = tempfile.mkdtemp(prefix="qm7-results-")
os.environ.setdefault("KERAS_BACKEND", "jax")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def qm7():
    """The real QM7 data (QM7_PATH, the cache, or a download).

    Skipped when the data cannot be had, unless QM7_REQUIRE_DATA=1 (set by .ci/run), where
    that is a failure.
    """
    from qm7utils.data import QM7DataError, load_qm7

    try:
        return load_qm7()
    except QM7DataError as error:
        if os.environ.get("QM7_REQUIRE_DATA") == "1":
            raise
        pytest.skip(f"real QM7 data not available ({error}); set QM7_PATH to run these tests")
