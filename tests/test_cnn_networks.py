"""qm7utils.models.networks: the deck's ConvNets, the dense and the atom-wise networks.

Models are built and run on a handful of inputs, never trained here.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import qm7utils  # noqa: F401 - selects the JAX backend before Keras loads
from molecules import batch, benzene, methane, methanol, water
from qm7utils.models import networks
from qm7utils.representations.atomwise import atom_environments
from qm7utils.representations.coulomb import coulomb_matrix


def _layer_shapes(model):
    return [tuple(layer.output.shape) for layer in model.layers]


def test_deck_2d_convnet_has_the_decks_shapes_and_parameter_count():
    model = networks.build_deck_cnn_2d(seed=0)
    assert model.count_params() == 363_649
    shapes = _layer_shapes(model)
    assert shapes[0] == (None, 23, 23, 32)  # 7x7, same padding
    assert shapes[1:6] == [(None, 19, 19, 64), (None, 17, 17, 64), (None, 15, 15, 64),
                           (None, 13, 13, 128), (None, 11, 11, 128)]
    assert shapes[6] == (None, 15_488)
    out = model.predict(np.zeros((3, 23, 23, 1), np.float32), verbose=0)
    assert out.shape == (3, 1)


def test_deck_1d_convnet_has_the_decks_shapes_and_parameter_count():
    model = networks.build_deck_cnn_1d(seed=0)
    assert model.count_params() == 339_809
    shapes = _layer_shapes(model)
    assert shapes[:4] == [(None, 520, 32), (None, 514, 128), (None, 510, 128), (None, 508, 256)]
    assert shapes[4] == (None, 130_048)
    assert model.predict(np.zeros((2, 529, 1), np.float32), verbose=0).shape == (2, 1)


def test_builders_are_seeded_and_reject_bad_sizes():
    a = networks.build_dense_network(10, hidden=(8,), seed=3).get_weights()
    b = networks.build_dense_network(10, hidden=(8,), seed=3).get_weights()
    c = networks.build_dense_network(10, hidden=(8,), seed=4).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    with pytest.raises(ValueError, match="n_atoms == 10, must be >= 13"):
        networks.build_deck_cnn_2d(n_atoms=10)
    with pytest.raises(ValueError, match="length == 20, must be >= 22"):
        networks.build_deck_cnn_1d(length=20)
    with pytest.raises(ValueError, match="hidden"):
        networks.build_dense_network(276, hidden=())
    with pytest.raises(ValueError, match=r"hidden\[1\]"):
        networks.build_atomwise_network(hidden=(8, 0))
    with pytest.raises(ValueError, match="n_inputs"):
        networks.build_dense_network(0)


def test_dense_network_size():
    model = networks.build_dense_network(276, hidden=(400, 100), seed=0)
    assert model.count_params() == 276 * 400 + 400 + 400 * 100 + 100 + 100 + 1


def test_atomwise_network_is_invariant_to_atom_order_and_ignores_padding():
    Z, R = batch(water(), methane(), benzene(), methanol())
    model = networks.build_atomwise_network(hidden=(16, 8), seed=1)
    assert model.count_params() == (23 * 16 + 16) + (16 * 8 + 8) + (8 + 1)
    features, mask = atom_environments(coulomb_matrix(Z, R), Z)
    base = model.predict([features.astype(np.float32), mask], verbose=0).ravel()
    assert np.ptp(base) > 0  # different molecules, different energies

    perm = np.random.default_rng(0).permutation(23)  # also moves padding: the mask follows
    moved = model.predict([features[:, perm].astype(np.float32), mask[:, perm]], verbose=0)
    np.testing.assert_allclose(moved.ravel(), base, rtol=1e-5, atol=1e-5)

    junk = features.copy()
    junk[mask == 0] = 99.0  # anything in padded rows is masked out of the sum
    np.testing.assert_allclose(
        model.predict([junk.astype(np.float32), mask], verbose=0).ravel(), base, rtol=1e-5,
        atol=1e-5,
    )


def test_summary_text_is_plain_ascii_with_the_counts():
    text = networks.summary_text(networks.build_deck_cnn_1d(seed=0))
    assert "339,809" in text and "(None, 130048)" in text
    assert text.isascii() and "\x1b" not in text  # no box drawing, no colour codes


def test_summary_text_leaves_no_empty_output_box_in_jupyter(tmp_path):
    # In Jupyter, rich (which Keras uses) displays its emptied capture buffer: an empty box.
    # A child process runs an in-process IPython shell, with rich told it is in Jupyter, and
    # records what reaches the shell's display publisher.
    code = (
        "import qm7utils, rich.console\n"
        "from unittest import mock\n"
        "from traitlets.config import Config\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "from qm7utils.models import networks\n"
        "config = Config()\n"
        "config.HistoryManager.enabled = False\n"
        "shell = InteractiveShell.instance(config=config)\n"
        "published = []\n"
        "shell.display_pub.publish = lambda *args, **kwargs: published.append(kwargs or args)\n"
        "model = networks.build_dense_network(10, hidden=(8,), seed=0)\n"
        "with mock.patch.object(rich.console, '_is_jupyter', return_value=True):\n"
        "    text = networks.summary_text(model)\n"
        "assert 'Total params: 97' in text and text.isascii(), text\n"
        "assert not published, f'{len(published)} display call(s) escaped: {published}'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "IPYTHONDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]


def test_backend_is_jax():
    info = networks.backend_versions()
    assert info["backend"] == "jax" and info["keras"].startswith("3.")


def test_importing_the_network_modules_changes_no_global_state():
    code = (
        "import warnings, qm7utils, keras, jax\n"
        "before = list(warnings.filters)\n"
        "import qm7utils.models.networks, qm7utils.models.training, qm7utils.models.recipes\n"
        "assert warnings.filters == before, 'a warnings filter was installed at import'\n"
        "assert not jax.config.jax_compilation_cache_dir, 'a compilation cache at import'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
