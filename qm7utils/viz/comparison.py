"""Figures that compare models: one score per model, and the book's closing comparison."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .style import CHEMICAL_ACCURACY, MUTED, PALETTE

__all__ = ["comparison_figure", "score_bars"]

#: Bar colours of :func:`comparison_figure` by (source, standard protocol?): the book's results
#: blue (dark on the P folds, light on other splits), published ones orange on the P folds and
#: grey (not comparable) on other protocols or data.
_COMPARISON_COLORS = {
    ("this book", True): PALETTE[0],
    ("this book", False): PALETTE[5],
    ("published", True): PALETTE[1],
    ("published", False): MUTED,
}


def score_bars(table, value: str = "mae", error: str | None = "mae_std",
               x_label: str = "MAE (kcal/mol)", title: str | None = None) -> go.Figure:
    """Horizontal bars of a score per row of a table (e.g. from ``compare_features``).

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by name (one bar each).
    value : str
        Column with the bar lengths.
    error : str or None
        Column with the error bars (e.g. the spread over folds).
    x_label : str
        Quantity and unit.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure with one ``Bar`` trace.
    """
    columns = list(getattr(table, "columns", []))
    for column in (value, error):
        if column is not None and column not in columns:
            raise ValueError(f"table has no column {column!r}; its columns are {columns}")
    errors = {"type": "data", "array": table[error].round(3).tolist()} if error else None
    figure = go.Figure(
        go.Bar(y=[str(i) for i in table.index], x=table[value].round(3).tolist(),
               orientation="h", error_x=errors, name=value, marker={"color": PALETTE[0]},
               hovertemplate="%{y}: %{x:.1f}<extra></extra>")
    )
    figure.update_layout(
        title={"text": title or value}, xaxis_title=x_label,
        yaxis={"autorange": "reversed"}, height=max(300, 60 + 40 * len(table)),
    )
    return figure


def _bar_marker(source: str, our_protocol: bool) -> dict:
    """Plain bars for the standard protocol, hatched ones for any other."""
    color = _COMPARISON_COLORS[source, our_protocol]
    if our_protocol:
        return {"color": color}
    return {"color": color, "pattern": {"shape": "/", "fgcolor": "white", "fillmode": "overlay"}}


def comparison_figure(table, title: str | None = None,
                      target: float | None = CHEMICAL_ACCURACY) -> go.Figure:
    """MAE of every model, the book's and published ones, as horizontal bars on a log axis.

    Colours say where a number comes from (this book: blue, a paper: orange) and whether it
    was measured on the standard protocol (the five P folds of QM7: dark blue or orange, plain
    bars) or on another protocol or data set (light blue or grey, hatched bars), so that a
    reader compares like with like.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per model with columns ``model``, ``mae``, ``std`` (may be missing values),
        ``source`` (``"this book"`` or ``"published"``), ``our_protocol`` (bool) and
        ``protocol`` (text shown on hover).
    title : str, optional
    target : float or None
        A dashed line at this MAE (chemical accuracy by default).

    Returns
    -------
    plotly.graph_objects.Figure with one ``Bar`` trace per (source, protocol) group.
    """
    needed = ("model", "mae", "std", "source", "our_protocol", "protocol")
    columns = list(getattr(table, "columns", []))
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ValueError(f"table lacks column(s) {missing}; its columns are {columns}")
    unknown = set(table.source) - {"this book", "published"}
    if unknown:
        raise ValueError(f"source must be 'this book' or 'published', got {sorted(unknown)}")
    if not np.all(np.asarray(table.mae, dtype=float) > 0):
        raise ValueError("every MAE must be positive (the axis is logarithmic)")
    ordered = table.sort_values("mae", ascending=True)
    order = ordered.model.astype(str).tolist()
    figure = go.Figure()
    names = {("this book", True): "this book, P folds",
             ("this book", False): "this book, other split",
             ("published", True): "published, P folds",
             ("published", False): "published, other protocol or data"}
    for key, name in names.items():
        part = ordered[(ordered.source == key[0]) & (ordered.our_protocol.astype(bool) == key[1])]
        if not len(part):
            continue
        std = part["std"].astype(float)
        figure.add_trace(go.Bar(
            y=part.model.astype(str).tolist(), x=part.mae.astype(float).round(2).tolist(),
            orientation="h", name=name, marker=_bar_marker(*key),
            error_x={"type": "data", "array": std.fillna(0.0).round(2).tolist(),
                     "visible": bool(std.notna().any())},
            customdata=part.protocol.astype(str).tolist(),
            hovertemplate="%{y}<br>MAE %{x:.2f} kcal/mol<br>%{customdata}<extra></extra>",
        ))
    values = np.asarray(table.mae, dtype=float)
    low = min(0.5, float(values.min()) / 1.5)
    if target is not None:
        figure.add_vline(x=target, line={"color": "#444", "dash": "dash", "width": 1})
        # On a log axis an annotation's x is log10 of the value (add_vline's own label is not).
        figure.add_annotation(x=float(np.log10(target)), xref="x", y=1.0, yref="paper",
                              text=f"{target:g} kcal/mol", showarrow=False, yanchor="bottom",
                              font={"size": 11, "color": "#444"})
    figure.update_layout(
        title={"text": title or "Mean absolute error of every model (log scale)"},
        # Bars grow from the left edge: start it below every value and below 1 kcal/mol.
        xaxis={"title": {"text": "MAE (kcal/mol)"}, "type": "log",
               "range": [float(np.log10(low)), float(np.log10(values.max() * 1.3))]},
        yaxis={"categoryorder": "array", "categoryarray": order, "autorange": "reversed"},
        height=max(380, 80 + 28 * len(table)), legend={"orientation": "h", "y": -0.15},
        barmode="overlay",
    )
    return figure
