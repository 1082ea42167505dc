"""qm7utils.representations.neighbours: neighbour graphs, radial basis, packed and padded batches.

Small molecules built by hand (tests/molecules.py); no real data.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from molecules import batch, benzene, methane, methanol, water
from qm7utils.chem import BOHR_TO_ANGSTROM
from qm7utils.representations.neighbours import (
    ELEMENT_INDEX,
    Capacity,
    neighbour_graphs,
    pack,
    pack_batches,
    pad,
    radial_basis,
)

CUTOFF = 2.0  # Å: no distance of the four molecules lies within 0.02 Å of it
MOLECULES = (water, methane, benzene, methanol)


@pytest.fixture(scope="module")
def four():
    """Water, methane, benzene and methanol padded to 23 atoms, and their graphs."""
    Z, R = batch(*(make() for make in MOLECULES))
    return Z, R, neighbour_graphs(Z, R, cutoff=CUTOFF)


@pytest.fixture(scope="module")
def twenty():
    """The four molecules five times over (20 molecules), graphs and basis."""
    Z, R = batch(*(make() for make in MOLECULES))
    Z, R = np.tile(Z, (5, 1)), np.tile(R, (5, 1, 1))
    graphs = neighbour_graphs(Z, R, cutoff=CUTOFF)
    return graphs, radial_basis(graphs.distance, CUTOFF, 6)


def molecule_edges(graphs, m):
    """Molecule ``m``'s edges as a dict {(source, target): distance}."""
    s, n = graphs.edge_start[m], graphs.n_edges[m]
    return {(int(a), int(b)): float(d) for a, b, d in
            zip(graphs.source[s:s + n], graphs.target[s:s + n], graphs.distance[s:s + n],
                strict=True)}


def test_edges_are_the_ordered_pairs_closer_than_the_cutoff(four):
    Z, R, graphs = four
    assert len(graphs) == 4 and graphs.cutoff == CUTOFF
    np.testing.assert_array_equal(graphs.n_atoms, [3, 5, 12, 6])
    # water: 2 O-H + H-H; methane: all 10 pairs; benzene: 6 C-C + 6 C-H; methanol: 9 pairs
    np.testing.assert_array_equal(graphs.n_edges, [6, 20, 24, 18])
    assert len(graphs.source) == len(graphs.target) == len(graphs.distance) == 68
    for m, make in enumerate(MOLECULES):
        z, r = make()
        d = cdist(r, r) * BOHR_TO_ANGSTROM
        expected = {(i, j) for i in range(len(z)) for j in range(len(z))
                    if i != j and d[i, j] < CUTOFF}
        edges = molecule_edges(graphs, m)
        assert set(edges) == expected
        assert all((j, i) in edges for i, j in edges)  # both directions
        assert all(i != j for i, j in edges)  # no self-pairs
        for (i, j), length in edges.items():  # lengths in Å, R was in Bohr
            assert length == pytest.approx(d[i, j], rel=1e-12)
        a = graphs.atom_start[m]
        np.testing.assert_array_equal(graphs.element[a:a + len(z)],
                                      [ELEMENT_INDEX[int(v)] for v in z])
    # water's O-H bonds are 0.957 Å long (0.957 / 0.529 = 1.81 Bohr in R)
    assert sorted(molecule_edges(graphs, 0).values())[0] == pytest.approx(0.957, abs=1e-3)
    np.testing.assert_array_equal(graphs.atom_start, [0, 3, 8, 20])
    np.testing.assert_array_equal(graphs.edge_start, [0, 6, 26, 50])


def test_cutoff_is_in_angstrom_and_strict():
    Z = np.array([1, 1])
    R = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 3.0 / BOHR_TO_ANGSTROM]])  # 3 Å apart
    assert neighbour_graphs(Z, R, cutoff=3.1).n_edges.tolist() == [2]
    assert neighbour_graphs(Z, R, cutoff=2.9).n_edges.tolist() == [0]
    lone = neighbour_graphs([6], [[0.0, 0.0, 0.0]])
    assert lone.n_atoms.tolist() == [1] and lone.n_edges.tolist() == [0]
    assert lone.source.size == 0 and lone.distance.size == 0


def test_padding_atoms_are_ignored_wherever_they_sit():
    Z, R = water()
    reference = neighbour_graphs(Z, R, CUTOFF)
    # padding in the middle and at the end, with coordinates on top of the oxygen and nearby
    Zp = np.array([8, 0, 1, 0, 1, 0])
    Rp = np.array([R[0], R[0], R[1], R[0] + 0.1, R[2], [5.0, 5.0, 5.0]])
    padded = neighbour_graphs(Zp, Rp, CUTOFF)
    for field in ("element", "n_atoms", "n_edges", "source", "target"):
        np.testing.assert_array_equal(getattr(padded, field), getattr(reference, field))
    np.testing.assert_allclose(padded.distance, reference.distance, rtol=1e-12)


