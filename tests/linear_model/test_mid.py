import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmid.datasets import make_sensitive_regression
from skmid.linear_model import MIDLinearRegression


@pytest.fixture(scope="module")
def data():
    return make_sensitive_regression(
        n_samples=300, n_features=4, sensitive_effect=2.0, random_state=0
    )


def _assert_coef_close(model, reference):
    scale = np.abs(reference.coef_).max()
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-6 * scale)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lam_zero_is_linear_regression(data, fit_intercept):
    X = data.data[:, :-1]  # full rank: drop one column of the one-hot group
    mid = MIDLinearRegression(lam=0.0, fit_intercept=fit_intercept).fit(X, data.target)
    ols = LinearRegression(fit_intercept=fit_intercept).fit(X, data.target)
    _assert_coef_close(mid, ols)
    assert mid.n_iter_ == 0


def test_lam_zero_is_linear_regression_with_sample_weight(data):
    X = data.data[:, :-1]
    weights = np.random.default_rng(0).uniform(0.1, 3.0, size=len(data.target))
    mid = MIDLinearRegression(lam=0.0).fit(X, data.target, sample_weight=weights)
    ols = LinearRegression().fit(X, data.target, sample_weight=weights)
    _assert_coef_close(mid, ols)


def test_rank_deficient_design_gets_least_squares_predictions(data):
    # complete one-hot group + intercept: coefficients are not identifiable,
    # MIDLinearRegression returns the minimum-norm least-squares solution
    mid = MIDLinearRegression(lam=0.0).fit(data.data, data.target)
    ols = LinearRegression().fit(data.data[:, :-1], data.target)
    np.testing.assert_allclose(mid.predict(data.data), ols.predict(data.data[:, :-1]))
    assert np.abs(mid.coef_).max() < 10


def test_larger_lam_lowers_entropy_and_raises_training_mse(data):
    lams = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
    penalties, mses = [], []
    for lam in lams:
        model = MIDLinearRegression(lam=lam).fit(data.data, data.target)
        penalties.append(model.mi_penalty_)
        mses.append(np.mean((model.predict(data.data) - data.target) ** 2))
    assert np.all(np.diff(penalties) <= 1e-9)
    assert np.all(np.diff(mses) >= -1e-9)
    assert penalties[-1] < penalties[0] - 0.5
    # at a large lam every prediction sits near the mean: the minimum entropy
    sigma = MIDLinearRegression(lam=1e6).fit(data.data, data.target).sigma_
    large = MIDLinearRegression(lam=1e6).fit(data.data, data.target)
    assert large.mi_penalty_ == pytest.approx(
        0.5 * np.log(2 * np.pi * sigma**2), abs=1e-3
    )
    assert large.intercept_ == pytest.approx(data.target.mean(), abs=0.05)


def test_sigma_auto_is_fixed_before_optimisation(data):
    sigmas = {
        MIDLinearRegression(lam=lam).fit(data.data, data.target).sigma_
        for lam in [0.0, 1.0, 100.0]
    }
    assert len(sigmas) == 1
    assert (
        MIDLinearRegression(lam=1.0, sigma=0.3).fit(data.data, data.target).sigma_
        == 0.3
    )


def test_integer_sample_weight_equals_repeated_rows(data):
    X, y = data.data[:60], data.target[:60]
    weights = np.ones(60)
    weights[:10] = 3
    weighted = MIDLinearRegression(lam=2.0, sigma=0.5).fit(X, y, sample_weight=weights)
    X_rep = np.vstack([X] + [X[:10]] * 2)
    y_rep = np.concatenate([y] + [y[:10]] * 2)
    repeated = MIDLinearRegression(lam=2.0, sigma=0.5).fit(X_rep, y_rep)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-5, atol=1e-7)
    assert weighted.mi_penalty_ == pytest.approx(repeated.mi_penalty_, rel=1e-9)


