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
    What a chemist would write down first: atoms of each element, bonds of each pair of
    elements, heavy-atom bonds by length class and heavy atoms by number of neighbours
    (:mod:`qm7utils.representations.counts`). A *linear* model of them is already a good
    energy model, because atomization energies are nearly additive in bonds.
``bond_centralities`` (23)
    Eigenvector centralities of the bond graph (sorted).

Every block is computed for the whole batch at once, without Python loops over molecules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..chem import as_molecules
from ..graphs import centrality_features
from .coulomb import coulomb_matrix, distance_matrix, eigenvalues, upper_triangle
from .counts import COUNT_NAMES, count_features

__all__ = ["FEATURE_SETS", "FeatureSet", "deck_features", "feature_set"]

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


def deck_features(Z, R) -> np.ndarray:
    """The deck's 322 features (see the module docstring): a batch ``(b, n)`` -> ``(b, 322)``.

    The sorted upper triangle of the Coulomb matrix (``n (n + 1) / 2`` values), the
    eigenvalues of the distance matrix (``n``) and the sorted eigenvector centralities of the
    distance graph (``n``).
    """
    Zb, Rb, _ = as_molecules(Z, R)
    triangle = upper_triangle(coulomb_matrix(Zb, Rb), sort=True)
    spectrum = eigenvalues(distance_matrix(Zb, Rb))
    centrality = centrality_features(Zb, Rb, graph="distance")
    return np.hstack([triangle, spectrum, centrality])


def _block(block: str, Z, R) -> tuple[np.ndarray, list[str]]:
    """One block of columns and their names, for a batch."""
    n = Z.shape[1]
    if block == "deck":
        names = [f"cm_sorted_{i:03d}" for i in range(n * (n + 1) // 2)]
        names += [f"dist_eig_{i:02d}" for i in range(n)]
        names += [f"dist_centrality_{i:02d}" for i in range(n)]
        return deck_features(Z, R), names
    if block == "cm_eigenvalues":
        return eigenvalues(coulomb_matrix(Z, R)), [f"cm_eig_{i:02d}" for i in range(n)]
    if block == "counts":
        return count_features(Z, R), list(COUNT_NAMES)
    if block == "bond_centralities":
        values = centrality_features(Z, R, graph="bond")
        return values, [f"bond_centrality_{i:02d}" for i in range(n)]
    raise ValueError(f"unknown block {block!r}")  # pragma: no cover - FEATURE_SETS is fixed


def feature_set(name: str, Z, R) -> FeatureSet:
    """Compute a named feature set for a batch of molecules.

    Parameters
    ----------
    name : str
        A key of :data:`FEATURE_SETS`: ``"deck"``, ``"cm_eigenvalues"``, ``"counts"``,
        ``"compact"`` (CM eigenvalues + counts + bond centralities) or ``"deck+counts"``.
    Z, R : array-like of shape (b, n) and (b, n, 3)
        A batch of molecules (:func:`qm7utils.chem.as_molecules`).

    Returns
    -------
    FeatureSet

    Raises
    ------
    ValueError
        For an unknown name, one molecule instead of a batch, an empty batch, or a molecule
        without atoms (``Z`` all 0): a feature vector of nothing would be a row of zeros that
        looks like data.
    """
    if name not in FEATURE_SETS:
        raise ValueError(
            f"unknown feature set {name!r}; choose one of {', '.join(map(repr, FEATURE_SETS))}"
        )
    Zb, Rb, single = as_molecules(Z, R)
    if single:
        raise ValueError("feature_set takes a batch: Z of shape (b, n), R of shape (b, n, 3)")
    if Zb.shape[0] == 0:
        raise ValueError(f"feature_set needs at least one molecule, got Z of shape {Zb.shape}")
    empty = np.flatnonzero(~(Zb > 0).any(axis=1))
    if empty.size:
        raise ValueError(
            f"{empty.size} molecule(s) have no atoms (Z all 0), e.g. {empty[:5].tolist()}: "
            "drop them (keep rows with (Z > 0).any(axis=1)) before computing features"
        )
    parts, names, blocks, start = [], [], {}, 0
    for block in FEATURE_SETS[name]:
        X, block_names = _block(block, Zb, Rb)
        parts.append(np.asarray(X, dtype=np.float64))
        names.extend(block_names)
        blocks[block] = slice(start, start + X.shape[1])
        start += X.shape[1]
    return FeatureSet(name=name, X=np.hstack(parts), names=tuple(names), blocks=blocks)
