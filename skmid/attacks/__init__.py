"""Attacks that measure how much a model leaks, as scikit-learn scorers."""

from ._base import (
    AttackMetric,
    AttackScorer,
    BaseAttack,
    TrainingRowsRecorder,
    make_attack_scorer,
)
from ._checks import attack_checks, check_attack, parametrize_with_attack_checks
from ._inversion import InversionModelAttack
from ._map import MAPAttributeInference
from ._membership import (
    BaseMembershipAttack,
    KnownMembersMembershipAttack,
    LabelOnlyMembershipAttack,
    ShadowModelMembershipAttack,
)

__all__ = [
    "AttackMetric",
    "AttackScorer",
    "BaseAttack",
    "BaseMembershipAttack",
    "InversionModelAttack",
    "KnownMembersMembershipAttack",
    "LabelOnlyMembershipAttack",
    "MAPAttributeInference",
    "ShadowModelMembershipAttack",
    "TrainingRowsRecorder",
    "attack_checks",
    "check_attack",
    "make_attack_scorer",
    "parametrize_with_attack_checks",
]
