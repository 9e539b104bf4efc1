"""Attacks that measure how much a model leaks, as scikit-learn scorers."""

from ._base import AttackScorer, BaseAttack, make_attack_scorer
from ._map import MAPAttributeInference

__all__ = ["AttackScorer", "BaseAttack", "MAPAttributeInference", "make_attack_scorer"]
