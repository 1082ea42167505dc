r"""What a chemist writes down first: counts of atoms, bonds, bond lengths, degrees and rings.

:func:`count_features` gives the ``counts`` block of the feature sets (70 columns, named in
:data:`COUNT_NAMES`):

* atoms of each element (5, from :func:`qm7utils.chem.element_counts`);
* bonds of each unordered pair of elements (15; bonds from covalent radii,
  :func:`qm7utils.graphs.bond_adjacency`);
* bonds between heavy atoms of each element pair in three length classes, short (< 1.25 Å),
  medium (1.25-1.45 Å) and long (>= 1.45 Å) (30 columns);
* heavy atoms by element and number of bonded neighbours (20: a proxy for the hybridisation,
  e.g. C with four neighbours is sp3).

The length edges are those of carbon-carbon bonds, where the classes are the bond orders:
triple (1.20 Å), double and aromatic (1.33-1.40 Å), single (1.50-1.55 Å). For other pairs the
same classes mean other things, because bond lengths depend on the elements: a C=O double bond
(1.21 Å) is *short* and a single C-O bond (1.40-1.43 Å) *medium*; single C-N bonds
(1.45-1.48 Å) straddle the upper edge; every C-S and N-S bond is *long*. So the classes are
length bins per element pair, not bond orders: a linear model still gives each (pair, class)
its own energy, which is what it needs, but "short/medium/long" reads as
"triple/double/single" only for C-C. These counts echo "bag of bonds" (Hansen et al. 2015) and
the bond-type features of tree models (Himmetoglu 2016), and a *linear* model of them is
already a good energy model, because atomization energies are nearly additive in bonds.

:func:`ring_count` counts the independent rings of the bond graph.

Everything is vectorised over the batch (one-hot element tensors contracted with the bond
matrices by batched matrix products); there are no Python loops over molecules or atom pairs.
"""

from __future__ import annotations

import numpy as np

from ..chem import BOHR_TO_ANGSTROM, ELEMENTS, as_molecules, element_counts
from ..graphs import BOND_TOLERANCE, bond_adjacency
from .coulomb import distances

__all__ = ["BOND_LENGTH_EDGES", "COUNT_NAMES", "count_features", "ring_count"]

_Z = tuple(ELEMENTS)  # (1, 6, 7, 8, 16): the order of the count columns
_SYMBOLS = tuple(ELEMENTS.values())
_HEAVY = tuple(i for i, z in enumerate(_Z) if z != 1)
#: Boundaries (Ångström) of the short / medium / long classes of heavy-atom bonds.
BOND_LENGTH_EDGES = (1.25, 1.45)
_LENGTH_CLASSES = ("short", "medium", "long")
#: Degrees (numbers of bonded neighbours) of heavy atoms; the last class is "4 or more".
_DEGREES = (0, 1, 2, 3, 4)
_PAIRS = tuple(zip(*np.triu_indices(len(_Z)), strict=True))  # unordered element pairs
_HEAVY_PAIRS = np.flatnonzero([_Z[a] != 1 and _Z[c] != 1 for a, c in _PAIRS])

#: Names of the 70 columns of :func:`count_features`: ``n_H`` ... ``n_S``, ``bonds_H-H`` ...
#: ``bonds_S-S``, ``bonds_C-C_short`` ..., ``deg_C0`` ... ``deg_S4``.
COUNT_NAMES: tuple[str, ...] = (
    *(f"n_{s}" for s in _SYMBOLS),
    *(f"bonds_{_SYMBOLS[a]}-{_SYMBOLS[c]}" for a, c in _PAIRS),
    *(
        f"bonds_{_SYMBOLS[_PAIRS[p][0]]}-{_SYMBOLS[_PAIRS[p][1]]}_{length}"
        for p in _HEAVY_PAIRS
        for length in _LENGTH_CLASSES
    ),
    *(f"deg_{_SYMBOLS[a]}{d}" for a in _HEAVY for d in _DEGREES),
)


def _pair_counts(E: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Bonds per unordered element pair, (b, 15) in the order of ``_PAIRS``.

    ``E`` (b, n, 5) holds one-hot elements, ``A`` (b, n, n) the bonds; ``E^T A E`` counts
    every bond twice: as (a, c) and as (c, a), both on the diagonal when a == c.
    """
    M = np.swapaxes(E, 1, 2) @ A.astype(np.float64) @ E
    rows, cols = np.triu_indices(len(_Z))
    return np.rint(np.where(rows == cols, 0.5, 1.0) * M[:, rows, cols]).astype(np.int64)


def _check_edges(edges) -> tuple[float, float]:
    edges = tuple(float(e) for e in edges)
    if len(edges) != 2 or not 0 < edges[0] < edges[1]:
        raise ValueError(
            f"edges must be two increasing bond lengths in Angstrom, e.g. (1.25, 1.45); got "
            f"{edges}"
        )
    return edges


def count_features(
    Z, R, edges=BOND_LENGTH_EDGES, tolerance: float = BOND_TOLERANCE
) -> np.ndarray:
    """The ``counts`` block: atom, bond, bond-length and degree counts (70 columns).

    Parameters
    ----------
    Z, R : array-like
        One molecule or a batch (:func:`qm7utils.chem.as_molecules`).
    edges : pair of float
        A heavy-atom bond of length ``d`` (Ångström) is short when ``d < edges[0]``, medium
        when ``edges[0] <= d < edges[1]`` and long otherwise (see the module docstring).
    tolerance : float
        Bond criterion, as in :func:`qm7utils.graphs.bond_adjacency`.

    Returns
    -------
    ndarray of float64, shape (70,) or (b, 70)
        Columns named by :data:`COUNT_NAMES`.
    """
    edges = _check_edges(edges)
    Zb, Rb, single = as_molecules(Z, R)
    A = bond_adjacency(Zb, Rb, tolerance=tolerance)
    E = (Zb[:, :, None] == np.asarray(_Z)).astype(np.float64)  # (b, n, 5) one-hot elements
    length_class = np.digitize(distances(Rb) * BOHR_TO_ANGSTROM, edges)  # 0, 1, 2
    lengths = [_pair_counts(E, A & (length_class == k))[:, _HEAVY_PAIRS] for k in range(3)]
    degree = np.minimum(A.sum(axis=-1), _DEGREES[-1])
    degree_onehot = (degree[:, :, None] == np.asarray(_DEGREES)).astype(np.float64)
    degrees = np.swapaxes(E[:, :, list(_HEAVY)], 1, 2) @ degree_onehot  # (b, 4, 5)
    X = np.hstack(
        [
            element_counts(Zb),
            _pair_counts(E, A),
            np.stack(lengths, axis=-1).reshape(len(Zb), -1),
            np.rint(degrees).reshape(len(Zb), -1),
        ]
    ).astype(np.float64)
    return X[0] if single else X


def ring_count(Z, R, tolerance: float = BOND_TOLERANCE) -> np.ndarray:
    """Number of independent rings of each molecule's bond graph (the cyclomatic number).

    ``rings = bonds - atoms + components``: a tree has none, every extra bond closes one.
    Components are counted as ``atoms - rank(L)`` of the graph Laplacian ``L``, for the whole
    batch at once. Benzene has 1, bicyclic molecules 2.

    Returns
    -------
    ndarray of int, shape () or (b,)
    """
    Zb, Rb, single = as_molecules(Z, R)
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
