"""Attacks that measure how much a model leaks, as scikit-learn scorers."""

from ._base import (
    AttackScorer,
    BaseAttack,
    TrainingRowsRecorder,
    make_attack_scorer,
)
from ._inversion import InversionModelAttack
from ._map import MAPAttributeInference
from ._membership import (
    BaseMembershipAttack,
    KnownMembersMembershipAttack,
    LabelOnlyMembershipAttack,
    ShadowModelMembershipAttack,
)

__all__ = [
    "AttackScorer",
    "BaseAttack",
    "BaseMembershipAttack",
    "InversionModelAttack",
    "KnownMembersMembershipAttack",
    "LabelOnlyMembershipAttack",
    "MAPAttributeInference",
    "ShadowModelMembershipAttack",
    "TrainingRowsRecorder",
    "make_attack_scorer",
]
