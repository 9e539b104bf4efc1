"""The generative-prior attacks: GMI (white-box), Mirror/RLB (black-box), BREP-MI."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from skmid.attacks import GenerativeInversionAttack, check_attack
from skmid.attacks._reconstruction import FINGERPRINT_ROWS
from skmid.datasets import load_inversion_split
from skmid.metrics import inversion_attack_accuracy
from tests._doubles import CountingModel

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def digits():
    data = load_inversion_split("digits")
    model = LogisticRegression(max_iter=1000).fit(data.X_private, data.y_private)
    return data, model


@pytest.fixture(scope="module")
def fitted(digits):
    data, _ = digits
    return GenerativeInversionAttack(max_epochs=40, random_state=0).fit(data.X_public)


def _with_access(attack, **params):
    """The fitted attack with other search settings (the prior is kept)."""
    other = clone(attack).set_params(**params)
    other.__dict__.update(
        {k: v for k, v in attack.__dict__.items() if k.endswith("_") or k[0] == "_"}
    )
    return other


def test_prior_samples_look_like_the_public_images(digits, fitted):
    data, _ = digits
    samples = fitted.sample(50, random_state=0)
    assert samples.shape == (50, 64)
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    noise = np.random.RandomState(0).uniform(size=(50, 64))

    def nearest(images):
        gaps = ((images[:, None, :] - data.X_public[None, :, :]) ** 2).sum(-1)
        return np.sqrt(gaps.min(axis=1)).mean()

    assert nearest(samples) < 0.5 * nearest(noise)
    assert np.isfinite(fitted.elbo_) and fitted.elbo_ < 40


@pytest.mark.parametrize("access", ["white-box", "black-box", "label-only"])
def test_beats_the_public_mean_on_digits(digits, fitted, access):
    data, model = digits
    classes = data.private_classes
    same = np.repeat(data.X_public.mean(axis=0, keepdims=True), len(classes), 0)
    baseline = inversion_attack_accuracy(data.X_private, data.y_private, same, classes)
    attack = _with_access(fitted, access=access)
    accuracy = attack.score(model, data.X_private, data.y_private)
    assert baseline == pytest.approx(0.2)
    assert accuracy >= 0.4 > baseline
    # The target sees every reconstruction as its class.
    images = attack.reconstruct(model)
    assert np.mean(model.predict(images) == classes) >= 0.8


@pytest.mark.parametrize("access", ["black-box", "label-only"])
def test_query_budget_is_honoured_and_counted(digits, fitted, access):
    data, model = digits
    counting = CountingModel(model)
    attack = _with_access(fitted, access=access, max_queries=300)
    attack.reconstruct(counting, classes=[0, 2, 4])
    # The reconstruction cache fingerprints the model on a few public rows.
    assert attack.n_queries_ + FINGERPRINT_ROWS == counting.rows
    assert 0 < attack.n_queries_ <= 3 * 300


def test_white_box_sends_no_query(digits, fitted):
    data, model = digits
    counting = CountingModel(model)
    attack = _with_access(fitted, max_iter=5)
    with pytest.raises(ValueError, match="access='black-box'"):
        attack.reconstruct(counting)  # no gradient through a wrapper
    attack.reconstruct(model)
    assert attack.n_queries_ == 0


def test_reproducible_with_random_state(digits):
    data, model = digits
    attack = GenerativeInversionAttack(
        "black-box", max_epochs=3, max_iter=10, random_state=0
    )
    first = attack.fit(data.X_public).reconstruct(model)
    second = clone(attack).fit(data.X_public).reconstruct(model)
    np.testing.assert_array_equal(first, second)
    third = clone(attack).set_params(random_state=1).fit(data.X_public)
    assert not np.array_equal(first, third.reconstruct(model))


def test_a_given_decoder_is_the_prior(digits):
    data, model = digits
    decoder = torch.nn.Sequential(torch.nn.Linear(3, 64), torch.nn.Sigmoid())
    attack = GenerativeInversionAttack(
        prior=decoder, latent_dim=3, max_iter=5, random_state=0
    ).fit(data.X_public)
    assert attack.decoder_ is decoder and np.isnan(attack.elbo_)
    z = np.zeros((2, 3))
    with torch.no_grad():
        expected = decoder(torch.zeros(2, 3)).numpy()
    np.testing.assert_allclose(attack.decode(z), expected, rtol=1e-6)
    assert attack.reconstruct(model).shape == (5, 64)
    with pytest.raises(ValueError, match="z must have shape"):
        attack.decode(np.zeros((2, 4)))


def test_clear_errors(digits, fitted):
    data, model = digits
    tree = DecisionTreeClassifier().fit(data.X_private, data.y_private)
    with pytest.raises(ValueError, match="access='black-box'"):
        _with_access(fitted).reconstruct(tree)
    with pytest.raises(ValueError, match="max_queries"):
        _with_access(fitted, access="black-box", max_queries=10).reconstruct(model)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        GenerativeInversionAttack(hidden_layer_sizes=(0,)).fit(data.X_public)
    with pytest.raises(ValueError, match="never saw"):
        fitted.reconstruct(model, classes=[9])


@pytest.mark.parametrize("access", ["white-box", "black-box", "label-only"])
def test_check_attack(access):
    check_attack(GenerativeInversionAttack(access, max_epochs=2, max_iter=5))
