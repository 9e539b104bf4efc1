"""Attacks that measure how much a model leaks, as scikit-learn scorers."""

from ._adaptive import QueryAveraging
from ._base import (
    AttackMetric,
    AttackScorer,
    BaseAttack,
    TrainingRowsRecorder,
    make_attack_scorer,
)
from ._checks import attack_checks, check_attack, parametrize_with_attack_checks
from ._display import MembershipROCDisplay
from ._generative import GenerativeInversionAttack
from ._inversion import InversionModelAttack
from ._learned import LearnedAttributeInference
from ._lira import LiRAMembershipAttack, RMIAMembershipAttack
from ._map import MAPAttributeInference
from ._membership import (
    BaseMembershipAttack,
    KnownMembersMembershipAttack,
    LabelOnlyMembershipAttack,
    ShadowModelMembershipAttack,
)
from ._reconstruction import BaseClassReconstructionAttack, MIFaceAttack

__all__ = [
    "AttackMetric",
    "AttackScorer",
    "BaseAttack",
    "BaseClassReconstructionAttack",
    "BaseMembershipAttack",
    "GenerativeInversionAttack",
    "InversionModelAttack",
    "KnownMembersMembershipAttack",
    "LabelOnlyMembershipAttack",
    "LearnedAttributeInference",
    "LiRAMembershipAttack",
    "MAPAttributeInference",
    "MIFaceAttack",
    "MembershipROCDisplay",
    "QueryAveraging",
    "RMIAMembershipAttack",
    "ShadowModelMembershipAttack",
    "TrainingRowsRecorder",
    "attack_checks",
    "check_attack",
    "make_attack_scorer",
    "parametrize_with_attack_checks",
]
