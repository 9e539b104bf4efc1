import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier

from skmid.attacks import MAPAttributeInference, make_attack_scorer
from skmid.datasets import make_sensitive_classification, make_sensitive_regression
from skmid.linear_model import MIDLinearRegression


class HandModel(RegressorMixin, BaseEstimator):
    """y = 5 * (index of the hot sensitive column) + x0; counts predict calls."""

    def fit(self, X, y):
        self.calls_ = 0
        return self

    def predict(self, X):
        self.calls_ += 1
        X = np.asarray(X, dtype=float)
        return 5.0 * X[:, 1:4].argmax(axis=1) + X[:, 0]


@pytest.fixture
def hand():
    X = np.array([[0.0, 1, 0, 0], [1.0, 0, 1, 0], [0.0, 0, 0, 1], [2.0, 1, 0, 0]])
    y = np.array([0.0, 6.0, 10.0, 2.0])
    return X, y, HandModel().fit(X, y)


def test_known_posterior_by_hand(hand):
    X, y, model = hand
    attack = MAPAttributeInference(
        [1, 2, 3], prior=[0.5, 0.25, 0.25], error_scale=5.0
    ).fit(X, y)
    # row 1: x0 = 1, y = 6: predictions 1, 6, 11 for the three genotypes
    loglik = -0.5 * (np.array([6 - 1, 6 - 6, 6 - 11]) / 5.0) ** 2
    posterior = np.exp(loglik) * [0.5, 0.25, 0.25]
    posterior /= posterior.sum()
    proba = attack.infer_proba(model, X[1:2], y[1:2])
    np.testing.assert_allclose(proba[0], posterior, rtol=1e-12)
    assert attack.infer(model, X[1:2], y[1:2])[0] == posterior.argmax()


def test_all_candidates_in_one_batch(hand):
    X, y, model = hand
    attack = MAPAttributeInference([1, 2, 3], error_scale=1.0).fit(X, y)
    model.calls_ = 0
    attack.infer_proba(model, X, y)
    assert model.calls_ == 1


def test_error_scale_estimated_from_the_attacked_model(hand):
    X, y, model = hand
    y = y + [0.5, -0.5, 1.0, 0.0]
    attack = MAPAttributeInference([1, 2, 3]).fit(X, y)
    residuals = y - model.predict(X)
    assert attack._error_scale(model) == pytest.approx(np.sqrt(np.mean(residuals**2)))


def test_prior_from_background_data(hand):
    X, y, _ = hand
    attack = MAPAttributeInference([1, 2, 3]).fit(X, y)
    np.testing.assert_allclose(attack.prior_, [0.5, 0.25, 0.25])
    np.testing.assert_array_equal(attack.values_, [0, 1, 2])


def test_constant_model_gives_the_prior_and_zero_advantage():
    data = make_sensitive_regression(n_samples=400, random_state=0)
    model = MIDLinearRegression(lam=1e8).fit(data.data, data.target)
    attack = MAPAttributeInference(data.sensitive_features).fit(data.data, data.target)
    proba = attack.infer_proba(model, data.data, data.target)
    np.testing.assert_allclose(proba, np.tile(attack.prior_, (400, 1)), atol=1e-3)
    assert attack.score(model, data.data, data.target, "advantage") == pytest.approx(
        0.0, abs=1e-12
    )


def test_strong_leak_is_found_and_metrics_are_consistent():
    data = make_sensitive_regression(
        n_samples=600, sensitive_effect=3.0, noise=0.5, random_state=0
    )
    model = LinearRegression().fit(data.data, data.target)
    attack = MAPAttributeInference(data.sensitive_features).fit(data.data, data.target)
    accuracy = attack.score(model, data.data, data.target)
    guesses = attack.infer(model, data.data, data.target)
    assert accuracy == pytest.approx(np.mean(guesses == data.sensitive))
    assert accuracy > 0.85
    assert attack.score(model, data.data, data.target, "roc_auc") > 0.9
    assert attack.score(model, data.data, data.target, "f1") > 0.8
    assert attack.score(model, data.data, data.target, "advantage") > 0.5


