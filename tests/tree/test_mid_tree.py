import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

from skmid.tree import MIDDecisionTreeClassifier, export_text


def reference_id3(X, y, features, classes):
    """Textbook ID3: split on the best information gain while impure."""
    counts = np.array([np.sum(y == c) for c in classes], dtype=float)
    node = {"counts": counts, "children": {}}
    if counts.max() == len(y) or not features:
        return node

    def entropy(labels):
        p = np.array([np.mean(labels == c) for c in classes])
        p = p[p > 0]
        return -np.sum(p * np.log(p))

    best, best_gain = None, -np.inf
    for f in features:
        values = np.unique(X[:, f])
        if len(values) < 2:
            continue
        gain = entropy(y) - sum(
            np.mean(X[:, f] == v) * entropy(y[X[:, f] == v]) for v in values
        )
        if gain > best_gain:
            best, best_gain = f, gain
    if best is None:
        return node
    node["feature"] = best
    rest = [f for f in features if f != best]
    for v in np.unique(X[:, best]):
        mask = X[:, best] == v
        node["children"][v] = reference_id3(X[mask], y[mask], rest, classes)
    return node


def reference_proba(node, row):
    while "feature" in node and row[node["feature"]] in node["children"]:
        node = node["children"][row[node["feature"]]]
    return node["counts"] / node["counts"].sum()


def random_categorical(n=300, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(n, n_features))
    logits = X[:, 0] - X[:, 1] + 0.5 * (X[:, 2] == 1) + rng.normal(size=n)
    y = np.digitize(logits, [-0.5, 0.8])
    return X, y


@pytest.mark.parametrize("seed", range(4))
def test_lam_zero_is_textbook_id3(seed):
    X, y = random_categorical(seed=seed)
    tree = MIDDecisionTreeClassifier(lam=0.0, random_state=0).fit(X, y)
    reference = reference_id3(X, y, list(range(X.shape[1])), np.unique(y))
    queries = np.array(np.meshgrid(*[range(4)] * X.shape[1])).reshape(X.shape[1], -1).T
    expected = np.array([reference_proba(reference, row) for row in queries])
    np.testing.assert_allclose(tree.predict_proba(queries), expected)


def test_large_lam_gives_a_single_leaf_and_lam_shrinks_the_tree():
    X, y = random_categorical()
    leaves, entropies = [], []
    for lam in [0.0, 0.01, 0.03, 0.1, 1.0]:
        tree = MIDDecisionTreeClassifier(lam=lam, random_state=0).fit(X, y)
        leaves.append(tree.get_n_leaves())
        entropies.append(tree.leaf_entropy_)
    assert leaves[-1] == 1 and entropies[-1] == 0.0
    assert all(a >= b for a, b in zip(leaves, leaves[1:], strict=False))
    assert all(a >= b - 1e-12 for a, b in zip(entropies, entropies[1:], strict=False))


def label_preserving_data():
    # Both values of feature 0 keep class 0 the majority, with different
    # confidence: the split changes predict_proba but no predicted label.
    X = np.array([[0]] * 10 + [[1]] * 10)
    y = np.array([0] * 9 + [1] + [0] * 6 + [1] * 4)
    return X, y


def test_penalty_on_label_preserving_splits():
    X, y = label_preserving_data()
    # Gain ratio of this split is about 0.07: the "leaf" penalty (default)
    # refuses it above that, the "label" penalty never charges for it.
    leaf = MIDDecisionTreeClassifier(lam=0.1).fit(X, y)
    label = MIDDecisionTreeClassifier(lam=100.0, penalized_output="label").fit(X, y)
    assert leaf.get_n_leaves() == 1
    assert label.get_n_leaves() == 2
    np.testing.assert_array_equal(label.predict(X), leaf.predict(X))
    assert not np.allclose(label.predict_proba(X), leaf.predict_proba(X))
    assert label.label_entropy_ == leaf.label_entropy_ == 0.0
    assert label.leaf_entropy_ == pytest.approx(np.log(2))
    assert MIDDecisionTreeClassifier(lam=0.05).fit(X, y).get_n_leaves() == 2


def test_label_penalty_charges_splits_that_change_labels():
    X = np.array([[0]] * 10 + [[1]] * 10)
    y = np.array([0] * 10 + [1] * 10)
    assert (
        MIDDecisionTreeClassifier(lam=10.0, penalized_output="label")
        .fit(X, y)
        .get_n_leaves()
        == 1
    )
    assert (
        MIDDecisionTreeClassifier(lam=0.5, penalized_output="label")
        .fit(X, y)
        .get_n_leaves()
        == 2
    )


