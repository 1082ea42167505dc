"""Interactive plotly figures of the book. Every function returns a ``plotly`` Figure.

Figures are styled by the ``"qm7book"`` template (registered on import) and rendered by the
offline renderer of :mod:`qm7utils.display`.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["ELEMENT_COLORS", "TEMPLATE"]

TEMPLATE = "qm7book"

#: CPK-like colours of the elements of QM7, shared by every figure that colours atoms.
ELEMENT_COLORS = {"H": "#d9d9d9", "C": "#404040", "N": "#3050f8", "O": "#ff0d0d", "S": "#e6c619"}


def _register_template() -> None:
    base = pio.templates["plotly_white"]
    template = go.layout.Template(base)
    template.layout.font = {"family": "Inter, Helvetica, Arial, sans-serif", "size": 13}
    template.layout.margin = {"l": 60, "r": 20, "t": 60, "b": 50}
    pio.templates[TEMPLATE] = template
    pio.templates.default = TEMPLATE


_register_template()


# --- Chapters 1-4: data, features, graphs, visualization -----------------------------------

__all__ += [  # each section lists its own functions
    "ENERGY_LABEL",
    "composition_figure",
    "convergence_figure",
    "coulomb_heatmaps",
    "count_bars",
    "embedding_figure",
    "energy_by_group",
    "energy_histogram",
    "energy_scatter",
    "graph_figure",
    "matrix_heatmaps",
    "molecule_figure",
    "molecule_gallery",
    "score_bars",
    "spectrum_figure",
]

#: Axis title of every energy axis.
ENERGY_LABEL = "atomization energy (kcal/mol)"
#: Marker sizes (pixels) of the atoms in 3D views: hydrogens small, sulfur large.
_ATOM_SIZE = {"H": 7, "C": 12, "N": 12, "O": 12, "S": 15}
_BOND_COLOR = "#8c8c8c"
#: Most 3D scenes a single figure may hold (each is a WebGL context; browsers cap them).
_MAX_SCENES = 12


def _compact(values, decimals: int | None = None):
    """Values as float32 (half the size in stored notebooks), optionally rounded first."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    if decimals is not None:
        values = np.round(values, decimals)
    return values.astype(np.float32)


def _one_molecule(Z, R):
    """Validated real atoms of one molecule: charges, coordinates (Angstrom), atom labels."""
    from .explore import atom_labels
    from .features import BOHR_TO_ANGSTROM, _as_molecules

    Zb, Rb, single = _as_molecules(Z, R)
    if not single:
        raise ValueError(
            f"expected one molecule (Z of shape (n,), R of shape (n, 3)), got a batch of "
            f"{Zb.shape[0]}: pick one, e.g. qm7.Z[i], qm7.R[i]"
        )
    real = Zb[0] > 0
    if not real.any():
        raise ValueError("the molecule has no atoms: Z is all padding (0)")
    labels = atom_labels(Zb[0])
    return Zb[0][real], Rb[0][real] * BOHR_TO_ANGSTROM, labels, real


