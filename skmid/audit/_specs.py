"""What each audit runs: data, utility, attacks and defenses with their grids."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..attacks import (
    LearnedAttributeInference,
    MAPAttributeInference,
    make_attack_scorer,
)
from ..model_selection import best_under_budget
from ..utils._validation import check_scalar_choice


class AuditInputError(ValueError):
    """Bad input to an audit; the command line prints it as one line."""


#: How each kind of rows is named in every output.
ROWS = {"test": "held-out rows", "train": "training rows"}
#: The roles of an audit's rows (see DefenseSpec).
ROLES = ("defense", "undefended", "trivial")


@dataclass
class AttackSpec:
    """One attack of an audit: a scorer, a label and the rows it is shown on.

    Both kinds of rows are always scored (``results.csv`` has both);
    ``rows`` says which one the summary, the report, the plots, the Pareto
    front and the budget use. The orientation (whether a higher value means
    more leakage) is the scorer's, never declared again here.

    Parameters
    ----------
    scorer : AttackScorer
        From :func:`skmid.attacks.make_attack_scorer`.
    label : str
        How the report names it, e.g. ``"MAP accuracy on VKORC1"``.
    rows : {"test", "train"}, default="test"
        The held-out rows of each fold, or its training rows (what a model
        that memorises, such as a tree, leaks).
    note : str, default=None
        How the attack is configured where the label does not say it (e.g.
        its attack classifier and background rows); the report's definitions,
        ``settings.json`` and ``--list`` repeat it.
    """

    scorer: object
    label: str
    rows: str = "test"
    note: str = None

    def __post_init__(self):
        check_scalar_choice(self.rows, "rows", set(ROWS))

    @property
    def higher_is_more_leakage(self):
        return bool(self.scorer.higher_is_more_leakage)

    @property
    def rows_label(self):
        needs = getattr(self.scorer, "needs_training_rows", None)
        if needs is None:
            needs = getattr(
                getattr(self.scorer, "attack", None), "needs_training_rows", False
            )
        if needs and self.rows == "test":
            # A membership attack's held-out score is on both kinds of rows:
            # the training rows are its members, the held-out rows the others.
            return "training vs held-out rows"
        return ROWS[self.rows]

    @property
    def full_label(self):
        """The label with its rows, as every output shows it."""
        return f"{self.label} ({self.rows_label})"


@dataclass
class DefenseSpec:
    """One defense of an audit: an estimator, the grid of its strength, its style.

    Parameters
    ----------
    name : str
    estimator : estimator
    param_grid : dict, default={}
        The settings audited (GridSearchCV's format); empty for no defense.
    attacks : tuple of str, default=None
        The attacks that apply to it; None: all. The others are shown as
        "not applicable" and the Pareto front compares it on the rest.
    style : (color, marker), default=None
        Its series in the plots.
    param_notes : dict of str to str, default={}
        What each parameter of the grid means, by its last name (e.g.
        ``{"epsilon": "differential-privacy budget"}``): an ``epsilon`` is
        a DP budget for one defense and a distortion bound for another, and
        the report says which.
    note : str, default=None
        A warning shown with the defense's name in every output, e.g.
        ``"not DP: bounds from the data"``.
    role : {"defense", "undefended", "trivial"}, default="defense"
        ``"undefended"``: the model the defenses protect, the report's
        reference for what a defense costs and buys. ``"trivial"``: a
        baseline that ignores the features (the mean target, or the majority
        class): the utility any model should beat and, attacked, the success
        of an attacker who knows only the prior. A trivial baseline is
        measured on the same folds as the others, kept by :meth:`AuditSpec.select`,
        and never recommended nor on the Pareto front.
    """

    name: str
    estimator: object
    param_grid: dict = field(default_factory=dict)
    attacks: tuple = None
    style: tuple = None
    param_notes: dict = field(default_factory=dict)
    note: str = None
    role: str = "defense"

    def __post_init__(self):
        check_scalar_choice(self.role, "role", set(ROLES))

    def applies(self, attack):
        """Whether ``attack`` is run on this defense (declared, not inferred)."""
        return self.attacks is None or attack in self.attacks

    @property
    def label(self):
        """The name, with the note where there is one."""
        return self.name if self.note is None else f"{self.name} [{self.note}]"

    def setting_label(self, params):
        if not params:
            return "-"
        return ", ".join(
            f"{key.rsplit('__', 1)[-1]}={value:g}"
            if isinstance(value, (int, float))
            else f"{key.rsplit('__', 1)[-1]}={value}"
            for key, value in params.items()
        )


@dataclass
class AuditSpec:
    """Everything an audit needs; built by :func:`warfarin_audit` and friends.

    Declarations are data: adding a defense or an attack to an audit is one
    entry in ``defenses`` or ``attacks``.

    Parameters
    ----------
    name, description : str
    X, y : array-like
        The data; every defense sees the same seeded splits of them.
    task : {"regression", "classification"}
    utility : str or callable
        Scorer of the model's utility on the held-out rows (higher is better).
    utility_label : str
        How the report names it (after ``utility_sign``).
    utility_sign : float
        The report shows ``utility_sign * score`` (the MSE, not its negation).
    attacks : dict of str to AttackSpec
    plot_attacks : tuple of str
        The attacks plotted and shown in the terminal summary.
    budget_attack : str
        The attack whose budget picks the recommended setting.
    defenses : list of DefenseSpec
    sensitive : object
        The sensitive column, for the report.
    pareto_attacks : tuple of str, default=None
        The attacks of the Pareto front (with the utility); None: the budget
        attack only.
    extras : dict of str to (scorer, label), default={}
        Further columns on the held-out rows, neither utility nor leakage
        (e.g. the distortion an output defense adds).
    splitter : cross-validation splitter, default=None
        Fixed splits (e.g. one per seed); None: ``run_audit``'s ``cv``
        folds repeated ``repeats`` times.
    splits_label : str, default=None
        How the report describes ``splitter``'s splits.
    claims : callable, default=None
        ``claims(result) -> [(claim, holds), ...]``: published findings
        checked on the result, stated in the report.
    figures : callable, default=None
        ``figures(result) -> {file name: Figure}``: further figures of the
        report.
    """

    name: str
    description: str
    X: object
    y: np.ndarray
    task: str
    utility: object
    utility_label: str
    utility_sign: float
    attacks: dict
    plot_attacks: tuple
    budget_attack: str
    defenses: list
    sensitive: object
    pareto_attacks: tuple = None
    extras: dict = field(default_factory=dict)
    splitter: object = None
    splits_label: str = None
    claims: object = None
    figures: object = None

    def check(self):
        """Check the declarations: a ValueError naming the first bad entry."""
        for name, attack in self.attacks.items():
            if not isinstance(attack, AttackSpec):
                raise TypeError(
                    f"attacks[{name!r}] must be an AttackSpec; got "
                    f"{type(attack).__name__}."
                )
            if name == "utility":
                raise ValueError("'utility' is reserved for the utility scorer.")
        named = [("budget_attack", [self.budget_attack])]
        named += [("plot_attacks", self.plot_attacks)]
        named += [("pareto_attacks", self.front_attacks)]
        for defense in self.defenses:
            if not isinstance(defense, DefenseSpec):
                raise TypeError(
                    f"defenses must hold DefenseSpec entries; got "
                    f"{type(defense).__name__}."
                )
            named.append(
                (f"the attacks of defense {defense.name}", defense.attacks or [])
            )
        for role in ("undefended", "trivial"):
            holders = [d.name for d in self.defenses if d.role == role]
            if len(holders) > 1:
                raise ValueError(
                    f"at most one defense may have role={role!r}; got {holders}."
                )
        for where, names in named:
            unknown = [name for name in names if name not in self.attacks]
            if unknown:
                raise ValueError(
                    f"{where} names unknown attack(s) {unknown}; the audit's "
                    f"attacks are {sorted(self.attacks)}."
                )
        return self

    def _role(self, role):
        return next((d for d in self.defenses if d.role == role), None)

    @property
    def undefended(self):
        """The DefenseSpec of the undefended model, or None."""
        return self._role("undefended")

    @property
    def trivial(self):
        """The DefenseSpec of the trivial baseline, or None."""
        return self._role("trivial")

    def key(self, attack, statistic="mean"):
        """Row key of ``attack``'s ``statistic`` on its declared rows."""
        return f"{statistic}_{self.attacks[attack].rows}_{attack}"

    @property
    def front_attacks(self):
        return tuple(self.pareto_attacks or (self.budget_attack,))

    def select(self, names):
        """Keep the defenses whose lower-cased names are in ``names``.

        The trivial baseline is always kept: the report states every cost
        against it, and it costs next to nothing to fit.
        """
        if names is None:
            return self
        wanted = [name.lower() for name in names]
        available = {d.name.lower(): d for d in self.defenses}
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            raise AuditInputError(
                f"unknown defense(s) {unknown} for the {self.name} audit; choose "
                f"from {sorted(available)}"
            )
        kept = [available[name] for name in dict.fromkeys(wanted)]
        self.defenses = kept + [
            d for d in self.defenses if d.role == "trivial" and d not in kept
        ]
        return self

    def check_budget(self, max_leakage):
        """Check ``max_leakage`` against the budget attack's scorer; a float."""
        attack = self.attacks[self.budget_attack]
        best_under_budget(
            max_leakage,
            {"utility": self.utility, self.budget_attack: attack.scorer},
            attack=self.budget_attack,
        )
        return float(max_leakage)

    def budget_rule(self, max_leakage):
        """``"<label> <= budget"`` (or ``>=``), in the attack's orientation."""
        attack = self.attacks[self.budget_attack]
        sign = "<=" if attack.higher_is_more_leakage else ">="
        return f"{attack.full_label} {sign} {max_leakage:g}"

    def describe(self):
        """The audit's defenses and attacks, as lines of text (``--list``)."""
        lines = [f"{self.name}: {self.description}", "  defenses:"]
        for defense in self.defenses:
            grid = ", ".join(
                f"{key.rsplit('__', 1)[-1]} in {list(values)}"
                for key, values in defense.param_grid.items()
            )
            lines.append(f"    {defense.label}" + (f" ({grid})" if grid else ""))
            for param, meaning in defense.param_notes.items():
                lines.append(f"      {param}: {meaning}")
            if defense.attacks is not None:
                lines.append(f"      attacks: {', '.join(defense.attacks)} only")
        lines.append("  attacks:")
        for name, attack in self.attacks.items():
            more = "higher" if attack.higher_is_more_leakage else "lower"
            lines.append(f"    {name}: {attack.full_label}; {more} = more leakage")
            if attack.note is not None:
                lines.append(f"      {attack.note}")
        return lines


#: Plot styles of the defenses, by role.
UNDEFENDED = ("black", "*")
MID_STYLE = ("tab:blue", "o")
DP_STYLE = ("tab:red", "s")
PRIORITY_STYLE = ("tab:green", "^")
OUTPUT_STYLE = ("tab:purple", "D")
TRIVIAL_STYLE = ("tab:gray", "X")


def trivial_defense(task, attacks=None):
    """The trivial baseline of a task: the mean target, or the majority class.

    A :class:`~sklearn.dummy.DummyRegressor` (``strategy="mean"``) or a
    :class:`~sklearn.dummy.DummyClassifier` (``strategy="prior"``: it
    predicts the majority class and releases the class prior as its
    confidences), fitted on each fold's training rows like every defense.
    Its utility is the floor any model should beat; attacked, it gives the
    success of an attacker who knows only the prior.

    Parameters
    ----------
    task : {"regression", "classification"}
    attacks : tuple of str, default=None
        The attacks that apply to it; None: all.

    Returns
    -------
    defense : DefenseSpec
        With ``role="trivial"``.

    Examples
    --------
    >>> from skmid.audit import trivial_defense
    >>> baseline = trivial_defense("regression")
    >>> baseline.name, baseline.role
    ('trivial (constant mean)', 'trivial')
    >>> trivial_defense("classification").estimator
    DummyClassifier()
    """
    from sklearn.dummy import DummyClassifier, DummyRegressor

    check_scalar_choice(task, "task", {"regression", "classification"})

    if task == "regression":
        return DefenseSpec(
            "trivial (constant mean)",
            DummyRegressor(strategy="mean"),
            attacks=attacks,
            style=TRIVIAL_STYLE,
            role="trivial",
        )
    return DefenseSpec(
        "trivial (majority class)",
        DummyClassifier(strategy="prior"),
        attacks=attacks,
        style=TRIVIAL_STYLE,
        role="trivial",
    )


#: What the defenses' knobs mean; the report repeats it.
MID_LAM = {"lam": "weight of the mutual-information penalty (larger: more private)"}
DP_EPSILON = {"epsilon": "differential-privacy budget (smaller: more private)"}
CMI_EPSILON = {
    "epsilon": (
        "L1 bound on the distortion of each released confidence vector, not a "
        "DP budget (larger: more private)"
    )
}
PRIORITY_DEPTH = {
    "priority_depth": (
        "depth of the tree reserved for the sensitive feature's split (the "
        "MID paper's Priority baseline)"
    )
}


#: Background rows of the learned attack in an audit (a seeded sample of them
#: where the data has more): its attack classifiers are trained once per
#: fitted model. With the default classifier on all 4,821 warfarin patients
#: the attack cost 1.6 times as much per model (114 ms against 71 ms of CPU)
#: for an accuracy about 0.01 higher.
LEARNED_BACKGROUND_ROWS = 1000
#: The tolerance of the learned attack's logistic regression in an audit
#: (1e-4 by default): the same accuracy to 0.01, in fewer iterations.
LEARNED_TOL = 1e-2


def _learned_attack(sensitive, X, y, random_state=0):
    """The :class:`~skmid.attacks.LearnedAttributeInference` that audits run.

    The attack's default classifier, a multinomial logistic regression on
    standardised features, stopped at ``tol=1e-2`` instead of 1e-4, trained
    on at most 1,000 background rows (a sample of ``X`` drawn with
    ``random_state`` where it has more; all of them otherwise). Both keep
    the attack's cost within about half of an audit's time: it trains five
    attack classifiers per fitted model.

    Parameters
    ----------
    sensitive : int, str or list
        The sensitive feature, as
        :class:`~skmid.attacks.LearnedAttributeInference` takes it.
    X, y : array-like
        The audit's data; the attacker's background rows are drawn from it.
    random_state : int, default=0
        Seeds the sample of background rows, the attack's folds and its
        classifier.

    Returns
    -------
    attack : LearnedAttributeInference
        Fitted on the background rows.
    note : str
        The configuration in words, for the report.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils import check_random_state

    n_rows = len(y)
    rows = np.arange(n_rows)
    if n_rows > LEARNED_BACKGROUND_ROWS:
        rows = np.sort(
            check_random_state(random_state).choice(
                n_rows, LEARNED_BACKGROUND_ROWS, replace=False
            )
        )
        sample = (
            f"{LEARNED_BACKGROUND_ROWS} background rows (a seeded sample of the "
            f"{n_rows})"
        )
    else:
        sample = f"all {n_rows} rows as background rows"
    estimator = make_pipeline(
        SimpleImputer(),
        StandardScaler(),
        LogisticRegression(max_iter=1000, tol=LEARNED_TOL),
    )
    attack = LearnedAttributeInference(
        sensitive, estimator=estimator, random_state=random_state
    ).fit(X.iloc[rows] if hasattr(X, "iloc") else X[rows], np.asarray(y)[rows])
    note = (
        "attack classifier: logistic regression on standardised features "
        f"(tol={LEARNED_TOL:g}), trained on {sample}, 5-fold cross-fitted; "
        "it reads the known features and the target too, so its success on "
        "the trivial model is what those reveal without the model"
    )
    return attack, note


def _regression_spec(
    name, description, X, y, sensitive, label, utility_label, defenses, random_state
):
    """An AuditSpec scored by MSE, attacked by MAP and the learned attack."""
    attack = MAPAttributeInference(sensitive).fit(X, y)
    learned, note = _learned_attack(sensitive, X, y, random_state)
    return AuditSpec(
        name=name,
        description=description,
        X=X,
        y=y,
        task="regression",
        utility="neg_mean_squared_error",
        utility_label=utility_label,
        utility_sign=-1.0,
        attacks={
            "map_accuracy": AttackSpec(
                make_attack_scorer(attack, "accuracy"), f"MAP accuracy on {label}"
            ),
            "map_advantage": AttackSpec(
                make_attack_scorer(attack, "advantage"), f"MAP advantage on {label}"
            ),
            "learned_accuracy": AttackSpec(
                make_attack_scorer(learned, "accuracy"),
                f"learned-attack accuracy on {label}",
                note=note,
            ),
            "learned_advantage": AttackSpec(
                make_attack_scorer(learned, "advantage"),
                f"learned-attack advantage on {label}",
                note=note,
            ),
        },
        plot_attacks=("map_accuracy", "learned_accuracy"),
        budget_attack="map_advantage",
        defenses=[*defenses, trivial_defense("regression")],
        sensitive=label,
    )


def _classification_spec(
    name, description, X, y, sensitive, label, defenses, random_state
):
    """An AuditSpec scored by weighted F1, attacked by both MAPs and the learned attack.

    Trees memorise their training rows; that is what the attacks exploit
    (the MID paper's Figures 2b and 4c attack the training set), so the
    attacks are shown on the training rows of each fold.
    """
    return AuditSpec(
        name=name,
        description=description,
        X=X,
        y=y,
        task="classification",
        utility="f1_weighted",
        utility_label="model F1 (weighted)",
        utility_sign=1.0,
        attacks=_classification_attacks(sensitive, X, y, random_state),
        plot_attacks=("naive_f1", "counts_f1", "learned_f1"),
        budget_attack="counts_advantage",
        pareto_attacks=("naive_advantage", "counts_advantage"),
        # MAP with counts reads a tree's leaf counts; the trivial model has none.
        defenses=[*defenses, trivial_defense("classification", _BLACK_BOX)],
        sensitive=label,
    )


# -- warfarin ----------------------------------------------------------------

WARFARIN_MID_LAMS = [20.0, 40.0, 60.0, 80.0, 100.0, 150.0, 1000.0]
WARFARIN_ADASSP_EPSILONS = [1.0, 10.0, 100.0, 1000.0, 10000.0]
# Domain bounds, fixed without looking at the data; AdaSSP needs them, and
# rescaling the features to [0, 1] with them changes nothing for the others.
DOSE_BOUNDS = (0.0, 350.0)
NUMERIC_BOUNDS = {"age_decade": (1, 9), "height_cm": (100, 230), "weight_kg": (20, 250)}


def warfarin_audit(random_state=0):
    """OLS, MID and AdaSSP on IWPC warfarin, attacked by MAP and the learned attack.

    Examples
    --------
    >>> from skmid.audit import warfarin_audit
    >>> spec = warfarin_audit()
    >>> [(defense.name, defense.role) for defense in spec.defenses]
    [('OLS', 'undefended'), ('MID', 'defense'), ('AdaSSP', 'defense'),
     ('trivial (constant mean)', 'trivial')]
    >>> spec.attacks["map_advantage"].full_label
    'MAP advantage on VKORC1 (held-out rows)'
    """
    from sklearn.linear_model import LinearRegression

    from ..datasets import load_warfarin
    from ..linear_model import AdaSSPLinearRegression, MIDLinearRegression

    warfarin = load_warfarin()
    names = warfarin.feature_names
    low = np.array([NUMERIC_BOUNDS.get(name, (0, 1))[0] for name in names])
    high = np.array([NUMERIC_BOUNDS.get(name, (0, 1))[1] for name in names])
    X = (warfarin.data - low) / (high - low)
    y = warfarin.target
    return _regression_spec(
        "warfarin",
        f"IWPC warfarin cohort ({X.shape[0]} patients, {X.shape[1]} features): "
        "weekly dose regression; the attacker infers the VKORC1 genotype "
        "(3 values) by MAP and by a learned attack from the model, the other "
        "features and the dose.",
        X,
        y,
        warfarin.sensitive_features,
        "VKORC1",
        "MSE (mg/week)^2",
        [
            DefenseSpec("OLS", LinearRegression(), style=UNDEFENDED, role="undefended"),
            DefenseSpec(
                "MID",
                MIDLinearRegression(),
                {"lam": WARFARIN_MID_LAMS},
                style=MID_STYLE,
                param_notes=MID_LAM,
            ),
            DefenseSpec(
                "AdaSSP",
                AdaSSPLinearRegression(
                    bounds_X=(0, 1), bounds_y=DOSE_BOUNDS, random_state=random_state
                ),
                {"epsilon": WARFARIN_ADASSP_EPSILONS},
                style=DP_STYLE,
                param_notes=DP_EPSILON,
            ),
        ],
        random_state,
    )


# -- steak survey ------------------------------------------------------------

STEAK_MID_LAMS = [0.01, 0.02, 0.03, 0.035, 0.04, 0.05, 0.1]
STEAK_PRIORITY_DEPTHS = [0, 1, 2, 3, 4]
STEAK_DP_EPSILONS = [0.1, 1.0, 10.0, 100.0, 1000.0]
CMI_EPSILONS = [0.5, 1.0, 2.0]
BINNED_NOTE = "not DP: numeric columns binned at the data's quantiles"


def _classification_attacks(sensitive, X, y, random_state):
    maps = {
        mode: MAPAttributeInference(sensitive, mode=mode).fit(X, y)
        for mode in ("naive", "counts")
    }
    learned, note = _learned_attack(sensitive, X, y, random_state)
    attacks = {}
    for mode, label, attack, attack_note in [
        ("naive", "naive MAP", maps["naive"], None),
        ("counts", "MAP-with-counts", maps["counts"], None),
        ("learned", "learned attack", learned, note),
    ]:
        for metric, suffix, name in [
            ("f1", "f1", "F1"),
            ("roc_auc", "auc", "AUROC"),
            ("advantage", "advantage", "advantage"),
        ]:
            attacks[f"{mode}_{suffix}"] = AttackSpec(
                make_attack_scorer(attack, metric),
                f"{label} {name}",
                rows="train",
                note=attack_note,
            )
    return attacks


_NAIVE = ("naive_f1", "naive_auc", "naive_advantage")
_LEARNED = ("learned_f1", "learned_auc", "learned_advantage")
#: The attacks that need only the model's outputs (MAP-with-counts reads a
#: tree's leaf counts).
_BLACK_BOX = _NAIVE + _LEARNED


def _tree_defenses(sensitive, categorical, random_state, dp_estimator=None):
    from ..postprocessing import CMIPostProcessor, DefendedClassifier
    from ..tree import DPID3Classifier, MIDDecisionTreeClassifier

    def tree(**params):
        return MIDDecisionTreeClassifier(
            categorical_features=categorical, random_state=random_state, **params
        )

    if dp_estimator is None:
        dp, dp_key, dp_note = (
            DPID3Classifier(random_state=random_state),
            "epsilon",
            None,
        )
    else:
        dp, dp_key, dp_note = dp_estimator, "dpid3classifier__epsilon", BINNED_NOTE
    return [
        DefenseSpec("ID3", tree(lam=0.0), style=UNDEFENDED, role="undefended"),
        DefenseSpec(
            "MID", tree(), {"lam": STEAK_MID_LAMS}, style=MID_STYLE, param_notes=MID_LAM
        ),
        DefenseSpec(
            "Priority",
            tree(lam=0.0, priority_feature=sensitive),
            {"priority_depth": STEAK_PRIORITY_DEPTHS},
            style=PRIORITY_STYLE,
            param_notes=PRIORITY_DEPTH,
        ),
        DefenseSpec(
            "DP-ID3",
            dp,
            {dp_key: STEAK_DP_EPSILONS},
            style=DP_STYLE,
            param_notes=DP_EPSILON,
            note=dp_note,
        ),
        DefenseSpec(
            "CMI",
            DefendedClassifier(
                tree(lam=0.0), CMIPostProcessor(), random_state=random_state
            ),
            {"defense__epsilon": CMI_EPSILONS},
            # MAP with counts reads a tree's leaf counts; the defended model
            # releases confidences only.
            attacks=_BLACK_BOX,
            style=OUTPUT_STYLE,
            param_notes=CMI_EPSILON,
        ),
    ]


#: MIDLogisticRegression's lam grid on the steak survey (measured: held-out
#: F1 0.31 at lam=0.3 down to the majority class's 0.22 at lam=8); lam=0 is
#: scikit-learn's LogisticRegression, the reference of the row.
STEAK_LOGISTIC_LAMS = [0.0, 0.3, 1.0, 2.0, 4.0, 8.0]
#: The same grid for a CSV classification (the penalty is in nats, as the
#: log-loss, whatever the data).
CSV_LOGISTIC_LAMS = STEAK_LOGISTIC_LAMS
LOGISTIC_STYLE = ("tab:cyan", "P")


def _logistic_defenses(categorical, numeric, lams):
    """MIDLogisticRegression on one-hot categories and [0, 1]-scaled numbers.

    Only the output-reading attacks apply: MAP-with-counts reads a tree's
    leaf counts.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

    from ..linear_model import MIDLogisticRegression

    encode = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            (
                "numeric",
                make_pipeline(
                    SimpleImputer(strategy="median"), MinMaxScaler(clip=True)
                ),
                numeric,
            ),
        ]
    )
    return [
        DefenseSpec(
            "MID logistic",
            make_pipeline(encode, MIDLogisticRegression(max_iter=1000)),
            {"midlogisticregression__lam": lams},
            attacks=_BLACK_BOX,
            style=LOGISTIC_STYLE,
            param_notes=MID_LAM,
        )
    ]


