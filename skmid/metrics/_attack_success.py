"""Success measures of membership-inference and inversion attacks."""

import numbers

import numpy as np

from ..utils._validation import (
    check_binary,
    check_finite_inputs,
    check_finite_output,
    check_membership,
)


def membership_advantage(member, guess):
    """Membership advantage: true-positive rate minus false-positive rate.

    Yeom et al.'s measure of a membership attack: 0 for guessing, 1 for a
    perfect attack (negative when the attack is worse than guessing).

    Parameters
    ----------
    member : array-like of shape (n_samples,)
        True membership: bool, or 0 and 1.
    guess : array-like of shape (n_samples,)
        The attack's guesses: bool, or 0 and 1. Member scores are refused;
        threshold them, or measure them with a score-based metric such as
        ``sklearn.metrics.roc_auc_score``.

    Returns
    -------
    advantage : float

    Examples
    --------
    >>> from skmid.metrics import membership_advantage
    >>> membership_advantage([True, True, False, False], [True, False, False, False])
    0.5
    >>> membership_advantage([1, 1, 0, 0], [0.9, 0.2, 0.4, 0.1])
    Traceback (most recent call last):
    ...
    ValueError: guess holds scores in [0, 1], not boolean guesses; ...
    """
    member = check_membership(member)
    guess = check_binary(guess, "guess")
    if len(guess) != len(member):
        raise ValueError(
            f"guess has {len(guess)} entries but member has {len(member)}."
        )
    return float(guess[member].mean() - guess[~member].mean())


def tpr_at_fpr(member, scores, *, fpr=0.01):
    r"""True-positive rate of a membership attack at a low false-positive rate.

    The measure of Carlini et al. ("Membership Inference Attacks From First
    Principles", 2022): how many members an attack finds while it wrongly
    accuses at most a fraction ``fpr`` of the non-members. Rows whose score
    is at least a threshold ``t`` are called members, which gives the ROC
    points

    .. math::

        \mathrm{TPR}(t) = \frac{|\{i : m_i, s_i \ge t\}|}{|\{i : m_i\}|},
        \qquad
        \mathrm{FPR}(t) = \frac{|\{i : \neg m_i, s_i \ge t\}|}
        {|\{i : \neg m_i\}|},

    one per distinct score plus ``t = +inf`` (no row called a member), and

    .. math::

        \mathrm{TPR@FPR}(\alpha) = \max \{\mathrm{TPR}(t) :
        \mathrm{FPR}(t) \le \alpha\},

    the TPR at the lowest threshold whose FPR is at most ``fpr``. Tied
    scores are never split: rows with equal scores are called members
    together, exactly as on scikit-learn's ``roc_curve`` without
    ``drop_intermediate``, so no point is interpolated. (The LiRA authors'
    code takes the last ROC point with FPR strictly below the target; at
    most means the bound ``fpr`` itself is allowed.) 0 for an attack whose
    top score belongs to a non-member when ``fpr`` is below one over the
    number of non-members; ``fpr`` for a random guess, on average.

    Parameters
    ----------
    member : array-like of shape (n_samples,)
        True membership: bool, or 0 and 1; both classes must be present.
    scores : array-like of shape (n_samples,)
        The attack's member scores (higher = more likely a member), e.g. a
        membership attack's ``decision_function``; finite numbers.
    fpr : float, default=0.01
        The largest false-positive rate allowed, in [0, 1].

    Returns
    -------
    tpr : float
        In [0, 1]; higher means more leakage.

    See Also
    --------
    membership_advantage : TPR minus FPR of boolean guesses.
    sklearn.metrics.roc_curve : the full ROC curve.

    Examples
    --------
    >>> from skmid.metrics import tpr_at_fpr
    >>> member = [True, True, True, True, False, False, False, False]
    >>> scores = [0.9, 0.8, 0.3, 0.2, 0.7, 0.4, 0.1, 0.0]
    >>> tpr_at_fpr(member, scores, fpr=0.0)
    0.5
    >>> tpr_at_fpr(member, scores, fpr=0.25)
    0.5
    >>> tpr_at_fpr(member, scores, fpr=0.5)
    1.0
    """
    member = check_membership(member)
    scores = np.asarray(scores)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim != 1:
        raise ValueError(
            f"scores must be 1-D (one score per row); got shape {scores.shape}."
        )
    if scores.dtype != bool and not np.issubdtype(scores.dtype, np.number):
        raise ValueError(f"scores must hold numbers; got dtype {scores.dtype}.")
    scores = scores.astype(np.float64)
    if len(scores) != len(member):
        raise ValueError(
            f"scores has {len(scores)} entries but member has {len(member)}."
        )
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite (no NaN or infinity).")
    if (
        isinstance(fpr, bool)
        or not isinstance(fpr, numbers.Real)
        or not 0.0 <= fpr <= 1.0
    ):
        raise ValueError(f"fpr must be a number in [0, 1]; got {fpr!r}.")
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_member = scores[order], member[order]
    # The last row of each run of tied scores closes one ROC point.
    last = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    true_positives = np.r_[0, np.cumsum(sorted_member)[last]]
    false_positives = np.r_[0, np.cumsum(~sorted_member)[last]]
    n_members = member.sum()
    n_others = len(member) - n_members
    # k / n is correctly rounded, so fpr=0.01 allows exactly 1 of 100.
    allowed = false_positives / n_others <= fpr
    return float(true_positives[allowed].max() / n_members)


def inversion_error(X_true, X_reconstructed):
    """Inversion error: mean squared error per element of the reconstructions.

    The papers' measure of a model-inversion attack (lower = more leakage).
    Images of any shape are compared element by element.

    Parameters
    ----------
    X_true : array-like of shape (n_samples, ...)
        Original inputs.
    X_reconstructed : array-like of the same shape
        The attack's reconstructions.

    Returns
    -------
    error : float

    Examples
    --------
    >>> from skmid.metrics import inversion_error
    >>> inversion_error([[0.0, 1.0]], [[0.5, 1.0]])
    0.125
    """
    X_true = check_finite_inputs(X_true, "X_true")
    X_reconstructed = check_finite_inputs(X_reconstructed, "X_reconstructed")
    if X_true.shape != X_reconstructed.shape:
        raise ValueError(
            f"X_true has shape {X_true.shape} but X_reconstructed "
            f"{X_reconstructed.shape}."
        )
    with np.errstate(over="ignore"):
        error = float(np.mean((X_true - X_reconstructed) ** 2))
    return check_finite_output(
        error,
        source="inversion_error (the squared difference of X_true and X_reconstructed)",
        remedy="rescale X_true and X_reconstructed, which are too large to square",
    )
