"""Evidence for MIDLogisticRegression: MID against plain L2 at equal utility.

Runs two lam grids through ``privacy_utility_search``, each next to
``LogisticRegression`` with a grid of smaller ``C`` (the baseline a user tries
first), and prints one table per data set:

- the steak survey (one-hot answers, steak preparation as the label, infidelity
  as the sensitive answer), attacked by the naive MAP attribute inference on the
  training rows (F1 of the positive answer and advantage);
- load_digits (standardised), attacked by the inversion-model attack
  (reconstruction error on held-out rows, lower is more leakage) and the shadow-
  model membership attack (advantage);

and the output mutual information I(X; Y_hat) of the held-out outputs. Run as
``python benchmarks/evidence_mid_logistic.py [--plot docs/_static/...png]``
from the repository root (the steak data are read from ../shared/data).
"""

import argparse
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skmid.attacks import (
    InversionModelAttack,
    MAPAttributeInference,
    ShadowModelMembershipAttack,
    make_attack_scorer,
)
from skmid.datasets import fetch_steak_survey
from skmid.linear_model import MIDLogisticRegression
from skmid.metrics import output_mutual_information
from skmid.model_selection import privacy_utility_search

MID_LAMS = [0.0, 0.3, 1.0, 2.0, 4.0, 8.0]
LR_CS = [1.0, 0.1, 0.03, 0.01, 0.003, 0.001]


def _output_mi(estimator, X, y):
    return output_mutual_information(estimator.predict_proba(X))


def _run(name, X, y, make_model, attacks, utility, cv=5):
    rows = []
    for label, model, grid in [
        ("MID", make_model(MIDLogisticRegression(lam=0.0)), MID_LAMS),
        ("L2", make_model(LogisticRegression()), LR_CS),
    ]:
        key = [k for k in model.get_params() if k.endswith("__lam") or k == "lam"]
        if label == "L2":
            key = [k for k in model.get_params() if k.endswith("__C") or k == "C"]
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search = privacy_utility_search(
                model,
                {key[0]: grid},
                utility=utility,
                attacks=attacks,
                extra_scoring={"mi": _output_mi},
                cv=cv,
                random_state=0,
            ).fit(X, y)
        seconds = time.perf_counter() - start
        results = search.cv_results_
        for i, value in enumerate(grid):
            row = {
                "defense": label,
                "param": f"{key[0].split('__')[-1]}={value:g}",
                "utility": search.utility_mean_[i],
            }
            for attack in attacks:
                row[attack] = search.attack_mean_[attack][i]
                row[attack + "_train"] = search.attack_train_mean_[attack][i]
            row["mi"] = results["mean_test_mi"][i]
            rows.append(row)
        print(f"# {name} {label}: {seconds:.1f} s")
    columns = ["utility", *[c for a in attacks for c in (a, a + "_train")], "mi"]
    print(f"\n## {name}")
    print("| defense | setting | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for row in rows:
        values = " | ".join(f"{row[c]:.3f}" for c in columns)
        print(f"| {row['defense']} | {row['param']} | {values} |")
    return rows


def steak(data_home):
    survey = fetch_steak_survey(data_home=data_home)
    X, y, sensitive = survey.data, survey.target, survey.sensitive_features

    def make_model(classifier):
        return make_pipeline(OneHotEncoder(handle_unknown="ignore"), classifier)

    attack = MAPAttributeInference(sensitive, mode="naive")
    attacks = {
        "map_f1": make_attack_scorer(attack, "f1"),
        "map_auc": make_attack_scorer(attack, "roc_auc"),
        "map_adv": make_attack_scorer(attack, "advantage"),
    }
    accuracy = _run("steak (accuracy)", X, y, make_model, attacks, "accuracy")
    _run("steak (macro F1)", X, y, make_model, attacks, "f1_macro")
    return accuracy


def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)

    def make_model(classifier):
        return make_pipeline(StandardScaler(), classifier)

    attacks = {
        "inversion_error": make_attack_scorer(
            InversionModelAttack(
                hidden_layer_sizes=(64,), max_epochs=30, random_state=0
            )
        ),
        "membership_adv": make_attack_scorer(
            ShadowModelMembershipAttack(random_state=0), "advantage"
        ),
    }
    return _run("digits (accuracy)", X, y, make_model, attacks, "accuracy", cv=3)


def plot(steak_rows, digits_rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = [
        (steak_rows, "mi", "steak: I(X; Y_hat) of held-out outputs (nats)", None),
        (digits_rows, "inversion_error", "digits: inversion error (held out)", None),
        (digits_rows, "mi", "digits: I(X; Y_hat) of held-out outputs (nats)", None),
    ]
    for ax, (rows, column, title, train_column) in zip(axes, panels, strict=True):
        for label, style in [("MID", "o-"), ("L2", "s--")]:
            subset = [r for r in rows if r["defense"] == label]
            ax.plot(
                [r[train_column or column] for r in subset],
                [r["utility"] for r in subset],
                style,
                label="MIDLogisticRegression (lam)"
                if label == "MID"
                else "LogisticRegression (smaller C)",
            )
        ax.set_xlabel(title)
        ax.set_ylabel("accuracy (held out)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default="../shared/data")
    parser.add_argument("--plot", default=None)
    args = parser.parse_args(argv)
    steak_rows = steak(args.data_home)
    digits_rows = digits()
    if args.plot:
        plot(steak_rows, digits_rows, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
