"""skmid's attribute attacks against the Adversarial Robustness Toolbox's.

Run ``python benchmarks/bench_art_trees.py [--data-home DIR]``.

1. The white-box tree attack on the steak survey, issue 17's protocol: drop
   RespondentID and "Do you eat steak?", keep the rows with both the steak
   preparation (label) and the infidelity answer (sensitive), fill other
   missing answers with "missing", ordinal-encode every column,
   ``train_test_split(test_size=0.3, random_state=seed)`` for seeds 0-9,
   ``DecisionTreeClassifier(criterion="entropy", random_state=0)``, attack the
   training and the held-out rows with the training prior. Prints the
   accuracy of ART 1.20's ``AttributeInferenceWhiteBoxDecisionTree`` and of
   ``MAPAttributeInference(mode="counts")`` per split, side by side, and the
   mean. ART is a benchmark-only dependency (``pip install
   adversarial-robustness-toolbox``); without it that part is skipped.
2. The black-box attacks, ``LearnedAttributeInference`` against
   ``MAPAttributeInference`` (naive), on the same models: the steak trees
   above and ``MIDLinearRegression(lam=0)`` on warfarin (VKORC1 genotype),
   both attacks fitted on the attacked rows themselves (the learned attack
   cross-fitted), accuracy and advantage; and the learned attack against a
   constant model (what the known features and target reveal without the
   model).
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OrdinalEncoder
from sklearn.tree import DecisionTreeClassifier

from skmid.attacks import LearnedAttributeInference, MAPAttributeInference
from skmid.datasets import load_warfarin
from skmid.linear_model import MIDLinearRegression

LABEL = "How do you like your steak prepared?"
SENSITIVE = "Have you ever cheated on your significant other?"
SEEDS = range(10)


def steak_protocol(data_home):
    """Issue 17's steak table: X (codes), y (codes), the sensitive column."""
    import pandas as pd

    raw = pd.read_csv(
        Path(data_home) / "steak-risk-survey.csv", skiprows=[1], dtype=str
    )
    raw = raw.drop(columns=["RespondentID", "Do you eat steak?"])
    raw = raw[raw[LABEL].notna() & raw[SENSITIVE].notna()].fillna("missing")
    codes = OrdinalEncoder().fit_transform(raw)
    label = list(raw.columns).index(LABEL)
    X = np.delete(codes, label, axis=1)
    features = [column for column in raw.columns if column != LABEL]
    return X, codes[:, label].astype(int), features.index(SENSITIVE)


def art_attack(tree, sensitive):
    try:
        from art.attacks.inference.attribute_inference import (
            AttributeInferenceWhiteBoxDecisionTree,
        )
        from art.estimators.classification import SklearnClassifier
    except ImportError:
        return None
    return AttributeInferenceWhiteBoxDecisionTree(
        SklearnClassifier(tree), attack_feature=sensitive
    )


def steak_splits(X, y):
    for seed in SEEDS:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, random_state=seed
        )
        tree = DecisionTreeClassifier(criterion="entropy", random_state=0)
        yield seed, tree.fit(X_train, y_train), X_train, X_test, y_train, y_test


