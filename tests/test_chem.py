"""qm7utils.chem: element counts, formulas, labels and the one check of (Z, R)."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import batch, benzene, methane, methanol, water
from qm7utils import chem


def test_element_counts_single_and_batched():
    np.testing.assert_array_equal(chem.element_counts(benzene()[0]), [6, 6, 0, 0, 0])
    Z, _ = batch(water(), methanol())
    counts = chem.element_counts(Z)
    np.testing.assert_array_equal(counts, [[2, 0, 0, 1, 0], [4, 1, 0, 1, 0]])
    assert counts.dtype == np.int64
    with pytest.raises(ValueError, match=r"unknown element\(s\) \[9\]"):
        chem.element_counts(np.array([6, 9]))


def test_formulas_labels_and_element_sets():
    assert chem.hill_formula(methanol()[0]) == "CH4O"
    assert chem.hill_formula(water()[0]) == "H2O"
    Z, _ = batch(methanol())
    assert chem.atom_labels(Z[0]) == ["C0", "O1", "H2", "H3", "H4", "H5"]
    with pytest.raises(ValueError, match="one molecule"):
        chem.atom_labels(Z)
    with pytest.raises(ValueError, match="unknown element"):
        chem.atom_labels(np.array([6, 9]))
    Zs, _ = batch(water(), methane(), methanol(), benzene(), (np.array([16, 7, 1]), np.eye(3)))
    assert chem.element_sets(Zs).tolist() == ["HO", "CH", "CHO", "CH", "HNS"]
    with pytest.raises(ValueError, match="n_molecules, n_atoms"):
        chem.element_sets(Zs[0])


def test_as_molecules_batches_one_molecule_and_checks_the_arrays():
    Z, R = water()
    Zb, Rb, single = chem.as_molecules(Z, R)
    assert single and Zb.shape == (1, 3) and Rb.shape == (1, 3, 3) and Zb.dtype == np.int64
    Zb, Rb, single = chem.as_molecules(*batch(water(), methane()))
    assert not single and Zb.shape == (2, 23)
    with pytest.raises(ValueError, match="NaN"):
        chem.as_molecules(Z, np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="numbers"):
        chem.as_molecules(np.array(["O", "H", "H"]), R)


def test_hill_formula():
    assert chem.hill_formula([6, 6, 6, 6, 7, 7, 0]) == "C4N2"  # carbon without hydrogen
    assert chem.hill_formula([8, 1, 1]) == "H2O"  # no carbon: alphabetical
    assert chem.hill_formula([7, 6, 1, 1, 1, 16]) == "CH3NS"
