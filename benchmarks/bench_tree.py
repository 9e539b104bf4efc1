"""Fit and prediction time of the MID tree against scikit-learn's, and MAP attacks.

Run ``python benchmarks/bench_tree.py [--rows N]``. Data: 100,000 rows x 20
ordinal-encoded categorical features (2 to 8 categories each), a 3-class label
depending on 4 of them plus 20% label noise. Times ``MIDDecisionTreeClassifier``
(lam=0, i.e. ID3, and lam=0.01) against ``DecisionTreeClassifier(criterion=
"entropy")`` on the same integer matrix, and the naive and with-counts MAP
attacks on one feature over 10,000 rows, and prints the ratios. The first fit
(numba compilation or cache load) is timed apart.

``predict_proba`` of both fully grown trees on their training rows is timed
with one thread and with two (numba's and the BLAS/OpenMP pools), as medians
of interleaved runs: on those integer codes, and on 20 continuous features
declared numeric (binary threshold splits in both trees).
"""

import argparse
import time

import numba
import numpy as np
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from skmid import show_versions
from skmid.attacks import MAPAttributeInference
from skmid.tree import MIDDecisionTreeClassifier


def best_time(function, repeat=3):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def interleaved_medians(functions, repeat=15):
    """Median seconds of each function, run in turns so that load hits all alike."""
    times = {name: [] for name in functions}
    for _ in range(repeat):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def make_numeric_data(n_rows, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 20)).round(3)
    signal = X[:, 0] + X[:, 1] * X[:, 2] + 0.5 * rng.normal(size=n_rows)
    return X, (signal > 0).astype(int) + (X[:, 3] > 1)


def predict_rows(name, X, reference, tree):
    """Time predict_proba with one and two threads; print one row each.

    The first MID call of each setting (compilation or cache load of the
    serial or parallel kernel) is timed apart, in the "first s" column.
    """
    threads_before = numba.get_num_threads()
    for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
        numba.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            start = time.perf_counter()
            tree.predict_proba(X)
            first = time.perf_counter() - start
            t = interleaved_medians(
                {
                    "sklearn": lambda: reference.predict_proba(X),
                    "mid": lambda: tree.predict_proba(X),
                }
            )
        print(
            f"  {name:<18} {threads:>7} {first:8.2f} {t['sklearn'] * 1e3:11.1f} "
            f"{t['mid'] * 1e3:8.1f} {t['mid'] / t['sklearn']:6.2f}"
        )
    numba.set_num_threads(threads_before)


def make_data(n_rows, seed=0):
    rng = np.random.default_rng(seed)
    n_categories = rng.integers(2, 9, size=20)
    X = np.column_stack([rng.integers(0, m, n_rows) for m in n_categories])
    signal = X[:, 0] + 2 * (X[:, 1] % 2) + (X[:, 2] > 1) + (X[:, 3] == 0)
    y = np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))
    noisy = rng.random(n_rows) < 0.2
    y[noisy] = rng.integers(0, 3, noisy.sum())
    return X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    show_versions()
    X, y = make_data(args.rows)
    start = time.perf_counter()
    MIDDecisionTreeClassifier(lam=0.0, random_state=0).fit(X[:200], y[:200])
    elapsed = time.perf_counter() - start
    print(f"\nfirst fit (numba compile or cache load): {elapsed:.2f} s")

    t_sklearn, reference = best_time(
        lambda: DecisionTreeClassifier(criterion="entropy", random_state=0).fit(X, y)
    )
    print(f"\n{args.rows} rows x {X.shape[1]} categorical features, 3 classes")
    print(
        f"  sklearn DecisionTreeClassifier(entropy): {t_sklearn * 1e3:9.1f} ms "
        f"({reference.get_n_leaves()} leaves, binary splits)"
    )
    trees = {}
    for lam in [0.0, 0.01]:
        t_mid, tree = best_time(
            lambda lam=lam: MIDDecisionTreeClassifier(lam=lam, random_state=0).fit(X, y)
        )
        trees[lam] = tree
        print(
            f"  MIDDecisionTreeClassifier(lam={lam:g}):    {t_mid * 1e3:9.1f} ms "
            f"({tree.get_n_leaves()} leaves, multiway)  ratio {t_mid / t_sklearn:5.2f}"
        )

    X_numeric, y_numeric = make_numeric_data(args.rows)
    numeric_trees = [
        DecisionTreeClassifier(criterion="entropy", random_state=0),
        MIDDecisionTreeClassifier(lam=0.0, categorical_features=[], random_state=0),
    ]
    for estimator in numeric_trees:
        estimator.fit(X_numeric, y_numeric)
    print(
        f"\npredict_proba of the fully grown trees (lam=0) on the {args.rows} "
        "training rows: medians of interleaved runs, ratio MID / sklearn"
    )
    for name, (reference_tree, mid_tree) in {
        "categorical codes": (reference, trees[0.0]),
        "numeric features": numeric_trees,
    }.items():
        print(
            f"    {name}: {mid_tree.tree_.node_count} nodes, depth "
            f"{mid_tree.get_depth()} (sklearn {reference_tree.tree_.node_count}, "
            f"{reference_tree.get_depth()})"
        )
    print(f"  {'data':<18} {'threads':>7} {'first s':>8} {'sklearn ms':>11} ", end="")
    print(f"{'MID ms':>8} {'ratio':>6}")
    predict_rows("categorical codes", X, reference, trees[0.0])
    predict_rows("numeric features", X_numeric, *numeric_trees)

    rows = slice(0, 10_000)
    for mode in ["naive", "counts"]:
        attack = MAPAttributeInference(1, mode=mode).fit(X[rows], y[rows])
        t_attack, _ = best_time(lambda a=attack: a.infer_proba(tree, X[rows], y[rows]))
        print(
            f"  MAP attack ({mode:>6}) on 10,000 rows x {len(attack.values_)} "
            f"candidates: {t_attack * 1e3:.1f} ms"
        )


if __name__ == "__main__":
    main()
