"""Figures of molecules: a rotatable 3D model, a gallery of them, the flat bond graph."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..chem import BOHR_TO_ANGSTROM, ELEMENTS, as_molecules, atom_labels
from ..graphs import bond_adjacency
from .style import BOND_COLOR, ELEMENT_COLORS, compact

__all__ = ["graph_figure", "molecule_figure", "molecule_gallery", "real_atoms"]

#: Marker sizes (pixels) of the atoms in 3D views: hydrogens small, sulfur large.
_ATOM_SIZE = {"H": 7, "C": 12, "N": 12, "O": 12, "S": 15}
#: Most 3D scenes a single figure may hold (each is a WebGL context; browsers cap them).
_MAX_SCENES = 12


def real_atoms(Z, R):
    """Validate one molecule and keep its real atoms.

    Parameters
    ----------
    Z : array of shape (n,)
        Nuclear charges, 0 for padding.
    R : array of shape (n, 3)
        Coordinates in Bohr.

    Returns
    -------
    Z : ndarray of shape (m,)
        Charges of the ``m`` real atoms.
    R : ndarray of shape (m, 3)
        Their coordinates in Angstrom.
    labels : list of str
        ``"C0", "O1", ...``: element and index in ``Z``.
    real : ndarray of bool, shape (n,)
        Which slots of ``Z`` hold atoms.
    """
    Zb, Rb, single = as_molecules(Z, R)
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
    A = bond_adjacency(Z, R_angstrom / BOHR_TO_ANGSTROM)
    lines = [
        "bonded to " + (", ".join(labels[j] for j in np.flatnonzero(row)) or "nothing")
        for row in A
    ]
    return A, lines


def _molecule_traces(Z, R, labels, atom_values, value_label, colorscale, legend_seen):
    """Plotly 3D traces of one molecule: bonds (one line trace), then atoms."""
    A, bonded = _neighbours(Z, R, labels)
    i, j = np.nonzero(np.triu(A))
    segments = np.full((i.size, 3, 3), np.nan)
    segments[:, 0], segments[:, 1] = R[i], R[j]
    xyz = segments.reshape(-1, 3)[:-1] if i.size else np.empty((0, 3))
    coords = [[None if np.isnan(v) else round(float(v), 3) for v in xyz[:, k]] for k in range(3)]
    traces = [
        go.Scatter3d(
            x=coords[0], y=coords[1], z=coords[2], mode="lines", name="bonds",
            line={"color": BOND_COLOR, "width": 6}, hoverinfo="skip",
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
                    x=compact(R[mask, 0], 3), y=compact(R[mask, 1], 3),
                    z=compact(R[mask, 2], 3), mode="markers", name=symbol,
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
                x=compact(R[:, 0], 3), y=compact(R[:, 1], 3), z=compact(R[:, 2], 3),
                mode="markers+text", name=value_label, showlegend=False,
                text=symbols, textposition="top center", customdata=text,
                marker={"size": [s * 1.3 for s in sizes], "color": compact(atom_values),
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

    Atoms are coloured by element (:data:`~qm7utils.viz.style.ELEMENT_COLORS`), or by
    ``atom_values`` (e.g. a centrality) on a colour scale; bonds come from
    :func:`qm7utils.graphs.bond_adjacency`. Hovering an atom shows its label (element and index
    in ``Z``), its position in Angstrom and its bonded neighbours.

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
    Zr, Rr, labels, real = real_atoms(Z, R)
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
    Z, R : arrays of shape (b, n) and (b, n, 3)
        A batch of molecules, as for :func:`qm7utils.chem.as_molecules` (Bohr).
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
        Zr, Rr, labels, _ = real_atoms(Z[k], R[k])
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
    Zr, Rr, labels, real = real_atoms(Z, R)
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
        marker = {"color": compact(values), "colorscale": colorscale, "size": sizes,
                  "opacity": 1.0, "line": {"color": "#333333", "width": 1},
                  "colorbar": {"title": {"text": value_label}}}
        # Dark (low) end of the colour scale: white letters; bright end: black letters.
        span = float(values.max() - values.min()) or 1.0
        text_colors = ["#ffffff" if (v - values.min()) / span < 0.5 else "#000000"
                       for v in values]
    figure = go.Figure(
        [
            go.Scatter(x=ex, y=ey, mode="lines", name="bonds", hoverinfo="skip",
                       line={"color": BOND_COLOR, "width": 3}),
            go.Scatter(x=compact(xy[:, 0], 3), y=compact(xy[:, 1], 3), mode="markers+text",
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
