"""Water-filling at the paper's Table 6 grid, and the CMI defense's overhead.

Run ``python benchmarks/bench_waterfill.py [--max-classes K] [--threads N]``.

1. Batch of 256 rows at K = 10, 10^2, ..., 10^6 (inputs ``softmax(10 s)``, s
   standard normal, as in Appendix D of the Stealthy Shield Defense paper):
   the numba kernel (randomised selection, O(K) per row) against the paper's
   sort-based algorithm in torch (both halves) on the same CPU, and against
   scipy's SLSQP as the generic reference solver (small K only: it is O(K^3)).
   At K = 10^6 the batch is cut to 32 rows to stay within memory; times are
   per batch of 256 (scaled) in every row of the table.
2. ``CMIPostProcessor.transform`` against ``predict_proba`` of a mid-sized MLP
   (two hidden layers of 256) on the same batch, i.e. the defense's overhead.
"""

import argparse
import time
import warnings

import numpy as np
from scipy.special import softmax

from skmid import show_versions
from skmid.postprocessing import CMIPostProcessor, waterfill
from skmid.postprocessing._waterfill import waterfill_reference

BATCH = 256


def best_time(function, repeat=5):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def table6(max_classes, torch):
    rng = np.random.default_rng(0)
    print(
        f"{'K':>8} {'rows':>5} {'numba ms':>10} {'torch sort ms':>14} "
        f"{'torch/numba':>12} {'SLSQP ms':>10} {'SLSQP/numba':>12}"
    )
    k = 10
    while k <= max_classes:
        rows = BATCH if k < 10**6 else 32
        scale = BATCH / rows
        f = softmax(10 * rng.normal(size=(rows, k)), axis=1)
        q = softmax(10 * rng.normal(size=(rows, k)), axis=1)
        budget = 0.5 * np.abs(f - q).sum(axis=1)
        repeat = 5 if k <= 10**4 else 2
        t_numba, p = best_time(lambda f=f, q=q, b=budget: waterfill(f, q, b), repeat)
        t_numba *= scale
        line = f"{k:>8} {rows:>5} {t_numba * 1e3:>10.3f}"
        if torch is not None:
            ft, qt, bt = (torch.from_numpy(a) for a in (f, q, budget))
            t_torch, pt = best_time(lambda f=ft, q=qt, b=bt: waterfill(f, q, b), repeat)
            t_torch *= scale
            assert np.allclose(pt.numpy(), p, atol=1e-10)
            line += f" {t_torch * 1e3:>14.3f} {t_torch / t_numba:>12.1f}"
        else:
            line += f" {'(no torch)':>14} {'':>12}"
        if k <= 100:
            n_ref = 8 if k == 10 else 1
            start = time.perf_counter()
            for i in range(n_ref):
                waterfill_reference(f[i], q[i], budget[i])
            t_ref = (time.perf_counter() - start) / n_ref * BATCH
            line += f" {t_ref * 1e3:>10.1f} {t_ref / t_numba:>12.0f}"
        print(line)
        k *= 10


def overhead():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(1)
    n_features, n_classes = 64, 10
    X = rng.normal(size=(2000, n_features))
    y = (X[:, :n_classes].argmax(axis=1)).astype(int)
    with warnings.catch_warnings():  # a few epochs are enough for timing
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((256, 256), max_iter=20, random_state=0).fit(X, y)
    defense = CMIPostProcessor(random_state=0).fit(mlp.predict_proba(X), y)
    batch = X[:BATCH]
    P = mlp.predict_proba(batch)
    t_predict, _ = best_time(lambda: mlp.predict_proba(batch), 20)
    t_defense, _ = best_time(lambda: defense.transform(P), 20)
    print(
        f"MLP(256, 256) predict_proba on {BATCH} rows: {t_predict * 1e3:.3f} ms; "
        f"CMIPostProcessor.transform: {t_defense * 1e3:.3f} ms "
        f"(+{100 * t_defense / t_predict:.0f}% of predict_proba)"
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
    elapsed = time.perf_counter() - start
    print(f"\nfirst call (numba compile or cache load): {elapsed:.2f} s")
    print(f"\nwater-filling, batch of {BATCH} (times per batch of {BATCH})")
    table6(args.max_classes, torch)
    print()
    overhead()


if __name__ == "__main__":
    main()