def steak_audit(data_home=None, random_state=0):
    """ID3, MID, Priority, DP-ID3, CMI trees and MID logistic on the steak survey.

    Attacked on the infidelity question by naive MAP, MAP with counts (the
    trees only) and the learned attack, on the training rows.
    """
    from ..datasets import fetch_steak_survey

    steak = fetch_steak_survey(data_home=data_home)
    X, y, sensitive = steak.data, steak.target, steak.sensitive_features
    return _classification_spec(
        "steak",
        f"FiveThirtyEight steak survey ({X.shape[0]} respondents, "
        f"{X.shape[1]} answers): predict the steak preparation (5 classes); "
        "the attacker infers whether the respondent cheated on a partner.",
        X,
        y,
        sensitive,
        steak.feature_names[sensitive],
        _tree_defenses(sensitive, None, random_state)
        + _logistic_defenses(list(range(X.shape[1])), [], STEAK_LOGISTIC_LAMS),
        random_state,
    )


# -- any CSV file --------------------------------------------------------------

MIN_ROWS = 50
#: MID's lam grid for a CSV regression, in units of the target's variance.
CSV_MID_LAM_SCALES = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
MAX_CLASSES_FOR_AUTO = 10
MAX_SENSITIVE_VALUES = 20


def csv_audit(
    path,
    *,
    target,
    sensitive,
    task="auto",
    bounds_x=None,
    bounds_y=None,
    random_state=0,
):
    """An audit of a CSV file: regression or classification from the target.

    Missing feature values are data (the trees give them a branch, the linear
    pipelines impute them). A missing target or sensitive value, infinity or
    a number too large to audit in any numeric column, a target with a single
    value or a class of fewer than 5 rows is an :class:`AuditInputError`
    naming the file, the column and the first offending row.

    Parameters
    ----------
    path : str or path
    target, sensitive : str
        Column names.
    task : {"auto", "regression", "classification"}, default="auto"
    bounds_x, bounds_y : (low, high), default=None
        Regression only: bounds of every numeric feature and of the target,
        known without looking at the data. AdaSSP is differentially private
        only with them (numeric features are clipped to ``bounds_x`` and
        scaled by it, missing values filled with its midpoint; the
        categories of the categorical columns are taken as public). Without
        them the AdaSSP row takes its bounds from the data and is labelled
        "not DP: bounds from the data" in every output.
    random_state : int, default=0
    """
    from ..utils import import_optional_dependency

    pd = import_optional_dependency(
        "pandas", extra="datasets", feature="skmid audit --csv"
    )
    check_scalar_choice(task, "task", {"auto", "regression", "classification"})
    bounds_x = _check_bounds(bounds_x, "bounds_x")
    bounds_y = _check_bounds(bounds_y, "bounds_y")
    if (bounds_x is None) != (bounds_y is None):
        raise AuditInputError(
            "bounds_x and bounds_y go together: AdaSSP is differentially private "
            "only with both (give neither to audit it with bounds from the data)"
        )
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path; got {type(path).__name__}.")
    path = Path(path)
    if not path.is_file():
        raise AuditInputError(f"no such file: {path}")
    try:
        frame = pd.read_csv(path)
    except Exception as error:  # noqa: BLE001 - any parse failure is bad input
        raise AuditInputError(f"could not read {path} as CSV: {error}") from None
    for role, column in (("target", target), ("sensitive", sensitive)):
        if column not in frame.columns:
            raise AuditInputError(
                f"{role} column {column!r} is not in {path}; columns: "
                f"{', '.join(map(str, frame.columns[:12]))}"
            )
    if target == sensitive:
        raise AuditInputError("the target and the sensitive column must differ")
    _check_csv_values(frame, path, target, sensitive)
    if len(frame) < MIN_ROWS:
        raise AuditInputError(
            f"too few rows in {path}: {len(frame)} (at least {MIN_ROWS} needed)"
        )
    n_sensitive = frame[sensitive].nunique()
    if n_sensitive < 2:
        raise AuditInputError(
            f"the sensitive column {sensitive!r} of {path} has a single value; "
            "there is nothing to infer"
        )
    if n_sensitive > MAX_SENSITIVE_VALUES:
        raise AuditInputError(
            f"the sensitive column {sensitive!r} has {n_sensitive} values; the MAP "
            f"attack needs a categorical column (at most {MAX_SENSITIVE_VALUES})"
        )
    if frame[target].nunique() < 2:
        raise AuditInputError(
            f"the target column {target!r} of {path} has a single value "
            f"({frame[target].iloc[:1].tolist()[0]!r}); there is nothing to predict"
        )
    target_values = frame[target]
    numeric_target = pd.api.types.is_numeric_dtype(target_values) and not (
        pd.api.types.is_bool_dtype(target_values)
    )
    if task == "auto":
        task = (
            "regression"
            if numeric_target and target_values.nunique() > MAX_CLASSES_FOR_AUTO
            else "classification"
        )
    if task == "regression" and not numeric_target:
        raise AuditInputError(
            f"the target {target!r} is not numeric; a regression audit needs a "
            "numeric target (use --task classification)"
        )
    if task == "classification" and bounds_x is not None:
        raise AuditInputError(
            f"bounds_x and bounds_y apply to a regression audit (AdaSSP); the "
            f"target {target!r} makes this a classification audit"
        )
    X = frame.drop(columns=[target])
    y = target_values.to_numpy()
    if task == "classification":
        y = y.astype(str) if not numeric_target else y
        counts = pd.Series(y).value_counts()
        if counts.min() < 5:
            raise AuditInputError(
                f"the target class {counts.index[-1:].tolist()[0]!r} of {path} has "
                f"only {counts.min()} rows; every class needs at least 5 for "
                "cross-validation"
            )
    categorical = [
        column
        for column in X.columns
        if column == sensitive
        or not pd.api.types.is_numeric_dtype(X[column])
        or pd.api.types.is_bool_dtype(X[column])
        or X[column].nunique() <= MAX_CLASSES_FOR_AUTO
    ]
    for column in categorical:
        X[column] = X[column].astype(object).where(X[column].notna(), np.nan)
    numeric = [column for column in X.columns if column not in categorical]
    description = (
        f"{path.name} ({len(X)} rows, {X.shape[1]} features: {len(categorical)} "
        f"categorical, {len(numeric)} numeric): {task} of {target!r}; the attacker "
        f"infers {sensitive!r} ({n_sensitive} values)."
    )
    if task == "regression":
        return _csv_regression(
            X,
            y.astype(float),
            sensitive,
            categorical,
            numeric,
            description,
            random_state,
            bounds_x,
            bounds_y,
        )
    return _classification_spec(
        path.stem,
        description,
        X,
        y,
        sensitive,
        sensitive,
        _tree_defenses(
            sensitive, categorical, random_state, _binned_dp_tree(numeric, random_state)
        )
        + _logistic_defenses(categorical, numeric, CSV_LOGISTIC_LAMS),
        random_state,
    )


