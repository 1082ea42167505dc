r"""Molecules as graphs, and eigenvector centrality as a feature.

Two graphs of a molecule are used in the book:

* the deck's **distance graph**: the complete graph on the atoms, each edge weighted by the
  interatomic distance (its weighted adjacency matrix is the distance matrix);
* the chemist's **bond graph**: atoms joined when they are closer than the sum of their
  covalent radii times a tolerance factor (:func:`bond_adjacency`).

The eigenvector centrality :math:`x_v` of node :math:`v` is defined by

.. math::

    x_v = \frac{1}{\lambda} \sum_t a_{vt} x_t ,

i.e. :math:`\mathbf{x}` is the eigenvector of the adjacency matrix :math:`A` for its largest
eigenvalue :math:`\lambda` (Perron-Frobenius: positive for a connected graph), normalised to
unit Euclidean length. :func:`eigenvector_centrality` computes it for a whole batch of
molecules at once, either exactly (``method="eigh"``) or by the power iteration that networkx
uses (``method="power"``, iterating :math:`\mathbf{x} \leftarrow (A + I)\mathbf{x} / \lVert
\cdot \rVert`).
"""

from __future__ import annotations

import numpy as np

from .data import ELEMENTS
from .features import BOHR_TO_ANGSTROM, _as_molecules, _distances, _unbatch, square_matrices

__all__ = [
    "COVALENT_RADII",
    "BOND_TOLERANCE",
    "bond_adjacency",
    "bond_graph",
    "centrality_features",
    "distance_graph",
    "eigenvector_centrality",
]

#: Single-bond covalent radii in Angstrom (Cordero et al., Dalton Trans. 2008, 2832; C sp3).
COVALENT_RADII = {1: 0.31, 6: 0.76, 7: 0.71, 8: 0.66, 16: 1.05}
#: Two atoms are bonded when their distance is at most this factor times the sum of their
#: covalent radii.
BOND_TOLERANCE = 1.2


def bond_adjacency(Z, R, tolerance: float = BOND_TOLERANCE) -> np.ndarray:
    r"""Bond adjacency matrices from covalent radii.

    Atoms :math:`I \ne J` are bonded when :math:`\lVert \mathbf R_I - \mathbf R_J \rVert \le
    t\,(r_I + r_J)` with covalent radii :math:`r` from :data:`COVALENT_RADII` and tolerance
    factor :math:`t` (default :data:`BOND_TOLERANCE`).

    Parameters
    ----------
    Z : array of shape (n,) or (b, n)
        Nuclear charges, 0 for padding.
    R : array of shape (n, 3) or (b, n, 3)
        Coordinates in Bohr.
    tolerance : float
        Factor on the sum of radii, > 1 (bond lengths scatter above the tabulated radii).

    Returns
    -------
    ndarray of bool, shape (n, n) or (b, n, n), symmetric, False on the diagonal and padding.
    """
    Z, R, single = _as_molecules(Z, R)
    if not 1.0 <= tolerance <= 2.0:
        raise ValueError(
            f"tolerance must be between 1 and 2 (a factor on covalent radii), got {tolerance}"
        )
    radii = np.zeros(max(ELEMENTS) + 1)
    for z, r in COVALENT_RADII.items():
        radii[z] = r
    r = radii[Z]
    limit = tolerance * (r[:, :, None] + r[:, None, :])
    D = _distances(R) * BOHR_TO_ANGSTROM
    real = Z > 0
    pair = real[:, :, None] & real[:, None, :] & ~np.eye(Z.shape[1], dtype=bool)
    return _unbatch(pair & (D <= limit), single)


def _single(Z, R):
    Z, R, single = _as_molecules(Z, R)
    if not single:
        raise ValueError(f"expected one molecule (Z of shape (n,)), got a batch of {Z.shape[0]}")
    real = Z[0] > 0
    return Z[0][real], R[0][real]


def distance_graph(Z, R):
    """The deck's graph of one molecule: complete, edges weighted by distance (Bohr).

    Nodes are the real atoms ``0..n-1`` in the order of ``Z`` with attributes ``Z`` (nuclear
    charge) and ``element``; each edge has ``weight`` = distance in Bohr.
    """
    import networkx as nx

    Z, R = _single(Z, R)
    D = _distances(R[None])[0]
    graph = nx.from_numpy_array(D)
    for i, z in enumerate(Z):
        graph.nodes[i].update(Z=int(z), element=ELEMENTS[int(z)])
    return graph