def test_single_categorical_column_with_strings_in_a_pipeline():
    pd = pytest.importorskip("pandas")
    data = make_sensitive_regression(
        n_samples=600,
        n_sensitive_values=2,
        sensitive_effect=3.0,
        noise=0.5,
        random_state=1,
    )
    frame = pd.DataFrame(data.data[:, :5], columns=[f"x{j}" for j in range(5)])
    frame["smoker"] = np.where(data.sensitive == 1, "yes", "no")
    model = make_pipeline(
        ColumnTransformer(
            [("onehot", OneHotEncoder(), ["smoker"])], remainder="passthrough"
        ),
        LinearRegression(),
    ).fit(frame, data.target)
    attack = MAPAttributeInference("smoker").fit(frame, data.target)
    np.testing.assert_array_equal(attack.values_, ["no", "yes"])
    guesses = attack.infer(model, frame, data.target)
    assert set(guesses) <= {"no", "yes"}
    assert np.mean(guesses == frame["smoker"].to_numpy()) > 0.85
    # the caller's frame is left untouched
    assert set(frame["smoker"]) == {"no", "yes"}


def test_naive_mode_on_a_classifier():
    X, y = make_sensitive_classification(
        n_samples=3000,
        n_features=3,
        sensitive_effect=3.0,
        noise=0.3,
        random_state=0,
        return_X_y=True,
    )
    model = DecisionTreeClassifier(random_state=0).fit(X[:2000], y[:2000])
    attack = MAPAttributeInference(3).fit(X[:2000], y[:2000])
    accuracy = attack.score(model, X[2000:], y[2000:])
    assert accuracy > max(attack.prior_) + 0.1
    proba = attack.infer_proba(model, X[2000:], y[2000:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_grid_search_reports_attack_success_per_lambda():
    data = make_sensitive_regression(
        n_samples=400, sensitive_effect=2.0, noise=0.5, random_state=0
    )
    attack = MAPAttributeInference(data.sensitive_features).fit(data.data, data.target)
    search = GridSearchCV(
        MIDLinearRegression(),
        {"lam": [0.0, 100.0]},
        scoring={
            "mse": "neg_mean_squared_error",
            "attack": make_attack_scorer(attack, metric="accuracy"),
        },
        refit="mse",
        cv=3,
    ).fit(data.data, data.target)
    attack_scores = search.cv_results_["mean_test_attack"]
    assert attack_scores[0] > attack_scores[1] + 0.2
    assert search.best_params_ == {"lam": 0.0}


def test_scorer_orientation_and_repr(hand):
    X, y, _ = hand
    scorer = make_attack_scorer(MAPAttributeInference([1, 2, 3]).fit(X, y), "roc_auc")
    assert scorer.higher_is_more_leakage
    assert "roc_auc" in repr(scorer)
    with pytest.raises(ValueError, match="metric must be one of"):
        make_attack_scorer(MAPAttributeInference([1, 2, 3]), "precision")
    with pytest.raises(TypeError, match="skmid attack"):
        make_attack_scorer(LinearRegression())


def test_bad_input(hand):
    X, y, model = hand
    with pytest.raises(ValueError, match="sensitive_feature is required"):
        MAPAttributeInference().fit(X, y)
    with pytest.raises(ValueError, match="out of range"):
        MAPAttributeInference(9).fit(X, y)
    with pytest.raises(ValueError, match="no column names"):
        MAPAttributeInference("genotype").fit(X, y)
    with pytest.raises(ValueError, match="single value"):
        MAPAttributeInference(0).fit(np.zeros((4, 2)), y)
    with pytest.raises(ValueError, match="exactly one 1"):
        MAPAttributeInference([0, 1]).fit(X, y)
    with pytest.raises(ValueError, match="prior"):
        MAPAttributeInference([1, 2, 3], prior=[0.5, 0.6, 0.1]).fit(X, y)
    attack = MAPAttributeInference([1, 2, 3]).fit(X, y)
    with pytest.raises(ValueError, match="has 3 columns"):
        attack.infer(model, X[:, :3], y)
    with pytest.raises(ValueError, match="must have predict"):
        attack.infer(object(), X, y)
    with pytest.raises(ValueError, match="inconsistent"):
        attack.infer(model, X, y[:2])
    with pytest.raises(ValueError, match="metric must be one of"):
        attack.score(model, X, y, metric="precision")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MAPAttributeInference([1, 2, 3]).infer(model, X, y)
