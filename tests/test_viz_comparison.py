"""qm7utils.viz.comparison: a score per model, and the closing comparison chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qm7utils import viz


def test_score_bars():
    table = pd.DataFrame({"mae": [10.0, 20.0], "mae_std": [1.0, 2.0]}, index=["a", "b"])
    figure = viz.score_bars(table)
    (bars,) = figure.data
    assert bars.type == "bar" and list(bars.y) == ["a", "b"] and list(bars.x) == [10.0, 20.0]
    assert list(bars.error_x.array) == [1.0, 2.0]
    with pytest.raises(ValueError, match="no column"):
        viz.score_bars(table, value="rmse")


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
    figure = viz.comparison_figure(_table())
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
        viz.comparison_figure(_table().drop(columns="protocol"))
    bad = _table()
    bad.loc[0, "source"] = "blog"
    with pytest.raises(ValueError, match="source"):
        viz.comparison_figure(bad)
    bad = _table()
    bad.loc[0, "mae"] = 0.0
    with pytest.raises(ValueError, match="positive"):
        viz.comparison_figure(bad)
