"""Neural-network defenses on skorch: the VIB classifier and the DP-SGD baseline.

Importing this subpackage imports torch and skorch (the ``nn`` extra).
"""

from ._dpsgd import DPSGDClassifier, MLPModule
from ._vib import VIBClassifier, VIBModule

__all__ = [
    "DPSGDClassifier",
    "MLPModule",
    "VIBClassifier",
    "VIBModule",
]
