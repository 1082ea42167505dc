"""Figures that diagnose a model: parity, residuals, confusion, importances, training and search.

Each category (a model, a run) has its own colour and marker shape from
:mod:`qm7utils.viz.style`.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..evaluation import extrapolate_learning_curve
from .style import (
    BOND_COLOR,
    CHEMICAL_ACCURACY,
    PALETTE,
    category_bar,
    category_color,
    category_marker,
)

__all__ = [
    "cnn_parity",
    "confusion_figure",
    "convergence_figure",
    "error_surface",
    "importance_figure",
    "learning_curve_figure",
    "residual_figure",
    "residual_histogram",
    "search_history",
    "training_curves",
]


def _paired(y_true, y_pred, what: str = "predictions"):
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty and of equal length, got {y_true.size} and "
            f"{y_pred.size} {what}"
        )
    return y_true, y_pred


def cnn_parity(y_true, predictions: dict, title: str | None = None,
               unit: str = "kcal/mol") -> go.Figure:
    """Predicted against true energies for one or more models, with the diagonal.

    Parameters
    ----------
    y_true : array_like (n,)
        True energies.
    predictions : dict of str -> array_like (n,)
        Predictions of each model on the same molecules; the legend shows each model's MAE.
    title : str, optional
    unit : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    y_true = np.asarray(y_true, dtype=float).ravel()
    if not predictions:
        raise ValueError("predictions is empty: pass {model name: predictions}")
    figure = go.Figure()
    for i, (name, values) in enumerate(predictions.items()):
        values = np.asarray(values, dtype=float).ravel()
        if values.shape != y_true.shape:
            raise ValueError(
                f"predictions[{name!r}] has {values.size} values, y_true has {y_true.size}"
            )
        mae = float(np.mean(np.abs(values - y_true)))
        figure.add_trace(go.Scattergl(
            x=y_true.round(2).tolist(), y=values.round(2).tolist(), mode="markers",
            name=f"{name} (MAE {mae:.1f})",
            marker=category_marker(i, size=4, opacity=0.6),
            hovertemplate=f"{name}<br>true %{{x:.1f}}<br>predicted %{{y:.1f}}<extra></extra>",
        ))
    low, high = float(y_true.min()), float(y_true.max())
    figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="exact",
                                line={"color": BOND_COLOR, "dash": "dot"}, hoverinfo="skip"))
    figure.update_layout(
        title={"text": title or "Predicted against true energies"},
        xaxis_title=f"true energy ({unit})", yaxis_title=f"predicted energy ({unit})",
        height=480, legend={"font": {"size": 11}},
    )
    return figure


def residual_figure(y_true, y_pred, hover=None, title: str | None = None,
                    unit: str = "kcal/mol") -> go.Figure:
    """Residuals (predicted minus true) against the true value, with a zero line.

    A good model scatters evenly around zero at every energy; a trend or a funnel shape
    shows what the model misses.

    Parameters
    ----------
    y_true : array_like
        True values.
    y_pred : array_like or dict
        Predicted values, or ``{model name: predicted values}`` to overlay several models
        (one colour each, the first drawn at the back).
    hover : sequence of str, optional
        One label per point (e.g. index and formula).
    title : str, optional
    unit : str
        Unit of both axes.

    Returns
    -------
    plotly.graph_objects.Figure with one ``Scattergl`` trace of residuals per model.
    """
    models = dict(y_pred) if isinstance(y_pred, dict) else {"residual": y_pred}
    if not models:
        raise ValueError("y_pred must be an array or a non-empty {model name: predictions}")
    y_true = np.asarray(y_true).ravel()
    if hover is not None and len(hover) != len(y_true):
        raise ValueError(f"hover must have one label per point ({len(y_true)}), got {len(hover)}")
    figure = go.Figure()
    for i, (name, predicted) in enumerate(models.items()):
        truth, predicted = _paired(y_true, predicted)
        figure.add_trace(go.Scattergl(
            x=truth.round(2).tolist(), y=(predicted - truth).round(2).tolist(), mode="markers",
            marker=category_marker(i, size=5, opacity=0.6),
            text=list(hover) if hover is not None else None, name=name,
            hovertemplate=(("%{text}<br>" if hover is not None else "")
                           + "true %{x:.1f}, residual %{y:.1f}<extra>" + name + "</extra>"),
        ))
    figure.add_hline(y=0, line={"color": "#444", "width": 1})
    figure.update_layout(
        title={"text": title or "residuals"}, showlegend=len(models) > 1,
        xaxis_title=f"true value ({unit})", yaxis_title=f"predicted - true ({unit})", height=420,
    )
    return figure


