r"""Molecules as graphs of neighbours, the input of chapter 8's message-passing network.

* :func:`neighbour_graphs`: every molecule's atoms (nodes) and its ordered pairs of atoms closer
  than a cutoff (edges), all molecules in one flat list, without padding;
* :func:`radial_basis`: each interatomic distance expanded once into Gaussians times a smooth
  cutoff, the input of the network's filters;
* :func:`pack_batches` and :func:`pack`: batches of whole molecules packed into arrays of one
  fixed size, so one compiled training step serves every batch;
* :func:`pad`: the same batch in the padded, dense form (every molecule 23 atoms, every pair
  an edge), the form the packed one is measured against (``benchmarks/message_passing.py``).

Distances are in Ångström (QM7's coordinates are in Bohr). Edge ``e`` carries a message from
atom ``source[e]`` to atom ``target[e]``; both directions of a pair are edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_scalar

from ..chem import BOHR_TO_ANGSTROM, ELEMENTS, as_molecules

__all__ = ["Capacity", "NeighbourGraphs", "neighbour_graphs", "pack", "pack_batches", "pad",
           "radial_basis"]

#: Row of each element in the network's embedding table: H, C, N, O, S -> 0 .. 4.
ELEMENT_INDEX = {z: i for i, z in enumerate(ELEMENTS)}


@dataclass(frozen=True)
class NeighbourGraphs:
    """Molecules as one flat list of atoms and one flat list of neighbour pairs.

    Attributes
    ----------
    element : ndarray (atoms,)
        Embedding row of each atom (:data:`ELEMENT_INDEX`), molecule after molecule.
    n_atoms, n_edges : ndarray (molecules,)
        Atoms and edges of each molecule.
    source, target : ndarray (edges,)
        Atom indices *within* the molecule of each edge's two ends.
    distance : ndarray (edges,)
        Length of each edge in Ångström.
    cutoff : float
        Pairs closer than this (Å) are edges.
    """

    element: np.ndarray
    n_atoms: np.ndarray
    n_edges: np.ndarray
    source: np.ndarray
    target: np.ndarray
    distance: np.ndarray
    cutoff: float

    @property
    def atom_start(self) -> np.ndarray:
        """Index of each molecule's first atom in the flat atom list."""
        return np.concatenate([[0], np.cumsum(self.n_atoms)[:-1]])

    @property
    def edge_start(self) -> np.ndarray:
        """Index of each molecule's first edge in the flat edge list."""
        return np.concatenate([[0], np.cumsum(self.n_edges)[:-1]])

    def __len__(self) -> int:
        return len(self.n_atoms)


def _check_cutoff(cutoff) -> float:
    cutoff = float(check_scalar(cutoff, "cutoff", Real, min_val=0.0, include_boundaries="neither"))
    if not math.isfinite(cutoff):
        raise ValueError(f"cutoff must be a finite distance in Å, got {cutoff}")
    return cutoff


def neighbour_graphs(Z, R, cutoff: float = 4.0) -> NeighbourGraphs:
    """Atoms and ordered atom pairs closer than ``cutoff`` (Å) of each molecule.

    Parameters
    ----------
    Z : array (molecules, n) or (n,)
        Nuclear charges, 0 for padding.
    R : array Z.shape + (3,)
        Coordinates in Bohr, as in QM7.
    cutoff : float
        Neighbour distance in Ångström.

    Raises ``ValueError`` on a bad shape, an unknown element, a non-positive cutoff or a
    molecule without atoms.
    """
    Z, R, _ = as_molecules(Z, R)
    cutoff = _check_cutoff(cutoff)
    if len(Z) == 0:
        raise ValueError("no molecules: Z has shape (0, n); pass at least one molecule")
    real = Z > 0
    empty = np.flatnonzero(~real.any(axis=1))
    if empty.size:
        raise ValueError(f"molecule(s) {empty[:5].tolist()} have no atoms (Z all 0): drop them")
    R = R * BOHR_TO_ANGSTROM
    lookup = np.zeros(max(ELEMENTS) + 1, dtype=np.int32)
    lookup[list(ELEMENTS)] = list(ELEMENT_INDEX.values())
    elements, sources, targets, distances, n_edges = [], [], [], [], []
    for z, r, m in zip(Z, R, real, strict=True):
        z, r = z[m], r[m]
        d = np.linalg.norm(r[:, None] - r[None], axis=-1)
        source, target = np.nonzero((d < cutoff) & ~np.eye(len(z), dtype=bool))
        elements.append(lookup[z])
        sources.append(source)
        targets.append(target)
        distances.append(d[source, target])
        n_edges.append(len(source))
    return NeighbourGraphs(
        element=np.concatenate(elements), n_atoms=real.sum(axis=1),
        n_edges=np.asarray(n_edges), source=np.concatenate(sources).astype(np.int32),
        target=np.concatenate(targets).astype(np.int32), distance=np.concatenate(distances),
        cutoff=cutoff,
    )


