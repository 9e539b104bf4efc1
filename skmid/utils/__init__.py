"""Validation helpers, optional-dependency imports and estimator discovery."""

from ._optional import import_optional_dependency
from ._validation import (
    check_finite_output,
    check_probabilities_and_labels,
    check_probability_matrix,
    encode_class_labels,
    resolve_sensitive_columns,
)

__all__ = [
    "check_finite_output",
    "check_probabilities_and_labels",
    "check_probability_matrix",
    "encode_class_labels",
    "import_optional_dependency",
    "resolve_sensitive_columns",
]
