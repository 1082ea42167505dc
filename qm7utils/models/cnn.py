r"""Neural networks of chapter 7: Keras 3 on the JAX backend.

The deck's two convolutional networks, and what the chapter builds from them:

* :func:`build_deck_cnn_2d`: a 2D ConvNet on the 23 x 23 Coulomb matrix seen as an image
  (363,649 parameters);
* :func:`build_deck_cnn_1d`: a 1D ConvNet on the matrix unrolled row by row into 529 values
  (339,809 parameters);
* :func:`build_dense_network`: a small fully connected network on the upper triangle of the
  sorted (or randomly sorted) Coulomb matrix;
* :func:`build_atomwise_network`: a convolution with kernel size 1 over the *atoms*: one small
  network, shared by every atom, maps each atom's row of the Coulomb matrix to an energy
  contribution, and the molecule's energy is their sum. It does not depend on the atom order.

Training helpers: input scaling (:class:`InputScaler`), target scaling including the
"dressed atom" baseline (:class:`TargetScaler`), random permutations of the atom order as data
augmentation (:class:`RandomSorter`, the batched equivalent of
:func:`qm7utils.features.randomly_sorted_coulomb_matrix`), and :func:`train`, which wraps
``model.fit`` with learning-rate schedules, early stopping or keeping the best epoch's weights,
per-epoch timing and a compact :class:`TrainingLog`; :func:`train_side_by_side` runs several
trainings at the same time, each in its own process on its own share of the cores.

Keras and JAX are imported here only, so ``import qm7utils`` stays light; importing
:mod:`qm7utils` (done by this module) selects the JAX backend before Keras loads.
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..data import ELEMENTS, MAX_ATOMS
from ..evaluation import regression_metrics

__all__ = [
    "DECK_T_SCALE",
    "DECK_X_SCALE",
    "InputScaler",
    "RandomSorter",
    "Run",
    "TargetScaler",
    "TrainingLog",
    "atom_environments",
    "atomwise_inputs",
    "backend_versions",
    "build_atomwise_network",
    "build_deck_cnn_1d",
    "build_deck_cnn_2d",
    "build_dense_network",
    "element_counts",
    "evaluate",
    "predict",
    "predict_augmented",
    "summary_text",
    "train",
    "train_atomwise",
    "train_dense",
    "train_side_by_side",
]

#: The deck's input scaling: Coulomb matrices divided by 370 (about the largest entry, the
#: diagonal 0.5 * 16**2.4 = 388 of sulfur, rounded down).
DECK_X_SCALE = 370.0
#: The deck's target scaling: atomization energies (kcal/mol) divided by 2000.
DECK_T_SCALE = 2000.0


def _enable_compilation_cache() -> None:
    """Keep JAX's compiled XLA programs on disk (``$QM7_JAX_CACHE``, else the user cache).

    The chapter trains a dozen networks of the same shape; without the cache each one pays a
    few seconds of XLA compilation, with it the programs are compiled once and reused, in
    the same process and in later runs. ``QM7_JAX_CACHE=off`` turns it off; a cache directory
    that JAX is already configured with is left alone.
    """
    import os
    from pathlib import Path

    import jax

    setting = os.environ.get("QM7_JAX_CACHE", "").strip()
    if setting.lower() in ("0", "off", "false", "no") or jax.config.jax_compilation_cache_dir:
        return
    if setting:
        folder = Path(setting).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        folder = Path(base) / "qm7-book" / "jax"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only home: run without the cache
        return
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


_enable_compilation_cache()

# Keras 3.15 converts its variables with ``np.array(variable)``, which NumPy >= 2.4 reports as a
# DeprecationWarning about the ``copy`` keyword of ``__array__``. It is harmless (the values
# are copied either way) and for Keras to fix; keep it out of the book's outputs and logs.
warnings.filterwarnings(
    "ignore", message=r"__array__ implementation doesn't accept a copy keyword",
    category=DeprecationWarning,
)


def _keras():
    import keras

    if keras.backend.backend() != "jax":  # pragma: no cover - qm7utils forces JAX
        raise RuntimeError(
            f"Keras runs on {keras.backend.backend()!r}; the book needs the JAX backend: import "
            "qm7utils before keras, or set KERAS_BACKEND=jax"
        )
    return keras


def backend_versions() -> dict[str, str]:
    """Keras backend and the versions of Keras, JAX and jaxlib, and JAX's devices."""
    import jax
    import jaxlib

    keras = _keras()
    return {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "devices": ", ".join(sorted({d.platform for d in jax.devices()})),
    }


_BOX_TO_ASCII = str.maketrans({
    **dict.fromkeys("┏┓┗┛┳┻┣┫╋┡┩╇├┤┼└┘┬┴┌┐╞╡╪", "+"),
    **dict.fromkeys("━═", "="),
    "─": "-",
    **dict.fromkeys("┃│", "|"),
    "…": "~",
})


