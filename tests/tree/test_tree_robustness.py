"""Extreme values, bad inputs and interruption of the categorical trees."""

import functools
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from skmid.tree import DPID3Classifier, MIDDecisionTreeClassifier, _classes
from skmid.tree import _tree_kernels as kernels
from tests._subprocess import interrupt_script

TINY = np.nextafter(0.0, 1.0)
HUGE = np.finfo(np.float64).max


def numeric_tree(**params):
    return MIDDecisionTreeClassifier(lam=0.0, categorical_features=[], **params)


def assert_valid_proba(proba, n_classes):
    assert proba.shape[1] == n_classes
    assert np.all(np.isfinite(proba)) and np.all(proba >= 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def assert_counts_match_training_rows(tree, X, y_codes):
    """The counts of each node are those of the training rows apply() sends there."""
    t = tree.tree_
    path = tree.decision_path(X).toarray().astype(bool)
    for node in range(t.node_count):
        expected = np.bincount(y_codes[path[:, node]], minlength=t.n_classes)
        np.testing.assert_array_equal(t.value[node], expected)


@pytest.mark.parametrize(
    "pair",
    [
        [0.3, 0.1 + 0.2],  # adjacent: the old midpoint rounded to the right one
        [-1e308, 1e308],  # far apart: right - left overflowed
        [TINY, 2 * TINY],  # subnormal neighbours
        [np.nextafter(HUGE, 0.0), HUGE],
        [-HUGE, HUGE],
    ],
)
def test_numeric_threshold_separates_adjacent_and_extreme_values(pair):
    X = np.array(pair)[:, None]
    tree = numeric_tree().fit(X, [0, 1])
    t = tree.tree_
    assert t.node_count == 3 and t.feature[0] == 0
    assert np.isfinite(t.threshold[0]) and pair[0] <= t.threshold[0] < pair[1]
    np.testing.assert_array_equal(tree.predict(X), [0, 1])
    np.testing.assert_array_equal(tree.predict_proba(X), np.eye(2))


finite_floats = st.floats(allow_nan=False, allow_infinity=False)


@given(left=finite_floats, right=finite_floats, adjacent=st.booleans())
def test_separating_threshold_lies_between_its_values(left, right, adjacent):
    if adjacent:
        with np.errstate(over="ignore"):
            right = np.nextafter(left, np.inf)
    left, right = sorted([left, right])
    assume(left < right and np.isfinite(right))
    cut = kernels._separating_threshold(left, right)
    assert left <= cut < right


# Adjacent, duplicated and extreme values, where thresholds round badly.
POOL = [
    0.3,
    0.1 + 0.2,
    np.nextafter(0.3, 1.0),
    -1e308,
    1e308,
    HUGE,
    -HUGE,
    0.0,
    TINY,
    -TINY,
    1.0,
    np.nextafter(1.0, 2.0),
    np.nan,
]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(POOL), st.sampled_from(POOL), st.integers(0, 2)),
        min_size=1,
        max_size=25,
    ),
    criterion=st.sampled_from(["entropy", "gini", "gain_ratio"]),
)
def test_numeric_trees_on_adjacent_floats_stay_small_and_consistent(rows, criterion):
    X = np.array([row[:2] for row in rows])
    y = np.array([row[2] for row in rows])
    tree = numeric_tree(criterion=criterion, random_state=0).fit(X, y)
    assert tree.tree_.node_count <= 2 * len(y) - 1
    t = tree.tree_
    split = t.feature >= 0
    # A threshold is finite, or +inf where the split separates the present
    # values of a column from its missing ones (scikit-learn's threshold).
    thresholds = t.threshold[split]
    assert np.all(np.isfinite(thresholds) | (thresholds == np.inf))
    assert not np.any(t.missing_go_to_left[split][thresholds == np.inf])
    assert_counts_match_training_rows(tree, X, np.unique(y, return_inverse=True)[1])
    assert_valid_proba(tree.predict_proba(X), tree.n_classes_)


def test_numeric_split_with_missing_values_beside_binary_categories():
    # The numeric split has three branches while the categorical columns have
    # two: the missing branch's counts were written past the end of a buffer.
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    x[rng.random(300) < 0.3] = np.nan
    X = np.c_[rng.integers(0, 2, 300), x]
    y = np.where(np.isnan(x), 2, (x > 0).astype(int))
    tree = MIDDecisionTreeClassifier(lam=0.0, categorical_features=[0]).fit(X, y)
    assert tree.tree_.feature[0] == 1
    assert_counts_match_training_rows(tree, X, y)
    assert tree.score(X, y) == 1.0


def mixed_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(size=(n, 2)).round(1), rng.integers(0, 4, (n, 3))]
    X[rng.random(n) < 0.1, 0] = np.nan
    y = ((X[:, 1] + X[:, 3] + rng.normal(size=n)) > 1).astype(int) + (X[:, 4] == 2)
    return X, y


