"""qm7utils.data: where the file comes from, how it is checked, what it gives."""

from __future__ import annotations

import hashlib
import http.server
import threading
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from molecules import batch, benzene, methane, methanol, water
from qm7utils import data
from qm7utils.data import QM7DataError, fetch_qm7, load_qm7, validate_arrays
from qm7utils.representations.coulomb import coulomb_matrix, sorted_coulomb_matrix


def synthetic_molecules(n: int = 10):
    """Z, R of n molecules (water, methane, methanol, water, ...) padded to 23 atoms."""
    pool = [water(), methane(), methanol()]
    return batch(*[pool[i % 3] for i in range(n)])


def synthetic_arrays(n: int = 10) -> dict[str, np.ndarray]:
    """A tiny file with QM7's layout: n molecules (a multiple of 5) padded to 23 atoms."""
    Z, R = synthetic_molecules(n)
    return {
        "X": sorted_coulomb_matrix(Z, R, norm="l1").astype(np.float32),
        "T": -np.linspace(300, 900, n, dtype=np.float32)[None, :],
        "P": np.arange(n, dtype=np.int64).reshape(5, n // 5),
        "Z": Z.astype(np.float32),
        "R": R.astype(np.float32),
    }


def write_mat(path: Path, arrays: dict) -> Path:
    scipy.io.savemat(path, arrays, do_compression=False)
    return path


@pytest.fixture
def good_file(tmp_path) -> Path:
    return write_mat(tmp_path / "qm7.mat", synthetic_arrays())


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No QM7_PATH and an empty private cache unless a test sets them."""
    monkeypatch.delenv("QM7_PATH", raising=False)
    monkeypatch.delenv("QM7_URL", raising=False)
    monkeypatch.setenv("QM7_CACHE_DIR", str(tmp_path / "cache"))


# --- finding the file ---------------------------------------------------------------------


def test_explicit_path_is_loaded(good_file):
    qm7 = load_qm7(good_file)
    assert qm7.X.shape == (10, 23, 23)
    assert qm7.T.shape == (10,) and qm7.T.dtype == np.float64
    assert qm7.Z.dtype == np.int64 and set(np.unique(qm7.Z)) == {0, 1, 6, 8}
    assert qm7.P.shape == (5, 2)
    np.testing.assert_array_equal(qm7.n_atoms, [3, 5, 6] * 3 + [3])


def test_path_takes_precedence_over_qm7_path(good_file, tmp_path, monkeypatch):
    other = synthetic_arrays(n=5)
    monkeypatch.setenv("QM7_PATH", str(write_mat(tmp_path / "other.mat", other)))
    assert load_qm7(good_file).n_molecules == 10
    assert load_qm7().n_molecules == 5


def test_qm7_path_takes_precedence_over_cache(good_file, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    cached = write_mat(cache / "qm7.mat", synthetic_arrays(n=5))
    monkeypatch.setattr(data, "QM7_SHA256", data.file_sha256(cached))
    assert load_qm7().n_molecules == 5
    monkeypatch.setenv("QM7_PATH", str(good_file))
    assert load_qm7().n_molecules == 10


def test_missing_explicit_path(tmp_path):
    with pytest.raises(QM7DataError, match="No QM7 file at .*nowhere.mat"):
        load_qm7(tmp_path / "nowhere.mat")


def test_missing_qm7_path_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("QM7_PATH", str(tmp_path / "gone.mat"))
    with pytest.raises(QM7DataError, match="QM7_PATH is set to .*gone.mat"):
        load_qm7()


def test_no_file_and_download_disabled():
    with pytest.raises(QM7DataError, match="download=False.*QM7_PATH"):
        load_qm7(download=False)


# --- checking the file --------------------------------------------------------------------


def test_truncated_file(good_file):
    content = good_file.read_bytes()
    good_file.write_bytes(content[: len(content) // 2])
    with pytest.raises(QM7DataError, match="not a readable MAT file.*QM7_PATH"):
        load_qm7(good_file)


def test_not_a_mat_file(tmp_path):
    bogus = tmp_path / "qm7.mat"
    bogus.write_text("<html>404 Not Found</html>\n")
    with pytest.raises(QM7DataError, match="not a readable MAT file"):
        load_qm7(bogus)


def _broken(**changes):
    arrays = synthetic_arrays()
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value(arrays[key]) if callable(value) else value
    return arrays


def _set(index, value):
    def change(array):
        array = array.copy()
        array[index] = value
        return array

    return change


def _real_blocks(change):
    """Apply ``change`` to the real n x n block of every stored X (padding stays last)."""

    def apply(X):
        X = X.copy()
        for k in range(len(X)):
            n = np.count_nonzero(np.diag(X[k]))
            X[k, :n, :n] = change(X[k, :n, :n])
        return X

    return apply


def _symmetric_change(X):
    X = X.copy()
    X[2, 0, 1] += 0.5  # methanol's C-O entry, on both sides
    X[2, 1, 0] += 0.5
    return X


def _coincident_atoms(R):
    R = R.copy()
    R[2, 3] = R[2, 2]  # two hydrogens of methanol at one place
    return R


SWAP_FIRST_TWO = [1, 0, *range(2, 23)]


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        # P: five folds, of the right molecules
        (_broken(P=lambda p: p.T), r"P has shape \(2, 5\), expected \(5, 2\).*transposed"),
        (_broken(P=lambda p: p.reshape(1, 10)), r"P has shape \(1, 10\), expected \(5, 2\)"),
        (_broken(P=lambda p: p + 1), "not a partition.*1-based"),
        (_broken(P=_set((4, 1), 0)), r"not a partition.*repeated: \[0\]"),
        # X: the Coulomb matrices of Z and R, sorted by descending row sum
        (_broken(X=lambda x: x[:, ::-1, ::-1]), "X is not the Coulomb matrix"),
        (_broken(X=_real_blocks(lambda b: b[::-1, ::-1])), "X is not the Coulomb matrix"),
        (_broken(X=np.zeros((10, 23, 23), np.float32)), r"in 10 molecule\(s\)"),
        (_broken(X=lambda x: np.roll(x, 1, axis=0)), "X is not the Coulomb matrix"),
        (_broken(X=lambda x: 1.01 * x), "X is not the Coulomb matrix"),
        (_broken(X=coulomb_matrix(*synthetic_molecules()).astype(np.float32)),
         r"in 3 molecule\(s\), e.g. \[2, 5, 8\]"),  # atom order: only methanol's differs
        (_broken(X=lambda x: x[:, SWAP_FIRST_TWO, :]), "X is not the Coulomb matrix"),
        (_broken(X=_symmetric_change), r"in 1 molecule\(s\), e.g. \[2\]"),
        (_broken(R=_coincident_atoms), "same position"),
    ],
    ids=[
        "P-transposed", "P-one-row", "P-one-based", "P-repeated", "X-reversed",
        "X-atoms-reversed", "X-zero", "X-of-other-molecules", "X-rescaled", "X-atom-order",
        "X-rows-permuted-only", "X-one-entry-changed", "R-coincident-atoms",
    ],
)
def test_inconsistent_files_are_rejected(tmp_path, arrays, message):
    path = write_mat(tmp_path / "bad.mat", arrays)
    with pytest.raises(QM7DataError, match=message) as info:
        load_qm7(path)
    assert "QM7_PATH" in str(info.value)


def test_x_with_a_tie_broken_the_other_way_loads(tmp_path):
    """The file's X may order two atoms of equal row sums either way (six molecules of QM7 do)."""
    Z, R = batch(benzene(), water(), methanol(), benzene(), methane())
    ours = sorted_coulomb_matrix(Z, R, norm="l1")
    X = ours.copy()
    X[0] = X[0][SWAP_FIRST_TWO][:, SWAP_FIRST_TWO]  # two tied carbons swapped
    assert np.abs(X[0] - ours[0]).max() > 0.1  # a different matrix, not a symmetry
    arrays = {"X": X.astype(np.float32), "T": -np.arange(1.0, 6.0)[None], "Z": Z, "R": R,
              "P": np.arange(5).reshape(5, 1)}
    qm7 = load_qm7(write_mat(tmp_path / "tie.mat", arrays))
    np.testing.assert_allclose(qm7.X, X, atol=1e-4)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (_broken(R=None), r"variables \['R'\] are missing"),
        (_broken(X=lambda x: x[:, :22, :22]), r"X has shape \(10, 22, 22\)"),
        (_broken(Z=lambda z: z[:, :20]), r"Z has shape \(10, 20\)"),
        (_broken(T=lambda t: t[:, :9]), "T has shape"),
        (_broken(P=lambda p: p[:4]), "P has shape"),
        (_broken(Z=_set((0, 1), 9)), r"Z contains \[9\]"),
        (_broken(Z=_set((0, 1), 1.5)), "non-integer nuclear charges"),
        (_broken(Z=_set((0, 1), 0)), r"padding \(Z = 0\) is followed by atoms"),
        (_broken(R=_set((0, 20, 0), 1.0)), "padding slots have nonzero coordinates"),
        (_broken(P=_set((0, 0), 1)), "P is not a partition"),
        (_broken(T=_set((0, 3), np.nan)), "T contains NaN"),
        (_broken(X=_set((2, 0, 0), np.inf)), "X contains NaN or infinite"),
        (_broken(Z=lambda z: np.zeros_like(z)), "have no atoms"),
    ],
    ids=[
        "missing-variable", "X-shape", "Z-shape", "T-size", "P-shape", "unknown-element",
        "fractional-Z", "gap-in-atoms", "padding-coordinates", "P-not-partition", "T-nan",
        "X-inf", "empty-molecules",
    ],
)
def test_malformed_files_are_rejected(tmp_path, arrays, message):
    path = write_mat(tmp_path / "bad.mat", arrays)
    with pytest.raises(QM7DataError, match=message) as info:
        load_qm7(path)
    assert "QM7_PATH" in str(info.value)  # every message says what to do


