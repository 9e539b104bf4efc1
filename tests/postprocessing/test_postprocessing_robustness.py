"""Post-processors on bad input, extreme hyper-parameters and the global RNG.

Every case ends in a ValueError/TypeError that names what was wrong, or in a
finite result with rows on the simplex.
"""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from test_contract import POSTPROCESSORS, fit, inputs_of, make, transform

from skmid.postprocessing import (
    BasePostProcessor,
    CMIPostProcessor,
    DefendedClassifier,
    NoisePostProcessor,
    RoundingPostProcessor,
    TopLabelPostProcessor,
)


def probability_data(n=40, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    return softmax(rng.normal(size=(n, k)) + 2.0 * np.eye(k)[y], axis=1), y


def assert_on_simplex(out):
    assert np.all(np.isfinite(out)) and np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)


@pytest.fixture(params=POSTPROCESSORS, ids=lambda cls: cls.__name__)
def defense(request):
    return make(request.param)


# --- non-finite output never leaves a defense --------------------------------


class _NaNDefense(BasePostProcessor):
    def _transform(self, P):
        return np.full_like(P, np.nan)


def test_non_finite_output_is_refused():
    P, y = probability_data()
    with pytest.raises(ValueError, match="_NaNDefense.transform produced NaN"):
        _NaNDefense().fit(P, y).transform(P)


# --- bad P and y: a named error or a valid result ------------------------------


