"""qm7utils.viz.diagnostics: parity, residuals, confusion, importances, training, search."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from qm7utils import viz


def test_confusion_figure_counts_and_normalisation():
    y_true = [3, 3, 4, 4, 4, 5]
    y_pred = [3, 4, 4, 4, 5, 5]
    figure = viz.confusion_figure(y_true, y_pred)
    (heatmap,) = figure.data
    assert list(heatmap.x) == ["3", "4", "5"] and list(heatmap.y) == ["3", "4", "5"]
    np.testing.assert_array_equal(heatmap.z, [[1, 1, 0], [0, 2, 1], [0, 0, 1]])
    assert figure.layout.yaxis.title.text == "true class"
    normalised = np.asarray(viz.confusion_figure(y_true, y_pred, normalize=True).data[0].z)
    np.testing.assert_allclose(normalised.sum(axis=1), 1.0, atol=1e-3)
    # Explicit labels add empty rows and columns in the given order.
    wide = viz.confusion_figure(y_true, y_pred, labels=[2, 3, 4, 5, 6])
    assert np.asarray(wide.data[0].z).shape == (5, 5)
    assert np.asarray(wide.data[0].z)[0].sum() == 0
    with pytest.raises(ValueError, match="equal length"):
        viz.confusion_figure([1, 2], [1])


def test_residual_figure_plots_predicted_minus_true():
    y_true = np.array([-1000.0, -1500.0, -2000.0])
    y_pred = np.array([-1010.0, -1490.0, -2000.0])
    figure = viz.residual_figure(y_true, y_pred, hover=["a", "b", "c"])
    scatter = figure.data[0]
    np.testing.assert_allclose(scatter.x, y_true)
    np.testing.assert_allclose(scatter.y, [-10.0, 10.0, 0.0])
    assert list(scatter.text) == ["a", "b", "c"]
    assert "predicted - true" in figure.layout.yaxis.title.text
    with pytest.raises(ValueError, match="one label per point"):
        viz.residual_figure(y_true, y_pred, hover=["a"])
    assert not figure.layout.showlegend


def test_residual_figure_overlays_several_models():
    y_true = np.array([-1000.0, -1500.0])
    figure = viz.residual_figure(y_true, {"deck": y_true + [5.0, -5.0], "tuned": y_true + 1.0})
    assert [t.name for t in figure.data] == ["deck", "tuned"]
    np.testing.assert_allclose(figure.data[0].y, [5.0, -5.0])
    np.testing.assert_allclose(figure.data[1].y, [1.0, 1.0])
    assert figure.data[0].marker.color != figure.data[1].marker.color
    assert figure.layout.showlegend
    with pytest.raises(ValueError, match="non-empty"):
        viz.residual_figure(y_true, {})
    with pytest.raises(ValueError, match="equal length"):
        viz.residual_figure(y_true, {"short": [1.0]})


def test_residual_histogram_one_trace_per_model():
    figure = viz.residual_histogram({"a": [1.0, -1.0, 0.5], "b": np.zeros(4)}, bin_size=0.5)
    assert [t.name for t in figure.data] == ["a", "b"]
    assert figure.data[0].xbins.size == 0.5 and figure.layout.barmode == "overlay"
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.residual_histogram({})
    with pytest.raises(ValueError, match="bin_size must be positive"):
        viz.residual_histogram({"a": [1.0]}, bin_size=0)


def test_importance_figure_shows_the_top_features_in_order():
    names = [f"f{i}" for i in range(10)]
    values = np.array([0.05, 0.3, 0.0, 0.1, 0.2, 0.01, 0.04, 0.15, 0.1, 0.05])
    figure = viz.importance_figure(names, values, top=3)
    bar = figure.data[0]
    assert list(bar.y) == ["f1", "f4", "f7"]
    np.testing.assert_allclose(bar.x, [0.3, 0.2, 0.15])
    assert len(viz.importance_figure(names, values, top=50).data[0].y) == 10
    with pytest.raises(ValueError, match="differ in length"):
        viz.importance_figure(names[:3], values)
    with pytest.raises(ValueError, match="top must be a positive integer"):
        viz.importance_figure(names, values, top=0)


def test_search_history_best_so_far_is_the_running_minimum():
    trials = pd.DataFrame({"validation_mae": [5.0, 6.0, 4.0, 4.5, 3.0]})
    figure = viz.search_history(trials)
    assert [t.name for t in figure.data] == ["trial", "best so far"]
    np.testing.assert_allclose(figure.data[1].y, [5.0, 5.0, 4.0, 4.0, 3.0])
    with pytest.raises(ValueError, match="no column 'mae'"):
        viz.search_history(trials, value="mae")


def test_error_surface_lays_out_the_grid_and_marks_the_choice():
    surface = np.array([[5.0, 4.0], [3.0, np.inf], [3.5, 3.6]])
    figure = viz.error_surface(surface, [100, 200, 400], [1e-8, 1e-3], chosen=(200, 1e-8))
    heat = figure.data[0]
    assert list(heat.x) == ["100", "200", "400"] and list(heat.y) == ["1e-08", "1e-03"]
    # Rows of z are regularizations, columns widths; a failed fit shows as a gap.
    assert list(heat.z[0]) == [5.0, 3.0, 3.5] and heat.z[1][1] is None
    assert heat.text[1][1] == "failed"
    marker = figure.data[1]
    assert list(marker.x) == ["200"] and list(marker.y) == ["1e-08"]
    with pytest.raises(ValueError, match="shape"):
        viz.error_surface(surface, [1, 2], [1e-8, 1e-3])


def _curve():
    rows = []
    for model, scale in (("CM", 40.0), ("BoB", 20.0)):
        for fold in range(5):
            for n in (100, 400, 1600, 6400):
                rows.append({"model": model, "fold": fold, "n_train": n,
                             "mae": scale * n**-0.5 * (1 + 0.01 * fold)})
    return pd.DataFrame(rows)


def test_learning_curves_are_log_log_with_fitted_slopes():
    figure = viz.learning_curve_figure(_curve())
    assert figure.layout.xaxis.type == "log" and figure.layout.yaxis.type == "log"
    assert [t.name for t in figure.data] == ["CM (slope 0.50)", "BoB (slope 0.50)"]
    cm = figure.data[0]
    assert list(cm.x) == [100, 400, 1600, 6400]
    assert cm.y[0] == pytest.approx(40.0 / 10 * 1.02, abs=1e-3)  # mean over the folds
    assert cm.error_y.array[0] > 0
    assert figure.layout.shapes  # the chemical-accuracy line
    # ... labelled at its height: on a log axis annotations use log10 of the value.
    assert figure.layout.annotations[0].y == pytest.approx(0.0)
    with pytest.raises(ValueError, match="lacks column"):
        viz.learning_curve_figure(pd.DataFrame({"n_train": [1], "mae": [1.0]}))


def test_convergence_figure():
    changes = viz.convergence_figure({"plain": [1.0, 0.1, 0.01], "shifted": [1.0, 1e-3]}, tol=1e-9)
    assert [t.name for t in changes.data] == ["plain", "shifted", "stopping threshold"]
    assert [len(t.y) for t in changes.data] == [3, 2, 2]
    assert list(changes.data[2].y) == [1e-9, 1e-9] and list(changes.data[2].x) == [1, 3]
    assert changes.layout.yaxis.type == "log"
    with pytest.raises(ValueError, match=">= 0"):
        viz.convergence_figure({"bad": [-1.0]})


def _log(name, train_mae, val_mae=(), best_epoch=None):
    """A stand-in for qm7utils' TrainingLog: what training_curves reads."""
    return SimpleNamespace(name=name, train_mae=list(train_mae), val_mae=list(val_mae),
                           best_epoch=best_epoch)