def test_validate_arrays_accepts_canonical_dtypes():
    qm7 = validate_arrays(synthetic_arrays(), source="test")
    assert qm7.R.dtype == np.float64 and qm7.P.dtype == np.int64


# --- downloading --------------------------------------------------------------------------


class _Server:
    """A local HTTP server: serves ``payload`` at /qm7.mat, optionally cut off halfway."""

    def __init__(self, payload: bytes, cut: bool = False):
        outer = self
        self.payload, self.cut, self.requests = payload, cut, 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(outer.payload)))
                self.end_headers()
                body = outer.payload[: len(outer.payload) // 2] if outer.cut else outer.payload
                self.wfile.write(body)
                self.wfile.flush()
                if outer.cut:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/qm7.mat"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def payload(good_file) -> tuple[bytes, str]:
    content = good_file.read_bytes()
    return content, hashlib.sha256(content).hexdigest()


def test_download_good_file_then_cache(payload, tmp_path, monkeypatch):
    content, sha = payload
    cache = tmp_path / "cache"
    with _Server(content) as server:
        monkeypatch.setattr(data, "QM7_URL", server.url)
        monkeypatch.setattr(data, "QM7_SHA256", sha)
        qm7 = load_qm7()
        assert server.requests == 1
        assert qm7.n_molecules == 10
        assert (cache / "qm7.mat").read_bytes() == content
        assert sorted(p.name for p in cache.iterdir()) == ["qm7.mat"]
        load_qm7()  # second call comes from the cache
        assert server.requests == 1


def test_download_with_wrong_hash_leaves_nothing(payload, tmp_path):
    content, _ = payload
    cache = tmp_path / "cache"
    with _Server(content) as server:
        with pytest.raises(QM7DataError, match="failed its checksum.*QM7_PATH"):
            fetch_qm7(url=server.url, sha256="0" * 64, directory=cache, progressbar=False)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_interrupted_download_leaves_nothing(payload, tmp_path):
    content, sha = payload
    cache = tmp_path / "cache"
    with _Server(content, cut=True) as server:
        with pytest.raises(QM7DataError, match="QM7_PATH"):
            fetch_qm7(url=server.url, sha256=sha, directory=cache, progressbar=False)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_no_network(tmp_path, monkeypatch):
    # A port nothing listens on: the connection is refused, as with no network.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(data, "QM7_URL", f"http://127.0.0.1:{port}/qm7.mat")
    with pytest.raises(QM7DataError, match="Could not download QM7.*QM7_PATH"):
        load_qm7()
    assert not (tmp_path / "cache" / "qm7.mat").exists()


class _FakeResponse:
    """What urlopen returns: ``read`` hands out ``chunks`` in turn; an exception is raised."""

    def __init__(self, chunks, length):
        self.chunks = list(chunks)
        self.headers = {"Content-Length": str(length)}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self, size=-1):
        item = self.chunks.pop(0) if self.chunks else b""
        if isinstance(item, BaseException):
            raise item
        return item


