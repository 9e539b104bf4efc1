"""Water-filling against the memory floor and a plain torch formulation, and the
per-query cost of the CMI defense.

Run ``python benchmarks/bench_waterfill.py [--max-classes K] [--threads N]``.
Times are per batch of 256 rows (inputs ``softmax(10 s)``, s standard normal,
as in Appendix D of the Stealthy Shield Defense paper; at K = 10^6 the batch
is cut to 32 rows to stay within memory and scaled). Every ratio is taken
against a reference run in the same process, interleaved (A, B, A, B, ...),
from medians: the rows are

1. ``waterfill`` (numba) against one copy of its inputs (``np.copy`` of f and
   q: the memory floor), in wall time and in CPU time;
2. the plain torch formulation on the same CPU (for each half: sort the
   ratios, gather, cumulative sums, the first breakpoint past the budget by
   ``argmax`` over a monotone mask) against ``waterfill``, and skmid's own
   torch path (the one that runs on a GPU) against the plain formulation;
3. scipy's SLSQP (generic reference solver, small K only: it is O(K^3));
4. ``CMIPostProcessor.transform`` against ``predict_proba`` of an MLP(256,
   256) at K = 10, its fixed cost per call at 1, 256 and 10,000 rows, and the
   memory peak of ``transform`` on 10^5 rows x K = 1,000 (tracemalloc).
"""

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from scipy.special import softmax
from threadpoolctl import threadpool_limits

from skmid import show_versions
from skmid.postprocessing import CMIPostProcessor, waterfill
from skmid.postprocessing._waterfill import waterfill_reference

BATCH = 256


def interleaved(functions, repeat, statistic=np.median):
    """Wall and CPU seconds of each function (median, or ``statistic``), called
    in turn."""
    wall = [[] for _ in functions]
    cpu = [[] for _ in functions]
    for _ in range(repeat):
        for i, function in enumerate(functions):
            start, start_cpu = time.perf_counter(), time.process_time()
            function()
            wall[i].append(time.perf_counter() - start)
            cpu[i].append(time.process_time() - start_cpu)
    return [(statistic(w), statistic(c)) for w, c in zip(wall, cpu, strict=True)]


def plain_torch(torch, f, q, budget):
    """Both halves by sort + cumulative sums, first valid prefix by argmax."""
    half = 0.5 * budget[:, None]
    ratio = f / q

    def level(mask, direction):
        key, order = torch.sort(torch.where(mask, direction * ratio, torch.inf), 1)
        valid = torch.isfinite(key)
        f_sorted = torch.where(valid, f.gather(1, order), 0)
        q_sorted = torch.where(valid, q.gather(1, order), 0)
        f_cum, q_cum = f_sorted.cumsum(1), q_sorted.cumsum(1)
        volume = direction * (direction * key * (q_cum - q_sorted) - (f_cum - f_sorted))
        past = ~(valid & (volume < half))  # False, then True from the first past
        last = (past.to(torch.uint8).argmax(1, keepdim=True) - 1).clamp(min=0)
        return (f_cum.gather(1, last) + direction * half) / q_cum.gather(1, last)

    return torch.minimum(torch.maximum(f, level(f < q, 1) * q), level(f > q, -1) * q)


def contenders(torch, f, q, budget):
    """waterfill, the copy, and (with torch) the plain and skmid torch paths."""
    functions = [
        lambda: waterfill(f, q, budget),
        lambda: (np.copy(f), np.copy(q)),
    ]
    if torch is not None:
        ft, qt, bt = (torch.from_numpy(a) for a in (f, q, budget))
        functions += [
            lambda: plain_torch(torch, ft, qt, bt),
            lambda: waterfill(ft, qt, bt),
        ]
        p = waterfill(f, q, budget)
        for function in functions[2:]:
            assert np.allclose(function().numpy(), p, atol=1e-10)
    return functions


def table(max_classes, torch):
    rng = np.random.default_rng(0)
    print(
        f"{'K':>8} {'rows':>4} {'numba ms':>9} {'copy ms':>8} {'/copy':>6} "
        f"{'cpu/copy':>8} {'plain torch ms':>14} {'plain/numba':>11} "
        f"{'skmid torch ms':>14} {'skmid/plain':>11} {'SLSQP/numba':>11}"
    )
    k = 10
    while k <= max_classes:
        rows = BATCH if k < 10**6 else 32
        scale = BATCH / rows
        f = softmax(10 * rng.normal(size=(rows, k)), axis=1)
        q = softmax(10 * rng.normal(size=(rows, k)), axis=1)
        budget = 0.5 * np.abs(f - q).sum(axis=1)
        repeat = 9 if k <= 10**4 else 3
        functions = contenders(torch, f, q, budget)
        times = interleaved(functions, repeat)
        (numba, numba_cpu), (copy, copy_cpu) = times[:2]
        line = (
            f"{k:>8} {rows:>4} {numba * scale * 1e3:>9.2f} "
            f"{copy * scale * 1e3:>8.2f} {numba / copy:>6.1f} "
            f"{numba_cpu / copy_cpu:>8.1f}"
        )
        if torch is not None:
            (plain, _), (skmid_torch, _) = times[2:]
            line += (
                f" {plain * scale * 1e3:>14.1f} {plain / numba:>11.1f}"
                f" {skmid_torch * scale * 1e3:>14.1f} {skmid_torch / plain:>11.2f}"
            )
        else:
            line += f" {'(no torch)':>14} {'':>11} {'':>14} {'':>11}"
        if k <= 100:
            n_ref = 8 if k == 10 else 1
            start = time.perf_counter()
            for i in range(n_ref):
                waterfill_reference(f[i], q[i], budget[i])
            per_row = (time.perf_counter() - start) / n_ref
            line += f" {per_row * rows / numba:>11.0f}"
        print(line)
        k *= 10


