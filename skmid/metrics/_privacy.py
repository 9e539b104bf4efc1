"""Information-theoretic and distortion metrics of a model's confidence vectors.

All logarithms are natural: entropies and mutual informations are in nats.
"""

import numpy as np
from scipy.special import xlogy

from ..utils._probabilities import class_probability_sums
from ..utils._validation import (
    check_finite_output,
    check_probabilities_and_labels,
    check_probability_matrix,
    check_scalar_choice,
)


def normalized_entropy(p):
    r"""Entropy of each probability vector divided by its maximum, in [0, 1].

    This is eq. (12) of the Stealthy Shield Defense paper,

    .. math::

        \bar H(p) = -\frac{1}{\log K} \sum_{k=1}^K p_k \log p_k,

    with :math:`0 \log 0 = 0`. A one-hot row has normalized entropy 0 and the
    uniform row has 1.

    Parameters
    ----------
    p : array-like of shape (n_samples, n_classes)
        Probability vectors, ``n_classes >= 2``.

    Returns
    -------
    entropy : ndarray of shape (n_samples,)
        Normalized entropy of each row.

    Examples
    --------
    >>> from skmid.metrics import normalized_entropy
    >>> normalized_entropy([[1.0, 0.0], [0.5, 0.5], [0.25, 0.75]]).round(4)
    array([0.    , 1.    , 0.8113])
    """
    p = check_probability_matrix(p, input_name="p")
    if p.shape[1] < 2:
        raise ValueError("normalized_entropy needs at least 2 classes; got 1 column.")
    return normalized_entropy_unchecked(p)


def normalized_entropy_unchecked(p):
    """:func:`normalized_entropy` of a validated matrix with >= 2 columns."""
    entropy = -xlogy(p, p).sum(axis=1) / np.log(p.shape[1])
    return np.clip(entropy, 0.0, 1.0) + 0.0  # + 0.0 turns -0.0 into 0.0


def confidence_distortion(p_original, p_defended, *, norm=1, reduce="mean"):
    """Distance between original and defended confidence vectors, row by row.

    With ``norm=1`` and ``reduce="mean"`` or ``"max"`` this is the papers'
    "Avg L1" and "Max L1" distortion of a post-processing defense.

    Parameters
    ----------
    p_original : array-like of shape (n_samples, n_classes)
        Probability vectors before the defense.
    p_defended : array-like of shape (n_samples, n_classes)
        Probability vectors after the defense, row for row.
    norm : {1, 2}, default=1
        L1 or L2 distance.
    reduce : {"mean", "max"} or None, default="mean"
        How to reduce the per-row distances; None returns them all.

    Returns
    -------
    distortion : float or ndarray of shape (n_samples,)

    Examples
    --------
    >>> from skmid.metrics import confidence_distortion
    >>> before = [[0.9, 0.1], [0.6, 0.4]]
    >>> after = [[0.7, 0.3], [0.6, 0.4]]
    >>> float(confidence_distortion(before, after))
    0.2
    >>> confidence_distortion(before, after, reduce=None)
    array([0.4, 0. ])
    """
    check_scalar_choice(norm, "norm", {1, 2})
    check_scalar_choice(reduce, "reduce", {"mean", "max", None})
    p_original = check_probability_matrix(p_original, input_name="p_original")
    p_defended = check_probability_matrix(p_defended, input_name="p_defended")
    if p_original.shape != p_defended.shape:
        raise ValueError(
            f"p_original and p_defended must have the same shape; got "
            f"{p_original.shape} and {p_defended.shape}."
        )
    distances = np.linalg.norm(p_original - p_defended, ord=norm, axis=1)
    if reduce == "mean":
        return float(distances.mean())
    if reduce == "max":
        return float(distances.max())
    return distances


