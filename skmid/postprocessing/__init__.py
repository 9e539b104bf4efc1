"""Post-processing defenses on confidence vectors, and a classifier applying them."""

from ._adversarial_noise import AdversarialNoiseDefense
from ._base import BasePostProcessor, preserve_predicted_label
from ._baselines import NoisePostProcessor, RoundingPostProcessor, TopLabelPostProcessor
from ._cmi import CMIPostProcessor
from ._defended import DefendedClassifier
from ._purifier import PurifierTransformer
from ._waterfill import waterfill

__all__ = [
    "AdversarialNoiseDefense",
    "BasePostProcessor",
    "CMIPostProcessor",
    "DefendedClassifier",
    "NoisePostProcessor",
    "PurifierTransformer",
    "RoundingPostProcessor",
    "TopLabelPostProcessor",
    "preserve_predicted_label",
    "waterfill",
]
