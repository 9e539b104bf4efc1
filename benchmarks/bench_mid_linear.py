"""MIDLinearRegression: the exact penalty kernel against NumPy, binned error, fits.

Run ``python benchmarks/bench_mid_linear.py`` (add ``--full`` for N = 1e6 in the
binned-error table). Prints:

1. one penalty + gradient evaluation, the numba kernel against the NumPy
   reference below, on the same predictions (issue 19's row: N = 5,000, goal
   >= 10x);
2. the binned FFT approximation against the exact kernel: its time and its error
   on the penalty and on the gradient, at the Silverman bandwidth the fit uses;
3. the fit time of MIDLinearRegression(lam=1) with the exact and the binned
   penalty, LinearRegression's as the reference (issue 19's row: exact at N =
   5,000, goal < 2 s).

Times are medians of runs interleaved with the reference's (the machine may be
shared), in wall clock and, for the kernels, in CPU time of the process (all
threads). The first (compiling or cache-loading) call is timed apart.

The NumPy reference computes the same sums, vectorised and cache-blocked: rows
in blocks of 64 (a 64 x N block stays in L2), ``K = exp(-(u_i - u_j)^2 / 2)``
once per block and pass, ``S = K @ w``, then the gradient's sums as two
matrix-vector products ``(d * K) @ w`` and ``(d * K) @ (w / S)``, all in place
in preallocated buffers, with BLAS on one thread (threads only slow down these
small products). It evaluates all N^2 pairs twice; the kernel's advantage is
algorithmic (tiles whose interactions factorise, see ``_mid_kernels``) as well
as compiled.
"""

import argparse
import time

import numpy as np
from sklearn.linear_model import LinearRegression
from threadpoolctl import threadpool_limits

from skmid import show_versions
from skmid.datasets import make_sensitive_regression
from skmid.linear_model import MIDLinearRegression
from skmid.linear_model._mid import mixture_entropy, silverman_bandwidth

BLOCK = 64


def numpy_penalty(z, w, sigma):
    """Reference: the penalty and its gradient in cache-sized row blocks."""
    u = z / sigma
    n = u.size
    d = np.empty((BLOCK, n))
    kernel = np.empty((BLOCK, n))
    sums = np.empty(n)
    d_sums_w = np.empty(n)
    d_sums_ws = np.empty(n)

    def block_kernel(start):
        stop = min(start + BLOCK, n)
        rows = stop - start
        np.subtract(u[start:stop, None], u[None, :], out=d[:rows])
        np.multiply(d[:rows], d[:rows], out=kernel[:rows])
        kernel[:rows] *= -0.5
        np.exp(kernel[:rows], out=kernel[:rows])
        return slice(start, stop), rows

    with threadpool_limits(1, user_api="blas"):
        for start in range(0, n, BLOCK):
            block, rows = block_kernel(start)
            sums[block] = kernel[:rows] @ w
        w_over_sums = w / sums
        for start in range(0, n, BLOCK):
            block, rows = block_kernel(start)
            kernel[:rows] *= d[:rows]
            d_sums_w[block] = kernel[:rows] @ w
            d_sums_ws[block] = kernel[:rows] @ w_over_sums
    value = 0.5 * np.log(2 * np.pi) + np.log(sigma) - np.dot(w, np.log(sums))
    grad = (w_over_sums * d_sums_w + w * d_sums_ws) / sigma
    return value, grad


def interleaved(functions, repeat):
    """Median wall and CPU seconds of each function, run in turn ``repeat`` times."""
    wall = {name: [] for name in functions}
    cpu = {name: [] for name in functions}
    for _ in range(repeat):
        for name, function in functions.items():
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            function()
            wall[name].append(time.perf_counter() - start_wall)
            cpu[name].append(time.process_time() - start_cpu)
    return (
        {name: float(np.median(times)) for name, times in wall.items()},
        {name: float(np.median(times)) for name, times in cpu.items()},
    )


