import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from skmid.datasets import make_sensitive_classification, make_sensitive_regression


def test_regression_layout_and_model():
    b = make_sensitive_regression(
        n_samples=5000, n_features=4, sensitive_effect=2.0, noise=0.1, random_state=0
    )
    assert b.data.shape == (5000, 7)
    assert b.sensitive_features == [4, 5, 6]
    np.testing.assert_array_equal(b.data[:, 4:].argmax(axis=1), b.sensitive)
    np.testing.assert_allclose(b.sensitive_effects, [-2.0, 0.0, 2.0])
    model = LinearRegression().fit(b.data, b.target)
    np.testing.assert_allclose(model.coef_[:4], b.coef, atol=0.01)
    effects = model.coef_[4:] - model.coef_[4:].mean()
    np.testing.assert_allclose(effects, b.sensitive_effects, atol=0.02)


def test_regression_without_effect_is_independent_of_sensitive():
    b = make_sensitive_regression(n_samples=20000, sensitive_effect=0.0, random_state=1)
    means = [b.target[b.sensitive == v].mean() for v in range(3)]
    assert np.ptp(means) < 0.1


def test_regression_is_reproducible_and_validates():
    a = make_sensitive_regression(n_samples=50, random_state=3, return_X_y=True)
    b = make_sensitive_regression(n_samples=50, random_state=3, return_X_y=True)
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="n_sensitive_values"):
        make_sensitive_regression(n_sensitive_values=1)
    with pytest.raises(ValueError, match="sensitive_prior"):
        make_sensitive_regression(sensitive_prior=[0.5, 0.6, -0.1])
    with pytest.raises(ValueError, match="noise"):
        make_sensitive_regression(noise=-1)


def test_classification_layout_and_effect():
    X, y = make_sensitive_classification(
        n_samples=4000,
        n_classes=2,
        sensitive_effect=3.0,
        random_state=0,
        return_X_y=True,
    )
    assert X.shape == (4000, 6) and X.dtype == np.int64
    assert set(np.unique(X[:, :-1])) == {0, 1, 2}
    assert np.bincount(y).min() >= 1990  # quantile cuts give balanced classes
    strong = abs(y[X[:, -1] == 1].mean() - y[X[:, -1] == 0].mean())
    X0, y0 = make_sensitive_classification(
        n_samples=4000, sensitive_effect=0.0, random_state=0, return_X_y=True
    )
    none = abs(y0[X0[:, -1] == 1].mean() - y0[X0[:, -1] == 0].mean())
    assert strong > 0.5 and none < 0.05


def test_classification_prior_and_validation():
    b = make_sensitive_classification(
        n_samples=10000,
        n_sensitive_values=3,
        sensitive_prior=[0.6, 0.3, 0.1],
        random_state=0,
    )
    assert b.sensitive_features == 5
    freq = np.bincount(b.data[:, b.sensitive_features]) / 10000
    np.testing.assert_allclose(freq, [0.6, 0.3, 0.1], atol=0.02)
    with pytest.raises(ValueError, match="n_classes"):
        make_sensitive_classification(n_classes=1)


@pytest.mark.parametrize(
    "make", [make_sensitive_regression, make_sensitive_classification]
)
@pytest.mark.parametrize(
    "params, name",
    [
        ({"noise": np.nan}, "noise"),
        ({"noise": np.inf}, "noise"),
        ({"sensitive_effect": np.nan}, "sensitive_effect"),
        ({"sensitive_effect": -np.inf}, "sensitive_effect"),
        ({"sensitive_prior": [np.nan, 0.5]}, "sensitive_prior"),
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": 2.5}, "n_samples"),
        ({"n_samples": 10**12}, "n_samples"),
        ({"n_features": -1}, "n_features"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_generators_reject_non_finite_and_invalid_parameters(make, params, name):
    params = {"n_sensitive_values": 2, **params}
    with pytest.raises(ValueError, match=name):
        make(**params)


@pytest.mark.parametrize(
    "make", [make_sensitive_regression, make_sensitive_classification]
)
@pytest.mark.parametrize(
    "prior, match",
    [
        ([0.5, 0.5], "3 entries; got shape \\(2,\\)"),
        ([[0.2, 0.3, 0.5]], "3 entries; got shape \\(1, 3\\)"),
        ([0.5, 0.6, -0.1], "sensitive_prior .*negative entry"),
        ([0.2, 0.2, 0.2], "sensitive_prior .*sums to 0.6"),
        ([0.2, 0.3, np.inf], "sensitive_prior"),
        (["a", "b", "c"], "sensitive_prior"),
    ],
)
def test_sensitive_prior_must_be_a_probability_vector(make, prior, match):
    with pytest.raises(ValueError, match=match):
        make(n_sensitive_values=3, sensitive_prior=prior)


@pytest.mark.parametrize(
    "make", [make_sensitive_regression, make_sensitive_classification]
)
def test_sensitive_prior_within_tolerance_is_renormalised(make):
    # Sums to 1 within the validation's tolerance but not NumPy's: still drawn.
    prior = [0.2, 0.3, 0.5 + 5e-7]
    X, _ = make(
        n_samples=2000,
        n_sensitive_values=3,
        sensitive_prior=prior,
        return_X_y=True,
        random_state=0,
    )
    assert X.shape[0] == 2000