def summary_text(model, line_length: int = 78) -> str:
    """``model.summary()`` as plain ASCII text, without colour codes.

    Keras prints its summary as a rich table drawn with box characters and terminal colours;
    stored in a notebook or a log those read like progress-bar debris. This returns the same
    table (layers, output shapes, parameter counts, totals) in plain characters, for
    ``print(summary_text(model))``.
    """
    lines: list[str] = []
    model.summary(line_length=line_length, print_fn=lambda text, **kw: lines.append(text))
    return "\n".join(line.rstrip() for line in "\n".join(lines).translate(
        _BOX_TO_ASCII).splitlines()).strip("\n")


def _seed(seed: int | None) -> None:
    if seed is not None:
        _keras().utils.set_random_seed(int(seed))


# --- Model builders ------------------------------------------------------------------------


def build_deck_cnn_2d(n_atoms: int = MAX_ATOMS, seed: int | None = None):
    """The deck's 2D ConvNet on the Coulomb matrix as a one-channel image.

    Conv2D 32 (7x7, same) -> 64 (5x5) -> 64 (3x3) -> 64 (3x3) -> 128 (3x3) -> 128 (3x3), all
    ReLU with He-normal initialisation, then Flatten and one linear output. On 23 x 23 inputs
    the last feature map is 11 x 11 x 128 = 15,488 values and the network has 363,649
    parameters.

    Parameters
    ----------
    n_atoms : int
        Side of the input matrix (23 for QM7; at least 13 so the valid convolutions fit).
    seed : int, optional
        Passed to ``keras.utils.set_random_seed`` before the weights are drawn.
    """
    if n_atoms < 13:
        raise ValueError(f"n_atoms must be >= 13 for five valid convolutions, got {n_atoms}")
    keras = _keras()
    layers = keras.layers
    _seed(seed)
    conv = {"activation": "relu", "kernel_initializer": "he_normal"}
    return keras.Sequential(
        [
            keras.Input((n_atoms, n_atoms, 1), name="coulomb_matrix"),
            layers.Conv2D(32, 7, padding="same", **conv),
            layers.Conv2D(64, 5, **conv),
            layers.Conv2D(64, 3, **conv),
            layers.Conv2D(64, 3, **conv),
            layers.Conv2D(128, 3, **conv),
            layers.Conv2D(128, 3, **conv),
            layers.Flatten(),
            layers.Dense(1, name="energy"),
        ],
        name="deck_cnn_2d",
    )


def build_deck_cnn_1d(length: int = MAX_ATOMS * MAX_ATOMS, seed: int | None = None):
    """The deck's 1D ConvNet on the Coulomb matrix unrolled row by row (529 values).

    Conv1D 32 (k=10) -> 128 (k=7) -> 128 (k=5) -> 256 (k=3), ReLU, He-normal, valid padding;
    Flatten (508 x 256 = 130,048 values) and one linear output: 339,809 parameters.

    Parameters
    ----------
    length : int
        Length of the input vector (529 for QM7; at least 22).
    seed : int, optional
        Passed to ``keras.utils.set_random_seed`` before the weights are drawn.
    """
    if length < 22:
        raise ValueError(f"length must be >= 22 for the four valid convolutions, got {length}")
    keras = _keras()
    layers = keras.layers
    _seed(seed)
    conv = {"activation": "relu", "kernel_initializer": "he_normal"}
    return keras.Sequential(
        [
            keras.Input((length, 1), name="unrolled_matrix"),
            layers.Conv1D(32, 10, **conv),
            layers.Conv1D(128, 7, **conv),
            layers.Conv1D(128, 5, **conv),
            layers.Conv1D(256, 3, **conv),
            layers.Flatten(),
            layers.Dense(1, name="energy"),
        ],
        name="deck_cnn_1d",
    )


def _check_hidden(hidden) -> tuple[int, ...]:
    hidden = tuple(hidden)
    if not hidden or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1
                         for h in hidden):
        raise ValueError(f"hidden must be a non-empty sequence of positive ints, got {hidden!r}")
    return tuple(int(h) for h in hidden)


def build_dense_network(n_inputs: int, hidden=(400, 100), seed: int | None = None):
    """A fully connected network: ``n_inputs`` -> hidden ReLU layers -> one linear output.

    Weights start from Keras' default Glorot-uniform initialisation.

    Parameters
    ----------
    n_inputs : int
        Number of input features (276 for the upper triangle of a 23 x 23 matrix).
    hidden : sequence of int
        Widths of the hidden layers.
    seed : int, optional
        Passed to ``keras.utils.set_random_seed`` before the weights are drawn.
    """
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)) or n_inputs < 1:
        raise ValueError(f"n_inputs must be a positive int, got {n_inputs!r}")
    hidden = _check_hidden(hidden)
    keras = _keras()
    layers = keras.layers
    _seed(seed)
    return keras.Sequential(
        [keras.Input((int(n_inputs),), name="features")]
        + [layers.Dense(h, activation="relu") for h in hidden]
        + [layers.Dense(1, name="energy")],
        name="dense_network",
    )