def _object_frame(P):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(P, columns=["a", "b", "c"])
    frame["colour"] = ["red", "green"] * (len(P) // 2)
    return frame


@pytest.mark.parametrize(
    "spoil, match",
    [
        (lambda P: sp.csr_matrix(P), "Sparse data was passed for P"),
        (lambda P: P[:0], "0 sample"),
        (_object_frame, "P must hold numbers"),
        (lambda P: P * 1e300, "P must hold probability vectors"),
        (lambda P: np.where(P == P.max(), -0.1, P), "negative entry"),
    ],
    ids=["sparse", "empty", "object column", "1e300", "negative"],
)
def test_bad_P_is_refused_by_name(defense, spoil, match):
    P, y = probability_data()
    bad = spoil(P)
    inputs = inputs_of(P)[: bad.shape[0]]
    with pytest.raises((ValueError, TypeError), match=match):
        fit(clone(defense), bad, y[: bad.shape[0]], inputs=inputs)
    fit(defense, P, y)
    with pytest.raises((ValueError, TypeError), match=match):
        transform(defense, bad, inputs=inputs)


def test_y_with_nan_is_refused_by_the_defenses_that_read_it(defense):
    P, y = probability_data()
    bad = y.astype(float)
    bad[0] = np.nan
    if not defense._uses_labels:  # y is ignored, as by any label-free transformer
        np.testing.assert_array_equal(
            transform(fit(clone(defense), P, bad), P),
            transform(fit(defense, P), P),
        )
        return
    with pytest.raises(ValueError, match="Input y contains NaN"):
        fit(defense, P, bad)


@pytest.mark.parametrize(
    "y_of",
    [lambda y: np.array(["a", "b", "c"])[y], np.zeros_like],
    ids=["strings", "one class"],
)
def test_string_labels_and_one_class_give_valid_rows(defense, y_of):
    P, y = probability_data()
    assert_on_simplex(transform(fit(defense, P, y_of(y)), P))


def test_one_row_gives_valid_rows_or_a_named_error(defense):
    P, y = probability_data()
    try:
        fitted = fit(defense, P[:1], y[:1])
    except ValueError as error:
        assert "P has 1 row(s)" in str(error)
        return
    assert_on_simplex(transform(fitted, P[:1]))


def test_one_column_gives_valid_rows_or_a_named_error(defense):
    P = np.ones((20, 1))
    y = np.zeros(20, dtype=int)
    try:
        fitted = fit(defense, P, y)
    except ValueError as error:
        assert "P has 1 column" in str(error)
        return
    np.testing.assert_array_equal(transform(fitted, P), P)


# --- invalid hyper-parameters: a ValueError naming them, at fit ----------------


_TORCH_PARAMETERS = [
    ("PurifierTransformer", {"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
    ("PurifierTransformer", {"hidden_layer_sizes": (-1,)}, "hidden_layer_sizes"),
    ("PurifierTransformer", {"hidden_layer_sizes": ()}, "hidden_layer_sizes"),
    ("PurifierTransformer", {"hidden_layer_sizes": (True,)}, "hidden_layer_sizes"),
    ("PurifierTransformer", {"hidden_layer_sizes": (10**30,)}, "hidden_layer_sizes"),
    ("PurifierTransformer", {"hidden_layer_sizes": math.nan}, "hidden_layer_sizes"),
    (
        "PurifierTransformer",
        {"alpha": 1.0, "inversion_hidden_layer_sizes": (0,)},
        "inversion_hidden_layer_sizes",
    ),
    ("PurifierTransformer", {"lr": 0.0}, "lr"),
    ("PurifierTransformer", {"lr": math.nan}, "lr"),
    ("PurifierTransformer", {"lr": 1e300}, "lr"),
    ("PurifierTransformer", {"lr_inversion": 1e300}, "lr_inversion"),
    ("PurifierTransformer", {"lr_discriminator": -1.0}, "lr_discriminator"),
    ("PurifierTransformer", {"lam": math.nan}, "lam"),
    ("PurifierTransformer", {"alpha": -1.0}, "alpha"),
    ("PurifierTransformer", {"beta": math.inf}, "beta"),
    ("PurifierTransformer", {"max_epochs": 0}, "max_epochs"),
    ("PurifierTransformer", {"max_epochs": 1e300}, "max_epochs"),
    ("PurifierTransformer", {"batch_size": 1}, "batch_size"),
    ("AdversarialNoiseDefense", {"epsilon": math.nan}, "epsilon"),
    ("AdversarialNoiseDefense", {"epsilon": -1.0}, "epsilon"),
    ("AdversarialNoiseDefense", {"step_size": math.inf}, "step_size"),
    ("AdversarialNoiseDefense", {"n_iter": -1}, "n_iter"),
    ("AdversarialNoiseDefense", {"n_iter": math.nan}, "n_iter"),
    ("AdversarialNoiseDefense", {"norm": 3}, "norm"),
    ("AdversarialNoiseDefense", {"norm": math.nan}, "norm"),
]


@pytest.mark.parametrize(
    "name, params, parameter",
    [
        ("CMIPostProcessor", {"epsilon": math.nan}, "epsilon"),
        ("CMIPostProcessor", {"epsilon": math.inf}, "epsilon"),
        ("CMIPostProcessor", {"temperature": 0.0}, "temperature"),
        ("CMIPostProcessor", {"temperature": -1.0}, "temperature"),
        ("CMIPostProcessor", {"temperature": math.nan}, "temperature"),
        ("CMIPostProcessor", {"hash_resolution": 0}, "hash_resolution"),
        ("CMIPostProcessor", {"hash_resolution": math.nan}, "hash_resolution"),
        ("CMIPostProcessor", {"hash_resolution": 1e300}, "hash_resolution"),
        ("NoisePostProcessor", {"scale": -1.0}, "scale"),
        ("NoisePostProcessor", {"scale": math.nan}, "scale"),
        ("NoisePostProcessor", {"hash_resolution": 1e300}, "hash_resolution"),
        ("RoundingPostProcessor", {"decimals": -1}, "decimals"),
        ("RoundingPostProcessor", {"decimals": 2.5}, "decimals"),
        ("RoundingPostProcessor", {"decimals": math.nan}, "decimals"),
        *_TORCH_PARAMETERS,
    ],
)
def test_invalid_hyperparameters_are_refused_by_name_at_fit(name, params, parameter):
    cls = next(cls for cls in POSTPROCESSORS if cls.__name__ == name)
    if name in {"PurifierTransformer", "AdversarialNoiseDefense"}:
        pytest.importorskip("torch")
    defense = make(cls).set_params(**params)  # __init__ and set_params only store
    P, y = probability_data()
    with pytest.raises(ValueError, match=rf"\b{parameter}\b"):
        fit(defense, P, y)


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"validation_fraction": 0.0}, "validation_fraction"),
        ({"validation_fraction": math.nan}, "validation_fraction"),
        ({"estimator": -1}, "estimator"),
        ({"defense": "cmi"}, "defense"),
        ({"cv": -1}, "cv"),
    ],
)
def test_defended_classifier_refuses_invalid_parameters_by_name(params, parameter):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=rf"\b{parameter}\b"):
        DefendedClassifier(**params).fit(X, y)


# --- extreme but valid hyper-parameters: the correct limit -------------------