@pytest.mark.parametrize(
    "params",
    [
        {"lam": 0.0},
        {"lam": 0.01, "penalized_output": "label"},
        {"lam": 0.0, "priority_feature": 3, "priority_depth": 1},
        {"lam": 0.0, "priority_feature": 0, "priority_depth": 2},
    ],
)
def test_growth_in_many_small_calls_gives_the_same_tree(monkeypatch, params):
    X, y = mixed_data()
    whole = MIDDecisionTreeClassifier(
        categorical_features=[2, 3, 4], random_state=0, **params
    ).fit(X, y)
    calls = []

    def counting(*args):
        calls.append(args[-1])
        return grow_nodes(*args)

    grow_nodes = kernels.grow_nodes
    monkeypatch.setattr(kernels, "grow_nodes", counting)
    monkeypatch.setattr(
        _classes, "build_tree", functools.partial(kernels.build_tree, work_per_call=1)
    )
    chunked = MIDDecisionTreeClassifier(
        categorical_features=[2, 3, 4], random_state=0, **params
    ).fit(X, y)
    # one feature evaluation per call: more calls than the nodes times features
    assert len(calls) > whole.tree_.node_count
    for name in ["feature", "parent", "value", "slot_start", "n_slots", "slot_child"]:
        np.testing.assert_array_equal(
            getattr(chunked.tree_, name), getattr(whole.tree_, name)
        )
    np.testing.assert_array_equal(chunked.tree_.threshold, whole.tree_.threshold)


def test_traversal_in_many_small_calls_gives_the_same_nodes(monkeypatch):
    X, y = mixed_data()
    tree = MIDDecisionTreeClassifier(lam=0.0, categorical_features=[2, 3, 4]).fit(X, y)
    expected = tree.apply(X)
    monkeypatch.setattr(_classes, "WORK_PER_CALL", 1)
    np.testing.assert_array_equal(tree.apply(X), expected)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGINT")
def test_a_long_fit_stops_on_ctrl_c():
    script = textwrap.dedent(
        """
        import time
        import numpy as np
        from skmid.tree import MIDDecisionTreeClassifier

        rng = np.random.default_rng(0)
        X = rng.normal(size=(400_000, 8))
        y = rng.integers(0, 3, len(X))
        tree = MIDDecisionTreeClassifier(lam=0.0, categorical_features=[])
        tree.fit(X[:100], y[:100])  # compile or load the kernels first
        print("fitting", flush=True)
        start = time.perf_counter()
        tree.fit(X, y)  # about a minute
        print("finished in", time.perf_counter() - start, flush=True)
        """
    )
    result = interrupt_script(script, timeout=15)
    assert "finished" not in result.stdout
    assert result.returncode != 0 and "KeyboardInterrupt" in result.stderr
    assert result.latency < 5.0


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_numeric_values_are_rejected_at_fit_and_predict(value):
    X = np.array([[0.0, 1.0], [value, 2.0], [1.0, 3.0]])
    y = [0, 1, 0]
    with pytest.raises(ValueError, match="Column 0 of X .* infinite"):
        numeric_tree().fit(X, y)
    tree = numeric_tree().fit(np.abs(np.nan_to_num(X, posinf=5.0, neginf=5.0)), y)
    with pytest.raises(ValueError, match="Column 0 of X .* infinite"):
        tree.predict(X)
    # In a categorical column infinity is one more category.
    categorical = MIDDecisionTreeClassifier(lam=0.0).fit(X, y)
    np.testing.assert_array_equal(categorical.predict(X), y)


def test_none_in_a_numeric_object_column_is_missing():
    X = np.array([[0.5], [None], [2.5], [None]], dtype=object)
    y = [0, 1, 2, 1]
    tree = numeric_tree().fit(X, y)
    # present values (0.5, 2.5) against missing ones (class 1 twice): the
    # best split, as in scikit-learn (threshold +inf, missing to the right)
    assert tree.tree_.children(0).keys() == {"<= inf", "> inf"}
    assert not tree.tree_.missing_go_to_left[0]
    np.testing.assert_array_equal(tree.predict(X), y)


def test_huge_integer_settings_act_as_no_limit():
    X, y = mixed_data(n=200)
    params = {"lam": 0.0, "categorical_features": [2, 3, 4], "random_state": 0}
    unlimited = MIDDecisionTreeClassifier(**params).fit(X, y)
    deep = MIDDecisionTreeClassifier(max_depth=10**30, **params).fit(X, y)
    np.testing.assert_array_equal(deep.tree_.feature, unlimited.tree_.feature)
    # a priority depth never reached keeps the feature out of the whole tree
    never = MIDDecisionTreeClassifier(
        priority_feature=2, priority_depth=2**64, **params
    ).fit(X, y)
    X_without = X.copy()
    X_without[:, 2] = 0
    without = MIDDecisionTreeClassifier(**params).fit(X_without, y)
    assert 2 in unlimited.tree_.feature
    np.testing.assert_array_equal(never.tree_.feature, without.tree_.feature)
    for setting in ["min_samples_split", "min_samples_leaf"]:
        stump = MIDDecisionTreeClassifier(**{setting: 10**30}, **params).fit(X, y)
        assert stump.tree_.node_count == 1
        assert_valid_proba(stump.predict_proba(X), 3)


