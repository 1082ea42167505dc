r"""Molecules as graphs, and eigenvector centrality as a feature.

Two graphs of a molecule are used in the book:

* the deck's **distance graph**: the complete graph on the atoms, each edge weighted by the
  interatomic distance (its weighted adjacency matrix is the distance matrix);
* the chemist's **bond graph**: atoms joined when they are closer than the sum of their
  covalent radii (:data:`qm7utils.chem.COVALENT_RADII`) times a tolerance factor
  (:func:`bond_adjacency`).

The eigenvector centrality :math:`x_v` of node :math:`v` is defined by

.. math::

    x_v = \frac{1}{\lambda} \sum_t a_{vt} x_t ,

i.e. :math:`\mathbf{x}` is the eigenvector of the adjacency matrix :math:`A` for its largest
eigenvalue :math:`\lambda` (Perron-Frobenius: positive for a connected graph), normalised to
unit Euclidean length. :func:`eigenvector_centrality` computes it for a whole batch of
molecules at once from a symmetric eigendecomposition; chapter 3 writes out the power
iteration that networkx uses and checks that the two agree.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils import check_scalar

from .chem import BOHR_TO_ANGSTROM, COVALENT_RADII, ELEMENTS, as_molecules
from .representations.coulomb import distance_matrix, distances, square_matrices

__all__ = [
    "BOND_TOLERANCE",
    "bond_adjacency",
    "bond_graph",
    "centrality_features",
    "eigenvector_centrality",
]

#: Two atoms are bonded when their distance is at most this factor times the sum of their
#: covalent radii.
BOND_TOLERANCE = 1.2


def bond_adjacency(Z, R, tolerance: float = BOND_TOLERANCE) -> np.ndarray:
    r"""Bond adjacency matrices from covalent radii.

    Atoms :math:`I \ne J` are bonded when :math:`\lVert \mathbf R_I - \mathbf R_J \rVert \le
    t\,(r_I + r_J)` with covalent radii :math:`r` from :data:`qm7utils.chem.COVALENT_RADII` and
    tolerance factor :math:`t` (default :data:`BOND_TOLERANCE`).

    Parameters
    ----------
    Z, R : array-like
        One molecule or a batch (:func:`qm7utils.chem.as_molecules`).
    tolerance : float
        Factor on the sum of radii, > 1 (bond lengths scatter above the tabulated radii).

    Returns
    -------
    ndarray of bool, shape (n, n) or (b, n, n), symmetric, False on the diagonal and padding.
    """
    Z, R, single = as_molecules(Z, R)
    check_scalar(tolerance, "tolerance", Real, min_val=1.0, max_val=2.0)
    radii = np.zeros(max(ELEMENTS) + 1)
    for z, r in COVALENT_RADII.items():
        radii[z] = r
    r = radii[Z]
    limit = tolerance * (r[:, :, None] + r[:, None, :])
    D = distances(R) * BOHR_TO_ANGSTROM
    real = Z > 0
    pair = real[:, :, None] & real[:, None, :] & ~np.eye(Z.shape[1], dtype=bool)
    A = pair & (D <= limit)
    return A[0] if single else A


def _single(Z, R):
    Z, R, single = as_molecules(Z, R)
    if not single:
        raise ValueError(f"expected one molecule (Z of shape (n,)), got a batch of {Z.shape[0]}")
    real = Z[0] > 0
    return Z[0][real], R[0][real]


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
    D = distances(R[None])[0] * BOHR_TO_ANGSTROM
    for i, j in zip(*np.nonzero(np.triu(A)), strict=True):
        graph.add_edge(int(i), int(j), length=float(D[i, j]))
    return graph


def eigenvector_centrality(A, real=None) -> np.ndarray:
    r"""Eigenvector centrality of each node for a batch of weighted adjacency matrices.

    Solves :math:`\lambda x_v = \sum_t a_{vt} x_t` for the largest eigenvalue, with
    :math:`\mathbf x \ge 0` and :math:`\lVert \mathbf x \rVert_2 = 1` (networkx's convention),
    exactly, from a symmetric eigendecomposition of every matrix of the batch.

    Where the largest eigenvalue is not simple, every vector of its eigenspace solves the
    equation; this function returns the one that power iteration from equal values reaches, as
    networkx does: the projection of the uniform vector on that eigenspace. So:

    * nodes without an edge (isolated atoms) get 0 when the graph has an edge;
    * a graph without any edge, such as a molecule of one atom, gives every node the same
      centrality (1 for one atom);
    * nodes outside ``real`` (padding) are not part of the graph and always get 0, even in a
      graph without edges; a batch entry with no real node gets all zeros.

    Parameters
    ----------
    A : array of shape (n, n) or (b, n, n)
        Symmetric non-negative adjacency matrices (distance or bond matrices).
    real : array of bool of shape (n,) or (b, n), optional
        The nodes of each graph, e.g. ``Z > 0``; the default, every node, cannot tell the
        padding of a one-atom molecule from atoms, so pass it for padded molecules.

    Returns
    -------
    ndarray of shape (n,) or (b, n)
    """
    A = square_matrices(A, "A")
    if np.any(A < 0) or not np.allclose(A, np.swapaxes(A, -1, -2)):
        raise ValueError("A must be symmetric with non-negative weights")
    real = np.ones(A.shape[:-1], dtype=bool) if real is None else np.asarray(real)
    if real.dtype != bool or real.shape != A.shape[:-1]:
        raise ValueError(
            f"real must be a boolean mask of the nodes of shape {A.shape[:-1]}, got "
            f"{real.dtype} of shape {real.shape}"
        )
    single = A.ndim == 2
    A, real = (A[None], real[None]) if single else (A, real)
    A = A * (real[:, :, None] & real[:, None, :])  # padding is no part of the graph
    values, vectors = np.linalg.eigh(A)
    top = values >= values[:, -1:] - 1e-10 * np.abs(values).max(axis=1, keepdims=True)
    uniform = real / np.sqrt(np.maximum(real.sum(axis=1, keepdims=True), 1))
    # Projection of the uniform vector on the top eigenspace: the Perron vector, sign fixed.
    x = np.einsum("bij,bj->bi", vectors, top * np.einsum("bij,bi->bj", vectors, uniform))
    x = np.clip(x, 0.0, None)  # rounding leaves -1e-17 on isolated nodes
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    return x[0] if single else x


def centrality_features(
    Z, R, graph: str = "distance", sort: bool = True, tolerance: float = BOND_TOLERANCE
) -> np.ndarray:
    """Eigenvector centralities of every atom as a fixed-length feature vector per molecule.

    The centralities of the real atoms come first (sorted descending when ``sort=True``, which
    makes the vector independent of the atom order), padding atoms get 0. One atom gets 1
    (:func:`eigenvector_centrality`); a molecule without atoms gets all zeros.

    Parameters
    ----------
    Z, R : array-like
        One molecule or a batch (:func:`qm7utils.chem.as_molecules`).
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
    if graph == "distance":
        A = distance_matrix(Z, R)
    elif graph == "bond":
        A = bond_adjacency(Z, R, tolerance=tolerance).astype(np.float64)
    else:
        raise ValueError(f"graph must be 'distance' or 'bond', got {graph!r}")
    Zb, _, single = as_molecules(Z, R)
    x = eigenvector_centrality(A, real=Zb[0] > 0 if single else Zb > 0)
    if sort:
        x = -np.sort(-x, axis=-1)
    return x
