"""qm7utils.describe: tables of the arrays, the elements and the folds of QM7."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import batch, benzene, methane, methanol, water
from qm7utils import describe as D
from qm7utils.data import QM7
from qm7utils.representations.coulomb import coulomb_matrix, sort_by_row_norm


def _tiny_qm7() -> QM7:
    Z, R = batch(water(), methane(), methanol(), benzene(), water())
    X = sort_by_row_norm(coulomb_matrix(Z, R), norm="l1")
    T = np.array([-230.0, -420.0, -510.0, -1360.0, -231.0])
    return QM7(X=X, T=T, P=np.arange(5).reshape(5, 1), Z=Z, R=R)


def test_describe_arrays_and_fold_table():
    qm7 = _tiny_qm7()
    table = D.describe_arrays(qm7)
    assert list(table.index) == ["X", "T", "P", "Z", "R"]
    assert table.loc["R", "unit"] == "Bohr" and table.loc["T", "unit"] == "kcal/mol"
    assert table.loc["X", "shape"] == "(5, 23, 23)"
    assert table.loc["Z", "max"] == 8
    folds = D.fold_table(qm7)
    assert folds["molecules"].tolist() == [1] * 5
    assert folds.loc[3, "mean_energy"] == -1360.0
    with pytest.raises(TypeError, match="QM7 object"):
        D.describe_arrays({"X": 1})


def test_composition_table_counts_atoms_and_molecules():
    Z, _ = batch(water(), methane(), methanol())
    table = D.composition_table(Z)
    assert table.loc["H", "atoms"] == 2 + 4 + 4
    assert table.loc["O", "molecules"] == 2 and table.loc["C", "molecules"] == 2
    assert table.loc["S", "atoms"] == 0
    assert table["share_of_atoms"].sum() == pytest.approx(1.0)
    assert table.loc["H", "max_per_molecule"] == 4


def test_fold_stratification_recognises_energy_stratified_folds():
    rng = np.random.default_rng(0)
    T = rng.normal(size=500)
    order = np.argsort(T)
    stratified = order.reshape(-1, 5).T  # fold k takes the k-th of each block of 5
    assert D.fold_stratification(T, stratified) == 1.0
    shuffled = rng.permutation(500).reshape(5, 100)
    assert D.fold_stratification(T, shuffled) < 0.2
    with pytest.raises(ValueError, match="cover"):
        D.fold_stratification(T, shuffled[:, :50])


@pytest.mark.data
def test_qm7_folds_are_stratified_by_energy(qm7):
    assert D.fold_stratification(qm7.T, qm7.P) == 1.0
    table = D.composition_table(qm7.Z)
    assert table["atoms"].to_dict() == {"H": 61959, "C": 35761, "N": 6655, "O": 5978, "S": 297}
    assert table.loc["S", "molecules"] == 297
