"""Rerun the book's notebooks in order with papermill.

Usage::

    python -m qm7utils.book.run                     # every notebook, in place (`make run`)
    python -m qm7utils.book.run --only 05,06        # some notebooks (number or name)
    python -m qm7utils.book.run --quick             # tiny subsets, one epoch: the whole book fast
    python -m qm7utils.book.run --params my.yml --output-dir out/
    python -m qm7utils.book.run --list              # notebooks and their parameters

Without parameters the notebooks are executed in place: their stored outputs (which the book
shows and nbval checks) and ``results/*.json`` are refreshed. With ``--quick`` or ``--params``
the executed copies go to ``--output-dir`` (default ``_build/executed``) and their results files
to ``<output-dir>/results`` (or ``$QM7_RESULTS_DIR``), so a trial run never overwrites the
committed outputs; an ``--output-dir`` that is the notebooks' own folder is refused unless
``--in-place`` asks for it (the results files still stay out of ``results/``: see
:mod:`qm7utils.book.results`).

Each notebook is executed into a temporary copy beside its target, which replaces the target
only once the whole notebook has run: a failed in-place run leaves the committed notebook as
it was (a failed copy elsewhere is kept, with its error, for inspection). Environment variables
the runner sets for the kernels (``TQDM_DISABLE``, ``QM7_RESULTS_DIR``) are restored afterwards.

A parameters file is YAML: notebook names (or ``all``) mapping to parameter values::

    all:
      seed: 1
    06_regression:
      n_molecules: 2000

Every value is checked against the notebook's declaration in :mod:`qm7utils.book.params` before
anything runs. An empty file, a repeated key, an unknown notebook and a parameter that no
notebook declares (under ``all``) or that the notebook does not declare (under its name) are
refused, with the known names. The run stops at the first failing notebook and names the
failing cell.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .params import NOTEBOOKS, QUICK, ParameterError, describe_parameters
from .results import book_results_dir, trial_results_dir

__all__ = ["RunError", "find_notebooks", "main", "resolve_parameters", "run_notebooks"]

ROOT = Path(__file__).resolve().parents[2]


class RunError(RuntimeError):
    """A notebook failed, or the command line asked for something that does not exist."""


def find_notebooks(directory: Path, only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks of ``directory`` in reading order, optionally filtered.

    ``only`` holds names or number prefixes (``"05"``, ``"05_classification"``).
    """
    notebooks = sorted(p for p in directory.glob("[0-9][0-9]*.ipynb"))
    if not notebooks:
        raise RunError(f"No notebooks (NN_name.ipynb) in {directory}")
    if not only:
        return notebooks
    chosen = []
    for key in only:
        matches = [p for p in notebooks if p.stem == key or p.stem.split("_")[0] == key]
        if not matches:
            names = ", ".join(p.stem for p in notebooks)
            raise RunError(f"--only {key!r} matches no notebook; the notebooks are: {names}")
        chosen += [p for p in matches if p not in chosen]
    return sorted(chosen)


def _load_params_file(path: Path) -> dict[str, dict[str, Any]]:
    import yaml

    class UniqueKeys(yaml.SafeLoader):
        """Refuses a key given twice in one mapping (plain YAML keeps the last silently)."""

    def mapping(loader, node, deep=False):
        keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = sorted({str(k) for k in keys if keys.count(k) > 1})
        if repeated:
            raise yaml.constructor.ConstructorError(
                None, None, f"repeated key(s) {repeated}", node.start_mark
            )
        return loader.construct_mapping(node, deep=deep)

    UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        data = yaml.load(path.read_text(), Loader=UniqueKeys)  # a SafeLoader: no code runs
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise RunError(f"Cannot read the parameters file {path}: {error}") from None
    if data is not None and (
        not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values())
    ):
        raise RunError(
            f"{path} must map notebook names (or 'all') to parameter values, e.g. "
            "'06_regression: {seed: 1}'"
        )
    if not data or not any(data.values()):
        raise RunError(
            f"The parameters file {path} gives no parameter values; write e.g. "
            "'06_regression: {seed: 1}', or leave out --params for the book's default run"
        )
    return data


