r"""Feature sets of the modelling chapters: the deck's vector, and better ones.

A *feature set* turns every molecule (``Z``, ``R`` in Bohr) into one fixed-length row of a
design matrix. :func:`feature_set` builds any set of :data:`FEATURE_SETS` by name and returns
a :class:`FeatureSet`: the matrix, a name for every column (for feature-importance plots) and
the column range of every block (so a model can use one block only).

The blocks:

``deck`` (322 columns)
    The slide deck's vector: the upper triangle of the Coulomb matrix, diagonal included,
    with its 276 values sorted in descending order; the 23 eigenvalues of the interatomic
    distance matrix (sorted by absolute value); and the 23 eigenvector centralities of the
    complete graph whose edges are weighted by the distances (sorted). Sorting the values
    makes every block independent of the atom order.
``cm_eigenvalues`` (23)
    The spectrum of the Coulomb matrix (Rupp et al. 2012), sorted by absolute value.
``counts`` (70)
    What a chemist would write down first: atoms of each element (5); bonds of each pair of
    elements (15; bonds from covalent radii, :func:`qm7utils.graphs.bond_adjacency`); bonds
    between heavy atoms of each element pair in three length bins, short (< 1.25 A), medium
    (1.25-1.45 A) and long (>= 1.45 A) (30 columns); and heavy atoms by element and number of
    bonded neighbours (20: a proxy for the hybridisation, e.g. C with four neighbours is sp3).
    The length edges are those of carbon-carbon bonds, where the bins are the bond orders:
    triple (1.20 A), double and aromatic (1.33-1.40 A), single (1.50-1.55 A). For other pairs
    the same bins mean other things, because bond lengths depend on the elements: a C=O
    double bond (1.21 A) is *short* and a single C-O bond (1.40-1.43 A) *medium*; single C-N
    bonds (1.45-1.48 A) straddle the upper edge; every C-S and N-S bond is *long*. So the
    bins are length classes per element pair, not bond orders: a linear model still gives
    each (pair, bin) its own energy, which is what it needs, but "short/medium/long" reads as
    "triple/double/single" only for C-C. These counts echo "bag of bonds" (Hansen et al.
    2015) and the bond-type features of tree models (Himmetoglu 2016), and a *linear* model
    of them is already a good energy model, because atomization energies are nearly additive
    in bonds.
``bond_centralities`` (23)
    Eigenvector centralities of the bond graph (sorted).

Everything is vectorised over the batch (one-hot element tensors contracted with the bond
matrices by batched matrix products); there are no Python loops over molecules or atom pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data import ELEMENTS
from .features import (
    BOHR_TO_ANGSTROM,
    _as_molecules,
    _distances,
    coulomb_matrix,
    distance_matrix,
    eigenvalues,
    upper_triangle,
)
from .graphs import BOND_TOLERANCE, bond_adjacency, centrality_features

__all__ = [
    "BOND_LENGTH_EDGES",
    "FEATURE_SETS",
    "FeatureSet",
    "atom_counts",
    "bond_counts",
    "bond_length_counts",
    "count_features",
    "deck_features",
    "degree_counts",
    "feature_set",
    "ring_count",
]

#: Elements of QM7 in the order of the count columns.
_Z = tuple(ELEMENTS)  # (1, 6, 7, 8, 16)
_SYMBOLS = tuple(ELEMENTS.values())
_HEAVY = tuple(i for i, z in enumerate(_Z) if z != 1)
#: Boundaries (Angstrom) of the short / medium / long classes of heavy-atom bonds.
BOND_LENGTH_EDGES = (1.25, 1.45)
_LENGTH_CLASSES = ("short", "medium", "long")
#: Degrees (numbers of bonded neighbours) of heavy atoms; the last class is "4 or more".
_DEGREES = (0, 1, 2, 3, 4)

#: Blocks of every named feature set, in column order.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "deck": ("deck",),
    "cm_eigenvalues": ("cm_eigenvalues",),
    "counts": ("counts",),
    "compact": ("cm_eigenvalues", "counts", "bond_centralities"),
    "deck+counts": ("deck", "counts"),
}

_DESCRIPTIONS = {
    "deck": "sorted CM triangle + distance eigenvalues + distance centralities",
    "cm_eigenvalues": "Coulomb-matrix eigenvalues",
    "counts": "atom, bond, bond-length and degree counts",
    "bond_centralities": "bond-graph centralities",
}


@dataclass(frozen=True)
class FeatureSet:
    """A design matrix with named columns.

    Attributes
    ----------
    name : str
        Name of the set (a key of :data:`FEATURE_SETS`).
    X : ndarray of shape (n_molecules, n_features)
    names : tuple of str
        One name per column, e.g. ``"cm_sorted_000"``, ``"bonds_C-H"``, ``"deg_C4"``.
    blocks : dict
        Block name -> ``slice`` of its columns.
    """

    name: str
    X: np.ndarray
    names: tuple[str, ...]
    blocks: dict[str, slice] = field(default_factory=dict)

    @property
    def description(self) -> str:
        """The blocks in words, e.g. for a results file."""
        return " + ".join(_DESCRIPTIONS[block] for block in self.blocks)

    def columns(self, block: str) -> np.ndarray:
        """Column indices of one block; ``ValueError`` if the set lacks it."""
        if block not in self.blocks:
            raise ValueError(
                f"feature set {self.name!r} has no block {block!r}; its blocks are "
                f"{list(self.blocks)}"
            )
        return np.arange(self.X.shape[1])[self.blocks[block]]

    def select(self, *blocks: str, name: str | None = None) -> FeatureSet:
        """A new set with only the given blocks (in the given order), without recomputing.

        ``name`` defaults to the block names joined by ``+``.
        """
        if not blocks:
            raise ValueError("select needs at least one block name")
        parts, names, spans, start = [], [], {}, 0
        for block in blocks:
            columns = self.columns(block)
            parts.append(self.X[:, columns])
            names.extend(self.names[i] for i in columns)
            spans[block] = slice(start, start + len(columns))
            start += len(columns)
        return FeatureSet(name or "+".join(blocks), np.hstack(parts), tuple(names), spans)

    def join(self, other: FeatureSet, name: str | None = None) -> FeatureSet:
        """This set's columns followed by another's (same molecules, no shared blocks)."""
        if other.X.shape[0] != self.X.shape[0]:
            raise ValueError(
                f"cannot join feature sets of {self.X.shape[0]} and {other.X.shape[0]} molecules"
            )
        shared = set(self.blocks) & set(other.blocks)
        if shared:
            raise ValueError(f"both feature sets contain the block(s) {sorted(shared)}")
        offset = self.X.shape[1]
        spans = dict(self.blocks)
        spans.update(
            {b: slice(s.start + offset, s.stop + offset) for b, s in other.blocks.items()}
        )
        return FeatureSet(
            name or f"{self.name}+{other.name}", np.hstack([self.X, other.X]),
            self.names + other.names, spans,
        )

    def __repr__(self) -> str:
        n, d = self.X.shape
        return f"FeatureSet({self.name!r}, {n} molecules x {d} features)"


def _one_hot(Z: np.ndarray) -> np.ndarray:
    """(b, n) charges -> (b, n, 5) one-hot elements (padding rows are 0)."""
    return (Z[:, :, None] == np.asarray(_Z)[None, None, :]).astype(np.float64)


def _pair_counts(E: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Counts of bonds per unordered element pair: (b, 15), pairs in upper-triangle order."""
    M = np.swapaxes(E, 1, 2) @ A.astype(np.float64) @ E  # (b, 5, 5): E^T A E
    rows, cols = np.triu_indices(len(_Z))
    # M counts every bond twice: (a, c) and (c, a); for a == c both are on the diagonal.
    counts = np.where(rows == cols, 0.5, 1.0) * M[:, rows, cols]
    return np.rint(counts).astype(np.int64)


