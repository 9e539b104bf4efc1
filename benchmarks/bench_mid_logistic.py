"""Fit time of MIDLogisticRegression against scikit-learn's LogisticRegression.

Run ``python benchmarks/bench_mid_logistic.py [--rows N]``. On breast_cancer
(binary), standardised digits (10 classes) and a synthetic 10-class problem of
``N`` rows x 50 features, times ``LogisticRegression().fit`` (lbfgs) and
``MIDLogisticRegression(lam=0).fit`` (the same objective, our NumPy loss and
gradient against scikit-learn's Cython one) and ``lam=1`` (the penalty adds
O(nK) per evaluation, and usually more L-BFGS iterations). Medians of
interleaved runs with one BLAS thread; prints the ratios to scikit-learn and
the iteration counts.

A second table does the same for the L1 penalty (``l1_ratio=1, C=0.1``):
scikit-learn's ``solver="saga"`` against the MID fit of the same name, solved
by L-BFGS-B on split coefficients, with the number of zero coefficients and
the largest coefficient difference at ``lam=0`` (both at ``tol=1e-6``).
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skmid import show_versions
from skmid.linear_model import MIDLogisticRegression


def interleaved_medians(functions, repeat):
    """Median seconds of each function, run in turns so that load hits all alike."""
    times = {name: [] for name in functions}
    results = {}
    for _ in range(repeat):
        for name, function in functions.items():
            start = time.perf_counter()
            results[name] = function()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}, results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    show_versions()
    X_syn, y_syn = make_classification(
        n_samples=args.rows,
        n_features=50,
        n_informative=20,
        n_classes=10,
        random_state=0,
    )
    datasets = {
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "digits": load_digits(return_X_y=True),
        f"synthetic {args.rows}x50, K=10": (X_syn, y_syn),
    }
    print("\n| data | sklearn (s) | MID lam=0 | MID lam=1 | iterations sk / 0 / 1 |")
    print("|---|---|---|---|---|")
    for name, (X, y) in datasets.items():
        X = StandardScaler().fit_transform(X)
        models = {
            "sklearn": LogisticRegression(max_iter=1000),
            "mid0": MIDLogisticRegression(lam=0.0, max_iter=1000),
            "mid1": MIDLogisticRegression(lam=1.0, max_iter=1000),
        }
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            times, fitted = interleaved_medians(
                {key: (lambda m=m, X=X, y=y: m.fit(X, y)) for key, m in models.items()},
                args.repeat,
            )
        iterations = " / ".join(str(int(fitted[k].n_iter_[0])) for k in models)
        print(
            f"| {name} | {times['sklearn']:.4f} | "
            f"{times['mid0'] / times['sklearn']:.2f}x | "
            f"{times['mid1'] / times['sklearn']:.2f}x | {iterations} |"
        )
    print(
        "\n| data (L1, C=0.1) | sklearn saga (s) | MID lam=0 | MID lam=1 "
        "| zero coefficients sk / 0 / 1 | max coef difference lam=0 |"
    )
    print("|---|---|---|---|---|---|")
    l1 = {"l1_ratio": 1.0, "C": 0.1, "solver": "saga", "tol": 1e-6, "max_iter": 5000}
    for name, (X, y) in list(datasets.items())[:2]:
        X = StandardScaler().fit_transform(X)
        models = {
            "sklearn": LogisticRegression(**l1, random_state=0),
            "mid0": MIDLogisticRegression(lam=0.0, **l1),
            "mid1": MIDLogisticRegression(lam=1.0, **l1),
        }
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            times, fitted = interleaved_medians(
                {key: (lambda m=m, X=X, y=y: m.fit(X, y)) for key, m in models.items()},
                args.repeat,
            )
        zeros = " / ".join(str(int((fitted[k].coef_ == 0).sum())) for k in models)
        difference = np.abs(fitted["mid0"].coef_ - fitted["sklearn"].coef_).max()
        print(
            f"| {name} | {times['sklearn']:.4f} | "
            f"{times['mid0'] / times['sklearn']:.2f}x | "
            f"{times['mid1'] / times['sklearn']:.2f}x | {zeros} | {difference:.1e} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
