"""Neural-network defenses on skorch: MID for any network, the VIB classifier and
the DP-SGD baseline.

Importing this subpackage imports torch and skorch (the ``nn`` extra).
"""

from ._dpsgd import DPSGDClassifier, MLPModule
from ._mid_classifier import MIDClassifier
from ._modules import ConvNetModule
from ._vib import VIBClassifier, VIBModule

__all__ = [
    "ConvNetModule",
    "DPSGDClassifier",
    "MIDClassifier",
    "MLPModule",
    "VIBClassifier",
    "VIBModule",
]