def resolve_parameters(
    notebook: str, quick: bool = False, overrides: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Parameters to pass to one notebook: quick profile, then ``all``, then its own entry.

    Each value is validated against the notebook's declaration; a value for ``all`` is used
    only by the notebooks that have that parameter.

    Raises
    ------
    ParameterError
        Unknown notebook or parameter, or a bad value.
    """
    if notebook not in NOTEBOOKS:
        raise ParameterError(
            f"{notebook} declares no parameters in qm7utils.book.params.NOTEBOOKS; add it there"
        )
    spec = NOTEBOOKS[notebook]
    values: dict[str, Any] = dict(QUICK.get(notebook, {})) if quick else {}
    overrides = overrides or {}
    unknown_notebooks = sorted(set(overrides) - set(NOTEBOOKS) - {"all"}, key=str)
    if unknown_notebooks:
        raise ParameterError(
            f"Unknown notebook(s) {unknown_notebooks} in the parameters; known: "
            f"{', '.join(NOTEBOOKS)} or 'all'"
        )
    every = {name: None for params in NOTEBOOKS.values() for name in params}
    unknown_all = sorted(set(overrides.get("all", {})) - set(every), key=str)
    if unknown_all:
        raise ParameterError(
            f"Unknown parameter(s) {unknown_all} under 'all'; the notebooks' parameters are "
            f"{', '.join(every)}"
        )
    values.update({k: v for k, v in overrides.get("all", {}).items() if k in spec})
    own = overrides.get(notebook, {})
    unknown = sorted(set(own) - set(spec), key=str)
    if unknown:
        raise ParameterError(
            f"Unknown parameter(s) {unknown} for {notebook}; its parameters are "
            f"{', '.join(spec) or 'none'}"
        )
    values.update(own)
    return {name: spec[name].check(name, value, notebook) for name, value in values.items()}


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _finish(executed: Path, target: Path) -> None:
    """Store repository-relative paths in papermill's metadata (no local paths in git, and the
    target's name rather than the temporary copy's), then move the copy onto the target."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    if "input_path" in meta:
        meta["input_path"] = _relative(Path(meta["input_path"]))
    if "output_path" in meta:
        meta["output_path"] = _relative(target)
    nbformat.write(nb, executed)
    if target.exists():
        shutil.copymode(target, executed)
    else:
        executed.chmod(0o644)
    os.replace(executed, target)


