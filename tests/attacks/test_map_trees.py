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
    # prior 40:20; leaf "no" 30 x of 40, leaf "yes" 5 x of 20: pi(v) P(y | L_v)
    # is then the joint count of the cell, x: 30 "no" vs 5 "yes"; y: 10 vs 15.
    np.testing.assert_allclose(proba[0], np.array([30, 5]) / 35)
    np.testing.assert_allclose(proba[1], np.array([10, 15]) / 25)
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


class HandTree:
    """A fitted 'tree' whose leaves and class counts are set by hand.

    Column 0 is the sensitive value, column 1 picks a case; ``leaf_of`` maps
    (case, sensitive value) to a leaf whose class counts are ``counts[leaf]``.
    """

    classes_ = np.array(["x", "y"])

    def __init__(self, counts, leaf_of):
        self.counts = np.asarray(counts, dtype=float)
        self.leaf_of = leaf_of

        class Structure:
            value = self.counts

        self.tree_ = Structure()

    def apply(self, X):
        X = np.asarray(X, dtype=object)
        return np.array([self.leaf_of[row[1], row[0]] for row in X])


def art_rule(leaves, counts, y_codes, prior):
    """ART 1.20's AttributeInferenceWhiteBoxDecisionTree, on leaf ids.

    The single candidate whose leaf predicts the label, else the candidate with
    the largest (training rows in its leaf) x prior.
    """
    predicts_y = counts.argmax(axis=1)[leaves] == y_codes[:, None]
    fallback = np.argmax(counts.sum(axis=1)[leaves] * prior, axis=1)
    single = predicts_y.sum(axis=1) == 1
    return np.where(single, predicts_y.argmax(axis=1), fallback)


def test_exact_map_where_arts_rule_differs():
    # leaves: 0 = pure "y" of 1 row, 1 = 6 x / 4 y, 2 = 40 x / 60 y
    counts = [[0, 1], [6, 4], [40, 60]]
    leaf_of = {
        ("a", "yes"): 0,
        ("a", "no"): 1,  # only "yes" predicts y, but 0.8 * 0.4 > 0.2 * 1
        ("b", "yes"): 0,
        ("b", "no"): 2,  # both predict y: ART takes the bigger leaf
    }
    tree = HandTree(counts, leaf_of)
    X = np.array([["no", "a"], ["yes", "a"], ["no", "b"], ["yes", "b"]], object)
    y = np.array(["y", "y", "y", "y"])
    attack = MAPAttributeInference(0, mode="counts", prior=[0.8, 0.2]).fit(X, y)
    proba = attack.infer_proba(tree, X[[0, 2]], y[:2])
    np.testing.assert_allclose(proba[0], np.array([0.8 * 0.4, 0.2 * 1]) / 0.52)
    np.testing.assert_allclose(proba[1], np.array([0.8 * 0.6, 0.2 * 1]) / 0.68)
    equal_prior = MAPAttributeInference(0, mode="counts", prior=[0.5, 0.5]).fit(X, y)
    # case a: the exact MAP says "no" where ART's single match says "yes"
    assert attack.infer(tree, X[[0]], ["y"])[0] == "no"
    # case b, equal prior: "yes" (pure leaf) where ART takes the bigger leaf
    assert equal_prior.infer(tree, X[[2]], ["y"])[0] == "yes"

    leaves = np.array([[1, 0], [2, 0]])  # columns: candidates "no", "yes"
    art = art_rule(
        leaves, np.array(counts, float), np.array([1, 1]), np.array([0.8, 0.2])
    )
    assert attack.values_[art[0]] == "yes"  # the single leaf that predicts y
    art = art_rule(
        leaves, np.array(counts, float), np.array([1, 1]), np.array([0.5, 0.5])
    )
    assert attack.values_[art[1]] == "no"  # the bigger leaf


def test_label_no_leaf_saw_gives_the_prior_and_empty_leaf_is_uniform():
    counts = [[3, 0], [5, 0], [0, 0]]
    tree = HandTree(
        counts, {("a", "no"): 0, ("a", "yes"): 1, ("b", "no"): 2, ("b", "yes"): 0}
    )
    X = np.array([["no", "a"], ["yes", "b"], ["no", "a"]], object)
    attack = MAPAttributeInference(0, mode="counts", prior=[0.7, 0.3]).fit(X, ["y"] * 3)
    proba = attack.infer_proba(tree, X[:2], ["y", "x"])
    np.testing.assert_allclose(proba[0], [0.7, 0.3])  # no leaf saw "y"
    # case b: "no" reaches an empty leaf (1/2 for x), "yes" a pure x leaf
    np.testing.assert_allclose(proba[1], np.array([0.7 * 0.5, 0.3]) / 0.65)


def test_counts_on_a_sklearn_tree_is_bayes_with_its_predict_proba(leaky):
    X, y, sensitive = leaky
    tree = DecisionTreeClassifier(min_samples_leaf=5, random_state=0).fit(X, y)
    attack = MAPAttributeInference(sensitive, mode="counts").fit(X, y)
    rows = slice(0, 200)
    joint = np.column_stack(
        [
            attack.prior_[k]
            * tree.predict_proba(np.column_stack([X[rows, :-1], np.full(200, v)]))[
                np.arange(200), y[rows]
            ]
            for k, v in enumerate(attack.values_)
        ]
    )
    expected = joint / joint.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(attack.infer_proba(tree, X[rows], y[rows]), expected)


def steak_splits(data_home):
    from sklearn.model_selection import train_test_split

    from skmid.datasets import fetch_steak_survey

    steak = fetch_steak_survey(data_home=data_home, download_if_missing=False)
    X = OrdinalEncoder().fit_transform(steak.data)
    y = OrdinalEncoder().fit_transform(steak.target.reshape(-1, 1))[:, 0].astype(int)
    for seed in range(10):
        yield (
            steak.sensitive_features,
            train_test_split(X, y, test_size=0.3, random_state=seed),
        )


def test_counts_at_least_as_accurate_as_arts_rule_on_steak(shared_data_home):
    # The protocol (issue 17), with ART's rule re-implemented above.
    accuracy = {"skmid": [], "art": []}
    for sensitive, (X_train, X_test, y_train, y_test) in steak_splits(shared_data_home):
        tree = DecisionTreeClassifier(criterion="entropy", random_state=0)
        tree.fit(X_train, y_train)
        attack = MAPAttributeInference(sensitive, mode="counts").fit(X_train, y_train)
        counts = tree.tree_.value[:, 0, :] * tree.tree_.weighted_n_node_samples[:, None]
        for X, y in [(X_train, y_train), (X_test, y_test)]:
            truth = X[:, sensitive]
            leaves = np.column_stack(
                [
                    tree.apply(np.where(np.arange(X.shape[1]) == sensitive, v, X))
                    for v in attack.values_
                ]
            )
            art = attack.values_[art_rule(leaves, counts, y, attack.prior_)]
            accuracy["art"].append(np.mean(art == truth))
            accuracy["skmid"].append(attack.score(tree, X, y))
    skmid, art = np.array(accuracy["skmid"]), np.array(accuracy["art"])
    assert skmid[0::2].mean() >= art[0::2].mean()  # training rows
    assert skmid[1::2].mean() >= art[1::2].mean()  # held-out rows
    assert skmid[0::2].mean() > 0.88 and skmid[1::2].mean() > 0.75
