r"""Chapter 8's message-passing network (SchNet-style) in Keras 3 on JAX, and its training.

* :class:`Interaction`: one continuous-filter convolution (Schütt et al. 2018): every atom
  sums its neighbours' features, each weighted by a filter computed from the distance, then
  updates its own features (a residual step);
* :class:`SchNet`: an element embedding, a few interactions, a per-atom energy and the sum
  over each molecule's atoms. It reads a packed batch
  (:func:`qm7utils.representations.neighbours.pack`) or, with the same weights, a padded one
  (:func:`~qm7utils.representations.neighbours.pad`);
* :func:`make_train_step`: one jit-compiled training step (loss, gradients, Adam) through
  Keras' stateless API;
* :func:`fit` and :func:`predict`: the epoch loop over packed batches and the predictions.

Only distances enter the network, so its energies do not change when the molecule is moved,
rotated or its atoms renumbered: invariance by construction.
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass, field
from numbers import Integral, Real

import jax
import keras
import numpy as np
from keras import ops
from sklearn.utils import check_scalar

from ..representations.neighbours import Capacity, NeighbourGraphs, pack, pack_batches

__all__ = ["FitLog", "Interaction", "SchNet", "batch_targets", "fit", "make_train_step",
           "model_weights", "predict", "shifted_softplus"]


def shifted_softplus(x):
    """SchNet's activation, :math:`\\ln(1 + e^x) - \\ln 2`: smooth, and 0 at 0."""
    return ops.softplus(x) - math.log(2.0)


class Interaction(keras.layers.Layer):
    """A continuous-filter convolution and an atom-wise update, added to the atom features."""

    def __init__(self, features: int, **kwargs):
        super().__init__(**kwargs)
        # W(e_ij): no bias, so a basis of zeros (at the cutoff) gives a filter of zeros
        self.filter = keras.layers.Dense(features, activation=shifted_softplus, use_bias=False)
        self.neighbour = keras.layers.Dense(features, use_bias=False)  # what x_j sends
        self.update_1 = keras.layers.Dense(features, activation=shifted_softplus)
        self.update_2 = keras.layers.Dense(features)

    def call(self, x, basis, source, target):
        """Packed: ``x`` (atoms, f), one row of ``basis`` (edges, k) per edge source -> target."""
        messages = ops.take(self.neighbour(x), source, axis=0) * self.filter(basis)
        received = ops.segment_sum(messages, target, num_segments=x.shape[0])
        return x + self.update_2(self.update_1(received))

    def call_padded(self, x, basis, neighbours):
        """Padded: ``x`` (b, n, f), ``basis`` (b, n, n, k), ``neighbours`` (b, n, n) of 0/1."""
        filters = self.filter(basis) * neighbours[..., None]
        received = ops.einsum("bijf,bjf->bif", filters, self.neighbour(x))
        return x + self.update_2(self.update_1(received))


class SchNet(keras.Model):
    """Element embedding, ``interactions`` interaction blocks, per-atom energies, summed.

    Parameters
    ----------
    features : int
        Length of each atom's feature vector.
    interactions : int
        Number of :class:`Interaction` blocks: information travels that many neighbour hops.
    n_elements : int
        Rows of the embedding table (5: H, C, N, O, S).
    """

    def __init__(self, features: int = 64, interactions: int = 3, n_elements: int = 5,
                 name: str = "schnet", **kwargs):
        super().__init__(name=name, **kwargs)
        check_scalar(features, "features", Integral, min_val=2)
        check_scalar(interactions, "interactions", Integral, min_val=1)
        self.embedding = keras.layers.Embedding(n_elements, features)
        self.blocks = [Interaction(features) for _ in range(interactions)]
        self.readout_1 = keras.layers.Dense(features // 2, activation=shifted_softplus,
                                            name="readout_1")
        self.readout_2 = keras.layers.Dense(1, name="readout_2")

    def call(self, batch):
        if "neighbours" in batch:  # the padded form
            return self.call_padded(batch)
        x = self.embedding(batch["element"])
        for block in self.blocks:
            x = block(x, batch["basis"], batch["source"], batch["target"])
        atom_energy = self.readout_2(self.readout_1(x))[:, 0]
        n = batch["weight"].shape[0]  # padding atoms sit in an extra molecule row, dropped
        return ops.segment_sum(atom_energy, batch["molecule"], num_segments=n + 1)[:n]

    def call_padded(self, batch):
        x = self.embedding(batch["element"])
        for block in self.blocks:
            x = block.call_padded(x, batch["basis"], batch["neighbours"])
        atom_energy = self.readout_2(self.readout_1(x))[..., 0]
        return ops.sum(atom_energy * batch["atom_mask"], axis=1)


def model_weights(model: keras.Model, optimizer=None) -> tuple:
    """The weights as arrays, ``(trainable, non_trainable)``, and the optimizer's variables
    after them when it is given: the state that Keras' stateless API takes and returns."""
    state = ([v.value for v in model.trainable_variables],
             [v.value for v in model.non_trainable_variables])
    return state + ([v.value for v in optimizer.variables],) if optimizer else state


