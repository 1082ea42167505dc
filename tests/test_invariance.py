"""qm7utils.representations.invariance: which representations survive which moves."""

from __future__ import annotations

import numpy as np
import pytest

from molecules import batch, methanol, random_rotation
from qm7utils.representations.coulomb import coulomb_matrix
from qm7utils.representations.invariance import invariance_table


def test_invariance_table_on_methanol():
    Z, R = methanol()
    table = invariance_table(Z, R, np.random.default_rng(0))
    invariant = table < 1e-9
    assert list(table.columns) == ["rotation", "translation", "atom order"]
    assert not invariant.loc["coordinates R"].any()
    assert invariant.loc["Coulomb matrix, atom order"].tolist() == [True, True, False]
    assert invariant.loc["distance matrix, atom order"].tolist() == [True, True, False]
    for name in ("Coulomb matrix, sorted by row sum (l1)",
                 "Coulomb matrix, sorted by row norm (l2)", "upper triangle, sorted values",
                 "Coulomb eigenvalues", "distance eigenvalues",
                 "sorted centralities (distance graph)"):
        assert invariant.loc[name].all(), name
    # Works on a padded molecule, and with custom features.
    Zp, Rp = batch((Z, R))
    custom = invariance_table(Zp[0], Rp[0], np.random.default_rng(1),
                                features={"first atom": lambda z, r: r[0]})
    assert list(custom.index) == ["first atom"]
    moved = custom.loc["first atom"]
    assert moved["rotation"] > 0 and 0 < moved["translation"] <= 5.0 and moved["atom order"] > 0
    with pytest.raises(ValueError, match="one molecule"):
        invariance_table(Zp, Rp, np.random.default_rng(0))
    with pytest.raises(ValueError, match="Generator"):
        invariance_table(Z, R, 0)


def test_the_random_rotation_of_the_tests_is_a_proper_rotation():
    rotation = random_rotation(np.random.default_rng(5))
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    # Applied by hand, it leaves the Coulomb matrix unchanged.
    Z, R = methanol()
    rotation = random_rotation(np.random.default_rng(2))
    np.testing.assert_allclose(coulomb_matrix(Z, R @ rotation.T), coulomb_matrix(Z, R),
                               atol=1e-12)
