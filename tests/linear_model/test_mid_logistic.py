"""Tests of MIDLogisticRegression and its penalty I(X; Y_hat)."""

import warnings

import numpy as np
import pytest
from scipy import sparse
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
    objective = _Objective(X, y, 2, np.ones(len(y)), 0.5, 1.0 / len(y), True)
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


# -- drop-in: every option of LogisticRegression (tests/peer_suites, issue 22) ------
def _binary_problem(n=120, n_features=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    logits = X @ rng.normal(size=n_features) + 0.3
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logits))).astype(int)
    return X, y


def test_every_parameter_of_logistic_regression_is_accepted():
    stock = set(LogisticRegression().get_params())
    assert set(MIDLogisticRegression().get_params()) == stock | {"lam"}
    # same defaults
    ours = MIDLogisticRegression().get_params()
    assert all(
        ours[name] == value for name, value in LogisticRegression().get_params().items()
    )


@pytest.mark.parametrize(
    "params",
    [
        {"solver": "newton-cg"},
        {"solver": "newton-cholesky", "C": 0.1},
        {"solver": "sag", "fit_intercept": False},
        {"solver": "saga", "l1_ratio": 1.0, "C": 0.05},
        {"solver": "saga", "l1_ratio": 0.5, "C": 0.1},
        {"solver": "liblinear", "l1_ratio": 1.0, "C": 0.1},
        {"solver": "liblinear", "intercept_scaling": 5.0},
        {"solver": "liblinear", "dual": True, "fit_intercept": False},
        {"C": np.inf},
    ],
    ids=str,
)
def test_lam_zero_solves_each_solvers_problem(params):
    # The stock solver at a tight tolerance is the reference optimum: the
    # L1 split, liblinear's penalised intercept and the dual all solve the same
    # problem as there.
    X, y = _binary_problem()
    tight = {"tol": 1e-10, "max_iter": 100_000, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = LogisticRegression(**params, **tight).fit(X, y)
        model = MIDLogisticRegression(lam=0.0, **params, **tight).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=2e-5)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=2e-5)
    if params.get("l1_ratio") == 1.0:
        # the L1 penalty switches the same coefficients off, exactly
        assert (reference.coef_ == 0).any()
        np.testing.assert_array_equal(model.coef_ == 0, np.abs(reference.coef_) < 1e-8)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_l1_solution_satisfies_the_optimality_conditions_with_the_penalty(n_classes):
    # KKT of min f(w) + l1 |w|_1 with f the smooth part (loss + lam * MID + L2):
    # grad f = -l1 sign(w) where w != 0, |grad f| <= l1 where w == 0.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 8))
    y = np.arange(90) % n_classes
    X[:, 0] += 1.5 * y
    C, ratio, lam = 0.2, 0.7, 0.8
    model = MIDLogisticRegression(
        lam=lam, C=C, l1_ratio=ratio, solver="saga", tol=1e-9, max_iter=5000
    ).fit(X, y)
    strength = 1.0 / (C * len(y))
    objective = _Objective(
        X, y, n_classes, np.ones(len(y)), lam, (1 - ratio) * strength, True
    )
    w = np.column_stack([model.coef_, model.intercept_])
    grad = objective(w.ravel())[1].reshape(w.shape)
    l1 = ratio * strength
    slopes, grad_slopes = w[:, :-1], grad[:, :-1]
    assert (slopes == 0).any() and (slopes != 0).any()
    on = slopes != 0
    np.testing.assert_allclose(grad_slopes[on], -l1 * np.sign(slopes[on]), atol=1e-6)
    assert np.all(np.abs(grad_slopes[~on]) <= l1 + 1e-6)
    np.testing.assert_allclose(grad[:, -1], 0.0, atol=1e-6)  # the free intercept


def test_lam_shrinks_the_penalty_with_l1_and_liblinear_too():
    X, y = _binary_problem()
    for params in ({"solver": "saga", "l1_ratio": 0.5}, {"solver": "liblinear"}):
        penalties = [
            MIDLogisticRegression(lam=lam, **params).fit(X, y).mi_penalty_
            for lam in (0.0, 2.0)
        ]
        assert penalties[1] < 0.5 * penalties[0]