def make_train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer):
    """One training step, compiled once by ``jax.jit``: the mean absolute error of a batch,
    its gradient with respect to the weights, and the optimizer's update (Adam in :func:`fit`).
    Weights go in and come out as arrays (Keras' stateless API), so JAX can compile the whole
    step."""

    def loss(trainable, non_trainable, batch, y):
        predicted, non_trainable = model.stateless_call(trainable, non_trainable, batch)
        errors = ops.abs(predicted - y) * batch["weight"]  # padding molecules weigh 0
        return ops.sum(errors) / ops.sum(batch["weight"]), non_trainable

    @jax.jit
    def step(state, batch, y):
        trainable, non_trainable, optimizer_state = state
        (value, non_trainable), grads = jax.value_and_grad(loss, has_aux=True)(
            trainable, non_trainable, batch, y)
        trainable, optimizer_state = optimizer.stateless_apply(optimizer_state, grads, trainable)
        return value, (trainable, non_trainable, optimizer_state)

    return step


@dataclass
class FitLog:
    """What :func:`fit` saw: per epoch, seconds since the start and the MAEs (model units:
    multiply by the target scale for kcal/mol). ``train_mae`` is the mean batch loss during the
    epoch, while the weights change, not the MAE of the epoch's final weights."""

    seconds: list[float] = field(default_factory=list)
    train_mae: list[float] = field(default_factory=list)
    validation_mae: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.seconds)


def batch_targets(y, batch, rows: int) -> np.ndarray:
    """The targets of molecules ``batch`` in a batch of ``rows`` molecule rows (padding: 0)."""
    out = np.zeros(rows, np.float32)
    out[: len(batch)] = y[batch]
    return out


_FORWARD: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one compiled call per model


def predict(model: keras.Model, graphs: NeighbourGraphs, basis, molecules,
            capacity: Capacity) -> np.ndarray:
    """The model's output for ``molecules`` (indices), in their order, batch by batch."""
    if model not in _FORWARD:  # a weak reference: the cache must not keep the model alive
        ref = weakref.ref(model)
        _FORWARD[model] = jax.jit(lambda t, n, b: ref().stateless_call(t, n, b)[0])
    forward = _FORWARD[model]
    trainable, non_trainable = model_weights(model)
    out = [np.asarray(forward(trainable, non_trainable, pack(graphs, basis, b, capacity)))[:len(b)]
           for b in pack_batches(graphs, molecules, capacity)]
    return np.concatenate(out) if out else np.zeros(0)


def fit(model: keras.Model, graphs: NeighbourGraphs, basis, y, train, validation=None, *,
        epochs: int = 16, batch_size: int = 32, learning_rate: float = 5e-3,
        seed: int = 0, log: FitLog | None = None) -> FitLog:
    """Train ``model`` on the molecules ``train`` (indices) with targets ``y`` (all molecules).

    Adam with a cosine schedule from ``learning_rate`` down to 1% of it over (about) all the
    steps, counted from one packing of ``train``;
    the batches are reshuffled every epoch; the last epoch's weights are kept. After each epoch
    the MAE on ``validation`` (if given) is logged. The trained weights are written back to
    ``model``.
    """
    check_scalar(epochs, "epochs", Integral, min_val=1)
    check_scalar(learning_rate, "learning_rate", Real, min_val=0.0, include_boundaries="neither")
    y = np.asarray(y, dtype=np.float32).ravel()
    if len(train) == 0:
        raise ValueError("no training molecules: train is empty")
    if len(y) != len(graphs):
        raise ValueError(f"y has {len(y)} values for {len(graphs)} molecules")
    capacity = Capacity.for_graphs(graphs, batch_size)
    rng = np.random.default_rng(seed)
    steps = len(pack_batches(graphs, train, capacity)) * epochs
    optimizer = keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.01))
    if not model.built:
        model(pack(graphs, basis, np.asarray(train)[:1], capacity))
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer)
    state = model_weights(model, optimizer)
    log = log or FitLog()
    start = time.perf_counter()
    for _ in range(epochs):
        losses, weights = [], []
        for batch in pack_batches(graphs, train, capacity, rng):
            value, state = step(state, pack(graphs, basis, batch, capacity),
                                batch_targets(y, batch, capacity.molecules))
            losses.append(value)
            weights.append(len(batch))
        for variable, value in zip(model.trainable_variables, state[0], strict=True):
            variable.assign(value)
        log.seconds.append(time.perf_counter() - start)
        log.train_mae.append(float(np.average(np.asarray(losses), weights=weights)))
        if validation is not None:
            log.validation_mae.append(float(np.mean(np.abs(
                predict(model, graphs, basis, validation, capacity) - y[validation]))))
    for variable, value in zip(model.non_trainable_variables, state[1], strict=True):
        variable.assign(value)
    return log
