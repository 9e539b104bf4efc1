"""skmid's own contract checks for post-processors, run on probability input.

scikit-learn's common checks run on post-processors in tests/test_common.py,
through an adapter that turns their arbitrary rows into probability rows;
these tests check the contract on rows of the simplex directly, with the
inputs behind ``P`` passed to the defenses that request them.
"""

import pickle

import numpy as np
import pytest
import sklearn
from scipy.special import softmax
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline, make_pipeline

from skmid.postprocessing import BasePostProcessor
from skmid.utils.discovery import all_estimators

POSTPROCESSORS = [
    cls
    for _, cls in all_estimators("transformer")
    if issubclass(cls, BasePostProcessor)
]


def probability_data(n=60, k=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    P = softmax(rng.normal(size=(n, k)) + 2.0 * np.eye(k)[y], axis=1)
    return P, y


# Small networks and few epochs keep the torch-based defenses fast here.
_FAST_PARAMS = {
    "PurifierTransformer": {"max_epochs": 5},
    "AdversarialNoiseDefense": {"n_iter": 3},
}


def make(cls):
    params = dict(_FAST_PARAMS.get(cls.__name__, {}))
    if cls.__name__ == "AdversarialNoiseDefense":
        from skmid.attacks import InversionModelAttack

        params["inversion_attack"] = InversionModelAttack(
            hidden_layer_sizes=(16,), max_epochs=5
        )
    if "random_state" in cls().get_params():
        params["random_state"] = 0
    return cls(**params)


def inputs_of(P):
    """Inputs behind the rows of P, for defenses that take them (row for row)."""
    try:
        P = np.atleast_2d(np.asarray(P, dtype=np.float64))
    except (TypeError, ValueError):  # bad P: the defense rejects P first
        return np.zeros((len(P), 3))
    return np.hstack([P, np.sqrt(np.abs(P)), P[:, :1] * P[:, -1:]])


def requests_inputs(defense, method):
    """Whether ``defense``'s metadata request for ``method`` asks for ``inputs``."""
    return "inputs" in defense.get_metadata_routing().consumes(method, ["inputs"])


def fit(defense, P, y=None, inputs=None):
    """``defense.fit(P, y)``, with ``inputs=`` (default: ``inputs_of(P)``) for
    the defenses that request them."""
    if requests_inputs(defense, "fit"):
        return defense.fit(P, y, inputs=inputs_of(P) if inputs is None else inputs)
    return defense.fit(P, y)


def transform(defense, P, inputs=None):
    """``defense.transform(P)``, with ``inputs=`` where the defense requests them."""
    if requests_inputs(defense, "transform"):
        inputs = inputs_of(P) if inputs is None else inputs
        return defense.transform(P, inputs=inputs)
    return defense.transform(P)


def test_every_postprocessor_is_covered():
    names = {cls.__name__ for cls in POSTPROCESSORS}
    assert {
        "CMIPostProcessor",
        "NoisePostProcessor",
        "RoundingPostProcessor",
        "TopLabelPostProcessor",
        "PurifierTransformer",
        "AdversarialNoiseDefense",
    } <= names


@pytest.fixture(params=POSTPROCESSORS, ids=lambda cls: cls.__name__)
def defense(request):
    return make(request.param)


def test_fit_returns_self_and_sets_fitted_state(defense):
    P, y = probability_data()
    with pytest.raises(NotFittedError):
        transform(defense, P)
    assert fit(defense, P, y) is defense
    assert defense.n_features_in_ == P.shape[1]
    np.testing.assert_array_equal(
        defense.get_feature_names_out(), [f"x{i}" for i in range(P.shape[1])]
    )


def test_params_unchanged_and_clone(defense):
    P, y = probability_data()
    before = defense.get_params()
    fit(defense, P, y)
    assert defense.get_params() == before
    # Nested estimators are cloned into new objects: compare their reprs.
    as_text = {key: repr(value) for key, value in before.items()}
    assert {k: repr(v) for k, v in clone(defense).get_params().items()} == as_text
    assert not hasattr(clone(defense), "n_features_in_")


def test_fit_is_idempotent_and_pickle_round_trips(defense):
    P, y = probability_data()
    P_other, y_other = probability_data(seed=1)
    first = transform(fit(clone(defense), P, y), P)
    refit = fit(fit(defense, P_other, y_other), P, y)
    np.testing.assert_array_equal(transform(refit, P), first)
    restored = pickle.loads(pickle.dumps(refit))
    np.testing.assert_array_equal(transform(restored, P), first)


def test_outputs_on_simplex_and_row_independent(defense):
    P, y = probability_data()
    out = transform(fit(defense, P, y), P)
    assert out.shape == P.shape and out.dtype == np.float64
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)
    order = np.random.default_rng(0).permutation(len(P))
    np.testing.assert_array_equal(transform(defense, P[order]), out[order])
    np.testing.assert_array_equal(transform(defense, P[:7]), out[:7])