@contextlib.contextmanager
def _environment(**values: str):
    """Set environment variables for the kernels papermill starts; restore them afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _describe_failure(error: Exception, notebook: Path) -> str:
    cell = getattr(error, "cell_index", None)
    count = getattr(error, "exec_count", None)
    source = (getattr(error, "source", "") or "").strip().splitlines()
    first = next((line for line in source if line.strip() and not line.startswith("#")), "")
    ename, evalue = getattr(error, "ename", type(error).__name__), getattr(error, "evalue", "")
    where = f"cell {cell}" if cell is not None else "a cell"
    if count is not None:
        where += f" (execution count {count})"
    return f"{notebook.stem} failed in {where}: {first!r}\n  {ename}: {evalue}"


def run_notebooks(
    notebooks: list[Path],
    output_dir: Path | None = None,
    quick: bool = False,
    overrides: dict[str, dict[str, Any]] | None = None,
    timeout: int | None = None,
    in_place: bool = False,
) -> dict[str, float]:
    """Execute notebooks in order; return the wall time of each, in seconds.

    Parameters
    ----------
    notebooks : list of Path
        The notebooks, in the order to run them.
    output_dir : Path, optional
        Where the executed copies go (and, unless ``QM7_RESULTS_DIR`` is set, their results
        files, to ``<output_dir>/results``); by default the notebooks are replaced in place.
    quick, overrides
        The quick profile and parameter values (see :func:`resolve_parameters`).
    timeout : int, optional
        Seconds allowed per cell.
    in_place : bool
        Allow a quick or parameterised run to replace the notebooks themselves.

    Raises
    ------
    RunError
        Before anything runs, when a quick or parameterised run would replace the notebooks
        without ``in_place``; at the first notebook that fails, naming the failing cell and
        the error (a notebook run in place is then left unchanged).
    """
    import papermill

    plan = [(nb, resolve_parameters(nb.stem, quick, overrides)) for nb in notebooks]
    sources = {nb.parent.resolve() for nb in notebooks} | {(ROOT / "notebooks").resolve()}
    writes_sources = output_dir is None or output_dir.resolve() in sources
    if writes_sources and (quick or any(p for _, p in plan)) and not in_place:
        raise RunError(
            f"A {'quick' if quick else 'parameterised'} run would overwrite the committed "
            f"notebooks in {_relative(notebooks[0].parent)}/: write the copies elsewhere with "
            "--output-dir (e.g. _build/executed), or pass --in-place to overwrite them on purpose"
        )
    env = {"TQDM_DISABLE": "1"}  # tqdm's own switch: no progress bars in stored outputs
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        if not writes_sources and not os.environ.get("QM7_RESULTS_DIR"):
            results = output_dir / "results"  # beside the copies, never the committed folder
            if results.resolve() == book_results_dir().resolve():
                results = trial_results_dir()
            env["QM7_RESULTS_DIR"] = str(results)
    times: dict[str, float] = {}
    with _environment(**env):
        for i, (notebook, parameters) in enumerate(plan, 1):
            target = (output_dir / notebook.name) if output_dir is not None else notebook
            shown = ", ".join(f"{k}={v!r}" for k, v in parameters.items())
            print(f"[{i}/{len(plan)}] {notebook.stem}" + (f" ({shown})" if shown else ""),
                  flush=True)
            start = time.perf_counter()
            _execute(papermill, notebook, target, parameters, timeout)
            times[notebook.stem] = time.perf_counter() - start
            print(f"      done in {times[notebook.stem]:.1f} s -> {_relative(target)}",
                  flush=True)
    return times


def _execute(papermill, notebook: Path, target: Path, parameters: dict, timeout) -> None:
    """Run one notebook into a temporary copy beside ``target``; replace ``target`` on success.

    On a failure in a cell, a copy elsewhere is kept with its error, while a notebook run in
    place is left as it was.
    """
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".ipynb")
    os.close(handle)
    executed = Path(name)
    try:
        try:
            papermill.execute_notebook(
                str(notebook),
                str(executed),
                parameters=parameters,
                cwd=str(notebook.parent),
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                execution_timeout=timeout,
            )
        except papermill.PapermillExecutionError as error:
            message = _describe_failure(error, notebook)
            if target.resolve() == notebook.resolve():
                message += f"\n  {_relative(notebook)} is unchanged"
            else:
                _finish(executed, target)
                message += f"\n  the executed copy, with the error, is {_relative(target)}"
            raise RunError(message) from None
        _finish(executed, target)
    finally:
        executed.unlink(missing_ok=True)


def _report(times: dict[str, float]) -> None:
    width = max(len(name) for name in times)
    print("\nTime per notebook:")
    for name, seconds in times.items():
        print(f"  {name:<{width}}  {seconds:7.1f} s")
    total = sum(times.values())
    print(f"  {'total':<{width}}  {total:7.1f} s ({total / 60:.1f} min)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qm7utils.book.run", description="Rerun the book's notebooks with papermill."
    )
    parser.add_argument("--only", help="comma-separated notebook names or numbers, e.g. 05,06")
    parser.add_argument("--params", type=Path, help="YAML file of parameters per notebook")
    parser.add_argument("--quick", action="store_true", help="the quick profile: tiny runs")
    parser.add_argument("--output-dir", type=Path, help="write executed copies here")
    parser.add_argument("--in-place", action="store_true",
                        help="let a --quick or --params run overwrite the notebooks themselves")
    parser.add_argument("--notebooks-dir", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell")
    parser.add_argument("--list", action="store_true", help="list notebooks and parameters")
    args = parser.parse_args(argv)

    try:
        only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
        notebooks = find_notebooks(args.notebooks_dir, only)
        if args.list:
            for nb in notebooks:
                print(nb.stem)
                for name, text in describe_parameters(nb.stem).items():
                    print(f"    {name}: {text}")
            return 0
        overrides = _load_params_file(args.params) if args.params else None
        output_dir = args.output_dir
        if output_dir is None and (args.quick or overrides) and not args.in_place:
            output_dir = ROOT / "_build" / "executed"
        times = run_notebooks(notebooks, output_dir, args.quick, overrides, args.timeout,
                              in_place=args.in_place)
    except (RunError, ParameterError) as error:
        print(f"\nError: {error}", file=sys.stderr)
        return 1
    _report(times)
    return 0


if __name__ == "__main__":
    sys.exit(main())