def _pair_names(prefix: str, heavy_only: bool = False) -> list[str]:
    rows, cols = np.triu_indices(len(_Z))
    names = []
    for a, c in zip(rows, cols, strict=True):
        if heavy_only and (_Z[a] == 1 or _Z[c] == 1):
            continue
        names.append(f"{prefix}_{_SYMBOLS[a]}-{_SYMBOLS[c]}")
    return names


def _heavy_pairs() -> np.ndarray:
    rows, cols = np.triu_indices(len(_Z))
    return np.flatnonzero([_Z[a] != 1 and _Z[c] != 1 for a, c in zip(rows, cols, strict=True)])


def atom_counts(Z) -> np.ndarray:
    """Number of atoms of each element (H, C, N, O, S) per molecule.

    Parameters
    ----------
    Z : array of shape (n,) or (b, n)
        Nuclear charges, 0 for padding.

    Returns
    -------
    ndarray of int, shape (5,) or (b, 5)
    """
    Z = np.asarray(Z)
    Zb, _, single = _as_molecules(Z, np.zeros(Z.shape + (3,)))
    counts = _one_hot(Zb).sum(axis=1).astype(np.int64)
    return counts[0] if single else counts


def _check_edges(edges) -> tuple[float, float]:
    edges = tuple(float(e) for e in edges)
    if len(edges) != 2 or not 0 < edges[0] < edges[1]:
        raise ValueError(
            f"edges must be two increasing bond lengths in Angstrom, e.g. (1.25, 1.45); got "
            f"{edges}"
        )
    return edges


