"""Real and synthetic data sets with a sensitive feature to attack."""

from ._base import get_data_home
from ._splits import load_inversion_split, split_private_public
from ._steak import fetch_steak_survey
from ._synthetic import make_sensitive_classification, make_sensitive_regression
from ._warfarin import load_warfarin

__all__ = [
    "fetch_steak_survey",
    "get_data_home",
    "load_inversion_split",
    "load_warfarin",
    "make_sensitive_classification",
    "make_sensitive_regression",
    "split_private_public",
]