def build_atomwise_network(
    n_atoms: int = MAX_ATOMS, n_features: int = MAX_ATOMS, hidden=(256, 128),
    seed: int | None = None,
):
    r"""A convolution with kernel size 1 over the atoms, summed: an atom-order-free network.

    Input: one row of features per atom, shape ``(n_atoms, n_features)`` (see
    :func:`atom_environments`), and a mask, shape ``(n_atoms,)``, 1 for real atoms and 0 for
    padding. Conv1D layers with ``kernel_size=1`` apply the *same* small network to every
    atom's row (weight sharing across atoms, the way a 2D convolution shares weights across
    pixels); the last one gives each atom an energy contribution :math:`\varepsilon_I`, and
    the output is :math:`E = \sum_I m_I \varepsilon_I`. Swapping two atoms swaps two rows and
    two mask entries and leaves the sum unchanged. Weights start from Keras' default
    Glorot-uniform initialisation, which keeps the sum of 23 contributions small at the start
    (He-normal, as in the deck's networks, gave a higher error in our one comparison).

    Parameters
    ----------
    n_atoms, n_features : int
        Shape of the per-atom input.
    hidden : sequence of int
        Widths of the hidden kernel-size-1 convolutions.
    seed : int, optional
        Passed to ``keras.utils.set_random_seed`` before the weights are drawn.
    """
    for name, value in (("n_atoms", n_atoms), ("n_features", n_features)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    hidden = _check_hidden(hidden)
    keras = _keras()
    layers, ops = keras.layers, keras.ops
    _seed(seed)
    atoms = keras.Input((int(n_atoms), int(n_features)), name="atom_features")
    mask = keras.Input((int(n_atoms),), name="atom_mask")
    x = atoms
    for h in hidden:
        x = layers.Conv1D(h, 1, activation="relu", kernel_initializer="glorot_uniform")(x)
    contributions = layers.Conv1D(1, 1, name="atom_energy")(x)
    energy = ops.sum(contributions[..., 0] * mask, axis=1, keepdims=True)
    return keras.Model([atoms, mask], energy, name="atomwise_network")


# --- Features and scaling ------------------------------------------------------------------


def element_counts(Z) -> np.ndarray:
    """Number of atoms of each element of QM7 (H, C, N, O, S) per molecule, shape (n, 5)."""
    Z = np.asarray(Z)
    if Z.ndim != 2:
        raise ValueError(f"Z must have shape (n_molecules, n_atoms), got {Z.shape}")
    return np.stack([(Z == z).sum(axis=1) for z in ELEMENTS], axis=1).astype(np.float64)


def atom_environments(C, Z) -> tuple[np.ndarray, np.ndarray]:
    """Per-atom rows of Coulomb matrices, made independent of the order of the other atoms.

    Row ``I`` becomes ``[C_II, then the off-diagonal entries C_IJ sorted in descending
    order]``: the diagonal says which element the atom is, the sorted rest how strongly it
    interacts with its neighbours, whatever their numbering. Padding rows are zero.

    Parameters
    ----------
    C : array of shape (b, n, n)
        Coulomb matrices (any atom order).
    Z : array of shape (b, n)
        Nuclear charges in the same atom order (0 = padding).

    Returns
    -------
    features : ndarray (b, n, n), float64
    mask : ndarray (b, n), float32, 1 for real atoms
    """
    C = np.asarray(C, dtype=np.float64)
    Z = np.asarray(Z)
    if C.ndim != 3 or C.shape[1] != C.shape[2] or Z.shape != C.shape[:2]:
        raise ValueError(
            f"C must have shape (b, n, n) and Z shape (b, n) with the same b and n; got "
            f"{C.shape} and {Z.shape}"
        )
    n = C.shape[1]
    diagonal = C[:, np.arange(n), np.arange(n)]
    off = C * (1.0 - np.eye(n))
    rest = -np.sort(-off, axis=2)[:, :, : n - 1]
    real = Z > 0
    features = np.concatenate([diagonal[..., None], rest], axis=2) * real[..., None]
    return features, real.astype(np.float32)


class InputScaler:
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
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def fit(self, x, mask=None) -> InputScaler:
        """Learn the statistics from training inputs ``x`` (first axis: molecules).

        ``mask`` (optional, same leading shape as ``x`` without the last axis) selects the rows
        that count, e.g. the real atoms of per-atom features.
        """
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "standard":
            rows = x.reshape(-1, x.shape[-1]) if mask is not None else x
            if mask is not None:
                rows = rows[np.asarray(mask).reshape(-1) > 0]
            self.mean_ = rows.mean(axis=0)
            std = rows.std(axis=0)
            self.std_ = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, x, mask=None) -> np.ndarray:
        """Scaled inputs as float32 (rows where ``mask`` is 0 are set to 0)."""
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "deck":
            out = x / DECK_X_SCALE
        else:
            if self.mean_ is None:
                raise ValueError("InputScaler is not fitted: call fit(x_train) first")
            if x.shape[-len(self.mean_.shape):] != self.mean_.shape:
                raise ValueError(
                    f"inputs have feature shape {x.shape[1:]}, the scaler was fitted on "
                    f"{self.mean_.shape}"
                )
            out = (x - self.mean_) / self.std_
        if mask is not None:
            out = out * np.asarray(mask)[..., None]
        return out.astype(np.float32)

    def inverse_transform(self, x) -> np.ndarray:
        """Back to the original units (float64)."""
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "deck":
            return x * DECK_X_SCALE
        if self.mean_ is None:
            raise ValueError("InputScaler is not fitted: call fit(x_train) first")
        return x * self.std_ + self.mean_