def _fake_urlopen(monkeypatch, chunks, length):
    """Replace urlopen by one serving ``chunks``; return the list of (url, timeout) calls."""
    calls = []

    def urlopen(url, timeout=None):
        calls.append((url, timeout))
        return _FakeResponse(chunks, length)

    monkeypatch.setattr(data.urllib.request, "urlopen", urlopen)
    return calls


URL = "http://qm7.invalid/qm7.mat"


@pytest.mark.parametrize(
    "failure", [ConnectionResetError("reset by peer"), TimeoutError("timed out"),
                KeyboardInterrupt()],
    ids=["connection-reset", "read-timeout", "ctrl-c"],
)
def test_download_failing_midway_leaves_no_temporary_file(payload, tmp_path, monkeypatch, failure):
    content, sha = payload
    half = len(content) // 2
    calls = _fake_urlopen(monkeypatch, [content[:half], failure, content[half:]], len(content))
    cache = tmp_path / "cache"
    expected = KeyboardInterrupt if isinstance(failure, KeyboardInterrupt) else QM7DataError
    with pytest.raises(expected, match=None if expected is KeyboardInterrupt else "QM7_PATH"):
        fetch_qm7(url=URL, sha256=sha, directory=cache, progressbar=False)
    assert list(cache.iterdir()) == []  # neither qm7.mat nor a partial file
    assert calls == [(URL, data.READ_TIMEOUT)]  # every read waits at most READ_TIMEOUT


