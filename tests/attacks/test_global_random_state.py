"""With an integer random_state, no attack reads or changes a global generator."""

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from skmid.attacks import (
    InversionModelAttack,
    KnownMembersMembershipAttack,
    ShadowModelMembershipAttack,
)

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(0)
    X = rng.random((80, 5))
    y = (X[:, 0] > 0.5).astype(int)
    member = np.arange(80) < 40
    target = DecisionTreeClassifier(random_state=0).fit(X[:40], y[:40])
    return X, y, member, target


def fit_and_score(name, X, y, member, target):
    if name == "inversion":
        attack = InversionModelAttack((8,), max_epochs=2, random_state=0).fit(X)
        return attack.score(target, X)
    if name == "known":
        attack = KnownMembersMembershipAttack(max_epochs=2, random_state=0)
        attack.fit(X, y, member)
        attack.score_members(target, X[:40], y[:40], X[40:], y[40:])
    else:  # the shadow model is a clone of the target; the attack model an MLP
        attack = ShadowModelMembershipAttack(top_k=2, random_state=0).fit(X, y)
    return attack.score(target, X, y, member)


@pytest.mark.parametrize("name", ["inversion", "known", "shadow"])
def test_global_random_state_is_untouched(task, name):
    torch.manual_seed(1234)
    np.random.seed(1234)  # noqa: NPY002 - the global state is what is checked
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()  # noqa: NPY002
    score = fit_and_score(name, *task)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == numpy_state[0] and after[2:] == numpy_state[2:]
    np.testing.assert_array_equal(after[1], numpy_state[1])
    # and the result does not depend on the global state either
    torch.manual_seed(99)
    np.random.seed(99)  # noqa: NPY002
    assert fit_and_score(name, *task) == score