def _check_csv_values(frame, path, target, sensitive):
    """Refuse missing targets or sensitive values, and infinite or huge numbers.

    Missing feature values are data (the trees give them a branch, the linear
    pipelines impute them); a row without a target or a sensitive value has
    nothing to score, and infinity (or a range beyond float64) would turn
    every fit and every score into NaN.
    """
    import pandas as pd

    for role, column in (("target", target), ("sensitive", sensitive)):
        missing = np.flatnonzero(frame[column].isna().to_numpy())
        if missing.size:
            raise AuditInputError(
                f"the {role} column {column!r} of {path} has {missing.size} missing "
                f"value(s), the first in data row {missing[0] + 1}; remove those rows"
            )
    for column in frame.columns:
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(
            values
        ):
            continue
        values = values.to_numpy(dtype=float)
        infinite = np.flatnonzero(np.isinf(values))
        if infinite.size:
            raise AuditInputError(
                f"the column {column!r} of {path} holds {values[infinite[0]]} in "
                f"data row {infinite[0] + 1}; every number must be finite"
            )
        present = values[~np.isnan(values)]
        with np.errstate(over="ignore"):
            # The regression pipelines scale by the range and square the target.
            spread = np.ptp(present) if present.size else 0.0
            square = np.max(present**2) if column == target and present.size else 0
        if not (np.isfinite(spread) and np.isfinite(square)):
            raise AuditInputError(
                f"the column {column!r} of {path} holds values too large to audit "
                f"(up to {np.max(np.abs(present)):.3g}); rescale it"
            )