def bond_graph(Z, R, tolerance: float = BOND_TOLERANCE):
    """The chemist's graph of one molecule: atoms joined by covalent bonds.

    Nodes are the real atoms ``0..n-1`` in the order of ``Z`` with attributes ``Z`` (nuclear
    charge), ``element`` and ``position`` (Bohr); each edge carries its ``length`` in Angstrom.
    See :func:`bond_adjacency` for the criterion.
    """
    import networkx as nx

    Z, R = _single(Z, R)
    A = bond_adjacency(Z, R, tolerance=tolerance)
    graph = nx.Graph()
    for i, z in enumerate(Z):
        graph.add_node(i, Z=int(z), element=ELEMENTS[int(z)], position=R[i].copy())
    D = _distances(R[None])[0] * BOHR_TO_ANGSTROM
    for i, j in zip(*np.nonzero(np.triu(A)), strict=True):
        graph.add_edge(int(i), int(j), length=float(D[i, j]))
    return graph


def eigenvector_centrality(
    A, method: str = "eigh", tol: float = 1e-10, max_iter: int = 10_000
) -> np.ndarray:
    r"""Eigenvector centrality of each node for a batch of weighted adjacency matrices.

    Solves :math:`\lambda x_v = \sum_t a_{vt} x_t` for the largest eigenvalue, with
    :math:`\mathbf x \ge 0` and :math:`\lVert \mathbf x \rVert_2 = 1` (networkx's convention).
    Rows and columns that are all zero (padding, isolated atoms) get centrality 0 when the rest
    of the graph is connected.

    Parameters
    ----------
    A : array of shape (n, n) or (b, n, n)
        Symmetric non-negative adjacency matrices (distance or bond matrices).
    method : {"eigh", "power"}
        ``"eigh"``: exact, from a symmetric eigendecomposition. ``"power"``: the power iteration
        :math:`\mathbf x \leftarrow (A+I)\mathbf x / \lVert (A+I)\mathbf x \rVert` from a
        uniform start, as in :func:`networkx.eigenvector_centrality`, run for the whole batch
        until every molecule has converged.
    tol : float
        Power iteration stops when :math:`\sum_v |x_v - x_v^{\rm last}| < n\,\mathrm{tol}` for
        every molecule.
    max_iter : int
        Power iteration gives up (``RuntimeError``) after this many steps.

    Returns
    -------
    ndarray of shape (n,) or (b, n)
    """
    A = square_matrices(A, "A")
    if np.any(A < 0) or not np.allclose(A, np.swapaxes(A, -1, -2)):
        raise ValueError("A must be symmetric with non-negative weights")
    single = A.ndim == 2
    batch = A[None] if single else A
    if method == "eigh":
        _, vectors = np.linalg.eigh(batch)
        x = vectors[..., -1]
        # The Perron vector has one sign; fix it and clean the zeros of isolated nodes.
        x = x * np.where(x.sum(axis=-1, keepdims=True) < 0, -1.0, 1.0)
        x = np.clip(x, 0.0, None)
        x /= np.linalg.norm(x, axis=-1, keepdims=True)
    elif method == "power":
        n = batch.shape[-1]
        x = np.full(batch.shape[:2], 1.0 / n)
        shifted = batch + np.eye(n)
        for _ in range(max_iter):
            last = x
            x = np.einsum("bij,bj->bi", shifted, last)
            x /= np.linalg.norm(x, axis=-1, keepdims=True)
            if np.all(np.abs(x - last).sum(axis=-1) < n * tol):
                break
        else:
            raise RuntimeError(
                f"power iteration did not converge in {max_iter} steps: raise max_iter, "
                "or use method='eigh'"
            )
    else:
        raise ValueError(f"method must be 'eigh' or 'power', got {method!r}")
    return _unbatch(x, single)


def centrality_features(
    Z, R, graph: str = "distance", sort: bool = True, tolerance: float = BOND_TOLERANCE
) -> np.ndarray:
    """Eigenvector centralities of every atom as a fixed-length feature vector per molecule.

    The centralities of the real atoms come first (sorted descending when ``sort=True``, which
    makes the vector independent of the atom order), padding atoms get 0.

    Parameters
    ----------
    Z : array of shape (n,) or (b, n)
    R : array of shape (n, 3) or (b, n, 3)
        Coordinates in Bohr.
    graph : {"distance", "bond"}
        The deck's distance-weighted complete graph, or the bond graph.
    sort : bool
        Sort each vector in descending order.
    tolerance : float
        Bond tolerance factor, for ``graph="bond"``.

    Returns
    -------
    ndarray of shape (n,) or (b, n)
    """
    from .features import distance_matrix

    if graph == "distance":
        A = distance_matrix(Z, R)
    elif graph == "bond":
        A = bond_adjacency(Z, R, tolerance=tolerance).astype(np.float64)
    else:
        raise ValueError(f"graph must be 'distance' or 'bond', got {graph!r}")
    x = eigenvector_centrality(A)
    if sort:
        x = -np.sort(-x, axis=-1)
    return x