class TargetScaler:
    r"""Scale atomization energies for training, and back.

    * ``"deck"``: :math:`y = T / 2000`;
    * ``"standard"``: :math:`y = (T - \bar T) / s_T` with the training mean and standard
      deviation;
    * ``"dressed"``: subtract a linear fit of ``T`` on the element counts first (a "dressed
      atom" energy per element plus a constant, fitted by least squares on the training set),
      then standardise the residual. The network learns only what the composition does not
      explain.

    Every kind is affine with one slope, so a mean absolute error in scaled units times
    :attr:`scale` is the mean absolute error in kcal/mol.
    """

    KINDS = ("deck", "standard", "dressed")

    def __init__(self, kind: str = "standard"):
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}")
        self.kind = kind
        self.coef_ = np.zeros(len(ELEMENTS) + 1)
        self.offset_ = 0.0
        self.scale = DECK_T_SCALE if kind == "deck" else 1.0
        self._fitted = kind == "deck"

    def baseline(self, Z) -> np.ndarray:
        """The composition-only energy of each molecule (kcal/mol): zero unless ``dressed``."""
        counts = element_counts(Z)
        return np.c_[counts, np.ones(len(counts))] @ self.coef_

    def fit(self, T, Z=None) -> TargetScaler:
        """Fit on training energies ``T`` (kcal/mol); ``dressed`` needs their ``Z``."""
        T = np.asarray(T, dtype=np.float64).ravel()
        if self.kind == "deck":
            return self
        if self.kind == "dressed":
            if Z is None:
                raise ValueError("the dressed-atom baseline needs Z: call fit(T, Z)")
            counts = element_counts(Z)
            if len(counts) != len(T):
                raise ValueError(f"T and Z differ in length: {len(T)} vs {len(counts)}")
            design = np.c_[counts, np.ones(len(T))]
            self.coef_ = np.linalg.lstsq(design, T, rcond=None)[0]
            T = T - design @ self.coef_
        self.offset_ = float(T.mean())
        spread = float(T.std())
        # A constant residual (e.g. exactly additive energies) has nothing left to scale.
        self.scale = spread if spread > 1e-9 * max(1.0, abs(self.offset_)) else 1.0
        self._fitted = True
        return self

    def _base(self, Z, n) -> np.ndarray:
        if not self._fitted:
            raise ValueError("TargetScaler is not fitted: call fit(T_train, Z_train) first")
        if self.kind != "dressed":
            return np.zeros(n)
        if Z is None:
            raise ValueError("the dressed-atom baseline needs the molecules' Z")
        base = self.baseline(Z)
        if len(base) != n:
            raise ValueError(f"targets and Z differ in length: {n} vs {len(base)}")
        return base

    def transform(self, T, Z=None) -> np.ndarray:
        """Scaled targets, float32."""
        T = np.asarray(T, dtype=np.float64).ravel()
        return ((T - self._base(Z, len(T)) - self.offset_) / self.scale).astype(np.float32)

    def inverse_transform(self, y, Z=None) -> np.ndarray:
        """Energies in kcal/mol from scaled predictions."""
        y = np.asarray(y, dtype=np.float64).ravel()
        return y * self.scale + self.offset_ + self._base(Z, len(y))


