"""qm7utils.viz.distributions: energies, counts, composition and maps of the data set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qm7utils import viz


def _types(figure):
    return [trace.type for trace in figure.data]


@pytest.fixture
def energies():
    rng = np.random.default_rng(0)
    sizes = rng.integers(3, 8, size=300)
    return -200.0 * sizes + rng.normal(0, 20, size=300), sizes


def test_energy_histogram_stacks_one_trace_per_group(energies):
    T, sizes = energies
    single = viz.energy_histogram(T)
    assert _types(single) == ["histogram"] and len(single.data[0].x) == 300
    assert single.layout.xaxis.title.text == viz.ENERGY_LABEL
    grouped = viz.energy_histogram(T, groups=sizes, group_label="heavy atoms")
    assert [t.name for t in grouped.data] == ["3", "4", "5", "6", "7"]
    assert sum(len(t.x) for t in grouped.data) == 300
    assert grouped.layout.barmode == "stack"
    residuals = viz.energy_histogram(T - T.mean(), x_label="residual (kcal/mol)")
    assert residuals.layout.xaxis.title.text == "residual (kcal/mol)"
    with pytest.raises(ValueError, match="one label per molecule"):
        viz.energy_histogram(T, groups=sizes[:10])
    with pytest.raises(ValueError, match="NaN"):
        viz.energy_histogram([1.0, np.nan])


def test_energy_by_group_one_box_per_group_in_the_given_order(energies):
    T, sizes = energies
    figure = viz.energy_by_group(T, sizes, "heavy atoms", order=[7, 6, 5, 4, 3])
    assert _types(figure) == ["box"] * 5
    assert figure.data[0].name.startswith("7<br>n=")
    counts = [int(t.name.split("n=")[1]) for t in figure.data]
    assert counts == [int((sizes == k).sum()) for k in (7, 6, 5, 4, 3)]
    with pytest.raises(ValueError, match="misses group"):
        viz.energy_by_group(T, sizes, "heavy atoms", order=[3, 4])


def test_energy_scatter_groups_subsample_and_diagonal(energies):
    T, sizes = energies
    labels = np.where(sizes > 5, "big", "small")
    figure = viz.energy_scatter(sizes, T, "heavy atoms", groups=labels, max_points=100,
                              hover_text=[f"m{i}" for i in range(300)])
    assert _types(figure) == ["scatter", "scatter"]
    assert sum(len(t.x) for t in figure.data) == 100
    assert figure.layout.title.text.endswith("(100 of 300 molecules shown)")
    assert all(text.startswith("m") for text in figure.data[0].text)
    parity = viz.energy_scatter(T + 1.0, T, "predicted (kcal/mol)", diagonal=True)
    assert [t.name for t in parity.data] == ["molecules", "y = x"]
    assert len(parity.data[0].x) == 300
    with pytest.raises(ValueError, match="differ in length"):
        viz.energy_scatter(sizes[:5], T, "x")
    with pytest.raises(ValueError, match="max_points"):
        viz.energy_scatter(sizes, T, "x", max_points=0)


def test_count_bars():
    figure = viz.count_bars({"all atoms": [3, 3, 5], "heavy atoms": [1, 2, 2]}, "atoms")
    assert _types(figure) == ["bar", "bar"]
    assert list(figure.data[0].x) == [3, 5] and list(figure.data[0].y) == [2, 1]
    assert list(figure.data[1].y) == [1, 2]
    with pytest.raises(ValueError, match="empty"):
        viz.count_bars({}, "atoms")


def test_composition_figure():
    # What qm7utils composition_table gives for water, methane and methanol.
    table = pd.DataFrame({"atoms": [10, 2, 0, 2, 0], "molecules": [3, 2, 0, 2, 0]},
                         index=["H", "C", "N", "O", "S"])
    figure = viz.composition_figure(table)
    assert _types(figure) == ["bar", "bar"]
    assert list(figure.data[0].x) == ["H", "C", "N", "O", "S"]
    assert list(figure.data[0].y) == [2 + 4 + 4, 2, 0, 2, 0]
    assert list(figure.data[1].y) == [3, 2, 0, 2, 0]
    with pytest.raises(ValueError, match="composition_table"):
        viz.composition_figure(pd.DataFrame({"atoms": [1]}))


def test_embedding_figure_colours_by_energy_and_subsamples(energies):
    T, _ = energies
    coords = np.random.default_rng(1).normal(size=(300, 2))
    figure = viz.embedding_figure(coords, T, hover_text=[f"m{i}" for i in range(300)],
                                max_points=120, axis_titles=("PC 1", "PC 2"))
    (trace,) = figure.data
    assert trace.type == "scatter" and len(trace.x) == 120 and len(trace.text) == 120
    assert "120 of 300" in figure.layout.title.text
    assert figure.layout.xaxis.title.text == "PC 1"
    everything = viz.embedding_figure(coords, T, max_points=None)
    np.testing.assert_allclose(everything.data[0].marker.color, T, atol=0.1)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        viz.embedding_figure(coords[:, :1], T)
    with pytest.raises(ValueError, match="hover_text"):
        viz.embedding_figure(coords, T, hover_text=["a"])
    heavy = np.arange(300) % 7 + 1
    by_size = viz.embedding_figure(coords, heavy, max_points=None, color_label="heavy atoms")
    assert by_size.data[0].marker.colorbar.title.text == "heavy atoms"
    assert "heavy atoms = " in by_size.data[0].hovertemplate
    assert "kcal/mol" not in by_size.data[0].hovertemplate
    assert "kcal/mol" in everything.data[0].marker.colorbar.title.text