def test_float32_is_kept_except_for_liblinear():
    X, y = _binary_problem()
    X32 = X.astype(np.float32)
    model = MIDLogisticRegression(lam=0.5).fit(X32, y)
    assert model.coef_.dtype == model.intercept_.dtype == np.float32
    np.testing.assert_allclose(
        model.coef_,
        MIDLogisticRegression(lam=0.5).fit(X32.astype(float), y).coef_,
        atol=1e-5,
    )
    assert (
        MIDLogisticRegression(solver="liblinear").fit(X32, y).coef_.dtype == np.float64
    )


def test_solver_penalty_contract_is_logistic_regressions():
    # the same combinations are refused, with the same words, as in the stock
    # estimator; the accepted ones fit
    X, y = _binary_problem(n=40)
    combos = [
        {"solver": solver, "l1_ratio": ratio, "dual": dual, "C": C}
        for solver in ("lbfgs", "liblinear", "newton-cg", "sag", "saga")
        for ratio in (0.0, 0.5, 1.0)
        for dual in (False, True)
        for C in (1.0, np.inf)
    ]
    for params in combos:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                LogisticRegression(**params, max_iter=5).fit(X, y)
            except ValueError as error:
                with pytest.raises(ValueError, match=str(error)[:30]):
                    MIDLogisticRegression(lam=0.0, **params, max_iter=5).fit(X, y)
            else:
                MIDLogisticRegression(lam=0.0, **params, max_iter=5).fit(X, y)


def test_deprecated_penalty_and_n_jobs_warn_and_keep_their_meaning():
    X, y = _binary_problem()
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"):
        none = MIDLogisticRegression(lam=0.0, penalty=None).fit(X, y)
    unpenalised = MIDLogisticRegression(lam=0.0, C=np.inf).fit(X, y)
    np.testing.assert_allclose(none.coef_, unpenalised.coef_)
    with pytest.warns(UserWarning, match="penalty=None will ignore the C"):
        with pytest.warns(FutureWarning):
            MIDLogisticRegression(penalty=None, C=2.0).fit(X, y)
    with pytest.warns(FutureWarning, match="'n_jobs' has no effect"):
        MIDLogisticRegression(n_jobs=2).fit(X, y)


def test_max_iter_zero_returns_the_start():
    X, y = _binary_problem()
    with pytest.warns(ConvergenceWarning, match="max_iter=0"):
        model = MIDLogisticRegression(max_iter=0).fit(X, y)
    assert model.n_iter_.tolist() == [0]
    np.testing.assert_array_equal(model.coef_, 0.0)
    np.testing.assert_allclose(model.predict_proba(X), 0.5)


def test_liblinear_refusals_name_the_reason():
    X, y = _scaled(load_iris)
    with pytest.raises(ValueError, match="does not support multiclass"):
        MIDLogisticRegression(solver="liblinear").fit(X, y)
    with pytest.raises(ValueError, match="maximum value > 1e30"):
        MIDLogisticRegression(solver="liblinear").fit([[0.0], [1e100]], [0, 1])
    with pytest.raises(ValueError, match="penalises the intercept"):
        MIDLogisticRegression(solver="liblinear", C=np.inf).fit(X, y)


def test_sparsify_keeps_the_predictions():
    X, y = _binary_problem()
    model = MIDLogisticRegression(lam=0.5, l1_ratio=1.0, solver="saga", C=0.05)
    dense_proba = model.fit(X, y).predict_proba(X)
    model.sparsify()
    assert sparse.issparse(model.coef_)
    np.testing.assert_allclose(model.predict_proba(X), dense_proba)
    assert isinstance(model.densify().coef_, np.ndarray)


class _IterationRecorder:
    """A scikit-learn 1.9 fit callback keeping the estimator after each task."""

    def __init__(self):
        self.ends = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if "iter" in context.task_name and fitted_estimator is not None:
            self.ends.append(fitted_estimator.coef_.copy())


def test_callbacks_see_each_iterate_for_every_solver_name():
    pytest.importorskip("sklearn.callback")
    X, y = _binary_problem()
    params = {"lam": 0.5, "solver": "saga", "l1_ratio": 0.5, "C": 0.1}
    recorder = _IterationRecorder()
    model = MIDLogisticRegression(**params).set_callbacks(recorder).fit(X, y)
    assert len(recorder.ends) == model.n_iter_[0] > 2
    np.testing.assert_array_equal(recorder.ends[-1], model.coef_)
    with pytest.warns(ConvergenceWarning):
        two = MIDLogisticRegression(**params, max_iter=2).fit(X, y)
    np.testing.assert_allclose(recorder.ends[1], two.coef_)
