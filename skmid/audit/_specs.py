"""What each audit runs: data, utility, attacks and defenses with their grids."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..attacks import MAPAttributeInference, make_attack_scorer
from ..utils._validation import check_scalar_choice


class AuditInputError(ValueError):
    """Bad input to an audit; the command line prints it as one line."""


@dataclass
class DefenseSpec:
    """One defense of an audit: an estimator and the grid of its strength."""

    name: str
    estimator: object
    param_grid: dict = field(default_factory=dict)
    attacks: tuple = None  # names of the attacks that apply; None: all

    def applies(self, attack):
        """Whether ``attack`` is run on this defense (declared, not inferred)."""
        return self.attacks is None or attack in self.attacks

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
    """Everything an audit needs; built by :func:`warfarin_audit` and friends."""

    name: str
    description: str
    X: object
    y: np.ndarray
    task: str
    utility: str
    utility_label: str
    utility_sign: float  # multiply the scorer's value by this to report it
    attacks: dict
    attack_labels: dict
    plot_attacks: tuple
    budget_attack: str
    defenses: list
    sensitive: object
    attack_rows: str = "test"  # rows the report scores attacks on: "test" or "train"

    def key(self, attack, statistic="mean"):
        """Column of ``attack``'s ``statistic`` on the reported rows."""
        return f"{attack}_{self.attack_rows}_{statistic}"

    def select(self, names):
        """Keep the defenses whose lower-cased names are in ``names``."""
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
        self.defenses = [available[name] for name in dict.fromkeys(wanted)]
        return self


def _regression_spec(
    name, description, X, y, sensitive, label, utility_label, defenses
):
    """An AuditSpec scored by test MSE and attacked by MAP on ``sensitive``."""
    attack = MAPAttributeInference(sensitive).fit(X, y)
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
            "map_accuracy": make_attack_scorer(attack, "accuracy"),
            "map_advantage": make_attack_scorer(attack, "advantage"),
        },
        attack_labels={
            "map_accuracy": f"MAP accuracy on {label}",
            "map_advantage": f"MAP advantage on {label}",
        },
        plot_attacks=("map_accuracy",),
        budget_attack="map_advantage",
        defenses=defenses,
        sensitive=label,
    )


def _classification_spec(name, description, X, y, sensitive, label, defenses):
    """An AuditSpec scored by weighted F1, attacked by both MAP attacks (train rows)."""
    attacks, labels = _classification_attacks(sensitive, X, y)
    return AuditSpec(
        name=name,
        description=description,
        X=X,
        y=y,
        task="classification",
        utility="f1_weighted",
        utility_label="model F1 (weighted, held-out rows)",
        utility_sign=1.0,
        attacks=attacks,
        attack_labels=labels,
        plot_attacks=("naive_f1", "counts_f1"),
        budget_attack="counts_advantage",
        defenses=defenses,
        sensitive=label,
        # Trees memorise their training rows; that is what the attacks exploit
        # (the MID paper's Figures 2b and 4c attack the training set).
        attack_rows="train",
    )


# -- warfarin ----------------------------------------------------------------

WARFARIN_MID_LAMS = [20.0, 40.0, 60.0, 80.0, 100.0, 150.0, 1000.0]
WARFARIN_ADASSP_EPSILONS = [1.0, 10.0, 100.0, 1000.0, 10000.0]
# Domain bounds, fixed without looking at the data; AdaSSP needs them, and
# rescaling the features to [0, 1] with them changes nothing for the others.
DOSE_BOUNDS = (0.0, 350.0)
NUMERIC_BOUNDS = {"age_decade": (1, 9), "height_cm": (100, 230), "weight_kg": (20, 250)}


def warfarin_audit(random_state=0):
    """OLS, MID and AdaSSP on IWPC warfarin, attacked by MAP on VKORC1."""
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
        "(3 values) by MAP from the model, the other features and the dose.",
        X,
        y,
        warfarin.sensitive_features,
        "VKORC1",
        "test MSE (mg/week)^2",
        [
            DefenseSpec("OLS", LinearRegression()),
            DefenseSpec("MID", MIDLinearRegression(), {"lam": WARFARIN_MID_LAMS}),
            DefenseSpec(
                "AdaSSP",
                AdaSSPLinearRegression(
                    bounds_X=(0, 1), bounds_y=DOSE_BOUNDS, random_state=random_state
                ),
                {"epsilon": WARFARIN_ADASSP_EPSILONS},
            ),
        ],
    )


# -- steak survey ------------------------------------------------------------

STEAK_MID_LAMS = [0.01, 0.02, 0.03, 0.035, 0.04, 0.05, 0.1]
STEAK_PRIORITY_DEPTHS = [0, 1, 2, 3, 4]
STEAK_DP_EPSILONS = [0.1, 1.0, 10.0, 100.0, 1000.0]
CMI_EPSILONS = [0.5, 1.0, 2.0]


