"""Privacy and utility metrics of confidence vectors."""

from ._calibration import expected_calibration_error
from ._privacy import (
    conditional_mutual_information,
    confidence_distortion,
    normalized_entropy,
)

__all__ = [
    "conditional_mutual_information",
    "confidence_distortion",
    "expected_calibration_error",
    "normalized_entropy",
]