def test_boolean_priority_feature_is_rejected():
    X, y = mixed_data(n=50)
    with pytest.raises(ValueError, match="priority_feature"):
        MIDDecisionTreeClassifier(priority_feature=True).fit(X, y)


def signal_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(n, 4))
    y = ((X[:, 0] == 2) | (X[:, 3] == 0)).astype(int)
    return X, y


@pytest.mark.parametrize("epsilon", [1e-300, 1e-250, 1e-30])
def test_dp_tiny_epsilon_gives_near_uniform_noise_without_overflow(epsilon):
    X, y = signal_data()
    for seed in range(5):
        tree = DPID3Classifier(epsilon=epsilon, random_state=seed).fit(X, y)
        assert np.all(np.isfinite(tree.tree_.value))
        assert_valid_proba(tree.predict_proba(X), 2)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"epsilon": 1e-310}, "epsilon"),
        ({"epsilon": TINY}, "epsilon"),
        ({"epsilon": 10**400}, "epsilon"),
        ({"max_depth": 10**400}, "max_depth"),
    ],
)
def test_dp_budgets_outside_float64_are_named(params, match):
    X, y = signal_data(n=50)
    with pytest.raises(ValueError, match=match):
        DPID3Classifier(random_state=0, **params).fit(X, y)


def test_dp_huge_epsilon_releases_the_exact_counts():
    X, y = signal_data()
    tree = DPID3Classifier(epsilon=1e300, max_depth=2, random_state=0).fit(X, y)
    t = tree.tree_
    assert t.node_count > 1
    leaves = np.flatnonzero(t.feature < 0)
    stops = tree.apply(X)
    for leaf in leaves:
        np.testing.assert_allclose(
            t.value[leaf], np.bincount(y[stops == leaf], minlength=2), atol=1e-6
        )
    assert tree.score(X, y) == 1.0


ESTIMATORS = [
    pytest.param(lambda: MIDDecisionTreeClassifier(lam=0.0), id="mid"),
    pytest.param(
        lambda: MIDDecisionTreeClassifier(lam=0.0, categorical_features=[]),
        id="mid-numeric",
    ),
    pytest.param(lambda: DPID3Classifier(epsilon=10.0, random_state=0), id="dp"),
]


@pytest.mark.parametrize("make", ESTIMATORS)
@pytest.mark.parametrize(
    "X_fit, X_predict, error, match",
    [
        (np.empty((0, 3)), None, ValueError, "0 sample"),
        (np.eye(6, 3), np.eye(6, 2), ValueError, "X has 2 features"),
        (np.eye(6, 3)[:, :, None], None, ValueError, "dim 3"),
    ],
    ids=["empty", "n_features", "3d"],
)
def test_bad_X_is_rejected(make, X_fit, X_predict, error, match):
    y = np.arange(X_fit.shape[0]) % 2
    with pytest.raises(error, match=match):
        estimator = make().fit(X_fit, y)
        estimator.predict(X_predict)


@pytest.mark.parametrize("make", ESTIMATORS)
@pytest.mark.parametrize(
    "X, y",
    [
        ([[1.0, 2.0, 3.0]], [1]),
        (np.eye(6, 3), np.zeros(6)),
        (np.eye(6, 3) * 1e300, [0, 1] * 3),
        (np.where(np.eye(6, 3) > 0, np.nan, -1e-300), [0, 1, 1, 0, 1, 0]),
    ],
    ids=["one-sample", "one-class", "1e300", "nan"],
)
def test_edge_inputs_give_valid_probabilities(make, X, y):
    estimator = make().fit(X, y)
    assert_valid_proba(estimator.predict_proba(X), len(np.unique(y)))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"max_depth": -1}, "max_depth"),
        ({"max_depth": float("nan")}, "max_depth"),
        ({"decimals": 400}, "decimals"),
        ({"decimals": "two"}, "decimals"),
        ({"feature_names": ["a"]}, "feature_names"),
        ({"class_names": ["a", "b", "c"]}, "class_names"),
    ],
)
def test_export_text_refuses_bad_arguments_by_name(kwargs, name):
    from skmid.tree import export_text

    tree = MIDDecisionTreeClassifier(lam=0.0).fit([[0, 1], [1, 0]], [0, 1])
    with pytest.raises(ValueError, match=name):
        export_text(tree, **kwargs)


def test_export_text_refuses_an_unfitted_tree():
    from sklearn.exceptions import NotFittedError

    from skmid.tree import export_text

    with pytest.raises(NotFittedError):
        export_text(MIDDecisionTreeClassifier())
