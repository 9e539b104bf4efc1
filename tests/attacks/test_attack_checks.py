"""Every attack found by discovery keeps the attack contract; broken ones fail."""

import importlib
import inspect
import math

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from skmid.attacks import (
    AttackMetric,
    BaseAttack,
    BaseClassReconstructionAttack,
    MAPAttributeInference,
    attack_checks,
    check_attack,
    parametrize_with_attack_checks,
)
from skmid.attacks._checks import (
    check_clone_and_get_params,
    check_declarations,
    check_fit_returns_self,
    check_infer_outputs,
    check_not_fitted,
    check_score_arguments,
    check_scores_within_range,
)
from skmid.metrics import inversion_error
from skmid.utils._validation import check_finite_inputs


def all_attacks():
    """Every non-abstract BaseAttack subclass in skmid.attacks.__all__."""
    module = importlib.import_module("skmid.attacks")
    return sorted(
        (
            getattr(module, name)
            for name in module.__all__
            if inspect.isclass(getattr(module, name))
            and issubclass(getattr(module, name), BaseAttack)
            and not inspect.isabstract(getattr(module, name))
        ),
        key=lambda cls: cls.__name__,
    )


ATTACKS = [cls() for cls in all_attacks()]


def test_discovery_finds_the_attacks_and_no_base_class():
    names = {type(attack).__name__ for attack in ATTACKS}
    assert {
        "GenerativeInversionAttack",
        "InversionModelAttack",
        "KnownMembersMembershipAttack",
        "LabelOnlyMembershipAttack",
        "LearnedAttributeInference",
        "MAPAttributeInference",
        "MIFaceAttack",
        "ShadowModelMembershipAttack",
    } <= names
    assert not names & {
        "BaseAttack",
        "BaseClassReconstructionAttack",
        "BaseMembershipAttack",
    }


@parametrize_with_attack_checks(ATTACKS)
def test_attack_contract(attack, check):
    if "device" in attack.get_params():  # the torch-trained attacks
        pytest.importorskip("torch")
    check(attack)


# -- a new attack written against the contract, as in the user guide ---------------
class MeanImageAttack(BaseAttack):
    """Reconstructs every input as the mean of the attacker's inputs."""

    kind = "reconstruction"
    _metrics = {"mse": AttackMetric(inversion_error, False, (0.0, math.inf))}
    default_metric = "mse"

    def __init__(self, *, shrink=0.0):
        self.shrink = shrink

    def fit(self, X, y=None):
        X = self._check(X, y)
        self.mean_ = (1 - self.shrink) * X.mean(axis=0)
        return self

    @staticmethod
    def _check(X, y):
        X = check_finite_inputs(X, "X")
        if y is not None and len(y) != len(X):
            raise ValueError("y must have one entry per row of X.")
        return X

    def infer(self, estimator, X, y=None):
        self._check_fitted()
        X = self._check(X, y)
        if X.shape[1:] != self.mean_.shape:
            raise ValueError(f"X has inputs of shape {X.shape[1:]}.")
        # The attacked model is queried as a real attack would query it.
        estimator.predict_proba(X)
        return np.broadcast_to(self.mean_, X.shape).copy()

    def _score(self, estimator, X, y, member, metric_function):
        return metric_function(X, self.infer(estimator, X, y))


def test_a_new_attack_passes_the_suite():
    check_attack(MeanImageAttack())
    assert [check.__name__ for check in attack_checks(MeanImageAttack())] == [
        check.__name__ for check in attack_checks(ATTACKS[0])
    ]


def test_check_attack_refuses_what_is_not_an_attack():
    with pytest.raises(TypeError, match="skmid attack"):
        check_attack(LinearRegression())


# -- broken attacks fail the check of the broken part ------------------------------
def _out_of_range_accuracy(truth, guess, proba):
    return 2.0


class OutOfRange(MAPAttributeInference):
    _metrics = {"accuracy": AttackMetric(_out_of_range_accuracy, True, (0.0, 1.0))}


class WrongKind(MeanImageAttack):
    kind = "reconstructions"


class ChangesItsParameters(MeanImageAttack):
    def __init__(self, *, shrink=0.0):
        self.shrink = float(shrink) + 0.5


class FitReturnsNothing(MeanImageAttack):
    def fit(self, X, y=None):
        super().fit(X, y)


class NoFittedCheck(MeanImageAttack):
    def infer(self, estimator, X, y=None):
        return np.zeros(np.shape(X))

    def _score(self, estimator, X, y, member, metric_function):
        return 0.0


class IgnoresMember(MeanImageAttack):
    def score(self, estimator, X, y=None, member=None, *, metric=None):
        return self._score(estimator, X, y, member, inversion_error)


@pytest.mark.parametrize(
    "attack, check, message",
    [
        (OutOfRange(2), check_scores_within_range, "outside its declared range"),
        (WrongKind(), check_declarations, "kind must be one of"),
        (ChangesItsParameters(), check_clone_and_get_params, "must only store"),
        (FitReturnsNothing(), check_fit_returns_self, "must return self"),
        (NoFittedCheck(), check_not_fitted, "expected NotFittedError"),
        (IgnoresMember(), check_score_arguments, "with member"),
    ],
    ids=[
        "out-of-range",
        "wrong-kind",
        "changes-parameters",
        "fit-returns-none",
        "no-fitted-check",
        "ignores-member",
    ],
)
def test_a_broken_attack_fails_its_check(attack, check, message):
    with pytest.raises(AssertionError, match=message):
        check(attack)
    with pytest.raises(AssertionError, match=message):
        check_attack(attack)


# -- the class-reconstruction kind ---------------------------------------------------
class PublicMeanAttack(BaseClassReconstructionAttack):
    """Gives the mean public image for every class: an attack that learns nothing."""

    def __init__(self, *, evaluator=None, random_state=None):
        self.evaluator = evaluator
        self.random_state = random_state

    def _fit(self, X):
        self.mean_ = X.mean(axis=0)

    def _reconstruct(self, estimator, codes):
        return np.repeat(self.mean_[None, :], len(codes), axis=0)


class OneImagePerClassFromInfer(PublicMeanAttack):
    def infer(self, estimator, X, y=None):
        return self.reconstruct(estimator)  # one per class, not one per row


def test_a_class_reconstruction_attack_passes_the_suite_and_scores_chance():
    check_attack(PublicMeanAttack())
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(90, 4))
    y = np.repeat([0, 1, 2], 30)
    X[y == 1, 0] += 1
    X[y == 2, 1] += 1
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(X, y)
    attack = PublicMeanAttack().fit(X[::2])
    assert attack.score(model, X, y) == pytest.approx(1 / 3)
    assert attack.higher_is_more_leakage() and attack.kind == "class_reconstruction"


def test_a_class_reconstruction_attack_must_infer_per_row():
    with pytest.raises(AssertionError, match="infer gave 3 rows for 30"):
        check_infer_outputs(OneImagePerClassFromInfer())
