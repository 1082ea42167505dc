"""Figures of matrices and their spectra: heatmaps side by side, Coulomb matrices, eigenvalues."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..representations.coulomb import coulomb_matrix, row_norm_order
from .molecules import real_atoms
from .style import category_color, category_marker, compact, named_series

__all__ = ["coulomb_heatmaps", "matrix_heatmaps", "spectrum_figure"]


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
                z=compact(shown, 4), x=lab, y=lab, coloraxis="coloraxis", customdata=hover,
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
    if norm not in ("l1", "l2"):
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
    Zr, _, labels, real = real_atoms(Z, R)
    C = coulomb_matrix(np.asarray(Z)[real], np.asarray(R, dtype=np.float64)[real])
    order = row_norm_order(C, norm)
    sorted_title = "sorted by row sum (l1)" if norm == "l1" else "sorted by row norm (l2)"
    return matrix_heatmaps(
        [C, C[np.ix_(order, order)]],
        ["atom order (as in Z and R)", sorted_title],
        labels=[labels, [labels[i] for i in order]],
        colorbar_title="C<sub>IJ</sub> (Hartree)", log=log,
        title=title or "Coulomb matrix",
    )


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
    figure = go.Figure()
    for i, name, values in named_series(spectra, "spectra"):
        values = values.astype(np.float64)
        if trim_zeros:
            nonzero = np.flatnonzero(values)
            values = values[: nonzero[-1] + 1] if nonzero.size else values[:0]
        figure.add_trace(
            go.Scatter(x=np.arange(1, values.size + 1).tolist(), y=compact(values, 4),
                       mode="lines+markers", name=name, marker=category_marker(i),
                       line={"color": category_color(i)},
                       hovertemplate="%{fullData.name}, #%{x}: %{y:.4g}<extra></extra>")
        )
    figure.update_layout(
        title={"text": title or "Eigenvalue spectra"},
        xaxis_title="rank (largest |eigenvalue| first)", yaxis_title=y_label,
    )
    return figure
