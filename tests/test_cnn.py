"""qm7utils.models.cnn: the deck's ConvNets, the chapter's networks and training helpers.

Models are built and, at most, trained for a step or two on a handful of molecules.
"""

from __future__ import annotations

import numpy as np
import pytest

import qm7utils  # noqa: F401 - selects the JAX backend before Keras loads
from molecules import batch, benzene, methane, methanol, water
from qm7utils.evaluation import regression_metrics
from qm7utils.features import (
    coulomb_matrix,
    randomly_sorted_coulomb_matrix,
    sorted_coulomb_matrix,
    upper_triangle,
)
from qm7utils.models import cnn


@pytest.fixture(scope="module")
def molecules():
    """Four small molecules padded to 23 atoms, with made-up energies (kcal/mol)."""
    Z, R = batch(water(), methane(), benzene(), methanol())
    return Z, R, coulomb_matrix(Z, R)


def _layer_shapes(model):
    return [tuple(layer.output.shape) for layer in model.layers]


# --- The deck's networks ---------------------------------------------------------------------


def test_deck_2d_convnet_has_the_decks_shapes_and_parameter_count():
    model = cnn.build_deck_cnn_2d(seed=0)
    assert model.count_params() == 363_649
    shapes = _layer_shapes(model)
    assert shapes[0] == (None, 23, 23, 32)  # 7x7, same padding
    assert shapes[1:6] == [(None, 19, 19, 64), (None, 17, 17, 64), (None, 15, 15, 64),
                           (None, 13, 13, 128), (None, 11, 11, 128)]
    assert shapes[6] == (None, 15_488)
    out = model.predict(np.zeros((3, 23, 23, 1), np.float32), verbose=0)
    assert out.shape == (3, 1)


def test_deck_1d_convnet_has_the_decks_shapes_and_parameter_count():
    model = cnn.build_deck_cnn_1d(seed=0)
    assert model.count_params() == 339_809
    shapes = _layer_shapes(model)
    assert shapes[:4] == [(None, 520, 32), (None, 514, 128), (None, 510, 128), (None, 508, 256)]
    assert shapes[4] == (None, 130_048)
    assert model.predict(np.zeros((2, 529, 1), np.float32), verbose=0).shape == (2, 1)


def test_builders_are_seeded_and_reject_bad_sizes():
    a = cnn.build_dense_network(10, hidden=(8,), seed=3).get_weights()
    b = cnn.build_dense_network(10, hidden=(8,), seed=3).get_weights()
    c = cnn.build_dense_network(10, hidden=(8,), seed=4).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    with pytest.raises(ValueError, match="n_atoms must be >= 13"):
        cnn.build_deck_cnn_2d(n_atoms=10)
    with pytest.raises(ValueError, match="length must be >= 22"):
        cnn.build_deck_cnn_1d(length=20)
    with pytest.raises(ValueError, match="hidden"):
        cnn.build_dense_network(276, hidden=())
    with pytest.raises(ValueError, match="n_inputs"):
        cnn.build_dense_network(0)


def test_dense_network_size():
    model = cnn.build_dense_network(276, hidden=(400, 100), seed=0)
    assert model.count_params() == 276 * 400 + 400 + 400 * 100 + 100 + 100 + 1


# --- The atom-wise network -------------------------------------------------------------------


def test_atomwise_network_is_invariant_to_atom_order_and_ignores_padding(molecules):
    Z, R, C = molecules
    model = cnn.build_atomwise_network(hidden=(16, 8), seed=1)
    features, mask = cnn.atom_environments(C, Z)
    base = model.predict([features.astype(np.float32), mask], verbose=0).ravel()

    rng = np.random.default_rng(0)
    perm = rng.permutation(23)  # also moves padding slots: the mask follows them
    moved = model.predict([features[:, perm].astype(np.float32), mask[:, perm]], verbose=0)
    np.testing.assert_allclose(moved.ravel(), base, rtol=1e-5, atol=1e-5)

    junk = features.copy()
    junk[mask == 0] = 99.0  # anything in padded rows is masked out of the sum
    np.testing.assert_allclose(
        model.predict([junk.astype(np.float32), mask], verbose=0).ravel(), base, rtol=1e-5,
        atol=1e-5,
    )