def residual_histogram(residuals, bin_size: float = 1.0, title: str | None = None,
                       unit: str = "kcal/mol") -> go.Figure:
    """Overlaid distributions of the residuals of one or more models.

    Parameters
    ----------
    residuals : dict
        Model name -> residuals (predicted minus true).
    bin_size : float
        Histogram bin width in ``unit``.
    title : str, optional
    unit : str

    Returns
    -------
    plotly.graph_objects.Figure with one ``Histogram`` trace per model.
    """
    if not isinstance(residuals, dict) or not residuals:
        raise ValueError("residuals must be a non-empty dict: model name -> residuals")
    if not bin_size > 0:
        raise ValueError(f"bin_size must be positive, got {bin_size}")
    figure = go.Figure()
    for i, (name, values) in enumerate(residuals.items()):
        values = np.asarray(values, dtype=float).ravel()
        figure.add_trace(
            go.Histogram(x=values.round(2).tolist(), name=str(name), opacity=0.6,
                         xbins={"size": bin_size}, histnorm="probability density",
                         marker=category_bar(i))
        )
    figure.update_layout(
        barmode="overlay", title={"text": title or "residual distribution"},
        xaxis_title=f"predicted - true ({unit})", yaxis_title="density", height=400,
    )
    return figure


def confusion_figure(y_true, y_pred, labels=None, normalize: bool = False,
                     title: str | None = None) -> go.Figure:
    """Confusion matrix of class predictions as an annotated heatmap.

    Rows are the true classes, columns the predicted ones; the diagonal holds the correct
    predictions. With ordered classes (energy bins), errors next to the diagonal are near
    misses.

    Parameters
    ----------
    y_true, y_pred : array_like
        True and predicted classes.
    labels : sequence, optional
        Classes in display order (default: every class in either array, sorted).
    normalize : bool
        Show each row as fractions of its true class (the diagonal is then the recall).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure with one ``Heatmap`` trace (``z`` = counts or fractions).
    """
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = _paired(y_true, y_pred)
    labels = np.union1d(y_true, y_pred) if labels is None else np.asarray(labels)
    counts = confusion_matrix(y_true, y_pred, labels=labels)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        z = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0).round(3)
        text = [[f"{v:.2f}" if v else "" for v in row] for row in z]
        colorbar = "share of true class"
    else:
        z = counts
        text = [[str(v) if v else "" for v in row] for row in counts]
        colorbar = "molecules"
    names = [str(v) for v in labels]
    figure = go.Figure(
        go.Heatmap(
            z=z.tolist(), x=names, y=names, text=text, texttemplate="%{text}",
            colorscale="Blues", colorbar={"title": {"text": colorbar}},
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    figure.update_layout(
        title={"text": title or "confusion matrix"},
        xaxis={"title": {"text": "predicted class"}, "type": "category"},
        yaxis={"title": {"text": "true class"}, "type": "category", "autorange": "reversed"},
        height=520, width=600,
    )
    return figure


def importance_figure(names, importances, top: int = 20, title: str | None = None,
                      x_label: str = "importance (gain share)") -> go.Figure:
    """The ``top`` most important features as horizontal bars, most important on top.

    Parameters
    ----------
    names : sequence of str
        Feature names.
    importances : array_like
        One non-negative value per feature (e.g. ``model.feature_importances_``).
    top : int
        Number of bars.
    title : str, optional
    x_label : str

    Returns
    -------
    plotly.graph_objects.Figure with one ``Bar`` trace.
    """
    names = [str(n) for n in names]
    importances = np.asarray(importances, dtype=float).ravel()
    if len(names) != importances.size:
        raise ValueError(
            f"names and importances differ in length: {len(names)} vs {importances.size}"
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive integer, got {top!r}")
    order = np.argsort(-importances, kind="stable")[:top]
    figure = go.Figure(
        go.Bar(y=[names[i] for i in order], x=importances[order].round(4).tolist(),
               orientation="h", marker={"color": PALETTE[0]},
               hovertemplate="%{y}: %{x:.3f}<extra></extra>")
    )
    figure.update_layout(
        title={"text": title or "feature importance"}, xaxis_title=x_label,
        yaxis={"autorange": "reversed"}, height=max(300, 80 + 22 * len(order)),
    )
    return figure


def training_curves(logs, title: str | None = None, log_y: bool = True,
                    y_label: str = "MAE (kcal/mol)") -> go.Figure:
    """Mean absolute error per epoch of training runs: training solid, validation dashed.

    A run whose log has a ``best_epoch`` (early stopping, or keeping the best epoch's weights)
    gets a star on its validation curve at that epoch: the weights the model kept.

    Parameters
    ----------
    logs : sequence of objects with ``name``, ``train_mae`` and ``val_mae`` (lists of floats;
        ``val_mae`` may be empty), e.g. :class:`qm7utils.models.training.TrainingLog`; an optional
        ``best_epoch`` (1-based int or None) marks the kept epoch.
    title : str, optional
    log_y : bool
        Logarithmic error axis (errors fall by orders of magnitude in the first epochs).
    y_label : str
        Quantity and unit of the curves.

    Returns
    -------
    plotly.graph_objects.Figure, two traces per run at most.
    """
    logs = list(logs)
    if not logs:
        raise ValueError("logs is empty: pass at least one training log")
    figure = go.Figure()
    for i, log in enumerate(logs):
        for attribute in ("name", "train_mae", "val_mae"):
            if not hasattr(log, attribute):
                raise ValueError(f"logs[{i}] has no attribute {attribute!r} (pass TrainingLogs)")
        color = category_color(i)
        for values, kind, dash in ((log.train_mae, "train", "solid"),
                                   (log.val_mae, "validation", "dash")):
            if len(values) == 0:
                continue
            figure.add_trace(go.Scatter(
                x=list(range(1, len(values) + 1)), y=[round(float(v), 3) for v in values],
                mode="lines+markers" if len(values) <= 30 else "lines",
                name=f"{log.name} ({kind})", legendgroup=log.name,
                line={"color": color, "dash": dash}, marker=category_marker(i, size=5),
                hovertemplate=f"{log.name}, {kind}<br>epoch %{{x}}: %{{y:.2f}}<extra></extra>",
            ))
        best = getattr(log, "best_epoch", None)
        if best is not None and 1 <= best <= len(log.val_mae):
            figure.add_trace(go.Scatter(
                x=[best], y=[round(float(log.val_mae[best - 1]), 3)], mode="markers",
                name=f"{log.name} (kept: epoch {best})", legendgroup=log.name,
                marker={"color": color, "size": 14, "symbol": "star",
                        "line": {"color": "white", "width": 1}},
                hovertemplate=f"{log.name}: weights kept from epoch {best}<br>"
                              "%{y:.2f}<extra></extra>",
            ))
    figure.update_layout(
        title={"text": title or "Training curves"}, xaxis_title="epoch", yaxis_title=y_label,
        height=440, legend={"font": {"size": 11}},
    )
    if log_y:
        figure.update_yaxes(type="log")
    return figure


def error_surface(surface, sigmas, regularizations, chosen=None, title: str | None = None,
                  sigma_label: str = "kernel width σ") -> go.Figure:
    """Validation MAE over a grid of kernel widths and regularizations, as a heatmap.

    Parameters
    ----------
    surface : array of shape (len(sigmas), len(regularizations))
        Validation MAE (kcal/mol), e.g. one fold's surface of chapter 9's search; ``inf``
        marks a failed fit.
    sigmas, regularizations : sequences of float
        The grid.
    chosen : (sigma, regularization), optional
        Marks the pair that was selected.
    title : str, optional
    sigma_label : str
        Axis title of the widths (name the unit of the features).

    Returns
    -------
    plotly.graph_objects.Figure with one ``Heatmap`` trace (x: widths, y: regularizations).
    """
    surface = np.asarray(surface, dtype=float)
    if surface.shape != (len(sigmas), len(regularizations)):
        raise ValueError(
            f"surface must have shape (len(sigmas), len(regularizations)) = "
            f"({len(sigmas)}, {len(regularizations)}), got {surface.shape}"
        )
    x = [f"{s:g}" for s in sigmas]
    y = [f"{r:.0e}" for r in regularizations]
    z = np.where(np.isfinite(surface), surface, np.nan).T.round(2)
    text = [["failed" if np.isnan(v) else f"{v:.2f}" for v in row] for row in z]
    figure = go.Figure(
        go.Heatmap(
            z=[[None if np.isnan(v) else float(v) for v in row] for row in z], x=x, y=y,
            text=text, texttemplate="%{text}", colorscale="Viridis", reversescale=True,
            colorbar={"title": {"text": "MAE (kcal/mol)"}},
            hovertemplate="σ = %{x}, λ = %{y}: MAE %{text}<extra></extra>",
        )
    )
    if chosen is not None:
        sigma, lam = chosen
        figure.add_trace(go.Scatter(
            x=[f"{sigma:g}"], y=[f"{lam:.0e}"], mode="markers", name="chosen",
            marker={"symbol": "square-open", "size": 34, "color": PALETTE[3],
                    "line": {"width": 3}},
            hoverinfo="skip", showlegend=False,
        ))
    figure.update_layout(
        title={"text": title or "Validation error over the hyper-parameter grid"},
        xaxis={"title": {"text": sigma_label}, "type": "category"},
        yaxis={"title": {"text": "regularization λ"}, "type": "category"},
        height=420,
    )
    return figure


def learning_curve_figure(curve, title: str | None = None,
                          target: float | None = CHEMICAL_ACCURACY) -> go.Figure:
    """Test MAE against training-set size on log-log axes, one line per model.

    Points are the mean over the folds, error bars their standard deviation. On log-log axes a
    learning curve of a kernel model is close to a straight line, ``MAE ~ N^(-slope)``; the
    legend gives each model's slope, fitted on its larger half of the sizes
    (:func:`qm7utils.evaluation.extrapolate_learning_curve`).

    Parameters
    ----------
    curve : pandas.DataFrame
        Columns ``model``, ``n_train``, ``mae`` (one row per fold and size, as from
        ``learning_curve`` of chapter 9).
    title : str, optional
    target : float or None
        A dashed line at this MAE (chemical accuracy, 1 kcal/mol, by default).

    Returns
    -------
    plotly.graph_objects.Figure with one ``Scatter`` trace per model.
    """
    columns = list(getattr(curve, "columns", []))
    missing = [c for c in ("model", "n_train", "mae") if c not in columns]
    if missing:
        raise ValueError(f"curve lacks column(s) {missing}; its columns are {columns}")
    if not len(curve):
        raise ValueError("curve is empty")
    stats = curve.groupby(["model", "n_train"], sort=False).mae.agg(["mean", "std"]).reset_index()
    figure = go.Figure()
    for i, (model, part) in enumerate(stats.groupby("model", sort=False)):
        part = part.sort_values("n_train")
        label = str(model)
        try:
            slope, _ = extrapolate_learning_curve(part.n_train, part["mean"], target=1.0)
            label += f" (slope {slope:.2f})"
        except ValueError:  # too few sizes to fit a line, or a curve that does not fall
            pass
        std = part["std"].fillna(0.0)
        figure.add_trace(go.Scatter(
            x=part.n_train.tolist(), y=part["mean"].round(3).tolist(), mode="lines+markers",
            name=label, error_y={"type": "data", "array": std.round(3).tolist()},
            line={"color": category_color(i)}, marker=category_marker(i, size=8),
            hovertemplate=f"{model}<br>N = %{{x}}<br>MAE %{{y:.2f}} kcal/mol<extra></extra>",
        ))
    if target is not None:
        figure.add_hline(y=target, line={"color": "#444", "dash": "dash", "width": 1})
        # On a log axis an annotation's y is log10 of the value (add_hline's own label is not).
        figure.add_annotation(x=0.01, xref="paper", y=float(np.log10(target)), yref="y",
                              text=f"chemical accuracy ({target:g} kcal/mol)", showarrow=False,
                              xanchor="left", yanchor="top", font={"size": 11, "color": "#444"})
    figure.update_layout(
        title={"text": title or "Learning curves"},
        xaxis={"title": {"text": "training molecules N"}, "type": "log"},
        yaxis={"title": {"text": "test MAE (kcal/mol)"}, "type": "log"},
        height=520, legend={"font": {"size": 11}, "orientation": "h", "y": -0.2},
    )
    return figure


def search_history(trials, value: str = "validation_mae", title: str | None = None,
                   y_label: str = "validation MAE (kcal/mol)") -> go.Figure:
    """Score of each trial of a hyper-parameter search, and the best score so far.

    Parameters
    ----------
    trials : pandas.DataFrame
        One row per trial in order (e.g. ``tune_xgboost(...).trials``).
    value : str
        Column with the score (lower is better).
    title : str, optional
    y_label : str

    Returns
    -------
    plotly.graph_objects.Figure: ``trial`` markers and a ``best so far`` line.
    """
    if value not in getattr(trials, "columns", []):
        raise ValueError(f"trials has no column {value!r}")
    scores = np.asarray(trials[value], dtype=float)
    x = list(range(len(scores)))
    figure = go.Figure(
        [
            go.Scatter(x=x, y=scores.round(3).tolist(), mode="markers", name="trial",
                       marker={"color": PALETTE[0], "size": 8}),
            go.Scatter(x=x, y=np.minimum.accumulate(scores).round(3).tolist(), mode="lines",
                       name="best so far", line={"color": PALETTE[1], "shape": "hv"}),
        ]
    )
    figure.update_layout(title={"text": title or "search history"}, xaxis_title="trial",
                         yaxis_title=y_label, height=380)
    return figure


def convergence_figure(changes, title: str | None = None, tol: float | None = None):
    """How fast iterations converge: the change per step, on a log scale.

    Parameters
    ----------
    changes : mapping of name to array
        For each run, the change :math:`\\lVert x_k - x_{k-1} \\rVert_1` after step k.
    title : str, optional
    tol : float, optional
        Draw the stopping threshold as a horizontal line.

    Returns
    -------
    plotly.graph_objects.Figure with one ``Scatter`` trace per run, plus a dotted
    ``stopping threshold`` line when ``tol`` is given.
    """
    if not changes:
        raise ValueError("changes is empty: pass {name: values}")
    figure = go.Figure()
    for i, (name, values) in enumerate(changes.items()):
        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size == 0 or np.any(values < 0):
            raise ValueError(f"{name!r}: changes must be a non-empty array of values >= 0")
        figure.add_trace(
            go.Scatter(x=np.arange(1, values.size + 1).tolist(),
                       y=np.maximum(values, 1e-17).astype(np.float32), mode="lines+markers",
                       name=str(name), line={"color": category_color(i)},
                       marker=category_marker(i, size=7, maxdisplayed=20))
        )
    if tol is not None:
        longest = max(len(trace.y) for trace in figure.data)
        figure.add_trace(go.Scatter(x=[1, longest], y=[tol, tol], mode="lines",
                                    name="stopping threshold", hoverinfo="skip",
                                    line={"dash": "dot", "color": "#555555", "width": 1.5}))
    figure.update_layout(
        title={"text": title or "Convergence"}, xaxis_title="iteration",
        yaxis={"title": {"text": "change of x (L1 norm)"}, "type": "log",
               "exponentformat": "power"},
    )
    return figure
