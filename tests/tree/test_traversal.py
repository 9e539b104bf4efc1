"""Prediction of the categorical trees on raw numeric input and on encoded input."""

import numpy as np
import pandas as pd
import pytest

from skmid.tree import DPID3Classifier, MIDDecisionTreeClassifier, _classes
from skmid.tree import _tree_kernels as kernels
from skmid.tree._encoding import category_lookup

# Categories of each column: dense integers, integers with gaps, sparse
# integers (binary search), non-integer floats (binary search), integers with
# missing values; then two numeric columns, one with missing values.
CATEGORIES = [
    [0, 1, 2, 3],
    [-3, 0, 5, 7],
    [0, 10**6, 10**9],
    [0.5, 1.5, 2.25],
    [1, 2, np.nan],
]
N_NUMERIC = 2
# Values no training row has, per categorical column.
UNSEEN = [4.0, 1.0, 5.0, 1.0, 3.0]


def mixed_rows(n, seed):
    rng = np.random.default_rng(seed)
    columns = [rng.choice(np.array(c, dtype=float), n) for c in CATEGORIES]
    numeric = rng.normal(size=(n, N_NUMERIC)).round(2)
    numeric[rng.random(n) < 0.2, 1] = np.nan
    X = np.column_stack([*columns, numeric])
    signal = (X[:, 0] > 1) + (X[:, 1] == 5) + (X[:, 5] > 0) + np.isnan(X[:, 4])
    y = (signal + (rng.random(n) < 0.2)) % 3
    return X, y


def queries(n, seed):
    """Rows like the training rows, with unseen categories and NaN mixed in."""
    X, _ = mixed_rows(n, seed)
    rng = np.random.default_rng(seed + 1)
    for j, value in enumerate(UNSEEN):
        X[rng.random(n) < 0.05, j] = value
        X[rng.random(n) < 0.05, j] = np.nan
    return X


def fitted(**params):
    X, y = mixed_rows(600, seed=0)
    categorical = list(range(len(CATEGORIES)))
    tree = MIDDecisionTreeClassifier(
        lam=0.0, categorical_features=categorical, random_state=0, **params
    )
    return tree.fit(X, y)


def forbid_encoding(monkeypatch, tree):
    def encode(X):
        raise AssertionError("numeric input went through the object path")

    monkeypatch.setattr(tree, "_encode", encode)


def reference_stops(tree, X):
    """Row by row, matching each value against ``categories_`` in Python."""
    t = tree.tree_
    stops = []
    for row in X:
        node = 0
        while t.feature[node] >= 0:
            f = t.feature[node]
            v = row[f]
            categories = tree.categories_[f]
            if categories is None:
                if np.isnan(v):
                    slot = 0 if t.missing_go_to_left[node] else 1
                else:
                    slot = int(v > t.threshold[node])
            else:
                matches = [
                    k
                    for k, c in enumerate(categories)
                    if c == v or (np.isnan(c) and np.isnan(v))
                ]
                if not matches:
                    break
                slot = matches[0]
            child = t.slot_child[t.slot_start[node] + slot]
            if child < 0:
                break
            node = child
        stops.append(node)
    return np.array(stops)