class RandomSorter:
    r"""Random atom orders of a fixed set of Coulomb matrices, fast (Montavon et al. 2012).

    The batched equivalent of :func:`qm7utils.features.randomly_sorted_coulomb_matrix`: the
    matrices (in any atom order) and their row norms are computed once; each :meth:`draw` adds
    :math:`\mathcal N(0, \sigma^2)` noise to the norms of the real atoms, sorts by the noisy
    norms and permutes rows and columns. With the same generator state it returns exactly what
    ``randomly_sorted_coulomb_matrix`` returns.

    Parameters
    ----------
    C : array of shape (b, n, n)
        Coulomb matrices; padding atoms have zero rows.
    norm : {"l2", "l1"}
        Row norm used for sorting.
    """

    def __init__(self, C, norm: str = "l2"):
        from ..features import row_norms

        C = np.asarray(C, dtype=np.float64)
        if C.ndim != 3 or C.shape[1] != C.shape[2]:
            raise ValueError(f"C must have shape (b, n, n), got {C.shape}")
        self.C = C
        self.norms = row_norms(C, norm)
        self.real = self.norms > 0

    def __len__(self) -> int:
        return len(self.C)

    def orders(self, rng: np.random.Generator, noise: float = 1.0, index=None) -> np.ndarray:
        """Atom orders (b, n): descending noisy row norm, padding last."""
        if not isinstance(rng, np.random.Generator):
            raise ValueError("rng must be a numpy.random.Generator, e.g. np.random.default_rng(0)")
        if noise < 0:
            raise ValueError(f"noise must be >= 0, got {noise}")
        keys, real = self.norms, self.real
        if index is not None:
            keys, real = keys[index], real[index]
        if noise > 0:
            keys = np.where(real, keys + rng.normal(0.0, noise, size=keys.shape), -np.inf)
        return np.argsort(-keys, axis=-1, kind="stable")

    def draw(self, rng: np.random.Generator, noise: float = 1.0, index=None) -> np.ndarray:
        """Randomly sorted matrices (b, n, n) of all molecules, or of ``index``."""
        C = self.C if index is None else self.C[index]
        order = self.orders(rng, noise, index)
        rows = np.take_along_axis(C, order[:, :, None], axis=1)
        return np.take_along_axis(rows, order[:, None, :], axis=2)

    def draw_triangles(self, rng: np.random.Generator, noise: float = 1.0, index=None):
        """Upper triangles (diagonal included) of :meth:`draw`: shape (b, n(n+1)/2)."""
        n = self.C.shape[1]
        rows, cols = np.triu_indices(n)
        return self.draw(rng, noise, index)[:, rows, cols]


# --- Training --------------------------------------------------------------------------------


@dataclass
class TrainingLog:
    """What one training run did, per epoch, in kcal/mol.

    Attributes
    ----------
    train_mae, val_mae : list of float
        Mean absolute error per epoch in kcal/mol (Keras' running average over the epoch's
        batches for training; ``val_mae`` is empty without validation data).
    learning_rate : list of float
        Learning rate at the end of each epoch.
    epoch_seconds : list of float
        Wall time of each epoch; the first includes JIT compilation.
    wall_time_s : float
        Wall time of the whole ``fit``.
    best_epoch : int or None
        1-based epoch whose weights were kept by early stopping or ``restore_best`` (None
        without them: the model has the last epoch's weights).
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


def _augmented_dataset(keras, draw, y, batch_size, seed):
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


SCHEDULES = ("constant", "plateau", "cosine")


def train(
    model,
    x,
    y,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float = 1e-3,
    schedule: str = "constant",
    validation_data=None,
    plateau_monitor: str | None = None,
    plateau_patience: int = 2,
    plateau_factor: float = 0.5,
    early_stopping: int | None = None,
    restore_best: bool = False,
    augment: Callable[[np.random.Generator], object] | None = None,
    target_scale: float = 1.0,
    seed: int = 0,
    name: str = "",
    verbose: int = 0,
    steps_per_execution: int = 1,
) -> TrainingLog:
    """Compile ``model`` with Adam and the MAE loss, fit it, and log the run in kcal/mol.

    Parameters
    ----------
    model : keras.Model
        A freshly built model (it is compiled here).
    x, y : arrays
        Training inputs (an array, or a list of arrays for multi-input models) and scaled
        targets. Ignored ``x`` may be ``None`` when ``augment`` is given.
    epochs, batch_size : int
        As in ``model.fit``.
    learning_rate : float
        Initial learning rate of Adam.
    schedule : {"constant", "plateau", "cosine"}
        ``"plateau"`` multiplies the rate by ``plateau_factor`` when the monitored loss has
        not improved for ``plateau_patience`` epochs (``ReduceLROnPlateau``, ``min_lr=1e-5``);
        ``"cosine"`` decays it to 1% along a cosine over all steps.
    validation_data : tuple, optional
        ``(x_val, y_val)`` evaluated after every epoch.
    plateau_monitor : str, optional
        What ``"plateau"`` watches: ``"val_loss"`` (default when there is validation data) or
        ``"loss"``.
    plateau_patience : int
        Epochs without improvement before ``"plateau"`` reduces the rate.
    plateau_factor : float
        Factor in (0, 1) applied to the rate by ``"plateau"``.
    early_stopping : int, optional
        Patience in epochs: stop when the validation loss has not improved for that long and
        restore the best weights (needs ``validation_data``).
    restore_best : bool
        Train all ``epochs``, then keep the weights of the epoch with the lowest validation
        loss (needs ``validation_data``), as a Keras ``ModelCheckpoint(save_best_only=True)``
        reloaded at the end would. With small batches the held-out error jumps from epoch to
        epoch, and this removes the luck of where the last epoch lands. The validation data
        then chose the weights: its error is optimistic, judge the model on a third set.
        Implied by ``early_stopping``.
    augment : callable, optional
        ``augment(rng) -> x``: fresh training inputs (same order as ``y``) drawn at every
        epoch, e.g. randomly sorted Coulomb matrices.
    target_scale : float
        kcal/mol per unit of ``y`` (:attr:`TargetScaler.scale`), to log MAEs in kcal/mol.
    seed : int
        Seeds Keras (``keras.utils.set_random_seed``: shuffling, dropout) and the augmentation.
    name : str
        Label of the run.
    verbose : int
        Keras' verbosity: 0 (silent, the default) or 2 (one line per epoch).
    steps_per_execution : int
        Training steps per call of the compiled program (``model.compile``'s argument). The
        steps and results are the same; more than 1 saves Python's work between steps, which
        is a good part of the time of a small network (:func:`train_dense` uses 16).

    Returns
    -------
    TrainingLog
    """
    keras = _keras()
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    for label, value in (("epochs", epochs), ("batch_size", batch_size),
                         ("steps_per_execution", steps_per_execution)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{label} must be a positive int, got {value!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    if not 0.0 < plateau_factor < 1.0:
        raise ValueError(f"plateau_factor must be in (0, 1), got {plateau_factor}")
    if early_stopping is not None and validation_data is None:
        raise ValueError("early_stopping needs validation_data to watch")
    if restore_best and validation_data is None:
        raise ValueError("restore_best needs validation_data to choose the best epoch")
    if verbose not in (0, 2):
        raise ValueError("verbose must be 0 or 2 (one line per epoch): no progress bars")
    y = np.asarray(y, dtype=np.float32).reshape(-1, 1)
    n_train = len(y)
    steps = epochs * int(np.ceil(n_train / batch_size))

    keras.utils.set_random_seed(int(seed))
    lr = learning_rate
    if schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="mae", metrics=["mae"],
                  steps_per_execution=int(steps_per_execution))

    log = TrainingLog(name=name or model.name)
    scale = float(target_scale)

    class Logger(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            log.epoch_seconds.append(time.perf_counter() - self.start)
            logs = logs or {}
            log.train_mae.append(float(logs["mae"]) * scale)
            if "val_mae" in logs:
                log.val_mae.append(float(logs["val_mae"]) * scale)
            rate = self.model.optimizer.learning_rate
            log.learning_rate.append(float(keras.ops.convert_to_numpy(rate)))

    callbacks = [Logger()]
    if schedule == "plateau":
        monitor = plateau_monitor or ("val_loss" if validation_data is not None else "loss")
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor, factor=float(plateau_factor), patience=int(plateau_patience),
                min_lr=1e-5, verbose=0,
            )
        )
    stopper = None
    if early_stopping is not None or restore_best:
        # Keras 3 restores the best weights at the end of training whether or not it stopped
        # early; a patience of ``epochs`` never stops, so it only keeps the best epoch.
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=int(early_stopping) if early_stopping is not None else int(epochs),
            restore_best_weights=True, verbose=0,
        )
        callbacks.append(stopper)

    val = None
    if validation_data is not None:
        vx, vy = validation_data
        val = (vx, np.asarray(vy, dtype=np.float32).reshape(-1, 1))

    start = time.perf_counter()
    if augment is None:
        model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=val,
                  callbacks=callbacks, shuffle=True, verbose=verbose)
    else:
        data = _augmented_dataset(keras, augment, y, batch_size, seed)
        model.fit(data, epochs=epochs, validation_data=val, callbacks=callbacks,
                  verbose=verbose)
    log.wall_time_s = time.perf_counter() - start
    if stopper is not None and log.val_mae:
        log.best_epoch = int(stopper.best_epoch) + 1
    return log


def predict(model, x, batch_size: int = 512) -> np.ndarray:
    """Predictions of ``model`` as a flat float64 array (no progress output)."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0),
                      dtype=np.float64).ravel()


