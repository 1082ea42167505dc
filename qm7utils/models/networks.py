r"""Keras 3 architectures of chapter 7 (on the JAX backend).

* :func:`build_deck_cnn_2d`: the deck's 2D ConvNet on the 23 x 23 Coulomb matrix seen as an
  image (363,649 parameters);
* :func:`build_deck_cnn_1d`: the deck's 1D ConvNet on the matrix unrolled row by row into 529
  values (339,809 parameters);
* :func:`build_dense_network`: a small fully connected network on the upper triangle of the
  sorted (or randomly sorted) Coulomb matrix, the network of the chapter's ablation study;
* :func:`build_atomwise_network`: a convolution with kernel size 1 over the *atoms*, summed:
  one small network, shared by every atom, maps each atom's environment to an energy
  contribution, and the molecule's energy is their sum. It does not depend on the atom order.

Importing :mod:`qm7utils` (done before this module loads) selects the JAX backend before
Keras is imported.
"""

from __future__ import annotations

import contextlib
from numbers import Integral

import keras
from sklearn.utils import check_scalar

from ..data import MAX_ATOMS

__all__ = [
    "backend_versions",
    "build_atomwise_network",
    "build_deck_cnn_1d",
    "build_deck_cnn_2d",
    "build_dense_network",
    "summary_text",
]


def backend_versions() -> dict[str, str]:
    """Keras backend and the versions of Keras, JAX and jaxlib, and JAX's devices.

    Raises ``RuntimeError`` unless Keras runs on JAX (import :mod:`qm7utils` before Keras).
    """
    import jax
    import jaxlib

    if keras.backend.backend() != "jax":
        raise RuntimeError(
            f"Keras runs on {keras.backend.backend()!r}; the book needs the JAX backend: import "
            "qm7utils before keras, or set KERAS_BACKEND=jax"
        )
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


def _no_display():
    """A context that swallows IPython display calls (a no-op outside IPython)."""
    try:
        from IPython.utils.capture import capture_output
    except ImportError:
        return contextlib.nullcontext()
    return capture_output(stdout=False, stderr=False, display=True)


def summary_text(model, line_length: int = 78) -> str:
    """``model.summary()`` as plain ASCII text, without colour codes.

    Keras prints its summary as a rich table drawn with box characters and terminal colours;
    stored in a notebook or a log those read like progress-bar debris. This returns the same
    table (layers, output shapes, parameter counts, totals) in plain characters, for
    ``print(summary_text(model))``.
    """
    lines: list[str] = []
    # rich, which Keras uses, shows its emptied capture buffer as an empty output box in Jupyter.
    with _no_display():
        model.summary(line_length=line_length, print_fn=lambda text, **kw: lines.append(text))
    return "\n".join(line.rstrip() for line in "\n".join(lines).translate(
        _BOX_TO_ASCII).splitlines()).strip("\n")


def _positive_ints(name: str, values) -> tuple[int, ...]:
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must be a non-empty sequence of positive ints, got {values!r}")
    return tuple(check_scalar(v, f"{name}[{i}]", Integral, min_val=1)
                 for i, v in enumerate(values))


def _seed(seed: int | None) -> None:
    if seed is not None:
        keras.utils.set_random_seed(int(seed))


def _flatten_to_energy(inputs, convolutions, name: str) -> keras.Model:
    """The deck's head: the convolutions, a ``Flatten`` and one linear output."""
    return keras.Sequential(
        [inputs, *convolutions, keras.layers.Flatten(), keras.layers.Dense(1, name="energy")],
        name=name,
    )


def build_deck_cnn_2d(n_atoms: int = MAX_ATOMS, seed: int | None = None) -> keras.Model:
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
    check_scalar(n_atoms, "n_atoms", Integral, min_val=13)  # five valid convolutions
    _seed(seed)
    conv = {"activation": "relu", "kernel_initializer": "he_normal"}
    first = keras.layers.Conv2D(32, 7, padding="same", **conv)
    valid = [keras.layers.Conv2D(filters, size, **conv)
             for filters, size in ((64, 5), (64, 3), (64, 3), (128, 3), (128, 3))]
    return _flatten_to_energy(keras.Input((n_atoms, n_atoms, 1), name="coulomb_matrix"),
                              [first, *valid], name="deck_cnn_2d")


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
    check_scalar(length, "length", Integral, min_val=22)  # four valid convolutions
    _seed(seed)
    conv = {"activation": "relu", "kernel_initializer": "he_normal"}
    layers = [keras.layers.Conv1D(filters, size, **conv)
              for filters, size in ((32, 10), (128, 7), (128, 5), (256, 3))]
    return _flatten_to_energy(keras.Input((length, 1), name="unrolled_matrix"), layers,
                              name="deck_cnn_1d")


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
    check_scalar(n_inputs, "n_inputs", Integral, min_val=1)
    hidden = _positive_ints("hidden", hidden)
    _seed(seed)
    return keras.Sequential(
        [keras.Input((int(n_inputs),), name="features")]
        + [keras.layers.Dense(h, activation="relu") for h in hidden]
        + [keras.layers.Dense(1, name="energy")],
        name="dense_network",
    )


def build_atomwise_network(
    n_atoms: int = MAX_ATOMS, n_features: int = MAX_ATOMS, hidden=(256, 128),
    seed: int | None = None,
):
    r"""A convolution with kernel size 1 over the atoms, summed: an atom-order-free network.

    Input: one row of features per atom, shape ``(n_atoms, n_features)`` (see
    :func:`qm7utils.representations.atomwise.atom_environments`), and a mask, shape
    ``(n_atoms,)``, 1 for real atoms and 0 for padding. Conv1D layers with ``kernel_size=1``
    apply the *same* small network to every atom's row (weight sharing across atoms, the way
    a 2D convolution shares weights across pixels); the last one gives each atom an energy
    contribution :math:`\varepsilon_I`, and the output is :math:`E = \sum_I m_I
    \varepsilon_I`. Swapping two atoms swaps two rows and two mask entries and leaves the sum
    unchanged. Weights start from Keras' default Glorot-uniform initialisation.

    Parameters
    ----------
    n_atoms, n_features : int
        Shape of the per-atom input.
    hidden : sequence of int
        Widths of the hidden kernel-size-1 convolutions.
    seed : int, optional
        Passed to ``keras.utils.set_random_seed`` before the weights are drawn.
    """
    check_scalar(n_atoms, "n_atoms", Integral, min_val=1)
    check_scalar(n_features, "n_features", Integral, min_val=1)
    hidden = _positive_ints("hidden", hidden)
    _seed(seed)
    atoms = keras.Input((int(n_atoms), int(n_features)), name="atom_features")
    mask = keras.Input((int(n_atoms),), name="atom_mask")
    x = atoms
    for width in hidden:  # the same small network for every atom
        x = keras.layers.Conv1D(width, 1, activation="relu")(x)
    contributions = keras.layers.Conv1D(1, 1, name="atom_energy")(x)  # epsilon_I
    energy = keras.ops.sum(contributions[..., 0] * mask, axis=1, keepdims=True)
    return keras.Model([atoms, mask], energy, name="atomwise_network")
