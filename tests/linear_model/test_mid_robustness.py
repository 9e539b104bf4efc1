"""MIDLinearRegression at extreme scales, hyperparameters and weights."""

import sys
import textwrap
import time

import numpy as np
import pytest

from skmid.datasets import make_sensitive_regression
from skmid.linear_model import MIDLinearRegression
from skmid.linear_model._mid_binned import MAX_GRID_POINTS
from tests._subprocess import interrupt_script


@pytest.fixture(scope="module")
def data():
    return make_sensitive_regression(n_samples=200, random_state=0, return_X_y=True)


def _relative_gap(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("approximation", ["exact", "binned"])
@pytest.mark.parametrize("lam", [0.5, 5.0])
@pytest.mark.parametrize("factor", [1e160, 1e-160])
def test_rescaling_X_leaves_predictions_unchanged(data, approximation, lam, factor):
    X, y = data
    model = MIDLinearRegression(lam=lam, approximation=approximation)
    reference = model.fit(X, y)
    expected, penalty = reference.predict(X), reference.mi_penalty_
    assert penalty < MIDLinearRegression(lam=0.0).fit(X, y).mi_penalty_ - 0.05
    scaled = MIDLinearRegression(lam=lam, approximation=approximation)
    scaled.fit(X * factor, y)
    assert _relative_gap(scaled.predict(X * factor), expected) < 1e-6
    assert scaled.mi_penalty_ == pytest.approx(penalty, rel=1e-6)


@pytest.mark.parametrize("factor", [1e150, 1e-150])
def test_rescaling_y_with_lam_times_its_square_rescales_predictions(data, factor):
    X, y = data
    expected = MIDLinearRegression(lam=3.0).fit(X, y).predict(X)
    scaled = MIDLinearRegression(lam=3.0 * factor**2).fit(X, y * factor)
    assert _relative_gap(scaled.predict(X) / factor, expected) < 1e-6


def test_columns_near_the_float_limits(data):
    X, y = data
    expected = MIDLinearRegression(lam=1.0).fit(X, y).predict(X)
    X = X.copy()
    X[:, 0] = X[:, 0] * 1e300 + 1.5e307  # huge offset and spread
    X[:, 1] *= 1e-300
    model = MIDLinearRegression(lam=1.0).fit(X, y)
    assert _relative_gap(model.predict(X), expected) < 1e-5


@pytest.mark.parametrize("lam", [1e300, np.finfo(np.float64).max])
def test_huge_lam_predicts_the_weighted_mean(data, lam):
    X, y = data
    weights = np.linspace(1.0, 3.0, len(y))
    model = MIDLinearRegression(lam=lam).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(
        model.predict(X), np.average(y, weights=weights), rtol=1e-5
    )


@pytest.mark.parametrize("approximation", ["exact", "binned"])
def test_tiny_target_gives_the_infinite_lam_limit(data, approximation):
    # lam / var(y) overflows: the penalty alone is minimised
    X, y = data
    model = MIDLinearRegression(lam=1.0, approximation=approximation)
    predictions = model.fit(X, y * 1e-200).predict(X) * 1e200
    np.testing.assert_allclose(predictions, y.mean(), rtol=1e-5)


@pytest.mark.parametrize("sigma", [1e-300, 1e300])
def test_extreme_sigma_gives_least_squares(data, sigma):
    # a vanishing bandwidth makes the penalty flat (no two predictions
    # interact), a huge one makes it constant: either way the fit is OLS
    X, y = data
    ols = MIDLinearRegression(lam=0.0).fit(X, y)
    model = MIDLinearRegression(lam=1.0, sigma=sigma, approximation="exact")
    model.fit(X, y)
    assert _relative_gap(model.predict(X), ols.predict(X)) < 1e-6
    # every prediction alone in its component, or all in one
    entropy_of_weights = np.log(len(y)) if sigma < 1 else 0.0
    assert model.mi_penalty_ == pytest.approx(
        0.5 * np.log(2 * np.pi) + np.log(sigma) + entropy_of_weights, abs=1e-6
    )


def test_sigma_too_small_for_the_predictions_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="sigma"):
        MIDLinearRegression(lam=1.0, sigma=1e-320).fit(X, y)


def test_sigma_too_large_for_the_target_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="sigma"):
        MIDLinearRegression(lam=1.0, sigma=1e300).fit(X, y * 1e-100)


@pytest.mark.parametrize(
    "params", [{"grid_step": 1e-12}, {"sigma": 1e-10}, {"grid_step": 1e-300}]
)
def test_binned_grid_is_bounded(data, params):
    X, y = data
    model = MIDLinearRegression(lam=1.0, approximation="binned", **params)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"grid_step=.* grid of [0-9.e+]+ points"):
        model.fit(X, y)
    assert time.perf_counter() - start < 5


