"""The options of scikit-learn's DecisionTreeClassifier on the MID tree."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import load_iris, make_classification
from sklearn.tree import DecisionTreeClassifier

from skmid.tree import MIDDecisionTreeClassifier


def numeric_tree(**params):
    return MIDDecisionTreeClassifier(
        **{"lam": 0.0, "categorical_features": [], "random_state": 0, **params}
    )


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_integer_weights_act_as_repeated_rows():
    # continuous features: no two splits tie, so rounding cannot swap them
    X, y = make_classification(n_samples=150, n_features=4, random_state=0)
    counts = np.random.default_rng(0).integers(0, 3, len(y))
    # one feature order for both: ties between pure splits go to the first
    repeated = numeric_tree(random_state=0).fit(
        np.repeat(X, counts, axis=0), np.repeat(y, counts)
    )
    weighted = numeric_tree(random_state=0).fit(X, y, sample_weight=counts)
    # zero-weight rows take no part in the splits: the same tree, node for node
    assert np.array_equal(repeated.tree_.feature, weighted.tree_.feature)
    assert np.array_equal(
        repeated.tree_.threshold, weighted.tree_.threshold, equal_nan=True
    )
    assert np.allclose(repeated.tree_.value, weighted.tree_.value)
    assert np.allclose(repeated.predict_proba(X), weighted.predict_proba(X))
    assert repeated.leaf_entropy_ == pytest.approx(weighted.leaf_entropy_)


def test_class_weight_balanced_is_the_balancing_sample_weight():
    X = np.arange(20.0)[:, None]
    y = np.r_[np.zeros(16), np.ones(4)]
    balanced = numeric_tree(class_weight="balanced", max_depth=1).fit(X, y)
    # 16 rows of class 0 weigh 20 / (2 * 16) each, 4 of class 1 weigh 20 / 8
    assert balanced.tree_.value[0] == pytest.approx([10.0, 10.0])
    by_dict = numeric_tree(class_weight={0.0: 1.0, 1.0: 4.0}).fit(X, y)
    assert by_dict.tree_.value[0] == pytest.approx([16.0, 16.0])


def test_lam_zero_matches_scikit_learn_on_iris_with_its_options(iris):
    X, y = iris
    for params in [
        {"criterion": "gini", "max_depth": 3},
        {"criterion": "log_loss", "min_samples_leaf": 5},
        {"criterion": "entropy", "min_samples_split": 0.2},
        {"criterion": "gini", "min_impurity_decrease": 0.01},
        {"criterion": "gini", "min_weight_fraction_leaf": 0.1},
    ]:
        ours = numeric_tree(**params).fit(X, y)
        stock = DecisionTreeClassifier(random_state=0, **params).fit(X, y)
        assert ours.get_n_leaves() == stock.get_n_leaves(), params
        assert np.mean(ours.predict(X) == stock.predict(X)) > 0.97, params


def test_max_leaf_nodes_grows_best_first(iris):
    X, y = iris
    full = numeric_tree(criterion="gini").fit(X, y)
    for k in [2, 3, 5]:
        small = numeric_tree(criterion="gini", max_leaf_nodes=k).fit(X, y)
        stock = DecisionTreeClassifier(criterion="gini", max_leaf_nodes=k).fit(X, y)
        assert small.get_n_leaves() == k == stock.get_n_leaves()
        assert np.array_equal(small.predict(X), stock.predict(X))
        # the kept splits are the full tree's, with their class counts
        assert small.tree_.value[0] == pytest.approx(full.tree_.value[0])


def test_min_impurity_decrease_bounds_every_split(iris):
    X, y = iris
    tree = numeric_tree(criterion="gini", min_impurity_decrease=0.02).fit(X, y)
    t = tree.tree_
    n = t.weighted_n_node_samples[0]
    for node in np.flatnonzero(t.feature >= 0):
        children = list(t.children(node).values())
        decrease = (
            t.weighted_n_node_samples[node] * t.impurity[node]
            - np.sum(t.weighted_n_node_samples[children] * t.impurity[children])
        ) / n
        assert decrease >= 0.02


def test_max_features_draws_features_per_node(iris):
    X, y = iris
    trees = [numeric_tree(max_features=1, random_state=s).fit(X, y) for s in range(6)]
    roots = {int(tree.tree_.feature[0]) for tree in trees}
    assert len(roots) > 1  # a random feature at the root, not always the best
    again = numeric_tree(max_features=1, random_state=3).fit(X, y)
    assert np.array_equal(again.tree_.feature, trees[3].tree_.feature)
    assert numeric_tree(max_features=1, random_state=0).fit(X, y).score(X, y) == 1.0


def test_sparse_input_is_densified(iris):
    X, y = iris
    X = np.where(X > 3.0, X, 0.0)
    dense = numeric_tree().fit(X, y)
    for container in [sparse.csr_matrix, sparse.csc_matrix]:
        tree = numeric_tree().fit(container(X), y)
        assert np.array_equal(tree.tree_.feature, dense.tree_.feature)
        assert np.array_equal(tree.predict(container(X)), dense.predict(X))
        assert np.array_equal(tree.apply(container(X)), dense.apply(X))


def test_missing_values_split_from_present_ones():
    X = np.array([[0.0], [0.0], [0.0], [np.nan], [np.nan]])
    y = [0, 0, 0, 1, 1]
    tree = numeric_tree().fit(X, y)
    assert tree.tree_.node_count == 3
    assert tree.predict([[0.0], [np.nan], [5.0]]).tolist() == [0, 1, 0]


def test_importances_log_proba_and_binary_view(iris):
    X, y = iris
    X = X[:, [0, 1, 3]]  # petal length and width tie at the root
    tree = numeric_tree(criterion="gini", max_depth=2).fit(X, y)
    stock = DecisionTreeClassifier(criterion="gini", max_depth=2, random_state=0)
    stock.fit(X, y)
    assert tree.feature_importances_ == pytest.approx(stock.feature_importances_)
    assert tree.tree_.children_left.tolist() == stock.tree_.children_left.tolist()
    assert tree.tree_.children_right.tolist() == stock.tree_.children_right.tolist()
    assert np.allclose(np.exp(tree.predict_log_proba(X)), tree.predict_proba(X))
    categorical = MIDDecisionTreeClassifier(lam=0.0).fit(X.round(), y)
    with pytest.raises(AttributeError, match="multiway"):
        _ = categorical.tree_.children_left


@pytest.mark.parametrize(
    "params, match",
    [
        ({"monotonic_cst": [1, 0, 0, 0]}, "monotonic_cst=.* is not supported"),
    ],
)
def test_options_that_do_not_apply_are_refused_with_the_reason(iris, params, match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        numeric_tree(**params).fit(X, y)


def test_multi_output_y_is_refused_by_name(iris):
    X, y = iris
    with pytest.raises(ValueError, match="multi-output y is not supported"):
        numeric_tree().fit(X, np.c_[y, y])


def test_sparse_y_is_refused_as_in_scikit_learn(iris):
    X, y = iris
    with pytest.raises(TypeError, match="sparse y"):
        numeric_tree().fit(X, sparse.csr_matrix(y[:, None]))


def test_cost_complexity_pruning_matches_scikit_learn():
    X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    ours = numeric_tree(criterion="gini").cost_complexity_pruning_path(X, y)
    stock = DecisionTreeClassifier(criterion="gini", random_state=0)
    stock_path = stock.cost_complexity_pruning_path(X, y)
    np.testing.assert_allclose(ours.ccp_alphas, stock_path.ccp_alphas, atol=1e-12)
    np.testing.assert_allclose(ours.impurities, stock_path.impurities, atol=1e-12)
    leaves = []
    # between the path's alphas: at them, the last bit of rounding decides
    for alpha in np.r_[(ours.ccp_alphas[:-1] + ours.ccp_alphas[1:]) / 2, 1.0]:
        pruned = numeric_tree(criterion="gini", ccp_alpha=alpha).fit(X, y)
        stock = DecisionTreeClassifier(criterion="gini", ccp_alpha=alpha)
        stock.fit(X, y)
        assert pruned.get_n_leaves() == stock.get_n_leaves()
        assert np.array_equal(pruned.predict(X), stock.predict(X))
        leaves.append(pruned.get_n_leaves())
    assert leaves == sorted(leaves, reverse=True) and leaves[-1] == 1


def test_pruning_applies_to_multiway_splits():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(300, 3))
    y = (X[:, 0] + rng.integers(0, 2, 300)) % 3
    tree = MIDDecisionTreeClassifier(lam=0.0, random_state=0)
    path = tree.cost_complexity_pruning_path(X, y)
    assert np.all(np.diff(path.ccp_alphas) >= 0)
    assert np.all(np.diff(path.impurities) >= 0)
    sizes = [
        tree.set_params(ccp_alpha=a).fit(X, y).tree_.node_count for a in path.ccp_alphas
    ]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 1


def test_random_splitter_draws_thresholds_within_the_node(iris):
    X, y = iris
    trees = [
        numeric_tree(splitter="random", random_state=s).fit(X, y) for s in range(4)
    ]
    thresholds = {float(tree.tree_.threshold[0]) for tree in trees}
    assert len(thresholds) == 4  # drawn, not the best midpoint every time
    for tree in trees:
        t = tree.tree_
        assert tree.score(X, y) == 1.0
        for node in np.flatnonzero(t.feature >= 0):
            rows = tree.decision_path(X)[:, node].toarray().ravel() > 0
            column = X[rows, t.feature[node]]
            assert column.min() <= t.threshold[node] < column.max()
    again = numeric_tree(splitter="random", random_state=2).fit(X, y)
    assert np.array_equal(
        again.tree_.threshold, trees[2].tree_.threshold, equal_nan=True
    )
