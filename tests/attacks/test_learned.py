"""LearnedAttributeInference: a classifier trained on the model's outputs."""

import pickle

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from skmid.attacks import LearnedAttributeInference, MAPAttributeInference
from skmid.datasets import make_sensitive_classification, make_sensitive_regression


@pytest.fixture(scope="module")
def regression():
    data = make_sensitive_regression(
        n_samples=800, sensitive_effect=3, noise=0.5, random_state=0
    )
    model = LinearRegression().fit(data.data[:400], data.target[:400])
    return data, model


def test_beats_the_prior_and_keeps_up_with_map_on_a_known_leak(regression):
    data, model = regression
    X, y = data.data, data.target
    learned = LearnedAttributeInference(data.sensitive_features, random_state=0)
    learned.fit(X[400:], y[400:])
    accuracy = learned.score(model, X[:400], y[:400])
    assert accuracy > learned.prior_.max() + 0.3
    map_attack = MAPAttributeInference(data.sensitive_features).fit(X[400:], y[400:])
    assert accuracy >= map_attack.score(model, X[:400], y[:400]) - 0.03
    proba = learned.infer_proba(model, X[:400], y[:400])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert learned.score(model, X[:400], y[:400], metric="roc_auc") > 0.9


def test_classifier_with_a_known_leak():
    data = make_sensitive_classification(
        n_samples=1200, sensitive_effect=3.0, random_state=0
    )
    X, y, sensitive = data.data, data.target, data.data.shape[1] - 1
    tree = DecisionTreeClassifier(max_depth=6, random_state=0).fit(X[:600], y[:600])
    attack = LearnedAttributeInference(sensitive, random_state=0).fit(X[600:], y[600:])
    truth = X[:600, sensitive]
    majority = np.mean(truth == np.bincount(truth.astype(int)).argmax())
    assert attack.score(tree, X[:600], y[:600]) > majority + 0.05
    assert attack.score(tree, X[:600], y[:600], metric="advantage") > 0.05


def test_cross_fitting_never_remembers_the_answers():
    # The sensitive column is noise: no attack can beat a coin. A 1-nearest-
    # neighbour attack classifier fitted on the scored rows would remember
    # every answer (accuracy 1) without cross-fitting.
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.normal(size=(300, 3)), rng.randint(0, 2, 300)])
    y = X[:, 0] + rng.normal(size=300)
    model = LinearRegression().fit(X, y)
    attack = LearnedAttributeInference(
        3, estimator=KNeighborsClassifier(n_neighbors=1), random_state=0
    ).fit(X, y)
    assert attack.score(model, X, y) < 0.6
    # rows the attacker never saw get the mean of the fold classifiers
    other = X.copy()
    other[:, :3] += 100.0
    proba = attack.infer_proba(model, other, y)
    assert np.all(np.isin(np.round(proba * 5), np.arange(6)))


def test_a_constant_model_leaves_only_what_the_known_features_reveal(regression):
    data, _ = regression
    X, y = data.data, data.target
    constant = DummyRegressor().fit(X, y)
    attack = LearnedAttributeInference(data.sensitive_features, random_state=0)
    attack.fit(X[400:], y[400:])
    # y still reveals the sensitive value here: the target depends on it.
    leaky = attack.score(LinearRegression().fit(X, y), X[:400], y[:400])
    assert attack.score(constant, X[:400], y[:400]) <= leaky


def test_trains_once_per_model_and_again_after_a_refit(regression, monkeypatch):
    data, model = regression
    X, y = data.data, data.target
    attack = LearnedAttributeInference(data.sensitive_features, random_state=0)
    attack.fit(X[400:], y[400:])
    calls = []
    train = attack._train
    monkeypatch.setattr(attack, "_train", lambda est: calls.append(1) or train(est))
    first = attack.infer_proba(model, X[:50], y[:50])
    np.testing.assert_array_equal(first, attack.infer_proba(model, X[:50], y[:50]))
    assert len(calls) == 1
    model.fit(X[400:], y[400:])
    attack.infer_proba(model, X[:50], y[:50])
    assert len(calls) == 2
    monkeypatch.undo()
    restored = pickle.loads(pickle.dumps(attack))
    np.testing.assert_allclose(
        restored.infer_proba(model, X[:50], y[:50]),
        attack.infer_proba(model, X[:50], y[:50]),
    )