def test_bad_inputs_raise_clear_errors():
    Z, R = water()
    with pytest.raises(ValueError, match="unknown element"):
        neighbour_graphs(np.array([9, 1, 1]), R)
    for cutoff in (0.0, -1.0):
        with pytest.raises(ValueError, match="cutoff"):
            neighbour_graphs(Z, R, cutoff=cutoff)
    with pytest.raises(ValueError, match="no atoms"):
        neighbour_graphs(np.stack([Z, np.zeros(3, int)]), np.stack([R, R]))
    with pytest.raises(ValueError, match="R must have shape"):
        neighbour_graphs(Z, R[:, :2])
    with pytest.raises(ValueError, match="Z must have shape"):
        neighbour_graphs(Z[None, None], R[None, None])
    with pytest.raises(ValueError, match="n_basis"):
        radial_basis([1.0], CUTOFF, n_basis=1)
    with pytest.raises(ValueError, match="cutoff"):
        radial_basis([1.0], 0.0)


def test_radial_basis_peaks_at_its_centres_and_vanishes_at_the_cutoff():
    cutoff, k = 4.0, 9
    centres = np.linspace(0.0, cutoff, k)
    e = radial_basis(centres[:-1], cutoff, k)
    assert e.shape == (k - 1, k) and e.dtype == np.float32
    # at centre j, function j is the largest, and worth the damping there (its Gaussian is 1)
    np.testing.assert_array_equal(e.argmax(axis=1), np.arange(k - 1))
    damping = 0.5 * (np.cos(np.pi * centres[:-1] / cutoff) + 1.0)
    np.testing.assert_allclose(e[np.arange(k - 1), np.arange(k - 1)], damping, rtol=1e-6)
    assert e[0, 0] == 1.0  # d = 0: undamped peak of the first Gaussian
    # neighbours one spacing away: exp(-1/2) of the peak, times the damping
    np.testing.assert_allclose(e[4, 3], np.exp(-0.5) * damping[4], rtol=1e-6)
    # exactly 0 at and beyond the cutoff, and in [0, 1] everywhere
    beyond = radial_basis([cutoff, cutoff + 1e-3, 10.0], cutoff, k)
    assert beyond.shape == (3, k) and not beyond.any()
    d = np.linspace(0.0, 5.0, 101)
    values = radial_basis(d, cutoff, k)
    assert values.min() >= 0.0 and values.max() <= 1.0
    assert np.all(values[d < cutoff].max(axis=1) > 0)
    # smooth decay: the total weight never grows just below the cutoff
    assert np.all(np.diff(values[(d > 3.0) & (d <= cutoff)].sum(axis=1)) < 0)
    # any shape of distances: one more axis of length n_basis
    assert radial_basis(np.ones((2, 3)), cutoff, 5).shape == (2, 3, 5)


def test_capacity_leaves_room_for_the_largest_molecule(four):
    graphs = four[2]
    one = Capacity.for_graphs(graphs, batch_size=1)
    assert one == Capacity(molecules=1, atoms=13, edges=25)  # benzene, plus a padding slot
    big = Capacity.for_graphs(graphs, batch_size=10, slack=1.0)
    assert big == Capacity(molecules=10, atoms=65 + 1, edges=170 + 1)
    with pytest.raises(ValueError, match="batch_size"):
        Capacity.for_graphs(graphs, batch_size=0)


def fits(graphs, b, capacity):
    return (len(b) <= capacity.molecules and graphs.n_atoms[b].sum() < capacity.atoms
            and graphs.n_edges[b].sum() < capacity.edges)


def test_pack_batches_cover_every_molecule_once_within_capacity(twenty):
    graphs, _ = twenty
    for capacity in (Capacity(4, 30, 60), Capacity(3, 100, 1000), Capacity(20, 13, 25)):
        batches = pack_batches(graphs, np.arange(20), capacity)
        np.testing.assert_array_equal(np.concatenate(batches), np.arange(20))  # in order
        for k, b in enumerate(batches):
            assert len(b) >= 1 and fits(graphs, b, capacity)
            if k + 1 < len(batches):  # closed only when the next molecule would not fit
                assert not fits(graphs, np.append(b, batches[k + 1][0]), capacity)
        shuffled = pack_batches(graphs, np.arange(20), capacity, np.random.default_rng(0))
        everything = np.concatenate(shuffled)
        np.testing.assert_array_equal(np.sort(everything), np.arange(20))
        assert all(fits(graphs, b, capacity) for b in shuffled)
    assert not np.array_equal(everything, np.arange(20))
    # molecules-per-batch is the only limit when atoms and edges are plentiful
    assert [len(b) for b in pack_batches(graphs, np.arange(20), Capacity(3, 100, 1000))] == \
        [3] * 6 + [2]
    # a subset keeps its own order; nothing in, nothing out
    subset = [17, 2, 9, 4]
    np.testing.assert_array_equal(
        np.concatenate(pack_batches(graphs, subset, Capacity(2, 100, 1000))), subset)
    assert pack_batches(graphs, [], Capacity(2, 100, 1000)) == []


