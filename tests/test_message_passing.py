"""qm7utils.models.message_passing: the SchNet-style network, its two input forms, its training.

Tiny networks (8 features) on small molecules built by hand; no real data.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import qm7utils  # noqa: F401 - selects the JAX backend before Keras loads
from molecules import batch, benzene, methane, methanol, random_rotation, water
from qm7utils.models.message_passing import (
    FitLog,
    SchNet,
    fit,
    make_train_step,
    model_weights,
    predict,
    shifted_softplus,
)
from qm7utils.representations.neighbours import (
    Capacity,
    neighbour_graphs,
    pack,
    pad,
    radial_basis,
)

CUTOFF, N_BASIS = 2.3, 8  # Å: benzene's meta and para pairs are not neighbours
CAPACITY = Capacity(molecules=4, atoms=40, edges=160)


def featurize(Z, R):
    graphs = neighbour_graphs(Z, R, CUTOFF)
    return graphs, radial_basis(graphs.distance, CUTOFF, N_BASIS)


@pytest.fixture(scope="module")
def data():
    """Water, methane, benzene and methanol: graphs and basis."""
    return featurize(*batch(water(), methane(), benzene(), methanol()))


def random_model(graphs, basis, seed=0, features=8):
    """A built SchNet with every weight random, biases included (none is 0 as at init)."""
    keras.utils.set_random_seed(seed)
    model = SchNet(features=features, interactions=2)
    model(pack(graphs, basis, [0], CAPACITY))
    rng = np.random.default_rng(seed)
    for variable in model.trainable_variables:
        variable.assign(0.3 * rng.normal(size=variable.shape).astype(np.float32))
    return model


@pytest.fixture(scope="module")
def model(data):
    return random_model(*data)


def energies(model, graphs, basis, molecules):
    return np.asarray(model(pack(graphs, basis, molecules, CAPACITY)))[: len(molecules)]


def test_shifted_softplus_is_zero_at_zero():
    x = np.array([-50.0, 0.0, 1.0, 50.0], np.float32)
    y = np.asarray(shifted_softplus(x))
    np.testing.assert_allclose(y, [-math.log(2.0), 0.0, math.log1p(math.e) - math.log(2.0),
                                   50.0 - math.log(2.0)], rtol=1e-6, atol=1e-6)


def test_packed_and_padded_forms_agree(model, data):
    graphs, basis = data
    packed = energies(model, graphs, basis, [0, 1, 2, 3])
    padded = np.asarray(model(pad(graphs, basis, [0, 1, 2, 3])))
    assert packed.shape == padded.shape == (4,)
    assert np.ptp(packed) > 0.1  # four different molecules, four different energies
    np.testing.assert_allclose(packed, padded, rtol=1e-5, atol=1e-5 * np.abs(packed).max())


def test_padding_slots_change_nothing(model, data):
    graphs, basis = data
    x = pack(graphs, basis, [2, 0], CAPACITY)
    reference = np.asarray(model(x))
    np.testing.assert_array_equal(reference[2:], 0.0)  # empty molecule rows
    free = x["molecule"] == CAPACITY.molecules
    x["element"][free] = 4  # padding atoms as sulphur instead of hydrogen
    np.testing.assert_allclose(np.asarray(model(x)), reference, rtol=1e-6)
    y = pad(graphs, basis, [2, 0])
    y["element"][y["atom_mask"] == 0] = 4
    y["basis"][y["neighbours"] == 0] = 1.0  # non-neighbours' basis is masked out
    np.testing.assert_allclose(np.asarray(model(y)), reference[:2], rtol=1e-5)


def test_energies_are_invariant_to_rotation_translation_and_renumbering(model):
    rng = np.random.default_rng(3)
    for make in (benzene, methanol):
        Z, R = make()
        reference = energies(model, *featurize(Z, R), [0])
        p = rng.permutation(len(Z))
        moved = R[p] @ random_rotation(rng).T + rng.normal(size=3) * 10.0
        np.testing.assert_allclose(energies(model, *featurize(Z[p], moved), [0]), reference,
                                   rtol=1e-5)
        # mirror image: distances unchanged as well
        np.testing.assert_allclose(energies(model, *featurize(Z, -R), [0]), reference,
                                   rtol=1e-5)


def test_energy_does_not_depend_on_the_other_molecules_of_the_batch(model, data):
    graphs, basis = data
    alone = np.concatenate([energies(model, graphs, basis, [i]) for i in range(4)])
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 2, 0], [1, 3]):
        np.testing.assert_allclose(energies(model, graphs, basis, order), alone[order],
                                   rtol=1e-5)
    padded = np.concatenate([np.asarray(model(pad(graphs, basis, [i]))) for i in range(4)])
    np.testing.assert_allclose(padded, alone, rtol=1e-5)


def test_train_step_is_the_same_on_both_forms(data):
    graphs, basis = data
    y = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    losses, weights = {}, {}
    for form, x in (("packed", pack(graphs, basis, [0, 1, 2, 3], CAPACITY)),
                    ("padded", pad(graphs, basis, [0, 1, 2, 3]))):
        net = random_model(graphs, basis, seed=1)
        optimizer = keras.optimizers.Adam(1e-2)
        optimizer.build(net.trainable_variables)
        state = model_weights(net, optimizer)
        predicted = np.asarray(net(x))[:4]
        step = make_train_step(net, optimizer)
        loss, state = step(state, x, y)
        losses[form] = float(loss)
        assert losses[form] == pytest.approx(np.mean(np.abs(predicted - y)), rel=1e-5)
        weights[form] = [np.asarray(w) for w in state[0]]
    assert losses["packed"] == pytest.approx(losses["padded"], rel=1e-5)
    for a, b in zip(weights["packed"], weights["padded"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def trained():
    """Twelve molecules (the four, shifted a little, three times), made-up energies, fitted."""
    rng = np.random.default_rng(0)
    Z, R = batch(water(), methane(), benzene(), methanol())
    Z, R = np.tile(Z, (3, 1)), np.tile(R, (3, 1, 1))
    R = R + 0.05 * rng.normal(size=R.shape) * (Z > 0)[..., None]
    graphs, basis = featurize(Z, R)
    y = np.tile([-0.5, 0.3, 1.5, -1.0], 3) + 0.1 * rng.normal(size=12)
    train, validation = np.arange(10), np.array([10, 11])
    keras.utils.set_random_seed(0)
    net = SchNet(features=8, interactions=2)
    net(pack(graphs, basis, [0], CAPACITY))
    before = [np.asarray(v.value).copy() for v in net.trainable_variables]
    mae_before = np.mean(np.abs(predict(net, graphs, basis, train, CAPACITY) - y[train]))
    log = fit(net, graphs, basis, y, train, validation, epochs=15, batch_size=4,
              learning_rate=2e-2, seed=0)
    return net, graphs, basis, y, train, validation, log, before, mae_before


def test_fit_reduces_the_training_error_and_keeps_the_last_weights(trained):
    net, graphs, basis, y, train, validation, log, before, mae_before = trained
    assert isinstance(log, FitLog) and log.epochs == 15
    assert len(log.seconds) == len(log.train_mae) == len(log.validation_mae) == 15
    assert np.all(np.diff(log.seconds) > 0)
    assert log.train_mae[-1] < 0.7 * log.train_mae[0]
    mae_after = np.mean(np.abs(predict(net, graphs, basis, train, CAPACITY) - y[train]))
    assert mae_after < 0.7 * mae_before
    # the model holds the last epoch's weights: the logged validation MAE is reproduced
    assert any(not np.allclose(a, np.asarray(v.value))
               for a, v in zip(before, net.trainable_variables, strict=True))
    validation_mae = np.mean(np.abs(predict(net, graphs, basis, validation, CAPACITY)
                                    - y[validation]))
    assert validation_mae == pytest.approx(log.validation_mae[-1], rel=1e-5)


def test_fit_without_validation_and_its_errors(trained):
    net, graphs, basis, y, train, *_ = trained
    log = fit(net, graphs, basis, y, train, epochs=1, batch_size=4)
    assert log.epochs == len(log.train_mae) == 1 and log.validation_mae == []
    with pytest.raises(ValueError, match="y has 11 values for 12 molecules"):
        fit(net, graphs, basis, y[:11], train, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        fit(net, graphs, basis, y, train, epochs=0)


def test_predict_keeps_the_order_of_the_molecules(trained):
    net, graphs, basis, *_ = trained
    small = Capacity(molecules=2, atoms=40, edges=160)  # several batches
    everything = predict(net, graphs, basis, np.arange(12), small)
    assert everything.shape == (12,)
    np.testing.assert_allclose(everything, predict(net, graphs, basis, np.arange(12), CAPACITY),
                               rtol=1e-5)
    order = [7, 2, 11, 0, 5]
    np.testing.assert_allclose(predict(net, graphs, basis, order, small), everything[order],
                               rtol=1e-5)
    assert predict(net, graphs, basis, [], small).shape == (0,)


def test_schnet_checks_its_sizes():
    with pytest.raises(ValueError, match="features"):
        SchNet(features=1)
    with pytest.raises(ValueError, match="interactions"):
        SchNet(features=8, interactions=0)


def test_energy_is_continuous_as_a_neighbour_crosses_the_cutoff(data):
    """The filter has no bias: at the cutoff the basis is 0, so is the filter, so is the message."""
    model = random_model(*data)
    bohr = 1 / 0.529177210903  # the graphs read Bohr
    energies = []
    for distance in (CUTOFF - 1e-4, CUTOFF + 1e-4):
        Z = np.array([[6, 8]])
        R = np.array([[[0.0, 0.0, 0.0], [distance * bohr, 0.0, 0.0]]])
        graphs, basis = featurize(Z, R)
        energies.append(float(model(pack(graphs, basis, [0], CAPACITY))[0]))
    before, after = energies
    assert abs(before - after) < 1e-4 * max(1.0, abs(before))
    # ...while the two atoms' energy does depend on their distance well inside the cutoff
    near = featurize(np.array([[6, 8]]), np.array([[[0.0, 0, 0], [1.2 * bohr, 0, 0]]]))
    assert abs(float(model(pack(*near, [0], CAPACITY))[0]) - before) > 1e-3