def test_download_cut_short_is_named_and_discarded(payload, tmp_path, monkeypatch):
    content, sha = payload
    _fake_urlopen(monkeypatch, [content[:100]], len(content))
    cache = tmp_path / "cache"
    with pytest.raises(QM7DataError, match=f"cut off after 100 of {len(content)} bytes"):
        fetch_qm7(url=URL, sha256=sha, directory=cache, progressbar=False)
    assert list(cache.iterdir()) == []


def test_download_gives_up_at_its_overall_deadline(payload, tmp_path, monkeypatch):
    """A server that keeps sending a trickle: every read is in time, the whole is not."""
    content, sha = payload
    clock = iter(range(0, 1_000_000, 100))  # each look at the clock: 100 s later
    monkeypatch.setattr(data, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    _fake_urlopen(monkeypatch, [content[i : i + 10] for i in range(0, len(content), 10)],
                  len(content))
    cache = tmp_path / "cache"
    with pytest.raises(QM7DataError, match="longer than 250 s.*received 20 of"):
        fetch_qm7(url=URL, sha256=sha, directory=cache, progressbar=False, deadline=250)
    assert list(cache.iterdir()) == []


def test_modified_cached_copy_is_refused_until_deleted(payload, tmp_path, monkeypatch):
    content, sha = payload
    monkeypatch.setattr(data, "QM7_SHA256", sha)
    monkeypatch.setattr(data, "QM7_URL", URL)
    cached = tmp_path / "cache" / "qm7.mat"
    cached.parent.mkdir()
    cached.write_bytes(content)
    assert load_qm7().n_molecules == 10  # the genuine download
    # Modified, but still a valid QM7 file: only the hash can tell.
    changed = synthetic_arrays()
    changed["T"] = changed["T"] - 1.0
    write_mat(cached, changed)
    assert validate_arrays(changed).n_molecules == 10
    with pytest.raises(QM7DataError, match=r"cached copy .*qm7\.mat is not the canonical.*Delete"):
        load_qm7()
    with pytest.raises(QM7DataError, match="not the canonical"):
        load_qm7(download=False)
    cached.unlink()
    calls = _fake_urlopen(monkeypatch, [content], len(content))
    assert load_qm7().n_molecules == 10 and cached.read_bytes() == content
    assert len(calls) == 1
    load_qm7()  # verified again from the cache, not downloaded again
    assert len(calls) == 1


def test_fetch_replaces_a_damaged_cached_copy(payload, tmp_path, monkeypatch):
    content, sha = payload
    cached = tmp_path / "cache" / "qm7.mat"
    cached.parent.mkdir()
    cached.write_bytes(content[:-1] + b"!")
    calls = _fake_urlopen(monkeypatch, [content], len(content))
    assert fetch_qm7(url=URL, sha256=sha, directory=cached.parent, progressbar=False) == cached
    assert cached.read_bytes() == content and len(calls) == 1
    fetch_qm7(url=URL, sha256=sha, directory=cached.parent, progressbar=False)
    assert len(calls) == 1  # a good copy is kept


def test_qm7_url_environment_variable_overrides_source(payload, tmp_path, monkeypatch):
    content, sha = payload
    with _Server(content) as server:
        monkeypatch.setenv("QM7_URL", server.url)
        monkeypatch.setattr(data, "QM7_SHA256", sha)
        assert load_qm7().n_molecules == 10


# --- the object ---------------------------------------------------------------------------


def test_sample_keeps_fold_structure(good_file):
    qm7 = load_qm7(good_file)
    small = qm7.sample(5, seed=1)
    assert small.n_molecules == 5 and small.P.shape == (5, 1)
    np.testing.assert_array_equal(np.sort(small.P.ravel()), np.arange(5))
    assert qm7.sample(None) is qm7
    with pytest.raises(ValueError, match="too small"):
        qm7.sample(3)



def test_to_frame_is_tidy(good_file):
    frame = load_qm7(good_file).to_frame()
    assert list(frame.columns[:6]) == ["index", "n_atoms", "n_heavy", "formula", "energy", "fold"]
    assert frame.formula.tolist()[:3] == ["H2O", "CH4", "CH4O"]
    assert frame.n_heavy.tolist()[:3] == [1, 1, 2]
    np.testing.assert_array_equal(frame.fold, np.repeat(np.arange(5), 2))
