"""Class reconstructions of the model-inversion attacks, scored and drawn.

Run ``python benchmarks/inversion_gallery.py [--data-home DIR] [--seeds 0 1 2]
[--figure-dir docs/_static]``.

For the digits (private digits 0-4, public 5-9) and the Olivetti faces (20
private people, 20 public), a logistic regression is trained on the private
rows; every class-reconstruction attack of skmid reconstructs each private
class, and the reconstructions are scored by the evaluation classifier
(whitened PCA + RBF SVM, trained on the private rows, never seen by the
attacks): Acc@1, Acc@5 (faces), KNN distance in its feature space, and pixel
MSE to the class mean. Two references: the public mean image given for every
class (what an attack that learns nothing scores: chance) and the private
class means (what no attacker has). With ``--figure-dir`` it writes one
gallery per data set: a row per attack, a column per class, and a row of
samples of the VAE prior. Prints mean and standard deviation over the seeds.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from skmid.attacks import GenerativeInversionAttack, MIFaceAttack
from skmid.datasets import load_inversion_split
from skmid.metrics import (
    fit_inversion_evaluator,
    inversion_attack_accuracy,
    inversion_knn_distance,
)


def attacks(seed):
    return {
        "MI-Face white-box (x0 = 0)": MIFaceAttack(),
        "MI-Face white-box (mean start)": MIFaceAttack(
            init="public_mean", loss="log_confidence"
        ),
        "MI-Face black-box (mean start)": MIFaceAttack(
            access="black-box",
            init="public_mean",
            loss="log_confidence",
            random_state=seed,
        ),
        "GMI white-box (VAE)": GenerativeInversionAttack(random_state=seed),
        "Mirror black-box (VAE)": GenerativeInversionAttack(
            "black-box", random_state=seed
        ),
        "BREP-MI label-only (VAE)": GenerativeInversionAttack(
            "label-only", random_state=seed
        ),
    }


def scores(data, evaluator, images):
    X, y, classes = data.X_private, data.y_private, data.private_classes
    means = np.array([X[y == c].mean(axis=0) for c in classes])
    return {
        "Acc@1": inversion_attack_accuracy(
            X, y, images, classes, evaluator=evaluator, prefit=True
        ),
        "Acc@5": inversion_attack_accuracy(
            X, y, images, classes, evaluator=evaluator, prefit=True, top_k=5
        ),
        "KNN": inversion_knn_distance(
            X, y, images, classes, evaluator=evaluator, prefit=True
        ),
        "MSE": float(np.mean((images - means) ** 2)),
    }


def run(name, data_home, seeds, figure_dir):
    data = load_inversion_split(name, data_home=data_home)
    X, y, classes = data.X_private, data.y_private, data.private_classes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        target = LogisticRegression(C=1.0, max_iter=3000).fit(X, y)
    evaluator = fit_inversion_evaluator(X, y)
    results = {}
    galleries = {}
    reference = {
        "public mean (no attack)": np.repeat(
            data.X_public.mean(axis=0, keepdims=True), len(classes), 0
        ),
        "private class means (oracle)": np.array([X[y == c].mean(0) for c in classes]),
    }
    for label, images in reference.items():
        results[label] = [scores(data, evaluator, images)]
        galleries[label] = images
    for seed in seeds:
        for label, attack in attacks(seed).items():
            start = time.perf_counter()
            attack.fit(data.X_public)
            images = attack.reconstruct(target, classes)
            seconds = time.perf_counter() - start
            row = scores(data, evaluator, images)
            row["s"] = seconds
            results.setdefault(label, []).append(row)
            if seed == seeds[0]:
                galleries[label] = images
                if hasattr(attack, "sample"):
                    prior = attack.sample(len(classes), random_state=0)
    print(
        f"\n{name}: {len(classes)} private classes, target accuracy on its "
        f"training rows {target.score(X, y):.2f}; seeds {list(seeds)}"
    )
    print(f"  {'':<30}" + "".join(f"{k:>14}" for k in ("Acc@1", "Acc@5", "KNN", "MSE")))
    for label, rows in results.items():
        cells = ""
        for key in ("Acc@1", "Acc@5", "KNN", "MSE"):
            values = np.array([r[key] for r in rows])
            cells += f"{values.mean():>8.3f} ±{values.std():<5.3f}"
        seconds = [r["s"] for r in rows if "s" in r]
        extra = f"   {np.mean(seconds):.1f} s" if seconds else ""
        print(f"  {label:<30}{cells}{extra}")
    galleries["VAE prior samples"] = prior
    if figure_dir is not None:
        draw(name, data, galleries, Path(figure_dir))


def draw(name, data, galleries, figure_dir):
    import matplotlib

    matplotlib.use("Agg")  # a script: no display
    import matplotlib.pyplot as plt

    n_columns = min(8, len(data.private_classes))
    fig, axes = plt.subplots(
        len(galleries),
        n_columns,
        figsize=(1.1 * n_columns + 2.2, 1.1 * len(galleries)),
        squeeze=False,
    )
    for row, (label, images) in enumerate(galleries.items()):
        for column in range(n_columns):
            ax = axes[row, column]
            ax.imshow(
                images[column].reshape(data.image_shape), cmap="gray", vmin=0, vmax=1
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
            if row == 0:
                ax.set_title(f"class {data.private_classes[column]}", fontsize=7)
    fig.tight_layout()
    figure_dir.mkdir(parents=True, exist_ok=True)
    path = figure_dir / f"inversion_gallery_{name}.png"
    fig.savefig(path, dpi=45)
    plt.close(fig)
    from PIL import Image

    # Grey images: one 8-bit channel keeps the committed file small.
    Image.open(path).convert("L").save(path, optimize=True)
    print(f"  gallery written to {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--figure-dir", default=None)
    parser.add_argument("--only", choices=["digits", "faces"], default=None)
    args = parser.parse_args(argv)
    for name in ("digits", "faces"):
        if args.only in (None, name):
            run(name, args.data_home, args.seeds, args.figure_dir)


if __name__ == "__main__":
    main()