def test_atom_environments_follow_the_atoms_not_their_numbering(molecules):
    Z, R, C = molecules
    features, mask = cnn.atom_environments(C, Z)
    assert features.shape == (4, 23, 23) and mask.shape == (4, 23)
    np.testing.assert_array_equal(mask.sum(axis=1), [3, 5, 12, 6])
    # diagonal first: 0.5 Z^2.4 of oxygen for water's first atom
    assert features[0, 0, 0] == pytest.approx(0.5 * 8**2.4)
    # the rest of each row is sorted in descending order, padding rows are zero
    assert np.all(np.diff(features[:, :, 1:], axis=2) <= 0)
    assert not features[mask == 0].any()
    # renumbering a molecule's atoms permutes its rows and nothing else
    Zp, Rp = batch(water(), methane(), benzene(), methanol())
    p = np.random.default_rng(1).permutation(12)
    Zp[2, :12], Rp[2, :12] = Zp[2, p], Rp[2, p]
    moved, _ = cnn.atom_environments(coulomb_matrix(Zp, Rp), Zp)
    np.testing.assert_allclose(moved[2, :12], features[2, p], atol=1e-12)
    with pytest.raises(ValueError, match="same b and n"):
        cnn.atom_environments(C, Z[:, :5])


# --- Scaling -----------------------------------------------------------------------------------


def test_input_scaler_round_trip_and_statistics():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, size=(50, 6))
    x[:, 2] = 7.0  # a constant feature (like an always-empty padding entry)
    scaler = cnn.InputScaler("standard").fit(x)
    z = scaler.transform(x)
    assert z.dtype == np.float32 and np.all(np.isfinite(z))
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(np.delete(z.std(axis=0), 2), 1, atol=1e-5)
    np.testing.assert_allclose(scaler.inverse_transform(z), x, rtol=1e-5, atol=1e-5)
    deck = cnn.InputScaler("deck")
    np.testing.assert_allclose(deck.transform([[370.0, 37.0]]), [[1.0, 0.1]], rtol=1e-6)
    with pytest.raises(ValueError, match="not fitted"):
        cnn.InputScaler("standard").transform(x)
    with pytest.raises(ValueError, match="kind must be one of"):
        cnn.InputScaler("minmax")


def test_input_scaler_with_a_mask_uses_real_rows_only():
    x = np.ones((2, 3, 4))
    x[0, 0] = 3.0
    mask = np.array([[1, 1, 0], [1, 0, 0]], np.float32)
    x[mask == 0] = 100.0  # padding rows must not enter the statistics
    scaler = cnn.InputScaler("standard").fit(x, mask)
    np.testing.assert_allclose(scaler.mean_, [5 / 3] * 4)
    z = scaler.transform(x, mask)
    assert not z[mask == 0].any()


@pytest.mark.parametrize("kind", ["deck", "standard", "dressed"])
def test_target_scaler_round_trip_and_mae_in_kcal(kind, molecules):
    Z = molecules[0]
    T = np.array([-230.0, -420.0, -1300.0, -500.0])
    scaler = cnn.TargetScaler(kind).fit(T, Z)
    y = scaler.transform(T, Z)
    assert y.dtype == np.float32
    np.testing.assert_allclose(scaler.inverse_transform(y, Z), T, rtol=1e-6)
    # MAE in scaled units times scale is the MAE in kcal/mol
    noisy = y + np.array([0.1, -0.2, 0.05, 0.0], np.float32)
    mae_kcal = np.abs(scaler.inverse_transform(noisy, Z) - T).mean()
    assert np.abs(noisy - y).mean() * scaler.scale == pytest.approx(mae_kcal, rel=1e-5)
    if kind == "deck":
        assert scaler.scale == 2000.0 and y[0] == pytest.approx(-0.115)


def test_dressed_atoms_recover_additive_energies():
    rng = np.random.default_rng(0)
    Z = np.zeros((40, 23), np.int64)
    for k in range(40):
        n = rng.integers(3, 20)
        Z[k, :n] = rng.choice([1, 6, 7, 8, 16], size=n)
    per_element = {1: -60.0, 6: -150.0, 7: -110.0, 8: -100.0, 16: -90.0}
    T = sum((Z == z).sum(axis=1) * e for z, e in per_element.items()) + 12.0
    scaler = cnn.TargetScaler("dressed").fit(T, Z)
    np.testing.assert_allclose(scaler.coef_, [*per_element.values(), 12.0], atol=1e-8)
    np.testing.assert_allclose(scaler.baseline(Z), T, atol=1e-8)
    assert scaler.scale == 1.0  # nothing left to scale
    with pytest.raises(ValueError, match="needs Z"):
        cnn.TargetScaler("dressed").fit(T)


def test_element_counts(molecules):
    counts = cnn.element_counts(molecules[0])
    np.testing.assert_array_equal(counts[2], [6, 6, 0, 0, 0])  # benzene: H, C, N, O, S
    np.testing.assert_array_equal(counts[3], [4, 1, 0, 1, 0])  # methanol


