"""Feature speed: qm7utils against the usual reference implementations, on all of QM7.

1. Coulomb matrices (atom order, 23 x 23) of all 7,165 molecules: qm7utils'
   vectorised NumPy against dscribe's ``CoulombMatrix`` (same molecules, same units: the
   coordinates are handed to ASE in Bohr, so both compute Z_I Z_J / |R_I - R_J| in Bohr);
   the matrices are checked equal before timing is reported. dscribe's C++ ``create()`` works
   on ASE ``Atoms`` objects, so it is timed twice: on prepared ``Atoms``, and from QM7's arrays
   (building the ``Atoms`` included), which is what a user starting from qm7.mat pays.
2. Eigenvector centralities of the distance-weighted complete graphs: qm7utils' batched
   solver against a plain per-molecule networkx loop (``nx.eigenvector_centrality``), checked
   equal.

Run: ``.venv/bin/python benchmarks/featurize.py [--repeat 3]``. Prints the best time of each
over the repeats and the ratio. No assertion on speed: this is a measurement.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def best_time(function, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repeats per timing (best kept)")
    args = parser.parse_args()

    import networkx as nx
    from ase import Atoms
    from dscribe.descriptors import CoulombMatrix
    from tqdm.auto import tqdm

    from qm7utils import load_qm7
    from qm7utils.graphs import centrality_features
    from qm7utils.representations.coulomb import coulomb_matrix, distance_matrix

    qm7 = load_qm7()
    n = qm7.n_molecules

    def to_atoms():
        return [
            Atoms(numbers=qm7.Z[i, : qm7.n_atoms[i]], positions=qm7.R[i, : qm7.n_atoms[i]])
            for i in range(n)
        ]

    print(f"QM7: {n} molecules, up to 23 atoms; best of {args.repeat} runs\n")
    row = "{:44s} {:>9.3f}s {:>9.3f}s {:>8.1f}x"
    print(f"{'task':44s} {'qm7utils':>10s} {'reference':>10s} {'speed-up':>9s}")

    # 1. Coulomb matrices: dscribe needs ASE Atoms; time it with and without building them.
    ours_t, ours = best_time(lambda: coulomb_matrix(qm7.Z, qm7.R), args.repeat)
    descriptor = CoulombMatrix(n_atoms_max=23, permutation="none")
    atoms_t, molecules = best_time(to_atoms, args.repeat)
    ref_t, ref = best_time(lambda: descriptor.create(molecules, n_jobs=1), args.repeat)
    ref = np.asarray(ref).reshape(n, 23, 23)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
    print(row.format("Coulomb matrices, dscribe create() only", ours_t, ref_t, ref_t / ours_t))
    total = atoms_t + ref_t
    print(row.format("Coulomb matrices, dscribe from QM7 arrays", ours_t, total, total / ours_t))

    # 2. Eigenvector centralities
    def networkx_loop():
        out = np.zeros((n, 23))
        for i in tqdm(range(n), desc="networkx", leave=False, mininterval=1.0):
            k = qm7.n_atoms[i]
            D = distance_matrix(qm7.Z[i, :k], qm7.R[i, :k])
            x = nx.eigenvector_centrality(nx.from_numpy_array(D), weight="weight", max_iter=1000)
            out[i, :k] = sorted(x.values(), reverse=True)
        return out

    ours_t, ours = best_time(lambda: centrality_features(qm7.Z, qm7.R), args.repeat)
    ref_t, ref = best_time(networkx_loop, max(1, args.repeat // 3))
    # networkx stops at tol=1e-6 (per node, l1): agreement to a few 1e-6 is the best it allows.
    np.testing.assert_allclose(ours, ref, atol=5e-5)
    print(row.format("Eigenvector centrality, networkx loop", ours_t, ref_t, ref_t / ours_t))
    print("\nBoth results were checked equal to the reference before timing was reported.")


if __name__ == "__main__":
    main()
