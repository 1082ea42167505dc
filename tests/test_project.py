"""The project's set-up: two commands, one environment, JAX for Keras, a clean tree."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

import yaml
from packaging.requirements import Requirement


def _pyproject(root):
    return tomllib.loads((root / "pyproject.toml").read_text())


def _requirements(lines):
    return {Requirement(line).name.lower(): str(Requirement(line).specifier) for line in lines}


def test_environment_yml_lists_the_same_packages_as_pyproject(root):
    project = _pyproject(root)["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    env = yaml.safe_load((root / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _requirements(pip) == _requirements(wanted)
    assert env["variables"]["KERAS_BACKEND"] == "jax"


def test_jupyter_book_is_pinned_exactly_to_1x(root):
    book = [r for r in _pyproject(root)["project"]["optional-dependencies"]["book"]
            if r.startswith("jupyter-book")]
    assert len(book) == 1 and re.fullmatch(r"jupyter-book==1\.\d+\.\d+", book[0])


def test_keras_runs_on_jax_even_if_the_environment_says_otherwise():
    code = "import qm7utils, keras; print(keras.backend.backend())"
    for value in (None, "tensorflow"):
        env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
        if value:
            env["KERAS_BACKEND"] = value
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True)
        assert out.stdout.strip() == "jax"
        if value:
            assert "overridden" in out.stderr


def test_readme_gives_two_commands_and_ci_calls_the_test_one(root):
    readme = (root / "README.md").read_text()
    first = readme.split("\n## ")[1]
    block = re.search(r"```bash\n(.*?)```", first, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make book", "make test"]
    ci = (root / ".ci" / "run").read_text()
    assert re.search(r"^\s*(time\s+)?make test\s*$", ci, re.M)
    assert "QM7_PATH" in ci and "shared/data/qm7.mat" in ci


def test_no_data_or_build_outputs_are_tracked(root):
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.split()
    assert not [f for f in tracked if f.endswith((".mat", ".npy", ".npz", ".h5"))]
    assert not [f for f in tracked if f.startswith(("_build/", ".venv/")) or "__pycache__" in f]
