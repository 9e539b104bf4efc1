"""Missing values in numeric columns: learned as scikit-learn's trees learn them."""

import numpy as np
import pytest
from scipy.special import xlogy
from sklearn.tree import DecisionTreeClassifier

from skmid.tree import MIDDecisionTreeClassifier


def numeric_tree(**params):
    return MIDDecisionTreeClassifier(categorical_features=[], **params)


def column_with_missing(seed, n=60, share=0.25):
    """One numeric column (small integers: exact in float32) with NaNs, 3 classes."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 12, n).astype(float)
    y = (x > rng.integers(3, 9)).astype(int) + (rng.random(n) < 0.2)
    missing = rng.random(n) < share
    x[missing] = np.nan
    # the missing rows lean to one class, so their side matters
    y[missing] = np.where(rng.random(missing.sum()) < 0.7, 2, y[missing])
    return x[:, None], y


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("criterion", ["entropy", "gini"])
def test_lam_zero_predicts_as_scikit_learns_tree(seed, criterion):
    X, y = column_with_missing(seed)
    queries = np.r_[np.arange(-1.0, 13.0, 0.5), np.nan][:, None]
    for max_depth in (1, 2, None):
        mid = numeric_tree(lam=0.0, criterion=criterion, max_depth=max_depth)
        stock = DecisionTreeClassifier(
            criterion=criterion, max_depth=max_depth, random_state=0
        )
        mid.fit(X, y)
        stock.fit(X, y)
        np.testing.assert_allclose(
            mid.predict_proba(queries), stock.predict_proba(queries)
        )
        np.testing.assert_allclose(mid.predict_proba(X), stock.predict_proba(X))
        assert mid.tree_.node_count == stock.tree_.node_count
        # the root's split, missing side included
        assert mid.tree_.threshold[0] == pytest.approx(stock.tree_.threshold[0])
        assert mid.tree_.missing_go_to_left[0] == stock.tree_.missing_go_to_left[0]


def reference_root_split(x, y, lam):
    """Brute force: every partition the MID tree may choose at the root and its
    penalised score ``gain - lam * split_information`` (entropy, leaf penalty),
    in the search order (thresholds with missing rows right, then left, then
    present against missing); the first best wins."""

    def entropy(labels):
        if len(labels) == 0:
            return 0.0
        p = np.bincount(labels, minlength=3) / len(labels)
        return -xlogy(p, p).sum()

    def score(left, right):
        n = len(left) + len(right)
        shares = np.array([len(left), len(right)]) / n
        gain = entropy(np.r_[left, right]) - (
            shares[0] * entropy(left) + shares[1] * entropy(right)
        )
        return gain - lam * -xlogy(shares, shares).sum()

    missing = np.isnan(x)
    present = np.unique(x[~missing])
    cuts = (present[:-1] + present[1:]) / 2
    candidates = []
    for missing_left in [False, True] if missing.any() else [False]:
        for cut in cuts:
            left = (x <= cut) | (missing & missing_left)
            candidates.append((score(y[left], y[~left]), cut, missing_left))
    if missing.any():
        candidates.append((score(y[~missing], y[missing]), np.inf, False))
    best = max(c[0] for c in candidates)
    return next(c for c in candidates if c[0] == best)


@pytest.mark.parametrize("lam", [0.0, 0.02, 0.1, 0.3])
@pytest.mark.parametrize("seed", range(4))
def test_root_split_maximises_the_penalised_score_of_its_partition(lam, seed):
    X, y = column_with_missing(seed)
    best, cut, missing_left = reference_root_split(X[:, 0], y, lam)
    tree = numeric_tree(lam=lam, max_depth=1).fit(X, y)
    if best < 0:  # the penalty outweighs the best gain: no split
        assert tree.tree_.node_count == 1
        return
    assert tree.tree_.threshold[0] == pytest.approx(cut)
    assert tree.tree_.missing_go_to_left[0] == missing_left
    # the children hold the partition scored, missing rows included
    left = (X[:, 0] <= cut) | (np.isnan(X[:, 0]) & missing_left)
    children = tree.tree_.children(0)
    counts = [tree.tree_.n_node_samples[c] for c in children.values()]
    assert counts == [left.sum(), (~left).sum()]


def test_the_penalty_can_change_the_side_of_the_missing_rows():
    # One class-0 row below the cut, nine class-1 rows above; the missing
    # rows (one class 0, three class 1) gain most on the left, but the leaf
    # penalty (lam times the split information) prefers the less even split
    # they make on the right.
    x = np.r_[np.arange(10.0), [np.nan] * 4]
    y = np.r_[[0] + [1] * 9, [0, 1, 1, 1]]
    sides = {}
    for lam in (0.0, 0.1):
        tree = numeric_tree(lam=lam, max_depth=1).fit(x[:, None], y)
        _, cut, missing_left = reference_root_split(x, y, lam)
        assert tree.tree_.threshold[0] == pytest.approx(cut) == 0.5
        assert tree.tree_.missing_go_to_left[0] == missing_left
        sides[lam] = missing_left
    assert sides == {0.0: True, 0.1: False}


def test_without_missing_rows_at_fit_missing_queries_take_the_larger_child():
    x = np.array([0, 1, 2, 3, 8, 9, 11, 12, 15], dtype=float)[:, None]
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    tree = numeric_tree(lam=0.0, max_depth=1).fit(x, y)
    assert not tree.tree_.missing_go_to_left[0]
    assert tree.predict([[np.nan]]) == [1]
    # five rows on the left, four on the right: left
    tree = numeric_tree(lam=0.0, max_depth=1).fit(x[:-1], np.r_[0, 0, 0, 0, 0, 1, 1, 1])
    assert tree.tree_.n_node_samples[1] > tree.tree_.n_node_samples[2]
    assert tree.tree_.missing_go_to_left[0] and tree.predict([[np.nan]]) == [0]
    # a tie goes right, as scikit-learn's "n_left > n_right"
    tree = numeric_tree(lam=0.0, max_depth=1).fit(x[:-1], np.r_[0, 0, 0, 0, 1, 1, 1, 1])
    assert not tree.tree_.missing_go_to_left[0]


@pytest.mark.parametrize(
    "params",
    [
        {"splitter": "random", "random_state": 0},
        {"max_leaf_nodes": 4},
        {"ccp_alpha": 0.01},
        {"lam": 0.05, "min_samples_leaf": 3},
    ],
)
def test_training_rows_reach_the_nodes_that_count_them(params):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    X[rng.random(X.shape) < 0.2] = np.nan
    y = (np.nan_to_num(X[:, 0], nan=1.0) + rng.normal(size=200) > 0).astype(int)
    tree = numeric_tree(**{"lam": 0.0, **params}).fit(X, y)
    t = tree.tree_
    assert t.node_count > 1
    indicator = tree.decision_path(X).toarray()
    # the rows each node counts are those whose path goes through it
    np.testing.assert_array_equal(indicator.sum(axis=0), t.n_node_samples)
    for k in range(2):
        np.testing.assert_array_equal(indicator[y == k].sum(axis=0), t.value[:, k])
    leaves = tree.apply(X)
    assert np.all(t.feature[leaves] < 0)
    np.testing.assert_array_equal(t.children_left >= 0, t.feature >= 0)
