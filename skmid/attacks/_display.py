"""ROC curves of membership attacks on log-log axes, as scikit-learn Displays."""

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from ..metrics import tpr_at_fpr
from ..utils._optional import import_optional_dependency
from ..utils._validation import check_membership
from ._base import BaseAttack


class MembershipROCDisplay:
    """ROC curve of a membership attack, on log-log axes.

    Follows scikit-learn's Display API (as ``RocCurveDisplay``): build it with
    :meth:`from_attack` or :meth:`from_predictions`, which compute the curve
    and plot it; the constructor only stores a computed curve, and
    :meth:`plot` draws it. Both axes are logarithmic, as in Carlini et al.
    ("Membership Inference Attacks From First Principles", 2022): the
    low false-positive rates where an attack is reliable are visible, and
    the diagonal is the chance line (a random guess has TPR = FPR). The
    legend gives the AUC and the TPR at 1 % FPR
    (:func:`skmid.metrics.tpr_at_fpr`). matplotlib's backend is never
    changed; without ``ax``, :meth:`plot` draws on a new pyplot figure, as
    scikit-learn does.

    Parameters
    ----------
    fpr : ndarray
        False-positive rates, increasing.
    tpr : ndarray
        True-positive rates, increasing.
    roc_auc : float, default=None
        Area under the curve, shown in the legend if given.
    tpr_at_1pct_fpr : float, default=None
        TPR at 1 % FPR, shown in the legend if given.
    name : str, default=None
        Name of the attack, for the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The ROC curve.
    chance_level_ : matplotlib Line2D
        The diagonal.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    sklearn.metrics.RocCurveDisplay : the ROC curve of a classifier.

    Examples
    --------
    >>> import matplotlib
    >>> from matplotlib.figure import Figure
    >>> from skmid.attacks import MembershipROCDisplay
    >>> member = [True, True, True, False, False, False]
    >>> scores = [0.9, 0.7, 0.2, 0.8, 0.1, 0.0]
    >>> ax = Figure().subplots()
    >>> display = MembershipROCDisplay.from_predictions(member, scores, ax=ax)
    >>> float(display.roc_auc)
    0.7777...
    >>> display.ax_.get_xscale(), display.ax_.get_yscale()
    ('log', 'log')
    """

    def __init__(self, *, fpr, tpr, roc_auc=None, tpr_at_1pct_fpr=None, name=None):
        self.fpr = fpr
        self.tpr = tpr
        self.roc_auc = roc_auc
        self.tpr_at_1pct_fpr = tpr_at_1pct_fpr
        self.name = name

    def plot(self, ax=None, *, name=None, **kwargs):
        """Plot the curve on log-log axes, with the chance line.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None draws on a new figure (``pyplot.subplots``).
        name : str, default=None
            Name for the legend; None is the display's ``name``.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for the curve.

        Returns
        -------
        display : MembershipROCDisplay
            ``self``, with ``line_``, ``chance_level_``, ``ax_`` and
            ``figure_``.
        """
        import_optional_dependency(
            "matplotlib", extra="plot", feature="MembershipROCDisplay"
        )
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        name = self.name if name is None else name
        details = []
        if self.roc_auc is not None:
            details.append(f"AUC = {self.roc_auc:.3f}")
        if self.tpr_at_1pct_fpr is not None:
            details.append(f"TPR@1%FPR = {self.tpr_at_1pct_fpr:.3f}")
        label = ", ".join(details)
        if name is not None:
            label = f"{name} ({label})" if label else name
        fpr, tpr = np.asarray(self.fpr), np.asarray(self.tpr)
        positive = np.concatenate([fpr[fpr > 0], tpr[tpr > 0]])
        low = min(1e-3, positive.min()) if positive.size else 1e-3
        line_kwargs = {"label": label or None, **kwargs}
        (self.line_,) = ax.plot(fpr, tpr, **line_kwargs)
        (self.chance_level_,) = ax.plot(
            [low, 1], [low, 1], linestyle="--", color="k", label="chance"
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(low, 1)
        ax.set_ylim(low, 1)
        ax.set_xlabel("False-positive rate")
        ax.set_ylabel("True-positive rate")
        ax.legend(loc="lower right")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(cls, member, scores, *, ax=None, name=None, **kwargs):
        """Plot the ROC curve of member scores.

        Parameters
        ----------
        member : array-like of shape (n_samples,)
            True membership: bool, or 0 and 1; both classes present.
        scores : array-like of shape (n_samples,)
            Member scores, higher = more likely a member (an attack's
            ``decision_function``).
        ax : matplotlib Axes, default=None
            Where to draw; None draws on a new figure.
        name : str, default=None
            Name for the legend.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for the curve.

        Returns
        -------
        display : MembershipROCDisplay
        """
        member = check_membership(member)
        tpr_1pct = tpr_at_fpr(member, scores, fpr=0.01)  # validates scores
        scores = np.asarray(scores, dtype=np.float64).ravel()
        fpr, tpr, _ = roc_curve(member, scores)
        display = cls(
            fpr=fpr,
            tpr=tpr,
            roc_auc=float(roc_auc_score(member, scores)),
            tpr_at_1pct_fpr=tpr_1pct,
            name=name,
        )
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_attack(
        cls, attack, estimator, X, y, member, *, ax=None, name=None, **kwargs
    ):
        """Attack ``estimator`` on the rows ``X`` and plot the ROC curve.

        Parameters
        ----------
        attack : membership attack
            A fitted skmid membership attack (or one that needs no fit).
        estimator : fitted classifier
            The attacked model.
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The rows' true labels.
        member : array-like of shape (n_samples,)
            Their true membership in ``estimator``'s training set.
        ax : matplotlib Axes, default=None
            Where to draw; None draws on a new figure.
        name : str, default=None
            Name for the legend; None is the attack's class name.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for the curve.

        Returns
        -------
        display : MembershipROCDisplay
        """
        if not isinstance(attack, BaseAttack) or attack.kind != "membership":
            raise ValueError(
                "attack must be a skmid membership attack (e.g. "
                f"LiRAMembershipAttack); got {type(attack).__name__}."
            )
        member = check_membership(member)
        scores = attack.decision_function(estimator, X, y)
        name = type(attack).__name__ if name is None else name
        return cls.from_predictions(member, scores, ax=ax, name=name, **kwargs)
