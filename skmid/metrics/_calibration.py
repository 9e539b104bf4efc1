"""Calibration of probabilistic classifiers."""

import numpy as np

from ..utils._validation import check_int, check_probabilities_and_labels


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
    check_int(n_bins, "n_bins", 1)
    codes, y_prob = check_probabilities_and_labels(y_true, y_prob, labels=labels)
    confidence = y_prob.max(axis=1)
    correct = (y_prob.argmax(axis=1) == codes).astype(np.float64)
    inner_edges = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    bins = np.searchsorted(inner_edges, confidence, side="left")
    gap = np.bincount(bins, weights=correct - confidence, minlength=n_bins)
    return float(np.abs(gap).sum() / len(codes))