def _bond_tensors(Z, R, tolerance: float):
    """Batched charges, one-hot elements, bond adjacency and distances in Angstrom."""
    Zb, Rb, single = _as_molecules(Z, R)
    A = bond_adjacency(Zb, Rb, tolerance=tolerance)
    D = _distances(Rb) * BOHR_TO_ANGSTROM
    return _one_hot(Zb), A, D, single


def _bond_counts(E, A) -> np.ndarray:
    return _pair_counts(E, A)


def _bond_length_counts(E, A, D, edges) -> np.ndarray:
    bins = np.digitize(D, edges)  # 0 short, 1 medium, 2 long
    heavy = _heavy_pairs()
    parts = [_pair_counts(E, A & (bins == k))[:, heavy] for k in range(3)]
    return np.stack(parts, axis=-1).reshape(E.shape[0], -1)


def _degree_counts(E, A) -> np.ndarray:
    degree = np.minimum(A.sum(axis=-1), _DEGREES[-1])
    onehot = (degree[:, :, None] == np.asarray(_DEGREES)[None, None, :]).astype(np.float64)
    counts = np.swapaxes(E[:, :, list(_HEAVY)], 1, 2) @ onehot  # (b, 4, 5)
    return np.rint(counts).astype(np.int64).reshape(E.shape[0], -1)


def bond_counts(Z, R, tolerance: float = BOND_TOLERANCE) -> np.ndarray:
    """Number of bonds of each unordered pair of elements (H-H, H-C, ..., S-S): 15 columns.

    Bonds come from covalent radii (:func:`qm7utils.graphs.bond_adjacency`).

    Returns
    -------
    ndarray of int, shape (15,) or (b, 15), in the order of ``np.triu_indices(5)`` over
    (H, C, N, O, S).
    """
    E, A, _, single = _bond_tensors(Z, R, tolerance)
    counts = _bond_counts(E, A)
    return counts[0] if single else counts


def bond_length_counts(
    Z, R, edges=BOND_LENGTH_EDGES, tolerance: float = BOND_TOLERANCE
) -> np.ndarray:
    """Bonds between heavy atoms per element pair and length class (short / medium / long).

    A bond of length ``d`` (Angstrom) is short when ``d < edges[0]``, medium when
    ``edges[0] <= d < edges[1]`` and long otherwise. For carbon-carbon bonds the defaults
    separate triple (1.20 A), double and aromatic (1.33-1.40 A) and single (1.50-1.55 A)
    bonds. For other pairs they are length bins only (C=O, 1.21 A, is short; single C-O,
    1.43 A, is medium; C-S is always long): see the module docstring.

    Returns
    -------
    ndarray of int, shape (30,) or (b, 30): for each of the 10 heavy-atom pairs (C-C, C-N,
    ..., S-S) its short, medium and long counts.
    """
    edges = _check_edges(edges)
    E, A, D, single = _bond_tensors(Z, R, tolerance)
    counts = _bond_length_counts(E, A, D, edges)
    return counts[0] if single else counts


def degree_counts(Z, R, tolerance: float = BOND_TOLERANCE) -> np.ndarray:
    """Heavy atoms by element (C, N, O, S) and number of bonded neighbours (0, 1, 2, 3, 4+).

    Returns
    -------
    ndarray of int, shape (20,) or (b, 20)
    """
    E, A, _, single = _bond_tensors(Z, R, tolerance)
    counts = _degree_counts(E, A)
    return counts[0] if single else counts


def count_features(
    Z, R, edges=BOND_LENGTH_EDGES, tolerance: float = BOND_TOLERANCE
) -> tuple[np.ndarray, list[str]]:
    """The ``counts`` block: atom, bond, bond-length and degree counts (70 columns) and names.

    Returns
    -------
    X : ndarray of shape (70,) or (b, 70), float
    names : list of str
        ``n_H`` ... ``n_S``, ``bonds_H-H`` ... ``bonds_S-S``, ``bonds_C-C_short`` ...,
        ``deg_C0`` ... ``deg_S4``.
    """
    edges = _check_edges(edges)
    E, A, D, single = _bond_tensors(Z, R, tolerance)
    X = np.hstack(
        [
            np.rint(E.sum(axis=1)),
            _bond_counts(E, A),
            _bond_length_counts(E, A, D, edges),
            _degree_counts(E, A),
        ]
    ).astype(np.float64)
    names = [f"n_{s}" for s in _SYMBOLS]
    names += _pair_names("bonds")
    names += [f"{p}_{c}" for p in _pair_names("bonds", heavy_only=True) for c in _LENGTH_CLASSES]
    names += [f"deg_{_SYMBOLS[a]}{d}" for a in _HEAVY for d in _DEGREES]
    return (X[0] if single else X), names


