"""Cost of the purifier and the adversarial-noise defense, against predict_proba.

Run ``python benchmarks/bench_output_defenses.py [--device cuda] [--rows N]``.

- Purifier: fit time of the single purifier and of Purifier I, II and I&II
  (50 epochs on a reference set of N rows of a 10-class target), as a ratio to
  fitting the target itself (a logistic regression on the same rows), and the
  ``transform`` time on 10,000 rows as a ratio to the target's
  ``predict_proba`` on them (the overhead a deployed purifier adds per query).
- Adversarial noise: cost per 1,000 queries at ``n_iter=10`` (one forward and
  backward pass of the defender's inversion model per step, for the whole
  batch), on 64-pixel digits and 4096-pixel images, as a ratio to
  ``predict_proba`` on the same rows; and ``DefendedClassifier.predict``
  through it (which skips the noise: the label modifier keeps every top
  class) against the labels of its defended ``predict_proba``, the cost a
  label-only attacker used to pay per query.

CPU by default; ``--device cuda`` runs the torch parts on a GPU when one is
present (the target stays a scikit-learn model on the CPU).
"""

import argparse
import time
from functools import partial

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from skmid import show_versions
from skmid.attacks import InversionModelAttack
from skmid.postprocessing import AdversarialNoiseDefense, PurifierTransformer


def timed(function, repeats=1):
    """Best of ``repeats`` wall-clock times, and the last result."""
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def digits_target(n_reference):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    target = LogisticRegression(C=0.05, max_iter=2000).fit(X[:900], y[:900])
    rng = np.random.default_rng(0)
    reference = rng.choice(np.arange(900, len(X)), size=n_reference)
    return X, y, target, reference


def bench_purifier(n_reference, device):
    X, y, target, reference = digits_target(n_reference)
    P_ref = target.predict_proba(X[reference])
    t_target, _ = timed(
        lambda: LogisticRegression(C=0.05, max_iter=2000).fit(
            X[reference], y[reference]
        ),
        repeats=3,
    )
    queries = np.resize(X, (10_000, X.shape[1]))
    t_proba, P = timed(lambda: target.predict_proba(queries), repeats=5)
    print(
        f"\npurifier, {n_reference} reference rows, 50 epochs, {device}; "
        f"references: target fit {t_target * 1e3:.1f} ms, predict_proba on "
        f"10,000 rows {t_proba * 1e3:.2f} ms"
    )
    print(
        f"{'variant':<16} {'fit (s)':>8} {'/ target fit':>13} "
        f"{'transform (ms)':>15} {'/ predict_proba':>16}"
    )
    for name, params in [
        ("single", {}),
        ("I (alpha=1)", {"alpha": 1.0}),
        ("II (beta=0.1)", {"beta": 0.1}),
        ("I&II", {"alpha": 1.0, "beta": 0.1}),
    ]:
        purifier = PurifierTransformer(random_state=0, device=device, **params)
        t_fit, _ = timed(
            lambda p=purifier: p.fit(P_ref, y[reference], inputs=X[reference])
        )
        t_transform, _ = timed(lambda p=purifier: p.transform(P), repeats=5)
        print(
            f"{name:<16} {t_fit:>8.2f} {t_fit / t_target:>13.0f} "
            f"{t_transform * 1e3:>15.2f} {t_transform / t_proba:>16.2f}"
        )


def bench_noise(device):
    print(f"\nadversarial noise, n_iter=10, per 1,000 queries, {device}")
    print(
        f"{'inputs':<22} {'inversion net':<14} {'noise (ms)':>11} "
        f"{'predict_proba (ms)':>19} {'ratio':>8}"
    )
    rng = np.random.default_rng(0)
    for name, n_pixels, hidden in [
        ("digits (64 pixels)", 64, (256, 256)),
        ("images (4096 pixels)", 4096, (256, 256)),
    ]:
        X = rng.random((2000, n_pixels))
        y = (X[:, :10].argmax(axis=1)).astype(int)
        target = LogisticRegression(max_iter=500).fit(X[:1000], y[:1000])
        P_ref = target.predict_proba(X[1000:])
        defense = AdversarialNoiseDefense(
            InversionModelAttack(hidden, max_epochs=1, device=device),
            n_iter=10,
            random_state=0,
        ).fit(P_ref, inputs=X[1000:])
        queries = X[:1000]
        t_proba, P = timed(partial(target.predict_proba, queries), repeats=5)
        t_noise, _ = timed(
            lambda d=defense, p=P, q=queries: d.transform(p, inputs=q), repeats=3
        )
        print(
            f"{name:<22} {str(hidden):<14} {t_noise * 1e3:>11.1f} "
            f"{t_proba * 1e3:>19.2f} {t_noise / t_proba:>8.0f}"
        )
    bench_noise_labels(device)


def bench_noise_labels(device):
    """``predict`` against argmax of the defended ``predict_proba``, 4096 pixels."""
    from skmid.postprocessing import DefendedClassifier

    rng = np.random.default_rng(0)
    X = rng.random((1500, 4096))
    y = (X[:, :10].argmax(axis=1)).astype(int)
    model = DefendedClassifier(
        LogisticRegression(max_iter=500),
        AdversarialNoiseDefense(
            InversionModelAttack((256, 256), max_epochs=1, device=device),
            n_iter=10,
            random_state=0,
        ),
        random_state=0,
    ).fit(X[:500], y[:500])
    queries = X[500:]
    t_labels, labels = timed(partial(model.predict, queries), repeats=5)
    t_proba, proba = timed(partial(model.predict_proba, queries), repeats=3)
    assert np.array_equal(labels, model.classes_[proba.argmax(axis=1)])
    print(
        f"\nDefendedClassifier(adversarial noise) labels of 1,000 queries (4096 "
        f"pixels): predict {t_labels * 1e3:.1f} ms, argmax of predict_proba "
        f"{t_proba * 1e3:.1f} ms: {t_proba / t_labels:.0f} x faster (same labels)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[500, 2000],
        help="reference-set sizes for the purifier",
    )
    args = parser.parse_args(argv)
    show_versions()
    import torch

    torch.ones(1).sum()  # load torch before timing
    for n_reference in args.rows:
        bench_purifier(n_reference, args.device)
    bench_noise(args.device)


if __name__ == "__main__":
    main()
