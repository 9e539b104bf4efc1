"""Privacy-utility trade-off on the IWPC warfarin cohort (the MID paper's Figure 2a).

MIDLinearRegression over a grid of lam, AdaSSP over a grid of epsilon and plain
least squares, each attacked by Fredrikson et al.'s MAP attack on the VKORC1
genotype; test MSE against attack accuracy, averaged over random splits.

Run: ``python examples/warfarin_tradeoff.py [--repeats R] [--out FIGURE.png]``.
"""

import argparse
import warnings

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import ShuffleSplit

from skmid.attacks import MAPAttributeInference
from skmid.datasets import load_warfarin
from skmid.linear_model import AdaSSPLinearRegression, MIDLinearRegression

MID_LAMS = [0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 150.0, 1000.0]
ADASSP_EPSILONS = [1.0, 10.0, 100.0, 1000.0, 10000.0]
# Domain bounds, fixed without looking at the data: features are rescaled
# to [0, 1] with them, which AdaSSP needs and which changes nothing else.
DOSE_BOUNDS = (0.0, 350.0)
NUMERIC_BOUNDS = {"age_decade": (1, 9), "height_cm": (100, 230), "weight_kg": (20, 250)}


def rescale(data, feature_names):
    low = np.array([NUMERIC_BOUNDS.get(name, (0, 1))[0] for name in feature_names])
    high = np.array([NUMERIC_BOUNDS.get(name, (0, 1))[1] for name in feature_names])
    return (data - low) / (high - low)


def models():
    yield "OLS", "", LinearRegression()
    for lam in MID_LAMS:
        yield "MID", f"lam={lam:g}", MIDLinearRegression(lam=lam)
    for epsilon in ADASSP_EPSILONS:
        yield (
            "AdaSSP",
            f"eps={epsilon:g}",
            AdaSSPLinearRegression(
                epsilon=epsilon, bounds_X=(0, 1), bounds_y=DOSE_BOUNDS, random_state=0
            ),
        )


def run(repeats=5, random_state=0):
    warfarin = load_warfarin()
    X = rescale(warfarin.data, warfarin.feature_names)
    y = warfarin.target
    results = {}
    splitter = ShuffleSplit(n_splits=repeats, test_size=0.25, random_state=random_state)
    for train, test in splitter.split(X):
        attack = MAPAttributeInference(warfarin.sensitive_features).fit(
            X[train], y[train]
        )
        for defense, setting, model in models():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # AdaSSP clipping
                model.fit(X[train], y[train])
            mse = np.mean((model.predict(X[test]) - y[test]) ** 2)
            accuracy = attack.score(model, X[test], y[test])
            results.setdefault((defense, setting), []).append((mse, accuracy))
    prior_accuracy = attack.prior_.max()
    return {
        key: np.mean(value, axis=0) for key, value in results.items()
    }, prior_accuracy


def plot(summary, prior_accuracy, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    styles = {"OLS": ("k", "*"), "MID": ("tab:blue", "o"), "AdaSSP": ("tab:red", "s")}
    for defense, (color, marker) in styles.items():
        points = np.array([v for (d, _), v in summary.items() if d == defense])
        ax.plot(
            points[:, 0],
            points[:, 1],
            marker=marker,
            color=color,
            label=defense,
            markersize=9 if defense == "OLS" else 5,
        )
    ax.axhline(prior_accuracy, color="grey", linestyle="--", label="prior only")
    ax.set_xlabel("test MSE (mg/week)$^2$")
    ax.set_ylabel("MAP attack accuracy on VKORC1")
    ax.set_title("IWPC warfarin: utility against attack success")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="warfarin_tradeoff.png")
    args = parser.parse_args(argv)
    summary, prior_accuracy = run(repeats=args.repeats)
    print(f"MAP attack on VKORC1; prior-only accuracy {prior_accuracy:.3f}")
    print(f"{'defense':<8} {'setting':<12} {'test MSE':>9} {'attack acc':>10}")
    for (defense, setting), (mse, accuracy) in summary.items():
        print(f"{defense:<8} {setting:<12} {mse:9.1f} {accuracy:10.3f}")
    plot(summary, prior_accuracy, args.out)
    print(f"figure written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
