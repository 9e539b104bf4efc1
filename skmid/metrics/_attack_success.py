"""Success measures of membership-inference and inversion attacks."""

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