# --- Random atom orders --------------------------------------------------------------------------


def test_random_sorter_matches_the_reference_implementation(molecules):
    Z, R, C = molecules
    sorter = cnn.RandomSorter(C)
    fast = sorter.draw(np.random.default_rng(7), noise=2.0)
    reference = randomly_sorted_coulomb_matrix(Z, R, np.random.default_rng(7), noise=2.0)
    np.testing.assert_allclose(fast, reference)
    np.testing.assert_allclose(sorter.draw(np.random.default_rng(0), noise=0.0),
                               sorted_coulomb_matrix(Z, R))
    tri = sorter.draw_triangles(np.random.default_rng(7), 2.0, index=[1, 2])
    subset = randomly_sorted_coulomb_matrix(Z[[1, 2]], R[[1, 2]], np.random.default_rng(7), 2.0)
    np.testing.assert_allclose(tri, upper_triangle(subset))


def test_random_orders_are_valid_permutations_that_vary(molecules):
    Z, R, C = molecules
    sorter = cnn.RandomSorter(C)
    rng = np.random.default_rng(0)
    orders = [sorter.orders(rng, noise=5.0) for _ in range(20)]
    n_real = (Z > 0).sum(axis=1)
    for order in orders:
        assert np.all(np.sort(order, axis=1) == np.arange(23))  # a permutation of 0..22
        for k, n in enumerate(n_real):
            assert set(order[k, :n]) == set(range(n))  # real atoms first, padding last
    # benzene's six equivalent hydrogens are drawn in different orders
    assert len({tuple(o[2]) for o in orders}) > 1
    drawn = sorter.draw(rng, noise=5.0)
    np.testing.assert_allclose(np.linalg.eigvalsh(drawn), np.linalg.eigvalsh(C), atol=1e-9)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        sorter.draw(rng, noise=-1.0)
    with pytest.raises(ValueError, match="Generator"):
        sorter.draw(0)


# --- Training ------------------------------------------------------------------------------------


def test_train_logs_mae_in_kcal_per_epoch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 5)).astype(np.float32)
    y = (x @ rng.normal(size=5)).astype(np.float32)
    model = cnn.build_dense_network(5, hidden=(8,), seed=0)
    log = cnn.train(model, x, y, epochs=2, batch_size=8, validation_data=(x[:8], y[:8]),
                    target_scale=10.0, schedule="cosine", seed=0, name="tiny")
    assert log.name == "tiny" and log.epochs == 2 and len(log.val_mae) == 2
    assert len(log.learning_rate) == 2 and log.learning_rate[1] < 1e-3  # cosine decays
    assert log.wall_time_s > 0 and len(log.epoch_seconds) == 2
    mae_scaled = np.abs(cnn.predict(model, x[:8]) - y[:8]).mean()
    assert log.val_mae[-1] == pytest.approx(10.0 * mae_scaled, rel=1e-4)


def test_steps_per_execution_changes_the_speed_not_the_training():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype(np.float32)
    y = (x @ rng.normal(size=5)).astype(np.float32)
    logs = []
    for steps in (1, 4):
        model = cnn.build_dense_network(5, hidden=(8,), seed=0)
        logs.append(cnn.train(model, x, y, epochs=3, batch_size=8, validation_data=(x, y),
                              schedule="cosine", seed=0, steps_per_execution=steps))
    np.testing.assert_allclose(logs[0].train_mae, logs[1].train_mae, rtol=1e-5)
    np.testing.assert_allclose(logs[0].val_mae, logs[1].val_mae, rtol=1e-5)
    with pytest.raises(ValueError, match="steps_per_execution must be a positive int"):
        cnn.train(model, x, y, epochs=1, batch_size=8, steps_per_execution=0)


def test_train_with_augmentation_draws_new_inputs_every_epoch():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(16, 4)).astype(np.float32)
    y = base.sum(axis=1)
    calls = []

    def augment(generator):
        calls.append(1)
        return base + generator.normal(0, 0.01, size=base.shape).astype(np.float32)

    model = cnn.build_dense_network(4, hidden=(4,), seed=0)
    log = cnn.train(model, None, y, epochs=3, batch_size=5, augment=augment, seed=0)
    assert log.epochs == 3 and len(calls) >= 3


