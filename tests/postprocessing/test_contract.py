"""skmid's own contract checks for post-processors, run on probability input.

scikit-learn's common checks feed arbitrary real matrices, which post-processors
reject by design (those checks are expected failures in tests/test_common.py);
these tests check the same contract on rows of the simplex.
"""

import inspect
import pickle

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

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


def takes_inputs(method):
    return "inputs" in inspect.signature(method).parameters


def fit(defense, P, y=None, inputs=None):
    """``defense.fit(P, y)``, with ``inputs=`` (default: ``inputs_of(P)``) for
    the defenses that take them."""
    if takes_inputs(defense.fit):
        return defense.fit(P, y, inputs=inputs_of(P) if inputs is None else inputs)
    return defense.fit(P, y)


def transform(defense, P, inputs=None):
    """``defense.transform(P)``, with ``inputs=`` where the defense needs them."""
    if takes_inputs(defense.transform):
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
    if takes_inputs(defense.transform):
        pytest.skip(
            "a Pipeline does not pass transform(inputs=...); "
            "DefendedClassifier does (tests/postprocessing/test_adversarial_noise.py)"
        )
    P, y = probability_data()
    pipeline = make_pipeline(clone(defense), clone(defense))
    out = pipeline.fit(P, y).transform(P)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)