def test_string_categories_in_a_frame_and_a_classifier_without_proba():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    n = 300
    secret = rng.choice(["no", "yes"], n)
    city = rng.choice(["paris", "rome", "oslo"], n)
    noise = rng.normal(size=n)
    y = np.where((secret == "yes") ^ (rng.uniform(size=n) < 0.1), "b", "a")
    frame = pd.DataFrame({"city": city, "noise": noise, "secret": secret})
    codes = np.column_stack([pd.factorize(city)[0], noise, secret == "yes"])

    class OnCodes(LinearSVC):
        def fit(self, X, y):
            return super().fit(self._codes(X), y)

        def predict(self, X):
            return super().predict(self._codes(X))

        @staticmethod
        def _codes(X):
            X = pd.DataFrame(X, columns=["city", "noise", "secret"])
            return np.column_stack(
                [
                    X["city"].map({"paris": 0, "rome": 1, "oslo": 2}),
                    X["noise"].astype(float),
                    X["secret"] == "yes",
                ]
            )

    model = OnCodes().fit(frame, y)
    assert not hasattr(model, "predict_proba") and codes.shape == (n, 3)
    attack = LearnedAttributeInference("secret", random_state=0).fit(frame, y)
    assert attack.score(model, frame, y) > 0.8
    assert set(attack.infer(model, frame, y)) <= {"no", "yes"}


def test_errors_name_the_problem(regression):
    data, model = regression
    X, y = data.data, data.target
    with pytest.raises(ValueError, match="at least 10 background rows"):
        LearnedAttributeInference(data.sensitive_features).fit(X[:8], y[:8])
    with pytest.raises(ValueError, match="estimator"):
        LearnedAttributeInference(
            data.sensitive_features, estimator=LinearRegression()
        ).fit(X, y)
    with pytest.raises(ValueError, match="sensitive_feature is required"):
        LearnedAttributeInference().fit(X, y)
    attack = LearnedAttributeInference(data.sensitive_features).fit(X[400:], y[400:])
    with pytest.raises(ValueError, match="needs y"):
        attack.infer_proba(model, X[:5])
    labels = (y > 0).astype(int)
    tree = DecisionTreeClassifier(random_state=0).fit(X, labels)
    with pytest.raises(ValueError, match="are classes of the attacked classifier"):
        attack.infer(tree, X[:5], labels[:5])  # fitted on regression targets
    attack = LearnedAttributeInference(data.sensitive_features).fit(X, labels)
    with pytest.raises(ValueError, match="never saw"):
        attack.infer(tree, X[:5], np.full(5, 7))
    with pytest.raises(ValueError, match="columns"):
        attack.infer(model, X[:5, :-1], y[:5])


def test_works_with_logistic_regression_targets():
    data = make_sensitive_classification(
        n_samples=600, sensitive_effect=2.0, random_state=1
    )
    X, y, sensitive = data.data, data.target, data.data.shape[1] - 1
    model = LogisticRegression(max_iter=500).fit(X, y)
    attack = LearnedAttributeInference(sensitive, random_state=0).fit(X, y)
    guesses = attack.infer(model, X, y)
    assert set(np.unique(guesses)) <= set(attack.values_)
    assert -1.0 <= attack.score(model, X, y, metric="advantage_over_prior") <= 1.0


def test_repeated_inference_is_answered_without_querying_again(regression):
    # Each metric's scorer asks again for the same rows of the same model; the
    # answer must be the one a fresh attack computes, with no new queries.
    data, _ = regression
    X, y = data.data.copy(), data.target.copy()

    class Counting(LinearRegression):
        calls = 0

        def predict(self, X):
            type(self).calls += 1
            return super().predict(X)

    counting = Counting().fit(X[:400], y[:400])
    attack = LearnedAttributeInference(data.sensitive_features, random_state=0)
    attack.fit(X[400:], y[400:])
    first = attack.infer_proba(counting, X[:400], y[:400])
    before = Counting.calls
    again = attack.infer_proba(counting, X[:400], y[:400])
    # Only the probe that recognises the model is queried again.
    assert Counting.calls == before + 1
    np.testing.assert_array_equal(again, first)
    again[:] = 0.0  # a caller's edit does not reach the stored answer
    np.testing.assert_array_equal(attack.infer_proba(counting, X[:400], y[:400]), first)
    fresh = LearnedAttributeInference(data.sensitive_features, random_state=0)
    fresh.fit(X[400:], y[400:])
    np.testing.assert_allclose(fresh.infer_proba(counting, X[:400], y[:400]), first)
    # Other rows, or another model, are inferred anew.
    other = attack.infer_proba(counting, X[:200], y[:200])
    np.testing.assert_allclose(other, first[:200])
    shifted = LinearRegression().fit(X[:400], y[:400] + 5.0)
    np.testing.assert_allclose(
        attack.infer_proba(shifted, X[:400], y[:400]),
        fresh.infer_proba(shifted, X[:400], y[:400]),
    )
    assert not np.allclose(attack.infer_proba(shifted, X[:400], y[:400]), first)
