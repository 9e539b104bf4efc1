import numpy as np
import pytest

from skmid.linear_model import AdaSSPLinearRegression


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(5000, 3))
    y = np.clip(X @ [0.5, -0.3, 0.2] + 0.3 + 0.1 * rng.standard_normal(5000), -2, 2)
    return X, y


def _model(**params):
    return AdaSSPLinearRegression(bounds_X=(-1, 1), bounds_y=(-2, 2), **params)


def test_large_epsilon_approaches_least_squares(data):
    X, y = data
    model = _model(epsilon=1e5, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.coef_, [0.5, -0.3, 0.2], atol=0.02)
    assert model.intercept_ == pytest.approx(0.3, abs=0.02)


def test_smaller_epsilon_means_more_noise(data):
    X, y = data
    errors = {}
    for epsilon in [0.05, 1.0, 100.0]:
        coefs = np.array(
            [
                _model(epsilon=epsilon, random_state=seed).fit(X, y).coef_
                for seed in range(10)
            ]
        )
        errors[epsilon] = np.mean((coefs - [0.5, -0.3, 0.2]) ** 2)
    assert errors[0.05] > errors[1.0] > errors[100.0]


def test_random_state_reproducible_and_noise_varies(data):
    X, y = data
    a = _model(epsilon=0.5, random_state=3).fit(X, y).coef_
    b = _model(epsilon=0.5, random_state=3).fit(X, y).coef_
    c = _model(epsilon=0.5, random_state=4).fit(X, y).coef_
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_ridge_is_adaptive(data):
    X, y = data
    # well-conditioned, large data: the private eigenvalue bound makes no ridge
    assert _model(epsilon=10.0, random_state=0).fit(X, y).ridge_ == 0.0
    # tiny data at a small budget: the ridge takes over
    assert _model(epsilon=0.1, random_state=0).fit(X[:50], y[:50]).ridge_ > 0


def test_out_of_bounds_data_is_clipped_with_a_warning(data):
    X, y = data
    X_big = X.copy()
    X_big[:5, 0] = 7.0
    with pytest.warns(UserWarning, match="5 value.*clipped"):
        clipped = _model(epsilon=1.0, random_state=0).fit(X_big, y)
    X_clipped = X_big.copy()
    X_clipped[:5, 0] = 1.0
    reference = _model(epsilon=1.0, random_state=0).fit(X_clipped, y)
    np.testing.assert_array_equal(clipped.coef_, reference.coef_)


def test_per_feature_bounds(data):
    X, y = data
    model = AdaSSPLinearRegression(
        bounds_X=([-1, -1, -1], [1, 1, 1]), bounds_y=(-2, 2), random_state=0
    ).fit(X, y)
    assert model.coef_.shape == (3,)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"bounds_X": None, "bounds_y": (-2, 2)}, "bounds_X is required"),
        ({"bounds_X": (-1, 1), "bounds_y": None}, "bounds_y is required"),
        ({"bounds_X": (1, -1), "bounds_y": (-2, 2)}, "lower < upper"),
        ({"bounds_X": (-1, np.inf), "bounds_y": (-2, 2)}, "finite"),
        ({"bounds_X": ([-1, -1], [1, 1]), "bounds_y": (-2, 2)}, "pair"),
        ({"bounds_X": (-1, 1, 2), "bounds_y": (-2, 2)}, "pair"),
        ({"bounds_X": (-1, 1), "bounds_y": (-2, 2), "epsilon": 0}, "epsilon"),
        ({"bounds_X": (-1, 1), "bounds_y": (-2, 2), "delta": 1.0}, "delta"),
    ],
)
def test_invalid_parameters(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        AdaSSPLinearRegression(**params).fit(X, y)


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_extreme_bounds_are_rescaled_not_overflowed(data, scale):
    # AdaSSP is equivariant to rescaling X with its bounds: the same seed gives
    # the same predictions at any magnitude (without an intercept, whose column
    # of ones does not rescale)
    X, y = data
    reference = AdaSSPLinearRegression(
        bounds_X=(-1, 1), bounds_y=(-2, 2), fit_intercept=False, random_state=0
    ).fit(X, y)
    model = AdaSSPLinearRegression(
        bounds_X=(-scale, scale), bounds_y=(-2, 2), fit_intercept=False, random_state=0
    ).fit(X * scale, y)
    np.testing.assert_allclose(
        model.predict(X * scale), reference.predict(X), rtol=1e-9, atol=1e-12
    )
    assert model.ridge_ == pytest.approx(reference.ridge_, rel=1e-9)


def test_bounds_near_the_float_limit_give_finite_coefficients(data):
    X, y = data
    model = AdaSSPLinearRegression(
        bounds_X=(-1e200, 1e200), bounds_y=(-1e300, 1e300), random_state=0
    ).fit(X, y)
    assert np.all(np.isfinite(model.coef_)) and np.isfinite(model.intercept_)
    assert np.isfinite(model.ridge_)


def test_target_bounds_scale_the_coefficients(data):
    X, y = data
    reference = _model(epsilon=1.0, random_state=0).fit(X, y)
    model = AdaSSPLinearRegression(
        bounds_X=(-1, 1), bounds_y=(-2e250, 2e250), random_state=0
    ).fit(X, y * 1e250)
    np.testing.assert_allclose(model.coef_ / 1e250, reference.coef_, rtol=1e-9)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"epsilon": 1e-320}, "epsilon"),
        ({"epsilon": np.inf}, "epsilon"),
        ({"epsilon": np.nan}, "epsilon"),
        ({"epsilon": 10**400}, "epsilon"),
        ({"delta": np.nan}, "delta"),
        ({"delta": -1e-6}, "delta"),
        ({"bounds_X": (np.nan, 1)}, "bounds_X"),
        ({"bounds_y": (2, -2)}, "bounds_y"),
    ],
)
def test_extreme_privacy_parameters_are_refused_by_name(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        _model(random_state=0).set_params(**params).fit(X[:100], y[:100])


@pytest.mark.parametrize("delta", [1e-300, 5e-324])
def test_tiny_delta_and_huge_epsilon_give_finite_fits(data, delta):
    X, y = data
    noisy = _model(delta=delta, random_state=0).fit(X, y)
    assert np.all(np.isfinite(noisy.coef_)) and noisy.ridge_ >= 0
    exact = _model(epsilon=1e300, random_state=0).fit(X, y)
    np.testing.assert_allclose(exact.coef_, [0.5, -0.3, 0.2], atol=0.02)


def test_string_target_is_refused_by_name(data):
    X, _ = data
    with pytest.raises(ValueError, match=r"\by\b"):
        _model().fit(X[:3], ["low", "mid", "high"])