def evaluate(T, predictions, splits: dict) -> dict[str, dict[str, float]]:
    """Regression metrics (kcal/mol) of ``predictions`` for every named index array.

    Parameters
    ----------
    T : array (n,)
        True energies in kcal/mol.
    predictions : array (n,)
        Predicted energies for all molecules, in the same order.
    splits : dict of str -> index array
        E.g. ``deck_split(n)._asdict()``.
    """
    T = np.asarray(T, dtype=np.float64).ravel()
    predictions = np.asarray(predictions, dtype=np.float64).ravel()
    if T.shape != predictions.shape:
        raise ValueError(
            f"T and predictions differ in length: {T.size} vs {predictions.size}"
        )
    return {name: regression_metrics(T[idx], predictions[idx]) for name, idx in splits.items()}


def predict_augmented(model, draw: Callable[[np.random.Generator], object], n_draws: int = 10,
                      seed: int = 0, batch_size: int = 2048) -> np.ndarray:
    """Average of the predictions over ``n_draws`` random atom orders (test-time augmentation).

    ``draw(rng)`` returns the inputs of all molecules to predict, in a fresh random order of
    their atoms (e.g. ``lambda rng: scaler.transform(sorter.draw_triangles(rng))``).
    """
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive int, got {n_draws!r}")
    rng = np.random.default_rng(seed)
    return np.mean([predict(model, draw(rng), batch_size) for _ in range(n_draws)], axis=0)


# --- Experiments of the chapter --------------------------------------------------------------