def radial_basis(distance, cutoff: float, n_basis: int = 25) -> np.ndarray:
    r"""Distances expanded into ``n_basis`` Gaussians, damped smoothly to 0 at the cutoff.

    .. math:: e_k(d) = \exp\!\big(-(d - \mu_k)^2 / (2\Delta^2)\big)\;
              \tfrac12\big(\cos(\pi d / r_c) + 1\big)

    with centres :math:`\mu_k` evenly spaced from 0 to the cutoff :math:`r_c` and
    :math:`\Delta` their spacing. Computed once per edge, before training.
    """
    check_scalar(n_basis, "n_basis", Integral, min_val=2)
    cutoff = _check_cutoff(cutoff)
    d = np.asarray(distance, dtype=np.float64)
    centres = np.linspace(0.0, cutoff, n_basis)
    spacing = centres[1] - centres[0]
    damping = 0.5 * (np.cos(np.pi * np.minimum(d, cutoff) / cutoff) + 1.0)
    gaussians = np.exp(-((d[..., None] - centres) ** 2) / (2 * spacing**2))
    return (gaussians * damping[..., None]).astype(np.float32)


@dataclass(frozen=True)
class Capacity:
    """Fixed sizes of a packed batch: molecules, atoms and edges (unused slots are padding)."""

    molecules: int
    atoms: int
    edges: int

    @classmethod
    def for_graphs(cls, graphs: NeighbourGraphs, batch_size: int, slack: float = 1.15):
        """Room for ``batch_size`` molecules of average size times ``slack`` (15% spare room),
        and one more atom and edge, the padding slot."""
        check_scalar(batch_size, "batch_size", Integral, min_val=1)
        atoms = max(int(batch_size * graphs.n_atoms.mean() * slack), int(graphs.n_atoms.max()))
        edges = max(int(batch_size * graphs.n_edges.mean() * slack), int(graphs.n_edges.max()))
        return cls(molecules=int(batch_size), atoms=atoms + 1, edges=edges + 1)


