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
    advantage = attack.score(model, data.data, data.target, metric="advantage")
    assert advantage == pytest.approx(0.0, abs=1e-12)


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
    assert attack.score(model, data.data, data.target, metric="roc_auc") > 0.9
    assert attack.score(model, data.data, data.target, metric="f1") > 0.8
    assert attack.score(model, data.data, data.target, metric="advantage") > 0.5


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


# -- non-finite inputs, extreme scales, degenerate data (issue 15) ------------


@pytest.fixture(scope="module")
def leaky_regression():
    data = make_sensitive_regression(
        n_samples=300, sensitive_effect=3.0, noise=0.5, random_state=0
    )
    model = LinearRegression().fit(data.data, data.target)
    return data, model


def test_nan_in_the_background_target_is_refused(leaky_regression):
    # One NaN in y used to turn every posterior into NaN: prior guessing, and an
    # audit that reports no leakage for a model that leaks.
    data, model = leaky_regression
    y = data.target.copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match="y must not contain NaN"):
        MAPAttributeInference(data.sensitive_features).fit(data.data, y)
    attack = MAPAttributeInference(data.sensitive_features).fit(data.data, data.target)
    with pytest.raises(ValueError, match="y must not contain NaN"):
        attack.score(model, data.data, y)
    y[3] = np.inf
    with pytest.raises(ValueError, match="y must not contain NaN or infinity"):
        attack.infer(model, data.data, y)


class ConstantRegressor(RegressorMixin, BaseEstimator):
    def __init__(self, value=np.nan):
        self.value = value

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.full(len(X), self.value)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_model_that_predicts_non_finite_values_is_an_error(leaky_regression, value):
    data, _ = leaky_regression
    attack = MAPAttributeInference(data.sensitive_features).fit(data.data, data.target)
    with pytest.raises(ValueError, match="attacked model's predict .*NaN or infinite"):
        attack.score(ConstantRegressor(value), data.data, data.target)


@pytest.mark.parametrize("error_scale", [1e-300, 1e-10, None])
def test_a_tiny_error_scale_still_recovers_the_sensitive_value(
    leaky_regression, error_scale
):
    data, model = leaky_regression
    attack = MAPAttributeInference(
        data.sensitive_features, error_scale=error_scale
    ).fit(data.data, data.target)
    proba = attack.infer_proba(model, data.data, data.target)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert attack.score(model, data.data, data.target) > 0.9


def test_targets_near_the_float64_limit_still_leak(leaky_regression):
    # Squaring residuals of 1e300 overflowed: an infinite scale, the prior back.
    data, _ = leaky_regression
    y = data.target * 1e300
    model = LinearRegression().fit(data.data, y)
    attack = MAPAttributeInference(data.sensitive_features).fit(data.data, y)
    assert np.isfinite(attack._error_scale(model))
    assert attack.score(model, data.data, y) > 0.9


def test_a_model_without_residuals_guesses_the_nearest_prediction(hand):
    X, y, model = hand  # HandModel reproduces y exactly: residual scale 0
    attack = MAPAttributeInference([1, 2, 3]).fit(X, y)
    assert attack._error_scale(model) == 0.0
    proba = attack.infer_proba(model, X, y)
    np.testing.assert_array_equal(proba, np.eye(3)[[0, 1, 2, 0]])


