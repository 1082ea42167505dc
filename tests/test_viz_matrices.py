"""qm7utils.viz.matrices: heatmaps of matrices and spectra."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import methanol
from qm7utils import viz
from qm7utils.representations.coulomb import coulomb_matrix


def _types(figure):
    return [trace.type for trace in figure.data]


def test_coulomb_heatmaps_show_atom_order_and_sorted_order():
    Z, R = methanol()
    figure = viz.coulomb_heatmaps(Z, R, norm="l1", log=False)
    assert _types(figure) == ["heatmap", "heatmap"]
    raw, ordered = figure.data
    assert list(raw.x) == ["C0", "O1", "H2", "H3", "H4", "H5"]
    assert list(ordered.x)[:2] == ["O1", "C0"]  # oxygen has the largest row sum
    C = coulomb_matrix(Z, R)
    np.testing.assert_allclose(np.asarray(raw.z, dtype=float), C, atol=1e-4)
    assert np.asarray(ordered.z).shape == (6, 6)
    # Log colours keep the true value in the hover text.
    logged = viz.coulomb_heatmaps(Z, R)
    np.testing.assert_allclose(np.asarray(logged.data[0].z, dtype=float), np.log10(C), atol=1e-4)
    assert float(logged.data[0].customdata[1][1]) == pytest.approx(C[1, 1], rel=1e-3)
    with pytest.raises(ValueError, match="norm"):
        viz.coulomb_heatmaps(Z, R, norm="max")


def test_matrix_heatmaps_validate_shapes_labels_and_signs():
    figure = viz.matrix_heatmaps([np.eye(3), np.ones((2, 2))], ["a", "b"], colorbar_title="unit")
    assert _types(figure) == ["heatmap", "heatmap"]
    assert figure.layout.coloraxis.colorbar.title.text == "unit"
    with pytest.raises(ValueError, match="square"):
        viz.matrix_heatmaps([np.ones((2, 3))], ["a"])
    with pytest.raises(ValueError, match="one title per matrix"):
        viz.matrix_heatmaps([np.eye(2)], ["a", "b"])
    with pytest.raises(ValueError, match="unique"):
        viz.matrix_heatmaps([np.eye(2)], ["a"], labels=[["H", "H"]])
    with pytest.raises(ValueError, match="non-negative"):
        viz.matrix_heatmaps([-np.eye(2)], ["a"], log=True)


def test_spectrum_figure():
    figure = viz.spectrum_figure({"a": [3.0, 2.0, 0.0, 0.0], "b": [1.0, -0.5, 0.2]})
    assert _types(figure) == ["scatter", "scatter"]
    assert [len(t.y) for t in figure.data] == [2, 3]  # trailing zeros (padding) dropped
    untrimmed = viz.spectrum_figure({"a": [3.0, 0.0]}, trim_zeros=False)
    assert len(untrimmed.data[0].y) == 2
    with pytest.raises(ValueError, match="empty"):
        viz.spectrum_figure({})