def white_box(X, y, sensitive):
    print("1. White-box tree attack on the steak survey (accuracy)")
    print(f"   {X.shape[0]} respondents, {X.shape[1]} answers; trees as in issue 17")
    rows = []
    art_available = True
    for seed, tree, X_train, X_test, y_train, y_test in steak_splits(X, y):
        attack = MAPAttributeInference(sensitive, mode="counts").fit(X_train, y_train)
        art = art_attack(tree, sensitive)
        art_available = art is not None
        row = [seed]
        for X_, y_ in [(X_train, y_train), (X_test, y_test)]:
            truth = X_[:, sensitive]
            skmid = attack.score(tree, X_, y_)
            if art is None:
                row += [np.nan, skmid]
                continue
            guesses = art.infer(
                np.delete(X_, sensitive, axis=1),
                y_,
                values=list(attack.values_),
                priors=list(attack.prior_),
            )
            row += [float(np.mean(guesses == truth)), skmid]
        rows.append(row)
    if not art_available:
        print(
            "   ART is not installed (pip install adversarial-robustness-toolbox): "
            "skmid's accuracies only."
        )
    rows = np.array(rows, dtype=float)
    header = "   seed   train: ART   skmid   held out: ART   skmid"
    print(header)
    for seed, *values in rows:
        print(
            f"   {int(seed):4d}   {values[0]:10.3f} {values[1]:7.3f}"
            f"   {values[2]:13.3f} {values[3]:7.3f}"
        )
    mean = rows[:, 1:].mean(axis=0)
    print(f"   mean   {mean[0]:10.3f} {mean[1]:7.3f}   {mean[2]:13.3f} {mean[3]:7.3f}")
    if art_available:
        print(
            f"   skmid - ART: {mean[1] - mean[0]:+.4f} on training rows, "
            f"{mean[3] - mean[2]:+.4f} held out"
        )


def _black_box_row(name, model, constant, X_, y_, sensitive):
    scores = []
    for attack in [
        MAPAttributeInference(sensitive),
        LearnedAttributeInference(sensitive, random_state=0),
    ]:
        start = time.perf_counter()
        attack.fit(X_, y_)
        scores += [
            attack.score(model, X_, y_),
            attack.score(model, X_, y_, metric="advantage"),
        ]
        seconds = time.perf_counter() - start
    learned = LearnedAttributeInference(sensitive, random_state=0).fit(X_, y_)
    scores.append(learned.score(constant, X_, y_))
    truth = learned._encode_truth(learned._sensitive_column_values(X_))
    scores.append(np.bincount(truth).max() / len(truth))
    return [name, *scores, seconds]


def black_box(X, y, sensitive):
    print()
    print("2. Black-box attacks on the same models: MAP (naive) vs learned")
    print("   each attack fitted on the attacked rows (the learned one cross-fitted)")
    results = {}
    for _, tree, X_train, X_test, y_train, y_test in steak_splits(X, y):
        constant = DummyClassifier().fit(X_train, y_train)
        for rows, X_, y_ in [("train", X_train, y_train), ("held out", X_test, y_test)]:
            row = _black_box_row("steak", tree, constant, X_, y_, sensitive)
            results.setdefault(("steak tree", rows), []).append(row[1:])
    warfarin = load_warfarin()
    Xw, yw, sw = warfarin.data, warfarin.target, warfarin.sensitive_features
    for seed in range(3):
        X_train, X_test, y_train, y_test = train_test_split(
            Xw, yw, test_size=0.3, random_state=seed
        )
        model = MIDLinearRegression(lam=0.0).fit(X_train, y_train)
        constant = DummyRegressor().fit(X_train, y_train)
        for rows, X_, y_ in [("train", X_train, y_train), ("held out", X_test, y_test)]:
            row = _black_box_row("warfarin", model, constant, X_, y_, sw)
            results.setdefault(("warfarin OLS", rows), []).append(row[1:])
    print(
        "   model          rows       MAP acc  adv   learned acc  adv   "
        "learned vs constant acc   majority   learned s"
    )
    for (model, rows), values in results.items():
        m = np.mean(values, axis=0)
        print(
            f"   {model:14s} {rows:9s}  {m[0]:7.3f} {m[1]:5.3f}   {m[2]:11.3f} "
            f"{m[3]:5.3f}   {m[4]:23.3f}   {m[5]:8.3f}   {m[6]:9.2f}"
        )
    print("   (steak: means over 10 splits; warfarin: over 3)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-home",
        default=str(Path(__file__).resolve().parents[2] / "shared" / "data"),
        help="folder with steak-risk-survey.csv (default: ../shared/data)",
    )
    args = parser.parse_args(argv)
    X, y, sensitive = steak_protocol(args.data_home)
    white_box(X, y, sensitive)
    black_box(X, y, sensitive)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
