"""Privacy-utility trade-off of decision trees on the steak survey (MID Figures 2b, 4c).

FiveThirtyEight's steak survey: predict how a respondent likes their steak from
their answers; the attacker infers whether they cheated on a partner (the
sensitive question) from the tree, the respondent's other answers and their
steak preference. Defenses: the MID tree over a grid of lam, Priority (the
sensitive question forced at each depth) and DP-ID3 over a grid of epsilon.
Attacks: naive MAP (black box) and MAP with counts (white box), on the training
rows. Model utility is the weighted F1 on held-out rows; attack success the F1
and AUROC of the "Yes" answer, averaged over random splits.

Run: ``python examples/steak_tree_tradeoff.py [--repeats R] [--data-home DIR]
[--out FIGURE.png]``.
"""

import argparse

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import ShuffleSplit

from skmid.attacks import MAPAttributeInference
from skmid.datasets import fetch_steak_survey
from skmid.tree import DPID3Classifier, MIDDecisionTreeClassifier

MID_LAMS = [0.0, 0.01, 0.02, 0.03, 0.035, 0.04, 0.045, 0.05, 0.1]
PRIORITY_DEPTHS = [0, 1, 2, 3, 4]
DP_EPSILONS = [0.1, 1.0, 10.0, 100.0, 1000.0]
METRICS = ["model_f1", "naive_f1", "naive_auc", "counts_f1", "counts_auc"]


def models(sensitive):
    for lam in MID_LAMS:
        yield "MID", f"lam={lam:g}", MIDDecisionTreeClassifier(lam=lam, random_state=0)
    for depth in PRIORITY_DEPTHS:
        yield (
            "Priority",
            f"depth={depth}",
            MIDDecisionTreeClassifier(
                lam=0.0,
                priority_feature=sensitive,
                priority_depth=depth,
                random_state=0,
            ),
        )
    for epsilon in DP_EPSILONS:
        yield (
            "DP-ID3",
            f"eps={epsilon:g}",
            DPID3Classifier(epsilon=epsilon, max_depth=5, random_state=0),
        )


def run(repeats=10, data_home=None, random_state=0):
    """Mean of each metric per (defense, setting) over ``repeats`` random splits."""
    steak = fetch_steak_survey(data_home=data_home)
    X, y, sensitive = steak.data, steak.target, steak.sensitive_features
    results = {}
    splitter = ShuffleSplit(n_splits=repeats, test_size=0.3, random_state=random_state)
    for train, test in splitter.split(X):
        naive = MAPAttributeInference(sensitive, mode="naive").fit(X[train], y[train])
        counts = MAPAttributeInference(sensitive, mode="counts").fit(X[train], y[train])
        for defense, setting, model in models(sensitive):
            model.fit(X[train], y[train])
            row = [
                f1_score(y[test], model.predict(X[test]), average="weighted"),
                naive.score(model, X[train], y[train], metric="f1"),
                naive.score(model, X[train], y[train], metric="roc_auc"),
                counts.score(model, X[train], y[train], metric="f1"),
                counts.score(model, X[train], y[train], metric="roc_auc"),
            ]
            results.setdefault((defense, setting), []).append(row)
    return {
        key: dict(zip(METRICS, np.mean(rows, axis=0), strict=True))
        for key, rows in results.items()
    }


def plot(summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True)
    styles = {
        "MID": ("tab:blue", "o"),
        "Priority": ("tab:green", "^"),
        "DP-ID3": ("tab:red", "s"),
    }
    for ax, (attack, title) in zip(
        axes,
        [("naive_f1", "Naive MAP (black box)"), ("counts_f1", "MAP with counts")],
        strict=True,
    ):
        for defense, (color, marker) in styles.items():
            points = np.array(
                [
                    [v["model_f1"], v[attack]]
                    for (d, _), v in summary.items()
                    if d == defense
                ]
            )
            order = np.argsort(points[:, 0])
            ax.plot(
                points[order, 0],
                points[order, 1],
                marker=marker,
                color=color,
                label=defense,
            )
        ax.set_title(title)
        ax.set_xlabel("model F1 (weighted, test rows)")
    axes[0].set_ylabel('attack F1 on "cheated = Yes" (training rows)')
    axes[0].legend()
    figure.suptitle("Steak survey: utility against attack success")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", default="steak_tree_tradeoff.png")
    args = parser.parse_args(argv)
    summary = run(repeats=args.repeats, data_home=args.data_home)
    print(f"{'defense':<9} {'setting':<10} " + " ".join(f"{m:>10}" for m in METRICS))
    for (defense, setting), values in summary.items():
        print(
            f"{defense:<9} {setting:<10} "
            + " ".join(f"{values[m]:>10.3f}" for m in METRICS)
        )
    plot(summary, args.out)
    print(f"figure written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
