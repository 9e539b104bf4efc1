"""Helpers on probability (confidence) matrices, shared by every layer."""

import numpy as np

#: The largest magnitude of an auxiliary input: the inversion network computes
#: in float32 (at most 3.4e38), with room for its last layer's arithmetic.
MAX_INPUT_MAGNITUDE = 1e30


def truncate_confidences(P, k):
    """Keep each row's ``k`` largest confidences and set the rest to zero."""
    if k is None or k >= P.shape[1]:
        return P
    kept = np.zeros_like(P)
    top = np.argpartition(-P, k - 1, axis=1)[:, :k]
    rows = np.arange(P.shape[0])[:, None]
    kept[rows, top] = P[rows, top]
    return kept


def class_probability_sums(y_codes, y_prob, n_classes):
    """Sum of the probability vectors of the rows of each class, and row counts."""
    counts = np.bincount(y_codes, minlength=n_classes).astype(np.float64)
    sums = np.zeros((n_classes, y_prob.shape[1]))
    np.add.at(sums, y_codes, y_prob)
    return sums, counts


def class_mean_probabilities(y_codes, y_prob, n_classes):
    """Mean probability vector of the rows of each class (NaN for absent ones)."""
    sums, counts = class_probability_sums(y_codes, y_prob, n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None], counts