def test_numeric_input_follows_the_reference_traversal():
    tree = fitted()
    assert tree.get_depth() >= 3
    # direct tables for the first two columns, binary searches for the next two
    np.testing.assert_array_equal(tree._numeric_lookup.width > 0, [1, 1, 0, 0, 1, 0, 0])
    X = queries(501, seed=1)  # not a multiple of the rows in flight
    expected = reference_stops(tree, X)
    # some rows stop at an internal node, on an unseen value or an empty slot
    assert np.any(tree.tree_.feature[expected] >= 0)
    np.testing.assert_array_equal(tree.apply(X), expected)


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda X: X, id="float64"),
        pytest.param(lambda X: np.asfortranarray(X), id="fortran"),
        pytest.param(lambda X: np.repeat(X, 2, axis=1)[:, ::2], id="strided"),
        pytest.param(lambda X: X.astype(np.float32), id="float32"),
        pytest.param(lambda X: X.astype(np.float16), id="float16"),
        pytest.param(pd.DataFrame, id="dataframe"),
    ],
)
def test_numeric_input_predicts_as_the_object_path(monkeypatch, convert):
    tree = fitted()
    X = queries(400, seed=2)
    # values exact in float16, so that every dtype holds the same ones
    X[:, len(CATEGORIES) :] = X[:, len(CATEGORIES) :].round()
    X[:, 2] = np.where(X[:, 2] > 1, 0.0, X[:, 2])
    expected_stops = tree.apply(X.astype(object))
    expected_proba = tree.predict_proba(X.astype(object))

    forbid_encoding(monkeypatch, tree)
    np.testing.assert_array_equal(tree.apply(convert(X)), expected_stops)
    np.testing.assert_array_equal(tree.predict_proba(convert(X)), expected_proba)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int8, bool])
def test_integer_input_predicts_as_the_object_path(monkeypatch, dtype):
    rng = np.random.default_rng(3)
    X = rng.integers(0, 2 if dtype is bool else 4, size=(500, 4))
    y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.integers(0, 2, 500)) % 3
    tree = MIDDecisionTreeClassifier(lam=0.0, random_state=0).fit(X.astype(dtype), y)
    queries = rng.integers(0, 5, size=(300, 4)).astype(dtype)
    expected = tree.apply(queries.astype(object))
    forbid_encoding(monkeypatch, tree)
    np.testing.assert_array_equal(tree.apply(queries), expected)
    np.testing.assert_array_equal(
        tree.predict_proba(queries),
        _classes._class_distribution(tree.tree_.value)[expected],
    )


def test_string_categories_take_the_object_path():
    X = np.array([["a", 1.0], ["b", 2.0], ["a", 3.0], ["b", np.nan]], dtype=object)
    y = [0, 1, 0, 1]
    tree = MIDDecisionTreeClassifier(lam=0.0, categorical_features=[0]).fit(X, y)
    np.testing.assert_array_equal(tree.predict(X), y)
    # numbers never equal the string categories
    numbers = tree.predict_proba(np.array([[1.0, 1.0], [0.0, 2.0]]))
    np.testing.assert_array_equal(numbers, np.full((2, 2), 0.5))


def test_integers_beyond_float64_precision_are_compared_exactly():
    big = 2**60  # exact in float64; big + 1 is not and rounds to big
    X = np.array([[0], [0], [big], [big]], dtype=np.int64)
    tree = MIDDecisionTreeClassifier(lam=0.0).fit(X, [0, 0, 1, 1])
    queries = np.array([[big], [big + 1], [0], [-big - 1]], dtype=np.int64)
    np.testing.assert_array_equal(tree.apply(queries), [2, 0, 1, 0])
    np.testing.assert_array_equal(
        tree.predict_proba(queries), [[0, 1], [0.5, 0.5], [1, 0], [0.5, 0.5]]
    )


def test_categories_not_exact_in_float64_take_the_object_path():
    X = np.array([[2**53 + 1], [0], [2**53 + 1], [0]], dtype=object)
    tree = MIDDecisionTreeClassifier(lam=0.0).fit(X, [1, 0, 1, 0])
    assert tree._numeric_lookup is None
    queries = np.array([[2**53 + 1], [2**53], [0]], dtype=np.int64)
    np.testing.assert_array_equal(tree.apply(queries), [2, 0, 1])


