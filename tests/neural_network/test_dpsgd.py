import numpy as np
import pytest

pytest.importorskip("opacus")

from sklearn.datasets import load_digits  # noqa: E402

from skmid.neural_network import DPSGDClassifier  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:1200] / 16, y[:1200], X[1200:] / 16, y[1200:]


def test_spent_epsilon_within_target_and_more_budget_more_accuracy(digits):
    X, y, X_test, y_test = digits
    results = {}
    for epsilon in [0.5, 50.0]:
        model = DPSGDClassifier(epsilon=epsilon, max_epochs=8, random_state=0)
        model.fit(X, y)
        assert 0 < model.epsilon_spent_ <= epsilon * (1 + 1e-6)
        results[epsilon] = model.score(X_test, y_test)
    print(results)
    assert results[50.0] > results[0.5]
    assert results[50.0] > 0.5


def test_reproducible_and_no_opacus_wrappers_left(digits):
    X, y, X_test, _ = digits
    a = DPSGDClassifier(epsilon=4.0, max_epochs=2, random_state=0).fit(X, y)
    b = DPSGDClassifier(epsilon=4.0, max_epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    assert type(a.module_).__name__ == "MLPModule"
    import pickle

    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(
        restored.predict_proba(X_test), a.predict_proba(X_test)
    )


def test_gradients_flow_through_the_fitted_network(digits):
    # Opacus' per-sample-gradient hooks must not stay on the layers: a
    # white-box attack back-propagates through the fitted network.
    import torch

    from skmid.attacks import MIFaceAttack

    X, y, _, _ = digits
    model = DPSGDClassifier(epsilon=4.0, max_epochs=2, random_state=0).fit(X, y)
    assert not any(
        layer._forward_hooks or layer._backward_hooks
        for layer in model.module_.modules()
    )
    inputs = torch.zeros(2, X.shape[1], requires_grad=True)
    model.module_(inputs)[:, 0].sum().backward()
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all()
    attack = MIFaceAttack(max_iter=3, random_state=0).fit(X, y)
    images = attack.reconstruct(model, classes=[0, 1])
    assert images.shape[0] == 2 and np.isfinite(images).all()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"epsilon": 0.0}, "epsilon"),
        ({"delta": 2.0}, "delta"),
        ({"max_grad_norm": -1.0}, "max_grad_norm"),
    ],
)
def test_bad_parameters(digits, params, match):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=match):
        DPSGDClassifier(**params).fit(X, y)
