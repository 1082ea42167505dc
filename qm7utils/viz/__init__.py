"""Interactive plotly figures of the book, grouped by kind. Every function returns a Figure.

* :mod:`~qm7utils.viz.style`: the ``"qm7book"`` template (registered by
  :func:`qm7utils.setup`), the one colour-blind-safe palette (Okabe-Ito) with a marker shape
  per category, shared labels;
* :mod:`~qm7utils.viz.molecules`: molecules in 3D, galleries of them, bond graphs;
* :mod:`~qm7utils.viz.matrices`: heatmaps of matrices (Coulomb matrices), spectra;
* :mod:`~qm7utils.viz.distributions`: histograms, counts, composition, energy by group, maps;
* :mod:`~qm7utils.viz.diagnostics`: parity, residuals, confusion, importances, training
  curves, error surfaces, learning curves, search histories, convergence;
* :mod:`~qm7utils.viz.comparison`: one score per model, the book's closing comparison.

Figures are shown by the offline renderer of :mod:`qm7utils.book.display`.
"""

from __future__ import annotations

from .comparison import comparison_figure, score_bars
from .diagnostics import (
    cnn_parity,
    confusion_figure,
    convergence_figure,
    error_surface,
    importance_figure,
    learning_curve_figure,
    residual_figure,
    residual_histogram,
    search_history,
    training_curves,
)
from .distributions import (
    composition_figure,
    count_bars,
    embedding_figure,
    energy_by_group,
    energy_histogram,
    energy_scatter,
)
from .matrices import coulomb_heatmaps, matrix_heatmaps, spectrum_figure
from .molecules import graph_figure, molecule_figure, molecule_gallery
from .style import (
    CHEMICAL_ACCURACY,
    ELEMENT_COLORS,
    ENERGY_LABEL,
    MARKERS,
    PALETTE,
    TEMPLATE,
)

__all__ = [
    "CHEMICAL_ACCURACY",
    "ELEMENT_COLORS",
    "ENERGY_LABEL",
    "MARKERS",
    "PALETTE",
    "TEMPLATE",
    "cnn_parity",
    "comparison_figure",
    "composition_figure",
    "confusion_figure",
    "convergence_figure",
    "coulomb_heatmaps",
    "count_bars",
    "embedding_figure",
    "energy_by_group",
    "energy_histogram",
    "energy_scatter",
    "error_surface",
    "graph_figure",
    "importance_figure",
    "learning_curve_figure",
    "matrix_heatmaps",
    "molecule_figure",
    "molecule_gallery",
    "residual_figure",
    "residual_histogram",
    "score_bars",
    "search_history",
    "spectrum_figure",
    "training_curves",
]