def test_input_containers_dtypes_and_readonly(defense):
    pd = pytest.importorskip("pandas")
    P, y = probability_data()
    out = transform(fit(defense, P, y), P)
    readonly = P.copy()
    readonly.flags.writeable = False
    np.testing.assert_array_equal(transform(defense, readonly), out)
    np.testing.assert_array_equal(transform(defense, np.asfortranarray(P)), out)
    np.testing.assert_array_equal(transform(defense, P.tolist()), out)
    frame = pd.DataFrame(P, columns=["a", "b", "c", "d"])
    fitted = fit(clone(defense), frame, y)
    np.testing.assert_array_equal(fitted.get_feature_names_out(), ["a", "b", "c", "d"])
    np.testing.assert_array_equal(transform(fitted, frame), out)
    assert transform(defense, P.astype(np.float32)).dtype == np.float64


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.full((3, 4), 0.5), "sums to 2"),
        (np.array([[np.nan, 0.5, 0.5, 0.0]]), "NaN"),
        (np.array([[np.inf, 0.0, 0.0, 0.0]]), "infinity"),
        (np.full((3, 5), 0.2), "expecting 4 features"),
        (np.array([0.25, 0.25, 0.25, 0.25]), "2D array"),
        (np.array([["a", "b", "c", "d"]], dtype=object), "could not convert"),
    ],
)
def test_bad_input_gets_a_clear_error(defense, bad, match):
    P, y = probability_data()
    fit(defense, P, y)
    with pytest.raises(ValueError, match=match):
        transform(defense, bad)
    if "expecting" not in match:
        with pytest.raises(ValueError, match=match):
            fit(clone(defense), bad)


def test_works_in_a_pipeline(defense):
    P, y = probability_data()
    pipeline = make_pipeline(clone(defense), clone(defense))
    fit_params, transform_params = fit_metadata(defense, P), transform_metadata(
        defense, P
    )
    # A Pipeline passes metadata by routing: needed only by defenses that take some.
    with sklearn.config_context(
        enable_metadata_routing=bool(fit_params or transform_params)
    ):
        out = pipeline.fit(P, y, **fit_params).transform(P, **transform_params)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)
    # Both steps get the inputs behind the pipeline's rows.
    inputs = inputs_of(P)
    first = transform(fit(clone(defense), P, y), P)
    second = fit(clone(defense), first, y, inputs=inputs)
    np.testing.assert_array_equal(out, transform(second, first, inputs=inputs))


def fit_metadata(defense, P):
    return {"inputs": inputs_of(P)} if requests_inputs(defense, "fit") else {}


def transform_metadata(defense, P):
    return {"inputs": inputs_of(P)} if requests_inputs(defense, "transform") else {}


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_pipeline_routes_the_inputs_to_the_defenses_that_request_them(
    defense, routing
):
    """The defense, then rounding: only the requested inputs reach each step."""
    from skmid.postprocessing import RoundingPostProcessor

    P, y = probability_data()
    P_query, _ = probability_data(n=20, seed=3)
    pipeline = Pipeline(
        [("defense", clone(defense)), ("round", RoundingPostProcessor(decimals=3))]
    )
    fit_params = {"inputs": inputs_of(P)} if requests_inputs(defense, "fit") else {}
    pipeline.fit(P, y, **fit_params)
    out = pipeline.transform(P_query, **transform_metadata(defense, P_query))
    alone = fit(clone(defense), P, y)
    rounding = RoundingPostProcessor(decimals=3)
    np.testing.assert_array_equal(
        out, rounding.fit_transform(transform(alone, P_query))
    )
    # fit_transform passes each metadata to fit and to transform, as requested.
    np.testing.assert_array_equal(
        pipeline.fit_transform(P, y, **fit_params | transform_metadata(defense, P)),
        rounding.fit_transform(transform(alone, P)),
    )


