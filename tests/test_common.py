"""scikit-learn's common checks, run over every public skmid estimator."""

import numpy as np
from scipy.special import softmax
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmid.linear_model import AdaSSPLinearRegression
from skmid.postprocessing import BasePostProcessor
from skmid.tree import DPID3Classifier
from skmid.utils.discovery import all_estimators

# Estimators whose default construction needs arguments register an instance here.
_INSTANCES = {
    # AdaSSP requires data bounds; these cover the checks' data, and a large
    # epsilon keeps the privacy noise below the checks' accuracy thresholds.
    "AdaSSPLinearRegression": AdaSSPLinearRegression(
        epsilon=1e4, bounds_X=(-5, 5), bounds_y=(-5, 5), random_state=0
    ),
    # A large epsilon keeps DP-ID3's Laplace noise below the accuracy thresholds
    # of the checks (which use a few hundred rows).
    "DPID3Classifier": DPID3Classifier(epsilon=1e5, random_state=0),
}
try:  # the nn extra
    from skmid.neural_network import DPSGDClassifier, MIDClassifier, VIBClassifier

    # Enough epochs (and for DP-SGD enough budget) to pass the checks'
    # accuracy thresholds on their small blobs, few enough to stay fast.
    _INSTANCES["VIBClassifier"] = VIBClassifier(
        lam=1e-3, max_epochs=40, lr=1e-2, random_state=0
    )
    _INSTANCES["MIDClassifier"] = MIDClassifier(
        lam=0.5, max_epochs=40, lr=1e-2, random_state=0
    )
    _INSTANCES["DPSGDClassifier"] = DPSGDClassifier(
        epsilon=1e6, max_grad_norm=10.0, lr=0.5, max_epochs=60, random_state=0
    )
    from skmid.attacks import InversionModelAttack
    from skmid.postprocessing import AdversarialNoiseDefense, PurifierTransformer

    _INSTANCES["PurifierTransformer"] = PurifierTransformer(
        max_epochs=3, random_state=0
    )
    _INSTANCES["AdversarialNoiseDefense"] = AdversarialNoiseDefense(
        InversionModelAttack(hidden_layer_sizes=(8,), max_epochs=2),
        n_iter=2,
        random_state=0,
    )
except ImportError:
    pass

# check name -> written reason, per estimator class name.
_SKORCH_REASONS = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ sets history_, initialized_ and "
        "virtual_params_; that is skorch's design, not skmid's"
    ),
    "check_set_params": (
        "skorch's set_params treats callbacks and virtual parameters specially "
        "and rejects the arbitrary values this check sets"
    ),
}
EXPECTED_FAILED_CHECKS = {
    "VIBClassifier": _SKORCH_REASONS,
    "DPSGDClassifier": _SKORCH_REASONS,
    "MIDClassifier": _SKORCH_REASONS,
}

# Networks computing in float32: batches of different sizes round differently
# (about 1e-7 relative, depending on the thread count), so subset invariance
# holds to float32's resolution, not to the 1e-7 of scikit-learn's check.
_FLOAT32_NETWORKS = {"VIBClassifier", "DPSGDClassifier", "MIDClassifier"}

# Post-processors transform probability vectors and reject, by design, any row
# that is not on the simplex. These checks feed arbitrary real matrices, so they
# run on the defense behind an adapter that softmaxes each row first (and, for
# the defenses that request them, supplies the inputs behind the rows).
_CHECKS_ON_PROBABILITY_ROWS = {
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_requires_y_none",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
}


def _as_probability_rows(X):
    """Each row of a finite numeric 2-D ``X`` through a softmax; anything else
    unchanged, for the defense to refuse as it would."""
    if hasattr(X, "toarray"):
        return X
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return X
    if values.ndim != 2 or values.size == 0 or not np.isfinite(values).all():
        return X
    rows = softmax(values, axis=1)
    if hasattr(X, "columns"):  # keep the feature names
        return type(X)(rows, columns=X.columns, index=X.index)
    return rows


