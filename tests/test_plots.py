"""qm7utils.plots: each figure has the expected traces and data, and bad input fails clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from molecules import batch, benzene, methane, methanol, water
from qm7utils import plots as P
from qm7utils.explore import composition_table
from qm7utils.features import BOHR_TO_ANGSTROM, coulomb_matrix

# --- Chapters 1-4 ---------------------------------------------------------------------------


def _types(figure):
    return [trace.type for trace in figure.data]


def _bond_count(trace) -> int:
    """Number of segments in a line trace whose two-point segments are separated by None."""
    points = [v for v in trace.x if v is not None]
    assert len(points) % 2 == 0
    return len(points) // 2


def test_molecule_figure_one_trace_per_element_and_bonds_from_bond_adjacency():
    Z, R = methanol()
    figure = P.molecule_figure(Z, R, title="methanol")
    assert isinstance(figure, go.Figure)
    assert _types(figure) == ["scatter3d"] * 4
    assert [t.name for t in figure.data] == ["bonds", "H", "C", "O"]
    assert [len(t.x) for t in figure.data[1:]] == [4, 1, 1]
    assert _bond_count(figure.data[0]) == 5  # C-O, 3 C-H, O-H
    # Shown in Angstrom, colours by element, informative hover.
    carbon = figure.data[2]
    np.testing.assert_allclose(carbon.x[0], R[0, 0] * BOHR_TO_ANGSTROM, atol=1e-3)
    assert carbon.marker.color == P.ELEMENT_COLORS["C"]
    assert "bonded to O1, H2, H3, H4" in carbon.text[0]
    assert figure.layout.scene.xaxis.title.text == "x (Å)"
    assert figure.layout.title.text == "methanol"


def test_molecule_figure_ignores_padding_and_colours_by_values():
    Z, R = batch(water())
    figure = P.molecule_figure(Z[0], R[0])
    assert [len(t.x) for t in figure.data[1:]] == [2, 1]  # H, O; padding left out
    values = np.array([0.1, 0.2, 0.3])
    coloured = P.molecule_figure(*water(), atom_values=values, value_label="centrality")
    assert _types(coloured) == ["scatter3d", "scatter3d"]
    atoms = coloured.data[1]
    np.testing.assert_allclose(atoms.marker.color, values, rtol=1e-6)
    assert list(atoms.text) == ["O", "H", "H"]
    assert atoms.marker.colorbar.title.text == "centrality"
    assert coloured.layout.showlegend is False and figure.layout.showlegend is True
    # Values given for all 23 slots (padding included) are accepted too.
    padded = np.zeros(23)
    padded[:3] = values
    again = P.molecule_figure(Z[0], R[0], atom_values=padded)
    np.testing.assert_allclose(again.data[1].marker.color, values, rtol=1e-6)


def test_molecule_figure_rejects_bad_input():
    Z, R = water()
    with pytest.raises(ValueError, match="one molecule"):
        P.molecule_figure(*batch(water(), methane()))
    with pytest.raises(ValueError, match="R must have shape"):
        P.molecule_figure(Z, R[:2])
    with pytest.raises(ValueError, match="all padding"):
        P.molecule_figure(np.zeros(3, dtype=int), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="one value per atom"):
        P.molecule_figure(Z, R, atom_values=[1.0, 2.0])
    with pytest.raises(ValueError, match="unknown element"):
        P.molecule_figure(np.array([8, 1, 9]), R)


def test_molecule_gallery_one_scene_per_molecule_and_a_shared_legend():
    Z, R = batch(water(), methane(), benzene())
    figure = P.molecule_gallery(Z, R, titles=["H2O", "CH4", "C6H6"], cols=2)
    # bonds + H + O, bonds + H + C, bonds + H + C
    assert len(figure.data) == 9
    scenes = sorted({t.scene for t in figure.data})
    assert scenes == ["scene", "scene2", "scene3"]
    legend = [t.name for t in figure.data if t.showlegend is not False]
    assert sorted(legend) == ["C", "H", "O", "bonds"]
    titles = [a.text for a in figure.layout.annotations]
    assert titles == ["H2O", "CH4", "C6H6"]
    with pytest.raises(ValueError, match="one entry per molecule"):
        P.molecule_gallery(Z, R, titles=["only one"])
    with pytest.raises(ValueError, match="a batch"):
        P.molecule_gallery(*water())
    many = np.repeat(Z[:1], 13, axis=0), np.repeat(R[:1], 13, axis=0)
    with pytest.raises(ValueError, match="1 to 12 molecules"):
        P.molecule_gallery(*many)


def test_coulomb_heatmaps_show_atom_order_and_sorted_order():
    Z, R = methanol()
    figure = P.coulomb_heatmaps(Z, R, norm="l1", log=False)
    assert _types(figure) == ["heatmap", "heatmap"]
    raw, ordered = figure.data
    assert list(raw.x) == ["C0", "O1", "H2", "H3", "H4", "H5"]
    assert list(ordered.x)[:2] == ["O1", "C0"]  # oxygen has the largest row sum
    C = coulomb_matrix(Z, R)
    np.testing.assert_allclose(np.asarray(raw.z, dtype=float), C, atol=1e-4)
    assert np.asarray(ordered.z).shape == (6, 6)
    # Log colours keep the true value in the hover text.
    logged = P.coulomb_heatmaps(Z, R)
    np.testing.assert_allclose(np.asarray(logged.data[0].z, dtype=float), np.log10(C), atol=1e-4)
    assert float(logged.data[0].customdata[1][1]) == pytest.approx(C[1, 1], rel=1e-3)
    with pytest.raises(ValueError, match="norm"):
        P.coulomb_heatmaps(Z, R, norm="max")


def test_matrix_heatmaps_validate_shapes_labels_and_signs():
    figure = P.matrix_heatmaps([np.eye(3), np.ones((2, 2))], ["a", "b"], colorbar_title="unit")
    assert _types(figure) == ["heatmap", "heatmap"]
    assert figure.layout.coloraxis.colorbar.title.text == "unit"
    with pytest.raises(ValueError, match="square"):
        P.matrix_heatmaps([np.ones((2, 3))], ["a"])
    with pytest.raises(ValueError, match="one title per matrix"):
        P.matrix_heatmaps([np.eye(2)], ["a", "b"])
    with pytest.raises(ValueError, match="unique"):
        P.matrix_heatmaps([np.eye(2)], ["a"], labels=[["H", "H"]])
    with pytest.raises(ValueError, match="non-negative"):
        P.matrix_heatmaps([-np.eye(2)], ["a"], log=True)


@pytest.fixture
def energies():
    rng = np.random.default_rng(0)
    sizes = rng.integers(3, 8, size=300)
    return -200.0 * sizes + rng.normal(0, 20, size=300), sizes


def test_energy_histogram_stacks_one_trace_per_group(energies):
    T, sizes = energies
    single = P.energy_histogram(T)
    assert _types(single) == ["histogram"] and len(single.data[0].x) == 300
    assert single.layout.xaxis.title.text == P.ENERGY_LABEL
    grouped = P.energy_histogram(T, groups=sizes, group_label="heavy atoms")
    assert [t.name for t in grouped.data] == ["3", "4", "5", "6", "7"]
    assert sum(len(t.x) for t in grouped.data) == 300
    assert grouped.layout.barmode == "stack"
    residuals = P.energy_histogram(T - T.mean(), x_label="residual (kcal/mol)")
    assert residuals.layout.xaxis.title.text == "residual (kcal/mol)"
    with pytest.raises(ValueError, match="one label per molecule"):
        P.energy_histogram(T, groups=sizes[:10])
    with pytest.raises(ValueError, match="NaN"):
        P.energy_histogram([1.0, np.nan])


def test_energy_by_group_one_box_per_group_in_the_given_order(energies):
    T, sizes = energies
    figure = P.energy_by_group(T, sizes, "heavy atoms", order=[7, 6, 5, 4, 3])
    assert _types(figure) == ["box"] * 5
    assert figure.data[0].name.startswith("7<br>n=")
    counts = [int(t.name.split("n=")[1]) for t in figure.data]
    assert counts == [int((sizes == k).sum()) for k in (7, 6, 5, 4, 3)]
    with pytest.raises(ValueError, match="misses group"):
        P.energy_by_group(T, sizes, "heavy atoms", order=[3, 4])


def test_energy_scatter_groups_subsample_and_diagonal(energies):
    T, sizes = energies
    labels = np.where(sizes > 5, "big", "small")
    figure = P.energy_scatter(sizes, T, "heavy atoms", groups=labels, max_points=100,
                              hover_text=[f"m{i}" for i in range(300)])
    assert _types(figure) == ["scatter", "scatter"]
    assert sum(len(t.x) for t in figure.data) == 100
    assert figure.layout.title.text.endswith("(100 of 300 molecules shown)")
    assert all(text.startswith("m") for text in figure.data[0].text)
    parity = P.energy_scatter(T + 1.0, T, "predicted (kcal/mol)", diagonal=True)
    assert [t.name for t in parity.data] == ["molecules", "y = x"]
    assert len(parity.data[0].x) == 300
    with pytest.raises(ValueError, match="differ in length"):
        P.energy_scatter(sizes[:5], T, "x")
    with pytest.raises(ValueError, match="max_points"):
        P.energy_scatter(sizes, T, "x", max_points=0)


def test_count_bars_and_composition_figure():
    figure = P.count_bars({"all atoms": [3, 3, 5], "heavy atoms": [1, 2, 2]}, "atoms")
    assert _types(figure) == ["bar", "bar"]
    assert list(figure.data[0].x) == [3, 5] and list(figure.data[0].y) == [2, 1]
    assert list(figure.data[1].y) == [1, 2]
    with pytest.raises(ValueError, match="empty"):
        P.count_bars({}, "atoms")
    Z, _ = batch(water(), methane(), methanol())
    table = composition_table(Z)
    figure = P.composition_figure(table)
    assert _types(figure) == ["bar", "bar"]
    assert list(figure.data[0].x) == ["H", "C", "N", "O", "S"]
    assert list(figure.data[0].y) == [2 + 4 + 4, 2, 0, 2, 0]
    assert list(figure.data[1].y) == [3, 2, 0, 2, 0]
    with pytest.raises(ValueError, match="composition_table"):
        P.composition_figure(pd.DataFrame({"atoms": [1]}))


def test_embedding_figure_colours_by_energy_and_subsamples(energies):
    T, _ = energies
    coords = np.random.default_rng(1).normal(size=(300, 2))
    figure = P.embedding_figure(coords, T, hover_text=[f"m{i}" for i in range(300)],
                                max_points=120, axis_titles=("PC 1", "PC 2"))
    (trace,) = figure.data
    assert trace.type == "scatter" and len(trace.x) == 120 and len(trace.text) == 120
    assert "120 of 300" in figure.layout.title.text
    assert figure.layout.xaxis.title.text == "PC 1"
    everything = P.embedding_figure(coords, T, max_points=None)
    np.testing.assert_allclose(everything.data[0].marker.color, T, atol=0.1)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        P.embedding_figure(coords[:, :1], T)
    with pytest.raises(ValueError, match="hover_text"):
        P.embedding_figure(coords, T, hover_text=["a"])
    heavy = np.arange(300) % 7 + 1
    by_size = P.embedding_figure(coords, heavy, max_points=None, color_label="heavy atoms")
    assert by_size.data[0].marker.colorbar.title.text == "heavy atoms"
    assert "heavy atoms = " in by_size.data[0].hovertemplate
    assert "kcal/mol" not in by_size.data[0].hovertemplate
    assert "kcal/mol" in everything.data[0].marker.colorbar.title.text


def test_spectrum_and_convergence_figures():
    figure = P.spectrum_figure({"a": [3.0, 2.0, 0.0, 0.0], "b": [1.0, -0.5, 0.2]})
    assert _types(figure) == ["scatter", "scatter"]
    assert [len(t.y) for t in figure.data] == [2, 3]  # trailing zeros (padding) dropped
    untrimmed = P.spectrum_figure({"a": [3.0, 0.0]}, trim_zeros=False)
    assert len(untrimmed.data[0].y) == 2
    with pytest.raises(ValueError, match="empty"):
        P.spectrum_figure({})
    changes = P.convergence_figure({"plain": [1.0, 0.1, 0.01], "shifted": [1.0, 1e-3]}, tol=1e-9)
    assert [t.name for t in changes.data] == ["plain", "shifted", "stopping threshold"]
    assert [len(t.y) for t in changes.data] == [3, 2, 2]
    assert list(changes.data[2].y) == [1e-9, 1e-9] and list(changes.data[2].x) == [1, 3]
    assert changes.layout.yaxis.type == "log"
    with pytest.raises(ValueError, match=">= 0"):
        P.convergence_figure({"bad": [-1.0]})


@pytest.mark.parametrize("layout", ["kamada_kawai", "projection"])
def test_graph_figure_draws_bonds_and_atoms(layout):
    Z, R = benzene()
    figure = P.graph_figure(Z, R, layout=layout)
    assert _types(figure) == ["scatter", "scatter"]
    bonds, atoms = figure.data
    assert _bond_count(bonds) == 12
    assert list(atoms.text) == ["C"] * 6 + ["H"] * 6
    values = np.linspace(0, 1, 12)
    coloured = P.graph_figure(Z, R, atom_values=values, value_label="centrality", layout=layout)
    np.testing.assert_allclose(coloured.data[1].marker.color, values, rtol=1e-6)
    assert "centrality: " in coloured.data[1].customdata[0]


def test_graph_figure_projection_keeps_distances_of_a_planar_molecule():
    Z, R = benzene()
    atoms = P.graph_figure(Z, R, layout="projection").data[1]
    xy = np.stack([np.asarray(atoms.x, dtype=float), np.asarray(atoms.y, dtype=float)], axis=1)
    np.testing.assert_allclose(np.linalg.norm(xy[0] - xy[1]), 1.39, atol=2e-3)
    with pytest.raises(ValueError, match="layout"):
        P.graph_figure(Z, R, layout="circle")


def test_score_bars():
    table = pd.DataFrame({"mae": [10.0, 20.0], "mae_std": [1.0, 2.0]}, index=["a", "b"])
    figure = P.score_bars(table)
    (bars,) = figure.data
    assert bars.type == "bar" and list(bars.y) == ["a", "b"] and list(bars.x) == [10.0, 20.0]
    assert list(bars.error_x.array) == [1.0, 2.0]
    with pytest.raises(ValueError, match="no column"):
        P.score_bars(table, value="rmse")