def test_pack_lays_out_molecules_and_padding(twenty):
    graphs, basis = twenty
    capacity = Capacity(molecules=4, atoms=12, edges=40)
    out = pack(graphs, basis, [1, 0], capacity)  # methane (5 atoms, 20 edges), water (3, 6)
    assert set(out) == {"element", "molecule", "source", "target", "basis", "weight"}
    assert out["element"].shape == out["molecule"].shape == (12,)
    assert out["source"].shape == out["target"].shape == (40,)
    assert out["basis"].shape == (40, 6) and out["basis"].dtype == np.float32
    h, c, o = ELEMENT_INDEX[1], ELEMENT_INDEX[6], ELEMENT_INDEX[8]
    np.testing.assert_array_equal(out["element"][:8], [c, h, h, h, h, o, h, h])
    np.testing.assert_array_equal(out["molecule"], [0] * 5 + [1] * 3 + [4] * 4)  # extra row 4
    np.testing.assert_array_equal(out["weight"], [1, 1, 0, 0])
    # real edges: methane's as they are, water's shifted past methane's 5 atoms
    e1, e0 = graphs.edge_start[1], graphs.edge_start[0]
    np.testing.assert_array_equal(out["source"][:20], graphs.source[e1:e1 + 20])
    np.testing.assert_array_equal(out["target"][20:26], graphs.target[e0:e0 + 6] + 5)
    np.testing.assert_array_equal(out["basis"][:20], basis[e1:e1 + 20])
    np.testing.assert_array_equal(out["basis"][20:26], basis[e0:e0 + 6])
    real = slice(0, 26)
    np.testing.assert_array_equal(out["molecule"][out["source"][real]],
                                  out["molecule"][out["target"][real]])  # within a molecule
    # padding edges: the free last atom slot to itself, zero basis
    assert np.all(out["source"][26:] == 11) and np.all(out["target"][26:] == 11)
    assert not out["basis"][26:].any()
    with pytest.raises(ValueError, match="do not fit"):  # 5 molecules
        pack(graphs, basis, [0, 0, 0, 0, 0], Capacity(4, 100, 1000))
    with pytest.raises(ValueError, match="do not fit"):  # 13 atoms: no free slot left
        pack(graphs, basis, [1, 0, 1], Capacity(4, 13, 1000))
    with pytest.raises(ValueError, match="do not fit"):  # 46 edges
        pack(graphs, basis, [1, 1, 0], Capacity(4, 100, 46))


def test_pad_gives_the_same_graphs_in_dense_form(twenty):
    graphs, basis = twenty
    out = pad(graphs, basis, [2, 0, 3])  # benzene, water, methanol
    assert out["basis"].shape == (3, 23, 23, 6) and out["neighbours"].shape == (3, 23, 23)
    assert out["element"].shape == out["atom_mask"].shape == (3, 23)
    np.testing.assert_array_equal(out["weight"], [1, 1, 1])
    np.testing.assert_array_equal(out["atom_mask"].sum(axis=1), [12, 3, 6])
    np.testing.assert_array_equal(out["neighbours"].sum(axis=(1, 2)), [24, 6, 18])
    np.testing.assert_array_equal(out["neighbours"], out["neighbours"].transpose(0, 2, 1))
    assert not np.diagonal(out["neighbours"], axis1=1, axis2=2).any()
    assert not out["basis"][out["neighbours"] == 0].any()
    assert not out["neighbours"][out["atom_mask"] == 0].any()  # padding atoms: no edges
    for row, m in enumerate([2, 0, 3]):
        for (j, i), _ in molecule_edges(graphs, m).items():  # message j -> i at [row, i, j]
            assert out["neighbours"][row, i, j] == 1
        a, n = graphs.atom_start[m], graphs.n_atoms[m]
        np.testing.assert_array_equal(out["element"][row, :n], graphs.element[a:a + n])
        s, e = graphs.edge_start[m], graphs.n_edges[m]
        np.testing.assert_array_equal(
            out["basis"][row, graphs.target[s:s + e], graphs.source[s:s + e]], basis[s:s + e])
    with pytest.raises(ValueError, match="max_atoms"):
        pad(graphs, basis, [2], max_atoms=10)