def ring_count(Z, R, tolerance: float = BOND_TOLERANCE) -> np.ndarray:
    """Number of independent rings of each molecule's bond graph (the cyclomatic number).

    ``rings = bonds - atoms + components``: a tree has none, every extra bond closes one.
    Components are counted as ``atoms - rank(L)`` of the graph Laplacian ``L``, for the whole
    batch at once. Benzene has 1, bicyclic molecules 2.

    Returns
    -------
    ndarray of int, shape () or (b,)
    """
    Zb, Rb, single = _as_molecules(Z, R)
    A = bond_adjacency(Zb, Rb, tolerance=tolerance).astype(np.float64)
    degree = A.sum(axis=-1)
    laplacian = -A
    index = np.arange(A.shape[-1])
    laplacian[:, index, index] = degree
    atoms = (Zb > 0).sum(axis=1)
    # Padding atoms are isolated nodes with zero rows; they add to neither atoms nor rank.
    components = atoms - np.linalg.matrix_rank(laplacian, hermitian=True)
    rings = (A.sum(axis=(1, 2)) / 2).round().astype(np.int64) - atoms + components
    return rings[0] if single else rings


def deck_features(Z, R) -> tuple[np.ndarray, list[str]]:
    """The deck's 322 features and their names (see the module docstring)."""
    Zb, Rb, _ = _as_molecules(Z, R)
    n = Zb.shape[1]
    triangle = upper_triangle(coulomb_matrix(Zb, Rb), sort=True)
    spectrum = eigenvalues(distance_matrix(Zb, Rb))
    centrality = centrality_features(Zb, Rb, graph="distance")
    X = np.hstack([triangle, spectrum, centrality])
    names = [f"cm_sorted_{i:03d}" for i in range(triangle.shape[1])]
    names += [f"dist_eig_{i:02d}" for i in range(n)]
    names += [f"dist_centrality_{i:02d}" for i in range(n)]
    return X, names


def _block(block: str, Z, R) -> tuple[np.ndarray, list[str]]:
    if block == "deck":
        return deck_features(Z, R)
    if block == "cm_eigenvalues":
        values = eigenvalues(coulomb_matrix(Z, R))
        return values, [f"cm_eig_{i:02d}" for i in range(values.shape[1])]
    if block == "counts":
        return count_features(Z, R)
    if block == "bond_centralities":
        values = centrality_features(Z, R, graph="bond")
        return values, [f"bond_centrality_{i:02d}" for i in range(values.shape[1])]
    raise ValueError(f"unknown block {block!r}")  # pragma: no cover - FEATURE_SETS is fixed


def feature_set(name: str, Z, R) -> FeatureSet:
    """Compute a named feature set for a batch of molecules.

    Parameters
    ----------
    name : str
        A key of :data:`FEATURE_SETS`: ``"deck"``, ``"cm_eigenvalues"``, ``"counts"``,
        ``"compact"`` (CM eigenvalues + counts + bond centralities) or ``"deck+counts"``.
    Z : array of shape (b, n)
        Nuclear charges, 0 for padding.
    R : array of shape (b, n, 3)
        Coordinates in Bohr.

    Returns
    -------
    FeatureSet
    """
    if name not in FEATURE_SETS:
        raise ValueError(
            f"unknown feature set {name!r}; choose one of {', '.join(map(repr, FEATURE_SETS))}"
        )
    Zb, Rb, single = _as_molecules(Z, R)
    if single:
        raise ValueError("feature_set takes a batch: Z of shape (b, n), R of shape (b, n, 3)")
    parts, names, blocks, start = [], [], {}, 0
    for block in FEATURE_SETS[name]:
        X, block_names = _block(block, Zb, Rb)
        parts.append(np.asarray(X, dtype=np.float64))
        names.extend(block_names)
        blocks[block] = slice(start, start + X.shape[1])
        start += X.shape[1]
    return FeatureSet(name=name, X=np.hstack(parts), names=tuple(names), blocks=blocks)
