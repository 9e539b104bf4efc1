"""Tests of MIDClassifier and its batch penalty."""

import numpy as np
import pytest

pytest.importorskip("skorch")

import torch  # noqa: E402
from scipy.special import softmax  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from skmid.linear_model._mid_logistic import mi_penalty_and_gradient  # noqa: E402
from skmid.metrics import output_mutual_information  # noqa: E402
from skmid.neural_network import MIDClassifier  # noqa: E402
from skmid.neural_network._mid_classifier import (  # noqa: E402
    batch_output_mutual_information,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


def test_batch_penalty_is_the_metric_with_the_analytic_gradient():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(16, 5))
    z = torch.tensor(logits, requires_grad=True)
    mi = batch_output_mutual_information(torch.log_softmax(z, dim=1))
    mi.backward()
    assert mi.item() == pytest.approx(
        output_mutual_information(softmax(logits, axis=1)), rel=1e-10
    )
    value, gradient = mi_penalty_and_gradient(logits, np.full(16, 1 / 16))
    assert mi.item() == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(z.grad.numpy(), gradient, atol=1e-12)


def test_batch_estimate_bias_is_miller_madow():
    """Confident distinct outputs, uniform over K classes: the batch plug-in is
    log K - (K - 1) / (2B) on average, the documented worst-case bias."""
    K, B = 10, 64
    rng = np.random.default_rng(0)
    classes = rng.integers(0, K, size=(4000, B))
    log_p = torch.log(torch.nn.functional.one_hot(torch.tensor(classes), K).double())
    estimates = [batch_output_mutual_information(batch).item() for batch in log_p]
    bias = np.mean(estimates) - np.log(K)
    assert bias < 0
    assert bias == pytest.approx(-(K - 1) / (2 * B), rel=0.15)


def test_penalty_lowers_output_information(digits):
    X, y = digits
    plain = MIDClassifier(lam=0.0, max_epochs=8, random_state=0).fit(X, y)
    mid = MIDClassifier(lam=2.0, max_epochs=8, random_state=0).fit(X, y)
    mi_plain = output_mutual_information(plain.predict_proba(X))
    mi_mid = output_mutual_information(mid.predict_proba(X))
    assert mi_mid < 0.6 * mi_plain
    assert mid.history[-1, "train_mi"] < plain.history[-1, "train_mi"]
    assert mid.score(X, y) > 0.8


class _LogitNet(torch.nn.Module):
    def __init__(self, n_features=64, n_classes=10, width=16):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, width)
        self.out = torch.nn.Linear(width, n_classes)
        self.scale = torch.nn.Parameter(torch.randn(1))  # no reset_parameters

    def forward(self, X):
        return self.out(torch.relu(self.hidden(X))) * self.scale.exp()


class _TupleNet(_LogitNet):
    def forward(self, X):
        return torch.softmax(super().forward(X), dim=-1), X.sum(dim=1)


@pytest.mark.parametrize(
    "module, criterion",
    [(_LogitNet, torch.nn.CrossEntropyLoss), (_TupleNet, torch.nn.NLLLoss)],
)
def test_any_module_reproducibly_without_global_rng(digits, module, criterion):
    X, y = digits
    state = torch.get_rng_state()
    model = MIDClassifier(
        module,
        criterion=criterion,
        lam=0.5,
        module__width=24,
        max_epochs=3,
        lr=1e-2,
        random_state=0,
    ).fit(X, y)
    assert torch.equal(state, torch.get_rng_state())
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.module_.hidden.out_features == 24
    again = clone(model).fit(X, y)
    np.testing.assert_array_equal(proba, again.predict_proba(X))
    assert np.isfinite(model.history[-1, "train_mi"])


def test_string_labels_and_bad_lam(digits):
    X, y = digits
    labels = np.array([f"digit {k}" for k in range(10)])[y]
    model = MIDClassifier(lam=0.5, max_epochs=2, random_state=0).fit(X, labels)
    assert set(model.predict(X)) <= set(labels)
    with pytest.raises(ValueError, match="lam"):
        MIDClassifier(lam=-1.0).fit(X, y)
