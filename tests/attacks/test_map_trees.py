"""The MAP attacks on decision trees: naive (black box) and with counts (white box)."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder
from sklearn.tree import DecisionTreeClassifier

from skmid.attacks import MAPAttributeInference, make_attack_scorer
from skmid.datasets import make_sensitive_classification
from skmid.tree import DPID3Classifier, MIDDecisionTreeClassifier


def joint_table():
    # Sensitive column 0 in {"no", "yes"}, label y; column 1 is noise.
    rows = (
        [["no", "a", "x"]] * 30
        + [["no", "b", "y"]] * 10
        + [["yes", "a", "y"]] * 15
        + [["yes", "b", "x"]] * 5
    )
    X = np.array([row[:2] for row in rows], dtype=object)
    y = np.array([row[2] for row in rows])
    return X, y


def test_counts_posterior_is_the_tree_cell_count():
    X, y = joint_table()
    tree = MIDDecisionTreeClassifier(lam=0.0, max_depth=1, random_state=0)
    tree.fit(X[:, :1], y)  # a tree on the sensitive column alone
    attack = MAPAttributeInference(0, mode="counts").fit(X[:, :1], y)
    proba = attack.infer_proba(
        tree, np.array([["no"], ["no"]], dtype=object), ["x", "y"]
    )
    # label x: 30 "no" vs 5 "yes"; label y: 10 vs 15 (plus 0.5 each)
    np.testing.assert_allclose(proba[0], np.array([30.5, 5.5]) / 36)
    np.testing.assert_allclose(proba[1], np.array([10.5, 15.5]) / 26)
    naive = MAPAttributeInference(0, mode="naive").fit(X[:, :1], y)
    assert naive.infer(tree, X[:1, :1], ["y"])[0] == "yes"


def test_counts_returns_the_prior_when_the_tree_ignores_the_feature():
    X, y = joint_table()
    tree = MIDDecisionTreeClassifier(lam=0.0, random_state=0).fit(X[:, 1:], y)

    class IgnoresColumnZero:
        classes_ = tree.classes_
        tree_ = tree.tree_

        def apply(self, X):
            return tree.apply(np.asarray(X)[:, 1:])

    attack = MAPAttributeInference(0, mode="counts").fit(X, y)
    proba = attack.infer_proba(IgnoresColumnZero(), X, y)
    np.testing.assert_allclose(proba, np.tile(attack.prior_, (len(X), 1)))
    assert attack.score(IgnoresColumnZero(), X, y, metric="roc_auc") == 0.5


@pytest.fixture(scope="module")
def leaky():
    data = make_sensitive_classification(
        n_samples=1500, sensitive_effect=3.0, random_state=0
    )
    return data.data, data.target, data.data.shape[1] - 1


def test_both_modes_find_a_strong_leak_and_lam_reduces_it(leaky):
    X, y, sensitive = leaky
    scores = {}
    for mode in ["naive", "counts"]:
        attack = MAPAttributeInference(sensitive, mode=mode).fit(X, y)
        for lam in [0.0, 1.0]:
            tree = MIDDecisionTreeClassifier(lam=lam, random_state=0).fit(X, y)
            scores[mode, lam] = attack.score(tree, X, y, metric="advantage")
    assert scores["naive", 0.0] > 0.1 and scores["counts", 0.0] > 0.1
    assert scores["naive", 1.0] == pytest.approx(0.0, abs=1e-12)
    assert scores["counts", 1.0] == pytest.approx(0.0, abs=1e-12)


def test_counts_on_dp_tree_sklearn_tree_and_pipeline(leaky):
    X, y, sensitive = leaky
    attack = MAPAttributeInference(sensitive, mode="counts").fit(X, y)
    dp = DPID3Classifier(epsilon=50.0, random_state=0).fit(X, y)
    proba = attack.infer_proba(dp, X, y)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    sk = DecisionTreeClassifier(max_depth=6, random_state=0).fit(X, y)
    pipeline = make_pipeline(FunctionTransformer(), sk)
    np.testing.assert_allclose(
        attack.infer_proba(pipeline, X, y), attack.infer_proba(sk, X, y)
    )
    assert attack.score(sk, X, y, metric="advantage") > 0.05
    # scikit-learn's fractions are turned back into counts
    leaf = sk.apply(X[:1])[0]
    cell = np.sum((sk.apply(X) == leaf) & (y == y[0]))
    from skmid.attacks._map import _node_class_counts

    assert _node_class_counts(sk)[leaf, y[0]] == pytest.approx(cell)


def test_counts_mode_needs_a_tree(leaky):
    X, y, sensitive = leaky
    attack = MAPAttributeInference(sensitive, mode="counts").fit(X, y)
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ValueError, match="attacks a fitted decision tree"):
        attack.infer(LogisticRegression().fit(X, y), X, y)
    with pytest.raises(ValueError, match="mode must be one of"):
        MAPAttributeInference(sensitive, mode="whitebox").fit(X, y)


def test_string_data_with_an_encoder_pipeline():
    X, y = joint_table()
    pipeline = make_pipeline(
        OrdinalEncoder(), DecisionTreeClassifier(max_depth=1, random_state=0)
    ).fit(X, y)
    attack = MAPAttributeInference(0, mode="counts").fit(X, y)
    assert set(attack.infer(pipeline, X, y)) <= {"no", "yes"}


def test_scorers_in_grid_search_over_lam(leaky):
    X, y, sensitive = leaky
    scoring = {
        "accuracy": "accuracy",
        "counts_auc": make_attack_scorer(
            MAPAttributeInference(sensitive, mode="counts").fit(X, y), "roc_auc"
        ),
    }
    search = GridSearchCV(
        MIDDecisionTreeClassifier(random_state=0),
        {"lam": [0.0, 0.02, 1.0]},
        scoring=scoring,
        refit="accuracy",
        cv=KFold(3, shuffle=True, random_state=0),
    ).fit(X, y)
    auc = search.cv_results_["mean_test_counts_auc"]
    assert auc[0] > auc[2] and auc[2] == pytest.approx(0.5)
