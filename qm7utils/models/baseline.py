r"""The dressed-atom baseline: one energy per element, the book's reference model.

An atomization energy is, to a first approximation, a sum of contributions of the atoms: a
carbon atom with its bonds is worth about the same in every molecule. The *dressed-atom* model

.. math::

    E \approx \sum_{e \in \{H, C, N, O, S\}} n_e\,\varepsilon_e

has one parameter per element, :math:`\varepsilon_e` (kcal/mol per atom), fitted by least
squares to the training molecules. It has **no intercept**, by design: a molecule with no
atoms has no atomization energy, and a constant term would be one more "atom" that every
molecule has, whatever its size. Every later model is compared with it, and several learn
only the *residual* :math:`E - \sum_e n_e \varepsilon_e`, a smaller and smoother target. This
class is the one dressed-atom baseline of the package: every chapter uses it.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..chem import ELEMENTS, element_counts

__all__ = ["DressedAtoms"]


class DressedAtoms(RegressorMixin, BaseEstimator):
    """Least-squares energy per element (H, C, N, O, S), without intercept.

    ``fit(Z, y)``, ``predict(Z)``: a scikit-learn regressor whose input is the nuclear charges
    ``Z`` (n, atoms), 0 for padding, so it can be cloned, cross-validated and scored like the
    book's other models (``predict`` expects the padding width it was fitted on). The design
    matrix is :func:`qm7utils.chem.element_counts`; the energies are the
    least-squares solution of ``counts @ energies = y`` (``numpy.linalg.lstsq``), with no
    constant term.

    Attributes
    ----------
    energies_ : ndarray of shape (5,)
        Fitted energy of each element in the order of :data:`qm7utils.chem.ELEMENTS`
        (kcal/mol per atom).
    n_features_in_ : int
        Width of the ``Z`` it was fitted on (the padding length).

    Examples
    --------
    >>> baseline = DressedAtoms().fit(qm7.Z[train], qm7.T[train])   # doctest: +SKIP
    >>> residual = qm7.T - baseline.predict(qm7.Z)                   # doctest: +SKIP
    """

    def fit(self, Z, y) -> DressedAtoms:
        """Fit per-element energies to molecules ``Z`` (n, atoms) with energies ``y`` (n,).

        An element that no training molecule contains gets energy 0 (the minimum-norm
        least-squares solution), so train on molecules of every element you predict.

        Raises ``ValueError`` on a shape mismatch, non-finite energies, unknown elements, no
        molecules at all, or a molecule without atoms (``Z`` all 0: it has no energy to fit).
        """
        Z, y = validate_data(self, Z, y, dtype=None, y_numeric=True)
        counts = element_counts(Z).astype(np.float64)
        empty = np.flatnonzero(counts.sum(axis=1) == 0)
        if empty.size:
            raise ValueError(
                f"{empty.size} training molecule(s) have no atoms (Z all 0), e.g. rows "
                f"{empty[:5].tolist()}: a molecule without atoms has no atomization energy; "
                "drop them (keep rows with (Z > 0).any(axis=1))"
            )
        self.energies_ = np.linalg.lstsq(counts, np.asarray(y, dtype=np.float64), rcond=None)[0]
        return self

    def predict(self, Z) -> np.ndarray:
        """The baseline energy of each molecule: its atoms' fitted energies summed (kcal/mol).

        A molecule without atoms (``Z`` all 0) gets 0, the empty sum.
        """
        check_is_fitted(self, "energies_")
        Z = validate_data(self, Z, dtype=None, reset=False)
        return element_counts(Z).astype(np.float64) @ self.energies_

    def as_dict(self) -> dict[str, float]:
        """The fitted energy of each element, by symbol (kcal/mol per atom)."""
        check_is_fitted(self, "energies_")
        return {s: float(e) for s, e in zip(ELEMENTS.values(), self.energies_, strict=True)}