def bench_kernel(rng):
    print(
        "\n1. one exact penalty + gradient evaluation, predictions N(0, 1), sigma 0.2"
    )
    print(
        f"{'N':>7} {'numba ms':>9} {'numpy ms':>9} {'ratio wall':>11} "
        f"{'ratio cpu':>10} {'max rel diff':>13}"
    )
    for n in [1_000, 5_000, 20_000]:
        z = rng.normal(size=n)
        w = np.full(n, 1.0 / n)
        value, grad = mixture_entropy(z, w, 0.2)
        ref_value, ref_grad = numpy_penalty(z, w, 0.2)
        diff = max(
            abs(value - ref_value) / abs(ref_value),
            np.abs(grad - ref_grad).max() / np.abs(ref_grad).max(),
        )
        wall, cpu = interleaved(
            {
                "numba": lambda z=z, w=w: mixture_entropy(z, w, 0.2),
                "numpy": lambda z=z, w=w: numpy_penalty(z, w, 0.2),
            },
            repeat=7 if n <= 5_000 else 3,
        )
        print(
            f"{n:7d} {wall['numba'] * 1e3:9.2f} {wall['numpy'] * 1e3:9.1f} "
            f"{wall['numpy'] / wall['numba']:11.1f} "
            f"{cpu['numpy'] / cpu['numba']:10.1f} {diff:13.1e}"
        )


def bench_binned(rng, sizes):
    print(
        "\n2. binned (grid_step=0.1) against exact, Silverman bandwidth; errors: "
        "|dL| / |L|, max |d grad| / max |grad|"
    )
    print(
        f"{'predictions':>12} {'N':>8} {'exact ms':>9} {'binned ms':>10} "
        f"{'value err':>10} {'grad err':>9}"
    )
    for name, draw in [("normal", rng.normal), ("student t3", rng.standard_t)]:
        for n in sizes:
            z = draw(size=n) if name == "normal" else draw(3, size=n)
            w = np.full(n, 1.0 / n)
            sigma = silverman_bandwidth(z, np.ones(n))
            exact_value, exact_grad = mixture_entropy(z, w, sigma)
            value, grad = mixture_entropy(z, w, sigma, approximation="binned")
            wall, _ = interleaved(
                {
                    kind: lambda z=z, w=w, s=sigma, k=kind: mixture_entropy(
                        z, w, s, approximation=k
                    )
                    for kind in ["exact", "binned"]
                },
                repeat=3,
            )
            print(
                f"{name:>12} {n:8d} {wall['exact'] * 1e3:9.2f} "
                f"{wall['binned'] * 1e3:10.2f} "
                f"{abs(value - exact_value) / abs(exact_value):10.1e} "
                f"{np.abs(grad - exact_grad).max() / np.abs(exact_grad).max():9.1e}"
            )


def bench_fit():
    print("\n3. fit time, MIDLinearRegression(lam=1.0) on make_sensitive_regression")
    print(
        f"{'N':>7} {'OLS s':>8} {'exact s':>8} {'binned s':>9} {'exact/OLS':>10} "
        f"{'binned/OLS':>11} {'iterations':>11}"
    )
    for n in [1_000, 5_000, 20_000, 100_000]:
        X, y = make_sensitive_regression(n_samples=n, random_state=0, return_X_y=True)
        models = {
            "ols": LinearRegression(),
            "exact": MIDLinearRegression(lam=1.0, approximation="exact"),
            "binned": MIDLinearRegression(lam=1.0, approximation="binned"),
        }
        wall, _ = interleaved(
            {
                name: lambda m=model, X=X, y=y: m.fit(X, y)
                for name, model in models.items()
            },
            repeat=3,
        )
        print(
            f"{n:7d} {wall['ols']:8.4f} {wall['exact']:8.3f} {wall['binned']:9.3f} "
            f"{wall['exact'] / wall['ols']:10.0f} {wall['binned'] / wall['ols']:11.0f} "
            f"{models['exact'].n_iter_:11d}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="add N = 1e6 to table 2")
    args = parser.parse_args(argv)
    show_versions()

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    mixture_entropy(rng.normal(size=10), np.full(10, 0.1), 1.0)
    print(
        f"\nnumba kernel first call (compile or cache load): "
        f"{time.perf_counter() - start:.2f} s"
    )
    bench_kernel(rng)
    bench_binned(rng, [1_000, 10_000, 100_000] + ([1_000_000] if args.full else []))
    bench_fit()


if __name__ == "__main__":
    main()
