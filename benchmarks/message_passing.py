"""Seconds per training epoch of chapter 8's message-passing network, packed against padded.

The chapter's SchNet-style network is trained for one epoch on the training molecules of P fold
0 (the four other folds less the 10% held out for validation, as in the chapter), in both input
forms of :mod:`qm7utils.representations.neighbours`:

* packed (:func:`~qm7utils.representations.neighbours.pack`): the batch's atoms and neighbour
  pairs in flat arrays of one fixed size, what the chapter trains on;
* padded (:func:`~qm7utils.representations.neighbours.pad`): every molecule 23 atoms and all
  23 x 23 pairs, non-neighbours masked out. The padded batches are filled up to the packed
  batches' number of molecule rows with empty molecules of weight 0, so one compiled step serves
  every batch in both forms.

Both forms see the same shuffled batches of molecules, start from the same weights and run the
same training step (``qm7utils.models.message_passing.make_train_step``: loss, gradients and
Adam, compiled by ``jax.jit``). Each form's step is compiled on the first batch first, so
compilation is excluded from the timing; the timed loop builds each batch and runs the step, as
``fit`` does. ``--batches N`` times the first N batches of the epoch only and scales that to the
whole epoch (the padded form takes tens of seconds per epoch on 2 cores). Last, the two forms'
predictions with the same weights are compared (largest absolute difference), and so are their
training losses step by step.

Run: ``QM7_PATH=/path/to/qm7.mat .venv/bin/python benchmarks/message_passing.py [--batches 30]``
(the defaults are the chapter's: cutoff 4.0 Å, 25 basis functions, 64 features, 3 interactions,
batch size 32). Wall-clock seconds on whatever else the machine is doing: compare ratios, and
run twice on a shared machine. No assertion on speed: this is a measurement.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import qm7utils  # noqa: F401 - sets the JAX backend before Keras is imported (in main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=None,
                        help="time only the first N batches of the epoch and scale to the epoch "
                             "(default: the whole epoch)")
    parser.add_argument("--cutoff", type=float, default=4.0, help="neighbour distance (Å)")
    parser.add_argument("--n-basis", type=int, default=25, help="radial basis functions")
    parser.add_argument("--features", type=int, default=64, help="features per atom")
    parser.add_argument("--interactions", type=int, default=3, help="interaction blocks")
    parser.add_argument("--batch-size", type=int, default=32, help="molecules per batch")
    parser.add_argument("--learning-rate", type=float, default=5e-3, help="Adam's first rate")
    parser.add_argument("--seed", type=int, default=42, help="the chapter's seed")
    args = parser.parse_args()
    if args.batches is not None and args.batches < 1:
        parser.error("--batches must be at least 1")

    import jax
    import keras

    from qm7utils import load_qm7
    from qm7utils.evaluation import fold_splits, holdout_split
    from qm7utils.models.message_passing import (
        SchNet,
        batch_targets,
        make_train_step,
        model_weights,
    )
    from qm7utils.models.networks import backend_versions
    from qm7utils.models.training import TargetScaler
    from qm7utils.representations import neighbours as nb

    qm7 = load_qm7()
    _, four_folds, _ = next(fold_splits(qm7.P))
    fit_part, _ = holdout_split(len(four_folds), test_size=0.1, seed=args.seed)
    train = four_folds[fit_part]
    start = time.perf_counter()
    graphs = nb.neighbour_graphs(qm7.Z, qm7.R, cutoff=args.cutoff)
    basis = nb.radial_basis(graphs.distance, args.cutoff, args.n_basis)
    seconds_graphs = time.perf_counter() - start
    y = TargetScaler("dressed").fit(qm7.T[train], qm7.Z[train]).transform(qm7.T, qm7.Z)
    y = np.asarray(y, np.float32)

    capacity = nb.Capacity.for_graphs(graphs, args.batch_size)
    batches = nb.pack_batches(graphs, train, capacity, np.random.default_rng(args.seed))
    n_timed = len(batches) if args.batches is None else min(args.batches, len(batches))
    timed = batches[:n_timed]
    rows = capacity.molecules
    forms = {"packed": lambda b: nb.pack(graphs, basis, b, capacity),
             "padded": lambda b: nb.pad(graphs, basis, b, rows=rows)}

    versions = backend_versions()
    edges = graphs.n_edges[train].sum()
    print(f"Keras {versions['keras']} on {versions['backend']} {versions['jax']}, devices: "
          f"{versions['devices']}")
    print(f"P fold 0: {len(train)} training molecules, {edges:,} edges within {args.cutoff} Å "
          f"(padded: {len(train) * 23 * 23:,} pairs, {len(train) * 23 * 23 / edges:.1f}x); "
          f"graphs and basis of all {len(graphs)} molecules in {seconds_graphs:.1f} s")
    print(f"SchNet {args.features} features, {args.interactions} interactions, {args.n_basis} "
          f"basis functions; {len(batches)} batches per epoch of up to {capacity.molecules} "
          f"molecules ({len(train) / len(batches):.1f} on average), packed into "
          f"{capacity.atoms} atoms and {capacity.edges} edges")
    what = ("the whole epoch" if n_timed == len(batches)
            else f"the first {n_timed} of {len(batches)} batches, scaled to the epoch")
    print(f"timed: {what}; compilation excluded\n")

    keras.utils.set_random_seed(args.seed)
    model = SchNet(args.features, args.interactions)
    model(forms["packed"](batches[0]))  # builds the weights, shared by both forms
    weights = model_weights(model)

    results = {}
    for form, make in forms.items():
        optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
            args.learning_rate, len(batches), alpha=0.01))
        optimizer.build(model.trainable_variables)
        step = make_train_step(model, optimizer)
        initial = model_weights(model, optimizer)
        start = time.perf_counter()
        jax.block_until_ready(step(initial, make(timed[0]), batch_targets(y, timed[0], rows)))
        compile_seconds = time.perf_counter() - start
        state, losses = initial, []
        start = time.perf_counter()
        for b in timed:
            loss, state = step(state, make(b), batch_targets(y, b, rows))
            losses.append(loss)
        jax.block_until_ready(state)
        seconds = time.perf_counter() - start
        forward = jax.jit(lambda t, n, x: model.stateless_call(t, n, x)[0])
        predicted = np.concatenate([np.asarray(forward(*weights, make(b)))[: len(b)]
                                    for b in timed])
        results[form] = {"compile": compile_seconds, "batch": seconds / n_timed,
                         "epoch": seconds / n_timed * len(batches),
                         "losses": np.asarray(losses), "predicted": predicted}

    print(f"{'form':8s}{'s / batch':>11s}{'s / epoch':>11s}{'ratio':>8s}{'compile s':>11s}")
    reference = results["packed"]["epoch"]
    for form, r in results.items():
        print(f"{form:8s}{r['batch']:>11.4f}{r['epoch']:>11.2f}{r['epoch'] / reference:>7.2f}x"
              f"{r['compile']:>11.1f}")
    print("s / epoch: " + ("measured over the whole epoch" if n_timed == len(batches) else
                           f"extrapolated from the first {n_timed} of {len(batches)} batches "
                           f"(s / batch x {len(batches)})") + "; ratio: to packed")
    packed, padded = results["packed"], results["padded"]
    scale = np.abs(packed["predicted"]).max()
    print(f"\nsame weights, {len(packed['predicted'])} molecules: max |packed - padded| "
          f"prediction {np.abs(packed['predicted'] - padded['predicted']).max():.1e} "
          f"(largest |prediction| {scale:.2f})")
    print(f"training losses over the {n_timed} steps: max |packed - padded| "
          f"{np.abs(packed['losses'] - padded['losses']).max():.1e} "
          f"(first {packed['losses'][0]:.4f}, last {packed['losses'][-1]:.4f})")


if __name__ == "__main__":
    main()
