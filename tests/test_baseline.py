"""qm7utils.models.baseline: the dressed-atom model."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import batch, benzene, methane, methanol, water
from qm7utils.models.baseline import DressedAtoms


def test_recovers_exact_per_element_energies():
    Z, _ = batch(water(), methane(), methanol(), benzene())
    truth = {"H": -60.0, "C": -150.0, "N": -110.0, "O": -90.0, "S": -70.0}
    counts = {s: (Z == z).sum(axis=1) for z, s in {1: "H", 6: "C", 8: "O"}.items()}
    y = sum(truth[s] * n for s, n in counts.items())
    model = DressedAtoms().fit(Z, y)
    np.testing.assert_allclose(model.predict(Z), y, atol=1e-9)
    fitted = model.as_dict()
    for symbol in ("H", "C", "O"):
        assert fitted[symbol] == pytest.approx(truth[symbol])
    # No intercept: a molecule is the sum of its atoms, so doubling it doubles the energy.
    single = model.predict(np.array([[8, 1, 1] + [0] * 20]))
    double = model.predict(np.array([[8, 1, 1, 8, 1, 1] + [0] * 17]))
    assert double[0] == pytest.approx(2 * single[0])


def test_errors():
    from sklearn.exceptions import NotFittedError

    Z, _ = batch(water(), methane())
    with pytest.raises(NotFittedError, match="not fitted yet. Call 'fit'"):
        DressedAtoms().predict(Z)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        DressedAtoms().as_dict()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        DressedAtoms().fit(Z, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="y contains NaN"):
        DressedAtoms().fit(Z, [1.0, np.nan])
    with pytest.raises(ValueError, match="unknown element"):
        DressedAtoms().fit(np.array([[9, 1]]), [1.0])
    with pytest.raises(ValueError, match="expecting 23 features"):
        DressedAtoms().fit(Z, [-200.0, -400.0]).predict(Z[:, :5])


@pytest.mark.data
def test_on_qm7_the_baseline_is_the_book_reference(qm7):
    from qm7utils.evaluation import p_fold_scores

    errors = p_fold_scores(DressedAtoms(), qm7.Z, qm7.T, qm7.P)["mae"]
    # About 15-16 kcal/mol: what every model of the book must beat.
    assert 14 < np.mean(errors) < 17


def test_is_a_scikit_learn_regressor():
    from sklearn.base import clone

    Z, _ = batch(water(), methane(), methanol())
    y = np.array([-200.0, -400.0, -480.0])
    model = clone(DressedAtoms()).fit(Z, y)
    assert model.score(Z, y) == pytest.approx(1.0)


def test_empty_batches_and_molecules_without_atoms():
    Z, _ = batch(water(), methane(), methanol())
    y = np.array([-200.0, -400.0, -480.0])
    with pytest.raises(ValueError, match=r"0 sample\(s\).*DressedAtoms"):
        DressedAtoms().fit(Z[:0], y[:0])
    no_atoms = Z.copy()
    no_atoms[1] = 0
    with pytest.raises(ValueError, match=r"1 training molecule\(s\) have no atoms.*rows \[1\]"):
        DressedAtoms().fit(no_atoms, y)
    model = DressedAtoms().fit(Z, y)
    # Documented results: no atoms, energy 0; an element never seen in training, energy 0.
    assert model.predict(no_atoms)[1] == 0.0
    assert model.as_dict()["S"] == 0.0 and model.as_dict()["N"] == 0.0
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        model.predict(Z[:0])