def test_training_curves_mark_the_kept_epoch():
    figure = viz.training_curves([_log("a", [3.0, 2.0], [3.5, 2.5]), _log("b", [4.0])])
    assert [trace.name for trace in figure.data] == ["a (train)", "a (validation)", "b (train)"]
    assert figure.layout.yaxis.type == "log"
    # Runs differ in colour and marker shape; train and validation of a run share both.
    symbols = [trace.marker.symbol for trace in figure.data]
    assert symbols[0] == symbols[1] != symbols[2]
    assert figure.data[0].line.color != figure.data[2].line.color
    with pytest.raises(ValueError, match="empty"):
        viz.training_curves([])
    with pytest.raises(ValueError, match="no attribute 'val_mae'"):
        viz.training_curves([SimpleNamespace(name="x", train_mae=[1.0])])
    kept = _log("c", [3.0, 2.0, 1.5], [4.0, 2.5, 3.0], best_epoch=2)
    star = viz.training_curves([kept]).data[-1]
    assert star.name == "c (kept: epoch 2)" and star.marker.symbol == "star"
    assert (list(star.x), list(star.y)) == ([2], [2.5])


def test_cnn_parity_gives_each_model_its_mae_colour_and_shape():
    parity = viz.cnn_parity([1.0, 2.0], {"m": [1.5, 2.5], "n": [1.0, 2.0]})
    assert [t.name for t in parity.data] == ["m (MAE 0.5)", "n (MAE 0.0)", "exact"]
    assert parity.data[0].marker.symbol != parity.data[1].marker.symbol
    assert parity.data[0].marker.color != parity.data[1].marker.color
    with pytest.raises(ValueError, match="has 1 values"):
        viz.cnn_parity([1.0, 2.0], {"m": [1.0]})
    with pytest.raises(ValueError, match="empty"):
        viz.cnn_parity([1.0, 2.0], {})