def test_train_rejects_bad_settings():
    model = cnn.build_dense_network(3, hidden=(2,), seed=0)
    x, y = np.zeros((4, 3), np.float32), np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="schedule"):
        cnn.train(model, x, y, epochs=1, batch_size=2, schedule="step")
    with pytest.raises(ValueError, match="early_stopping needs validation_data"):
        cnn.train(model, x, y, epochs=1, batch_size=2, early_stopping=3)
    with pytest.raises(ValueError, match="no progress bars"):
        cnn.train(model, x, y, epochs=1, batch_size=2, verbose=1)
    with pytest.raises(ValueError, match="epochs"):
        cnn.train(model, x, y, epochs=0, batch_size=2)


def test_early_stopping_restores_the_best_epoch():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = rng.normal(size=32).astype(np.float32)  # noise: the dev loss soon stops improving
    model = cnn.build_dense_network(3, hidden=(32,), seed=0)
    log = cnn.train(model, x[:16], y[:16], epochs=40, batch_size=4, learning_rate=0.01,
                    validation_data=(x[16:], y[16:]), early_stopping=2, seed=0)
    assert log.epochs < 40
    assert log.best_epoch == int(np.argmin(log.val_mae)) + 1
    restored = np.abs(cnn.predict(model, x[16:]) - y[16:]).mean()
    assert restored == pytest.approx(min(log.val_mae), rel=1e-4)


def test_restore_best_trains_every_epoch_and_keeps_the_best_one():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = rng.normal(size=32).astype(np.float32)  # noise: the dev loss soon stops improving
    dev = (x[16:], y[16:])
    model = cnn.build_dense_network(3, hidden=(32,), seed=0)
    log = cnn.train(model, x[:16], y[:16], epochs=15, batch_size=4, learning_rate=0.01,
                    validation_data=dev, restore_best=True, schedule="plateau",
                    plateau_patience=1, seed=0)
    assert log.epochs == 15  # no early stop
    assert log.best_epoch == int(np.argmin(log.val_mae)) + 1 < 15  # the last one was worse
    kept = np.abs(cnn.predict(model, dev[0]) - dev[1]).mean()
    assert kept == pytest.approx(min(log.val_mae), rel=1e-4)
    assert kept < log.val_mae[-1]
    # without it the model keeps the last epoch's weights
    last = cnn.build_dense_network(3, hidden=(32,), seed=0)
    log_last = cnn.train(last, x[:16], y[:16], epochs=15, batch_size=4, learning_rate=0.01,
                         validation_data=dev, schedule="plateau", plateau_patience=1, seed=0)
    assert log_last.best_epoch is None
    np.testing.assert_allclose(log_last.val_mae, log.val_mae, rtol=1e-5)  # same run
    final = np.abs(cnn.predict(last, dev[0]) - dev[1]).mean()
    assert final == pytest.approx(log_last.val_mae[-1], rel=1e-4)
    with pytest.raises(ValueError, match="restore_best needs validation_data"):
        cnn.train(model, x, y, epochs=1, batch_size=4, restore_best=True)


def test_train_dense_and_atomwise_return_runs_with_metrics(molecules):
    Z, R, C = molecules
    Z, C = np.repeat(Z, 3, axis=0), np.repeat(C, 3, axis=0)
    T = np.tile([-230.0, -420.0, -1300.0, -500.0], 3) + np.arange(12.0)
    split = {"train": np.arange(8), "test": np.arange(8, 10), "validation": np.arange(10, 12)}
    dense = cnn.train_dense(C, Z, T, split, epochs=1, batch_size=4, noise=1.0, n_draws=2)
    atomwise = cnn.train_atomwise(C, Z, T, split, epochs=1, batch_size=4, hidden=(8,))
    for run in (dense, atomwise):
        assert set(run.metrics) == {"train", "test", "validation"}
        assert run.predictions.shape == (12,)
        assert run.mae()["validation"] == pytest.approx(
            regression_metrics(T[10:], run.predictions[10:])["mae"])
    with pytest.raises(ValueError, match="needs a 'test' part"):
        cnn.train_dense(C, Z, T, {"train": np.arange(8)}, epochs=1)


