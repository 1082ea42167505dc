r"""The dressed-atom baseline: one energy per element, the book's reference model.

An atomization energy is, to a first approximation, a sum of contributions of the atoms: a
carbon atom with its bonds is worth about the same in every molecule. The *dressed-atom* model

.. math::

    E \approx \sum_{e \in \{H, C, N, O, S\}} n_e\,\varepsilon_e

has one parameter per element, :math:`\varepsilon_e` (kcal/mol per atom), fitted by least
squares to the training molecules. It has **no intercept**: a molecule with no atoms has no
atomization energy. Every later model is compared with it, and several learn only the
*residual* :math:`E - \sum_e n_e \varepsilon_e`, a smaller and smoother target.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from ..data import ELEMENTS
from ..featuresets import atom_counts

__all__ = ["DressedAtoms"]


class DressedAtoms(RegressorMixin, BaseEstimator):
    """Least-squares energy per element (H, C, N, O, S); ``fit(Z, y)``, ``predict(Z)``.

    A scikit-learn regressor whose input is the nuclear charges ``Z`` (n, atoms), so it can be
    cloned, cross-validated and scored like the book's other models.

    Attributes
    ----------
    energies_ : ndarray of shape (5,)
        Fitted energy of each element in the order of :data:`qm7utils.data.ELEMENTS`
        (kcal/mol per atom).

    Examples
    --------
    >>> baseline = DressedAtoms().fit(qm7.Z[train], qm7.T[train])   # doctest: +SKIP
    >>> residual = qm7.T - baseline.predict(qm7.Z)                   # doctest: +SKIP
    """

    def fit(self, Z, y) -> DressedAtoms:
        """Fit per-element energies to molecules ``Z`` (n, atoms) with energies ``y`` (n,).

        Raises ``ValueError`` on a shape mismatch, non-finite energies, or unknown elements.
        """
        counts = atom_counts(np.atleast_2d(Z)).astype(np.float64)
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (counts.shape[0],):
            raise ValueError(
                f"y must hold one energy per molecule ({counts.shape[0]}), got shape {y.shape}"
            )
        if not np.all(np.isfinite(y)):
            raise ValueError("y must be finite energies (kcal/mol)")
        self.energies_ = np.linalg.lstsq(counts, y, rcond=None)[0]
        return self

    def predict(self, Z) -> np.ndarray:
        """The baseline energy of each molecule: its atoms' fitted energies summed (kcal/mol)."""
        if not hasattr(self, "energies_"):
            raise ValueError("DressedAtoms is not fitted yet: call fit(Z, y) first")
        return atom_counts(np.atleast_2d(Z)).astype(np.float64) @ self.energies_

    def as_dict(self) -> dict[str, float]:
        """The fitted energy of each element, by symbol (kcal/mol per atom)."""
        if not hasattr(self, "energies_"):
            raise ValueError("DressedAtoms is not fitted yet: call fit(Z, y) first")
        return {s: float(e) for s, e in zip(ELEMENTS.values(), self.energies_, strict=True)}