@dataclass
class Run:
    """A trained model's predictions for every molecule, its metrics per split and its log."""

    name: str
    model: object
    predictions: np.ndarray
    metrics: dict
    log: TrainingLog
    parameters: dict

    def mae(self) -> dict[str, float]:
        """MAE (kcal/mol) per split."""
        return {split: values["mae"] for split, values in self.metrics.items()}


def _check_split(split, n: int):
    parts = split._asdict() if hasattr(split, "_asdict") else dict(split)
    for part in ("train", "test"):
        if part not in parts:
            raise ValueError(f"split needs a {part!r} part (e.g. deck_split(n)); got {list(parts)}")
    for part, idx in parts.items():
        idx = np.asarray(idx)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= n:
            raise ValueError(
                f"split[{part!r}] must hold indices in [0, {n}), got {idx.size} values"
            )
    return parts


def train_dense(
    C, Z, T, split, *, epochs: int, batch_size: int = 32, learning_rate: float = 1e-3,
    inputs: str = "standard", targets: str = "dressed", noise: float = 0.0,
    schedule: str = "cosine", patience: int | None = None, hidden=(400, 100),
    n_draws: int = 10, seed: int = 0, name: str = "dense network",
) -> Run:
    r"""Train :func:`build_dense_network` on upper triangles of sorted Coulomb matrices.

    The molecules' matrices are sorted by row norm (:math:`\ell_2`); with ``noise > 0`` every
    epoch sees a new random order of each molecule's atoms (:class:`RandomSorter`), and the
    predictions average ``n_draws`` random orders. Training uses ``split["train"]``; the
    ``test`` (dev) part is the validation data that the curves show and early stopping
    watches; other parts are only predicted.

    Parameters
    ----------
    C : array (n, 23, 23)
        Coulomb matrices in any atom order (e.g. ``coulomb_matrix(Z, R)``).
    Z : array (n, 23)
        Nuclear charges, in the order of ``C`` (used by the dressed-atom baseline).
    T : array (n,)
        Atomization energies (kcal/mol).
    split : Split or dict of index arrays
        Needs ``train`` and ``test``.
    inputs : {"deck", "standard"}
        :class:`InputScaler` kind.
    targets : {"deck", "standard", "dressed"}
        :class:`TargetScaler` kind.
    noise : float
        :math:`\sigma` of the random sorting; 0 trains on the sorted matrices.
    schedule, patience, epochs, batch_size, learning_rate, seed
        As in :func:`train` (``patience`` is the early-stopping patience, None for none).
    hidden : sequence of int
        Hidden layer widths.
    n_draws : int
        Random orders averaged at prediction time when ``noise > 0``.
    """
    T = np.asarray(T, dtype=np.float64).ravel()
    parts = _check_split(split, len(T))
    train_idx, dev_idx = parts["train"], parts["test"]
    sorter = RandomSorter(C)
    sorted_triangles = sorter.draw_triangles(np.random.default_rng(seed), 0.0)
    x_scaler = InputScaler(inputs).fit(sorted_triangles[train_idx])
    y_scaler = TargetScaler(targets).fit(T[train_idx], np.asarray(Z)[train_idx])
    y = y_scaler.transform(T, Z)
    model = build_dense_network(sorted_triangles.shape[1], hidden=hidden, seed=seed)
    augment = None
    if noise > 0:
        def augment(rng):
            return x_scaler.transform(sorter.draw_triangles(rng, noise, train_idx))
    log = train(
        model, x_scaler.transform(sorted_triangles[train_idx]), y[train_idx], epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate, schedule=schedule,
        validation_data=(x_scaler.transform(sorted_triangles[dev_idx]), y[dev_idx]),
        early_stopping=patience, augment=augment, target_scale=y_scaler.scale, seed=seed,
        name=name, steps_per_execution=16,
    )
    if noise > 0:
        scaled = predict_augmented(
            model, lambda rng: x_scaler.transform(sorter.draw_triangles(rng, noise)), n_draws,
            seed=seed + 1,
        )
    else:
        scaled = predict(model, x_scaler.transform(sorted_triangles))
    predictions = y_scaler.inverse_transform(scaled, Z)
    parameters = {
        "inputs": inputs, "targets": targets, "noise": noise, "schedule": schedule,
        "patience": patience, "hidden": list(hidden), "epochs": epochs,
        "epochs_run": log.epochs, "batch_size": batch_size, "learning_rate": learning_rate,
        "n_draws": n_draws if noise > 0 else 0, "seed": seed,
    }
    return Run(name, model, predictions, evaluate(T, predictions, parts), log, parameters)


def atomwise_inputs(C, Z, scaler: InputScaler | None = None):
    """Inputs of :func:`build_atomwise_network`: ``[features, mask]``, scaled by ``scaler``."""
    features, mask = atom_environments(C, Z)
    if scaler is not None:
        features = scaler.transform(features, mask)
    return [np.asarray(features, dtype=np.float32), mask]


