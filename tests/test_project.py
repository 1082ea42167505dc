"""The project's set-up: two commands, one environment, JAX for Keras, a clean tree."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

import yaml


def _pyproject(root):
    return tomllib.loads((root / "pyproject.toml").read_text())


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


# --- The package's layout: small modules, layers, public names only, no import side effects --

MAX_MODULE_LINES = 650
#: Lower layers never import higher ones; a module may import its own layer and those below.
LAYERS = {
    "qm7utils.chem": 0,
    "qm7utils.data": 1,
    "qm7utils.parallel": 0,
    "qm7utils.published": 0,
    "qm7utils.representations": 1,
    "qm7utils.graphs": 1,
    "qm7utils.evaluation": 1,
    "qm7utils.models": 2,
    "qm7utils.viz": 3,
    "qm7utils.book": 3,
}
LAYER_NAMES = ("chem, parallel, published", "data, representations, graphs, evaluation",
               "models", "viz, book")


def _modules(root):
    """``{dotted name: path}`` of every module of the package."""
    found = {}
    for path in sorted((root / "qm7utils").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _layer(module):
    if module == "qm7utils":
        return len(LAYER_NAMES) - 1  # the package's front door re-exports from every layer
    keys = [k for k in LAYERS if module == k or module.startswith(k + ".")]
    return LAYERS[max(keys, key=len)] if keys else None


def _imports(module, path, modules):
    """Every qm7utils import of a module, as ``(line, module imported, names, local names)``.

    ``names`` are the names imported from that module (empty when the module itself is
    imported); ``local`` maps the local names bound to qm7utils modules to those modules.
    """
    import ast

    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, [], {a.asname: a.name} if a.asname else {})
                      for a in node.names if a.name.split(".")[0] == "qm7utils"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "qm7utils":
                continue
            names = []
            for alias in node.names:
                if f"{target}.{alias.name}" in modules:  # `from . import chem`: a module
                    submodule = f"{target}.{alias.name}"
                    found.append((node.lineno, submodule, [],
                                  {alias.asname or alias.name: submodule}))
                else:
                    names.append(alias.name)
            if names:
                found.append((node.lineno, target, names, {}))
    return found


def test_no_module_of_the_package_is_over_650_lines(root):
    long = {name: n for name, path in _modules(root).items()
            if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by idea): {long}"


def test_no_module_imports_a_private_name_of_another(root):
    import ast

    modules = _modules(root)
    problems = []
    for module, path in modules.items():
        local = {}
        for line, target, names, bound in _imports(module, path, modules):
            local.update(bound)
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if target != module and private:
                problems.append(f"{path.relative_to(root)}:{line} imports {private} from {target}")
        for node in ast.walk(ast.parse(path.read_text())):  # `kernels._helper(...)`
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in local and local[node.value.id] != module
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                problems.append(f"{path.relative_to(root)}:{node.lineno} uses "
                                f"{local[node.value.id]}.{node.attr}")
    assert not problems, "private names used across modules:\n" + "\n".join(problems)


def test_every_module_has_a_layer_and_lower_layers_never_import_higher_ones(root):
    modules = _modules(root)
    unplaced = sorted(m for m in modules if _layer(m) is None)
    assert not unplaced, (
        f"modules outside the package's layout (add them to LAYERS, or remove them): {unplaced}"
    )
    problems = []
    for module, path in modules.items():
        for line, target, _, _ in _imports(module, path, modules):
            mine, theirs = _layer(module), _layer(target)
            if theirs is not None and theirs > mine:
                problems.append(
                    f"{path.relative_to(root)}:{line}: {module} ({LAYER_NAMES[mine]}) imports "
                    f"{target} ({LAYER_NAMES[theirs]})"
                )
    assert not problems, "a lower layer imports a higher one:\n" + "\n".join(problems)


_SIDE_EFFECTS = r"""
import json, os, pkgutil, sys, warnings, importlib, random
import numpy as np
import pandas as pd
import plotly.io as pio

# The libraries the package imports first: their own import-time settings are not the package's.
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception:
        pass


def snapshot():  # everything an import could change behind the caller's back
    return {
        "filters": list(warnings.filters),
        "environ": {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"},
        "numpy": np.random.get_state()[1].tolist(),
        "random": random.getstate(),
        "plotly": (pio.renderers.default, pio.templates.default),
        "pandas": pd.get_option("display.precision"),
        "cwd": os.getcwd(),
        "path": list(sys.path),
    }


before = snapshot()
import qm7utils

names = ["qm7utils"] + [m.name for m in pkgutil.walk_packages(qm7utils.__path__, "qm7utils.")]
failed = {}
for name in names:
    try:
        importlib.import_module(name)
    except Exception as error:  # reported, not hidden
        failed[name] = f"{type(error).__name__}: {error}"
after = snapshot()
changed = sorted(k for k in before if before[k] != after[k])
details = {}
if "filters" in changed:
    details["filters"] = [str(f) for f in after["filters"] if f not in before["filters"]]
if "environ" in changed:
    details["environ"] = sorted(set(after["environ"].items()) ^ set(before["environ"].items()))
for key in ("plotly", "pandas", "cwd", "path"):
    if key in changed:
        details[key] = f"{before[key]} -> {after[key]}"
if "jax" in sys.modules:
    import jax
    cache = jax.config.jax_compilation_cache_dir
    if cache:
        changed.append("jax_compilation_cache_dir")
        details["jax_compilation_cache_dir"] = cache
print(json.dumps({"modules": names, "failed": failed, "changed": changed, "details": details},
                 default=str))
"""


def _third_party_imports(root):
    """Every module outside qm7utils that the package imports (absolute imports only)."""
    import ast

    found = set()
    for path in _modules(root).values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module)
    return sorted(n for n in found if n.split(".")[0] not in ("qm7utils", "__future__"))


def test_importing_the_package_and_every_module_has_no_side_effects(root):
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "XLA_"))}
    env["KERAS_BACKEND"] = "jax"
    libraries = json.dumps(_third_party_imports(root))
    out = subprocess.run([sys.executable, "-c", _SIDE_EFFECTS, libraries], cwd=root, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]

    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert not report["changed"] and not report["failed"], (
        f"importing the package changed {report['changed']}: {report['details']}; "
        f"modules that do not import: {report['failed']}"
    )
    assert len(report["modules"]) == len(_modules(root))


def test_the_api_reference_documents_every_module_of_the_package(root):
    page = (root / "book" / "api.md").read_text()
    documented = re.findall(r"^\.\. automodule:: (\S+)$", page, re.M)
    public = [m for m in _modules(root) if not any(p.startswith("_") for p in m.split("."))]
    missing = sorted(set(public) - set(documented))
    assert not missing, f"modules missing from book/api.md (add a section): {missing}"
    assert not set(documented) - set(public), "book/api.md documents modules that do not exist"
    assert len(documented) == len(set(documented))
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    assert "book/api" in [c["file"] for part in toc["parts"] for c in part["chapters"]]
    extensions = yaml.safe_load((root / "_config.yml").read_text())["sphinx"]["extra_extensions"]
    assert {"sphinx.ext.autodoc", "sphinx.ext.napoleon"} <= set(extensions)