def _classification_attacks(sensitive, X, y):
    naive = MAPAttributeInference(sensitive, mode="naive").fit(X, y)
    counts = MAPAttributeInference(sensitive, mode="counts").fit(X, y)
    attacks = {
        "naive_f1": make_attack_scorer(naive, "f1"),
        "naive_auc": make_attack_scorer(naive, "roc_auc"),
        "naive_advantage": make_attack_scorer(naive, "advantage"),
        "counts_f1": make_attack_scorer(counts, "f1"),
        "counts_auc": make_attack_scorer(counts, "roc_auc"),
        "counts_advantage": make_attack_scorer(counts, "advantage"),
    }
    labels = {
        "naive_f1": "naive MAP F1",
        "naive_auc": "naive MAP AUROC",
        "naive_advantage": "naive MAP advantage",
        "counts_f1": "MAP-with-counts F1",
        "counts_auc": "MAP-with-counts AUROC",
        "counts_advantage": "MAP-with-counts advantage",
    }
    return attacks, labels


_NAIVE = ("naive_f1", "naive_auc", "naive_advantage")


def _tree_defenses(sensitive, categorical, random_state, dp_estimator=None):
    from ..postprocessing import CMIPostProcessor, DefendedClassifier
    from ..tree import DPID3Classifier, MIDDecisionTreeClassifier

    def tree(**params):
        return MIDDecisionTreeClassifier(
            categorical_features=categorical, random_state=random_state, **params
        )

    dp = dp_estimator or DPID3Classifier(random_state=random_state)
    dp_key = "epsilon" if dp_estimator is None else "dpid3classifier__epsilon"
    return [
        DefenseSpec("ID3", tree(lam=0.0)),
        DefenseSpec("MID", tree(), {"lam": STEAK_MID_LAMS}),
        DefenseSpec(
            "Priority",
            tree(lam=0.0, priority_feature=sensitive),
            {"priority_depth": STEAK_PRIORITY_DEPTHS},
        ),
        DefenseSpec("DP-ID3", dp, {dp_key: STEAK_DP_EPSILONS}),
        DefenseSpec(
            "CMI",
            DefendedClassifier(
                tree(lam=0.0), CMIPostProcessor(), random_state=random_state
            ),
            {"defense__epsilon": CMI_EPSILONS},
            attacks=_NAIVE,
        ),
    ]


def steak_audit(data_home=None, random_state=0):
    """ID3, MID, Priority, DP-ID3 and CMI trees on the steak survey."""
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
        _tree_defenses(sensitive, None, random_state),
    )


# -- any CSV file --------------------------------------------------------------

MIN_ROWS = 50
#: MID's lam grid for a CSV regression, in units of the target's variance.
CSV_MID_LAM_SCALES = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
MAX_CLASSES_FOR_AUTO = 10
MAX_SENSITIVE_VALUES = 20


def csv_audit(path, *, target, sensitive, task="auto", random_state=0):
    """An audit of a CSV file: regression or classification from the target.

    Missing feature values are data (the trees give them a branch, the linear
    pipelines impute them). A missing target or sensitive value, infinity or
    a number too large to audit in any numeric column, a target with a single
    value or a class of fewer than 5 rows is an :class:`AuditInputError`
    naming the file, the column and the first offending row.
    """
    from ..utils import import_optional_dependency

    pd = import_optional_dependency(
        "pandas", extra="datasets", feature="skmid audit --csv"
    )
    check_scalar_choice(task, "task", {"auto", "regression", "classification"})
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
        ),
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


def _csv_regression(X, y, sensitive, categorical, numeric, description, random_state):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

    from ..linear_model import AdaSSPLinearRegression, MIDLinearRegression

    def pipeline(model):
        encode = ColumnTransformer(
            [
                (
                    "categorical",
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                    categorical,
                ),
                (
                    "numeric",
                    make_pipeline(
                        SimpleImputer(strategy="median"), MinMaxScaler(clip=True)
                    ),
                    numeric,
                ),
            ]
        )
        return make_pipeline(encode, model)

    bounds_y = (float(np.min(y)), float(np.max(y)))
    return _regression_spec(
        "csv",
        description,
        X,
        y,
        sensitive,
        sensitive,
        "test MSE",
        [
            DefenseSpec("OLS", pipeline(LinearRegression())),
            DefenseSpec(
                "MID",
                pipeline(MIDLinearRegression()),
                # MSE scales with var(y), the entropy penalty does not
                {
                    "midlinearregression__lam": [
                        float(np.var(y) * scale) for scale in CSV_MID_LAM_SCALES
                    ]
                },
            ),
            DefenseSpec(
                "AdaSSP",
                pipeline(
                    AdaSSPLinearRegression(
                        bounds_X=(0, 1), bounds_y=bounds_y, random_state=random_state
                    )
                ),
                {"adassplinearregression__epsilon": WARFARIN_ADASSP_EPSILONS},
            ),
        ],
    )