def train_atomwise(
    C, Z, T, split, *, epochs: int, batch_size: int = 32, learning_rate: float = 1e-3,
    schedule: str = "cosine", patience: int | None = None, hidden=(256, 128),
    targets: str = "dressed", seed: int = 0, name: str = "atom-wise network",
) -> Run:
    """Train :func:`build_atomwise_network` on per-atom Coulomb rows (see :func:`train_dense`).

    Features are standardised over the real atoms of the training molecules; targets use the
    dressed-atom baseline by default. No augmentation: the network does not see the order.
    Returns a :class:`Run` whose ``parameters`` include the fitted ``scaler`` and
    ``target_scaler`` (to predict new molecules).
    """
    T = np.asarray(T, dtype=np.float64).ravel()
    parts = _check_split(split, len(T))
    train_idx, dev_idx = parts["train"], parts["test"]
    features, mask = atom_environments(C, Z)
    x_scaler = InputScaler("standard").fit(features[train_idx], mask[train_idx])
    x = [x_scaler.transform(features, mask), mask]
    y_scaler = TargetScaler(targets).fit(T[train_idx], np.asarray(Z)[train_idx])
    y = y_scaler.transform(T, Z)
    model = build_atomwise_network(features.shape[1], features.shape[2], hidden=hidden,
                                   seed=seed)
    log = train(
        model, [part[train_idx] for part in x], y[train_idx], epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate, schedule=schedule,
        validation_data=([part[dev_idx] for part in x], y[dev_idx]), early_stopping=patience,
        target_scale=y_scaler.scale, seed=seed, name=name,
    )
    predictions = y_scaler.inverse_transform(predict(model, x), Z)
    parameters = {
        "targets": targets, "schedule": schedule, "patience": patience, "hidden": list(hidden),
        "epochs": epochs, "epochs_run": log.epochs, "batch_size": batch_size,
        "learning_rate": learning_rate, "seed": seed,
    }
    run = Run(name, model, predictions, evaluate(T, predictions, parts), log, parameters)
    run.scaler, run.target_scaler = x_scaler, y_scaler
    return run


def _run_call(call):
    """Worker of :func:`train_side_by_side`: one call, and the model that ``train`` trained."""
    func, kwargs = call
    result = func(**kwargs)
    if func is train:
        return result, kwargs["model"]
    return result


def train_side_by_side(calls: Sequence, workers: int | None = None) -> list:
    """Run training calls at the same time, each in its own process on its share of the cores.

    On a CPU, a network trained at a small batch size (the deck's 2D ConvNet at batch size 4,
    or a small dense network) keeps about one core busy, whatever the number of cores: XLA
    cannot split so little work per step. Independent trainings then finish sooner side by
    side than one after the other. Each call runs as it would alone, with its own seeds, in a
    worker process pinned to its own cores (:func:`qm7utils.parallel.process_map`); the
    calls go to the workers in order, so put the longest first. On a one-core machine, or with
    ``workers=1`` or ``QM7_THREADS=1``, they run here one after the other.

    Parameters
    ----------
    calls : sequence of (function, dict)
        Each a function of this module (:func:`train`, :func:`train_dense`,
        :func:`train_atomwise`) and its keyword arguments.
    workers : int, optional
        Worker processes; default: one per core (:func:`qm7utils.parallel.available_cores`),
        at most one per call, and none (the calls run here) when JAX computes on a GPU.

    Returns
    -------
    list
        What each function returned, in the order of ``calls``. For :func:`train`, the
        trained weights are also copied into the ``model`` that was passed, as if it had been
        trained here.

    Raises
    ------
    ValueError
        If a call is not a ``(function, dict)`` pair, its arguments do not fit the function,
        or :func:`train` gets no ``model``. Errors raised by a training are raised here.
    """
    from ..parallel import process_map

    if isinstance(calls, (str, bytes)) or not isinstance(calls, Sequence):
        raise ValueError("calls must be a list of (function, keyword-argument dict) pairs")
    checked = []
    for i, call in enumerate(calls):
        if not (isinstance(call, (tuple, list)) and len(call) == 2 and callable(call[0])
                and isinstance(call[1], Mapping)):
            raise ValueError(
                f"calls[{i}] must be a (function, keyword-argument dict) pair, e.g. "
                f"(cnn.train_dense, dict(C=C, Z=Z, T=T, split=split, epochs=40)); got {call!r:.80}"
            )
        func, kwargs = call[0], dict(call[1])
        try:
            inspect.signature(func).bind(**kwargs)
        except TypeError as error:
            raise ValueError(
                f"calls[{i}]: the arguments do not fit {getattr(func, '__name__', func)}(): {error}"
            ) from None
        checked.append((func, kwargs))
    if workers is None:
        import jax

        if jax.default_backend() != "cpu":  # a GPU: one process uses it all, no CPU to share
            workers = 1
    results = process_map(_run_call, checked, workers=workers)
    out = []
    for (func, kwargs), result in zip(checked, results, strict=True):
        if func is train:
            log, trained = result
            if trained is not kwargs["model"]:
                kwargs["model"].set_weights(trained.get_weights())
            result = log
        out.append(result)
    return out