def test_a_candidate_with_prior_zero_is_never_guessed(hand):
    X, y, model = hand
    attack = MAPAttributeInference(
        [1, 2, 3], prior=[0.5, 0.5, 0.0], error_scale=1e-300
    ).fit(X, y)
    proba = attack.infer_proba(model, X, y)
    assert np.all(np.isfinite(proba)) and np.all(proba[:, 2] == 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # row 2 has genotype 2 (y = 10): the nearest possible candidate is 1 (y = 5)
    assert attack.infer(model, X, y)[2] == 1


@pytest.mark.parametrize("error_scale", [0, -1.0, np.nan, np.inf, True, "1"])
def test_invalid_error_scale_is_refused(hand, error_scale):
    X, y, _ = hand
    with pytest.raises(ValueError, match="error_scale must be a positive finite"):
        MAPAttributeInference([1, 2, 3], error_scale=error_scale).fit(X, y)


def test_a_one_hot_group_that_uses_a_single_value_is_refused(hand):
    X, y, _ = hand
    X = X.copy()
    X[:, 1:4] = [1, 0, 0]  # only the first genotype is ever hot
    with pytest.raises(ValueError, match=r"\[1, 2, 3\] takes a single value"):
        MAPAttributeInference([1, 2, 3]).fit(X, y)
    with pytest.raises(ValueError, match="takes a single value"):
        MAPAttributeInference([1, 2, 3], prior=[0.4, 0.3, 0.3]).fit(X, y)


def test_unknown_sensitive_values_are_ignored_by_infer_but_not_by_score(
    leaky_regression,
):
    data, model = leaky_regression
    attack = MAPAttributeInference(data.sensitive_features).fit(data.data, data.target)
    unknown = data.data.copy()
    unknown[:, data.sensitive_features] = np.nan
    np.testing.assert_array_equal(
        attack.infer(model, unknown, data.target),
        attack.infer(model, data.data, data.target),
    )
    with pytest.raises(ValueError, match="X's one-hot sensitive columns"):
        attack.score(model, unknown, data.target)


def test_roc_auc_needs_two_values_and_averages_over_those_present(leaky_regression):
    data, model = leaky_regression
    attack = MAPAttributeInference(data.sensitive_features).fit(data.data, data.target)
    rows = np.flatnonzero(data.sensitive == 0)[:10]
    with pytest.raises(ValueError, match="roc_auc.* at least two"):
        attack.score(model, data.data[rows], data.target[rows], metric="roc_auc")
    # A value absent from the scored rows has no AUC; the others are averaged.
    rows = np.flatnonzero(data.sensitive != 2)
    auc = attack.score(model, data.data[rows], data.target[rows], metric="roc_auc")
    proba = attack.infer_proba(model, data.data[rows], data.target[rows])
    from sklearn.metrics import roc_auc_score

    truth = data.sensitive[rows]
    expected = np.mean([roc_auc_score(truth == v, proba[:, v]) for v in (0, 1)])
    assert np.isfinite(auc) and auc == pytest.approx(expected)


class UnknownLabelClassifier(DecisionTreeClassifier):
    def predict(self, X):
        return np.full(len(X), 7)


def test_classifier_outputs_and_labels_are_checked_against_classes():
    X, y = make_sensitive_classification(
        n_samples=300, n_features=3, random_state=0, return_X_y=True
    )
    attack = MAPAttributeInference(3).fit(X, y)
    model = UnknownLabelClassifier(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="predict holds labels .* never saw: \\[7\\]"):
        attack.score(model, X, y)
    labels = np.array(["no", "yes"])[y]
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, labels)
    with pytest.raises(ValueError, match="y holds labels .* never saw"):
        MAPAttributeInference(3).fit(X, labels).score(tree, X, y)
    for mode in ["naive", "counts"]:
        string_attack = MAPAttributeInference(3, mode=mode).fit(X, labels)
        int_attack = MAPAttributeInference(3, mode=mode).fit(X, y)
        int_tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
        assert string_attack.score(tree, X, labels) == int_attack.score(int_tree, X, y)


def test_bad_candidate_values_and_empty_rows_name_the_argument(hand):
    X, y, model = hand
    with pytest.raises(ValueError, match="values must be 1-D"):
        MAPAttributeInference(0, values=np.nan).fit(X, y)
    with pytest.raises(ValueError, match="values must hold at least two"):
        MAPAttributeInference(0, values=[0.0]).fit(X, y)
    with pytest.raises(ValueError, match="X's sensitive feature holds values that"):
        MAPAttributeInference(0, values=[0.0, 1.0]).fit(X, y)
    attack = MAPAttributeInference([1, 2, 3]).fit(X, y)
    with pytest.raises(ValueError, match="0 sample"):
        attack.score(model, X[:0], y[:0])


def test_the_two_advantages_by_hand():
    from skmid.attacks._base import ATTRIBUTE_INFERENCE_METRICS

    truth = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])  # P(v) = 0.6, 0.4
    guess = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 0])  # P(guess) = 0.4, 0.6
    proba = np.eye(2)[guess]
    accuracy = 0.6
    chance = ATTRIBUTE_INFERENCE_METRICS["advantage"].function
    prior = ATTRIBUTE_INFERENCE_METRICS["advantage_over_prior"].function
    # chance agreement 0.6 * 0.4 + 0.4 * 0.6; the majority guess scores 0.6
    assert chance(truth, guess, proba) == pytest.approx(accuracy - 0.48)
    assert prior(truth, guess, proba) == pytest.approx(0.0)
    constant = np.zeros(10, dtype=int)
    assert chance(truth, constant, np.eye(2)[constant]) == pytest.approx(0.0)
    wrong = np.ones(10, dtype=int)  # always the minority value
    assert chance(truth, wrong, np.eye(2)[wrong]) == pytest.approx(0.0)
    assert prior(truth, wrong, np.eye(2)[wrong]) == pytest.approx(0.4 - 0.6)
    assert MAPAttributeInference.metric_range("advantage_over_prior") == (-1.0, 1.0)
