"""qm7utils.models.training and .recipes: scaling, the training loop, the chapter's recipes.

Networks are tiny and trained for a few epochs on a handful of inputs.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import qm7utils  # noqa: F401 - selects the JAX backend before Keras loads
from molecules import batch, benzene, methane, methanol, water
from qm7utils.evaluation import regression_metrics
from qm7utils.models.baseline import DressedAtoms
from qm7utils.models.networks import build_dense_network
from qm7utils.models.recipes import train_atomwise, train_dense
from qm7utils.models.training import (
    InputScaler,
    TargetScaler,
    TrainConfig,
    evaluate,
    predict,
    predict_augmented,
    train,
    train_side_by_side,
)
from qm7utils.representations.coulomb import coulomb_matrix


@pytest.fixture(scope="module")
def molecules():
    """Four small molecules padded to 23 atoms, repeated three times, made-up energies."""
    Z, R = batch(water(), methane(), benzene(), methanol())
    C = coulomb_matrix(Z, R)
    Z, C = np.repeat(Z, 3, axis=0), np.repeat(C, 3, axis=0)
    T = np.repeat([-230.0, -420.0, -1300.0, -500.0], 3) + np.tile([0.0, 3.0, -2.0], 4)
    split = {"train": np.arange(0, 12, 2), "validation": np.array([1, 5, 9]),
             "test": np.array([3, 7, 11])}
    return Z, C, T, split


def _data(n=24, d=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x, (x @ rng.normal(size=d)).astype(np.float32)


# --- Scaling -----------------------------------------------------------------------------------


def test_input_scaler_round_trip_and_statistics():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, size=(50, 6))
    x[:, 2] = 7.0  # a constant feature (like an always-empty padding entry)
    scaler = InputScaler("standard").fit(x)
    z = scaler.transform(x)
    assert z.dtype == np.float32 and np.all(np.isfinite(z))
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(np.delete(z.std(axis=0), 2), 1, atol=1e-5)
    np.testing.assert_allclose(scaler.inverse_transform(z), x, rtol=1e-5, atol=1e-5)
    deck = InputScaler("deck").fit(x)
    np.testing.assert_allclose(deck.transform([[370.0, 37.0]]), [[1.0, 0.1]], rtol=1e-6)
    with pytest.raises(ValueError, match="not fitted"):
        InputScaler("standard").transform(x)
    with pytest.raises(ValueError, match="feature shape"):
        scaler.transform(x[:, :4])
    with pytest.raises(ValueError, match="kind must be one of"):
        InputScaler("minmax")


def test_input_scaler_with_a_mask_uses_real_rows_only():
    x = np.ones((2, 3, 4))
    x[0, 0] = 3.0
    mask = np.array([[1, 1, 0], [1, 0, 0]], np.float32)
    x[mask == 0] = 100.0  # padding rows must not enter the statistics
    scaler = InputScaler("standard").fit(x, mask)
    np.testing.assert_allclose(scaler.mean_, [5 / 3] * 4)
    z = scaler.transform(x, mask)
    assert not z[mask == 0].any()


@pytest.mark.parametrize("kind", ["deck", "standard", "dressed"])
def test_target_scaler_round_trip_and_mae_in_kcal(kind, molecules):
    Z, _, T, _ = molecules
    scaler = TargetScaler(kind).fit(T, Z)
    y = scaler.transform(T, Z)
    assert y.dtype == np.float32
    np.testing.assert_allclose(scaler.inverse_transform(y, Z), T, rtol=1e-6)
    # MAE in scaled units times scale_ is the MAE in kcal/mol
    noisy = y + np.linspace(-0.2, 0.2, len(y)).astype(np.float32)
    mae_kcal = np.abs(scaler.inverse_transform(noisy, Z) - T).mean()
    assert np.abs(noisy - y).mean() * scaler.scale_ == pytest.approx(mae_kcal, rel=1e-5)
    if kind == "deck":
        assert scaler.scale_ == 2000.0 and y[0] == pytest.approx(-0.115)
    with pytest.raises(ValueError, match="not fitted"):
        TargetScaler(kind).transform(T, Z)


def test_dressed_targets_subtract_the_one_dressed_atom_baseline(molecules):
    Z, _, T, _ = molecules
    scaler = TargetScaler("dressed").fit(T[:8], Z[:8])
    baseline = DressedAtoms().fit(Z[:8], T[:8]).predict(Z)
    np.testing.assert_allclose(scaler.dressed_.energies_,
                               DressedAtoms().fit(Z[:8], T[:8]).energies_)
    residual = T - baseline
    expected = (residual - residual[:8].mean()) / residual[:8].std()
    np.testing.assert_allclose(scaler.transform(T, Z), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="needs Z"):
        TargetScaler("dressed").fit(T)
    with pytest.raises(ValueError, match="needs the molecules' Z"):
        scaler.transform(T)


def test_dressed_targets_of_exactly_additive_energies_leave_nothing_to_scale():
    rng = np.random.default_rng(0)
    Z = np.zeros((40, 23), np.int64)
    for k in range(40):
        n = rng.integers(3, 20)
        Z[k, :n] = rng.choice([1, 6, 7, 8, 16], size=n)
    per_element = {1: -60.0, 6: -150.0, 7: -110.0, 8: -100.0, 16: -90.0}
    T = sum((Z == z).sum(axis=1) * e for z, e in per_element.items())  # no intercept
    scaler = TargetScaler("dressed").fit(T, Z)
    np.testing.assert_allclose(scaler.dressed_.energies_, list(per_element.values()),
                               atol=1e-8)
    assert scaler.scale_ == 1.0
    np.testing.assert_allclose(scaler.transform(T, Z), 0.0, atol=1e-6)


# --- The training loop -------------------------------------------------------------------------


def test_train_config_checks_its_values():
    config = TrainConfig(epochs=3)
    assert dataclasses.replace(config, batch_size=8).batch_size == 8
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(epochs=1, schedule="step")
    with pytest.raises(ValueError, match="no progress bars"):
        TrainConfig(epochs=1, verbose=1)
    with pytest.raises(ValueError, match="epochs == 0"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="steps_per_execution"):
        TrainConfig(epochs=1, steps_per_execution=0)
    with pytest.raises(ValueError, match="plateau_factor"):
        TrainConfig(epochs=1, plateau_factor=1.5)
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig(epochs=1, learning_rate=0.0)
    with pytest.raises(TypeError, match="patience"):
        TrainConfig(epochs=1, patience=2.5)


def test_train_logs_mae_in_kcal_per_epoch():
    x, y = _data()
    model = build_dense_network(5, hidden=(8,), seed=0)
    log = train(model, x, y, TrainConfig(epochs=2, batch_size=8, schedule="cosine"),
                validation_data=(x[:8], y[:8]), target_scale=10.0, name="tiny")
    assert log.name == "tiny" and log.epochs == 2 and len(log.val_mae) == 2
    assert len(log.learning_rate) == 2 and log.learning_rate[1] < 1e-3  # cosine decays
    assert log.wall_time_s > 0 and len(log.epoch_seconds) == 2
    mae_scaled = np.abs(predict(model, x[:8]) - y[:8]).mean()
    assert log.val_mae[-1] == pytest.approx(10.0 * mae_scaled, rel=1e-4)


def test_steps_per_execution_changes_the_speed_not_the_training():
    x, y = _data(40)
    logs = []
    for steps in (1, 4):
        model = build_dense_network(5, hidden=(8,), seed=0)
        config = TrainConfig(epochs=3, batch_size=8, schedule="cosine",
                             steps_per_execution=steps)
        logs.append(train(model, x, y, config, validation_data=(x, y)))
    np.testing.assert_allclose(logs[0].train_mae, logs[1].train_mae, rtol=1e-5)
    np.testing.assert_allclose(logs[0].val_mae, logs[1].val_mae, rtol=1e-5)


def test_train_with_augmentation_draws_new_inputs_every_epoch():
    base, _ = _data(16, 4)
    y = base.sum(axis=1)
    calls = []

    def augment(generator):
        calls.append(1)
        return base + generator.normal(0, 0.01, size=base.shape).astype(np.float32)

    model = build_dense_network(4, hidden=(4,), seed=0)
    log = train(model, None, y, TrainConfig(epochs=3, batch_size=5), augment=augment)
    assert log.epochs == 3 and len(calls) >= 3


def test_train_rejects_what_it_cannot_do():
    model = build_dense_network(3, hidden=(2,), seed=0)
    x, y = np.zeros((4, 3), np.float32), np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="need validation_data"):
        train(model, x, y, TrainConfig(epochs=1, batch_size=2, patience=3))
    with pytest.raises(ValueError, match="need validation_data"):
        train(model, x, y, TrainConfig(epochs=1, batch_size=2, restore_best=True))
    with pytest.raises(ValueError, match="TrainConfig"):
        train(model, x, y, {"epochs": 1})


def test_early_stopping_restores_the_best_epoch():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = rng.normal(size=32).astype(np.float32)  # noise: the validation loss soon stalls
    model = build_dense_network(3, hidden=(32,), seed=0)
    config = TrainConfig(epochs=40, batch_size=4, learning_rate=0.01, patience=2)
    log = train(model, x[:16], y[:16], config, validation_data=(x[16:], y[16:]))
    assert log.epochs < 40
    assert log.best_epoch == int(np.argmin(log.val_mae)) + 1
    restored = np.abs(predict(model, x[16:]) - y[16:]).mean()
    assert restored == pytest.approx(min(log.val_mae), rel=1e-4)


def test_restore_best_trains_every_epoch_and_keeps_the_best_one():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = rng.normal(size=32).astype(np.float32)
    validation = (x[16:], y[16:])
    config = TrainConfig(epochs=15, batch_size=4, learning_rate=0.01, schedule="plateau",
                         plateau_patience=1, restore_best=True)
    model = build_dense_network(3, hidden=(32,), seed=0)
    log = train(model, x[:16], y[:16], config, validation_data=validation)
    assert log.epochs == 15  # no early stop
    assert log.best_epoch == int(np.argmin(log.val_mae)) + 1 < 15  # the last one was worse
    kept = np.abs(predict(model, validation[0]) - validation[1]).mean()
    assert kept == pytest.approx(min(log.val_mae), rel=1e-4)
    assert kept < log.val_mae[-1]
    # without it the model keeps the last epoch's weights
    last = build_dense_network(3, hidden=(32,), seed=0)
    log_last = train(last, x[:16], y[:16], dataclasses.replace(config, restore_best=False),
                     validation_data=validation)
    assert log_last.best_epoch is None
    np.testing.assert_allclose(log_last.val_mae, log.val_mae, rtol=1e-5)  # same run
    final = np.abs(predict(last, validation[0]) - validation[1]).mean()
    assert final == pytest.approx(log_last.val_mae[-1], rel=1e-4)


def test_evaluate_and_predict_augmented():
    T = np.array([1.0, 2.0, 3.0, 4.0])
    metrics = evaluate(T, T + 1.0, {"a": [0, 1], "b": [2, 3]})
    assert metrics["a"]["mae"] == 1.0 and metrics["b"]["rmse"] == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        evaluate(T, T[:3], {"a": [0]})
    model = build_dense_network(2, hidden=(2,), seed=0)
    x = np.ones((3, 2), np.float32)
    averaged = predict_augmented(model, lambda rng: x * rng.uniform(0.5, 1.5), n_draws=3)
    rng = np.random.default_rng(0)
    manual = np.mean([predict(model, x * rng.uniform(0.5, 1.5)) for _ in range(3)], axis=0)
    np.testing.assert_allclose(averaged, manual, rtol=1e-6)
    with pytest.raises(ValueError, match="n_draws"):
        predict_augmented(model, lambda rng: x, n_draws=0)


# --- The chapter's recipes and side-by-side training --------------------------------------------


def test_train_dense_and_atomwise_return_runs_with_metrics(molecules):
    Z, C, T, split = molecules
    config = TrainConfig(epochs=1, batch_size=4)
    dense = train_dense(C, Z, T, split, config, noise=1.0, n_draws=2)
    atomwise = train_atomwise(C, Z, T, split, config, hidden=(8,))
    for run in (dense, atomwise):
        assert set(run.metrics) == {"train", "validation", "test"}
        assert run.predictions.shape == (12,) and run.log.val_mae
        assert run.mae()["test"] == pytest.approx(
            regression_metrics(T[split["test"]], run.predictions[split["test"]])["mae"])
        assert run.parameters["epochs"] == 1 and run.target_scaler.kind == "dressed"
    with pytest.raises(ValueError, match="needs a 'validation' part"):
        train_dense(C, Z, T, {"train": np.arange(8), "test": np.arange(8, 12)}, config)


def test_train_side_by_side_matches_training_here_and_returns_the_models(molecules):
    Z, C, T, split = molecules
    x, y = _data()
    config = TrainConfig(epochs=3, batch_size=4, restore_best=True, seed=3)
    here = build_dense_network(5, hidden=(8,), seed=0)
    log_here = train(here, x, y, config, validation_data=(x[:8], y[:8]))
    dense_config = TrainConfig(epochs=2, batch_size=4, seed=1)
    dense_here = train_dense(C, Z, T, split, dense_config, hidden=(8,))

    there = build_dense_network(5, hidden=(8,), seed=0)
    before = [w.copy() for w in there.get_weights()]
    log_there, dense_there = train_side_by_side(
        [(train, dict(model=there, x=x, y=y, config=config, validation_data=(x[:8], y[:8]))),
         (train_dense, dict(C=C, Z=Z, T=T, split=split, config=dense_config, hidden=(8,)))],
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
    with pytest.raises(ValueError, match="list of"):
        train_side_by_side("train")
    with pytest.raises(ValueError, match=r"calls\[0\] must be a \(function"):
        train_side_by_side([train])
    with pytest.raises(ValueError, match=r"calls\[1\]: the arguments do not fit train\(\)"):
        # checked before anything runs: calls[0] would start a training
        train_side_by_side([(train_dense, dict(C=0, Z=0, T=0, split=0, config=None)),
                            (train, dict(x=None, y=None))])
