# ruff: noqa: E402 (a gallery script imports in the cell that first needs it)
"""
An audit, step by step: declare, run, read the verdict
======================================================

An audit answers one question: *which setting of which defense keeps the
most utility while an attack learns at most a given amount?* In skmid an
audit is declared as data (an :class:`~skmid.audit.AuditSpec` listing the
data, the utility, the attacks and the defenses with their grids), run by one
engine (:func:`~skmid.audit.run_audit`) and rendered by one report writer
(:func:`~skmid.audit.write_report`, which ``skmid audit`` calls too).

This walk-through audits a linear regression whose target depends on a
sensitive one-hot feature (:func:`~skmid.datasets.make_sensitive_regression`,
the layout of the warfarin data: the genotype shifts the dose). The attacker
knows everything about a row but its sensitive value, sees the model's
prediction and the true target, and infers the sensitive value by maximum a
posteriori (:class:`~skmid.attacks.MAPAttributeInference`, the MID paper's
attack). The defense is :class:`~skmid.linear_model.MIDLinearRegression`,
whose ``lam`` penalises what the predictions reveal about the sensitive
feature.

Small settings: 600 synthetic rows, 3 folds, one repeat (a few seconds).
"""

# %%
# The data and the attack
# -----------------------
# The attack's background knowledge is the marginal distribution of the
# sensitive value and of the target's noise, fitted on data the attacker has;
# here the same rows (the prior is public in the MID paper's setting).
from sklearn.linear_model import LinearRegression

from skmid.attacks import MAPAttributeInference, make_attack_scorer
from skmid.datasets import make_sensitive_regression

data = make_sensitive_regression(
    n_samples=600, n_features=5, sensitive_effect=2.0, random_state=0
)
X, y, sensitive = data.data, data.target, data.sensitive_features
attack = MAPAttributeInference(sensitive).fit(X, y)
print(f"{X.shape[0]} rows, {X.shape[1]} columns; sensitive one-hot columns {sensitive}")

# %%
# Declaring the audit
# -------------------
# Two attack columns from the same attack: its accuracy (what the report
# plots) and its *advantage*, the accuracy minus that of guessing from the
# prior, which the budget is set on. Three "defenses": the undefended model
# (the reference for what a defense costs), MID over a grid of ``lam``, and
# the trivial model that predicts the mean target (the utility floor, and,
# attacked, the success of an attacker who knows only the prior).
from skmid.audit import AttackSpec, AuditSpec, DefenseSpec, trivial_defense
from skmid.linear_model import MIDLinearRegression

spec = AuditSpec(
    name="synthetic",
    description="600 synthetic rows; the attacker infers a 3-valued sensitive feature.",
    X=X,
    y=y,
    task="regression",
    utility="neg_mean_squared_error",
    utility_label="MSE",
    utility_sign=-1.0,
    attacks={
        "map_accuracy": AttackSpec(
            make_attack_scorer(attack, "accuracy"), "MAP accuracy"
        ),
        "map_advantage": AttackSpec(
            make_attack_scorer(attack, "advantage"), "MAP advantage"
        ),
    },
    plot_attacks=("map_accuracy",),
    budget_attack="map_advantage",
    defenses=[
        DefenseSpec("OLS", LinearRegression(), style=("black", "*"), role="undefended"),
        DefenseSpec(
            "MID",
            MIDLinearRegression(),
            {"lam": [0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 10.0]},
            style=("tab:blue", "o"),
            param_notes={"lam": "weight of the mutual-information penalty"},
        ),
        trivial_defense("regression"),
    ],
    sensitive="the sensitive feature",
).check()

# %%
# Running it
# ----------
# Every setting of every defense is fitted and attacked on the same seeded
# folds; the attacks run on the held-out rows of each fold.
from skmid.audit import run_audit

result = run_audit(spec, cv=3, repeats=1, random_state=0)
print(f"{len(result.rows)} rows (defense, setting) measured")

# %%
# The verdict
# -----------
# The budget is 0.05 of advantage: the attacker may guess the sensitive value
# at most 5 points better than from the prior. The summary states the verdict
# first, then what the recommended setting costs (utility of the undefended,
# recommended and trivial models) and what it buys (attack success of each),
# then the table, with every metric defined.
from skmid.audit import format_summary

MAX_LEAKAGE = 0.05
print(format_summary(result, max_leakage=MAX_LEAKAGE))

# %%
# Read the cost line before the recommendation. In this data the sensitive
# value shifts the target by more than the other features do, so a model
# whose predictions do not reveal it cannot predict the target well either:
# the recommended setting keeps only a small share of the undefended model's
# gain over the trivial model. An audit that reported only "MID meets the
# budget" would hide that. The recommended row is also returned as data:
recommended = result.best_under_budget(MAX_LEAKAGE)
print(
    "recommended:",
    result.defense(recommended).label,
    result.defense(recommended).setting_label(recommended["params"]),
)

# %%
# The trade-off, as the report draws it
# -------------------------------------
# Utility against attack success, one series per defense: the recommended
# setting is circled, the budget is a dashed line on the budget attack's plot,
# and the trivial model is the grey cross with dotted lines at its utility and
# at the prior-only attacker's success.
import matplotlib.pyplot as plt

from skmid.audit import plot_tradeoff

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
plot_tradeoff(result, "map_accuracy", ax=axes[0], max_leakage=MAX_LEAKAGE)
plot_tradeoff(result, "map_advantage", ax=axes[1], max_leakage=MAX_LEAKAGE)
fig.tight_layout()

# %%
# The report
# ----------
# :func:`~skmid.audit.write_report` writes the same facts as a self-contained
# HTML page (images inlined, nothing loaded from the network), as Markdown,
# and every statistic as CSV, with the exact settings and versions in JSON.
# ``skmid audit warfarin --out DIR`` does the same for a built-in audit.
import tempfile
from pathlib import Path

from skmid.audit import write_report

with tempfile.TemporaryDirectory() as folder:
    files = write_report(result, Path(folder) / "report", max_leakage=MAX_LEAKAGE)
    for name, path in sorted(files.items()):
        print(f"{name:<28} {Path(path).stat().st_size:>8} bytes")

plt.show()
