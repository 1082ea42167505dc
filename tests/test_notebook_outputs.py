"""The committed notebooks: the chapter template, and stored outputs fit to publish."""

from __future__ import annotations

import re

import nbformat
import pytest
import yaml

from qm7utils.book.params import NOTEBOOKS

#: Patterns of local absolute paths that must never appear in stored outputs.
LOCAL_PATH = re.compile(r"(/work/|/home/|/root/|/tmp/|/Users/|[A-Z]:\\\\|site-packages)")
#: Progress-bar debris: carriage returns, tqdm rates, Keras bars.
PROGRESS = re.compile(r"\r|\d+it/s\]|it/s\]|━━|\[=+>?\.*\]")
MAX_STREAM_LINES = 60
MAX_NOTEBOOK_MB = 6.0


def notebook_paths(root):
    return sorted((root / "notebooks").glob("[0-9][0-9]*.ipynb"))


@pytest.fixture(scope="module")
def notebooks(root):
    paths = notebook_paths(root)
    if not paths:
        pytest.skip("no notebooks yet")
    return {p.stem: (p, nbformat.read(p, as_version=4)) for p in paths}


def test_every_notebook_is_in_the_table_of_contents(root, notebooks):
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    chapters = [f for f in files if f.startswith("notebooks/")]
    assert chapters == [f"notebooks/{stem}" for stem in notebooks]


def test_chapters_follow_the_template(notebooks):
    for stem, (_, nb) in notebooks.items():
        code = [c for c in nb.cells if c.cell_type == "code"]
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert nb.metadata.kernelspec["name"] == "python3", stem
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), stem
        assert "Audience and objectives" in markdown, stem
        assert "google.colab" in code[0].source, f"{stem}: first code cell is the Colab cell"
        tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{stem}: exactly one cell tagged 'parameters'"
        position = nb.cells.index(code[tagged[0]])
        documented = nb.cells[position - 1]
        assert documented.cell_type == "markdown", f"{stem}: no parameter table above parameters"
        for name in NOTEBOOKS[stem]:
            assert f"`{name}`" in documented.source, f"{stem}: parameter {name} not documented"
        check = code[tagged[0] + 1].source
        assert f'check_parameters("{stem}"' in check, f"{stem}: check right after parameters"
        for name in NOTEBOOKS[stem]:
            assert f"{name}={name}" in check.replace(" ", ""), f"{stem}: {name} not checked"
        if "setup(" in check:
            assert check.index("check_parameters(") < check.index("setup("), (
                f"{stem}: check the parameters before qm7utils.setup(seed) uses them"
            )
        for heading in ("## Summary", "## Exercises", "## References"):
            assert heading in markdown, f"{stem}: missing {heading}"
        assert "{bibliography}" in markdown and ":class: dropdown" in markdown, stem


def test_stored_outputs_are_clean(notebooks):
    problems = []
    for stem, (path, nb) in notebooks.items():
        size = path.stat().st_size / 1e6
        if size > MAX_NOTEBOOK_MB:
            problems.append(f"{stem}: {size:.1f} MB (limit {MAX_NOTEBOOK_MB})")
        counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
        if counts != list(range(1, len(counts) + 1)):
            problems.append(f"{stem}: not executed top to bottom in one run: {counts}")
        for index, cell in enumerate(nb.cells):
            for output in cell.get("outputs", []):
                where = f"{stem} cell {index}"
                kind = output.get("output_type")
                if kind == "error":
                    problems.append(f"{where}: stored error {output.get('ename')}")
                if kind == "stream" and output.get("name") == "stderr":
                    problems.append(f"{where}: stderr output {output.get('text', '')[:120]!r}")
                texts = [output.get("text", "")]
                texts += [v for k, v in output.get("data", {}).items()
                          if k.startswith("text/") and isinstance(v, str)]
                for text in texts:
                    if LOCAL_PATH.search(text):
                        problems.append(f"{where}: local path {LOCAL_PATH.search(text).group()!r}")
                    if kind == "stream" and PROGRESS.search(text):
                        problems.append(f"{where}: progress-bar output")
                    if kind == "stream" and text.count("\n") > MAX_STREAM_LINES:
                        problems.append(f"{where}: {text.count(chr(10))} lines of printed output")
                    if "Traceback (most recent call last)" in text or "Warning:" in text:
                        problems.append(f"{where}: a traceback or warning in the output")
    assert not problems, "\n".join(problems)


def test_papermill_metadata_is_relative_and_complete(notebooks):
    for stem, (_, nb) in notebooks.items():
        meta = nb.metadata.get("papermill")
        assert meta, f"{stem}: not executed with papermill (make run)"
        assert meta.get("start_time") and meta.get("end_time"), stem
        assert not meta.get("exception"), f"{stem}: the stored run raised"
        for key in ("input_path", "output_path"):
            assert not str(meta.get(key, "")).startswith("/"), f"{stem}: absolute {key}"
        assert meta.get("parameters", {}) == {}, f"{stem}: stored run used non-default parameters"
