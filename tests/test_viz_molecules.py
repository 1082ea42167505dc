"""qm7utils.viz.molecules: 3D molecules, galleries and bond graphs."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from molecules import batch, benzene, methane, methanol, water
from qm7utils import viz
from qm7utils.chem import BOHR_TO_ANGSTROM


def _types(figure):
    return [trace.type for trace in figure.data]


def _bond_count(trace) -> int:
    """Number of segments in a line trace whose two-point segments are separated by None."""
    points = [v for v in trace.x if v is not None]
    assert len(points) % 2 == 0
    return len(points) // 2


def test_molecule_figure_one_trace_per_element_and_bonds_from_bond_adjacency():
    Z, R = methanol()
    figure = viz.molecule_figure(Z, R, title="methanol")
    assert isinstance(figure, go.Figure)
    assert _types(figure) == ["scatter3d"] * 4
    assert [t.name for t in figure.data] == ["bonds", "H", "C", "O"]
    assert [len(t.x) for t in figure.data[1:]] == [4, 1, 1]
    assert _bond_count(figure.data[0]) == 5  # C-O, 3 C-H, O-H
    # Shown in Angstrom, colours by element, informative hover.
    carbon = figure.data[2]
    np.testing.assert_allclose(carbon.x[0], R[0, 0] * BOHR_TO_ANGSTROM, atol=1e-3)
    assert carbon.marker.color == viz.ELEMENT_COLORS["C"]
    assert "bonded to O1, H2, H3, H4" in carbon.text[0]
    assert figure.layout.scene.xaxis.title.text == "x (Å)"
    assert figure.layout.title.text == "methanol"


def test_molecule_figure_ignores_padding_and_colours_by_values():
    Z, R = batch(water())
    figure = viz.molecule_figure(Z[0], R[0])
    assert [len(t.x) for t in figure.data[1:]] == [2, 1]  # H, O; padding left out
    values = np.array([0.1, 0.2, 0.3])
    coloured = viz.molecule_figure(*water(), atom_values=values, value_label="centrality")
    assert _types(coloured) == ["scatter3d", "scatter3d"]
    atoms = coloured.data[1]
    np.testing.assert_allclose(atoms.marker.color, values, rtol=1e-6)
    assert list(atoms.text) == ["O", "H", "H"]
    assert atoms.marker.colorbar.title.text == "centrality"
    assert coloured.layout.showlegend is False and figure.layout.showlegend is True
    # Values given for all 23 slots (padding included) are accepted too.
    padded = np.zeros(23)
    padded[:3] = values
    again = viz.molecule_figure(Z[0], R[0], atom_values=padded)
    np.testing.assert_allclose(again.data[1].marker.color, values, rtol=1e-6)


def test_molecule_figure_rejects_bad_input():
    Z, R = water()
    with pytest.raises(ValueError, match="one molecule"):
        viz.molecule_figure(*batch(water(), methane()))
    with pytest.raises(ValueError, match="R must have shape"):
        viz.molecule_figure(Z, R[:2])
    with pytest.raises(ValueError, match="all padding"):
        viz.molecule_figure(np.zeros(3, dtype=int), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="one value per atom"):
        viz.molecule_figure(Z, R, atom_values=[1.0, 2.0])
    with pytest.raises(ValueError, match="unknown element"):
        viz.molecule_figure(np.array([8, 1, 9]), R)


def test_molecule_gallery_one_scene_per_molecule_and_a_shared_legend():
    Z, R = batch(water(), methane(), benzene())
    figure = viz.molecule_gallery(Z, R, titles=["H2O", "CH4", "C6H6"], cols=2)
    # bonds + H + O, bonds + H + C, bonds + H + C
    assert len(figure.data) == 9
    scenes = sorted({t.scene for t in figure.data})
    assert scenes == ["scene", "scene2", "scene3"]
    legend = [t.name for t in figure.data if t.showlegend is not False]
    assert sorted(legend) == ["C", "H", "O", "bonds"]
    titles = [a.text for a in figure.layout.annotations]
    assert titles == ["H2O", "CH4", "C6H6"]
    with pytest.raises(ValueError, match="one entry per molecule"):
        viz.molecule_gallery(Z, R, titles=["only one"])
    with pytest.raises(ValueError, match="a batch"):
        viz.molecule_gallery(*water())
    many = np.repeat(Z[:1], 13, axis=0), np.repeat(R[:1], 13, axis=0)
    with pytest.raises(ValueError, match="1 to 12 molecules"):
        viz.molecule_gallery(*many)


@pytest.mark.parametrize("layout", ["kamada_kawai", "projection"])
def test_graph_figure_draws_bonds_and_atoms(layout):
    Z, R = benzene()
    figure = viz.graph_figure(Z, R, layout=layout)
    assert _types(figure) == ["scatter", "scatter"]
    bonds, atoms = figure.data
    assert _bond_count(bonds) == 12
    assert list(atoms.text) == ["C"] * 6 + ["H"] * 6
    values = np.linspace(0, 1, 12)
    coloured = viz.graph_figure(Z, R, atom_values=values, value_label="centrality", layout=layout)
    np.testing.assert_allclose(coloured.data[1].marker.color, values, rtol=1e-6)
    assert "centrality: " in coloured.data[1].customdata[0]


def test_graph_figure_projection_keeps_distances_of_a_planar_molecule():
    Z, R = benzene()
    atoms = viz.graph_figure(Z, R, layout="projection").data[1]
    xy = np.stack([np.asarray(atoms.x, dtype=float), np.asarray(atoms.y, dtype=float)], axis=1)
    np.testing.assert_allclose(np.linalg.norm(xy[0] - xy[1]), 1.39, atol=2e-3)
    with pytest.raises(ValueError, match="layout"):
        viz.graph_figure(Z, R, layout="circle")