def cmi_overhead():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from skmid.postprocessing._waterfill_kernels import cmi_serial

    rng = np.random.default_rng(1)
    n_features, n_classes = 64, 10
    X = rng.normal(size=(10_000, n_features))
    y = X[:, :n_classes].argmax(axis=1)
    with warnings.catch_warnings():  # a few epochs are enough for timing
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((256, 256), max_iter=20, random_state=0).fit(
            X[:2000], y[:2000]
        )
    defense = CMIPostProcessor(random_state=0).fit(
        mlp.predict_proba(X[:2000]), y[:2000]
    )
    batch = X[:BATCH]
    P = mlp.predict_proba(batch)
    contenders = [lambda: mlp.predict_proba(batch), lambda: defense.transform(P)]
    print(f"MLP(256, 256) predict_proba and CMIPostProcessor.transform, {BATCH} rows:")
    # BLAS threads spin and wait on a loaded machine: the single-threaded
    # figures are the stable ones.
    for blas_threads in (None, 1):
        with threadpool_limits(limits=blas_threads):
            for name, statistic in (("median", np.median), ("min", np.min)):
                (predict, _), (defend, _) = interleaved(contenders, 200, statistic)
                print(
                    f"  BLAS threads {blas_threads or 'default'}, {name}: "
                    f"predict_proba {predict * 1e6:.0f} us, transform "
                    f"{defend * 1e6:.1f} us (+{100 * defend / predict:.1f}%)"
                )
    header = ("rows", "transform us", "kernel us", "fixed us", "ns/row")
    print(" ".join(f"{name:>{len(name) + 1}}" for name in header))
    P_all = mlp.predict_proba(X)
    prototypes = defense.class_prototypes_
    for n_rows in (1, 256, 10_000):
        P = P_all[:n_rows]
        out = np.empty_like(P)
        status = np.empty(n_rows, dtype=np.int8)

        def kernel(P=P, out=out, status=status):
            cmi_serial(
                P, prototypes, 1.0, 0.05, True, 1e4, defense.hash_seed_, out, status, 1
            )

        (total, _), (fused, _) = interleaved(
            [lambda P=P: defense.transform(P), kernel], 200 if n_rows < 10_000 else 20
        )
        print(
            f"{n_rows:>5} {total * 1e6:>13.1f} {fused * 1e6:>10.1f} "
            f"{(total - fused) * 1e6:>9.1f} {fused / n_rows * 1e9:>7.0f}"
        )


def cmi_memory(n_rows=100_000, n_classes=1_000):
    rng = np.random.default_rng(3)
    P = np.empty((n_rows, n_classes))
    for rows in range(0, n_rows, 10_000):  # no input-sized temporaries
        P[rows : rows + 10_000] = softmax(3 * rng.normal(size=(10_000, n_classes)), 1)
    y = P.argmax(axis=1)
    defense = CMIPostProcessor(random_state=0).fit(P[:20_000], y[:20_000])
    defense.transform(P[:10])
    tracemalloc.start()
    start = time.perf_counter()
    defense.transform(P)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"transform of {n_rows} x {n_classes} ({P.nbytes / 1e6:.0f} MB): "
        f"{elapsed:.2f} s, peak allocation {peak / 1e6:.0f} MB = "
        f"{peak / P.nbytes:.2f} x its input (the output is 1.00 x)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-classes", type=int, default=10**6)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        torch = None
    if args.threads:
        import numba

        numba.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    show_versions()
    rng = np.random.default_rng(2)
    f = softmax(rng.normal(size=(4, 10)), axis=1)
    start = time.perf_counter()
    waterfill(f, f[::-1], 0.1)  # compiles (or loads the cache of) the kernels
    waterfill(np.tile(f, 10) / 10, np.tile(f[::-1], 10) / 10, 0.1)  # long rows
    two = f[:, :2] / f[:, :2].sum(axis=1, keepdims=True)
    CMIPostProcessor().fit(two, [0, 1, 0, 1]).transform(two)
    elapsed = time.perf_counter() - start
    print(f"\nfirst calls (numba compile or cache load): {elapsed:.2f} s")
    print(f"\nwater-filling, times per batch of {BATCH} rows (medians, interleaved)")
    table(args.max_classes, torch)
    print()
    cmi_overhead()
    cmi_memory()


if __name__ == "__main__":
    main()