def test_metadata_request_names_only_real_metadata(defense, routing):
    request = defense.get_metadata_routing()
    # P is the data, never a metadata to request.
    assert "P" not in request.fit.requests and "P" not in request.transform.requests
    for method in ("fit", "transform"):
        if requests_inputs(defense, method):
            setter = getattr(defense, f"set_{method}_request")
            assert setter(inputs=False) is defense
            assert not requests_inputs(defense, method)
        else:
            assert "inputs" not in getattr(request, method).requests


def test_unknown_metadata_is_a_type_error(defense):
    P, y = probability_data()
    with pytest.raises(TypeError, match=r"fit\(\) got unexpected keyword.*weights"):
        defense.fit(P, y, weights=np.ones(len(P)))
    fit(defense, P, y)
    with pytest.raises(TypeError, match=r"transform\(\) got unexpected.*weights"):
        defense.transform(P, weights=np.ones(len(P)))
    with pytest.raises(TypeError, match="fit_transform"):
        clone(defense).fit_transform(P, y, weights=np.ones(len(P)))


def test_label_free_defenses_accept_any_y(defense):
    if defense._uses_labels:
        pytest.skip(f"{type(defense).__name__} reads the labels")
    P, _ = probability_data()
    reference = transform(fit(clone(defense), P), P)
    for y in (None, np.array(["cat", "dog", "owl"] * 20), np.arange(5)):
        np.testing.assert_array_equal(transform(fit(defense, P, y), P), reference)


# --- the worked example of docs/user_guide/postprocessing.rst ---------------


class FarQueriesTopLabel(BasePostProcessor):
    """Publish only the top label for queries far from the reference inputs."""

    __metadata_request__fit = {"inputs": True}
    __metadata_request__transform = {"inputs": True}
    _uses_labels = False

    def __init__(self, *, quantile=0.9):
        self.quantile = quantile

    def _fit(self, P, codes, inputs=None):
        inputs = self._check_inputs(inputs, len(P), method="fit")
        self.center_ = inputs.mean(axis=0)
        distances = np.linalg.norm(inputs - self.center_, axis=1)
        self.radius_ = np.quantile(distances, self.quantile)

    def _transform(self, P, inputs=None):
        inputs = self._check_inputs(inputs, len(P), method="transform")
        far = np.linalg.norm(inputs - self.center_, axis=1) > self.radius_
        out = P.copy()
        out[far] = np.eye(P.shape[1])[P[far].argmax(axis=1)]
        return out


def test_the_user_guides_worked_example():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from skmid.postprocessing import DefendedClassifier, RoundingPostProcessor

    X, y = load_iris(return_X_y=True)
    model = DefendedClassifier(
        LogisticRegression(max_iter=1000), FarQueriesTopLabel(), random_state=0
    ).fit(X, y)
    P = model.estimator_.predict_proba(X)
    published = model.predict_proba(X)
    one_hot = published.max(axis=1) == 1.0
    assert 0 < one_hot.mean() < 0.5  # the far queries, and only them
    np.testing.assert_array_equal(published[~one_hot], P[~one_hot])
    np.testing.assert_array_equal(model.predict(X), model.estimator_.predict(X))
    with pytest.raises(ValueError, match="needs the inputs behind P"):
        model.defense_.transform(P)
    with sklearn.config_context(enable_metadata_routing=True):
        chain = Pipeline(
            [("far", FarQueriesTopLabel()), ("round", RoundingPostProcessor())]
        ).fit(P, inputs=X)
        out = chain.transform(P, inputs=X)
    expected = RoundingPostProcessor().fit_transform(
        chain["far"].transform(P, inputs=X)
    )
    np.testing.assert_array_equal(out, expected)