def test_train_side_by_side_matches_training_here_and_returns_the_models(molecules):
    Z, R, C = molecules
    Z, C = np.repeat(Z, 3, axis=0), np.repeat(C, 3, axis=0)
    T = np.tile([-230.0, -420.0, -1300.0, -500.0], 3) + np.arange(12.0)
    split = {"train": np.arange(8), "test": np.arange(8, 10), "validation": np.arange(10, 12)}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 5)).astype(np.float32)
    y = (x @ rng.normal(size=5)).astype(np.float32)
    options = dict(x=x, y=y, epochs=3, batch_size=4, validation_data=(x[:8], y[:8]),
                   restore_best=True, seed=3)
    here = cnn.build_dense_network(5, hidden=(8,), seed=0)
    log_here = cnn.train(here, **options)
    dense_here = cnn.train_dense(C, Z, T, split, epochs=2, batch_size=4, hidden=(8,), seed=1)

    there = cnn.build_dense_network(5, hidden=(8,), seed=0)
    before = [w.copy() for w in there.get_weights()]
    log_there, dense_there = cnn.train_side_by_side(
        [(cnn.train, dict(model=there, **options)),
         (cnn.train_dense, dict(C=C, Z=Z, T=T, split=split, epochs=2, batch_size=4,
                                hidden=(8,), seed=1))],
        workers=2,
    )
    # the trained weights came back into the model that was passed
    assert not all(np.array_equal(a, b) for a, b in zip(before, there.get_weights(), strict=True))
    for a, b in zip(here.get_weights(), there.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(log_there.val_mae, log_here.val_mae, rtol=1e-4)
    assert log_there.best_epoch == log_here.best_epoch
    # a Run comes back whole, with a model that predicts as the one trained here
    np.testing.assert_allclose(dense_there.predictions, dense_here.predictions, rtol=1e-4)
    for a, b in zip(dense_here.model.get_weights(), dense_there.model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_train_side_by_side_rejects_bad_calls():
    model = cnn.build_dense_network(3, hidden=(2,), seed=0)
    with pytest.raises(ValueError, match="list of"):
        cnn.train_side_by_side("train")
    with pytest.raises(ValueError, match=r"calls\[0\] must be a \(function"):
        cnn.train_side_by_side([cnn.train])
    with pytest.raises(ValueError, match=r"calls\[1\]: the arguments do not fit train\(\)"):
        # checked before anything runs: calls[0] would start a training
        cnn.train_side_by_side([(cnn.train_dense, dict(C=0, Z=0, T=0, split=0, epochs=1)),
                                (cnn.train, dict(x=None, y=None))])
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        cnn.train_side_by_side([(cnn.train, dict(model=model, x=np.zeros((4, 3)),
                                                 y=np.zeros(4), epochs=0, batch_size=2))])


def test_evaluate_and_predict_augmented():
    T = np.array([1.0, 2.0, 3.0, 4.0])
    metrics = cnn.evaluate(T, T + 1.0, {"a": [0, 1], "b": [2, 3]})
    assert metrics["a"]["mae"] == 1.0 and metrics["b"]["rmse"] == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        cnn.evaluate(T, T[:3], {"a": [0]})
    model = cnn.build_dense_network(2, hidden=(2,), seed=0)
    x = np.ones((3, 2), np.float32)
    averaged = cnn.predict_augmented(model, lambda rng: x, n_draws=3)
    np.testing.assert_allclose(averaged, cnn.predict(model, x), rtol=1e-6)


def test_backend_is_jax():
    info = cnn.backend_versions()
    assert info["backend"] == "jax" and info["keras"].startswith("3.")


# --- Figures -----------------------------------------------------------------------------------


def test_training_curves_and_parity_figures():
    from qm7utils import plots

    a = cnn.TrainingLog("a", train_mae=[3.0, 2.0], val_mae=[3.5, 2.5])
    b = cnn.TrainingLog("b", train_mae=[4.0])
    figure = plots.training_curves([a, b])
    assert [trace.name for trace in figure.data] == ["a (train)", "a (validation)", "b (train)"]
    assert figure.layout.yaxis.type == "log"
    with pytest.raises(ValueError, match="empty"):
        plots.training_curves([])
    kept = cnn.TrainingLog("c", train_mae=[3.0, 2.0, 1.5], val_mae=[4.0, 2.5, 3.0], best_epoch=2)
    star = plots.training_curves([kept]).data[-1]
    assert star.name == "c (kept: epoch 2)" and star.marker.symbol == "star"
    assert (list(star.x), list(star.y)) == ([2], [2.5])
    parity = plots.cnn_parity([1.0, 2.0], {"m": [1.5, 2.5]})
    assert "MAE 0.5" in parity.data[0].name
    with pytest.raises(ValueError, match="has 1 values"):
        plots.cnn_parity([1.0, 2.0], {"m": [1.0]})


def test_summary_text_is_plain_ascii_with_the_counts():
    text = cnn.summary_text(cnn.build_deck_cnn_1d(seed=0))
    assert "339,809" in text and "(None, 130048)" in text
    assert text.isascii() and "\x1b" not in text  # no box drawing, no colour codes
