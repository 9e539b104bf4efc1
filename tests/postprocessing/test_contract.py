"""skmid's own contract checks for post-processors, run on probability input.

scikit-learn's common checks feed arbitrary real matrices, which post-processors
reject by design (those checks are expected failures in tests/test_common.py);
these tests check the same contract on rows of the simplex.
"""

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


def make(cls):
    params = cls().get_params()
    if "random_state" in params:
        return cls(random_state=0)
    return cls()


def test_every_postprocessor_is_covered():
    names = {cls.__name__ for cls in POSTPROCESSORS}
    assert {
        "CMIPostProcessor",
        "NoisePostProcessor",
        "RoundingPostProcessor",
        "TopLabelPostProcessor",
    } <= names


@pytest.fixture(params=POSTPROCESSORS, ids=lambda cls: cls.__name__)
def defense(request):
    return make(request.param)


def test_fit_returns_self_and_sets_fitted_state(defense):
    P, y = probability_data()
    with pytest.raises(NotFittedError):
        defense.transform(P)
    assert defense.fit(P, y) is defense
    assert defense.n_features_in_ == P.shape[1]
    np.testing.assert_array_equal(
        defense.get_feature_names_out(), [f"x{i}" for i in range(P.shape[1])]
    )


def test_params_unchanged_and_clone(defense):
    P, y = probability_data()
    before = defense.get_params()
    defense.fit(P, y)
    assert defense.get_params() == before
    assert clone(defense).get_params() == before
    assert not hasattr(clone(defense), "n_features_in_")


def test_fit_is_idempotent_and_pickle_round_trips(defense):
    P, y = probability_data()
    P_other, y_other = probability_data(seed=1)
    first = clone(defense).fit(P, y).transform(P)
    refit = defense.fit(P_other, y_other).fit(P, y)
    np.testing.assert_array_equal(refit.transform(P), first)
    restored = pickle.loads(pickle.dumps(refit))
    np.testing.assert_array_equal(restored.transform(P), first)


def test_outputs_on_simplex_and_row_independent(defense):
    P, y = probability_data()
    out = defense.fit(P, y).transform(P)
    assert out.shape == P.shape and out.dtype == np.float64
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)
    order = np.random.default_rng(0).permutation(len(P))
    np.testing.assert_array_equal(defense.transform(P[order]), out[order])
    np.testing.assert_array_equal(defense.transform(P[:7]), out[:7])


def test_input_containers_dtypes_and_readonly(defense):
    pd = pytest.importorskip("pandas")
    P, y = probability_data()
    out = defense.fit(P, y).transform(P)
    readonly = P.copy()
    readonly.flags.writeable = False
    np.testing.assert_array_equal(defense.transform(readonly), out)
    np.testing.assert_array_equal(defense.transform(np.asfortranarray(P)), out)
    np.testing.assert_array_equal(defense.transform(P.tolist()), out)
    frame = pd.DataFrame(P, columns=["a", "b", "c", "d"])
    fitted = clone(defense).fit(frame, y)
    np.testing.assert_array_equal(fitted.get_feature_names_out(), ["a", "b", "c", "d"])
    np.testing.assert_array_equal(fitted.transform(frame), out)
    assert defense.transform(P.astype(np.float32)).dtype == np.float64


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
    defense.fit(P, y)
    with pytest.raises(ValueError, match=match):
        defense.transform(bad)
    if "expecting" not in match:
        with pytest.raises(ValueError, match=match):
            clone(defense).fit(bad)


def test_works_in_a_pipeline(defense):
    P, y = probability_data()
    pipeline = make_pipeline(clone(defense), clone(defense))
    out = pipeline.fit(P, y).transform(P)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)
