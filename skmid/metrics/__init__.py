"""Privacy and utility metrics of confidence vectors, and attack success."""

from ._attack_success import inversion_error, membership_advantage, tpr_at_fpr
from ._calibration import expected_calibration_error
from ._inversion import (
    fit_inversion_evaluator,
    inversion_attack_accuracy,
    inversion_knn_distance,
    make_inversion_evaluator,
)
from ._privacy import (
    conditional_mutual_information,
    confidence_distortion,
    normalized_entropy,
    output_mutual_information,
)

__all__ = [
    "conditional_mutual_information",
    "confidence_distortion",
    "expected_calibration_error",
    "fit_inversion_evaluator",
    "inversion_attack_accuracy",
    "inversion_error",
    "inversion_knn_distance",
    "make_inversion_evaluator",
    "membership_advantage",
    "normalized_entropy",
    "output_mutual_information",
    "tpr_at_fpr",
]
