"""Calibration of probabilistic classifiers."""

import numpy as np

from ..utils._validation import check_int, check_probabilities_and_labels

#: The most bins: float64 confidences in [0, 1] are no finer than 2**-53.
MAX_BINS = 2**53


def expected_calibration_error(y_true, y_prob, *, n_bins=15, labels=None):
    r"""Expected calibration error of the top-class confidence (Guo et al. 2017).

    Rows are grouped by their confidence :math:`\max_k p_k` into ``n_bins``
    equal-width bins :math:`B_m = ((m-1)/M, m/M]`, and

    .. math::

        \mathrm{ECE} = \sum_{m=1}^M \frac{|B_m|}{n}
        \left| \mathrm{acc}(B_m) - \mathrm{conf}(B_m) \right|,

    where :math:`\mathrm{acc}` is the accuracy of the argmax prediction and
    :math:`\mathrm{conf}` the mean confidence in the bin. Ties of the argmax go
    to the first column, as in :func:`numpy.argmax`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_prob : array-like of shape (n_samples, n_classes)
        Predicted probability vectors.
    n_bins : int, default=15
        Number of equal-width confidence bins.
    labels : array-like of shape (n_classes,), default=None
        The class of each column (like ``classes_``). If None, ``y_true`` holds
        column indices or exactly ``n_classes`` distinct labels in sorted order.

    Returns
    -------
    ece : float
        In [0, 1]; 0 for a perfectly calibrated classifier.

    Examples
    --------
    >>> from skmid.metrics import expected_calibration_error
    >>> y_prob = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]]
    >>> round(expected_calibration_error([0, 1, 1], y_prob, n_bins=10), 4)
    0.4
    """
    n_bins = check_int(n_bins, "n_bins", 1)
    if n_bins > MAX_BINS:
        raise ValueError(
            f"n_bins must be at most 2**53 (float64 confidences cannot be binned "
            f"more finely); got {n_bins}."
        )
    codes, y_prob = check_probabilities_and_labels(y_true, y_prob, labels=labels)
    confidence = y_prob.max(axis=1)
    correct = (y_prob.argmax(axis=1) == codes).astype(np.float64)
    # Only the occupied bins are materialised, so memory does not grow with
    # n_bins.
    _, occupied = np.unique(confidence_bins(confidence, n_bins), return_inverse=True)
    gap = np.bincount(occupied, weights=correct - confidence)
    return float(np.abs(gap).sum() / len(codes))


def confidence_bins(confidence, n_bins):
    """Index ``m`` of the bin ``(m / n_bins, (m + 1) / n_bins]`` of each confidence.

    A confidence of 0 goes to bin 0.
    """
    bins = np.ceil(confidence * n_bins) - 1
    # The product is rounded: move a confidence that landed on the wrong side
    # of an edge (such as 0.7 * 10 = 7.000000000000001) back.
    bins -= confidence <= bins / n_bins
    bins += confidence > (bins + 1) / n_bins
    return np.clip(bins, 0, n_bins - 1)
