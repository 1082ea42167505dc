"""Speed of chapter 9's kernels against straightforward alternatives, side by side.

    QM7_PATH=/path/to/qm7.mat python benchmarks/kernels.py [n_molecules]

1. The FCHL19 local kernel: qmllib's own routine (pair by pair, in Fortran) against
   ``qm7utils.models.kernels.local_gaussian_kernels`` (blocked matrix products), on all 720
   dimensions and compressed to 128, with the largest difference between the results.
2. Solving kernel ridge regression: Cholesky (``krr_fit``) against an explicit inverse.

Times are wall-clock seconds on whatever else the machine is doing; compare ratios, and run
twice on a shared machine.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from qm7utils import load_qm7
from qm7utils.models import kernels as KR
from qm7utils.representations.fchl19 import compress_environments, fchl19_environments


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def local_kernel(n: int, sigma: float = 2.0) -> None:
    from qmllib.kernels import get_local_symmetric_kernel
    from qmllib.representations import generate_fchl19

    from qm7utils.chem import BOHR_TO_ANGSTROM

    qm7 = load_qm7().sample(n, seed=0)
    env = fchl19_environments(qm7.Z, qm7.R)
    counts = (qm7.Z > 0).sum(axis=1)
    charges = [z[:k] for z, k in zip(qm7.Z, counts, strict=True)]
    padded = np.array([generate_fchl19(z[:k], r[:k] * BOHR_TO_ANGSTROM, pad=qm7.Z.shape[1])
                       for z, r, k in zip(qm7.Z, qm7.R, counts, strict=True)])
    reference, t_qmllib = timed(get_local_symmetric_kernel, padded, charges, sigma)
    ours, t_ours = timed(KR.local_gaussian_kernels, env, [sigma])
    compact = compress_environments(env, 128)
    small, t_small = timed(KR.local_gaussian_kernels, compact, [sigma])
    scale = np.abs(reference).max()
    print(f"local FCHL19 kernel, {qm7.n_molecules} x {qm7.n_molecules} molecules (sigma {sigma}):")
    print(f"  qmllib get_local_symmetric_kernel   {t_qmllib:8.2f} s")
    print(f"  ours, 720 dimensions                {t_ours:8.2f} s   "
          f"x{t_qmllib / t_ours:6.1f}   max |diff| / max K = "
          f"{np.abs(ours[sigma] - reference).max() / scale:.1e}")
    print(f"  ours, 128 principal components      {t_small:8.2f} s   "
          f"x{t_qmllib / t_small:6.1f}   max |diff| / max K = "
          f"{np.abs(small[sigma] - reference).max() / scale:.1e}")


def solvers(n: int = 4000) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 30))
    K = KR.laplacian_kernel(X, sigma=30.0)
    y = rng.normal(size=n)
    alpha, t_chol = timed(KR.krr_fit, K, y, 1e-6)

    def inverse():
        return np.linalg.inv(K + 1e-6 * np.eye(n)) @ y

    beta, t_inv = timed(inverse)
    print(f"KRR solve, {n} samples:")
    print(f"  Cholesky (krr_fit)   {t_chol:6.2f} s")
    print(f"  explicit inverse     {t_inv:6.2f} s   x{t_inv / t_chol:4.1f} slower, "
          f"max |difference| {np.abs(alpha - beta).max():.1e}")


if __name__ == "__main__":
    local_kernel(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    solvers()
