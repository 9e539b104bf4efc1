import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skmid.attacks import InversionModelAttack, make_attack_scorer
from skmid.postprocessing import DefendedClassifier, TopLabelPostProcessor
from skmid.utils._probabilities import truncate_confidences

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    # target's training rows, the attacker's auxiliary rows, the victims
    return (X[:700], y[:700]), X[700:1400], (X[1400:], y[1400:])


@pytest.fixture(scope="module")
def target(digits):
    (X_train, y_train), _, _ = digits
    return LogisticRegression(max_iter=2000).fit(X_train, y_train)


def mean_image_error(X_aux, X_victims):
    return float(np.mean((X_victims - X_aux.mean(axis=0)) ** 2))


def test_reconstructs_digits_far_better_than_the_mean_image(digits, target):
    _, X_aux, (X_victims, _) = digits
    attack = InversionModelAttack(max_epochs=40, random_state=0).fit(X_aux)
    assert attack.output_activation_ == "sigmoid"
    error = attack.score(target, X_victims)
    baseline = mean_image_error(X_aux, X_victims)
    print(f"\ninversion error {error:.4f} vs mean image {baseline:.4f}")
    assert error < 0.75 * baseline
    # One-hot outputs leave only the label: the error rises.
    top_label = DefendedClassifier(target, TopLabelPostProcessor(), cv="prefit")
    top_label.fit(X_aux[:200], np.asarray(target.predict(X_aux[:200])))
    assert attack.score(top_label, X_victims) > error * 1.08


def test_constant_model_gives_the_mean_image_error(digits):
    (X_train, y_train), X_aux, (X_victims, _) = digits
    constant = DummyClassifier(strategy="prior").fit(X_train, y_train)
    attack = InversionModelAttack(max_epochs=40, random_state=0).fit(X_aux)
    error = attack.score(constant, X_victims)
    baseline = mean_image_error(X_aux, X_victims)
    assert error == pytest.approx(baseline, rel=0.05)


def test_network_cached_per_fitted_estimator(digits, target):
    (X_train, y_train), X_aux, (X_victims, _) = digits
    attack = InversionModelAttack(max_epochs=2, random_state=0).fit(X_aux)
    network = attack.inversion_network(target)
    assert attack.inversion_network(target) is network
    other = LogisticRegression(max_iter=2000).fit(X_train[:300], y_train[:300])
    assert attack.inversion_network(other) is not network
    refitted = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    first = attack.inversion_network(refitted)
    refitted.fit(X_train[:200], y_train[:200])
    assert attack.inversion_network(refitted) is not first
    restored = pickle.loads(pickle.dumps(attack))
    np.testing.assert_allclose(
        restored.infer(target, X_victims[:5]),
        attack.infer(target, X_victims[:5]),
        atol=1e-6,
    )


def test_reproducible_with_random_state(digits, target):
    _, X_aux, (X_victims, _) = digits
    a = InversionModelAttack(max_epochs=3, random_state=1).fit(X_aux)
    b = InversionModelAttack(max_epochs=3, random_state=1).fit(X_aux)
    np.testing.assert_array_equal(
        a.infer(target, X_victims), b.infer(target, X_victims)
    )


def test_image_shaped_inputs_and_linear_output(digits, target):
    _, X_aux, (X_victims, _) = digits
    flatten = FunctionTransformer(lambda X: np.asarray(X).reshape(len(X), -1))
    image_model = make_pipeline(flatten, target)
    attack = InversionModelAttack(max_epochs=2, random_state=0).fit(
        X_aux.reshape(-1, 8, 8) * 16
    )
    assert attack.output_activation_ == "linear" and attack.input_shape_ == (8, 8)
    reconstruction = attack.infer(image_model, X_victims.reshape(-1, 8, 8) * 16)
    assert reconstruction.shape == (len(X_victims), 8, 8)


def test_truncation():
    P = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    np.testing.assert_array_equal(
        truncate_confidences(P, 1), [[0.0, 0.6, 0.0], [0.5, 0.0, 0.0]]
    )
    np.testing.assert_array_equal(truncate_confidences(P, 3), P)