def test_binned_fit_matches_exact_fit():
    data = make_sensitive_regression(n_samples=1500, random_state=1)
    exact = MIDLinearRegression(lam=1.0, approximation="exact").fit(
        data.data, data.target
    )
    binned = MIDLinearRegression(lam=1.0, approximation="binned").fit(
        data.data, data.target
    )
    np.testing.assert_allclose(binned.coef_, exact.coef_, rtol=1e-2, atol=1e-3)
    assert binned.mi_penalty_ == pytest.approx(exact.mi_penalty_, rel=1e-3)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lam": -1.0}, "lam"),
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -2.0}, "sigma"),
        ({"sigma": "silverman"}, "sigma"),
        ({"approximation": "fast"}, "approximation"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_invalid_parameters_raise_at_fit(data, params, match):
    model = MIDLinearRegression(**params)  # construction never validates
    with pytest.raises(ValueError, match=match):
        model.fit(data.data, data.target)


def test_nan_input_is_rejected(data):
    X = data.data.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MIDLinearRegression().fit(X, data.target)


def test_feature_names_and_grid_search_in_pipeline(data):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(data.data, columns=data.feature_names)
    model = MIDLinearRegression(lam=0.5).fit(frame, data.target)
    np.testing.assert_array_equal(model.feature_names_in_, data.feature_names)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), MIDLinearRegression()),
        {"midlinearregression__lam": [0.0, 1.0, 10.0]},
        scoring="neg_mean_squared_error",
        cv=3,
    ).fit(frame, data.target)
    assert search.best_params_["midlinearregression__lam"] == 0.0


@pytest.mark.parametrize("lam", [0.0, 2.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_X_gives_the_dense_fit(data, lam, fit_intercept):
    from scipy import sparse

    X = data.data.copy()
    X[X < 0.3] = 0.0
    params = {"lam": lam, "fit_intercept": fit_intercept, "tol": 1e-10}
    dense = MIDLinearRegression(**params).fit(X, data.target)
    sparse_fit = MIDLinearRegression(**params).fit(sparse.csr_matrix(X), data.target)
    np.testing.assert_allclose(
        sparse_fit.predict(sparse.csr_matrix(X)), dense.predict(X), rtol=0, atol=1e-4
    )
    assert sparse_fit.mi_penalty_ == pytest.approx(dense.mi_penalty_, abs=1e-4)


def test_multi_target_is_one_penalised_fit_per_target(data):
    X, y = data.data, data.target
    Y = np.c_[y, -2.0 * y + 1.0]
    both = MIDLinearRegression(lam=1.0).fit(X, Y)
    singles = [MIDLinearRegression(lam=1.0).fit(X, Y[:, k]) for k in range(2)]
    assert both.coef_.shape == (2, X.shape[1]) and both.sigma_.shape == (2,)
    for k, single in enumerate(singles):
        np.testing.assert_allclose(both.coef_[k], single.coef_, rtol=1e-7, atol=1e-9)
        assert both.intercept_[k] == pytest.approx(single.intercept_)
    assert both.mi_penalty_ == pytest.approx(sum(m.mi_penalty_ for m in singles))
    np.testing.assert_allclose(
        both.predict(X), np.c_[singles[0].predict(X), singles[1].predict(X)]
    )


@pytest.mark.parametrize("lam", [0.0, 1.0])
def test_positive_keeps_coefficients_non_negative(lam):
    from scipy.optimize import nnls

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(size=200)
    model = MIDLinearRegression(lam=lam, positive=True, fit_intercept=False).fit(X, y)
    assert np.all(model.coef_ >= 0.0)
    if lam == 0.0:  # non-negative least squares
        np.testing.assert_allclose(model.coef_, nnls(X, y)[0], atol=1e-8)
    else:
        free = MIDLinearRegression(lam=lam, fit_intercept=False).fit(X, y)
        assert np.any(free.coef_ < 0)
    with pytest.raises(TypeError, match="dense data is required"):
        from scipy import sparse

        model.fit(sparse.csr_matrix(X), y)
