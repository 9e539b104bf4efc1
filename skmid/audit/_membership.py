"""Membership attacks in an audit: member scores of a split, and their ROC curves.

The field reports membership inference by its true-positive rate at a low
false-positive rate (Carlini et al., "Membership Inference Attacks From First
Principles", 2022): an attack that finds a few members with certainty leaks
more than its accuracy shows. The audits score it with the attacks' own
metric ``"tpr_at_1pct_fpr"`` and draw the ROC curves on log-log axes.
"""

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ..attacks import KnownMembersMembershipAttack, MembershipROCDisplay

#: The false-positive rate the audits report the true-positive rate at.
LOW_FPR = 0.01
#: Its name in the membership attacks' metric registries.
LOW_FPR_METRIC = "tpr_at_1pct_fpr"


def _take(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else np.asarray(X)[index]


def _stack(a, b):
    if hasattr(a, "iloc"):
        import pandas as pd

        return pd.concat([a, b], ignore_index=True)
    return np.concatenate([np.asarray(a), np.asarray(b)])


def membership_scores(attack, estimator, X_members, y_members, X_others, y_others):
    """Member scores of balanced members and non-members: ``(member, scores)``.

    The larger group is subsampled to the size of the smaller, with the
    attack's ``random_state`` (0 where it has none). The attacker knows
    what it knows in the audit's membership scorers: a fitted attack is
    used as is; a known-members attack (NSH) learns from half of the
    balanced rows and is scored on the other half; any other unfitted
    attack is fitted on the non-members, its sample of the population.
    """
    seed = getattr(attack, "random_state", None)
    rng = np.random.RandomState(0 if seed is None else seed)
    n = min(len(y_members), len(y_others))
    keep_members = np.sort(rng.choice(len(y_members), n, replace=False))
    keep_others = np.sort(rng.choice(len(y_others), n, replace=False))
    X = _stack(_take(X_members, keep_members), _take(X_others, keep_others))
    y = np.concatenate(
        [np.asarray(y_members)[keep_members], np.asarray(y_others)[keep_others]]
    )
    member = np.r_[np.ones(n, dtype=bool), np.zeros(n, dtype=bool)]
    if isinstance(attack, KnownMembersMembershipAttack):
        known = np.zeros(2 * n, dtype=bool)
        known[rng.choice(n, n // 2, replace=False)] = True
        known[n + rng.choice(n, n // 2, replace=False)] = True
        fitted = clone(attack).fit(
            _take(X, np.flatnonzero(known)), y[known], member[known]
        )
        rest = np.flatnonzero(~known)
        scores = fitted.decision_function(estimator, _take(X, rest), y[rest])
        return member[rest], scores
    try:
        check_is_fitted(attack)
        fitted = attack
    except NotFittedError:
        fitted = clone(attack).fit(X_others, y_others)
    return member, fitted.decision_function(estimator, X, y)


def plot_membership_roc(curves, *, title, columns=3):
    """ROC curves on log-log axes, one panel per attack, one curve per model.

    ``curves`` maps an attack label to ``[(model label, style, member,
    scores), ...]``, where ``style`` is None or ``(color, marker)``, or
    ``(color, marker, linestyle)`` to tell apart the settings of one
    defense; each curve is a :class:`~skmid.attacks.MembershipROCDisplay`
    (its legend gives the AUC and the TPR at 1% FPR). The panels fill rows
    of ``columns``. Returns a new matplotlib Figure (pyplot and the backend
    are left alone).
    """
    from matplotlib.figure import Figure

    n_panels = max(1, len(curves))
    n_columns = min(columns, n_panels)
    n_rows = -(-n_panels // n_columns)
    figure = Figure(figsize=(5.0 * n_columns, 4.6 * n_rows))
    axes = figure.subplots(n_rows, n_columns, squeeze=False).ravel()
    for ax in axes[len(curves) :]:
        ax.set_visible(False)
    for ax, (attack, series) in zip(axes, curves.items(), strict=False):
        for i, (label, style, member, scores) in enumerate(series):
            line = {} if style is None else {"color": style[0]}
            if style is not None and len(style) > 2:
                line["linestyle"] = style[2]
            display = MembershipROCDisplay.from_predictions(
                member, scores, ax=ax, name=label, linewidth=1.2, **line
            )
            if i:
                display.chance_level_.set_label("_nolegend_")
        ax.axvline(LOW_FPR, color="tab:red", linestyle=":", linewidth=0.8)
        ax.set_title(attack, fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=5.5, loc="lower right")
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure
