r"""Training chapter 7's networks: scaling, the training loop and its configuration.

* :class:`InputScaler` and :class:`TargetScaler`: the deck's fixed scaling, standardisation,
  and targets taken relative to the dressed-atom baseline
  (:class:`qm7utils.models.baseline.DressedAtoms`, the book's one baseline, with no intercept);
* :class:`TrainConfig` and :func:`train`: ``model.fit`` with the MAE loss and Adam,
  learning-rate schedules, early stopping or keeping the best epoch's weights, random inputs
  drawn anew at every epoch (augmentation), and a :class:`TrainingLog` in kcal/mol;
* :func:`predict`, :func:`predict_augmented`, :func:`evaluate`;
* :func:`train_side_by_side`: several trainings at the same time, each in its own process on
  its own share of the cores, and :func:`enable_compilation_cache` (XLA programs kept on
  disk). Neither is needed to train a network; both save time on a CPU.

Splits use the book's names: ``train`` fits the weights, ``validation`` is watched during
training (learning-rate plateaus, early stopping, the kept epoch), ``test`` is only predicted.
"""

from __future__ import annotations

import inspect
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path

import keras
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_scalar
from sklearn.utils.validation import check_is_fitted

from ..evaluation import regression_metrics
from .baseline import DressedAtoms

__all__ = [
    "DECK_T_SCALE",
    "DECK_X_SCALE",
    "SCHEDULES",
    "InputScaler",
    "TargetScaler",
    "TrainConfig",
    "TrainingLog",
    "enable_compilation_cache",
    "evaluate",
    "predict",
    "predict_augmented",
    "train",
    "train_side_by_side",
]

#: The deck's input scaling: Coulomb matrices divided by 370 (about the largest entry, the
#: diagonal 0.5 * 16**2.4 = 388 of sulfur, rounded down).
DECK_X_SCALE = 370.0
#: The deck's target scaling: atomization energies (kcal/mol) divided by 2000.
DECK_T_SCALE = 2000.0
#: Learning-rate schedules of :class:`TrainConfig`.
SCHEDULES = ("constant", "plateau", "cosine")


def enable_compilation_cache(folder: str | os.PathLike | None = None) -> Path | None:
    """Keep JAX's compiled XLA programs on disk, and return the folder (None: no cache).

    Chapter 7 trains a dozen networks of the same shape; without the cache each pays a few
    seconds of XLA compilation, with it the programs are compiled once and reused, in the
    same process and in later runs. Default folder: ``$QM7_JAX_CACHE``, else
    ``~/.cache/qm7-book/jax``; ``QM7_JAX_CACHE=off`` turns the cache off, a folder that JAX is
    already configured with is kept, and a folder that cannot be created means no cache.
    """
    import jax

    if jax.config.jax_compilation_cache_dir:
        return Path(jax.config.jax_compilation_cache_dir)
    if folder is None:
        setting = os.environ.get("QM7_JAX_CACHE", "").strip()
        if setting.lower() in ("0", "off", "false", "no"):
            return None
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        folder = setting or Path(base) / "qm7-book" / "jax"
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only home: run without the cache
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder


@contextmanager
def _quiet_keras():
    # Keras 3.15 converts its variables with ``np.array(variable)``, which NumPy >= 2.4 reports
    # as a DeprecationWarning about the ``copy`` keyword of ``__array__``: harmless (the values
    # are copied either way) and for Keras to fix. Silenced here, during Keras calls only.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"__array__ implementation doesn't accept a copy keyword",
            category=DeprecationWarning,
        )
        yield


# --- Scaling ---------------------------------------------------------------------------------


class InputScaler(BaseEstimator):
    """Scale inputs: the deck's ``x / 370``, or standardisation feature by feature.

    Parameters
    ----------
    kind : {"deck", "standard"}
        ``"standard"`` subtracts the training mean and divides by the training standard
        deviation of each feature (constant features, such as always-empty padding entries,
        are divided by 1).
    """

    KINDS = ("deck", "standard")

    def __init__(self, kind: str = "standard"):
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}")
        self.kind = kind

    def fit(self, x, mask=None) -> InputScaler:
        """Learn the statistics from training inputs ``x`` (first axis: molecules).

        ``mask`` (optional, the shape of ``x`` without its last axis) selects the rows that
        count, e.g. the real atoms of per-atom features.
        """
        if self.kind == "deck":
            self.mean_, self.std_ = 0.0, DECK_X_SCALE
            return self
        x = np.asarray(x, dtype=np.float64)
        rows = x
        if mask is not None:
            rows = x.reshape(-1, x.shape[-1])[np.asarray(mask).reshape(-1) > 0]
        self.mean_ = rows.mean(axis=0)
        std = rows.std(axis=0)
        self.std_ = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, x, mask=None) -> np.ndarray:
        """Scaled inputs as float32 (rows where ``mask`` is 0 are set to 0)."""
        check_is_fitted(self, ("mean_", "std_"))
        x = np.asarray(x, dtype=np.float64)
        shape = np.shape(self.mean_)
        if shape and x.shape[-len(shape):] != shape:
            raise ValueError(
                f"inputs have feature shape {x.shape[1:]}, the scaler was fitted on {shape}"
            )
        out = (x - self.mean_) / self.std_
        if mask is not None:
            out = out * np.asarray(mask)[..., None]
        return out.astype(np.float32)

    def inverse_transform(self, x) -> np.ndarray:
        """Back to the original units (float64)."""
        check_is_fitted(self, ("mean_", "std_"))
        return np.asarray(x, dtype=np.float64) * self.std_ + self.mean_


class TargetScaler(BaseEstimator):
    r"""Scale atomization energies for training, and back.

    * ``"deck"``: :math:`y = T / 2000`;
    * ``"standard"``: :math:`y = (T - \bar T) / s_T` with the training mean and standard
      deviation;
    * ``"dressed"``: subtract the dressed-atom baseline first, :math:`\sum_e n_e
      \varepsilon_e` (:class:`~qm7utils.models.baseline.DressedAtoms` fitted on the training
      molecules, no intercept), then standardise the residual. The network learns only what
      the composition does not explain.

    Every kind is affine with one slope, so a mean absolute error in scaled units times
    ``scale_`` is the mean absolute error in kcal/mol.
    """

    KINDS = ("deck", "standard", "dressed")

    def __init__(self, kind: str = "standard"):
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}")
        self.kind = kind

    def fit(self, T, Z=None) -> TargetScaler:
        """Fit on training energies ``T`` (kcal/mol); ``"dressed"`` needs their ``Z``."""
        T = np.asarray(T, dtype=np.float64).ravel()
        self.dressed_ = None
        if self.kind == "deck":
            self.offset_, self.scale_ = 0.0, DECK_T_SCALE
            return self
        if self.kind == "dressed":
            if Z is None:
                raise ValueError("the dressed-atom baseline needs Z: call fit(T, Z)")
            self.dressed_ = DressedAtoms().fit(Z, T)
            T = T - self.dressed_.predict(Z)
        self.offset_ = float(T.mean())
        spread = float(T.std())
        # A constant residual (e.g. exactly additive energies) has nothing left to scale.
        self.scale_ = spread if spread > 1e-9 * max(1.0, abs(self.offset_)) else 1.0
        return self

    def baseline(self, Z, n: int) -> np.ndarray:
        """Energy (kcal/mol) that the network does not learn: the dressed atoms', else 0."""
        check_is_fitted(self, ("offset_", "scale_"))
        if self.dressed_ is None:
            return np.zeros(n)
        if Z is None:
            raise ValueError("the dressed-atom baseline needs the molecules' Z")
        base = self.dressed_.predict(Z)
        if len(base) != n:
            raise ValueError(f"targets and Z differ in length: {n} vs {len(base)}")
        return base

    def transform(self, T, Z=None) -> np.ndarray:
        """Scaled targets, float32."""
        T = np.asarray(T, dtype=np.float64).ravel()
        residual = T - self.baseline(Z, len(T))
        return ((residual - self.offset_) / self.scale_).astype(np.float32)

    def inverse_transform(self, y, Z=None) -> np.ndarray:
        """Energies in kcal/mol from scaled predictions."""
        y = np.asarray(y, dtype=np.float64).ravel()
        return y * self.scale_ + self.offset_ + self.baseline(Z, len(y))


# --- The training loop -----------------------------------------------------------------------


@dataclass(frozen=True)
class TrainConfig:
    """How :func:`train` trains: epochs, batches, Adam's learning rate and its schedule.

    Attributes
    ----------
    epochs, batch_size : int
        As in ``model.fit``.
    learning_rate : float
        Initial learning rate of Adam.
    schedule : {"constant", "plateau", "cosine"}
        ``"plateau"`` multiplies the rate by ``plateau_factor`` when the validation loss (the
        training loss without validation data) has not improved for ``plateau_patience``
        epochs (``ReduceLROnPlateau``, ``min_lr=1e-5``); ``"cosine"`` decays it to 1% along a
        cosine over all steps.
    plateau_patience : int
        Epochs without improvement before ``"plateau"`` reduces the rate.
    plateau_factor : float
        Factor in (0, 1) applied to the rate by ``"plateau"``.
    patience : int or None
        Early stopping: stop when the validation loss has not improved for that many epochs
        and restore the best weights. None: train all epochs.
    restore_best : bool
        Train all epochs, then keep the weights of the epoch with the lowest validation loss,
        as reloading a Keras ``ModelCheckpoint(save_best_only=True)`` would. The validation
        set then chose the weights: judge the model on the test set. Implied by ``patience``.
    seed : int
        Seeds Keras (``keras.utils.set_random_seed``: shuffling) and the augmentation.
    steps_per_execution : int
        Training steps per call of the compiled program: the same steps and results, less
        Python work between steps (a good part of the time of a small network).
    verbose : int
        Keras' verbosity: 0 (silent) or 2 (one line per epoch).
    """

    epochs: int
    batch_size: int = 32
    learning_rate: float = 1e-3
    schedule: str = "constant"
    plateau_patience: int = 2
    plateau_factor: float = 0.5
    patience: int | None = None
    restore_best: bool = False
    seed: int = 0
    steps_per_execution: int = 1
    verbose: int = 0

    def __post_init__(self):
        for name in ("epochs", "batch_size", "plateau_patience", "steps_per_execution"):
            check_scalar(getattr(self, name), name, Integral, min_val=1)
        if self.patience is not None:
            check_scalar(self.patience, "patience", Integral, min_val=1)
        check_scalar(self.learning_rate, "learning_rate", Real, min_val=0,
                     include_boundaries="neither")
        check_scalar(self.plateau_factor, "plateau_factor", Real, min_val=0, max_val=1,
                     include_boundaries="neither")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.verbose not in (0, 2):
            raise ValueError("verbose must be 0 or 2 (one line per epoch): no progress bars")


@dataclass
class TrainingLog:
    """What one training run did, per epoch, in kcal/mol.

    Attributes
    ----------
    train_mae, val_mae : list of float
        Mean absolute error per epoch in kcal/mol on the training set (Keras' running
        average over the epoch's batches) and on the validation set (empty without one).
    learning_rate : list of float
        Learning rate at the end of each epoch.
    epoch_seconds : list of float
        Wall time of each epoch; the first includes JIT compilation.
    wall_time_s : float
        Wall time of the whole ``fit``.
    best_epoch : int or None
        1-based epoch whose weights were kept (None: the last epoch's).
    """

    name: str
    train_mae: list = field(default_factory=list)
    val_mae: list = field(default_factory=list)
    learning_rate: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)
    wall_time_s: float = 0.0
    best_epoch: int | None = None

    @property
    def epochs(self) -> int:
        """Number of epochs run."""
        return len(self.train_mae)

    def seconds_per_epoch(self) -> float:
        """Median wall time of the epochs after the first (the first compiles)."""
        times = self.epoch_seconds[1:] or self.epoch_seconds
        return float(np.median(times)) if times else float("nan")


def _augmented_dataset(draw, y, batch_size, seed):
    """A PyDataset that draws new inputs (``draw(rng)``) and reshuffles at every epoch."""

    class Augmented(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.y = np.asarray(y, dtype=np.float32)
            self._refresh()

        def _refresh(self):
            self.x = draw(self.rng)
            self.perm = self.rng.permutation(len(self.y))

        def __len__(self):
            return int(np.ceil(len(self.y) / batch_size))

        def __getitem__(self, i):
            take = self.perm[i * batch_size : (i + 1) * batch_size]
            if isinstance(self.x, (list, tuple)):
                return tuple(part[take] for part in self.x), self.y[take]
            return self.x[take], self.y[take]

        def on_epoch_end(self):
            self._refresh()

    return Augmented()


class _Logger(keras.callbacks.Callback):
    """Fills a :class:`TrainingLog` at the end of every epoch, MAEs in kcal/mol."""

    def __init__(self, log: TrainingLog, scale: float):
        super().__init__()
        self.log, self.scale = log, scale

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.log.epoch_seconds.append(time.perf_counter() - self.start)
        self.log.train_mae.append(float(logs["mae"]) * self.scale)
        if "val_mae" in logs:
            self.log.val_mae.append(float(logs["val_mae"]) * self.scale)
        rate = keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
        self.log.learning_rate.append(float(rate))


def train(model, x, y, config: TrainConfig, *, validation_data=None,
          augment: Callable[[np.random.Generator], object] | None = None,
          target_scale: float = 1.0, name: str = "") -> TrainingLog:
    """Compile ``model`` with Adam and the MAE loss, fit it as ``config`` says, log in kcal/mol.

    Parameters
    ----------
    model : keras.Model
        A freshly built model (it is compiled here).
    x, y : arrays
        Training inputs (an array, or a list of arrays for multi-input models) and scaled
        targets. ``x`` may be ``None`` when ``augment`` is given.
    config : TrainConfig
    validation_data : tuple, optional
        ``(x_validation, y_validation)``, evaluated after every epoch; needed by
        ``config.patience`` and ``config.restore_best``.
    augment : callable, optional
        ``augment(rng) -> x``: fresh training inputs (same order as ``y``) drawn at every
        epoch, e.g. randomly sorted Coulomb matrices.
    target_scale : float
        kcal/mol per unit of ``y`` (``TargetScaler.scale_``), to log MAEs in kcal/mol.
    name : str
        Label of the run.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    keeps_best = config.patience is not None or config.restore_best
    if keeps_best and validation_data is None:
        raise ValueError("patience and restore_best need validation_data to choose the epoch")
    y = np.asarray(y, dtype=np.float32).reshape(-1, 1)
    steps = config.epochs * int(np.ceil(len(y) / config.batch_size))

    keras.utils.set_random_seed(int(config.seed))
    rate = config.learning_rate
    if config.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, steps, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="mae", metrics=["mae"],
                  steps_per_execution=config.steps_per_execution)

    log = TrainingLog(name=name or model.name)
    callbacks = [_Logger(log, float(target_scale))]
    if config.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss" if validation_data is not None else "loss",
            factor=config.plateau_factor, patience=config.plateau_patience, min_lr=1e-5,
        ))
    stopper = None
    if keeps_best:
        # Keras 3 restores the best weights at the end of training whether or not it stopped
        # early; a patience of ``epochs`` never stops, so it only keeps the best epoch.
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience or config.epochs,
            restore_best_weights=True,
        )
        callbacks.append(stopper)
    validation = None
    if validation_data is not None:
        vx, vy = validation_data
        validation = (vx, np.asarray(vy, dtype=np.float32).reshape(-1, 1))

    start = time.perf_counter()
    with _quiet_keras():
        if augment is None:
            model.fit(x, y, batch_size=config.batch_size, epochs=config.epochs, shuffle=True,
                      validation_data=validation, callbacks=callbacks, verbose=config.verbose)
        else:
            data = _augmented_dataset(augment, y, config.batch_size, config.seed)
            model.fit(data, epochs=config.epochs, validation_data=validation,
                      callbacks=callbacks, verbose=config.verbose)
    log.wall_time_s = time.perf_counter() - start
    if stopper is not None and log.val_mae:
        log.best_epoch = int(stopper.best_epoch) + 1
    return log


def predict(model, x, batch_size: int = 512) -> np.ndarray:
    """Predictions of ``model`` as a flat float64 array (no progress output)."""
    with _quiet_keras():
        out = model.predict(x, batch_size=batch_size, verbose=0)
    return np.asarray(out, dtype=np.float64).ravel()


def predict_augmented(model, draw: Callable[[np.random.Generator], object], n_draws: int = 10,
                      seed: int = 0, batch_size: int = 2048) -> np.ndarray:
    """Average of the predictions over ``n_draws`` random atom orders (test-time augmentation).

    ``draw(rng)`` returns the inputs of all molecules to predict, in a fresh random order of
    their atoms (e.g. ``lambda rng: scaler.transform(sorter.draw_triangles(rng))``).
    """
    check_scalar(n_draws, "n_draws", Integral, min_val=1)
    rng = np.random.default_rng(seed)
    return np.mean([predict(model, draw(rng), batch_size) for _ in range(n_draws)], axis=0)


def evaluate(T, predictions, splits: Mapping) -> dict[str, dict[str, float]]:
    """Regression metrics (kcal/mol) of ``predictions`` for every named index array.

    ``T`` and ``predictions`` hold all molecules in the same order; ``splits`` maps names to
    index arrays, e.g. ``deck_split(n)._asdict()``.
    """
    T = np.asarray(T, dtype=np.float64).ravel()
    predictions = np.asarray(predictions, dtype=np.float64).ravel()
    if T.shape != predictions.shape:
        raise ValueError(f"T and predictions differ in length: {T.size} vs {predictions.size}")
    return {name: regression_metrics(T[idx], predictions[idx]) for name, idx in splits.items()}


# --- Several trainings at once ---------------------------------------------------------------


def _run_call(job):
    """Worker of :func:`train_side_by_side`: one call, and the model that ``train`` trained."""
    func, kwargs, cache = job
    if cache is not None:
        enable_compilation_cache(cache)
    result = func(**kwargs)
    return (result, kwargs["model"]) if func is train else result


def train_side_by_side(calls: Sequence, workers: int | None = None) -> list:
    """Run training calls at the same time, each in its own process on its share of the cores.

    On a CPU, a network trained at a small batch size (the deck's ConvNets at batch size 4,
    a small dense network) keeps about one core busy, whatever the number of cores: XLA
    cannot split so little work per step. Independent trainings then finish sooner side by
    side than one after the other. Each call runs as it would alone, with its own seeds, in a
    worker process pinned to its own cores (:func:`qm7utils.parallel.process_map`), with the
    compilation cache of this process (:func:`enable_compilation_cache`); the calls go to the
    workers in order, so put the longest first. On one core, with ``workers=1`` or
    ``QM7_THREADS=1``, or when JAX computes on a GPU, they run here one after the other.

    Parameters
    ----------
    calls : sequence of (function, dict)
        Each :func:`train`, :func:`qm7utils.models.recipes.train_dense` or
        :func:`qm7utils.models.recipes.train_atomwise` (any function defined at the top level
        of a module) and its keyword arguments.
    workers : int, optional
        Worker processes; default: one per core, at most one per call.

    Returns
    -------
    list
        What each function returned, in the order of ``calls``. For :func:`train`, the
        trained weights are also copied into the ``model`` that was passed.

    Raises
    ------
    ValueError
        If a call is not a ``(function, dict)`` pair or its arguments do not fit the
        function. Errors raised by a training are raised here.
    """
    import jax

    from ..parallel import process_map

    if isinstance(calls, (str, bytes)) or not isinstance(calls, Sequence):
        raise ValueError("calls must be a list of (function, keyword-argument dict) pairs")
    checked = []
    for i, call in enumerate(calls):
        if not (isinstance(call, (tuple, list)) and len(call) == 2 and callable(call[0])
                and isinstance(call[1], Mapping)):
            raise ValueError(
                f"calls[{i}] must be a (function, keyword-argument dict) pair, e.g. "
                f"(train_atomwise, dict(C=C, Z=Z, T=T, split=split, config=config)); "
                f"got {call!r:.80}"
            )
        func, kwargs = call[0], dict(call[1])
        try:
            inspect.signature(func).bind(**kwargs)
        except TypeError as error:
            raise ValueError(
                f"calls[{i}]: the arguments do not fit {getattr(func, '__name__', func)}(): {error}"
            ) from None
        checked.append((func, kwargs))
    if workers is None and jax.default_backend() != "cpu":  # a GPU: one process uses it all
        workers = 1
    cache = jax.config.jax_compilation_cache_dir or None
    results = process_map(_run_call, [(f, kw, cache) for f, kw in checked], workers=workers)
    out = []
    for (func, kwargs), result in zip(checked, results, strict=True):
        if func is train:
            log, trained = result
            if trained is not kwargs["model"]:
                with _quiet_keras():
                    kwargs["model"].set_weights(trained.get_weights())
            result = log
        out.append(result)
    return out