def conditional_mutual_information(y_true, y_prob, *, labels=None):
    r"""Empirical conditional mutual information :math:`I(X; \hat Y \mid Y)`.

    The quantity that the Stealthy Shield Defense minimises (section 4 of that
    paper): how much a model's output tells about its input beyond the true
    label,

    .. math::

        I(X; \hat Y \mid Y) = \sum_y P(y)\,
        \frac{1}{n_y} \sum_{i: y_i = y} \mathrm{KL}(p(x_i) \,\|\, q^y),
        \qquad q^y = \frac{1}{n_y} \sum_{i: y_i = y} p(x_i),

    where :math:`P(y) = n_y / n` is the empirical class frequency and
    :math:`q^y` the class-mean output. It is 0 when all rows of a class get
    the same output; in nats.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_prob : array-like of shape (n_samples, n_classes)
        The model's probability vectors.
    labels : array-like of shape (n_classes,), default=None
        The class of each column (like ``classes_``). If None, ``y_true`` holds
        column indices or exactly ``n_classes`` distinct labels in sorted order.

    Returns
    -------
    cmi : float
        Conditional mutual information in nats, >= 0.

    Examples
    --------
    >>> from skmid.metrics import conditional_mutual_information
    >>> y = [0, 0, 1, 1]
    >>> same_output_per_class = [[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [0.2, 0.8]]
    >>> conditional_mutual_information(y, same_output_per_class)
    0.0
    >>> round(conditional_mutual_information(y, [[1, 0], [0, 1], [1, 0], [0, 1]]), 4)
    0.6931
    """
    codes, y_prob = check_probabilities_and_labels(y_true, y_prob, labels=labels)
    sums, counts = class_probability_sums(codes, y_prob, y_prob.shape[1])
    # log q^y = log(class sum) - log(n_y): every class sum includes p_i, so it
    # is > 0 wherever p_i > 0, even where the mean itself would underflow.
    positive = y_prob > 0
    log_q = (
        np.log(np.where(positive, sums[codes], 1.0)) - np.log(counts[codes])[:, None]
    )
    kl = (xlogy(y_prob, y_prob) - np.where(positive, y_prob * log_q, 0.0)).sum(axis=1)
    # sum_y P(y) * mean_{i in y} KL_i  ==  mean_i KL_i
    cmi = check_finite_output(
        float(kl.mean()), source="conditional_mutual_information of y_prob"
    )
    return max(cmi, 0.0)


def output_mutual_information(y_prob, *, sample_weight=None):
    r"""Mutual information :math:`I(X; \hat Y)` between the rows and the output.

    The quantity the MID defense penalises (Wang, Zhang and Jia 2021, eq. 1),
    for a classifier whose answer :math:`\hat Y` on row :math:`x_i` is drawn
    from (or summarises) its probability vector :math:`p_i`, over the
    empirical distribution of the rows:

    .. math::

        I(X; \hat Y) = H(\bar p) - \sum_i w_i H(p_i)
        = \sum_i w_i \, \mathrm{KL}(p_i \,\|\, \bar p), \qquad
        \bar p = \sum_i w_i p_i,

    with :math:`w_i = 1/n`, or ``sample_weight`` normalised to sum to 1. It is
    exact (no estimate of a density is involved), 0 when every row gets the
    same output, and at most :math:`\log K` (reached when the rows get
    distinct one-hot outputs equally often over all :math:`K` classes).
    Unlike :func:`conditional_mutual_information` it does not condition on
    the true label: the information a correct classifier must carry about
    its labels counts too. In nats.

    Parameters
    ----------
    y_prob : array-like of shape (n_samples, n_classes)
        The model's probability vectors.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the rows, not all zero; None weighs them
        equally.

    Returns
    -------
    mi : float
        :math:`I(X; \hat Y)` in nats, in :math:`[0, \log K]`.

    Examples
    --------
    >>> from skmid.metrics import output_mutual_information
    >>> output_mutual_information([[0.7, 0.3], [0.7, 0.3]])
    0.0
    >>> round(output_mutual_information([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), 4)
    1.0986
    """
    y_prob = check_probability_matrix(y_prob, input_name="y_prob")
    if sample_weight is None:
        weights = np.full(y_prob.shape[0], 1.0 / y_prob.shape[0])
    else:
        from sklearn.utils.validation import _check_sample_weight

        try:
            weights = _check_sample_weight(
                sample_weight, y_prob, ensure_non_negative=True
            )
        except ValueError as error:
            raise ValueError(f"Invalid sample_weight: {error}") from error
        peak = weights.max()
        if not peak > 0:
            raise ValueError("sample_weight must not be all zero.")
        weights = weights / peak
        weights = weights / weights.sum()
    mean = weights @ y_prob
    # KL(p_i || p_bar): p_bar_k >= w_i p_ik > 0 wherever p_ik > 0 and w_i > 0.
    positive = (y_prob > 0) & (weights[:, None] > 0)
    log_ratio = np.where(
        positive,
        np.log(np.where(positive, y_prob, 1.0)) - np.log(np.where(positive, mean, 1.0)),
        0.0,
    )
    kl = (np.where(positive, y_prob, 0.0) * log_ratio).sum(axis=1)
    mi = check_finite_output(
        float(weights @ kl), source="output_mutual_information of y_prob"
    )
    return min(max(mi, 0.0), float(np.log(y_prob.shape[1])))
