"""Figures of chapters 8-9: error surface, learning curves, the comparison chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qm7utils import plots


def test_error_surface_lays_out_the_grid_and_marks_the_choice():
    surface = np.array([[5.0, 4.0], [3.0, np.inf], [3.5, 3.6]])
    figure = plots.error_surface(surface, [100, 200, 400], [1e-8, 1e-3], chosen=(200, 1e-8))
    heat = figure.data[0]
    assert list(heat.x) == ["100", "200", "400"] and list(heat.y) == ["1e-08", "1e-03"]
    # Rows of z are regularizations, columns widths; a failed fit shows as a gap.
    assert list(heat.z[0]) == [5.0, 3.0, 3.5] and heat.z[1][1] is None
    assert heat.text[1][1] == "failed"
    marker = figure.data[1]
    assert list(marker.x) == ["200"] and list(marker.y) == ["1e-08"]
    with pytest.raises(ValueError, match="shape"):
        plots.error_surface(surface, [1, 2], [1e-8, 1e-3])


def _curve():
    rows = []
    for model, scale in (("CM", 40.0), ("BoB", 20.0)):
        for fold in range(5):
            for n in (100, 400, 1600, 6400):
                rows.append({"model": model, "fold": fold, "n_train": n,
                             "mae": scale * n**-0.5 * (1 + 0.01 * fold)})
    return pd.DataFrame(rows)


def test_learning_curves_are_log_log_with_fitted_slopes():
    figure = plots.learning_curve_figure(_curve())
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
        plots.learning_curve_figure(pd.DataFrame({"n_train": [1], "mae": [1.0]}))


def _table():
    return pd.DataFrame({
        "model": ["KRR FCHL19", "KRR sorted CM", "Rupp 2012", "Himmetoglu 2016"],
        "mae": [0.9, 3.8, 10.0, 41.81],
        "std": [0.05, 0.1, np.nan, np.nan],
        "source": ["this book", "this book", "published", "published"],
        "our_protocol": [True, True, True, False],
        "protocol": ["P folds", "P folds", "random CV", "other data set"],
    })


def test_comparison_groups_bars_by_source_and_protocol():
    figure = plots.comparison_figure(_table())
    names = [t.name for t in figure.data]
    assert names == ["this book, P folds", "published, P folds",
                     "published, other protocol or data"]
    assert figure.data[0].y == ("KRR FCHL19", "KRR sorted CM")
    assert figure.data[0].error_x.array == (0.05, 0.1)
    assert figure.data[2].customdata == ("other data set",)
    assert figure.layout.xaxis.type == "log"
    low, high = figure.layout.xaxis.range
    assert 10**low < 0.9 / 1.4 and 10**high > 41.81  # every bar starts left of its value
    assert figure.layout.annotations[0].x == pytest.approx(0.0)  # 1 kcal/mol, log10 units
    assert list(figure.layout.yaxis.categoryarray) == ["KRR FCHL19", "KRR sorted CM", "Rupp 2012",
                                                        "Himmetoglu 2016"]


def test_comparison_refuses_bad_tables():
    with pytest.raises(ValueError, match="lacks column"):
        plots.comparison_figure(_table().drop(columns="protocol"))
    bad = _table()
    bad.loc[0, "source"] = "blog"
    with pytest.raises(ValueError, match="source"):
        plots.comparison_figure(bad)
    bad = _table()
    bad.loc[0, "mae"] = 0.0
    with pytest.raises(ValueError, match="positive"):
        plots.comparison_figure(bad)
