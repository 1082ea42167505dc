"""The real qm7.mat: layout, units, and the conventions the book teaches."""

from __future__ import annotations

import numpy as np
import pytest

from qm7utils import chem

pytestmark = pytest.mark.data


def test_real_qm7_layout_and_units(qm7):
    assert qm7.n_molecules == 7165
    assert qm7.X.shape == (7165, 23, 23) and qm7.R.shape == (7165, 23, 3)
    assert qm7.P.shape == (5, 1433)
    assert qm7.n_atoms.min() == 4 and qm7.n_atoms.max() == 23
    # Energies in kcal/mol: methane's PBE0 atomization energy is about -418 kcal/mol.
    assert qm7.to_frame().loc[0, "formula"] == "CH4"
    assert -420 < qm7.T[0] < -416
    assert -2200 < qm7.T.min() < qm7.T.max() < -400
    # Coordinates in Bohr: C-H bonds of methane are 1.09 A = 2.06 Bohr.
    d = np.linalg.norm(qm7.R[0, 1:5] - qm7.R[0, 0], axis=1)
    np.testing.assert_allclose(d, 2.06, atol=0.02)
    totals = chem.element_counts(qm7.Z).sum(axis=0).tolist()
    counts = dict(zip(chem.ELEMENTS.values(), totals, strict=True))
    assert counts == {"H": 61959, "C": 35761, "N": 6655, "O": 5978, "S": 297}
    assert qm7.to_frame().formula.nunique() == 176