def _as_column_labels(y, X):
    """Arbitrary labels as column indices of the rows ``X`` (their sorted rank
    modulo the number of columns), when both are well formed; else ``y`` as it
    is, for the defense to refuse as it would."""
    try:
        labels, shape = np.asarray(y), np.shape(X)
    except (TypeError, ValueError):
        return y
    if (
        labels.ndim != 1
        or len(shape) != 2
        or shape[1] == 0
        or len(labels) != shape[0]
        or (labels.dtype.kind in "fc" and not np.isfinite(labels).all())
    ):
        return y
    return np.unique(labels, return_inverse=True)[1] % shape[1]


def _inputs_behind(P):
    """Inputs row for row with the probability rows ``P``."""
    return np.hstack([P, np.sqrt(P)])


def _on_probability_rows(cls):
    """A test-only subclass of the post-processor ``cls`` that softmaxes its input
    rows before the defense validates them.

    Everything else is the defense's own code: parameters, validation of the
    rows, fitted state, output checks. It takes any real rows, so it declares
    ``positive_only=False``; the inputs that a defense requests are derived from
    the rows when not given. A defense that reads ``y`` as the column of each
    row's true class gets the labels mapped onto the columns.
    """

    class OnProbabilityRows(cls):
        def _validate_fit_data(self, P, y):
            if y is not None and self._uses_labels:
                y = _as_column_labels(y, P)
            return super()._validate_fit_data(P, y)

        def _validate_probabilities(self, P, *, reset):
            return super()._validate_probabilities(
                _as_probability_rows(P), reset=reset
            )

        def _fit(self, P, codes, **params):
            if "inputs" in self._consumed_metadata("fit"):
                params.setdefault("inputs", _inputs_behind(P))
            return super()._fit(P, codes, **params)

        def _transform(self, P, **params):
            if "inputs" in self._consumed_metadata("transform"):
                params.setdefault("inputs", _inputs_behind(P))
            return super()._transform(P, **params)

        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.positive_only = False
            return tags

    name = f"{cls.__name__}OnProbabilityRows"
    OnProbabilityRows.__name__ = OnProbabilityRows.__qualname__ = name
    OnProbabilityRows.__module__ = __name__
    globals()[name] = OnProbabilityRows  # where pickle looks the class up
    return OnProbabilityRows


_ADAPTED = {
    cls: _on_probability_rows(cls)
    for _, cls in all_estimators()
    if issubclass(cls, BasePostProcessor)
}


def _on_arbitrary_rows(defense):
    return _ADAPTED[type(defense)](**defense.get_params(deep=False))


# Estimators the checks cannot build data for, with the reason; their own tests
# cover the contract.
_NOT_COMMON_CHECKED = {
    "PrivacyUtilitySearch": (
        "a search whose attack scorers need data with a sensitive feature, which "
        "the checks' random matrices lack; tests/model_selection/test_search.py"
    ),
}


def _estimators():
    return [
        _INSTANCES[name] if name in _INSTANCES else cls()
        for name, cls in all_estimators()
        if name not in _NOT_COMMON_CHECKED
    ]


def test_every_estimator_is_checked_or_excluded_with_a_reason():
    names = {name for name, _ in all_estimators()}
    checked = {type(estimator).__name__ for estimator in _estimators()}
    assert names - checked <= set(_NOT_COMMON_CHECKED)
    assert checked <= names


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


def _check_name(check):
    return getattr(check, "func", check).__name__


def _check_subset_invariance_to_float32_resolution(estimator):
    """scikit-learn's check_methods_subset_invariance, at float32 tolerances."""
    rng = np.random.RandomState(0)
    X = (3 * rng.uniform(size=(20, 3))).astype(np.float32)
    y = X[:, 0].astype(int)
    estimator = clone(estimator).fit(X, y)
    for method in ("predict", "predict_proba"):
        full = getattr(estimator, method)(X)
        by_row = np.concatenate([getattr(estimator, method)(X[[i]]) for i in range(20)])
        np.testing.assert_allclose(full, by_row, rtol=1e-5, atol=1e-6)


@parametrize_with_checks(_estimators(), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    name = _check_name(check)
    if isinstance(estimator, BasePostProcessor) and name in _CHECKS_ON_PROBABILITY_ROWS:
        estimator = _on_arbitrary_rows(estimator)
    elif (
        name == "check_methods_subset_invariance"
        and type(estimator).__name__ in _FLOAT32_NETWORKS
    ):
        _check_subset_invariance_to_float32_resolution(estimator)
        return
    check(estimator)
