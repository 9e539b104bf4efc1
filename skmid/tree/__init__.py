"""Categorical decision trees with the MID penalty, and their privacy baselines."""

from ._classes import BaseCategoricalTree, MIDDecisionTreeClassifier
from ._dp_id3 import DPID3Classifier
from ._tree import CategoricalTree, export_text

__all__ = [
    "BaseCategoricalTree",
    "CategoricalTree",
    "DPID3Classifier",
    "MIDDecisionTreeClassifier",
    "export_text",
]
