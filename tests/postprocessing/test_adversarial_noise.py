"""AdversarialNoiseDefense: budget, label, simplex, batching, no_grad, effect."""

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

torch = pytest.importorskip("torch")

from skmid.attacks import InversionModelAttack  # noqa: E402
from skmid.postprocessing import (  # noqa: E402
    AdversarialNoiseDefense,
    DefendedClassifier,
)


@pytest.fixture(scope="module")
def digits_case():
    """A target, reference outputs and inputs, and query outputs and inputs."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    target = LogisticRegression(C=0.05, max_iter=2000).fit(X[:700], y[:700])
    reference, query = slice(700, 1100), slice(1100, 1300)
    return (
        target,
        target.predict_proba(X[reference]),
        X[reference],
        target.predict_proba(X[query]),
        X[query],
    )


@pytest.fixture(scope="module")
def fitted(digits_case):
    _, P_ref, X_ref, _, _ = digits_case
    defense = AdversarialNoiseDefense(
        InversionModelAttack(hidden_layer_sizes=(64,), max_epochs=30),
        random_state=0,
    )
    return defense.fit(P_ref, inputs=X_ref)


def with_params(defense, **params):
    """A copy sharing the trained inversion network, with other noise settings."""
    copy = clone(defense).set_params(**params)
    for name in (
        "inversion_attack_",
        "inversion_network_",
        "input_shape_",
        "n_features_in_",
    ):
        setattr(copy, name, getattr(defense, name))
    return copy


@pytest.mark.parametrize("norm", [1, 2, np.inf])
@pytest.mark.parametrize("epsilon", [0.05, 1.0, 5.0])
def test_noise_stays_within_the_budget(fitted, digits_case, norm, epsilon):
    _, _, _, P, X = digits_case
    defense = with_params(fitted, norm=norm, epsilon=epsilon, step_size=0.5)
    noise = defense.logit_noise(P, inputs=X)
    sizes = np.linalg.norm(noise, ord=norm, axis=1)
    assert sizes.max() <= epsilon
    assert sizes.max() > 0.5 * epsilon  # the budget is used, not ignored


def test_output_is_softmax_of_noisy_logits_on_the_simplex(fitted, digits_case):
    _, _, _, P, X = digits_case
    P = P.copy()
    P[:5, 3] = 0.0  # classes with probability 0 stay at 0
    P /= P.sum(axis=1, keepdims=True)
    out = fitted.transform(P, inputs=X)
    noise = fitted.logit_noise(P, inputs=X)
    with np.errstate(divide="ignore"):
        expected = softmax(np.log(P) + noise, axis=1)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)
    assert np.all(out[:5, 3] == 0.0) and np.all(noise[:5, 3] == 0.0)
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)


def test_label_is_kept_on_every_row_ties_included(fitted, digits_case):
    _, _, _, P, X = digits_case
    rng = np.random.default_rng(0)
    ties = np.full((50, 10), 0.05)
    first, second = rng.choice(10, size=(2, 50))
    second = np.where(second == first, (first + 1) % 10, second)
    ties[np.arange(50), first] = 0.3
    ties[np.arange(50), second] = 0.3
    ties /= ties.sum(axis=1, keepdims=True)
    P_all = np.vstack([P, ties])
    X_all = np.vstack([X, X[:50]])
    for step_size in (0.1, 2.0):
        out = with_params(fitted, step_size=step_size, epsilon=10.0).transform(
            P_all, inputs=X_all
        )
        np.testing.assert_array_equal(out.argmax(axis=1), P_all.argmax(axis=1))


def test_noise_fools_the_defenders_own_inversion_model(fitted, digits_case):
    _, _, _, P, X = digits_case
    from skmid.utils._torch import predict_in_batches

    network = fitted.inversion_network_

    def error(Q, rows=slice(None)):
        reconstruction = predict_in_batches(network, Q[rows], torch.device("cpu"))
        return np.mean((reconstruction - X[rows]) ** 2)

    defense = with_params(fitted, epsilon=2.0)
    noise = defense.logit_noise(P, inputs=X)
    defended = softmax(np.log(P) + noise, axis=1)
    # Random logit noise of the same size per row, kept only where the label holds.
    rng = np.random.default_rng(0)
    direction = rng.normal(size=P.shape)
    direction *= (np.linalg.norm(noise, axis=1) / np.linalg.norm(direction, axis=1))[
        :, None
    ]
    random = softmax(np.log(P) + direction, axis=1)
    same = random.argmax(axis=1) == P.argmax(axis=1)
    assert error(defended) > 1.05 * error(P)
    gain = error(defended, same) - error(P, same)
    assert error(random, same) - error(P, same) < 0.5 * gain


def test_more_budget_moves_outputs_further(fitted, digits_case):
    _, _, _, P, X = digits_case
    distortion = [
        np.abs(with_params(fitted, epsilon=e).transform(P, inputs=X) - P).sum(1).mean()
        for e in (0.0, 0.3, 3.0)
    ]
    assert distortion[0] < 1e-12 < distortion[1] < distortion[2]


def test_rows_are_processed_as_one_batch(fitted, digits_case):
    _, _, _, P, X = digits_case
    calls = []
    network = fitted.inversion_network_

    class Counting(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = network

        def forward(self, batch):
            calls.append(len(batch))
            return self.inner(batch)

    defense = with_params(fitted, n_iter=4)
    expected = defense.transform(P, inputs=X)
    defense.inversion_network_ = Counting()
    np.testing.assert_array_equal(defense.transform(P, inputs=X), expected)
    assert calls == [len(P)] * 4
    one = defense.transform(P[:1], inputs=X[:1])
    np.testing.assert_allclose(one, expected[:1], rtol=1e-6, atol=1e-9)


def test_works_when_the_caller_turned_gradients_off(fitted, digits_case):
    _, _, _, P, X = digits_case
    expected = fitted.transform(P, inputs=X)
    with torch.no_grad():
        np.testing.assert_array_equal(fitted.transform(P, inputs=X), expected)
    with torch.inference_mode():
        np.testing.assert_array_equal(fitted.transform(P, inputs=X), expected)


def test_inputs_are_required_and_checked(fitted, digits_case):
    _, P_ref, X_ref, P, X = digits_case
    with pytest.raises(ValueError, match=r"transform\(P, \.\.\., inputs=X\)"):
        fitted.transform(P)
    with pytest.raises(ValueError, match="needs the inputs behind P"):
        AdversarialNoiseDefense().fit(P_ref)
    with pytest.raises(ValueError, match="200 rows but inputs has 10"):
        fitted.transform(P, inputs=X[:10])
    with pytest.raises(ValueError, match="sums to"):
        fitted.transform(P * 2, inputs=X)
    with pytest.raises(ValueError, match="norm"):
        AdversarialNoiseDefense(norm=3).fit(P_ref, inputs=X_ref)
    with pytest.raises(ValueError, match="epsilon"):
        AdversarialNoiseDefense(epsilon=-1.0).fit(P_ref, inputs=X_ref)


def test_given_attack_is_cloned_and_seeded(digits_case):
    _, P_ref, X_ref, P, X = digits_case
    attack = InversionModelAttack(hidden_layer_sizes=(16,), max_epochs=3)
    make = AdversarialNoiseDefense(attack, random_state=1)
    first = clone(make).fit(P_ref, inputs=X_ref)
    assert not hasattr(attack, "X_aux_")
    assert first.inversion_attack_.random_state is not None
    second = clone(make).fit(P_ref, inputs=X_ref)
    np.testing.assert_array_equal(
        first.transform(P, inputs=X), second.transform(P, inputs=X)
    )


def test_truncating_attack_is_supported(digits_case):
    _, P_ref, X_ref, P, X = digits_case
    attack = InversionModelAttack(hidden_layer_sizes=(16,), max_epochs=3, truncate=3)
    defense = AdversarialNoiseDefense(attack, random_state=0).fit(P_ref, inputs=X_ref)
    out = defense.transform(P, inputs=X)
    np.testing.assert_array_equal(out.argmax(axis=1), P.argmax(axis=1))
    assert np.abs(out - P).sum() > 0


def test_defended_classifier_passes_query_inputs(digits_case):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    model = DefendedClassifier(
        LogisticRegression(C=0.05, max_iter=2000),
        AdversarialNoiseDefense(
            InversionModelAttack(hidden_layer_sizes=(32,), max_epochs=10)
        ),
        random_state=0,
    ).fit(X[:800], y[:800])
    queries = X[800:1000]
    np.testing.assert_array_equal(
        model.predict(queries), model.estimator_.predict(queries)
    )
    P = model.estimator_.predict_proba(queries)
    np.testing.assert_allclose(
        model.predict_proba(queries),
        model.defense_.transform(P, inputs=queries),
    )
    assert np.abs(model.predict_proba(queries) - P).sum(axis=1).mean() > 0.01


def test_huge_step_size_still_spends_the_budget(fitted, digits_case):
    _, _, _, P, X = digits_case
    defense = with_params(fitted, step_size=1e300, epsilon=1.0)
    noise = defense.logit_noise(P, inputs=X)
    assert np.all(np.isfinite(noise))
    sizes = np.linalg.norm(noise, axis=1)
    assert sizes.max() <= 1.0 and sizes.min() > 0.5
    out = defense.transform(P, inputs=X)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(out.argmax(axis=1), P.argmax(axis=1))


def test_inputs_of_another_width_or_magnitude_are_named_errors(fitted, digits_case):
    _, P_ref, X_ref, P, X = digits_case
    with pytest.raises(ValueError, match="inputs has 63 values per row.*64"):
        fitted.transform(P, inputs=X[:, :-1])
    with pytest.raises(ValueError, match="inputs holds values of magnitude"):
        fitted.transform(P, inputs=X * 1e35)
    with pytest.raises(ValueError, match="inputs holds values of magnitude"):
        AdversarialNoiseDefense().fit(P_ref, inputs=X_ref * 1e35)
    with pytest.raises(ValueError, match=r"P has 1 row\(s\)"):
        AdversarialNoiseDefense().fit(P_ref[:1], inputs=X_ref[:1])


def test_diverged_inversion_network_is_a_named_error(digits_case):
    _, P_ref, X_ref, _, _ = digits_case
    # skorch's name, lr; learning_rate until the attack takes it.
    rate = "lr" if "lr" in InversionModelAttack().get_params() else "learning_rate"
    # One step of a huge rate: no loss the attack computes shows it, but the
    # linear output (inputs outside [0, 1]) overflows float32.
    attack = InversionModelAttack(
        hidden_layer_sizes=(16,), max_epochs=1, batch_size=1000, **{rate: 1e30}
    )
    defense = AdversarialNoiseDefense(attack, random_state=0)
    with pytest.raises(ValueError, match=rf"inversion_attack's {rate} \(got 1e\+30\)"):
        defense.fit(P_ref, inputs=2 * X_ref - 1)


def test_fit_and_transform_are_the_base_templates():
    from skmid.postprocessing import BasePostProcessor

    for method in ("fit", "transform", "fit_transform"):
        assert getattr(AdversarialNoiseDefense, method) is getattr(
            BasePostProcessor, method
        )


def test_fit_transform_passes_the_inputs_to_fit_and_transform(digits_case):
    _, P_ref, X_ref, _, _ = digits_case
    attack = InversionModelAttack(hidden_layer_sizes=(16,), max_epochs=3)
    make = AdversarialNoiseDefense(attack, n_iter=3, random_state=0)
    fitted = clone(make).fit(P_ref, inputs=X_ref)
    np.testing.assert_array_equal(
        clone(make).fit_transform(P_ref, inputs=X_ref),
        fitted.transform(P_ref, inputs=X_ref),
    )


def test_a_pipeline_routes_the_inputs(fitted, digits_case):
    import sklearn
    from sklearn.pipeline import Pipeline

    from skmid.postprocessing import RoundingPostProcessor

    _, P_ref, X_ref, P, X = digits_case
    steps = [("noise", clone(fitted)), ("round", RoundingPostProcessor(decimals=2))]
    with sklearn.config_context(enable_metadata_routing=True):
        pipeline = Pipeline(steps).fit(P_ref, inputs=X_ref)
        out = pipeline.transform(P, inputs=X)
    expected = pipeline["round"].transform(pipeline["noise"].transform(P, inputs=X))
    np.testing.assert_array_equal(out, expected)
    assert np.abs(out - RoundingPostProcessor(decimals=2).fit_transform(P)).max() > 0
    np.testing.assert_array_equal(out.argmax(axis=1), P.argmax(axis=1))
