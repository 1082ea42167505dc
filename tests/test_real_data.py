"""The real qm7.mat: layout, units, and the conventions the book teaches."""

from __future__ import annotations

import numpy as np
import pytest

from qm7utils import chem
from qm7utils.data import QM7DataError, validate_arrays

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


def _sorted_by(qm7, norm):
    from qm7utils.representations.coulomb import sorted_coulomb_matrix

    return sorted_coulomb_matrix(qm7.Z, qm7.R, norm=norm)


def _arrays(qm7, **changes):
    arrays = {"X": qm7.X, "T": qm7.T[None], "P": qm7.P, "Z": qm7.Z, "R": qm7.R}
    return {**arrays, **changes}


def test_real_qm7_passes_its_content_checks_ties_included(qm7):
    """The loaded file passed validate_arrays: X against Z and R, with its six broken ties."""
    from qm7utils.representations.coulomb import agrees_as_sets

    assert agrees_as_sets(qm7.Z, qm7.R, qm7.X).all()
    ours = _sorted_by(qm7, "l1")
    assert np.abs(ours - qm7.X).max() > 1.0  # some ties are broken the other way in the file
    reloaded = validate_arrays(_arrays(qm7, X=qm7.X.astype(np.float32)), source="copy")
    np.testing.assert_array_equal(reloaded.P, qm7.P)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda q: {"P": q.P.T}, r"P has shape \(1433, 5\), expected \(5, 1433\).*transposed"),
        (lambda q: {"P": q.P + 1}, "1-based"),
        (lambda q: {"X": q.X[:, ::-1, ::-1]}, r"X is not .* in 7165 molecule"),
        (lambda q: {"X": np.zeros_like(q.X)}, r"X is not .* in 7165 molecule"),
        (lambda q: {"X": q.X[::-1]}, "X is not the Coulomb matrix"),
        (lambda q: {"X": _sorted_by(q, "l2")}, "X is not the Coulomb matrix"),
    ],
    ids=["P-transposed", "P-one-based", "X-reversed", "X-zero", "X-molecules-reversed",
         "X-sorted-by-l2"],
)
def test_real_qm7_with_a_defect_is_refused(qm7, change, message):
    with pytest.raises(QM7DataError, match=message):
        validate_arrays(_arrays(qm7, **change(qm7)), source="a damaged copy")
