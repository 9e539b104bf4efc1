"""MIDLinearRegression: fit time against N, exact vs binned, and the kernel vs numpy.

Run ``python benchmarks/bench_mid_linear.py`` (add ``--full`` for N = 1e5 with the
exact penalty, which takes minutes). Prints:

1. one penalty + gradient evaluation: the numba kernel against a plain numpy
   implementation (pairwise matrices, in blocks) and against the binned FFT
   approximation, as ratios, on the same predictions;
2. the fit time of MIDLinearRegression(lam=1) with the exact and the binned
   penalty, and LinearRegression's as the reference.
The first (compiling) call of the numba kernel is timed apart.
"""

import argparse
import time

import numpy as np
from sklearn.linear_model import LinearRegression

from skmid.datasets import make_sensitive_regression
from skmid.linear_model import MIDLinearRegression
from skmid.linear_model._mid import mixture_entropy

BLOCK = 2048


def numpy_penalty(z, w, sigma):
    """Reference: the same sums with numpy, in row blocks to bound memory."""
    norm = 1.0 / np.sqrt(2 * np.pi * sigma**2)
    sums = np.empty_like(z)
    for start in range(0, z.size, BLOCK):
        d = z[start : start + BLOCK, None] - z[None, :]
        sums[start : start + BLOCK] = norm * np.exp(-0.5 * (d / sigma) ** 2) @ w
    inv = 1.0 / sums
    grad = np.empty_like(z)
    for start in range(0, z.size, BLOCK):
        d = z[start : start + BLOCK, None] - z[None, :]
        k = norm * np.exp(-0.5 * (d / sigma) ** 2) * d * w
        grad[start : start + BLOCK] = (
            k * (inv[start : start + BLOCK, None] + inv)
        ).sum(1)
    return -np.dot(w, np.log(sums)), w / sigma**2 * grad


def timed(function, *args, repeat=3, **kwargs):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="include N = 1e5 exact")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    mixture_entropy(rng.normal(size=10), np.full(10, 0.1), 1.0)
    print(
        f"numba kernel first call (compile or cache load): "
        f"{time.perf_counter() - start:.2f} s\n"
    )

    print("one penalty + gradient evaluation")
    print(
        f"{'N':>7} {'numba s':>9} {'numpy/numba':>12} {'binned s':>9} "
        f"{'numba/binned':>13}"
    )
    for n in [1_000, 5_000, 20_000] + ([100_000] if args.full else []):
        z = rng.normal(size=n)
        w = np.full(n, 1.0 / n)
        t_numba = timed(mixture_entropy, z, w, 0.2, repeat=1 if n > 20_000 else 3)
        t_numpy = timed(numpy_penalty, z, w, 0.2, repeat=1) if n <= 20_000 else np.nan
        t_binned = timed(mixture_entropy, z, w, 0.2, approximation="binned")
        print(
            f"{n:7d} {t_numba:9.4f} {t_numpy / t_numba:12.1f} {t_binned:9.4f} "
            f"{t_numba / t_binned:13.1f}"
        )

    print("\nfit time, MIDLinearRegression(lam=1.0) on make_sensitive_regression")
    print(
        f"{'N':>7} {'OLS s':>8} {'binned s':>9} {'binned/OLS':>11} {'exact s':>8} "
        f"{'exact/binned':>13}"
    )
    for n in [1_000, 5_000, 20_000, 100_000]:
        X, y = make_sensitive_regression(n_samples=n, random_state=0, return_X_y=True)
        t_ols = timed(LinearRegression().fit, X, y)
        t_binned = timed(
            MIDLinearRegression(lam=1.0, approximation="binned").fit, X, y, repeat=1
        )
        run_exact = n <= 5_000 or (args.full and n <= 20_000)
        t_exact = (
            timed(
                MIDLinearRegression(lam=1.0, approximation="exact").fit, X, y, repeat=1
            )
            if run_exact
            else np.nan
        )
        print(
            f"{n:7d} {t_ols:8.4f} {t_binned:9.3f} {t_binned / t_ols:11.0f} "
            f"{t_exact:8.2f} {t_exact / t_binned:13.1f}"
        )
    print("\n(nan: skipped; run with --full)")


if __name__ == "__main__":
    main()
