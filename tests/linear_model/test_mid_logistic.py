"""Tests of MIDLogisticRegression and its penalty I(X; Y_hat)."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime, check_grad
from scipy.special import softmax
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skmid.linear_model import MIDLogisticRegression
from skmid.linear_model._mid_logistic import _Objective, mi_penalty_and_gradient
from skmid.metrics import conditional_mutual_information, output_mutual_information


def _scaled(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# -- the penalty ---------------------------------------------------------------------
@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_penalty_gradient_matches_finite_differences(n_classes):
    rng = np.random.default_rng(n_classes)
    logits = rng.normal(scale=2.0, size=(7, n_classes))
    weights = rng.uniform(0.1, 1.0, size=7)
    weights /= weights.sum()
    _, gradient = mi_penalty_and_gradient(logits, weights)
    numeric = approx_fprime(
        logits.ravel(),
        lambda z: mi_penalty_and_gradient(z.reshape(logits.shape), weights)[0],
        1e-7,
    )
    np.testing.assert_allclose(gradient.ravel(), numeric, atol=1e-6)


def test_penalty_is_the_metric_and_the_kl_form():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20, 4))
    weights = rng.uniform(size=20)
    value, _ = mi_penalty_and_gradient(logits, weights / weights.sum())
    p = softmax(logits, axis=1)
    assert value == pytest.approx(output_mutual_information(p, sample_weight=weights))
    # H(p_bar) - mean H(p_i), computed directly
    a = weights / weights.sum()
    mean = a @ p
    direct = -(mean * np.log(mean)).sum() + a @ (p * np.log(p)).sum(axis=1)
    assert value == pytest.approx(direct, rel=1e-12)


def test_penalty_known_cases():
    same = np.tile([[0.3, -1.0, 2.0]], (6, 1))
    assert mi_penalty_and_gradient(same, np.full(6, 1 / 6))[0] == pytest.approx(
        0.0, abs=1e-15
    )
    # distinct near one-hot rows, equally often over K classes: log K
    K = 4
    logits = 60.0 * np.eye(K)[np.arange(8) % K]
    value, gradient = mi_penalty_and_gradient(logits, np.full(8, 1 / 8))
    assert value == pytest.approx(np.log(K), rel=1e-10)
    # at saturation the gradient vanishes
    assert np.abs(gradient).max() < 1e-20


def test_metric_agrees_with_cmi_when_one_class():
    """With a single true label, I(X; Y_hat | Y) = I(X; Y_hat)."""
    p = softmax(np.random.default_rng(1).normal(size=(30, 3)), axis=1)
    assert output_mutual_information(p) == pytest.approx(
        conditional_mutual_information(np.zeros(30, dtype=int), p, labels=[0, 1, 2])
    )


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_objective_gradient_matches_finite_differences(n_classes, fit_intercept):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(25, 4))
    codes = np.arange(25) % n_classes
    weights = rng.uniform(0.5, 2.0, size=25)
    objective = _Objective(X, codes, n_classes, weights, 2.0, 0.7, fit_intercept)
    rows = 1 if n_classes == 2 else n_classes
    w = rng.normal(size=rows * (4 + int(fit_intercept)))
    error = check_grad(
        lambda v: objective(v)[0], lambda v: objective(v)[1], w, epsilon=1e-7
    )
    assert error < 1e-5


# -- lam = 0 is LogisticRegression ---------------------------------------------------
@pytest.mark.parametrize("loader", [load_iris, load_breast_cancer, load_digits])
@pytest.mark.parametrize(
    "params",
    [{}, {"C": 0.05}, {"fit_intercept": False}, {"class_weight": "balanced"}],
)
def test_lam_zero_reproduces_logistic_regression(loader, params):
    X, y = _scaled(loader)
    reference = LogisticRegression(**params).fit(X, y)
    model = MIDLogisticRegression(lam=0.0, **params).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-4)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-4)
    assert model.coef_.shape == reference.coef_.shape
    np.testing.assert_array_equal(model.classes_, reference.classes_)
    np.testing.assert_allclose(
        model.predict_proba(X), reference.predict_proba(X), atol=1e-5
    )
    np.testing.assert_allclose(
        model.decision_function(X), reference.decision_function(X), atol=1e-4
    )


def test_lam_zero_with_sample_weight_and_string_labels():
    X, y = _scaled(load_iris)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    weights = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y))
    reference = LogisticRegression().fit(X, labels, sample_weight=weights)
    model = MIDLogisticRegression(lam=0.0).fit(X, labels, sample_weight=weights)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-4)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


# -- the defense -----------------------------------------------------------------------
@pytest.mark.parametrize("loader", [load_iris, load_breast_cancer])
def test_penalty_falls_as_lam_grows(loader):
    X, y = _scaled(loader)
    penalties = [
        MIDLogisticRegression(lam=lam).fit(X, y).mi_penalty_ for lam in (0, 0.3, 3)
    ]
    assert penalties[0] > penalties[1] > penalties[2]
    # the reported penalty is the metric of the training outputs
    model = MIDLogisticRegression(lam=0.3).fit(X, y)
    assert model.mi_penalty_ == pytest.approx(
        output_mutual_information(model.predict_proba(X)), rel=1e-9
    )


def test_large_lam_gives_nearly_constant_output():
    X, y = _scaled(load_iris)
    model = MIDLogisticRegression(lam=100.0).fit(X, y)
    assert model.mi_penalty_ < 1e-3
    assert np.ptp(model.predict_proba(X), axis=0).max() < 0.05


def test_solution_is_stationary():
    X, y = _scaled(load_breast_cancer)
    model = MIDLogisticRegression(lam=0.5, tol=1e-8, max_iter=1000).fit(X, y)
    objective = _Objective(X, y, 2, np.ones(len(y)), 0.5, 1.0, True)
    w = np.append(model.coef_.ravel(), model.intercept_)
    assert np.abs(objective(w)[1]).max() < 1e-6


def test_class_weight_is_sample_weight():
    X, y = _scaled(load_iris)
    class_weight = {0: 1.0, 1: 3.0, 2: 0.5}
    a = MIDLogisticRegression(lam=0.5, class_weight=class_weight).fit(X, y)
    b = MIDLogisticRegression(lam=0.5).fit(
        X, y, sample_weight=np.array([1.0, 3.0, 0.5])[y]
    )
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)


def test_integer_weights_are_repeated_rows():
    X, y = _scaled(load_iris)
    repeats = np.random.default_rng(0).integers(1, 4, size=len(y))
    a = MIDLogisticRegression(lam=0.5, tol=1e-8).fit(X, y, sample_weight=repeats)
    b = MIDLogisticRegression(lam=0.5, tol=1e-8).fit(
        np.repeat(X, repeats, axis=0), np.repeat(y, repeats)
    )
    # the L2 term is divided by the total weight in both
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5)


def test_warm_start_continues_and_max_iter_warns():
    X, y = _scaled(load_digits)
    with pytest.warns(ConvergenceWarning):
        model = MIDLogisticRegression(lam=0.5, max_iter=3, warm_start=True).fit(X, y)
    first = model.coef_.copy()
    model.set_params(max_iter=500).fit(X, y)
    cold = clone(model).set_params(warm_start=False).fit(X, y)
    assert not np.allclose(first, model.coef_)
    assert model.n_iter_[0] < cold.n_iter_[0]


def test_predict_log_proba_is_finite_where_proba_underflows():
    X, y = _scaled(load_breast_cancer)
    model = MIDLogisticRegression(lam=0.0, C=1e6, max_iter=300)
    with pytest.warns(ConvergenceWarning):
        model.fit(X * 100, y)
    log_proba = model.predict_log_proba(X * 100)
    assert np.isfinite(log_proba).all()
    np.testing.assert_allclose(np.exp(log_proba).sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lam": -1.0}, "lam"),
        ({"lam": np.inf}, "lam"),
        ({"C": 0.0}, "C"),
        ({"class_weight": "auto"}, "class_weight"),
        ({"max_iter": -1}, "max_iter"),
    ],
)
def test_bad_parameters_are_named(params, match):
    X, y = _scaled(load_iris)
    with pytest.raises(ValueError, match=match):
        MIDLogisticRegression(**params).fit(X, y)


def test_one_class_and_zero_weights_are_refused():
    X, y = _scaled(load_iris)
    with pytest.raises(ValueError, match="at least 2 classes"):
        MIDLogisticRegression().fit(X[:10], y[:10])
    with pytest.raises(ValueError, match="[Ss]ample.weight"):
        MIDLogisticRegression().fit(X, y, sample_weight=np.zeros(len(y)))


def test_sparse_input_gives_the_dense_fit():
    from scipy import sparse

    X, y = _scaled(load_iris)
    X[np.abs(X) < 0.5] = 0.0
    dense = MIDLogisticRegression(lam=0.5).fit(X, y)
    csr = MIDLogisticRegression(lam=0.5).fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(csr.coef_, dense.coef_, atol=1e-10)
    np.testing.assert_allclose(
        csr.predict_proba(sparse.csr_matrix(X)), dense.predict_proba(X), atol=1e-12
    )
