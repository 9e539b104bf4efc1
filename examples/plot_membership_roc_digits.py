# ruff: noqa: E402 (a gallery script imports in the cell that first needs it)
r"""
Membership inference at low false-positive rates: LiRA and RMIA on digits
=========================================================================

A membership attack guesses whether a row was in a model's training set. It
is judged, since Carlini et al. ("Membership Inference Attacks From First
Principles", 2022), by its ROC curve on **log-log** axes: what matters is how
many members it finds while it wrongly accuses almost no non-member, the
true-positive rate at a false-positive rate of 1 % or less
(:func:`skmid.metrics.tpr_at_fpr`). On log-log axes the chance line is the
diagonal, and an attack far above it at the left edge breaches the privacy
of the members it finds, whatever its accuracy.

The attacked model is a fully grown random forest on ``load_digits``, which
memorises its training rows, and the same forest with leaves of at least 5
rows. The attacks, which all train copies of the attacked estimator (the
attacker knows the training algorithm) on its own sample of the population:

- :class:`~skmid.attacks.LiRAMembershipAttack`, the likelihood-ratio attack,
  online (the scored rows are in half of the shadow models);
- :class:`~skmid.attacks.RMIAMembershipAttack`, offline, with 4 reference
  models;
- :class:`~skmid.attacks.ShadowModelMembershipAttack` (ML-Leaks), one shadow
  model and a classifier of its confidences, the older baseline.

Reduced settings: forests of 50 trees (the evidence page,
:ref:`membership_evidence`, uses 100); about 6 s on one core.
"""

# %%
# Members, non-members and the attacker's population
# ---------------------------------------------------
# The first 1,200 rows of a seeded permutation are split in two halves: the
# target's training rows (the members) and the non-members. The attacker's
# population sample is the non-members and the remaining 597 rows; it knows
# nothing about who is a member.
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
order = np.random.default_rng(0).permutation(len(y))
X, y = X[order], y[order]
scored = slice(0, 1200)
member = np.arange(1200) < 600
X_population, y_population = X[600:], y[600:]

targets = {
    "fully grown forest": RandomForestClassifier(n_estimators=50, random_state=0),
    "forest, min_samples_leaf=5": RandomForestClassifier(
        n_estimators=50, min_samples_leaf=5, random_state=0
    ),
}
for name, target in targets.items():
    target.fit(X[:600], y[:600])
    print(
        f"{name}: train accuracy {target.score(X[:600], y[:600]):.3f}, "
        f"test accuracy {target.score(X[1200:], y[1200:]):.3f}"
    )

# %%
# The attacks
# -----------
# Each attack is fitted on the population sample (its background knowledge),
# then scores the 1,200 rows through ``decision_function``; higher means
# "member". :meth:`MembershipROCDisplay.from_attack
# <skmid.attacks.MembershipROCDisplay.from_attack>` runs the attack and draws
# its ROC curve, with the AUC and the TPR at 1 % FPR in the legend.
from skmid.attacks import (
    LiRAMembershipAttack,
    RMIAMembershipAttack,
    ShadowModelMembershipAttack,
)

attacks = {
    "LiRA online, 16 shadows": LiRAMembershipAttack(n_shadow=16, random_state=0),
    "RMIA offline, 4 references": RMIAMembershipAttack(random_state=0),
    "ML-Leaks (shadow model)": ShadowModelMembershipAttack(random_state=0),
}
for attack in attacks.values():
    attack.fit(X_population, y_population)

# %%
# The ROC curves on log-log axes
# ------------------------------
import matplotlib.pyplot as plt

from skmid.attacks import MembershipROCDisplay

fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), sharey=True)
tpr_at_1pct = {}
for ax, (target_name, target) in zip(axes, targets.items(), strict=True):
    for i, (attack_name, attack) in enumerate(attacks.items()):
        display = MembershipROCDisplay.from_attack(
            attack, target, X[scored], y[scored], member, ax=ax, name=attack_name
        )
        tpr_at_1pct[target_name, attack_name] = display.tpr_at_1pct_fpr
        if i > 0:  # one chance line per panel
            display.chance_level_.remove()
    ax.set_title(target_name)
    ax.legend(loc="lower right", fontsize="small")
fig.tight_layout()

# %%
# What they show
# --------------
# Against the memorising forest, LiRA and RMIA find a quarter to a third of
# the members at 1 % FPR, three to five times what ML-Leaks finds, while their
# AUCs differ much less: the AUC hides the regime where an attack is
# reliable. Larger leaves narrow the gap between training and unseen rows,
# and every attack falls towards the diagonal. As :ref:`membership_evidence` shows, an
# audit is only as strong as its strongest attack.
print(f"{'target':<28} {'attack':<28} {'TPR at 1% FPR':>13}")
for (target_name, attack_name), value in tpr_at_1pct.items():
    print(f"{target_name:<28} {attack_name:<28} {value:>13.3f}")

plt.show()
