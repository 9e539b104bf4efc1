"""Inversion and membership attacks on digits and faces (the papers' Figure 1 style).

The black-box inversion-model attack of Yang et al. against a logistic
regression on ``load_digits`` (the stand-in for MNIST) and on the Olivetti
faces, undefended and behind the CMI and top-label output defenses: the
attacker trains its inversion network on auxiliary images disjoint from the
target's training images, then reconstructs the training images (the victims)
from the target's outputs. Prints the inversion errors and the membership
attacks' accuracies, and draws originals above reconstructions.

Run: ``python examples/inversion_gallery.py [--data-home DIR] [--out FIGURE.png]``
(the faces need ``olivetti_py3.pkz`` in DIR; without it only digits are shown).
"""

import argparse
import warnings

import numpy as np
from sklearn.datasets import fetch_olivetti_faces, load_digits
from sklearn.linear_model import LogisticRegression

from skmid.attacks import (
    InversionModelAttack,
    KnownMembersMembershipAttack,
    LabelOnlyMembershipAttack,
    ShadowModelMembershipAttack,
)
from skmid.postprocessing import (
    CMIPostProcessor,
    DefendedClassifier,
    TopLabelPostProcessor,
)


def split_per_class(y, fractions, seed=0):
    """Index arrays taking the given fractions of every class."""
    rng = np.random.default_rng(seed)
    parts = [[] for _ in fractions]
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        bounds = np.round(np.cumsum([0, *fractions]) * len(rows)).astype(int)
        for part, lo, hi in zip(parts, bounds[:-1], bounds[1:], strict=True):
            part.extend(rows[lo:hi])
    return [np.array(sorted(part)) for part in parts]


def load(name, data_home):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y, (8, 8)
    faces = fetch_olivetti_faces(data_home=data_home, download_if_missing=False)
    return faces.data, faces.target, (64, 64)


def run(name, data_home=None, max_epochs=100, random_state=0):
    """Errors, membership accuracies and example images for one dataset."""
    X, y, shape = load(name, data_home)
    train, reference, aux, held_out = split_per_class(y, [0.4, 0.1, 0.3, 0.2])
    target = LogisticRegression(C=10.0, max_iter=3000).fit(X[train], y[train])
    defenses = {
        "none": target,
        "CMI (eps=1)": DefendedClassifier(
            target, CMIPostProcessor(random_state=0), cv="prefit"
        ).fit(X[reference], y[reference]),
        "top label": DefendedClassifier(
            target, TopLabelPostProcessor(), cv="prefit"
        ).fit(X[reference], y[reference]),
    }
    inversion = InversionModelAttack(max_epochs=max_epochs, random_state=random_state)
    inversion.fit(X[aux])
    victims = train[:: max(1, len(train) // 6)][:6]
    baseline = float(np.mean((X[train] - X[aux].mean(axis=0)) ** 2))
    n = min(len(train), len(held_out))
    rows = np.r_[train[:n], held_out[:n]]
    member = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    known = np.r_[0 : n // 2, n : n + n // 2]
    rest = np.setdiff1d(np.arange(2 * n), known)
    shadow = ShadowModelMembershipAttack(random_state=random_state).fit(X[aux], y[aux])
    nsh = KnownMembersMembershipAttack(
        max_epochs=max(1, max_epochs // 2), random_state=random_state
    ).fit(X[rows[known]], y[rows[known]], member[known])
    label = LabelOnlyMembershipAttack().fit()
    results = {}
    for defense, model in defenses.items():
        results[defense] = {
            "error": inversion.score(model, X[train]),
            "images": inversion.infer(model, X[victims]).reshape(-1, *shape),
            "shadow": shadow.score(model, X[rows[rest]], y[rows[rest]], member[rest]),
            "nsh": nsh.score(model, X[rows[rest]], y[rows[rest]], member[rest]),
            "label": label.score(model, X[rows[rest]], y[rows[rest]], member[rest]),
        }
    originals = X[victims].reshape(-1, *shape)
    return {"baseline": baseline, "originals": originals, "defenses": results}


def plot(all_results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_rows = sum(1 + len(r["defenses"]) for r in all_results.values())
    figure, axes = plt.subplots(n_rows, 6, figsize=(7.2, 1.25 * n_rows))
    row = 0
    for name, result in all_results.items():
        rows = [("original", result["originals"], None)] + [
            (defense, values["images"], values["error"])
            for defense, values in result["defenses"].items()
        ]
        for label, images, error in rows:
            for column in range(6):
                ax = axes[row, column]
                ax.imshow(np.clip(images[column], 0, 1), cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
            title = f"{name}: {label}"
            if error is not None:
                title += f"\n(error {error:.4f})"
            axes[row, 0].set_ylabel(
                title, rotation=0, ha="right", va="center", fontsize=7
            )
            row += 1
    figure.suptitle("Inversion-model attack: training images and reconstructions")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--out", default="inversion_gallery.png")
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["digits", "faces"],
        choices=["digits", "faces"],
    )
    args = parser.parse_args(argv)
    names = list(args.datasets)
    if "faces" in names:
        try:
            load("faces", args.data_home)
        except OSError:
            print("Olivetti faces not found in --data-home; digits only.")
            names.remove("faces")
    all_results = {}
    print(
        f"{'data':<7} {'defense':<12} {'inversion error':>15} {'mean image':>10} "
        f"{'ML-Leaks':>8} {'NSH':>6} {'label':>6}"
    )
    for name in names:
        with warnings.catch_warnings():
            # 40 faces classes with a few images each: scikit-learn warns that
            # the labels look continuous, and the CMI defense's reference rows
            # miss some classes (their prototype falls back to the mean).
            warnings.simplefilter("ignore", UserWarning)
            result = run(name, args.data_home, max_epochs=args.max_epochs)
        all_results[name] = result
        for defense, values in result["defenses"].items():
            print(
                f"{name:<7} {defense:<12} {values['error']:>15.4f} "
                f"{result['baseline']:>10.4f} {values['shadow']:>8.3f} "
                f"{values['nsh']:>6.3f} {values['label']:>6.3f}"
            )
    plot(all_results, args.out)
    print(f"figure written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