def pack_batches(graphs: NeighbourGraphs, molecules, capacity: Capacity,
                 rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Split ``molecules`` (indices) into batches that fit ``capacity``, in order or shuffled.

    A batch is closed when the next molecule would overflow its molecules, atoms or edges (the
    last atom and edge slots stay free for padding), so batches hold whole molecules and about
    ``capacity.molecules`` of them. Raises ``ValueError`` if one molecule alone does not fit.
    """
    molecules = np.asarray(molecules, dtype=np.int64)
    too_big = ((graphs.n_atoms[molecules] >= capacity.atoms)
               | (graphs.n_edges[molecules] >= capacity.edges))
    if too_big.any():
        raise ValueError(
            f"molecule {int(molecules[too_big][0])} alone does not fit {capacity}: build the "
            "capacity with Capacity.for_graphs"
        )
    if rng is not None:
        molecules = rng.permutation(molecules)
    batches, start, atoms, edges = [], 0, 0, 0
    for k, i in enumerate(molecules):
        a, e = graphs.n_atoms[i], graphs.n_edges[i]
        if k > start and (k - start == capacity.molecules or atoms + a >= capacity.atoms
                          or edges + e >= capacity.edges):
            batches.append(molecules[start:k])
            start, atoms, edges = k, 0, 0
        atoms, edges = atoms + a, edges + e
    if len(molecules):
        batches.append(molecules[start:])
    return batches


def pack(graphs: NeighbourGraphs, basis: np.ndarray, batch, capacity: Capacity) -> dict:
    """One batch of molecules as fixed-size arrays, the input of the packed network.

    Returns a dict: ``element`` (atoms,), ``molecule`` (atoms,) the batch row of each atom,
    ``source`` and ``target`` (edges,) indices into the batch's atoms, ``basis`` (edges, k)
    and ``weight`` (molecules,) 1 for real molecules. Padding atoms belong to the extra
    molecule row ``capacity.molecules`` (dropped by the network); padding edges join the last,
    unused atom slot with itself, so their messages reach only that atom, whose row is dropped.
    """
    batch = np.asarray(batch, dtype=np.int64)
    if len(batch) == 0:
        raise ValueError("an empty batch: pass at least one molecule index")
    atoms, edges = graphs.n_atoms[batch], graphs.n_edges[batch]
    if (len(batch) > capacity.molecules or atoms.sum() >= capacity.atoms
            or edges.sum() >= capacity.edges):
        raise ValueError(
            f"{len(batch)} molecules, {atoms.sum()} atoms and {edges.sum()} edges do not fit "
            f"{capacity}: build the batches with pack_batches"
        )
    atom_index = np.concatenate([np.arange(s, s + n) for s, n in
                                 zip(graphs.atom_start[batch], atoms, strict=True)])
    edge_index = np.concatenate([np.arange(s, s + n) for s, n in
                                 zip(graphs.edge_start[batch], edges, strict=True)])
    offset = np.repeat(np.cumsum(atoms) - atoms, edges)  # first atom of each edge's molecule
    n_a, n_e, free = atoms.sum(), edges.sum(), capacity.atoms - 1
    out = {
        "element": np.zeros(capacity.atoms, np.int32),
        "molecule": np.full(capacity.atoms, capacity.molecules, np.int32),
        "source": np.full(capacity.edges, free, np.int32),
        "target": np.full(capacity.edges, free, np.int32),
        "basis": np.zeros((capacity.edges, basis.shape[1]), np.float32),
        "weight": np.zeros(capacity.molecules, np.float32),
    }
    out["element"][:n_a] = graphs.element[atom_index]
    out["molecule"][:n_a] = np.repeat(np.arange(len(batch)), atoms)
    out["source"][:n_e] = graphs.source[edge_index] + offset
    out["target"][:n_e] = graphs.target[edge_index] + offset
    out["basis"][:n_e] = basis[edge_index]
    out["weight"][: len(batch)] = 1.0
    return out


def pad(graphs: NeighbourGraphs, basis: np.ndarray, batch, max_atoms: int = 23,
        rows: int | None = None) -> dict:
    """The same batch in the padded dense form: ``max_atoms`` atoms per molecule.

    ``rows`` (default: the batch's length) pads the batch itself with empty molecules of
    weight 0, so that batches of different lengths share one shape.

    Returns ``element`` (b, n), ``atom_mask`` (b, n), ``basis`` (b, n, n, k) and
    ``neighbours`` (b, n, n), 1 where atom ``j`` sends a message to atom ``i`` (entry
    ``[b, i, j]``), and ``weight`` (b,). Every molecule pays for ``n * n`` pairs,
    neighbours or not: the cost that packing avoids.
    """
    batch = np.asarray(batch, dtype=np.int64)
    if graphs.n_atoms[batch].max(initial=0) > max_atoms:
        raise ValueError(f"a molecule has more than max_atoms={max_atoms} atoms")
    b = len(batch)
    if rows is not None:
        b = int(check_scalar(rows, "rows", Integral, min_val=len(batch)))
    k = basis.shape[1]
    out = {"element": np.zeros((b, max_atoms), np.int32),
           "atom_mask": np.zeros((b, max_atoms), np.float32),
           "basis": np.zeros((b, max_atoms, max_atoms, k), np.float32),
           "neighbours": np.zeros((b, max_atoms, max_atoms), np.float32),
           "weight": np.zeros(b, np.float32)}
    for row, i in enumerate(batch):
        a0, n = graphs.atom_start[i], graphs.n_atoms[i]
        e0, m = graphs.edge_start[i], graphs.n_edges[i]
        out["element"][row, :n] = graphs.element[a0:a0 + n]
        out["atom_mask"][row, :n] = 1.0
        out["weight"][row] = 1.0
        target, source = graphs.target[e0:e0 + m], graphs.source[e0:e0 + m]
        out["basis"][row, target, source] = basis[e0:e0 + m]
        out["neighbours"][row, target, source] = 1.0
    return out