def test_binned_grid_near_the_cap_is_accepted(data):
    X, y = data
    reference = MIDLinearRegression(lam=1.0, approximation="binned").fit(X, y)
    span = np.ptp(reference.predict(X)) / reference.sigma_
    grid_step = 16 * span / MAX_GRID_POINTS
    model = MIDLinearRegression(lam=1.0, approximation="binned", grid_step=grid_step)
    assert model.fit(X, y).mi_penalty_ == pytest.approx(reference.mi_penalty_, rel=1e-2)


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (np.zeros(200), "sample_weight"),
        (-np.ones(200), "sample_weight"),
        (np.full(200, np.nan), "sample_weight"),
        (np.r_[np.inf, np.ones(199)], "sample_weight"),
    ],
)
def test_invalid_sample_weight_is_refused(data, sample_weight, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        MIDLinearRegression(lam=1.0).fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("scale", [1e-300, 1e300, 0.85e308])
def test_sample_weight_scale_does_not_overflow(data, scale):
    X, y = data
    weights = np.linspace(1.0, 2.0, len(y))  # times 0.85e308: the largest float
    reference = MIDLinearRegression(lam=1.0, sigma=0.5).fit(X, y, sample_weight=weights)
    model = MIDLinearRegression(lam=1.0, sigma=0.5)
    model.fit(X, y, sample_weight=weights * scale)
    assert _relative_gap(model.predict(X), reference.predict(X)) < 1e-6


def test_one_huge_sample_weight_is_dominated_by_that_row(data):
    X, y = data
    weights = np.ones(len(y))
    weights[0] = 1e300
    model = MIDLinearRegression(lam=1.0, approximation="exact")
    model.fit(X, y, sample_weight=weights)
    assert model.predict(X[:1])[0] == pytest.approx(y[0], rel=1e-6)
    assert np.all(np.isfinite(model.predict(X)))
    assert np.isfinite(model.mi_penalty_) and model.sigma_ > 0
    # Silverman's bandwidth for a total weight of 1e300 is ~1e-60 of the
    # spread: far too fine a grid for the binned penalty
    with pytest.raises(ValueError, match="grid_step"):
        MIDLinearRegression(lam=1.0, approximation="binned").fit(
            X, y, sample_weight=weights
        )


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lam": np.nan}, "lam"),
        ({"lam": np.inf}, "lam"),
        ({"lam": 10**400}, "lam"),
        ({"sigma": np.nan}, "sigma"),
        ({"sigma": np.inf}, "sigma"),
        ({"sigma": 10**400}, "sigma"),
        ({"tol": -1.0}, "tol"),
        ({"tol": np.nan}, "tol"),
        ({"grid_step": 0.0}, "grid_step"),
        ({"grid_step": np.nan}, "grid_step"),
    ],
)
def test_invalid_hyperparameters_are_refused_by_name(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        MIDLinearRegression(**params).fit(X, y)


@pytest.mark.parametrize(
    "y_bad", [np.array(["a", "b"] * 100), np.array([1.0 + 1j] * 200), ["x"] * 200]
)
def test_non_numeric_target_is_refused_by_name(data, y_bad):
    X, _ = data
    with pytest.raises(ValueError, match=r"\by\b"):
        MIDLinearRegression().fit(X, y_bad)


def test_numeric_strings_as_target_are_numbers(data):
    X, y = data
    as_text = MIDLinearRegression(lam=1.0).fit(X, y.astype(str))
    np.testing.assert_allclose(
        as_text.coef_, MIDLinearRegression(lam=1.0).fit(X, y).coef_, rtol=1e-10
    )


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # sklearn's check
def test_overflowing_prediction_is_refused_by_name(data):
    X, y = data
    model = MIDLinearRegression().fit(X, y)
    assert np.abs(model.coef_).sum() > 2  # so that the sum below overflows
    with pytest.raises(ValueError, match=r"\bX\b"):
        model.predict(1e308 * np.sign(model.coef_)[None, :])


def test_one_sample_and_constant_data_give_finite_fits(data):
    X, y = data
    one = MIDLinearRegression(lam=1.0).fit(X[:1], y[:1])
    np.testing.assert_allclose(one.predict(X), y[0])
    constant = MIDLinearRegression(lam=1.0).fit(X, np.full(len(y), 4.0))
    np.testing.assert_allclose(constant.predict(X), 4.0)
    assert constant.sigma_ == 1.0
    assert np.isfinite(constant.mi_penalty_)


_LONG_FIT = textwrap.dedent(
    """
    import numpy as np
    from skmid.linear_model import MIDLinearRegression
    from skmid.linear_model._mid import mixture_entropy

    mixture_entropy(np.zeros(2000), np.full(2000, 1 / 2000), 1.0)  # load kernels
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2_000_000, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=2_000_000)
    print("fitting", flush=True)
    MIDLinearRegression(lam=1.0, approximation="exact").fit(X, y)
    print("finished", flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGINT")
def test_long_exact_fit_honours_keyboard_interrupt():
    # one evaluation of the exact penalty at N = 2e6 takes about a second on
    # two cores, the fit a minute; its kernel calls return to Python between
    # blocks of tile rows
    result = interrupt_script(_LONG_FIT)
    assert "finished" not in result.stdout
    assert result.returncode != 0 and "KeyboardInterrupt" in result.stderr
    assert result.latency < 3.0