@pytest.mark.parametrize("temperature", [1e-310, 1e-300, 1e-30])
def test_tiny_temperature_draws_the_top_class(temperature):
    P, y = probability_data(n=60)
    defense = CMIPostProcessor(
        epsilon=2.0, adaptive=False, temperature=temperature, random_state=0
    ).fit(P, y)
    np.testing.assert_allclose(
        defense.transform(P), defense.class_prototypes_[P.argmax(axis=1)]
    )


def test_tiny_temperature_draws_among_tied_top_classes():
    a = np.linspace(0.34, 0.49, 200)
    P = np.c_[a, a, 1 - 2 * a]  # classes 0 and 1 tie at the top
    fit_P, fit_y = probability_data()
    defense = CMIPostProcessor(
        epsilon=2.0, adaptive=False, temperature=1e-300, random_state=0
    ).fit(fit_P, fit_y)
    out = defense.transform(P)
    prototypes = defense.class_prototypes_
    drawn = np.abs(out[:, None, :] - prototypes[None]).sum(axis=2).argmin(axis=1)
    assert set(np.unique(drawn)) == {0, 1}


@pytest.mark.parametrize("decimals", [16, 400, 10**30])
def test_rounding_beyond_float_precision_is_the_identity(decimals):
    P, _ = probability_data()
    out = RoundingPostProcessor(decimals=decimals).fit(P).transform(P)
    np.testing.assert_array_equal(out, P)
    assert out is not P


def test_rounding_at_float_precision_stays_exact():
    P, _ = probability_data()
    out = RoundingPostProcessor(decimals=15).fit(P).transform(P)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.abs(out - P) <= 1e-15 + 1e-16)


@pytest.mark.parametrize("kind", ["uniform", "gaussian"])
def test_huge_noise_scale_tends_to_the_noise_alone(kind):
    P, _ = probability_data()
    outputs = [
        NoisePostProcessor(scale=scale, kind=kind, preserve_label=False, random_state=0)
        .fit(P)
        .transform(P)
        for scale in (1e12, 1e308)
    ]
    assert_on_simplex(outputs[1])
    np.testing.assert_allclose(outputs[1], outputs[0], atol=1e-9)
    # Rows whose noise is all negative keep P (documented); the rest move.
    moved = np.abs(outputs[1] - P).sum(axis=1) > 0.01
    assert moved.mean() > 0.5


def test_top_label_and_huge_epsilon_stay_on_the_simplex():
    P, y = probability_data()
    assert_on_simplex(TopLabelPostProcessor().fit(P).transform(P * (1 + 1e-9)))
    defense = CMIPostProcessor(epsilon=1e300, random_state=0).fit(P, y)
    assert_on_simplex(defense.transform(np.vstack([P, np.eye(3)])))


# --- DefendedClassifier -------------------------------------------------------


class _NaNProba(LogisticRegression):
    def predict_proba(self, X):
        proba = super().predict_proba(X)
        proba[0] = np.nan
        return proba


def test_defended_classifier_refuses_non_finite_estimator_output():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=r"estimator's predict_proba \(_NaNProba\)"):
        DefendedClassifier(_NaNProba(max_iter=1000), random_state=0).fit(X, y)


def test_defended_classifier_one_row_names_X():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="X has 1 sample"):
        DefendedClassifier(random_state=0).fit(X[:1], y[:1])


# --- an integer random_state leaves the global random state alone ------------


def _global_states():
    torch = pytest.importorskip("torch")
    return torch.get_rng_state(), np.random.get_state()  # noqa: NPY002 (its subject)


def _assert_unchanged(before):
    torch_state, numpy_state = before
    after_torch, after_numpy = _global_states()
    assert after_torch.equal(torch_state)
    assert after_numpy[0] == numpy_state[0]
    np.testing.assert_array_equal(after_numpy[1], numpy_state[1])
    assert after_numpy[2:] == numpy_state[2:]


def test_fit_and_transform_leave_the_global_random_state_alone(defense):
    P, y = probability_data()
    if "alpha" in defense.get_params():
        defense.set_params(alpha=1.0, beta=1.0)  # build all three networks
    before = _global_states()
    transform(fit(defense, P, y), P)
    _assert_unchanged(before)


def test_defended_classifier_leaves_the_global_random_state_alone():
    pytest.importorskip("torch")
    from skmid.postprocessing import PurifierTransformer

    X, y = load_iris(return_X_y=True)
    before = _global_states()
    model = DefendedClassifier(
        LogisticRegression(max_iter=1000),
        PurifierTransformer(alpha=1.0, max_epochs=2),
        random_state=0,
    ).fit(X, y)
    model.predict_proba(X)
    _assert_unchanged(before)