def test_criteria_pick_the_informative_feature():
    rng = np.random.default_rng(0)
    informative = rng.integers(0, 2, 400)
    many_values = rng.integers(0, 40, 400)  # gain from fragmentation only
    y = informative ^ (rng.random(400) < 0.1)
    X = np.c_[many_values, informative]
    roots = {
        criterion: MIDDecisionTreeClassifier(lam=0.0, criterion=criterion)
        .fit(X, y)
        .tree_.feature[0]
        for criterion in ["entropy", "gini", "gain_ratio"]
    }
    assert roots == {"entropy": 1, "gini": 1, "gain_ratio": 1}


def test_predict_proba_on_simplex_and_counts_consistent():
    X, y = random_categorical()
    tree = MIDDecisionTreeClassifier(lam=0.005, random_state=0).fit(X, y)
    proba = tree.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    t = tree.tree_
    internal = np.flatnonzero(t.feature >= 0)
    for node in internal:
        children = list(t.children(node).values())
        np.testing.assert_array_equal(t.value[children].sum(axis=0), t.value[node])
    assert t.n_node_samples[0] == len(y)
    np.testing.assert_array_equal(t.value[0], np.bincount(y))


def test_invariant_to_column_order():
    X, y = random_categorical(seed=3)
    order = np.array([3, 0, 4, 2, 1])
    a = MIDDecisionTreeClassifier(lam=0.002, random_state=0).fit(X, y)
    b = MIDDecisionTreeClassifier(lam=0.002, random_state=0).fit(X[:, order], y)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X[:, order]))


def test_strings_nan_and_unseen_categories():
    X = np.array(
        [["a", "x"], ["a", "y"], ["b", "x"], ["b", None], [np.nan, "x"], [np.nan, "y"]],
        dtype=object,
    )
    y = np.array(["no", "no", "yes", "yes", "maybe", "maybe"])
    tree = MIDDecisionTreeClassifier(lam=0.0).fit(X, y)
    assert tree.tree_.feature[0] == 0
    assert np.isnan(tree.categories_[0][-1]) and tree.categories_[1][-1] != "y"
    np.testing.assert_array_equal(tree.predict(X), y)
    # NaN is a category of its own; an unseen category stops at the root and
    # gets the root's class distribution.
    np.testing.assert_array_equal(tree.predict([[np.nan, "x"]]), ["maybe"])
    np.testing.assert_allclose(tree.predict_proba([["c", "x"]]), [[1 / 3] * 3])
    assert tree.apply([["c", "x"]])[0] == 0


def test_pandas_input_names_and_mixed_types():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "colour": ["red", "red", "blue", "blue", "green", "green"] * 5,
            "size": [1, 2, 1, 2, 1, 2] * 5,
            "weight": np.linspace(0, 1, 30),
        }
    )
    y = (frame["weight"] > 0.5).astype(int).to_numpy()
    tree = MIDDecisionTreeClassifier(
        lam=0.0, categorical_features=["colour", "size"]
    ).fit(frame, y)
    np.testing.assert_array_equal(tree.categorical_features_, [True, True, False])
    assert tree.tree_.feature[0] == 2
    assert tree.tree_.threshold[0] == pytest.approx(
        (frame["weight"][14] + frame["weight"][15]) / 2
    )
    assert tree.score(frame, y) == 1.0
    assert "weight <= 0.50" in export_text(tree)


def test_numeric_missing_values_join_the_side_that_helps():
    x = np.r_[np.linspace(0, 1, 20), [np.nan] * 5]
    y = np.r_[(np.linspace(0, 1, 20) > 0.3).astype(int), [0] * 5]
    tree = MIDDecisionTreeClassifier(lam=0.0, categorical_features=[False]).fit(
        x[:, None], y
    )
    assert tree.score(x[:, None], y) == 1.0
    cut = (5 / 19 + 6 / 19) / 2  # midpoint between 0.263 and 0.316
    assert set(tree.tree_.children(0)) == {f"<= {cut:g}", f"> {cut:g}"}
    assert tree.tree_.missing_go_to_left[0]
    assert tree.tree_.n_node_samples.tolist() == [25, 11, 14]
    assert "x <= 0.29 or missing" in export_text(tree, feature_names=["x"])


