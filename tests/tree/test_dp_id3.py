import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skmid.tree import DPID3Classifier, MIDDecisionTreeClassifier


def signal_data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(n, 5))
    y = ((X[:, 0] == 2) | (X[:, 3] == 0)).astype(int)
    return X, y


def test_reproducible_with_random_state():
    X, y = signal_data()
    a = DPID3Classifier(epsilon=1.0, random_state=0).fit(X, y)
    b = DPID3Classifier(epsilon=1.0, random_state=0).fit(X, y)
    c = DPID3Classifier(epsilon=1.0, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.tree_.value, b.tree_.value)
    assert not np.array_equal(a.tree_.n_node_samples, c.tree_.n_node_samples)


def test_large_budget_learns_the_signal_small_budget_does_not():
    X, y = signal_data()
    accurate = [
        DPID3Classifier(epsilon=100.0, max_depth=3, random_state=s)
        .fit(X, y)
        .score(X, y)
        for s in range(5)
    ]
    weak = [
        DPID3Classifier(epsilon=0.01, max_depth=3, random_state=s).fit(X, y).score(X, y)
        for s in range(5)
    ]
    assert np.mean(accurate) > 0.95
    assert np.mean(weak) < np.mean(accurate) - 0.1


def test_structure_depth_full_fanout_and_noisy_counts():
    X, y = signal_data()
    tree = DPID3Classifier(epsilon=2.0, max_depth=3, random_state=0).fit(X, y)
    t = tree.tree_
    assert tree.get_depth() <= 3
    internal = np.flatnonzero(t.feature >= 0)
    assert internal.size > 0
    for node in internal:
        # one child per category, empty cells included
        assert len(t.children(node)) == len(tree.categories_[t.feature[node]])
        children = list(t.children(node).values())
        np.testing.assert_allclose(t.value[children].sum(axis=0), t.value[node])
        path_features = []
        parent = t.parent[node]
        while parent >= 0:
            path_features.append(t.feature[parent])
            parent = t.parent[parent]
        assert t.feature[node] not in path_features
    assert np.all(t.value >= 0)
    exact = np.bincount(tree.apply(X), minlength=t.node_count)
    leaves = t.feature < 0
    assert not np.array_equal(t.value[leaves].sum(axis=1).round(), exact[leaves])


def test_tiny_budget_stops_at_the_root():
    X, y = signal_data(n=200)
    tree = DPID3Classifier(epsilon=1e-3, random_state=0).fit(X, y)
    assert tree.get_n_leaves() == 1
    np.testing.assert_allclose(tree.predict_proba(X).sum(axis=1), 1.0)


@pytest.mark.parametrize("criterion", ["entropy", "gini", "max"])
def test_criteria_run(criterion):
    X, y = signal_data()
    tree = DPID3Classifier(epsilon=50.0, criterion=criterion, random_state=0)
    assert tree.fit(X, y).score(X, y) > 0.9


def test_strings_and_comparison_with_mid_tree():
    X, y = signal_data(n=2000)
    labels = np.array(["neg", "pos"])[y]
    X_text = np.array(["low", "mid", "high"], dtype=object)[X]
    dp = DPID3Classifier(epsilon=100.0, max_depth=4, random_state=0).fit(X_text, labels)
    mid = MIDDecisionTreeClassifier(lam=0.0, max_depth=4).fit(X_text, labels)
    assert np.mean(dp.predict(X_text) == mid.predict(X_text)) > 0.95


@pytest.mark.parametrize(
    "params",
    [{"epsilon": 0.0}, {"epsilon": -1.0}, {"max_depth": -1}, {"criterion": "x"}],
)
def test_bad_parameters(params):
    X, y = signal_data(n=50)
    with pytest.raises(InvalidParameterError):
        DPID3Classifier(**params).fit(X, y)
