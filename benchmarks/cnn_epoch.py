"""Seconds per training epoch of chapter 7's networks, at the deck's batch size and at others.

For each of the deck's ConvNets (2D on the 23 x 23 matrix, 1D on the unrolled 529 values) and
each batch size, one ``fit`` epoch over ``--n-molecules`` real QM7 molecules is timed after a
warm-up epoch (so XLA compilation is excluded); the best of ``--repeat`` runs is scaled to a
full epoch of the deck's training sets (5,732 molecules for the 2D net's 80/20 split, 4,993
for the 1D net's 70/15/15 split). The chapter's small networks (dense and atom-wise, batch 32)
are timed the same way for comparison. Times are printed side by side with their ratio to
the deck's batch size of 4. Last, the two deck networks are timed at batch size 4 side by side,
each in its own process on its own share of the cores (what chapter 7 does with
``qm7utils.models.training.train_side_by_side``), against one after the other with all
cores each.

Run: ``.venv/bin/python benchmarks/cnn_epoch.py [--batch-sizes 4 32 128] [--n-molecules 1024]
[--repeat 2]``. On a shared machine the numbers are inflated by other jobs: measure twice.
No assertion on speed: this is a measurement.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def epoch_seconds(model, x, y, batch_size: int, repeat: int) -> float:
    """Best wall time of one epoch of ``model.fit`` over ``x`` (after a warm-up epoch)."""
    model.compile(optimizer="adam", loss="mae")
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)  # compiles every shape
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        best = min(best, time.perf_counter() - start)
    return best


def side_by_side_job(job) -> float:
    """Worker of the side-by-side timing: build one deck network, time one epoch (scaled)."""
    import qm7utils  # noqa: F401 - selects the JAX backend
    from qm7utils.models.networks import build_deck_cnn_1d, build_deck_cnn_2d

    name, x, y, batch_size, repeat, scale = job
    build = build_deck_cnn_2d if name == "2d" else build_deck_cnn_1d
    return epoch_seconds(build(seed=0), x, y, batch_size, repeat) * scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 32, 128],
                        help="batch sizes to time; the first is the reference (the deck's 4)")
    parser.add_argument("--n-molecules", type=int, default=1024,
                        help="molecules per timed epoch (scaled to the full training set)")
    parser.add_argument("--repeat", type=int, default=2, help="timed epochs (best kept)")
    args = parser.parse_args()

    import qm7utils  # noqa: F401 - selects the JAX backend
    from qm7utils import load_qm7
    from qm7utils.models.networks import (
        backend_versions,
        build_atomwise_network,
        build_deck_cnn_1d,
        build_deck_cnn_2d,
        build_dense_network,
    )
    from qm7utils.models.training import InputScaler, TargetScaler
    from qm7utils.representations.atomwise import RandomSorter, atomwise_inputs
    from qm7utils.representations.coulomb import coulomb_matrix

    qm7 = load_qm7()
    n = min(args.n_molecules, qm7.n_molecules)
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(qm7.n_molecules, size=n, replace=False))
    X = InputScaler("deck").fit(qm7.X[pick]).transform(qm7.X[pick])
    y = TargetScaler("deck").fit(qm7.T[pick]).transform(qm7.T[pick])
    C = coulomb_matrix(qm7.Z[pick], qm7.R[pick])
    atoms, mask = atomwise_inputs(C, qm7.Z[pick])
    triangles = RandomSorter(C).draw_triangles(rng, 0.0).astype(np.float32)

    versions = backend_versions()
    print(f"Keras {versions['keras']} on {versions['backend']} {versions['jax']}, devices: "
          f"{versions['devices']}; {n} molecules per timed epoch, best of {args.repeat}, "
          "scaled to a full training epoch\n")
    nets = [
        ("deck 2D ConvNet", lambda: build_deck_cnn_2d(seed=0), X[..., None], 5732),
        ("deck 1D ConvNet", lambda: build_deck_cnn_1d(seed=0), X.reshape(n, -1, 1), 4993),
    ]
    reference = args.batch_sizes[0]
    header = "".join(f"{'batch ' + str(b):>11s}" for b in args.batch_sizes)
    ratios = "".join(f"{str(b) + '/' + str(reference):>9s}" for b in args.batch_sizes[1:])
    print(f"{'network':22s}{header}   {ratios}   (seconds per epoch; ratio > 1: slower)")
    alone = []
    for name, build, x, n_train in nets:
        times = []
        for batch_size in args.batch_sizes:
            seconds = epoch_seconds(build(), x, y, batch_size, args.repeat)
            times.append(seconds * n_train / n)
        alone.append(times[0])
        cells = "".join(f"{t:>10.1f}s" for t in times)
        ratio = "".join(f"{t / times[0]:>8.2f}x" for t in times[1:])
        print(f"{name:22s}{cells}   {ratio}")

    print("\nThe chapter's small networks, batch 32, per epoch of 4,993 molecules:")
    small = [
        ("dense (276-400-100-1)", lambda: build_dense_network(276, seed=0), triangles),
        ("atom-wise (23-256-128)", lambda: build_atomwise_network(seed=0), [atoms, mask]),
    ]
    for name, build, x in small:
        seconds = epoch_seconds(build(), x, y, 32, args.repeat) * 4993 / n
        print(f"{name:22s}{seconds:>10.2f}s")

    from qm7utils.parallel import available_cores, process_map

    cores = available_cores()
    if cores < 2:
        print("\nSide by side: skipped, this process may use one core only")
        return
    jobs = [("2d", X[..., None], y, reference, args.repeat, 5732 / n),
            ("1d", X.reshape(n, -1, 1), y, reference, args.repeat, 4993 / n)]
    both = process_map(side_by_side_job, jobs, workers=2)
    sequential, parallel = sum(alone), max(both)
    print(f"\nBoth deck ConvNets at batch {reference}, seconds per epoch of each "
          f"({cores} cores):")
    print(f"  one after the other, all cores each: 2D {alone[0]:.1f} + 1D {alone[1]:.1f} = "
          f"{sequential:.1f} s")
    print(f"  side by side, one process each:      2D {both[0]:.1f} | 1D {both[1]:.1f} -> "
          f"{parallel:.1f} s   ({sequential / parallel:.2f}x sooner)")


if __name__ == "__main__":
    main()