def test_category_lookup_tables():
    lookup = category_lookup(
        [
            np.array([-3, 0, 5]),
            None,
            np.array([0.5, 1.5, np.nan], dtype=object),
            np.array([0, 10**9]),
            np.array([np.nan], dtype=object),
        ]
    )
    np.testing.assert_array_equal(lookup.width, [9, 0, 0, 0, 0])
    np.testing.assert_array_equal(lookup.offset[0], -3)
    np.testing.assert_array_equal(lookup.value_code, [0, -1, -1, 1, -1, -1, -1, -1, 2])
    np.testing.assert_array_equal(lookup.value_start, [0, 0, 0, 2, 4, 4])
    np.testing.assert_array_equal(lookup.category_values, [0.5, 1.5, 0, 10**9])
    np.testing.assert_array_equal(lookup.missing_code, [-1, -1, 2, -1, 0])
    for categories in [["a", "b"], [1, "a"], [0, 2**70 + 1]]:
        assert category_lookup([np.array(categories, dtype=object)]) is None
    mixed = category_lookup([np.array([1, 2.5, np.float32(3.5)], dtype=object)])
    np.testing.assert_array_equal(mixed.category_values, [1.0, 2.5, 3.5])


def test_serial_and_parallel_kernels_agree():
    tree = fitted()
    X = queries(5001, seed=4)
    X[7, len(CATEGORIES) + 1] = -np.inf  # left to the object path, which raises
    node_proba = _classes._class_distribution(tree.tree_.value)
    results = []
    for kernel in [kernels._traverse_serial, kernels._traverse_parallel]:
        stops = np.empty(len(X), dtype=np.int64)
        proba = np.empty((len(X), tree.n_classes_))
        kernel(
            X,
            np.arange(len(CATEGORIES), X.shape[1]),
            ~tree.categorical_features_,
            *tree._numeric_lookup,
            np.inf,
            *tree._flat_tree,
            node_proba,
            stops,
            proba,
        )
        results.append((stops, proba))
    (stops, proba), (parallel_stops, parallel_proba) = results
    expected = reference_stops(tree, X)
    expected[7] = kernels.REDO
    np.testing.assert_array_equal(stops, expected)
    np.testing.assert_array_equal(parallel_stops, stops)
    kept = np.arange(len(X)) != 7
    np.testing.assert_array_equal(proba[kept], node_proba[stops[kept]])
    np.testing.assert_array_equal(parallel_proba[kept], proba[kept])


def test_probabilities_in_many_small_calls_are_the_same(monkeypatch):
    tree = fitted()
    X = queries(3 * tree.tree_.node_count, seed=5)
    many = tree.predict_proba(X)
    np.testing.assert_array_equal(many, tree.predict_proba(X.astype(object)))
    monkeypatch.setattr(_classes, "WORK_PER_CALL", 1)
    np.testing.assert_array_equal(tree.predict_proba(X), many)
    np.testing.assert_array_equal(tree.predict(X), tree.classes_[many.argmax(axis=1)])


def test_infinite_value_in_a_large_float32_batch_is_rejected():
    tree = fitted()
    X = queries(2 * tree.tree_.node_count, seed=6).astype(np.float32)
    X[-1, len(CATEGORIES)] = np.inf
    with pytest.raises(ValueError, match=f"Column {len(CATEGORIES)} of X .* infinite"):
        tree.predict_proba(X)
    # in a categorical column infinity is a value never seen in training
    X[-1, len(CATEGORIES)] = 0.0
    X[-1, 0] = np.inf
    assert tree.apply(X)[-1] == reference_stops(tree, X[-1:].astype(float))[0]


def test_noisy_counts_of_the_dp_tree_give_the_object_path_probabilities():
    rng = np.random.default_rng(7)
    X = rng.integers(0, 3, size=(2000, 4))
    y = (X[:, 0] == 2) | (X[:, 3] == 0)
    tree = DPID3Classifier(epsilon=0.5, max_depth=3, random_state=0).fit(X, y)
    assert len(X) >= tree.tree_.node_count
    np.testing.assert_array_equal(
        tree.predict_proba(X), tree.predict_proba(X.astype(object))
    )