def _atom_values(atom_values, real):
    """Per-atom values for the real atoms (given for all n slots or for the real atoms only)."""
    import numpy as np

    if atom_values is None:
        return None
    values = np.asarray(atom_values, dtype=np.float64).ravel()
    if values.size == real.size:
        values = values[real]
    elif values.size != int(real.sum()):
        raise ValueError(
            f"atom_values must have one value per atom: {int(real.sum())} real atoms (or "
            f"{real.size} slots with padding), got {values.size}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("atom_values contain NaN or infinite values")
    return values


def _neighbours(Z, R_angstrom, labels):
    """Bond adjacency (from qm7utils.graphs) and a 'bonded to ...' hover line per atom."""
    import numpy as np

    from .features import BOHR_TO_ANGSTROM
    from .graphs import bond_adjacency

    A = bond_adjacency(Z, R_angstrom / BOHR_TO_ANGSTROM)
    lines = [
        "bonded to " + (", ".join(labels[j] for j in np.flatnonzero(row)) or "nothing")
        for row in A
    ]
    return A, lines


def _molecule_traces(Z, R, labels, atom_values, value_label, colorscale, legend_seen):
    """Plotly 3D traces of one molecule: bonds (one line trace), then atoms."""
    import numpy as np

    from .data import ELEMENTS

    A, bonded = _neighbours(Z, R, labels)
    i, j = np.nonzero(np.triu(A))
    segments = np.full((i.size, 3, 3), np.nan)
    segments[:, 0], segments[:, 1] = R[i], R[j]
    xyz = segments.reshape(-1, 3)[:-1] if i.size else np.empty((0, 3))
    coords = [[None if np.isnan(v) else round(float(v), 3) for v in xyz[:, k]] for k in range(3)]
    traces = [
        go.Scatter3d(
            x=coords[0], y=coords[1], z=coords[2], mode="lines", name="bonds",
            line={"color": _BOND_COLOR, "width": 6}, hoverinfo="skip",
            showlegend="bonds" not in legend_seen, legendgroup="bonds",
        )
    ]
    legend_seen.add("bonds")
    symbols = [ELEMENTS[int(z)] for z in Z]
    hover = [
        f"{label}<br>({x:.2f}, {y:.2f}, {z:.2f}) Å<br>{line}"
        for label, (x, y, z), line in zip(labels, R, bonded, strict=True)
    ]
    sizes = [_ATOM_SIZE[s] for s in symbols]
    if atom_values is None:
        for symbol in sorted(set(symbols), key=list(ELEMENTS.values()).index):
            mask = np.array([s == symbol for s in symbols])
            traces.append(
                go.Scatter3d(
                    x=_compact(R[mask, 0], 3), y=_compact(R[mask, 1], 3),
                    z=_compact(R[mask, 2], 3), mode="markers", name=symbol,
                    legendgroup=symbol, showlegend=symbol not in legend_seen,
                    marker={"size": _ATOM_SIZE[symbol], "color": ELEMENT_COLORS[symbol],
                            "line": {"color": "#333333", "width": 1}, "opacity": 1.0},
                    text=[h for h, m in zip(hover, mask, strict=True) if m],
                    hovertemplate="%{text}<extra></extra>",
                )
            )
            legend_seen.add(symbol)
    else:
        text = [f"{h}<br>{value_label}: {v:.3g}" for h, v in zip(hover, atom_values, strict=True)]
        traces.append(
            go.Scatter3d(
                x=_compact(R[:, 0], 3), y=_compact(R[:, 1], 3), z=_compact(R[:, 2], 3),
                mode="markers+text", name=value_label, showlegend=False,
                text=symbols, textposition="top center", customdata=text,
                marker={"size": [s * 1.3 for s in sizes], "color": _compact(atom_values),
                        "colorscale": colorscale, "opacity": 1.0,
                        "line": {"color": "#333333", "width": 1},
                        "colorbar": {"title": {"text": value_label}, "len": 0.8}},
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    return traces


def _scene(axes: bool = True) -> dict:
    """A 3D scene in true proportions; ``axes=False`` hides the axes (small gallery views)."""
    axis = {"showbackground": False, "title": {"font": {"size": 11}}}
    if not axes:
        axis = {"visible": False}
    scene = {
        "xaxis": {**axis, "title": {"text": "x (Å)"}} if axes else axis,
        "yaxis": {**axis, "title": {"text": "y (Å)"}} if axes else axis,
        "zaxis": {**axis, "title": {"text": "z (Å)"}} if axes else axis,
        "aspectmode": "data",
    }
    if not axes:
        scene["camera"] = {"eye": {"x": 1.9, "y": 1.9, "z": 1.3}}
    return scene


def molecule_figure(
    Z,
    R,
    title: str | None = None,
    atom_values=None,
    value_label: str = "value",
    colorscale: str = "Viridis",
    height: int = 460,
) -> go.Figure:
    """An interactive 3D ball-and-stick view of one molecule.

    Atoms are coloured by element (:data:`ELEMENT_COLORS`), or by ``atom_values`` (e.g. a
    centrality) on a colour scale; bonds come from :func:`qm7utils.graphs.bond_adjacency`.
    Hovering an atom shows its label (element and index in ``Z``), its position in Angstrom
    and its bonded neighbours.

    Parameters
    ----------
    Z : array of shape (n,)
        Nuclear charges, 0 for padding (ignored).
    R : array of shape (n, 3)
        Coordinates in Bohr (shown in Angstrom).
    title : str, optional
    atom_values : array, optional
        One value per atom (``n`` values, or one per real atom) that colours the atoms.
    value_label : str
        Name of ``atom_values`` in the colour bar and the hover text.
    colorscale : str
        Plotly colour scale for ``atom_values``.
    height : int
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: ``bonds`` (lines), then one marker trace per element present, or a single
        marker trace coloured by ``atom_values``.
    """
    Zr, Rr, labels, real = _one_molecule(Z, R)
    values = _atom_values(atom_values, real)
    traces = _molecule_traces(Zr, Rr, labels, values, value_label, colorscale, set())
    figure = go.Figure(traces)
    figure.update_layout(
        title={"text": title or "molecule"}, height=height, scene=_scene(),
        showlegend=values is None,  # with values, the colour bar takes the legend's place
        legend={"title": {"text": "element"}, "itemsizing": "constant"},
        margin={"l": 0, "r": 0, "t": 50, "b": 0},
    )
    return figure


def molecule_gallery(
    Z,
    R,
    titles=None,
    cols: int = 3,
    row_height: int = 320,
    title: str | None = None,
) -> go.Figure:
    """Several molecules side by side, each in its own rotatable 3D view.

    Parameters
    ----------
    Z : array of shape (b, n)
        Nuclear charges, 0 for padding.
    R : array of shape (b, n, 3)
        Coordinates in Bohr.
    titles : sequence of str, optional
        One title per molecule (e.g. formula and energy).
    cols : int
        Views per row.
    row_height : int
        Height of each row in pixels.
    title : str, optional
        Title of the whole figure.

    Returns
    -------
    plotly.graph_objects.Figure
        For each molecule a ``bonds`` trace and one trace per element, in scene ``k + 1``;
        each element appears once in the legend. The small views hide their axes; hovering an
        atom gives its position in Angstrom.
    """
    import numpy as np
    from plotly.subplots import make_subplots

    Z = np.asarray(Z)
    R = np.asarray(R)
    if Z.ndim != 2 or R.ndim != 3:
        raise ValueError(
            f"molecule_gallery takes a batch: Z of shape (b, n), R of shape (b, n, 3); got "
            f"{Z.shape} and {R.shape} (for one molecule use molecule_figure)"
        )
    count = Z.shape[0]
    if not 1 <= count <= _MAX_SCENES:
        raise ValueError(
            f"molecule_gallery shows 1 to {_MAX_SCENES} molecules (each is a WebGL view), got "
            f"{count}"
        )
    if isinstance(cols, bool) or not isinstance(cols, int) or cols < 1:
        raise ValueError(f"cols must be a positive integer, got {cols!r}")
    titles = list(titles) if titles is not None else [f"molecule {k}" for k in range(count)]
    if len(titles) != count:
        raise ValueError(f"titles must have one entry per molecule ({count}), got {len(titles)}")
    cols = min(cols, count)
    rows = -(-count // cols)
    figure = make_subplots(
        rows=rows, cols=cols, specs=[[{"type": "scene"}] * cols] * rows,
        subplot_titles=titles, horizontal_spacing=0.01, vertical_spacing=0.12 if rows > 1 else 0,
    )
    seen: set[str] = set()
    for k in range(count):
        Zr, Rr, labels, _ = _one_molecule(Z[k], R[k])
        for trace in _molecule_traces(Zr, Rr, labels, None, "", "Viridis", seen):
            figure.add_trace(trace, row=k // cols + 1, col=k % cols + 1)
    scenes = {f"scene{k + 1 if k else ''}": _scene(axes=False) for k in range(count)}
    figure.update_layout(
        title={"text": title or "molecules", "y": 0.99, "yanchor": "top"},
        height=rows * row_height + 110,
        legend={"title": {"text": "element"}, "itemsizing": "constant"},
        margin={"l": 0, "r": 0, "t": 110, "b": 0}, **scenes,
    )
    return figure


def matrix_heatmaps(
    matrices,
    titles,
    labels=None,
    colorbar_title: str = "",
    log: bool = False,
    title: str | None = None,
    height: int = 440,
) -> go.Figure:
    """Square matrices side by side as heatmaps on one shared colour scale.

    Rows run top to bottom as in a printed matrix. With ``log=True`` the colours follow
    :math:`\\log_{10}` of the entries (zeros, e.g. padding, stay blank) while the hover text
    shows the value itself: Coulomb matrices span 0.1 to 388.

    Parameters
    ----------
    matrices : sequence of arrays of shape (n_k, n_k)
    titles : sequence of str
        One per matrix.
    labels : sequence of sequences of str, optional
        Row/column labels of each matrix (unique, e.g. ``["O3", "N1", ...]``); default
        ``0..n-1``.
    colorbar_title : str
        Quantity and unit of the entries.
    log : bool
        Colour by the logarithm of positive entries.
    title : str, optional
    height : int

    Returns
    -------
    plotly.graph_objects.Figure with one ``Heatmap`` trace per matrix.
    """
    import numpy as np
    from plotly.subplots import make_subplots

    matrices = [np.asarray(m, dtype=np.float64) for m in matrices]
    titles = list(titles)
    if not matrices:
        raise ValueError("no matrices to show")
    if len(titles) != len(matrices):
        raise ValueError(
            f"need one title per matrix: {len(matrices)} matrices, {len(titles)} titles"
        )
    for k, m in enumerate(matrices):
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ValueError(f"matrix {k} must be square (n, n), got shape {m.shape}")
        if not np.all(np.isfinite(m)):
            raise ValueError(f"matrix {k} contains NaN or infinite values")
        if log and np.any(m < 0):
            raise ValueError(f"log=True needs non-negative entries; matrix {k} has negative ones")
    if labels is None:
        labels = [[str(i) for i in range(m.shape[0])] for m in matrices]
    labels = [list(map(str, lab)) for lab in labels]
    if len(labels) != len(matrices):
        raise ValueError(f"need one label list per matrix, got {len(labels)}")
    for k, (m, lab) in enumerate(zip(matrices, labels, strict=True)):
        if len(lab) != m.shape[0] or len(set(lab)) != len(lab):
            raise ValueError(
                f"labels of matrix {k} must be {m.shape[0]} unique strings, got {lab!r}"
            )
    figure = make_subplots(rows=1, cols=len(matrices), subplot_titles=titles,
                           horizontal_spacing=0.1)
    positive = np.concatenate([m[m > 0] for m in matrices]) if log else None
    for k, (m, lab) in enumerate(zip(matrices, labels, strict=True)):
        shown = np.where(m > 0, np.log10(np.where(m > 0, m, 1.0)), np.nan) if log else m
        hover = np.vectorize(lambda v: f"{v:.4g}")(m)
        figure.add_trace(
            go.Heatmap(
                z=_compact(shown, 4), x=lab, y=lab, coloraxis="coloraxis", customdata=hover,
                hovertemplate="row %{y}, column %{x}: %{customdata}<extra></extra>",
                name=titles[k],
            ),
            row=1, col=k + 1,
        )
        figure.update_xaxes(title_text="column", row=1, col=k + 1, tickangle=-90)
        figure.update_yaxes(title_text="row" if k == 0 else None, autorange="reversed",
                            row=1, col=k + 1, scaleanchor=f"x{k + 1 if k else ''}")
    colorbar = {"title": {"text": colorbar_title}}
    if log and positive is not None and positive.size:
        low, high = np.log10(positive.min()), np.log10(positive.max())
        decades = np.arange(np.floor(low), np.ceil(high) + 1)
        colorbar.update(tickvals=decades.tolist(), ticktext=[f"{10**d:g}" for d in decades])
    figure.update_layout(
        title={"text": title or "", "y": 0.98, "yanchor": "top"}, height=height,
        margin={"t": 110}, coloraxis={"colorscale": "Viridis", "colorbar": colorbar},
    )
    return figure


def coulomb_heatmaps(Z, R, norm: str = "l1", log: bool = True, title: str | None = None):
    """A molecule's Coulomb matrix in atom order next to its sorted form.

    Rows and columns are labelled by atom (element and index in ``Z``), so the reader sees
    where each atom goes when the matrix is sorted by descending row norm.

    Parameters
    ----------
    Z : array of shape (n,)
    R : array of shape (n, 3)
        Coordinates in Bohr.
    norm : {"l1", "l2"}
        Sorting convention: ``"l1"`` (row sum) is the one of QM7's ``X``.
    log : bool
        Logarithmic colours (see :func:`matrix_heatmaps`).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure with two ``Heatmap`` traces (atom order, sorted), real atoms
    only.
    """
    import numpy as np

    from .explore import sort_order
    from .features import coulomb_matrix

    if norm not in ("l1", "l2"):
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
    Zr, _, labels, real = _one_molecule(Z, R)
    C = coulomb_matrix(np.asarray(Z)[real], np.asarray(R, dtype=np.float64)[real])
    order = sort_order(C, norm)
    sorted_title = "sorted by row sum (l1)" if norm == "l1" else "sorted by row norm (l2)"
    return matrix_heatmaps(
        [C, C[np.ix_(order, order)]],
        ["atom order (as in Z and R)", sorted_title],
        labels=[labels, [labels[i] for i in order]],
        colorbar_title="C<sub>IJ</sub> (Hartree)", log=log,
        title=title or "Coulomb matrix",
    )


def _groups(groups, n: int, order=None):
    """Group labels as strings, and the groups in display order."""
    import numpy as np

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
    import numpy as np

    energies = np.asarray(energies, dtype=np.float64).ravel()
    if energies.size == 0:
        raise ValueError("no energies to plot")
    if not np.all(np.isfinite(energies)):
        raise ValueError("energies contain NaN or infinite values")
    return energies


def energy_histogram(
    energies,
    groups=None,
    group_label: str = "",
    order=None,
    nbins: int = 60,
    title: str | None = None,
    x_label: str = ENERGY_LABEL,
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
    import numpy as np

    energies = _energies(energies)
    figure = go.Figure()
    edges = np.histogram_bin_edges(energies, bins=nbins)
    xbins = {"start": float(edges[0]), "end": float(edges[-1]), "size": float(edges[1] - edges[0])}
    if groups is None:
        figure.add_trace(go.Histogram(x=_compact(energies, 2), xbins=xbins, name="molecules",
                                      marker={"color": "#4c72b0"}))
    else:
        groups, present = _groups(groups, energies.size, order)
        for g in present:
            figure.add_trace(go.Histogram(x=_compact(energies[groups == g], 2), xbins=xbins,
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
            go.Box(y=_compact(values, 2), name=f"{g}<br>n={values.size}", boxpoints="outliers",
                   marker={"size": 3}, line={"width": 1.5}, showlegend=False)
        )
    figure.update_layout(
        title={"text": title or f"Atomization energy by {group_label}"},
        xaxis_title=group_label, yaxis_title=ENERGY_LABEL,
    )
    return figure


def _subsample(n: int, max_points: int | None, seed: int):
    import numpy as np

    if max_points is None or n <= max_points:
        return np.arange(n)
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ValueError(f"max_points must be a positive integer or None, got {max_points!r}")
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def energy_scatter(
    x,
    energies,
    x_label: str,
    groups=None,
    group_label: str = "",
    hover_text=None,
    diagonal: bool = False,
    max_points: int | None = None,
    seed: int = 0,
    title: str | None = None,
    y_label: str = ENERGY_LABEL,
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
    import numpy as np

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
    for g in present:
        idx = keep[labels[keep] == g]
        text = hover_text[idx].tolist() if hover_text is not None else None
        figure.add_trace(
            go.Scatter(
                x=_compact(x[idx], 3), y=_compact(energies[idx], 2), mode="markers",
                name=str(g) if groups is not None else "molecules", text=text,
                marker={"size": 5, "opacity": 0.6},
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
    import numpy as np

    if not values:
        raise ValueError("values is empty: pass {name: array}")
    figure = go.Figure()
    for name, array in values.items():
        array = np.asarray(array).ravel()
        if array.size == 0:
            raise ValueError(f"{name!r} holds no values")
        levels, counts = np.unique(array, return_counts=True)
        figure.add_trace(go.Bar(x=levels.tolist(), y=counts.tolist(), name=str(name),
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
        From :func:`qm7utils.explore.composition_table` (index: element symbols; columns
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
    import numpy as np

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
            x=_compact(coords[keep, 0], 3), y=_compact(coords[keep, 1], 3), mode="markers",
            text=text, name="molecules",
            marker={"size": 5, "color": _compact(energies[keep], 1), "colorscale": "Viridis",
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


def spectrum_figure(
    spectra, title: str | None = None, y_label: str = "eigenvalue (Hartree)", trim_zeros=True
) -> go.Figure:
    """Eigenvalue spectra (or any sorted vectors) of a few molecules, one line each.

    Parameters
    ----------
    spectra : mapping of name to array of shape (k,)
        E.g. ``{"CH4": eigenvalues(C)}``.
    title : str, optional
    y_label : str
        Quantity and unit.
    trim_zeros : bool
        Drop trailing zeros (the padding) of each vector.

    Returns
    -------
    plotly.graph_objects.Figure with one ``Scatter`` trace per spectrum.
    """
    import numpy as np

    if not spectra:
        raise ValueError("spectra is empty: pass {name: values}")
    figure = go.Figure()
    for name, values in spectra.items():
        values = np.asarray(values, dtype=np.float64).ravel()
        if trim_zeros:
            nonzero = np.flatnonzero(values)
            values = values[: nonzero[-1] + 1] if nonzero.size else values[:0]
        figure.add_trace(
            go.Scatter(x=np.arange(1, values.size + 1).tolist(), y=_compact(values, 4),
                       mode="lines+markers", name=str(name),
                       hovertemplate="%{fullData.name}, #%{x}: %{y:.4g}<extra></extra>")
        )
    figure.update_layout(
        title={"text": title or "Eigenvalue spectra"},
        xaxis_title="rank (largest |eigenvalue| first)", yaxis_title=y_label,
    )
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
    import numpy as np

    if not changes:
        raise ValueError("changes is empty: pass {name: values}")
    figure = go.Figure()
    for name, values in changes.items():
        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size == 0 or np.any(values < 0):
            raise ValueError(f"{name!r}: changes must be a non-empty array of values >= 0")
        figure.add_trace(
            go.Scatter(x=np.arange(1, values.size + 1).tolist(),
                       y=np.maximum(values, 1e-17).astype(np.float32), mode="lines",
                       name=str(name))
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


def graph_figure(
    Z,
    R,
    atom_values=None,
    value_label: str = "value",
    layout: str = "kamada_kawai",
    title: str | None = None,
    colorscale: str = "Viridis",
    height: int = 460,
) -> go.Figure:
    """A molecule drawn as its bond graph in 2D, atoms coloured by element or by a value.

    Parameters
    ----------
    Z : array of shape (n,)
    R : array of shape (n, 3)
        Coordinates in Bohr.
    atom_values : array, optional
        One value per atom (e.g. eigenvector centrality) that colours the nodes.
    value_label : str
    layout : {"kamada_kawai", "projection"}
        ``"kamada_kawai"``: a graph layout (distances follow bond counts; the axes carry no
        unit, so they are hidden). ``"projection"``: the coordinates projected on the
        molecule's two main axes (Angstrom).
    title : str, optional
    colorscale : str
    height : int

    Returns
    -------
    plotly.graph_objects.Figure with two ``Scatter`` traces: ``bonds`` (lines) and ``atoms``
    (markers with the element symbols).
    """
    import numpy as np

    from .data import ELEMENTS

    Zr, Rr, labels, real = _one_molecule(Z, R)
    values = _atom_values(atom_values, real)
    A, bonded = _neighbours(Zr, Rr, labels)
    if layout == "kamada_kawai":
        import networkx as nx

        graph = nx.from_numpy_array(A.astype(float))
        positions = nx.kamada_kawai_layout(graph) if len(Zr) > 1 else {0: np.zeros(2)}
        xy = np.array([positions[i] for i in range(len(Zr))])
    elif layout == "projection":
        centred = Rr - Rr.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        axes = vt[:2] * np.where(vt[:2].sum(axis=1, keepdims=True) < 0, -1.0, 1.0)
        xy = centred @ axes.T
    else:
        raise ValueError(f"layout must be 'kamada_kawai' or 'projection', got {layout!r}")
    i, j = np.nonzero(np.triu(A))
    ex, ey = [], []
    for a, b in zip(i, j, strict=True):
        ex += [round(float(xy[a, 0]), 3), round(float(xy[b, 0]), 3), None]
        ey += [round(float(xy[a, 1]), 3), round(float(xy[b, 1]), 3), None]
    symbols = [ELEMENTS[int(z)] for z in Zr]
    hover = [f"{lab}<br>{line}" for lab, line in zip(labels, bonded, strict=True)]
    sizes = [16 if s == "H" else 26 for s in symbols]
    if values is None:
        marker = {"color": [ELEMENT_COLORS[s] for s in symbols], "size": sizes, "opacity": 1.0,
                  "line": {"color": "#333333", "width": 1}}
        text_colors = ["#000000" if s in ("H", "S") else "#ffffff" for s in symbols]
    else:
        hover = [f"{h}<br>{value_label}: {v:.3g}" for h, v in zip(hover, values, strict=True)]
        marker = {"color": _compact(values), "colorscale": colorscale, "size": sizes,
                  "opacity": 1.0, "line": {"color": "#333333", "width": 1},
                  "colorbar": {"title": {"text": value_label}}}
        # Dark (low) end of the colour scale: white letters; bright end: black letters.
        span = float(values.max() - values.min()) or 1.0
        text_colors = ["#ffffff" if (v - values.min()) / span < 0.5 else "#000000"
                       for v in values]
    figure = go.Figure(
        [
            go.Scatter(x=ex, y=ey, mode="lines", name="bonds", hoverinfo="skip",
                       line={"color": _BOND_COLOR, "width": 3}),
            go.Scatter(x=_compact(xy[:, 0], 3), y=_compact(xy[:, 1], 3), mode="markers+text",
                       name="atoms", text=symbols, customdata=hover, marker=marker,
                       textfont={"color": text_colors, "size": 11},
                       hovertemplate="%{customdata}<extra></extra>"),
        ]
    )
    hidden = {"visible": False} if layout == "kamada_kawai" else {}
    figure.update_layout(
        title={"text": title or "bond graph"}, height=height, showlegend=False,
        xaxis={"title": {"text": "main axis 1 (Å)"}, "zeroline": False, **hidden},
        yaxis={"title": {"text": "main axis 2 (Å)"}, "zeroline": False, "scaleanchor": "x",
               **hidden},
    )
    return figure


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
               orientation="h", error_x=errors, name=value, marker={"color": "#4c72b0"},
               hovertemplate="%{y}: %{x:.1f}<extra></extra>")
    )
    figure.update_layout(
        title={"text": title or value}, xaxis_title=x_label,
        yaxis={"autorange": "reversed"}, height=max(300, 60 + 40 * len(table)),
    )
    return figure


# --- Chapters 5-6: classification and regression -------------------------------------------

__all__ += [
    "confusion_figure",
    "importance_figure",
    "residual_figure",
    "residual_histogram",
    "search_history",
]


def _paired(y_true, y_pred, what: str = "predictions"):
    import numpy as np

    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty and of equal length, got {y_true.size} and "
            f"{y_pred.size} {what}"
        )
    return y_true, y_pred


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
    import numpy as np
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
    import numpy as np

    models = dict(y_pred) if isinstance(y_pred, dict) else {"residual": y_pred}
    if not models:
        raise ValueError("y_pred must be an array or a non-empty {model name: predictions}")
    y_true = np.asarray(y_true).ravel()
    if hover is not None and len(hover) != len(y_true):
        raise ValueError(f"hover must have one label per point ({len(y_true)}), got {len(hover)}")
    palette = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")
    figure = go.Figure()
    for i, (name, predicted) in enumerate(models.items()):
        truth, predicted = _paired(y_true, predicted)
        figure.add_trace(go.Scattergl(
            x=truth.round(2).tolist(), y=(predicted - truth).round(2).tolist(), mode="markers",
            marker={"size": 5, "opacity": 0.6, "color": palette[i % len(palette)]},
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
    import numpy as np

    if not isinstance(residuals, dict) or not residuals:
        raise ValueError("residuals must be a non-empty dict: model name -> residuals")
    if not bin_size > 0:
        raise ValueError(f"bin_size must be positive, got {bin_size}")
    figure = go.Figure()
    for name, values in residuals.items():
        values = np.asarray(values, dtype=float).ravel()
        figure.add_trace(
            go.Histogram(x=values.round(2).tolist(), name=str(name), opacity=0.6,
                         xbins={"size": bin_size}, histnorm="probability density")
        )
    figure.update_layout(
        barmode="overlay", title={"text": title or "residual distribution"},
        xaxis_title=f"predicted - true ({unit})", yaxis_title="density", height=400,
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
    import numpy as np

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
               orientation="h", marker={"color": "#4c72b0"},
               hovertemplate="%{y}: %{x:.3f}<extra></extra>")
    )
    figure.update_layout(
        title={"text": title or "feature importance"}, xaxis_title=x_label,
        yaxis={"autorange": "reversed"}, height=max(300, 80 + 22 * len(order)),
    )
    return figure


def search_history(trials, value: str = "dev_mae", title: str | None = None,
                   y_label: str = "dev MAE (kcal/mol)") -> go.Figure:
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
    import numpy as np

    if value not in getattr(trials, "columns", []):
        raise ValueError(f"trials has no column {value!r}")
    scores = np.asarray(trials[value], dtype=float)
    x = list(range(len(scores)))
    figure = go.Figure(
        [
            go.Scatter(x=x, y=scores.round(3).tolist(), mode="markers", name="trial",
                       marker={"color": "#4c72b0", "size": 8}),
            go.Scatter(x=x, y=np.minimum.accumulate(scores).round(3).tolist(), mode="lines",
                       name="best so far", line={"color": "#dd8452", "shape": "hv"}),
        ]
    )
    figure.update_layout(title={"text": title or "search history"}, xaxis_title="trial",
                         yaxis_title=y_label, height=380)
    return figure


# --- Chapter 7: convolutional networks -----------------------------------------------------

__all__ += ["cnn_parity", "training_curves"]

#: Colours of successive training runs in :func:`training_curves`.
_RUN_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3")


def training_curves(logs, title: str | None = None, log_y: bool = True,
                    y_label: str = "MAE (kcal/mol)") -> go.Figure:
    """Mean absolute error per epoch of training runs: training solid, validation dashed.

    A run whose log has a ``best_epoch`` (early stopping, or keeping the best epoch's weights)
    gets a star on its validation curve at that epoch: the weights the model kept.

    Parameters
    ----------
    logs : sequence of objects with ``name``, ``train_mae`` and ``val_mae`` (lists of floats;
        ``val_mae`` may be empty), e.g. :class:`qm7utils.models.cnn.TrainingLog`; an optional
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
        color = _RUN_COLORS[i % len(_RUN_COLORS)]
        for values, kind, dash in ((log.train_mae, "train", "solid"),
                                   (log.val_mae, "validation", "dash")):
            if len(values) == 0:
                continue
            figure.add_trace(go.Scatter(
                x=list(range(1, len(values) + 1)), y=[round(float(v), 3) for v in values],
                mode="lines+markers" if len(values) <= 30 else "lines",
                name=f"{log.name} ({kind})", legendgroup=log.name,
                line={"color": color, "dash": dash}, marker={"size": 5},
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
    import numpy as np

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
            marker={"size": 4, "opacity": 0.6, "color": _RUN_COLORS[i % len(_RUN_COLORS)]},
            hovertemplate=f"{name}<br>true %{{x:.1f}}<br>predicted %{{y:.1f}}<extra></extra>",
        ))
    low, high = float(y_true.min()), float(y_true.max())
    figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="exact",
                                line={"color": "#8c8c8c", "dash": "dot"}, hoverinfo="skip"))
    figure.update_layout(
        title={"text": title or "Predicted against true energies"},
        xaxis_title=f"true energy ({unit})", yaxis_title=f"predicted energy ({unit})",
        height=480, legend={"font": {"size": 11}},
    )
    return figure


# --- Chapters 8-9: kernels, learning curves, the closing comparison ------------------------

__all__ += [
    "comparison_figure",
    "error_surface",
    "learning_curve_figure",
]

#: Colours of the comparison chart: the book's own results, and published ones, each on the
#: standard P-fold protocol or on another protocol or data set.
_COMPARISON_COLORS = {
    ("this book", True): "#1f4e9c",
    ("this book", False): "#8fb3e8",
    ("published", True): "#d9822b",
    ("published", False): "#c7c7c7",
}
#: Chemical accuracy: 1 kcal/mol, the error of careful thermochemistry.
CHEMICAL_ACCURACY = 1.0
#: Line colours of the learning curves, one per representation.
_CURVE_COLORS = ("#1f4e9c", "#d9822b", "#3a923a", "#c03d3e", "#7e5fb0", "#8c564b")


def error_surface(surface, sigmas, regularizations, chosen=None, title: str | None = None,
                  sigma_label: str = "kernel width σ") -> go.Figure:
    """Validation MAE over a grid of kernel widths and regularizations, as a heatmap.

    Parameters
    ----------
    surface : array of shape (len(sigmas), len(regularizations))
        Validation MAE (kcal/mol), e.g. ``CVResult.surfaces[k]`` of
        :func:`qm7utils.models.kernels.nested_cv`; ``inf`` marks a failed fit.
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
    import numpy as np

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
            marker={"symbol": "square-open", "size": 34, "color": "#d62728",
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
    legend gives each model's slope, fitted on its larger half of the sizes.

    Parameters
    ----------
    curve : pandas.DataFrame
        Columns ``model``, ``n_train``, ``mae`` (one row per fold and size, as from
        :func:`qm7utils.models.kernels.learning_curve`).
    title : str, optional
    target : float or None
        A dashed line at this MAE (chemical accuracy, 1 kcal/mol, by default).

    Returns
    -------
    plotly.graph_objects.Figure with one ``Scatter`` trace per model.
    """
    import numpy as np

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
        upper = part[part.n_train >= np.median(part.n_train)]
        label = str(model)
        if len(upper) >= 2:
            slope = -np.polyfit(np.log(upper.n_train), np.log(upper["mean"]), 1)[0]
            label += f" (slope {slope:.2f})"
        std = part["std"].fillna(0.0)
        figure.add_trace(go.Scatter(
            x=part.n_train.tolist(), y=part["mean"].round(3).tolist(), mode="lines+markers",
            name=label, error_y={"type": "data", "array": std.round(3).tolist()},
            line={"color": _CURVE_COLORS[i % len(_CURVE_COLORS)]},
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


def comparison_figure(table, title: str | None = None,
                      target: float | None = CHEMICAL_ACCURACY) -> go.Figure:
    """MAE of every model, the book's and published ones, as horizontal bars on a log axis.

    Colours say where a number comes from (this book or a paper) and whether it was measured
    on the standard protocol (the five P folds of QM7) or on another protocol or data set, so
    that a reader compares like with like.

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
    import numpy as np

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
    for key, color in _COMPARISON_COLORS.items():
        part = ordered[(ordered.source == key[0]) & (ordered.our_protocol.astype(bool) == key[1])]
        if not len(part):
            continue
        std = part["std"].astype(float)
        figure.add_trace(go.Bar(
            y=part.model.astype(str).tolist(), x=part.mae.astype(float).round(2).tolist(),
            orientation="h", name=names[key], marker={"color": color},
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
