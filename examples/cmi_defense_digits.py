"""The CMI output defense on handwritten digits (the SSD paper's Figure 1).

A logistic regression on ``load_digits`` (the stand-in for MNIST) is wrapped in
DefendedClassifier with CMIPostProcessor and with the output baselines. For
each defense the script prints test accuracy, the outputs' empirical
conditional mutual information I(X; Y_hat | Y) and the Avg/Max L1 distortion,
and draws the test outputs before and after the CMI defense in the plane of
their first two principal components, coloured by true class: the defense
pulls each class's outputs together.

Run: ``python examples/cmi_defense_digits.py [--out FIGURE.png]``.
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmid.metrics import conditional_mutual_information, confidence_distortion
from skmid.postprocessing import (
    CMIPostProcessor,
    DefendedClassifier,
    NoisePostProcessor,
    RoundingPostProcessor,
    TopLabelPostProcessor,
)


def defenses():
    yield "CMI eps=1 T=0.05 (default)", CMIPostProcessor(random_state=0)
    yield "CMI eps=2 T=0.05", CMIPostProcessor(epsilon=2.0, random_state=0)
    yield "CMI eps=1 T=0.3", CMIPostProcessor(temperature=0.3, random_state=0)
    yield (
        "CMI eps=1 T=0.3 +label",
        CMIPostProcessor(temperature=0.3, preserve_label=True, random_state=0),
    )
    yield "Rounding 1 decimal", RoundingPostProcessor(decimals=1)
    yield "Uniform noise 0.1 +label", NoisePostProcessor(scale=0.1, random_state=0)
    yield "Top label only", TopLabelPostProcessor()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="cmi_defense_digits.png")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))

    print(f"{'defense':<28} {'accuracy':>8} {'CMI':>7} {'Avg L1':>7} {'Max L1':>7}")
    outputs = {}
    for name, defense in defenses():
        model = DefendedClassifier(classifier, defense, random_state=0)
        model.fit(X_train, y_train)
        plain = model.estimator_.predict_proba(X_test)
        defended = model.predict_proba(X_test)
        if not outputs:
            accuracy = np.mean(model.estimator_.predict(X_test) == y_test)
            cmi = conditional_mutual_information(y_test, plain)
            print(f"{'none':<28} {accuracy:>8.4f} {cmi:>7.4f} {0:>7.4f} {0:>7.4f}")
            outputs["no defense"] = plain, cmi
        cmi = conditional_mutual_information(y_test, defended)
        print(
            f"{name:<28} {model.score(X_test, y_test):>8.4f} {cmi:>7.4f} "
            f"{confidence_distortion(plain, defended):>7.4f} "
            f"{confidence_distortion(plain, defended, reduce='max'):>7.4f}"
        )
        if name.endswith("(default)"):
            outputs["CMI defense (eps=1, T=0.05)"] = defended, cmi

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pca = PCA(n_components=2).fit(outputs["no defense"][0])
    figure, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharex=True, sharey=True)
    for ax, (title, (proba, cmi)) in zip(axes, outputs.items(), strict=True):
        points = pca.transform(proba)
        scatter = ax.scatter(
            points[:, 0], points[:, 1], c=y_test, cmap="tab10", s=9, alpha=0.8
        )
        ax.set_title(f"{title}\nCMI = {cmi:.3f} nats")
        ax.set_xlabel("PC 1 of the undefended outputs")
    axes[0].set_ylabel("PC 2")
    figure.colorbar(scatter, ax=axes, label="true digit", ticks=range(10))
    figure.savefig(args.out, dpi=110, bbox_inches="tight")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
