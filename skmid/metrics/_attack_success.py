"""Success measures of membership-inference and inversion attacks."""

import numpy as np
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.validation import check_consistent_length


def check_membership(member, n_samples=None):
    """Validate membership labels: booleans (or 0/1) with both classes present."""
    member = column_or_1d(member, warn=False)
    if member.dtype != bool:
        values = set(np.unique(member).tolist())
        if not values <= {0, 1}:
            raise ValueError(
                "member must be boolean (True for members of the training set); got "
                f"values {sorted(values, key=str)[:5]}."
            )
        member = member.astype(bool)
    if n_samples is not None and member.shape[0] != n_samples:
        raise ValueError(f"member has {member.shape[0]} entries for {n_samples} rows.")
    if member.all() or not member.any():
        raise ValueError("member must contain both members and non-members.")
    return member


def membership_advantage(member, guess):
    """Membership advantage: true-positive rate minus false-positive rate.

    Yeom et al.'s measure of a membership attack: 0 for guessing, 1 for a
    perfect attack (negative when the attack is worse than guessing).

    Parameters
    ----------
    member : array-like of shape (n_samples,)
        True membership (bool).
    guess : array-like of shape (n_samples,)
        The attack's guesses (bool).

    Returns
    -------
    advantage : float

    Examples
    --------
    >>> from skmid.metrics import membership_advantage
    >>> membership_advantage([True, True, False, False], [True, False, False, False])
    0.5
    """
    member = check_membership(member)
    guess = column_or_1d(guess, warn=False).astype(bool)
    check_consistent_length(member, guess)
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
    X_true = np.asarray(X_true, dtype=np.float64)
    X_reconstructed = np.asarray(X_reconstructed, dtype=np.float64)
    if X_true.shape != X_reconstructed.shape:
        raise ValueError(
            f"X_true has shape {X_true.shape} but X_reconstructed "
            f"{X_reconstructed.shape}."
        )
    check_array(X_true.reshape(len(X_true), -1), input_name="X_true")
    check_array(X_reconstructed.reshape(len(X_true), -1), input_name="X_reconstructed")
    return float(np.mean((X_true - X_reconstructed) ** 2))
