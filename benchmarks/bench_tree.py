"""Fit time of the MID tree against scikit-learn's tree, and MAP attack time.

Run ``python benchmarks/bench_tree.py [--rows N]``. Data: 100,000 rows x 20
ordinal-encoded categorical features (2 to 8 categories each), a 3-class label
depending on 4 of them plus 20% label noise. Times ``MIDDecisionTreeClassifier``
(lam=0, i.e. ID3, and lam=0.01) against ``DecisionTreeClassifier(criterion=
"entropy")`` on the same integer matrix, and the naive and with-counts MAP
attacks on one feature over 10,000 rows, and prints the ratios. The first fit
(numba compilation or cache load) is timed apart.
"""

import argparse
import time

import numpy as np
from sklearn.tree import DecisionTreeClassifier

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
    for lam in [0.0, 0.01]:
        t_mid, tree = best_time(
            lambda lam=lam: MIDDecisionTreeClassifier(lam=lam, random_state=0).fit(X, y)
        )
        print(
            f"  MIDDecisionTreeClassifier(lam={lam:g}):    {t_mid * 1e3:9.1f} ms "
            f"({tree.get_n_leaves()} leaves, multiway)  ratio {t_mid / t_sklearn:5.2f}"
        )
    t_predict_sk, _ = best_time(lambda: reference.predict_proba(X))
    t_predict, _ = best_time(lambda: tree.predict_proba(X))
    print(
        f"  predict_proba: sklearn {t_predict_sk * 1e3:.1f} ms, "
        f"MID {t_predict * 1e3:.1f} ms, ratio {t_predict / t_predict_sk:.2f}"
    )

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
