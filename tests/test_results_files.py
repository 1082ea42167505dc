"""The committed results files of the modelling chapters: present, valid, and from the last run.

Chapter 10 compares the models through ``results/<notebook>.json``. A file that is missing,
breaks the schema, or was written by an earlier run than the notebook's stored outputs would
make the comparison disagree with the chapters, so each must have been created during the
papermill run recorded in its notebook (between ``metadata.papermill.start_time`` and
``end_time``), by the default run (the notebook's default parameters: only that run may write
the committed folder). These tests read the repository's own ``results/`` folder, not the
temporary one the rest of the suite writes to.
"""

from __future__ import annotations

import datetime as dt

import nbformat
import pytest

from qm7utils.book.params import DEFAULTS
from qm7utils.book.results import ResultsError, read_results

#: Chapter numbers of the notebooks that save results (chapter 7 may have several notebooks).
MODELLING_CHAPTERS = ("05", "06", "07", "08", "09")
#: ``created`` is stored to the second (truncated), papermill's times to the microsecond.
TOLERANCE = dt.timedelta(seconds=1)


def _time(value: str, where: str) -> dt.datetime:
    try:
        stamp = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        pytest.fail(f"{where} is not an ISO 8601 time: {value!r}")
    if stamp.tzinfo is None:  # papermill writes UTC
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp


@pytest.mark.parametrize("chapter", MODELLING_CHAPTERS)
def test_results_file_is_present_valid_and_from_the_last_run(root, chapter):
    notebooks = sorted((root / "notebooks").glob(f"{chapter}*.ipynb"))
    if not notebooks:
        pytest.skip(f"no notebook of chapter {chapter} exists yet (notebooks/{chapter}*.ipynb)")
    for notebook in notebooks:
        stem = notebook.stem
        path = root / "results" / f"{stem}.json"
        assert path.is_file(), (
            f"results/{stem}.json is missing: run the notebook (python -m qm7utils.book.run --only "
            f"{chapter}) and commit the file with it"
        )
        try:  # the schema, the name matching the file, the headline matching its metrics
            document = read_results(path)
        except ResultsError as error:
            pytest.fail(f"results/{stem}.json is malformed: {error}")
        assert document["run_parameters"] == DEFAULTS[stem], (
            f"results/{stem}.json was saved by a run with other parameters than the notebook's "
            "defaults: rerun it with `make run` (or `python -m qm7utils.book.run --only "
            f"{chapter}`)"
        )
        meta = nbformat.read(notebook, as_version=4).metadata.get("papermill") or {}
        if not (meta.get("start_time") and meta.get("end_time")):
            pytest.fail(f"{notebook.name} has no complete papermill run in its metadata")
        start = _time(meta["start_time"], f"{notebook.name} start_time")
        end = _time(meta["end_time"], f"{notebook.name} end_time")
        created = _time(document["created"], f"{path.name} created")
        assert start - TOLERANCE <= created <= end, (
            f"results/{stem}.json was created at {created.isoformat()}, outside the notebook's "
            f"last run ({start.isoformat()} to {end.isoformat()}): rerun the notebook and "
            "commit both files together"
        )
