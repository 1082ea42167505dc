"""Figures of distributions over the data set: energies, counts, composition, 2D maps."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .style import (
    ELEMENT_COLORS,
    ENERGY_LABEL,
    PALETTE,
    category_bar,
    category_marker,
    compact,
    named_series,
)

__all__ = [
    "composition_figure",
    "count_bars",
    "embedding_figure",
    "energy_by_group",
    "energy_histogram",
    "energy_scatter",
]


def _groups(groups, n: int, order=None):
    """Group labels as strings, and the groups in display order."""
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must have one label per molecule ({n}), got shape {groups.shape}")
    present = list(dict.fromkeys(np.sort(groups).tolist()))
    if order is not None:
        order = list(order)
        missing = [g for g in present if g not in order]
        if missing:
            raise ValueError(f"order misses group(s) {missing}")
        present = [g for g in order if g in present]
    return groups, present


def _energies(energies):
    energies = np.asarray(energies, dtype=np.float64).ravel()
    if energies.size == 0:
        raise ValueError("no energies to plot")
    if not np.all(np.isfinite(energies)):
        raise ValueError("energies contain NaN or infinite values")
    return energies


def _subsample(n: int, max_points: int | None, seed: int):
    if max_points is None or n <= max_points:
        return np.arange(n)
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ValueError(f"max_points must be a positive integer or None, got {max_points!r}")
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def energy_histogram(
    energies, groups=None, group_label: str = "", order=None, nbins: int = 60,
    title: str | None = None, x_label: str = ENERGY_LABEL,
) -> go.Figure:
    """Histogram of atomization energies (kcal/mol), optionally stacked by group.

    Parameters
    ----------
    energies : array of shape (n,)
    groups : array of shape (n,), optional
        A label per molecule (e.g. number of heavy atoms); one stacked trace per label.
    group_label : str
        Legend title for the groups.
    order : sequence, optional
        Order of the groups (default: sorted).
    nbins : int
    title : str, optional
    x_label : str
        Axis title (change it for other energies, e.g. the residuals of a model).

    Returns
    -------
    plotly.graph_objects.Figure with one ``Histogram`` trace per group (one without groups).
    """
    energies = _energies(energies)
    figure = go.Figure()
    edges = np.histogram_bin_edges(energies, bins=nbins)
    xbins = {"start": float(edges[0]), "end": float(edges[-1]), "size": float(edges[1] - edges[0])}
    if groups is None:
        figure.add_trace(go.Histogram(x=compact(energies, 2), xbins=xbins, name="molecules",
                                      marker={"color": PALETTE[0]}))
    else:
        groups, present = _groups(groups, energies.size, order)
        for g in present:
            figure.add_trace(go.Histogram(x=compact(energies[groups == g], 2), xbins=xbins,
                                          name=str(g)))
    figure.update_layout(
        barmode="stack", title={"text": title or "Atomization energies"},
        xaxis_title=x_label, yaxis_title="molecules",
        legend={"title": {"text": group_label}}, showlegend=groups is not None,
    )
    return figure


def energy_by_group(
    energies, groups, group_label: str, order=None, title: str | None = None
) -> go.Figure:
    """Box plots of the energy (kcal/mol) of each group of molecules (size, composition ...).

    Parameters
    ----------
    energies : array of shape (n,)
    groups : array of shape (n,)
        A label per molecule.
    group_label : str
        What the groups are (x-axis title).
    order : sequence, optional
        Order of the groups (default: sorted).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure with one ``Box`` trace per group; each box's name carries the
    number of molecules in the group.
    """
    energies = _energies(energies)
    groups, present = _groups(groups, energies.size, order)
    figure = go.Figure()
    for g in present:
        values = energies[groups == g]
        figure.add_trace(
            go.Box(y=compact(values, 2), name=f"{g}<br>n={values.size}", boxpoints="outliers",
                   marker={"size": 3}, line={"width": 1.5}, showlegend=False)
        )
    figure.update_layout(
        title={"text": title or f"Atomization energy by {group_label}"},
        xaxis_title=group_label, yaxis_title=ENERGY_LABEL,
    )
    return figure


def energy_scatter(
    x, energies, x_label: str, groups=None, group_label: str = "", hover_text=None,
    diagonal: bool = False, max_points: int | None = None, seed: int = 0,
    title: str | None = None, y_label: str = ENERGY_LABEL,
) -> go.Figure:
    """Energies against another quantity: a size, a feature, or a prediction (parity plot).

    Parameters
    ----------
    x : array of shape (n,)
    energies : array of shape (n,)
        kcal/mol (y axis).
    x_label : str
        Quantity and unit of ``x``.
    groups : array of shape (n,), optional
        One colour (trace) per group.
    group_label : str
    hover_text : sequence of str, optional
        Shown on hover with the two values (e.g. formulas).
    diagonal : bool
        Draw the line y = x (for predicted-vs-true plots).
    max_points : int, optional
        Plot a random subset of this many points (fixed by ``seed``), to keep pages light.
    seed : int
    title : str, optional
    y_label : str

    Returns
    -------
    plotly.graph_objects.Figure: one ``Scatter`` trace per group (one without groups), plus a
    ``y = x`` line trace when ``diagonal``.
    """
    energies = _energies(energies)
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.shape != energies.shape:
        raise ValueError(f"x and energies differ in length: {x.size} vs {energies.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinite values")
    if hover_text is not None:
        hover_text = np.asarray(hover_text, dtype=object)
        if hover_text.shape != energies.shape:
            raise ValueError(f"hover_text needs one entry per point ({energies.size})")
    keep = _subsample(energies.size, max_points, seed)
    if groups is None:
        labels, present = np.zeros(energies.size, dtype=int), [0]
    else:
        labels, present = _groups(groups, energies.size, None)
    figure = go.Figure()
    for k, g in enumerate(present):
        idx = keep[labels[keep] == g]
        text = hover_text[idx].tolist() if hover_text is not None else None
        figure.add_trace(
            go.Scatter(
                x=compact(x[idx], 3), y=compact(energies[idx], 2), mode="markers",
                name=str(g) if groups is not None else "molecules", text=text,
                marker=category_marker(k, size=5, opacity=0.6),
                hovertemplate=("%{text}<br>" if text is not None else "")
                + f"{x_label}: %{{x}}<br>{y_label}: %{{y}}<extra></extra>",
            )
        )
    if diagonal:
        low = float(min(x.min(), energies.min()))
        high = float(max(x.max(), energies.max()))
        figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="y = x",
                                    line={"color": "#333333", "dash": "dash", "width": 1}))
    shown = ""
    if keep.size < energies.size:
        shown = f" ({keep.size} of {energies.size} molecules shown)"
    figure.update_layout(
        title={"text": (title or f"Energy against {x_label}") + shown}, xaxis_title=x_label,
        yaxis_title=y_label, legend={"title": {"text": group_label}},
        showlegend=groups is not None or diagonal,
    )
    return figure


def count_bars(values, x_label: str, title: str | None = None, y_label: str = "molecules"):
    """Bar chart of how often each value occurs, one bar series per named array.

    Parameters
    ----------
    values : mapping of name to array
        E.g. ``{"all atoms": n_atoms, "heavy atoms": n_heavy}``.
    x_label : str
        What the values are.
    title : str, optional
    y_label : str

    Returns
    -------
    plotly.graph_objects.Figure with one ``Bar`` trace per name.
    """
    figure = go.Figure()
    for i, name, array in named_series(values):
        levels, counts = np.unique(array, return_counts=True)
        figure.add_trace(go.Bar(x=levels.tolist(), y=counts.tolist(), name=name,
                                marker=category_bar(i),
                                hovertemplate=f"{x_label} %{{x}}: %{{y}} {y_label}"
                                "<extra>%{fullData.name}</extra>"))
    figure.update_layout(
        barmode="group", title={"text": title or f"Molecules by {x_label}"},
        xaxis_title=x_label, yaxis_title=y_label, showlegend=len(values) > 1,
    )
    return figure


def composition_figure(table, title: str | None = None) -> go.Figure:
    """Atoms of each element, and molecules that contain it (two bar charts).

    Parameters
    ----------
    table : pandas.DataFrame
        From chapter 1's ``composition_table`` (index: element symbols; columns
        ``atoms`` and ``molecules``).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure with two ``Bar`` traces (atoms, molecules).
    """
    from plotly.subplots import make_subplots

    missing = {"atoms", "molecules"} - set(getattr(table, "columns", []))
    if missing:
        raise ValueError(
            f"table must be a composition_table() DataFrame; missing columns {sorted(missing)}"
        )
    unknown = [s for s in table.index if s not in ELEMENT_COLORS]
    if unknown:
        raise ValueError(f"unknown element symbols {unknown}; expected {list(ELEMENT_COLORS)}")
    colors = [ELEMENT_COLORS[s] for s in table.index]
    figure = make_subplots(rows=1, cols=2, subplot_titles=["atoms in the data set",
                                                           "molecules containing the element"])
    for col, column in enumerate(("atoms", "molecules"), start=1):
        figure.add_trace(
            go.Bar(x=list(table.index), y=table[column].tolist(), name=column,
                   marker={"color": colors, "line": {"color": "#333333", "width": 1}},
                   hovertemplate=f"%{{x}}: %{{y}} {column}<extra></extra>"),
            row=1, col=col,
        )
        figure.update_xaxes(title_text="element", row=1, col=col)
        figure.update_yaxes(title_text=column, type="log", row=1, col=col)
    figure.update_layout(title={"text": title or "Element composition"}, showlegend=False)
    return figure


def embedding_figure(
    coords,
    energies,
    hover_text=None,
    axis_titles=("component 1", "component 2"),
    max_points: int | None = 2000,
    seed: int = 0,
    title: str | None = None,
    color_label: str | None = None,
) -> go.Figure:
    """A 2D map of molecules (PCA, t-SNE ...) coloured by their energy, or by another value.

    Parameters
    ----------
    coords : array of shape (n, 2)
    energies : array of shape (n,)
        kcal/mol; the colour. Any other number per molecule works too (a size, a count): name
        it with ``color_label``.
    hover_text : sequence of str, optional
        E.g. formulas; shown with the energy on hover.
    axis_titles : (str, str)
    max_points : int or None
        Plot a random subset of this many molecules (fixed by ``seed``).
    seed : int
    title : str, optional
    color_label : str, optional
        What the colour shows, when it is not the energy (e.g. ``"heavy atoms"``): the
        colour bar and the hover text use it instead of "energy (kcal/mol)".

    Returns
    -------
    plotly.graph_objects.Figure with one ``Scatter`` trace.
    """
    coords = np.asarray(coords, dtype=np.float64)
    energies = _energies(energies)
    if coords.ndim != 2 or coords.shape[1] != 2 or coords.shape[0] != energies.size:
        raise ValueError(
            f"coords must have shape (n, 2) with n = {energies.size} energies, got {coords.shape}"
        )
    if hover_text is not None and len(hover_text) != energies.size:
        raise ValueError(f"hover_text needs one entry per molecule ({energies.size})")
    keep = _subsample(energies.size, max_points, seed)
    text = [str(hover_text[i]) for i in keep] if hover_text is not None else None
    figure = go.Figure(
        go.Scatter(
            x=compact(coords[keep, 0], 3), y=compact(coords[keep, 1], 3), mode="markers",
            text=text, name="molecules",
            marker={"size": 5, "color": compact(energies[keep], 1), "colorscale": "Viridis",
                    "opacity": 0.8,
                    "colorbar": {"title": {"text": color_label or "energy<br>(kcal/mol)"}}},
            hovertemplate=("%{text}<br>" if text else "")
            + (f"{color_label} = %{{marker.color}}" if color_label
               else "E = %{marker.color:.1f} kcal/mol") + "<extra></extra>",
        )
    )
    shown = ""
    if keep.size < energies.size:
        shown = f" ({keep.size} of {energies.size} molecules shown)"
    figure.update_layout(
        title={"text": (title or "Map of the molecules") + shown},
        xaxis_title=axis_titles[0], yaxis_title=axis_titles[1],
    )
    return figure
