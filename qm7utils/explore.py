"""Looking at QM7: the helpers of the first four chapters.

* What is in the file (chapter 1): :func:`describe_arrays`, :func:`composition_table`,
  :func:`element_sets`, :func:`fold_table`, :func:`fold_stratification`, :func:`atom_labels`.
* The file's own conventions (chapter 2): :func:`check_file_convention` recomputes the Coulomb
  matrices from ``Z`` and ``R``, sorts them, and compares them with the stored ``X``, resolving
  the near-ties that float rounding breaks one way or the other.
* Invariances (chapter 2): :func:`random_rotation`, :func:`invariance_table` (which feature
  sets survive a rotation, a translation and a renumbering of the atoms).
* Graphs (chapter 3): :func:`is_connected` (is every atom reachable along bonds?).
* Bond lengths (chapter 2): :func:`bond_lengths`, by pair of elements.
* A quick look at how much a feature set knows about the energy (chapters 1-3):
  :func:`fold_cv_mae` and :func:`compare_features`, a ridge regression under the standard
  five-fold protocol of ``P``; :func:`dressed_atom_cv_mae`, the same protocol for the book's
  dressed-atom baseline (:class:`qm7utils.models.baseline.DressedAtoms`); :func:`fold_summary`,
  mean ± standard deviation over the folds (population standard deviation, ``ddof=0``, as
  everywhere in the book).
* Maps of a feature space (chapter 4): :func:`embed` (PCA, t-SNE) and
  :func:`neighbour_agreement` (do neighbours on the map share a label?).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .data import ELEMENTS, QM7
from .features import (
    coulomb_matrix,
    distance_matrix,
    eigenvalues,
    row_norms,
    sorted_coulomb_matrix,
    square_matrices,
    upper_triangle,
)

__all__ = [
    "ARRAY_DESCRIPTIONS",
    "atom_labels",
    "bond_lengths",
    "check_file_convention",
    "compare_features",
    "composition_table",
    "describe_arrays",
    "dressed_atom_cv_mae",
    "element_sets",
    "embed",
    "fold_cv_mae",
    "fold_stratification",
    "fold_summary",
    "fold_table",
    "invariance_table",
    "is_connected",
    "neighbour_agreement",
    "random_rotation",
    "sort_order",
]

#: Unit and meaning of each array of the QM7 file.
ARRAY_DESCRIPTIONS = {
    "X": ("Hartree (atomic units)", "Coulomb matrices, sorted by row sum"),
    "T": ("kcal/mol", "atomization energies (PBE0)"),
    "P": ("molecule index", "five cross-validation folds"),
    "Z": ("e (charge number)", "nuclear charges, 0 = padding"),
    "R": ("Bohr", "Cartesian coordinates, padding rows are 0"),
}

_SYMBOL_ORDER = {"C": 0, "H": 1, "N": 2, "O": 3, "S": 4}


def _check_qm7(qm7) -> QM7:
    if not isinstance(qm7, QM7):
        raise TypeError(f"expected a QM7 object (from load_qm7()), got {type(qm7).__name__}")
    return qm7


def describe_arrays(qm7: QM7):
    """One row per array of the file: shape, dtype, unit, content, value range.

    Parameters
    ----------
    qm7 : QM7

    Returns
    -------
    pandas.DataFrame indexed by array name (``X``, ``T``, ``P``, ``Z``, ``R``).
    """
    import pandas as pd

    qm7 = _check_qm7(qm7)
    rows = []
    for name, (unit, content) in ARRAY_DESCRIPTIONS.items():
        array = getattr(qm7, name)
        rows.append(
            {
                "array": name,
                "shape": str(tuple(array.shape)),
                "dtype": str(array.dtype),
                "unit": unit,
                "content": content,
                "min": float(array.min()),
                "max": float(array.max()),
            }
        )
    return pd.DataFrame(rows).set_index("array")


def atom_labels(Z) -> list[str]:
    """Labels ``"C0", "N1", "H4", ...`` of the real atoms of one molecule (index in ``Z``).

    Parameters
    ----------
    Z : array of shape (n,)
        Nuclear charges of one molecule, 0 for padding (padding gets no label).
    """
    Z = np.asarray(Z)
    if Z.ndim != 1:
        raise ValueError(f"Z must be the charges of one molecule, shape (n,), got {Z.shape}")
    unknown = sorted(set(Z[Z > 0].tolist()) - set(ELEMENTS))
    if unknown:
        raise ValueError(f"Z contains unknown element(s) {unknown}; QM7 has {sorted(ELEMENTS)}")
    return [f"{ELEMENTS[int(z)]}{i}" for i, z in enumerate(Z) if z > 0]


def sort_order(C, norm: str = "l2") -> np.ndarray:
    """The permutation that :func:`qm7utils.features.sort_by_row_norm` applies.

    ``C[order][:, order]`` is the sorted matrix; ``order[k]`` is the atom (row of ``C``) that
    lands in row ``k``. Stable, so ties keep the atom order.

    Parameters
    ----------
    C : array of shape (n, n) or (b, n, n)
    norm : {"l2", "l1"}
    """
    C = square_matrices(C, "C")
    return np.argsort(-row_norms(C, norm), axis=-1, kind="stable")


def element_sets(Z) -> np.ndarray:
    """The set of elements of each molecule as a label: ``"CH"``, ``"CHN"``, ``"CHNO"``, ...

    Elements are listed in Hill order (C, H, then alphabetical), so every molecule with
    carbon, hydrogen and oxygen only is ``"CHO"``.

    Parameters
    ----------
    Z : array of shape (n_molecules, n_atoms)

    Returns
    -------
    ndarray of str, shape (n_molecules,)
    """
    Z = np.asarray(Z)
    if Z.ndim != 2:
        raise ValueError(f"Z must have shape (n_molecules, n_atoms), got {Z.shape}")
    symbols = sorted(ELEMENTS.items(), key=lambda item: _SYMBOL_ORDER[item[1]])
    present = np.stack([(Z == z).any(axis=1) for z, _ in symbols], axis=1)
    labels = ["".join(s for (_, s), p in zip(symbols, row, strict=True) if p) for row in present]
    return np.array(labels)


def composition_table(Z):
    """How often each element occurs: atoms, molecules containing it, atoms per molecule.

    Parameters
    ----------
    Z : array of shape (n_molecules, n_atoms)
        Nuclear charges, 0 for padding.

    Returns
    -------
    pandas.DataFrame indexed by element symbol (H, C, N, O, S) with columns ``atoms``,
    ``share_of_atoms`` (fraction of all atoms), ``molecules`` (that contain the element),
    ``share_of_molecules``, ``max_per_molecule``.
    """
    import pandas as pd

    Z = np.asarray(Z)
    if Z.ndim != 2:
        raise ValueError(f"Z must have shape (n_molecules, n_atoms), got {Z.shape}")
    total_atoms = int((Z > 0).sum())
    n = Z.shape[0]
    rows = []
    for z, symbol in ELEMENTS.items():
        counts = (Z == z).sum(axis=1)
        rows.append(
            {
                "element": symbol,
                "atoms": int(counts.sum()),
                "share_of_atoms": counts.sum() / max(total_atoms, 1),
                "molecules": int((counts > 0).sum()),
                "share_of_molecules": (counts > 0).sum() / max(n, 1),
                "max_per_molecule": int(counts.max()) if n else 0,
            }
        )
    return pd.DataFrame(rows).set_index("element")


def fold_table(qm7: QM7):
    """One row per fold of ``P``: size, atoms per molecule and energy statistics (kcal/mol)."""
    qm7 = _check_qm7(qm7)
    frame = qm7.to_frame()
    table = frame.groupby("fold").agg(
        molecules=("energy", "size"),
        mean_atoms=("n_atoms", "mean"),
        mean_energy=("energy", "mean"),
        std_energy=("energy", "std"),
        min_energy=("energy", "min"),
        max_energy=("energy", "max"),
    )
    return table


def fold_stratification(T, P) -> float:
    """Fraction of energy-sorted blocks of ``n_folds`` molecules that hold one molecule per fold.

    Sort the molecules by energy and cut the list into consecutive blocks of ``n_folds``
    (5). If the folds were drawn by *stratified* sampling on the energy, every block has one
    molecule of each fold and the result is 1.0; folds drawn at random give about
    ``n_folds! / n_folds**n_folds`` (0.038 for 5 folds).

    Parameters
    ----------
    T : array of shape (n,)
        Energies.
    P : array of shape (n_folds, n // n_folds)
        Folds (molecule indices).
    """
    T = np.asarray(T, dtype=np.float64).ravel()
    P = np.asarray(P)
    if P.ndim != 2 or P.size != T.size:
        raise ValueError(
            f"P must have shape (n_folds, n / n_folds) and cover the {T.size} energies, "
            f"got {P.shape}"
        )
    fold = np.empty(T.size, dtype=np.int64)
    for k, members in enumerate(P):
        fold[members] = k
    n_folds = P.shape[0]
    ordered = fold[np.argsort(T, kind="stable")]
    blocks = ordered[: T.size // n_folds * n_folds].reshape(-1, n_folds)
    complete = (np.sort(blocks, axis=1) == np.arange(n_folds)).all(axis=1)
    return float(complete.mean())


def _match_atoms(C: np.ndarray, X: np.ndarray, n: int, atol: float) -> np.ndarray | None:
    """An atom order ``p`` with ``C[p][:, p] == X`` (to ``atol``) for one molecule, or None.

    Backtracking over the rows of ``X``: row ``k`` may take atom ``i`` when their sorted rows
    agree and ``C[i, p[:k]]`` matches ``X[k, :k]``; this prunes every branch but a few.
    """
    C, X = C[:n, :n], X[:n, :n]
    candidates = [
        np.flatnonzero(np.abs(np.sort(C, axis=1) - row).max(axis=1) <= atol)
        for row in np.sort(X, axis=1)
    ]
    chosen: list[int] = []

    def extend(k: int) -> bool:
        if k == n:
            return True
        for i in candidates[k]:
            if i in chosen or (chosen and np.abs(C[i, chosen] - X[k, :k]).max() > atol):
                continue
            chosen.append(int(i))
            if extend(k + 1):
                return True
            chosen.pop()
        return False

    return np.array(chosen) if extend(0) else None


def check_file_convention(
    Z,
    R,
    X,
    norm: str = "l1",
    atol: float = 1e-3,
    tie_tol: float = 1e-3,
):
    """Compare Coulomb matrices recomputed from ``Z``, ``R`` with the stored ``X``.

    Each molecule's Coulomb matrix is computed in atom order, sorted by descending row norm
    (``norm``), and compared entry by entry with ``X``. QM7 stores ``X`` in single precision,
    so entries agree to about 1e-4, hence ``atol``.

    Two atoms whose row norms agree to ``tie_tol`` are *tied*: the order between them is decided
    by rounding, and the file (single precision) may have decided it the other way. For a
    molecule that does not agree, ``agrees_up_to_ties`` says whether ``X`` is nevertheless
    the molecule's Coulomb matrix in some atom order (found by a pruned search) whose row
    norms descend up to ``tie_tol``: the file then follows the convention and only broke a
    tie differently.

    Parameters
    ----------
    Z : array of shape (b, n)
    R : array of shape (b, n, 3)
        Coordinates in Bohr.
    X : array of shape (b, n, n)
        The stored matrices.
    norm : {"l1", "l2"}
        The sorting convention to test.
    atol : float
        Largest entry-wise difference counted as agreement.
    tie_tol : float
        Row norms closer than this are ties.

    Returns
    -------
    pandas.DataFrame, one row per molecule, with columns ``max_abs_diff`` (after sorting),
    ``agrees``, ``has_tie`` (two real atoms with row norms within ``tie_tol``) and
    ``agrees_up_to_ties``.
    """
    import pandas as pd

    if norm not in ("l1", "l2"):
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
    C = coulomb_matrix(Z, R)
    X = np.asarray(X, dtype=np.float64)
    if C.ndim != 3:
        raise ValueError(
            "check_file_convention expects a batch: Z (b, n), R (b, n, 3), X (b, n, n)"
        )
    if X.shape != C.shape:
        raise ValueError(f"X must have shape {C.shape} to match Z and R, got {X.shape}")
    norms = row_norms(C, norm)
    order = sort_order(C, norm)
    rows = np.take_along_axis(C, order[:, :, None], axis=1)
    S = np.take_along_axis(rows, order[:, None, :], axis=2)
    diff = np.abs(S - X).max(axis=(1, 2))
    agrees = diff <= atol
    real = np.asarray(Z) > 0
    sorted_norms = np.take_along_axis(norms, order, axis=1)
    gaps = np.abs(np.diff(sorted_norms, axis=1))
    both_real = np.take_along_axis(real, order, axis=1)
    has_tie = ((gaps <= tie_tol) & both_real[:, 1:] & both_real[:, :-1]).any(axis=1)
    x_norms = row_norms(X, norm)
    descending = (np.diff(x_norms, axis=1) <= tie_tol).all(axis=1)
    resolved = agrees.copy()
    for b in np.flatnonzero(~agrees & has_tie & descending):
        n_real = int(real[b].sum())
        if np.abs(X[b, n_real:]).max(initial=0.0) > atol:
            continue
        resolved[b] = _match_atoms(C[b], X[b], n_real, atol) is not None
    return pd.DataFrame(
        {
            "max_abs_diff": diff,
            "agrees": agrees,
            "has_tie": has_tie,
            "agrees_up_to_ties": resolved,
        }
    )


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random proper rotation matrix (3 x 3, determinant +1).

    Parameters
    ----------
    rng : numpy.random.Generator
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator, e.g. np.random.default_rng(0)")
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def _default_features() -> dict[str, Callable]:
    from .graphs import centrality_features

    return {
        "coordinates R": lambda Z, R: np.asarray(R, dtype=np.float64),
        "Coulomb matrix, atom order": coulomb_matrix,
        "Coulomb matrix, sorted by row sum (l1)": lambda Z, R: sorted_coulomb_matrix(Z, R, "l1"),
        "Coulomb matrix, sorted by row norm (l2)": lambda Z, R: sorted_coulomb_matrix(Z, R, "l2"),
        "upper triangle, sorted values": lambda Z, R: upper_triangle(
            coulomb_matrix(Z, R), sort=True
        ),
        "Coulomb eigenvalues": lambda Z, R: eigenvalues(coulomb_matrix(Z, R)),
        "distance matrix, atom order": distance_matrix,
        "distance eigenvalues": lambda Z, R: eigenvalues(distance_matrix(Z, R)),
        "sorted centralities (distance graph)": lambda Z, R: centrality_features(Z, R),
    }


def invariance_table(
    Z, R, rng: np.random.Generator, features: Mapping[str, Callable] | None = None
):
    """How much each feature set changes under a rotation, a translation and a renumbering.

    The molecule is rotated by :func:`random_rotation`, translated by a random vector of
    length 5 Bohr, and its real atoms are renumbered by a random permutation (padding stays
    last). Each feature function is evaluated on the original and the transformed molecule.

    Parameters
    ----------
    Z : array of shape (n,)
        Nuclear charges of one molecule (0 for padding).
    R : array of shape (n, 3)
        Coordinates in Bohr.
    rng : numpy.random.Generator
    features : mapping of name to ``f(Z, R) -> array``, optional
        Defaults to the book's feature sets (raw, sorted and unrolled Coulomb matrices,
        spectra, distances, centralities).

    Returns
    -------
    pandas.DataFrame indexed by feature name, columns ``rotation``, ``translation``,
    ``atom order``: the largest absolute change of any entry (``inf`` when the shape changes).
    0 up to float rounding (about 1e-12) means invariant.
    """
    import pandas as pd

    Z = np.asarray(Z)
    R = np.asarray(R, dtype=np.float64)
    if Z.ndim != 1 or R.shape != Z.shape + (3,):
        raise ValueError(
            f"invariance_table takes one molecule: Z of shape (n,), R of shape (n, 3); got "
            f"{Z.shape} and {R.shape}"
        )
    features = dict(features) if features is not None else _default_features()
    real = Z > 0
    n_real = int(real.sum())
    if n_real < 2:
        raise ValueError("the molecule needs at least two atoms")
    rotation = random_rotation(rng)
    shift = rng.normal(size=3)
    shift *= 5.0 / np.linalg.norm(shift)
    permutation = np.arange(Z.size)
    while np.array_equal(permutation[:n_real], np.arange(n_real)):
        permutation[:n_real] = rng.permutation(n_real)
    moves = {
        "rotation": (Z, np.where(real[:, None], R @ rotation.T, 0.0)),
        "translation": (Z, np.where(real[:, None], R + shift, 0.0)),
        "atom order": (Z[permutation], R[permutation]),
    }
    table = {}
    for name, function in features.items():
        before = np.asarray(function(Z, R), dtype=np.float64)
        row = {}
        for move, (Zm, Rm) in moves.items():
            after = np.asarray(function(Zm, Rm), dtype=np.float64)
            row[move] = (
                float(np.abs(after - before).max()) if after.shape == before.shape else np.inf
            )
        table[name] = row
    return pd.DataFrame.from_dict(table, orient="index")[list(moves)]


def _one_thread():
    """Run BLAS and OpenMP on one thread inside a ``with`` block.

    The fits and maps of these chapters are small (at most 7,165 x 276). Extra threads cost
    more than they give there, up to ten times more on a machine that is busy with other work,
    and one thread also gives the same floating-point sums on every machine, which keeps the
    printed numbers identical between runs.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def fold_cv_mae(features, y, P, alphas=None) -> np.ndarray:
    """Test MAE of a ridge regression on each of the five folds (the standard QM7 protocol).

    Features are standardised; the ridge penalty is chosen by efficient leave-one-out
    cross-validation on the training folds (:class:`sklearn.linear_model.RidgeCV`). A quick,
    linear look at how much a feature set says about the energy, not a tuned model.

    Parameters
    ----------
    features : array of shape (n, d)
    y : array of shape (n,)
        Targets (energies in kcal/mol).
    P : array of shape (n_folds, n / n_folds)
        Folds, e.g. ``qm7.P``.
    alphas : sequence of float, optional
        Penalties to choose from; default ``10**k`` for k = -4..4.

    Returns
    -------
    ndarray of shape (n_folds,): the test MAE of each fold, in the unit of ``y``.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .models.classical import p_fold_scores

    X = np.asarray(features, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(
            f"features must have shape (n, d) with n = {y.size} (one row per energy), "
            f"got {X.shape}"
        )
    if not np.all(np.isfinite(X)):
        raise ValueError("features contain NaN or infinite values")
    alphas = np.logspace(-4, 4, 9) if alphas is None else np.asarray(alphas, dtype=np.float64)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))
    with _one_thread():  # the fold loop is the one of chapter 6: models.classical.p_fold_scores
        return p_fold_scores(model, X, y, P)["mae"].to_numpy()


def compare_features(feature_sets: Mapping[str, np.ndarray], y, P):
    """:func:`fold_cv_mae` for several feature sets, as a table sorted from best to worst.

    Parameters
    ----------
    feature_sets : mapping of name to array of shape (n, d)
    y : array of shape (n,)
    P : array of shape (n_folds, n / n_folds)

    Returns
    -------
    pandas.DataFrame indexed by name with columns ``n_features``, ``mae`` (mean over folds)
    and ``mae_std`` (population standard deviation over folds, ``ddof=0``; see
    :func:`fold_summary`).
    """
    if not feature_sets:
        raise ValueError("feature_sets is empty: pass {name: array of shape (n, d)}")
    maes, n_features = {}, {}
    for name, X in feature_sets.items():
        X = np.asarray(X)
        maes[name] = fold_cv_mae(X, y, P)
        n_features[name] = 1 if X.ndim == 1 else int(X.shape[1])
    table = fold_summary(maes, index_name="features")
    table.insert(0, "n_features", [n_features[name] for name in table.index])
    return table


def fold_summary(fold_maes: Mapping[str, np.ndarray], index_name: str = "model"):
    """Mean ± standard deviation of per-fold MAEs, one row per model, best first.

    The standard deviation is the population one over the folds (``ddof=0``, NumPy's
    default), the convention of every "±" in the book.

    Parameters
    ----------
    fold_maes : mapping of name to array of shape (n_folds,)
        E.g. from :func:`fold_cv_mae` or :func:`dressed_atom_cv_mae`.
    index_name : str
        Name of the index of the table.

    Returns
    -------
    pandas.DataFrame indexed by name, columns ``mae`` and ``mae_std``, sorted by ``mae``.
    """
    import pandas as pd

    if not fold_maes:
        raise ValueError("fold_maes is empty: pass {name: array of per-fold MAEs}")
    rows = []
    for name, maes in fold_maes.items():
        maes = np.asarray(maes, dtype=np.float64)
        if maes.ndim != 1 or maes.size == 0 or not np.all(np.isfinite(maes)):
            raise ValueError(
                f"the MAEs of {name!r} must be a non-empty 1D array of finite values (one per "
                f"fold), got shape {maes.shape}"
            )
        rows.append({index_name: name, "mae": float(maes.mean()), "mae_std": float(maes.std())})
    return pd.DataFrame(rows).set_index(index_name).sort_values("mae", kind="stable")


def dressed_atom_cv_mae(Z, y, P) -> np.ndarray:
    """Test MAE of the dressed-atom baseline on each fold of ``P`` (the standard protocol).

    For each fold, :class:`qm7utils.models.baseline.DressedAtoms` (one least-squares energy
    per element, no intercept) is fitted on the other folds and tested on this one.

    Parameters
    ----------
    Z : array of shape (n, atoms)
        Nuclear charges, 0 for padding.
    y : array of shape (n,)
        Energies (kcal/mol).
    P : array of shape (n_folds, fold_size)
        Folds of indices into ``Z`` and ``y``, e.g. ``qm7.P`` (they need not cover every
        molecule: folds of a subset work too).

    Returns
    -------
    ndarray of shape (n_folds,): the test MAE of each fold, in the unit of ``y``.
    """
    from .evaluation import fold_splits
    from .models.baseline import DressedAtoms

    Z = np.asarray(Z)
    y = np.asarray(y, dtype=np.float64).ravel()
    if Z.ndim != 2 or Z.shape[0] != y.size:
        raise ValueError(
            f"Z must have shape (n, atoms) with n = {y.size} (one row per energy), got {Z.shape}"
        )
    P = np.asarray(P)
    if P.size and (P.min() < 0 or P.max() >= y.size):
        raise ValueError(f"P holds indices outside 0..{y.size - 1}: it must index Z and y")
    maes = []
    for _, train, test in fold_splits(P):
        model = DressedAtoms().fit(Z[train], y[train])
        maes.append(float(np.mean(np.abs(model.predict(Z[test]) - y[test]))))
    return np.array(maes)


def embed(
    features,
    method: str = "pca",
    seed: int = 0,
    perplexity: float = 30.0,
    pca_components: int = 30,
) -> tuple[np.ndarray, dict]:
    """A 2D map of a feature space: PCA, or t-SNE (on the first PCA components).

    Features are standardised first, so that no single entry dominates by its scale.

    Parameters
    ----------
    features : array of shape (n, d)
    method : {"pca", "tsne"}
    seed : int
        ``random_state`` of t-SNE (PCA is deterministic).
    perplexity : float
        t-SNE's effective number of neighbours; must be below n.
    pca_components : int
        t-SNE runs on this many principal components (faster, less noise).

    Returns
    -------
    (coords, info)
        ``coords`` of shape (n, 2); ``info`` holds ``explained_variance`` (the fraction of
        variance of the two axes, PCA) or ``kl_divergence`` (t-SNE).
    """
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(features, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 3:
        raise ValueError(f"features must have shape (n >= 3, d), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("features contain NaN or infinite values")
    keep = X.std(axis=0) > 0
    if not keep.any():
        raise ValueError("every feature is constant: nothing to embed")
    X = StandardScaler().fit_transform(X[:, keep])
    with _one_thread():
        return _embed(X, method, seed, perplexity, pca_components)


def _embed(X, method, seed, perplexity, pca_components):
    from sklearn.decomposition import PCA

    if method == "pca":
        pca = PCA(n_components=2, svd_solver="full")
        coords = pca.fit_transform(X)
        # Fix the sign of each axis (SVD signs are arbitrary): largest loading positive.
        signs = np.sign(pca.components_[np.arange(2), np.abs(pca.components_).argmax(axis=1)])
        return coords * signs, {"explained_variance": pca.explained_variance_ratio_ * 1.0}
    if method == "tsne":
        from sklearn.manifold import TSNE

        if not 0 < perplexity < X.shape[0]:
            raise ValueError(
                f"perplexity must be between 0 and the number of points ({X.shape[0]}), "
                f"got {perplexity}"
            )
        k = min(pca_components, X.shape[1], X.shape[0])
        reduced = PCA(n_components=k, svd_solver="full").fit_transform(X)
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
        coords = tsne.fit_transform(reduced)
        return coords, {"kl_divergence": float(tsne.kl_divergence_)}
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")


def is_connected(A, Z=None) -> np.ndarray:
    """Whether each graph is connected: every real atom reachable from every other one.

    Reachability is computed for the whole batch at once by repeated squaring of
    :math:`(A + I)` (``ceil(log2 n)`` boolean matrix products), no loop over molecules.

    Parameters
    ----------
    A : array of shape (n, n) or (b, n, n)
        Adjacency matrices (e.g. :func:`qm7utils.graphs.bond_adjacency`); non-zero = edge.
    Z : array of shape (n,) or (b, n), optional
        Nuclear charges; padding atoms (0) are left out. Without ``Z``, a node is real when it
        has at least one edge (so an isolated atom is only caught when ``Z`` is given).

    Returns
    -------
    bool or ndarray of bool, shape (b,)
    """
    A = square_matrices(A, "A", dtype=None)
    single = A.ndim == 2
    A = (A[None] if single else A) != 0
    if Z is None:
        real = A.any(axis=-1)
    else:
        real = np.asarray(Z) > 0
        real = real[None] if real.ndim == 1 else real
        if real.shape != A.shape[:2]:
            raise ValueError(f"Z must have shape {A.shape[:2]} to match A, got {real.shape}")
    n = A.shape[-1]
    reach = (A | np.eye(n, dtype=bool)).astype(np.float64)
    for _ in range(max(1, int(np.ceil(np.log2(max(n, 2)))))):
        reach = (np.einsum("bij,bjk->bik", reach, reach) > 0).astype(np.float64)
    pairs = real[:, :, None] & real[:, None, :]
    connected = np.all((reach > 0) | ~pairs, axis=(1, 2))
    return bool(connected[0]) if single else connected


def bond_lengths(Z, R, tolerance: float | None = None):
    """Lengths of the bonds of a batch of molecules, by pair of elements (Angstrom).

    Bonds are inferred from covalent radii (:func:`qm7utils.graphs.bond_adjacency`), so the
    table says what that rule finds: the typical bond lengths of the data, from triple bonds
    to single bonds in strained rings.

    Parameters
    ----------
    Z : array of shape (b, n)
        Nuclear charges, 0 for padding.
    R : array of shape (b, n, 3)
        Coordinates in Bohr.
    tolerance : float, optional
        Factor on the sum of covalent radii; default
        :data:`qm7utils.graphs.BOND_TOLERANCE`.

    Returns
    -------
    pandas.DataFrame indexed by bond type (``"C-C"``, ``"C-N"``, ..., ``"C-S"``, ...,
    ``"C-H"``, ...: bonds between C, N and O first, then those to sulfur, then those to
    hydrogen) with columns ``bonds`` (how many), ``min``, ``median``, ``max`` (Angstrom).
    """
    import pandas as pd

    from .graphs import BOND_TOLERANCE, bond_adjacency

    Z = np.asarray(Z)
    R = np.asarray(R, dtype=np.float64)
    if Z.ndim != 2 or R.shape != Z.shape + (3,):
        raise ValueError(
            f"bond_lengths takes a batch: Z of shape (b, n) and R of shape (b, n, 3); got "
            f"{Z.shape} and {R.shape}"
        )
    A = bond_adjacency(Z, R, BOND_TOLERANCE if tolerance is None else tolerance)
    b, i, j = np.nonzero(np.triu(A, k=1))
    lengths = distance_matrix(Z, R, unit="angstrom")[b, i, j]
    # Name a bond heavier partner first (C, N, O, S, then H: "C-H", "N-H"); list the bonds
    # between C, N and O first, then the bonds to sulfur, then the bonds to hydrogen.
    rank = np.zeros(max(ELEMENTS) + 1, dtype=np.int64)
    rank[[6, 7, 8, 16, 1]] = np.arange(5)
    zi, zj = Z[b, i], Z[b, j]
    first = np.where(rank[zi] <= rank[zj], zi, zj)
    second = zi + zj - first
    codes = first * 100 + second

    def group(code):
        pair = {int(code // 100), int(code % 100)}
        return (2 if 1 in pair else 1 if 16 in pair else 0, rank[code // 100], rank[code % 100])

    rows = []
    for code in sorted(np.unique(codes), key=group):
        values = lengths[codes == code]
        rows.append(
            {
                "bond": f"{ELEMENTS[int(code // 100)]}-{ELEMENTS[int(code % 100)]}",
                "bonds": int(values.size),
                "min": float(values.min()),
                "median": float(np.median(values)),
                "max": float(values.max()),
            }
        )
    return pd.DataFrame(rows, columns=["bond", "bonds", "min", "median", "max"]).set_index("bond")


def neighbour_agreement(coords, labels, k: int = 5) -> tuple[float, float]:
    r"""How often a point's nearest neighbours on a map share its label, against chance.

    Parameters
    ----------
    coords : array of shape (n, d)
        Positions (e.g. a 2D embedding).
    labels : array of shape (n,)
        A label per point (number of atoms, element set, ...).
    k : int
        Number of neighbours of each point (the point itself excluded).

    Returns
    -------
    (share, chance)
        ``share``: fraction of the ``k`` nearest neighbours of each point that have its label,
        averaged over points. ``chance``: the same fraction for neighbours drawn at random,
        :math:`\sum_c p_c^2` over the label frequencies :math:`p_c`.
    """
    from sklearn.neighbors import NearestNeighbors

    coords = np.asarray(coords, dtype=np.float64)
    labels = np.asarray(labels)
    if coords.ndim != 2 or labels.shape != (coords.shape[0],):
        raise ValueError(
            f"coords must have shape (n, d) and labels shape (n,); got {coords.shape} and "
            f"{labels.shape}"
        )
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < len(coords):
        raise ValueError(f"k must be an integer from 1 to n - 1 = {len(coords) - 1}, got {k!r}")
    _, neighbours = NearestNeighbors(n_neighbors=k + 1).fit(coords).kneighbors(coords)
    share = float((labels[neighbours[:, 1:]] == labels[:, None]).mean())
    _, counts = np.unique(labels, return_counts=True)
    chance = float(((counts / counts.sum()) ** 2).sum())
    return share, chance