def test_priority_places_the_feature_at_the_depth():
    X, y = random_categorical(n=600, n_features=5, seed=1)
    for depth in [0, 1, 2]:
        tree = MIDDecisionTreeClassifier(
            lam=0.0, priority_feature=4, priority_depth=depth, random_state=0
        ).fit(X, y)
        t = tree.tree_
        above = (t.depth < depth) & (t.feature >= 0)
        at = (t.depth == depth) & (t.feature >= 0)
        assert not np.any(t.feature[above] == 4)
        assert at.any() and np.all(t.feature[at] == 4)
    plain = MIDDecisionTreeClassifier(lam=0.0, random_state=0).fit(X, y)
    assert plain.tree_.feature[0] != 4


def test_priority_feature_by_name_or_negative_index():
    pd = pytest.importorskip("pandas")
    X, y = random_categorical(n=600, n_features=5, seed=1)
    frame = pd.DataFrame(X, columns=list("abcde"))
    params = {"lam": 0.0, "priority_depth": 1, "random_state": 0}
    by_index = MIDDecisionTreeClassifier(priority_feature=4, **params).fit(X, y)
    for key in ["e", -1]:
        other = MIDDecisionTreeClassifier(priority_feature=key, **params)
        other.fit(frame if key == "e" else X, y)
        np.testing.assert_array_equal(other.tree_.feature, by_index.tree_.feature)
    with pytest.raises(ValueError, match="priority_feature: .*column named 'f'"):
        MIDDecisionTreeClassifier(priority_feature="f", **params).fit(frame, y)


def test_apply_decision_path_depth_and_export_text():
    X, y = random_categorical()
    tree = MIDDecisionTreeClassifier(lam=0.01, max_depth=2, random_state=0).fit(X, y)
    assert tree.get_depth() <= 2
    leaves = tree.apply(X)
    path = tree.decision_path(X).toarray()
    assert np.all(path[np.arange(len(X)), leaves] == 1) and np.all(path[:, 0] == 1)
    np.testing.assert_array_equal(path.sum(axis=1), tree.tree_.depth[leaves] + 1)
    text = export_text(tree, show_counts=True, feature_names=list("abcde"))
    assert text.count("class:") == tree.get_n_leaves()
    assert text.startswith(f"|--- {'abcde'[tree.tree_.feature[0]]} = ")
    shallow = export_text(tree, max_depth=1)
    assert "truncated branch of depth 1" in shallow


def test_min_samples_constraints():
    X, y = random_categorical()
    tree = MIDDecisionTreeClassifier(
        lam=0.0, min_samples_leaf=20, min_samples_split=50, random_state=0
    ).fit(X, y)
    t = tree.tree_
    assert t.n_node_samples[t.feature < 0].min() >= 20
    assert np.all(t.n_node_samples[t.feature >= 0] >= 50)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lam": -1.0}, "lam"),
        ({"criterion": "mse"}, "criterion"),
        ({"penalized_output": "proba"}, "penalized_output"),
        ({"categorical_features": [7]}, "categorical_features"),
        ({"priority_feature": 9}, "priority_feature: .* out of range"),
        ({"priority_feature": -9}, "priority_feature: .* out of range"),
        ({"priority_feature": "age"}, "priority_feature: .* no column names"),
    ],
)
def test_bad_parameters(params, match):
    X, y = random_categorical()
    with pytest.raises((ValueError, InvalidParameterError), match=match):
        MIDDecisionTreeClassifier(**params).fit(X, y)


def test_numeric_column_with_strings_is_rejected():
    X = np.array([["a", "1"], ["b", "x"]], dtype=object)
    with pytest.raises(ValueError, match="Column 1 of X is declared numeric"):
        MIDDecisionTreeClassifier(categorical_features=[0]).fit(X, [0, 1])


def test_grid_search_over_lam_in_a_pipeline():
    X, y = random_categorical(n=400)
    pipeline = make_pipeline(FunctionTransformer(), MIDDecisionTreeClassifier())
    search = GridSearchCV(
        pipeline,
        {"middecisiontreeclassifier__lam": [0.0, 0.01, 1.0]},
        cv=KFold(3, shuffle=True, random_state=0),
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert scores[2] < max(scores[:2])  # a single leaf predicts worse
    assert clone(search.best_estimator_).get_params()