def test_scorer_reports_the_error_with_lower_is_more_leakage(digits, target):
    _, X_aux, (X_victims, _) = digits
    attack = InversionModelAttack(max_epochs=2, random_state=0).fit(X_aux)
    scorer = make_attack_scorer(attack, "mse")
    assert scorer.higher_is_more_leakage is False
    assert scorer(target, X_victims) == attack.score(target, X_victims)


def test_bad_input(digits, target):
    _, X_aux, (X_victims, _) = digits
    with pytest.raises(ValueError, match="at least 2 inputs"):
        InversionModelAttack().fit(X_aux[0])
    with pytest.raises(ValueError, match="NaN"):
        InversionModelAttack().fit(np.r_[X_aux[:3], [[np.nan] * 64]])
    with pytest.raises(ValueError, match="max_epochs"):
        InversionModelAttack(max_epochs=0).fit(X_aux)
    attack = InversionModelAttack(max_epochs=1).fit(X_aux)
    with pytest.raises(ValueError, match=r"inputs of shape \(63,\)"):
        attack.infer(target, X_victims[:, :63])
    with pytest.raises(ValueError, match="predict_proba"):
        attack.infer(object(), X_victims)
    with pytest.raises(ValueError, match="metric must be one of"):
        attack.score(target, X_victims, metric="psnr")
    with pytest.raises(ValueError, match="CUDA is not available"):
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA present")
        InversionModelAttack(device="cuda", max_epochs=1).fit(X_aux).infer(
            target, X_victims
        )


# -- hyper-parameters, scales and outputs (issue 15) --------------------------


@pytest.mark.parametrize("sizes", [(0,), (-1,), (8, 0), (1.5,), (True,)])
def test_hidden_layer_sizes_must_be_positive_integers(digits, sizes):
    _, X_aux, _ = digits
    with pytest.raises(
        ValueError, match="hidden_layer_sizes must be a sequence of positive integers"
    ):
        InversionModelAttack(hidden_layer_sizes=sizes).fit(X_aux)


def test_no_hidden_layer_is_a_linear_inversion(digits, target):
    _, X_aux, (X_victims, _) = digits
    attack = InversionModelAttack(
        hidden_layer_sizes=(), max_epochs=20, lr=0.01, random_state=0
    )
    error = attack.fit(X_aux).score(target, X_victims)
    assert error < 0.9 * mean_image_error(X_aux, X_victims)


@pytest.mark.parametrize("lr", [0.0, -1.0, np.nan, np.inf, 1e300])
def test_invalid_lr_names_it(digits, lr):
    _, X_aux, _ = digits
    with pytest.raises(ValueError, match="'lr'"):
        InversionModelAttack(lr=lr).fit(X_aux)


def test_inputs_beyond_float32_are_refused(digits):
    _, X_aux, _ = digits
    with pytest.raises(ValueError, match="X_aux holds values of magnitude up to 1e"):
        InversionModelAttack().fit(X_aux * 1e300)


def test_linear_output_learns_whatever_the_units(digits, target):
    # The network learns standardised inputs: in units a million times larger
    # the reconstructions are as good, relative to the mean image.
    _, X_aux, (X_victims, _) = digits
    unit = 1e6
    image_model = make_pipeline(FunctionTransformer(lambda X: X / unit), target)
    attack = InversionModelAttack((64,), max_epochs=10, random_state=0)
    attack.fit(X_aux * unit)
    assert attack.output_activation_ == "linear"
    error = attack.score(image_model, X_victims * unit)
    assert error < 0.8 * mean_image_error(X_aux * unit, X_victims * unit)


class NaNProbabilities(LogisticRegression):
    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), np.nan)


def test_non_finite_confidences_and_labels_are_errors(digits):
    (X_train, y_train), X_aux, (X_victims, _) = digits
    attack = InversionModelAttack(max_epochs=1).fit(X_aux)
    model = NaNProbabilities(max_iter=50).fit(X_train[:100], y_train[:100])
    with pytest.raises(ValueError, match="predict_proba produced NaN"):
        attack.score(model, X_victims)
    with pytest.raises(ValueError, match="y has 3 labels but X_aux has"):
        InversionModelAttack().fit(X_aux, y_train[:3])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        attack.infer(model, np.full_like(X_victims, np.nan))
