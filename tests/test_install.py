"""Installs that reproduce the book, and the two other ways readers meet it.

The lock (``requirements/lock.txt``) fixes every package the stored outputs depend on; ``make``,
CI, conda and Binder install from it. The chapters' Colab cells install from the repository in
``_config.yml``; the published book is built by a GitHub Pages workflow that zizmor lints; and
``make lab`` opens the notebooks in JupyterLab on the kernel they name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = "requirements/lock.txt"
WORKFLOW = ".github/workflows/pages.yml"
BIN = Path(sys.executable).parent


def read_lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """``{name: (version, hashes)}`` of a hash-pinned requirements file."""
    pins = {}
    for line in path.read_text().replace("\\\n", " ").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement, *options = line.split()
        req = Requirement(requirement)
        name = canonicalize_name(req.name)
        assert name not in pins, f"{name} is pinned twice in {path.name}"
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{requirement}: not an exact pin"
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=")]
        pins[name] = (specs[0].version, hashes)
    return pins


@pytest.fixture(scope="module")
def lock(root):
    return read_lock(root / LOCK)


def _pyproject(root):
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]


def _make(root, *args):
    """``make -n`` (print, run nothing) with a clean make environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out = subprocess.run(["make", "-n", *args], cwd=root, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


# --- 1. The lock -----------------------------------------------------------------------------


def test_the_lock_pins_every_package_to_one_version_with_its_hashes(root, lock):
    assert len(lock) > 100
    unhashed = [name for name, (_, hashes) in lock.items()
                if not hashes or not all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes)]
    assert not unhashed, f"packages of {LOCK} without sha256 hashes: {unhashed}"
    header = (root / LOCK).read_text().splitlines()[:2]
    assert "make lock" in header[1], f"{LOCK} must be made by `make lock`: {header}"
    assert "qm7utils" not in lock, "the book's own package is installed from the tree, not locked"


def test_the_lock_holds_every_dependency_of_pyproject_within_its_bounds(root, lock):
    project = _pyproject(root)
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    problems = []
    for line in wanted:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name not in lock:
            problems.append(f"{line}: not in the lock")
        elif not req.specifier.contains(lock[name][0], prereleases=True):
            problems.append(f"{line}: the lock has {lock[name][0]}")
    assert not problems, f"run `make lock` after changing pyproject.toml: {problems}"


def test_the_make_lock_command_locks_every_extra_of_pyproject(root):
    command = _make(root, "-B", "lock", "VENV=/nonexistent/venv")
    extras = set(re.findall(r"--extra (\S+)", command))
    assert extras == set(_pyproject(root)["optional-dependencies"]), command
    for option in ("--generate-hashes", f"--output-file {LOCK}", "--python-version 3.11"):
        assert option in command, f"`make lock` lacks {option}: {command}"


def test_make_installs_the_lock_with_hashes_then_the_package_alone(root):
    command = _make(root, "-B", "install", "VENV=/nonexistent/venv")
    lines = [line.strip() for line in command.splitlines()]
    lock_install = [i for i, line in enumerate(lines) if f"--require-hashes -r {LOCK}" in line]
    package = [i for i, line in enumerate(lines) if line.endswith("--no-deps -e .")]
    assert lock_install and package and lock_install[0] < package[0], command
    assert "[book,test]" not in command and "pip install -e" not in command, (
        f"make must install the lock, not resolve pyproject.toml anew: {command}"
    )


def test_this_environment_has_the_lock_versions_and_nothing_missing(lock):
    wrong = {}
    for name, (version, _) in lock.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = f"{installed} (lock: {version})"
    assert not wrong, f"the environment differs from {LOCK} (run `make install`): {wrong}"
    # The lock is closed: what each locked package needs here is locked too.
    missing = set()
    for name in lock:
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                if canonicalize_name(req.name) not in lock:
                    missing.add(f"{req.name} (needed by {name})")
    assert not missing, f"packages missing from {LOCK}: {sorted(missing)}"


def test_environment_yml_installs_python_3_11_and_the_lock(root):
    env = yaml.safe_load((root / "environment.yml").read_text())
    assert env["dependencies"] == ["python=3.11", "pip", {"pip": [f"-r {LOCK}"]}], (
        "environment.yml must install exactly the lock (conda packages would shadow its pins)"
    )
    assert env["variables"]["KERAS_BACKEND"] == "jax"
    makefile = (root / "Makefile").read_text()
    assert re.search(rf"^LOCK\s*:=\s*{re.escape(LOCK)}\s*$", makefile, re.M)
    assert re.search(r"--python-version 3\.11\.\d+", makefile), "the lock is for Python 3.11"
    post_build = (root / "postBuild").read_text()
    assert re.search(r"^pip install --no-deps -e \.$", post_build, re.M), post_build


# --- 2. One repository URL --------------------------------------------------------------------

INSTALL = re.compile(r'"qm7utils @ git\+([^"\s]+)"')


def _repository_url(root):
    return yaml.safe_load((root / "_config.yml").read_text())["repository"]["url"].rstrip("/")


