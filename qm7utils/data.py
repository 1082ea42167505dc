"""Loading and validating the QM7 data set.

QM7 (Rupp et al. 2012; folds from Montavon et al. 2012) holds 7,165 organic molecules with up
to 23 atoms (at most 7 heavy atoms C, N, O, S), their geometries and their PBE0 atomization
energies. The canonical file is ``qm7.mat`` from quantum-machine.org, a MATLAB v5 file with

===== ============== ======================================================================
name  shape          content
===== ============== ======================================================================
``X`` (7165, 23, 23) Coulomb matrices, rows/columns sorted by descending row sum
``T`` (1, 7165)      atomization energies in kcal/mol
``P`` (5, 1433)      five cross-validation folds (molecule indices)
``Z`` (7165, 23)     nuclear charges, 0 marks padding
``R`` (7165, 23, 3)  Cartesian coordinates in Bohr, padding rows are 0
===== ============== ======================================================================

:func:`load_qm7` finds the file (explicit path, then ``QM7_PATH``, then the cache, then a
verified download; the cached copy is checked against the same hash), checks its structure
and its content (``X`` against ``Z`` and ``R``, the folds in ``P``), and returns a
:class:`QM7` object.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chem import ELEMENTS, element_counts, hill_formula

__all__ = [
    "DOWNLOAD_DEADLINE",
    "MAX_ATOMS",
    "N_FOLDS",
    "QM7",
    "QM7DataError",
    "QM7_SHA256",
    "QM7_SIZE",
    "QM7_URL",
    "READ_TIMEOUT",
    "cache_dir",
    "fetch_qm7",
    "file_sha256",
    "load_qm7",
    "locate_qm7",
    "validate_arrays",
    "verify_cached",
]

#: Where the canonical file is published.
QM7_URL = "http://quantum-machine.org/data/qm7.mat"
#: SHA-256 of the canonical file (a download must match it exactly).
QM7_SHA256 = "fd6c26c1086887310518e6a6da778253bc5d3ceb8166007a679a740fff9ee6ea"
#: Size in bytes of the canonical file.
QM7_SIZE = 17_884_280
#: File name used in the cache folder.
QM7_FILENAME = "qm7.mat"
#: Padded number of atoms per molecule in QM7.
MAX_ATOMS = 23
#: Number of cross-validation folds in ``P``.
N_FOLDS = 5
#: A download gives up when one read waits longer than this (seconds) ...
READ_TIMEOUT = 30.0
#: ... or when the whole transfer takes longer than this (seconds).
DOWNLOAD_DEADLINE = 600.0

_FIX_HINT = (
    "Point the book at a good copy: pass load_qm7(path=...), or set the QM7_PATH environment "
    "variable to the file, or delete the cached copy so it is downloaded again."
)


class QM7DataError(RuntimeError):
    """The QM7 file is missing, unreadable or malformed, or could not be downloaded."""


@dataclass(frozen=True, repr=False)
class QM7:
    """The QM7 arrays, with units and conventions fixed.

    Attributes
    ----------
    X : ndarray of shape (n, 23, 23), float64
        Coulomb matrices as stored in the file: rows and columns sorted by descending row sum,
        so **not** in the atom order of ``Z`` and ``R``.
    T : ndarray of shape (n,), float64
        Atomization energies in kcal/mol (negative: binding lowers the energy).
    P : ndarray of shape (5, n // 5), int64
        The five cross-validation folds: ``P[k]`` lists the molecules of fold ``k``.
    Z : ndarray of shape (n, 23), int64
        Nuclear charges; 0 marks a padding slot. Real atoms come first.
    R : ndarray of shape (n, 23, 3), float64
        Cartesian coordinates in Bohr; padding rows are 0.
    """

    X: np.ndarray
    T: np.ndarray
    P: np.ndarray
    Z: np.ndarray
    R: np.ndarray

    @property
    def n_molecules(self) -> int:
        """Number of molecules."""
        return int(self.T.shape[0])

    @property
    def n_atoms(self) -> np.ndarray:
        """Number of atoms of each molecule, shape (n,)."""
        return (self.Z > 0).sum(axis=1)

    @property
    def fold(self) -> np.ndarray:
        """Fold (0..4) of each molecule, shape (n,): the inverse of ``P``."""
        fold = np.empty(self.n_molecules, dtype=np.int64)
        for k, members in enumerate(self.P):
            fold[members] = k
        return fold

    def formulas(self) -> list[str]:
        """Molecular formula of each molecule in Hill order (C, H, then alphabetical)."""
        return [hill_formula(z) for z in self.Z]

    def to_frame(self):
        """One row per molecule: a tidy :class:`pandas.DataFrame`.

        Columns are ``index`` (row in the file), ``n_atoms``, ``n_heavy`` (non-hydrogen atoms),
        ``formula`` (Hill order), ``energy`` (kcal/mol), ``fold`` (0..4) and one count column
        per element (``n_H``, ``n_C``, ``n_N``, ``n_O``, ``n_S``).
        """
        import pandas as pd

        names = [f"n_{symbol}" for symbol in ELEMENTS.values()]
        counts = dict(zip(names, element_counts(self.Z).T, strict=True))
        frame = pd.DataFrame(
            {
                "index": np.arange(self.n_molecules),
                "n_atoms": self.n_atoms,
                "n_heavy": self.n_atoms - counts["n_H"],
                "formula": self.formulas(),
                "energy": self.T,
                "fold": self.fold,
                **counts,
            }
        )
        return frame

    def sample(self, n_molecules: int | None, seed: int = 0) -> QM7:
        """A random subset with the same number of molecules from every fold.

        ``n_molecules // 5`` molecules are drawn from each fold, so the subset keeps the
        five-fold structure of ``P`` (re-indexed to the subset). ``None`` or a number at least
        the size of the data set returns ``self``.

        Parameters
        ----------
        n_molecules : int or None
            Size of the subset (rounded down to a multiple of 5, at least 5).
        seed : int
            Seed of the random draw.
        """
        if n_molecules is None or n_molecules >= self.n_molecules:
            return self
        if isinstance(n_molecules, bool) or not isinstance(n_molecules, (int, np.integer)):
            raise TypeError(f"n_molecules must be an int or None, got {n_molecules!r}")
        n_folds, fold_size = self.P.shape
        per_fold = n_molecules // n_folds
        if per_fold < 1:
            raise ValueError(
                f"n_molecules={n_molecules} is too small: at least {n_folds} molecules "
                f"(one per fold) are needed"
            )
        rng = np.random.default_rng(seed)
        picked = [np.sort(rng.choice(members, size=per_fold, replace=False)) for members in self.P]
        keep = np.sort(np.concatenate(picked))
        new_index = np.full(self.n_molecules, -1, dtype=np.int64)
        new_index[keep] = np.arange(keep.size)
        new_p = np.stack([new_index[members] for members in picked])
        return QM7(X=self.X[keep], T=self.T[keep], P=new_p, Z=self.Z[keep], R=self.R[keep])

    def __repr__(self) -> str:
        return (
            f"QM7(n_molecules={self.n_molecules}, max_atoms={self.Z.shape[1]}, "
            f"folds={self.P.shape[0]}x{self.P.shape[1]})"
        )


def cache_dir() -> Path:
    """Folder of the downloaded copy: ``$QM7_CACHE_DIR``, else the user cache (``qm7-book``)."""
    env = os.environ.get("QM7_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("qm7-book"))


def locate_qm7(path: str | os.PathLike | None = None) -> tuple[Path | None, str]:
    """Where the file comes from, without downloading anything.

    Returns ``(path, how)`` where ``how`` is ``"path"``, ``"QM7_PATH"`` or ``"cache"``, or
    ``(None, "download")`` when the file is nowhere yet. Raises :class:`QM7DataError` when an
    explicit path or ``QM7_PATH`` names a file that does not exist.
    """
    given = (
        (path, "path", "No QM7 file at {file}: check the path passed to load_qm7(path=...), or "
         "leave it out to use QM7_PATH, the cache or a download."),
        (os.environ.get("QM7_PATH") or None, "QM7_PATH", "QM7_PATH is set to {name!r}, but no "
         "file is there: set QM7_PATH to your qm7.mat, or unset it to use the cache or a "
         "download."),
    )
    for name, how, missing in given:
        if name is not None:
            candidate = Path(name).expanduser()
            if not candidate.is_file():
                raise QM7DataError(missing.format(file=candidate, name=name))
            return candidate, how
    cached = cache_dir() / QM7_FILENAME
    if cached.is_file():
        return cached, "cache"
    return None, "download"


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, as a hex string."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_cached(path: str | os.PathLike, sha256: str | None = None) -> Path:
    """Check the cached copy against the canonical hash (every time it is used: 20-odd ms).

    A cached file is the download of :func:`fetch_qm7`, so it must be the canonical file byte
    for byte; a copy modified or damaged since is refused, even one that still reads as a
    valid QM7 file.

    Raises
    ------
    QM7DataError
        If the hash differs, telling to delete the copy (the next :func:`load_qm7` then
        downloads a fresh one) or to point ``QM7_PATH`` at a good copy.
    """
    path = Path(path)
    sha256 = sha256 or QM7_SHA256
    found = file_sha256(path)
    if found != sha256:
        raise QM7DataError(
            f"The cached copy {path} is not the canonical qm7.mat (sha256 {found}, expected "
            f"{sha256}): it was modified or damaged after its download. Delete it (the next "
            "load_qm7() downloads a fresh, verified copy, or call qm7utils.data.fetch_qm7()), "
            "or set QM7_PATH to a good copy."
        )
    return path


def fetch_qm7(
    url: str | None = None,
    sha256: str | None = None,
    directory: str | os.PathLike | None = None,
    progressbar: bool = True,
    timeout: float = READ_TIMEOUT,
    deadline: float = DOWNLOAD_DEADLINE,
) -> Path:
    """Download ``qm7.mat`` into the cache, verified against its SHA-256.

    The transfer goes to a temporary file beside the target and is moved into place only once
    its hash matches, so an interrupted, timed-out or corrupted download never leaves a file
    behind (the temporary file is deleted whatever stops the transfer, Ctrl-C included). A
    cached file whose hash matches is used as is; one that does not match is downloaded again.

    Parameters
    ----------
    url, sha256 : str, optional
        Source and expected hash; default to :data:`QM7_URL` (or ``$QM7_URL``) and
        :data:`QM7_SHA256`.
    directory : path, optional
        Cache folder; defaults to :func:`cache_dir`.
    progressbar : bool
        Show a tqdm progress bar while downloading.
    timeout : float
        Seconds one connection attempt or read may wait (:data:`READ_TIMEOUT`).
    deadline : float
        Seconds the whole transfer may take (:data:`DOWNLOAD_DEADLINE`): a server that keeps
        sending a trickle is abandoned too.

    Returns
    -------
    Path of the verified file.

    Raises
    ------
    QM7DataError
        No network, a server error, a timeout, a transfer cut short, a checksum mismatch, or
        a cache folder that cannot be written; each message says what to do.
    """
    url = url or os.environ.get("QM7_URL") or QM7_URL
    sha256 = sha256 or QM7_SHA256
    directory = Path(directory) if directory is not None else cache_dir()
    target = directory / QM7_FILENAME
    if target.is_file() and file_sha256(target) == sha256:
        return target
    by_hand = (
        "Download qm7.mat by hand (quantum-machine.org/datasets) and set the QM7_PATH "
        "environment variable to it, or pass load_qm7(path=...)."
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".qm7-", suffix=".part", dir=directory)
    except OSError as error:
        raise QM7DataError(
            f"Could not write the QM7 download into {directory}: {error}. Set QM7_CACHE_DIR to a "
            "writable folder, or set QM7_PATH to a copy of qm7.mat."
        ) from error
    partial = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            received, digest = _transfer(url, out, timeout, deadline, progressbar)
        if digest != sha256:
            raise QM7DataError(
                f"The file downloaded from {url} failed its checksum (expected sha256 {sha256}, "
                f"got {digest} for {received} bytes); it was discarded. The transfer may have "
                f"been corrupted or the server changed the file: try again. {by_hand}"
            )
        os.replace(partial, target)
    except (OSError, http.client.HTTPException) as error:
        raise QM7DataError(
            f"Could not download QM7 from {url}: {type(error).__name__}: {error}. No network? "
            f"{by_hand}"
        ) from error
    finally:
        partial.unlink(missing_ok=True)
    return target


def _transfer(url: str, out, timeout: float, deadline: float, progressbar: bool):
    """Copy ``url`` into the open file ``out``; return (bytes received, their sha256)."""
    from tqdm.auto import tqdm

    digest, received = hashlib.sha256(), 0
    stop = time.monotonic() + deadline
    with urllib.request.urlopen(url, timeout=timeout) as response:
        expected = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=expected, unit="B", unit_scale=True, desc="qm7.mat",
                  disable=not progressbar) as bar:
            while block := response.read(1 << 16):
                if time.monotonic() > stop:
                    raise TimeoutError(
                        f"the download took longer than {deadline:.0f} s (received {received} "
                        f"of {expected or '?'} bytes)"
                    )
                out.write(block)
                digest.update(block)
                received += len(block)
                bar.update(len(block))
    if expected is not None and received != expected:
        raise ConnectionError(f"the transfer was cut off after {received} of {expected} bytes")
    return received, digest.hexdigest()


def _read_mat(path: Path) -> dict[str, np.ndarray]:
    import scipy.io

    try:
        raw = scipy.io.loadmat(path)
    except Exception as error:  # scipy raises ValueError, MatReadError, OSError, ...
        raise QM7DataError(
            f"{path} is not a readable MAT file ({type(error).__name__}: {error}); it may be "
            f"truncated or not qm7.mat at all. {_FIX_HINT}"
        ) from error
    return {k: v for k, v in raw.items() if not k.startswith("__")}


def validate_arrays(arrays: dict[str, np.ndarray], source: str = "the file") -> QM7:
    """Check the structure of raw QM7 arrays and return them as a :class:`QM7`.

    Checks: the five variables exist; shapes agree (``X`` (n,23,23), ``T`` n values, ``P``
    (5, n/5): five folds, not transposed, ``Z`` (n,23), ``R`` (n,23,3)); dtypes are numeric;
    ``Z`` holds only 0, 1, 6, 7, 8, 16 with real atoms before padding; padding rows of ``R`` are
    zero; ``P`` is a partition of all molecules (0-based); every value is finite; ``X`` is the
    Coulomb matrix of ``Z`` and ``R`` sorted by descending row sum, ties broken either way
    (:func:`qm7utils.representations.coulomb.agrees_as_sets`, a fraction of a second).

    Raises
    ------
    QM7DataError
        Naming the first problem found.
    """

    def fail(problem: str) -> QM7DataError:
        return QM7DataError(f"{source} is not a valid QM7 file: {problem}. {_FIX_HINT}")

    missing = [k for k in "XTPZR" if k not in arrays]
    if missing:
        raise fail(f"variables {missing} are missing (found {sorted(arrays)})")
    for key in "XTPZR":
        if not np.issubdtype(np.asarray(arrays[key]).dtype, np.number):
            raise fail(f"{key} has non-numeric dtype {np.asarray(arrays[key]).dtype}")
    X, T, P, Z, R = (np.asarray(arrays[k]) for k in "XTPZR")
    if Z.ndim != 2 or Z.shape[1] != MAX_ATOMS:
        raise fail(f"Z has shape {Z.shape}, expected (n, {MAX_ATOMS})")
    n = Z.shape[0]
    if n == 0:
        raise fail("it holds no molecules")
    expected = {"X": (n, MAX_ATOMS, MAX_ATOMS), "R": (n, MAX_ATOMS, 3)}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise fail(f"{key} has shape {arrays[key].shape}, expected {shape}")
    if T.size != n or T.ndim > 2:
        raise fail(f"T has shape {T.shape}, expected {n} energies")
    folds = (N_FOLDS, n // N_FOLDS)
    if n % N_FOLDS:
        raise fail(f"{n} molecules cannot be split into {N_FOLDS} folds of equal size")
    if P.shape != folds:
        hint = " (transposed? each row of P is one fold)" if P.shape[::-1] == folds else ""
        raise fail(
            f"P has shape {P.shape}, expected {folds}: {N_FOLDS} folds of {folds[1]} "
            f"molecules{hint}"
        )
    for key, values in (("X", X), ("T", T), ("R", R), ("Z", Z), ("P", P)):
        if not np.all(np.isfinite(values)):
            raise fail(f"{key} contains NaN or infinite values")
    if not np.all(Z == np.round(Z)):
        raise fail("Z contains non-integer nuclear charges")
    Zi = Z.astype(np.int64)
    unknown = sorted(set(np.unique(Zi).tolist()) - {0, *ELEMENTS})
    if unknown:
        raise fail(f"Z contains {unknown}; only 0 (padding) and {sorted(ELEMENTS)} are allowed")
    real = Zi > 0
    if not real[:, 0].all():
        raise fail(f"molecules {np.flatnonzero(~real[:, 0])[:5].tolist()} have no atoms")
    # Real atoms must come first: once padding starts it does not stop.
    prefix = np.cumprod(real, axis=1).astype(bool)
    if not np.array_equal(prefix, real):
        bad = np.flatnonzero((prefix != real).any(axis=1))
        raise fail(f"padding (Z = 0) is followed by atoms in molecules {bad[:5].tolist()}")
    if np.any(R[~real] != 0):
        bad = np.flatnonzero(((R != 0).any(axis=2) & ~real).any(axis=1))
        raise fail(f"padding slots have nonzero coordinates in R (molecules {bad[:5].tolist()})")
    if not np.all(P == np.round(P)):
        raise fail("P contains non-integer indices")
    Pi = P.astype(np.int64)
    members = np.sort(Pi.ravel())
    if not np.array_equal(members, np.arange(n)):
        one_based = np.array_equal(members, np.arange(1, n + 1))
        one_based = " (1-based indices? subtract 1)" if one_based else ""
        repeated = np.unique(members[1:][members[1:] == members[:-1]])
        detail = f"; repeated: {repeated[:5].tolist()}" if repeated.size else ""
        raise fail(f"P is not a partition of the molecules 0..{n - 1}{one_based}{detail}")
    from .representations.coulomb import agrees_as_sets

    try:
        agrees = agrees_as_sets(Zi, R, X)
    except ValueError as error:  # e.g. two atoms at the same position
        raise fail(f"Z and R do not describe molecules: {error}") from error
    if not agrees.all():
        bad = np.flatnonzero(~agrees)
        raise fail(
            f"X is not the Coulomb matrix of Z and R sorted by descending row sum in "
            f"{bad.size} molecule(s), e.g. {bad[:5].tolist()} (X reversed, permuted, zero, "
            f"rescaled or of other molecules?)"
        )
    return QM7(
        X=X.astype(np.float64),
        T=T.reshape(n).astype(np.float64),
        P=Pi,
        Z=Zi,
        R=R.astype(np.float64),
    )


def load_qm7(path: str | os.PathLike | None = None, *, download: bool = True) -> QM7:
    """Load QM7, finding the file the way users do.

    The file is taken from, in this order:

    1. ``path``, when given;
    2. the ``QM7_PATH`` environment variable;
    3. the cache folder (:func:`cache_dir`, ``$QM7_CACHE_DIR`` overrides it);
    4. a download of :data:`QM7_URL` into the cache, verified against :data:`QM7_SHA256`.

    A file given by path or ``QM7_PATH`` is checked by its structure and content (copies of the
    canonical file differ in their header, so not by hash); see :func:`validate_arrays`. The
    cached copy is the download itself, so it is checked by hash too (:func:`verify_cached`).

    Parameters
    ----------
    path : path-like, optional
        Explicit location of ``qm7.mat``.
    download : bool
        Allow step 4. With ``False`` a missing file raises instead.

    Returns
    -------
    QM7

    Raises
    ------
    QM7DataError
        Missing, truncated, non-MAT or malformed file; inconsistent arrays; checksum mismatch
        of a download or of the cached copy; no file and no network. The message names the
        problem and what to do.
    """
    found, how = locate_qm7(path)
    if how == "cache":
        verify_cached(found)
    if found is None:
        if not download:
            raise QM7DataError(
                "QM7 is not in the cache and download=False: set QM7_PATH to your qm7.mat, "
                "pass load_qm7(path=...), or allow the download."
            )
        found = fetch_qm7()
    return validate_arrays(_read_mat(found), source=f"{found} (from {how})")