def _binned_dp_tree(numeric, random_state):
    """DP-ID3 after binning numeric columns into quantiles (it is categorical only)."""
    if not numeric:
        return None
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import KBinsDiscretizer

    from ..tree import DPID3Classifier

    binning = ColumnTransformer(
        [
            (
                "bins",
                make_pipeline(
                    SimpleImputer(strategy="median"),
                    KBinsDiscretizer(
                        n_bins=5,
                        encode="ordinal",
                        strategy="quantile",
                        quantile_method="averaged_inverted_cdf",
                    ),
                ),
                numeric,
            )
        ],
        remainder="passthrough",
    )
    return make_pipeline(binning, DPID3Classifier(random_state=random_state))


def _check_bounds(bounds, name):
    """``None`` or ``(low, high)`` as floats, finite with low < high."""
    if bounds is None:
        return None
    try:
        low, high = (float(value) for value in bounds)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a pair (low, high); got {bounds!r}."
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(
            f"{name} must be finite with low < high; got ({low:g}, {high:g})."
        )
    return low, high


def _csv_regression(
    X, y, sensitive, categorical, numeric, description, random_state, bounds_x, bounds_y
):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder

    from ..linear_model import AdaSSPLinearRegression, MIDLinearRegression

    def pipeline(model, bounds=None):
        if bounds is None:
            scale = make_pipeline(
                SimpleImputer(strategy="median"), MinMaxScaler(clip=True)
            )
        else:
            low, high = bounds
            # Fixed by the user, not fitted: nothing here looks at the data.
            scale = make_pipeline(
                SimpleImputer(strategy="constant", fill_value=(low + high) / 2),
                FunctionTransformer(_scale_to_unit, kw_args={"low": low, "high": high}),
            )
        encode = ColumnTransformer(
            [
                (
                    "categorical",
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                    categorical,
                ),
                ("numeric", scale, numeric),
            ]
        )
        return make_pipeline(encode, model)

    if bounds_y is None:
        bounds_y, note = (float(np.min(y)), float(np.max(y))), DATA_BOUNDS_NOTE
    else:
        note = None
    return _regression_spec(
        "csv",
        description,
        X,
        y,
        sensitive,
        sensitive,
        "MSE",
        [
            DefenseSpec(
                "OLS",
                pipeline(LinearRegression()),
                style=UNDEFENDED,
                role="undefended",
            ),
            DefenseSpec(
                "MID",
                pipeline(MIDLinearRegression()),
                # MSE scales with var(y), the entropy penalty does not
                {
                    "midlinearregression__lam": [
                        float(np.var(y) * scale) for scale in CSV_MID_LAM_SCALES
                    ]
                },
                style=MID_STYLE,
                param_notes=MID_LAM,
            ),
            DefenseSpec(
                "AdaSSP",
                pipeline(
                    AdaSSPLinearRegression(
                        bounds_X=(0, 1), bounds_y=bounds_y, random_state=random_state
                    ),
                    bounds_x,
                ),
                {"adassplinearregression__epsilon": WARFARIN_ADASSP_EPSILONS},
                style=DP_STYLE,
                param_notes=DP_EPSILON,
                note=note,
            ),
        ],
        random_state,
    )


#: The AdaSSP row of a CSV audit without --bounds-x/--bounds-y.
DATA_BOUNDS_NOTE = "not DP: bounds from the data"


def _scale_to_unit(X, low, high):
    return (np.clip(np.asarray(X, dtype=float), low, high) - low) / (high - low)