def _first_code_cell(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return next(c for c in notebook["cells"] if c["cell_type"] == "code")


def test_every_colab_cell_installs_from_the_repository_in_config(root):
    url = _repository_url(root)
    assert url.startswith("https://github.com/"), url
    places = {p.name: "".join(_first_code_cell(p)["source"])
              for p in sorted((root / "notebooks").glob("[0-9][0-9]*.ipynb"))}
    places["book/writing_a_chapter.md"] = (root / "book" / "writing_a_chapter.md").read_text()
    wrong = {name: INSTALL.findall(text) for name, text in places.items()
             if INSTALL.findall(text) != [url]}
    assert not wrong, (
        f"install lines that differ from _config.yml's repository ({url}): {wrong}; "
        "run `python -m qm7utils.book.install_url`"
    )


def _run_tool(root, copy, *args):
    return subprocess.run([sys.executable, "-m", "qm7utils.book.install_url",
                           "--root", str(copy), *args], capture_output=True, text=True,
                          timeout=60)


def test_install_url_rewrites_only_the_install_lines_after_the_url_changes(root, tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    chapters = sorted((root / "notebooks").glob("[0-9][0-9]*.ipynb"))[:2]
    for path in chapters:
        shutil.copy(path, tmp_path / "notebooks")
    shutil.copy(root / "book" / "writing_a_chapter.md", tmp_path / "book")
    config = (root / "_config.yml").read_text()
    old = _repository_url(root)
    new = "https://github.com/a-reader/qm7-fork"
    (tmp_path / "_config.yml").write_text(config.replace(f"url: {old}", f"url: {new}"))

    check = _run_tool(root, tmp_path, "--check")
    assert check.returncode == 1
    for name in [f"notebooks/{p.name}" for p in chapters] + ["book/writing_a_chapter.md"]:
        assert name in check.stdout, check.stdout
    assert _run_tool(root, tmp_path).returncode == 0
    assert _run_tool(root, tmp_path, "--check").returncode == 0

    for path in chapters:
        before = path.read_text(encoding="utf-8").splitlines()
        after = (tmp_path / "notebooks" / path.name).read_text(encoding="utf-8").splitlines()
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(changed) == 1 and changed[0][0].replace(old, new) == changed[0][1], changed
        assert INSTALL.findall("".join(_first_code_cell(tmp_path / "notebooks" /
                                                         path.name)["source"])) == [new]


def test_install_url_refuses_a_chapter_without_an_install_line(root, tmp_path):
    (tmp_path / "notebooks").mkdir()
    shutil.copy(root / "_config.yml", tmp_path)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys")])
    nbformat.write(notebook, tmp_path / "notebooks" / "01_x.ipynb")
    out = _run_tool(root, tmp_path, "--check")
    assert out.returncode != 0 and "01_x.ipynb" in out.stderr and "install line" in out.stderr


# --- 3. The published book ---------------------------------------------------------------------


def test_the_pages_workflow_publishes_the_stored_outputs_on_every_push_to_main(root):
    workflow = yaml.safe_load((root / WORKFLOW).read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["group"] == "pages"
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    runs = [s["run"] for s in build["steps"] if "run" in s]
    assert runs == ["make html PYTHON=python"], runs
    upload = [s for s in build["steps"] if s.get("uses", "").startswith(
        "actions/upload-pages-artifact@")]
    assert len(upload) == 1 and upload[0]["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    # `make html` builds from the stored outputs: nothing executes the notebooks.
    config = yaml.safe_load((root / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    html = _make(root, "html")
    assert "jupyter-book build" in html and "qm7utils.book.run" not in html, html


def _zizmor(*paths):
    zizmor = shutil.which("zizmor", path=str(BIN)) or shutil.which("zizmor")
    assert zizmor, f"zizmor not found: it is in {LOCK}, run `make install`"
    return subprocess.run([zizmor, "--offline", "--no-progress", *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def test_the_workflows_pass_the_workflow_linter(root):
    out = _zizmor(root / ".github" / "workflows")
    assert out.returncode == 0, out.stdout + out.stderr


BROKEN = {
    "misspelt key": ("runs-on: ubuntu-latest", "run-on: ubuntu-latest"),
    "action not pinned to a commit": ("actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
                                      "actions/checkout@v4"),
    "code injection": ("        run: make html PYTHON=python\n",
                       "        run: make html PYTHON=python\n"
                       '      - run: echo "${{ github.event.head_commit.message }}"\n'),
}


@pytest.mark.parametrize("case", BROKEN)
def test_the_workflow_linter_flags_a_broken_workflow(root, tmp_path, case):
    old, new = BROKEN[case]
    text = (root / WORKFLOW).read_text()
    assert old in text
    broken = tmp_path / "pages.yml"
    broken.write_text(text.replace(old, new, 1))
    out = _zizmor(broken)
    assert out.returncode != 0, f"{case} passed the linter: {out.stdout}{out.stderr}"


# --- 4. Interactive use ------------------------------------------------------------------------


def _kernel_prints(name, code):
    """What ``code`` prints in a fresh kernel ``name``."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name=name)
    printed = []
    try:
        client.execute_interactive(code, timeout=120, output_hook=lambda msg: printed.append(
            msg["content"].get("text", "")))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return "".join(printed).strip()


def test_the_kernel_the_notebooks_name_runs_this_environment(root):
    from jupyter_client.kernelspec import KernelSpecManager

    names = {nbformat.read(p, as_version=4).metadata.kernelspec["name"]
             for p in sorted((root / "notebooks").glob("[0-9][0-9]*.ipynb"))}
    specs = KernelSpecManager().find_kernel_specs()
    assert names <= set(specs), f"kernels the notebooks name: {names}; installed: {specs}"
    for name in names:  # the kernel runs this environment's Python, with qm7utils importable
        prefix = _kernel_prints(name, "import sys, qm7utils; print(sys.prefix)")
        assert prefix == sys.prefix, f"kernel {name} runs {prefix}, not {sys.prefix}"


def test_make_lab_opens_the_notebooks_in_jupyterlab_from_this_environment(root, lock):
    command = _make(root, "lab").strip().splitlines()[-1]
    assert re.search(r"\.venv/bin/jupyter lab notebooks\b", command), command
    assert "jupyterlab" in lock and "ipykernel" in lock, "Binder and make lab install JupyterLab"
    assert (BIN / "jupyter-lab").exists(), "JupyterLab is not installed: run `make install`"
