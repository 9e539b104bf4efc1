"""Time to train and apply each attack on digits and on the Olivetti faces.

Run ``python benchmarks/bench_attacks.py [--data-home DIR] [--device cuda]``.
For each dataset: the inversion-model attack (training the inversion network
against a logistic regression, then reconstructing the training images), the
shadow-model (ML-Leaks), known-members (NSH) and label-only membership
attacks (training, then scoring). The label-only attack, a single
``predict`` call, is the reference each time is divided by. CPU by default;
``--device cuda`` runs the torch parts on a GPU when one is present.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import fetch_olivetti_faces, load_digits
from sklearn.linear_model import LogisticRegression

from skmid import show_versions
from skmid.attacks import (
    InversionModelAttack,
    KnownMembersMembershipAttack,
    LabelOnlyMembershipAttack,
    ShadowModelMembershipAttack,
)


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def datasets(data_home):
    X, y = load_digits(return_X_y=True)
    yield "digits (1797 x 64)", X / 16.0, y
    try:
        faces = fetch_olivetti_faces(data_home=data_home, download_if_missing=False)
    except OSError:
        print("(Olivetti faces not found: pass --data-home)")
        return
    yield "faces (400 x 4096)", faces.data, faces.target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    show_versions()
    import torch

    torch.ones(1).sum()  # load torch before timing
    for name, X, y in datasets(args.data_home):
        bench_dataset(name, X, y, args.device)


def bench_dataset(name, X, y, device):
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, aux, test = np.array_split(order, [len(y) // 2, 3 * len(y) // 4])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        target = LogisticRegression(max_iter=2000).fit(X[train], y[train])
    n = min(len(train), len(test))
    rows = np.r_[train[:n], test[:n]]
    member = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    label_only = LabelOnlyMembershipAttack()  # needs no fit
    t_label, _ = timed(lambda: label_only.score(target, X[rows], y[rows], member))
    print(f"\n{name}, {device}; reference: label-only attack {t_label * 1e3:.1f} ms")

    inversion = InversionModelAttack(max_epochs=50, random_state=0, device=device)
    inversion.fit(X[aux])
    t_fit, _ = timed(lambda: inversion.inversion_network(target))
    t_apply, _ = timed(lambda: inversion.score(target, X[train]))
    report("inversion (50 epochs)", t_fit, t_apply, t_label)

    membership = {
        "shadow / ML-Leaks": ShadowModelMembershipAttack(random_state=0).fit(
            X[aux], y[aux]
        ),
        "known members / NSH (50 ep.)": KnownMembersMembershipAttack(
            max_epochs=50, random_state=0, device=device
        ).fit(X[rows], y[rows], member),
    }
    probe = np.r_[0, 1, len(rows) - 2, len(rows) - 1]
    for label, attack in membership.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            # the first call trains the attack against the target
            t_fit, _ = timed(
                lambda a=attack: a.score(
                    target, X[rows[probe]], y[rows[probe]], member[probe]
                )
            )
        t_apply, _ = timed(lambda a=attack: a.score(target, X[rows], y[rows], member))
        report(label, t_fit, t_apply, t_label)


def report(label, t_fit, t_apply, t_label):
    print(
        f"  {label:<30} train {t_fit:7.2f} s ({t_fit / t_label:8.0f} x)   "
        f"apply {t_apply * 1e3:8.1f} ms ({t_apply / t_label:6.1f} x)"
    )


if __name__ == "__main__":
    main()
