r"""The chapter's two recipes: from Coulomb matrices to a trained network and its metrics.

* :func:`train_dense`: a small dense network on the upper triangle of sorted (or, as data
  augmentation, randomly sorted) Coulomb matrices: the network of chapter 7's ablation study;
* :func:`train_atomwise`: the atom-wise network on per-atom environments.

Both fit the scalers on the training part of a split, train with a
:class:`~qm7utils.models.training.TrainConfig`, predict every molecule and return a
:class:`Run`. Splits use the book's names: ``train`` fits the weights, ``validation`` is
watched during training, ``test`` (and any other part) is only predicted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from ..representations.atomwise import RandomSorter, atom_environments
from .networks import build_atomwise_network, build_dense_network
from .training import (
    InputScaler,
    TargetScaler,
    TrainConfig,
    TrainingLog,
    evaluate,
    predict,
    predict_augmented,
    train,
)

__all__ = ["Run", "train_atomwise", "train_dense"]


@dataclass
class Run:
    """A trained model's predictions for every molecule, its metrics per split and its log.

    ``input_scaler`` and ``target_scaler`` are the fitted scalers, to predict new molecules.
    """

    name: str
    model: object
    predictions: np.ndarray
    metrics: dict
    log: TrainingLog
    parameters: dict
    input_scaler: InputScaler | None = None
    target_scaler: TargetScaler | None = None

    def mae(self) -> dict[str, float]:
        """MAE (kcal/mol) per split."""
        return {split: values["mae"] for split, values in self.metrics.items()}


def _split_parts(split, n: int) -> dict[str, np.ndarray]:
    parts = split._asdict() if hasattr(split, "_asdict") else dict(split)
    for part in ("train", "validation"):
        if part not in parts:
            raise ValueError(f"split needs a {part!r} part (e.g. deck_split(n)); got {list(parts)}")
    for part, idx in parts.items():
        idx = np.asarray(idx)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= n:
            raise ValueError(
                f"split[{part!r}] must hold indices in [0, {n}), got {idx.size} values"
            )
    return parts


def train_dense(C, Z, T, split, config: TrainConfig, *, inputs: str = "standard",
                targets: str = "dressed", noise: float = 0.0, hidden=(400, 100),
                n_draws: int = 10, name: str = "dense network") -> Run:
    r"""Train :func:`~qm7utils.models.networks.build_dense_network` on sorted Coulomb matrices.

    The inputs are the upper triangles of the matrices sorted by row norm (:math:`\ell_2`);
    with ``noise > 0`` every epoch sees a new random order of each molecule's atoms
    (:class:`~qm7utils.representations.atomwise.RandomSorter`), and the predictions average
    ``n_draws`` random orders. ``split["train"]`` trains, ``split["validation"]`` is watched
    (curves, schedule, early stopping), other parts are only predicted. Training runs
    ``steps_per_execution=16`` steps per call: the same steps, faster.

    Parameters
    ----------
    C : array (n, 23, 23)
        Coulomb matrices in any atom order (e.g. ``coulomb_matrix(Z, R)``).
    Z : array (n, 23)
        Nuclear charges, in the order of ``C`` (used by the dressed-atom baseline).
    T : array (n,)
        Atomization energies (kcal/mol).
    split : Split or dict of index arrays
        Needs ``train`` and ``validation``.
    config : TrainConfig
    inputs : {"deck", "standard"}
        :class:`InputScaler` kind.
    targets : {"deck", "standard", "dressed"}
        :class:`TargetScaler` kind.
    noise : float
        :math:`\sigma` of the random sorting; 0 trains on the sorted matrices.
    hidden : sequence of int
        Hidden layer widths.
    n_draws : int
        Random orders averaged at prediction time when ``noise > 0``.
    """
    T = np.asarray(T, dtype=np.float64).ravel()
    parts = _split_parts(split, len(T))
    train_idx, val_idx = parts["train"], parts["validation"]
    config = replace(config, steps_per_execution=16)
    sorter = RandomSorter(C)
    triangles = sorter.draw_triangles(np.random.default_rng(config.seed), 0.0)
    x_scaler = InputScaler(inputs).fit(triangles[train_idx])
    y_scaler = TargetScaler(targets).fit(T[train_idx], np.asarray(Z)[train_idx])
    y = y_scaler.transform(T, Z)
    model = build_dense_network(triangles.shape[1], hidden=hidden, seed=config.seed)
    augment = None
    if noise > 0:
        def augment(rng):
            return x_scaler.transform(sorter.draw_triangles(rng, noise, train_idx))
    log = train(
        model, x_scaler.transform(triangles[train_idx]), y[train_idx], config,
        validation_data=(x_scaler.transform(triangles[val_idx]), y[val_idx]),
        augment=augment, target_scale=y_scaler.scale_, name=name,
    )
    if noise > 0:
        scaled = predict_augmented(
            model, lambda rng: x_scaler.transform(sorter.draw_triangles(rng, noise)), n_draws,
            seed=config.seed + 1,
        )
    else:
        scaled = predict(model, x_scaler.transform(triangles))
    predictions = y_scaler.inverse_transform(scaled, Z)
    parameters = {"inputs": inputs, "targets": targets, "noise": noise, "hidden": list(hidden),
                  "n_draws": n_draws if noise > 0 else 0, **asdict(config),
                  "epochs_run": log.epochs}
    return Run(name, model, predictions, evaluate(T, predictions, parts), log, parameters,
               x_scaler, y_scaler)


def train_atomwise(C, Z, T, split, config: TrainConfig, *, hidden=(256, 128),
                   targets: str = "dressed", name: str = "atom-wise network") -> Run:
    """Train :func:`~qm7utils.models.networks.build_atomwise_network` on atom environments.

    The inputs are :func:`~qm7utils.representations.atomwise.atom_environments`, standardised
    over the real atoms of the training molecules; the targets are the dressed-atom residuals
    by default. No augmentation: the network does not see the order of the atoms. ``split``
    and the returned :class:`Run` as in :func:`train_dense`.
    """
    T = np.asarray(T, dtype=np.float64).ravel()
    parts = _split_parts(split, len(T))
    train_idx, val_idx = parts["train"], parts["validation"]
    features, mask = atom_environments(C, Z)
    x_scaler = InputScaler("standard").fit(features[train_idx], mask[train_idx])
    x = [x_scaler.transform(features, mask), mask]
    y_scaler = TargetScaler(targets).fit(T[train_idx], np.asarray(Z)[train_idx])
    y = y_scaler.transform(T, Z)
    model = build_atomwise_network(features.shape[1], features.shape[2], hidden=hidden,
                                   seed=config.seed)
    log = train(model, [part[train_idx] for part in x], y[train_idx], config,
                validation_data=([part[val_idx] for part in x], y[val_idx]),
                target_scale=y_scaler.scale_, name=name)
    predictions = y_scaler.inverse_transform(predict(model, x), Z)
    parameters = {"targets": targets, "hidden": list(hidden), **asdict(config),
                  "epochs_run": log.epochs}
    return Run(name, model, predictions, evaluate(T, predictions, parts), log, parameters,
               x_scaler, y_scaler)
