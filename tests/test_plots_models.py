"""Figures of chapters 5-6 (qm7utils.plots, section "Chapters 5-6")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qm7utils import plots


def test_confusion_figure_counts_and_normalisation():
    y_true = [3, 3, 4, 4, 4, 5]
    y_pred = [3, 4, 4, 4, 5, 5]
    figure = plots.confusion_figure(y_true, y_pred)
    (heatmap,) = figure.data
    assert list(heatmap.x) == ["3", "4", "5"] and list(heatmap.y) == ["3", "4", "5"]
    np.testing.assert_array_equal(heatmap.z, [[1, 1, 0], [0, 2, 1], [0, 0, 1]])
    assert figure.layout.yaxis.title.text == "true class"
    normalised = np.asarray(plots.confusion_figure(y_true, y_pred, normalize=True).data[0].z)
    np.testing.assert_allclose(normalised.sum(axis=1), 1.0, atol=1e-3)
    # Explicit labels add empty rows and columns in the given order.
    wide = plots.confusion_figure(y_true, y_pred, labels=[2, 3, 4, 5, 6])
    assert np.asarray(wide.data[0].z).shape == (5, 5)
    assert np.asarray(wide.data[0].z)[0].sum() == 0
    with pytest.raises(ValueError, match="equal length"):
        plots.confusion_figure([1, 2], [1])


def test_residual_figure_plots_predicted_minus_true():
    y_true = np.array([-1000.0, -1500.0, -2000.0])
    y_pred = np.array([-1010.0, -1490.0, -2000.0])
    figure = plots.residual_figure(y_true, y_pred, hover=["a", "b", "c"])
    scatter = figure.data[0]
    np.testing.assert_allclose(scatter.x, y_true)
    np.testing.assert_allclose(scatter.y, [-10.0, 10.0, 0.0])
    assert list(scatter.text) == ["a", "b", "c"]
    assert "predicted - true" in figure.layout.yaxis.title.text
    with pytest.raises(ValueError, match="one label per point"):
        plots.residual_figure(y_true, y_pred, hover=["a"])
    assert not figure.layout.showlegend


def test_residual_figure_overlays_several_models():
    y_true = np.array([-1000.0, -1500.0])
    figure = plots.residual_figure(y_true, {"deck": y_true + [5.0, -5.0], "tuned": y_true + 1.0})
    assert [t.name for t in figure.data] == ["deck", "tuned"]
    np.testing.assert_allclose(figure.data[0].y, [5.0, -5.0])
    np.testing.assert_allclose(figure.data[1].y, [1.0, 1.0])
    assert figure.data[0].marker.color != figure.data[1].marker.color
    assert figure.layout.showlegend
    with pytest.raises(ValueError, match="non-empty"):
        plots.residual_figure(y_true, {})
    with pytest.raises(ValueError, match="equal length"):
        plots.residual_figure(y_true, {"short": [1.0]})


def test_residual_histogram_one_trace_per_model():
    figure = plots.residual_histogram({"a": [1.0, -1.0, 0.5], "b": np.zeros(4)}, bin_size=0.5)
    assert [t.name for t in figure.data] == ["a", "b"]
    assert figure.data[0].xbins.size == 0.5 and figure.layout.barmode == "overlay"
    with pytest.raises(ValueError, match="non-empty dict"):
        plots.residual_histogram({})
    with pytest.raises(ValueError, match="bin_size must be positive"):
        plots.residual_histogram({"a": [1.0]}, bin_size=0)


def test_importance_figure_shows_the_top_features_in_order():
    names = [f"f{i}" for i in range(10)]
    values = np.array([0.05, 0.3, 0.0, 0.1, 0.2, 0.01, 0.04, 0.15, 0.1, 0.05])
    figure = plots.importance_figure(names, values, top=3)
    bar = figure.data[0]
    assert list(bar.y) == ["f1", "f4", "f7"]
    np.testing.assert_allclose(bar.x, [0.3, 0.2, 0.15])
    assert len(plots.importance_figure(names, values, top=50).data[0].y) == 10
    with pytest.raises(ValueError, match="differ in length"):
        plots.importance_figure(names[:3], values)
    with pytest.raises(ValueError, match="top must be a positive integer"):
        plots.importance_figure(names, values, top=0)


def test_search_history_best_so_far_is_the_running_minimum():
    trials = pd.DataFrame({"dev_mae": [5.0, 6.0, 4.0, 4.5, 3.0]})
    figure = plots.search_history(trials)
    assert [t.name for t in figure.data] == ["trial", "best so far"]
    np.testing.assert_allclose(figure.data[1].y, [5.0, 5.0, 4.0, 4.0, 3.0])
    with pytest.raises(ValueError, match="no column 'mae'"):
        plots.search_history(trials, value="mae")
