"""Privacy-utility search: utility and attack success over a parameter grid."""

import contextlib
import math
import numbers
import sys
import time
from collections.abc import Mapping
from inspect import signature

import numpy as np
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import (
    KFold,
    ParameterGrid,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    check_cv,
)
from sklearn.utils import indexable
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import _safe_split
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_method_params,
    check_consistent_length,
    check_is_fitted,
)
from threadpoolctl import ThreadpoolController

from ..attacks import AttackScorer, TrainingRowsRecorder
from ..utils._validation import (
    check_finite_output,
    check_int,
    check_n_jobs,
    check_n_splits,
    check_seed,
)

UTILITY = "utility"
#: Most folds (cv times n_repeats) a search may run.
MAX_SPLITS = 10_000


def privacy_utility_search(
    estimator,
    param_grid,
    *,
    utility,
    attacks,
    extra_scoring=None,
    cv=5,
    n_repeats=1,
    n_jobs=None,
    random_state=None,
):
    """Utility and attack success of every setting of a parameter grid.

    A shorthand for :class:`PrivacyUtilitySearch` with the same parameters;
    call ``fit(X, y)`` on what it returns.

    Parameters
    ----------
    estimator : estimator
        The model (or pipeline, or :class:`~skmid.postprocessing.DefendedClassifier`)
        whose defense parameters ``param_grid`` varies.
    param_grid : dict or list of dicts
        As for GridSearchCV, e.g. ``{"lam": [0, 10, 100]}``.
    utility : str or callable
        A scikit-learn scorer name or ``scorer(estimator, X, y)``; higher is
        better (use ``"neg_mean_squared_error"``, not the MSE).
    attacks : dict of str to AttackScorer
        Attack scorers by name, from :func:`skmid.attacks.make_attack_scorer`.
    extra_scoring : dict of str to scorer, default=None
        Further columns (e.g. a distortion), with the same statistics.
    cv : int or cross-validation splitter, default=5
        Folds; an int gives shuffled (stratified, for classifiers) K-fold.
    n_repeats : int, default=1
        Repetitions of an int ``cv`` with different shuffles.
    n_jobs : int, default=None
        Parallel fits (joblib).
    random_state : int, RandomState instance or None, default=None
        Shuffling of the folds.

    Returns
    -------
    search : PrivacyUtilitySearch
        Unfitted.

    Examples
    --------
    >>> from skmid.attacks import MAPAttributeInference, make_attack_scorer
    >>> from skmid.datasets import make_sensitive_regression
    >>> from skmid.linear_model import MIDLinearRegression
    >>> from skmid.model_selection import privacy_utility_search
    >>> data = make_sensitive_regression(n_samples=400, random_state=0)
    >>> attack = MAPAttributeInference(data.sensitive_features).fit(
    ...     data.data, data.target)
    >>> search = privacy_utility_search(
    ...     MIDLinearRegression(), {"lam": [0.0, 1000.0]},
    ...     utility="neg_mean_squared_error",
    ...     attacks={"map": make_attack_scorer(attack, "advantage")},
    ...     cv=3, random_state=0,
    ... ).fit(data.data, data.target)
    >>> search.best_under_budget(0.05)
    {'lam': 1000.0}
    """
    return PrivacyUtilitySearch(
        estimator,
        param_grid,
        utility=utility,
        attacks=attacks,
        extra_scoring=extra_scoring,
        cv=cv,
        n_repeats=n_repeats,
        n_jobs=n_jobs,
        random_state=random_state,
    )


class PrivacyUtilitySearch(BaseEstimator):
    """Utility and attack success of every setting of a parameter grid.

    Scores like :class:`~sklearn.model_selection.GridSearchCV` with
    multi-metric scoring: the utility scorer plus one scorer per attack (from
    :func:`skmid.attacks.make_attack_scorer`), each evaluated on the held-out
    rows and on the training rows of every fold, with the same statistics and
    the same keys (``mean_test_<name>``, ``std_train_<name>``, ...). The MID
    paper averages many random splits per setting; ``n_repeats`` repeats the
    ``cv``-fold split with different shuffles.

    Each attack scorer carries its orientation (``higher_is_more_leakage``):
    the Pareto front and :meth:`best_under_budget` read it from the scorer,
    so an attack whose metric is lower for more leakage (an inversion error)
    is never ranked the wrong way.

    Parameters
    ----------
    estimator : estimator
        The model (or pipeline, or :class:`~skmid.postprocessing.DefendedClassifier`)
        whose defense parameters ``param_grid`` varies.
    param_grid : dict or list of dicts
        As for GridSearchCV, e.g. ``{"lam": [0, 10, 100]}``.
    utility : str or callable
        A scikit-learn scorer name or ``scorer(estimator, X, y)``; higher is
        better (use ``"neg_mean_squared_error"``, not the MSE). Its statistics
        are stored under the name ``"utility"``.
    attacks : dict of str to AttackScorer
        Attack scorers by name. A membership attack's scorer needs the
        members: the search then wraps ``estimator`` in a
        :class:`~skmid.attacks.TrainingRowsRecorder` so that each candidate
        remembers its training rows, and scores the attack with the fold's
        training rows as members and its held-out rows as non-members (the
        larger group subsampled to the size of the smaller); its
        training-row score is NaN (undefined by design).
    extra_scoring : dict of str to str or callable, default=None
        Further scorers ``scorer(estimator, X, y)`` by name, stored with the
        same statistics (e.g. the distortion an output defense adds); they
        are neither utility nor leakage, so they take no part in the Pareto
        front or the budget.
    cv : int or cross-validation splitter, default=5
        Folds; an int gives shuffled (stratified, for classifiers) K-fold.
    n_repeats : int, default=1
        Repetitions of an int ``cv`` with different shuffles.
    n_jobs : int, default=None
        Parallel fits (joblib; a Dask cluster through joblib's Dask backend).
        Each (setting, fold) is one job, fitted and scored on one thread
        (BLAS, OpenMP and numba), so the results do not depend on ``n_jobs``.
    random_state : int, RandomState instance or None, default=None
        Shuffling of the folds.

    Attributes
    ----------
    attacks_ : dict of str to AttackScorer
        The attack scorers, as checked by ``fit``.
    params_ : list of dict
        The settings, in GridSearchCV's order.
    utility_mean_, utility_std_ : ndarray of shape (n_settings,)
        Utility on the held-out rows, over folds and repeats.
    attack_mean_, attack_std_ : dict of str to ndarray
        Each attack's success on the held-out rows, in the metric's units.
    attack_train_mean_, attack_train_std_ : dict of str to ndarray
        Each attack's success on the training rows.
    pareto_front_ : ndarray of int
        Settings no other setting beats on utility and on every attack at once
        (held-out means, each attack oriented by its scorer), by increasing
        utility.
    cv_results_ : dict
        Every fold's scores and their statistics, with GridSearchCV's keys
        (``split0_test_utility``, ``mean_train_<attack>``, ``params``, ...).
    n_splits_ : int
        Folds times repeats.

    See Also
    --------
    run_searches : Several searches run as one list of jobs.
    best_under_budget : The same choice as a GridSearchCV ``refit`` callable.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from skmid.attacks import MAPAttributeInference, make_attack_scorer
    >>> from skmid.datasets import make_sensitive_regression
    >>> from skmid.linear_model import MIDLinearRegression
    >>> from skmid.model_selection import PrivacyUtilitySearch
    >>> data = make_sensitive_regression(n_samples=400, random_state=0)
    >>> attack = MAPAttributeInference(data.sensitive_features).fit(
    ...     data.data, data.target)
    >>> search = PrivacyUtilitySearch(
    ...     MIDLinearRegression(), {"lam": [0.0, 1000.0]},
    ...     utility="neg_mean_squared_error",
    ...     attacks={"map": make_attack_scorer(attack, "advantage")},
    ...     cv=3, random_state=0,
    ... )
    >>> search = clone(search).fit(data.data, data.target)
    >>> bool(search.attack_mean_["map"][1] < search.attack_mean_["map"][0])
    True
    >>> search.best_under_budget(0.05)
    {'lam': 1000.0}
    >>> sorted(search.to_records()[0])[:3]
    ['mean_test_map', 'mean_test_utility', 'mean_train_map']
    """

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        utility,
        attacks,
        extra_scoring=None,
        cv=5,
        n_repeats=1,
        n_jobs=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.param_grid = param_grid
        self.utility = utility
        self.attacks = attacks
        self.extra_scoring = extra_scoring
        self.cv = cv
        self.n_repeats = n_repeats
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y, **fit_params):
        """Run the search on ``X, y``; returns ``self``.

        A failing fit raises, and so does a NaN or infinite mean utility or
        attack score, naming the setting and the attack: a failure is never a
        blank. The one exception is a membership attack on the training rows,
        undefined by design (NaN).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data.
        y : array-like of shape (n_samples,)
            The target.
        **fit_params : dict
            Metadata such as ``sample_weight``, split with the rows of each
            fold as :class:`~sklearn.model_selection.GridSearchCV` splits
            them. With ``sklearn.set_config(enable_metadata_routing=True)``
            they are routed to the estimator's ``fit`` by its requests
            (``estimator.set_fit_request(sample_weight=True)``, or the
            requests of the estimators a meta-estimator such as
            :class:`~skmid.postprocessing.DefendedClassifier` routes to), and
            and to the utility's and ``extra_scoring``'s scorers by their
            ``score`` requests, metadata no one requests raising
            scikit-learn's routing error. Without routing, all of them go to
            the estimator's ``fit``, and ``sample_weight`` also to each of
            those scorers that accepts it, as GridSearchCV does. The attack
            scorers receive none (an attack's success is over the rows).

        Returns
        -------
        self : object
            The fitted search.
        """
        run_searches([self], X, y, n_jobs=self.n_jobs, fit_params=fit_params)
        return self

    def get_metadata_routing(self):
        """Metadata routing of this object, as GridSearchCV's.

        ``fit`` routes to the estimator's ``fit`` and to the ``score`` of the
        utility's and ``extra_scoring``'s scorers.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        scorers = {UTILITY: check_scoring(self.estimator, self.utility)}
        for name, scorer in (self.extra_scoring or {}).items():
            scorers[name] = check_scoring(self.estimator, scorer)
        return (
            MetadataRouter(owner=self)
            .add(
                estimator=self.estimator,
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
            .add(
                scorer=_MultimetricScorer(scorers=scorers),
                method_mapping=MethodMapping().add(caller="fit", callee="score"),
            )
        )

    def _plan(self, X, y, fit_params=None):
        """Check everything and list the fits: a :class:`_SearchPlan`."""
        if not hasattr(self.estimator, "fit"):
            raise TypeError(
                f"estimator must be an estimator (with fit); got {self.estimator!r}."
            )
        if not isinstance(self.attacks, Mapping):
            raise TypeError(
                "attacks must be a dict of name -> attack scorer; got "
                f"{type(self.attacks).__name__}."
            )
        attacks = dict(self.attacks)
        if not attacks:
            raise ValueError("attacks must name at least one attack scorer.")
        for name, scorer in attacks.items():
            if not isinstance(scorer, AttackScorer):
                raise ValueError(
                    f"attacks[{name!r}] must be made by "
                    f"skmid.attacks.make_attack_scorer; got {type(scorer).__name__}."
                )
            if name == UTILITY:
                raise ValueError(f"{UTILITY!r} is reserved for the utility scorer.")
        self.attacks_ = attacks
        try:
            utility = check_scoring(self.estimator, self.utility)
        except (TypeError, ValueError) as error:
            raise ValueError(f"utility: {error}") from None
        extras = self.extra_scoring or {}
        if not isinstance(extras, Mapping):
            raise TypeError(
                "extra_scoring must be a dict of name -> scorer; got "
                f"{type(extras).__name__}."
            )
        self.extra_scoring_ = {}
        for name, scorer in extras.items():
            if name == UTILITY or name in attacks:
                raise ValueError(
                    f"extra_scoring[{name!r}]: the name is already the utility's "
                    "or an attack's."
                )
            try:
                self.extra_scoring_[name] = check_scoring(self.estimator, scorer)
            except (TypeError, ValueError) as error:
                raise ValueError(f"extra_scoring[{name!r}]: {error}") from None
        check_n_jobs(self.n_jobs)
        check_seed(self.random_state)
        splitter = _splitter(self.estimator, self.cv, self.n_repeats, self.random_state)
        if isinstance(self.cv, numbers.Integral):
            check_consistent_length(X, y)
            check_n_splits(self.cv, X, y, stratified=is_classifier(self.estimator))
        try:
            params = list(ParameterGrid(self.param_grid))
        except (TypeError, ValueError) as error:
            raise type(error)(f"param_grid: {error}") from None
        if not params:
            raise ValueError("param_grid holds no setting.")
        fit_params = dict(fit_params or {})
        weighted = {UTILITY: utility, **self.extra_scoring_}
        if _routing_enabled():
            routed = process_routing(self, "fit", **fit_params)
            fit_params = dict(routed.estimator.fit)
            # Split by scorer as GridSearchCV's multimetric scorer splits them
            # (which raises for a passed metadata a scorer leaves unset).
            by_scorer = process_routing(
                _MultimetricScorer(scorers=weighted), "score", **routed.scorer.score
            )
            score_params = {name: dict(by_scorer[name].score) for name in weighted}
        else:
            weights = fit_params.get("sample_weight")
            score_params = {
                name: {"sample_weight": weights}
                if weights is not None and _accepts_sample_weight(scorer)
                else {}
                for name, scorer in weighted.items()
            }
        score_params = {
            name: _check_method_params(X, params=score_params.get(name, {}))
            for name in (UTILITY, *attacks, *self.extra_scoring_)
        }
        estimator, candidates = self.estimator, params
        if any(_needs_training_rows(scorer) for scorer in attacks.values()):
            # Membership scorers need each candidate's training rows (the
            # members); the recorder keeps them next to the fitted model.
            estimator = TrainingRowsRecorder(self.estimator)
            candidates = [
                {f"estimator__{key}": value for key, value in setting.items()}
                for setting in params
            ]
        X, y = indexable(X, y)
        splitter = check_cv(splitter, y, classifier=is_classifier(self.estimator))
        splits = list(splitter.split(X, y))
        if not splits:
            raise ValueError("cv yields no split.")
        return _SearchPlan(
            estimator=estimator,
            params=params,
            candidates=candidates,
            scoring=_Scoring({UTILITY: utility, **attacks, **self.extra_scoring_}),
            splits=splits,
            X=X,
            y=y,
            fit_params=_check_method_params(X, params=fit_params),
            score_params=score_params,
        )

    def _finish(self, plan, results):
        """Set the attributes from the results of ``plan.jobs()``, in order."""
        attacks = self.attacks_
        self.cv_results_ = results = _format_results(plan, list(results))
        self.n_splits_ = len(plan.splits)
        self.params_ = list(results["params"])
        self.utility_mean_ = results[f"mean_test_{UTILITY}"]
        self.utility_std_ = results[f"std_test_{UTILITY}"]
        self.attack_mean_ = {a: results[f"mean_test_{a}"] for a in attacks}
        self.attack_std_ = {a: results[f"std_test_{a}"] for a in attacks}
        self.attack_train_mean_ = {a: results[f"mean_train_{a}"] for a in attacks}
        self.attack_train_std_ = {a: results[f"std_train_{a}"] for a in attacks}
        self._check_finite_scores()
        self.pareto_front_ = pareto_front(
            self.utility_mean_,
            [
                _orientation(scorer) * self.attack_mean_[name]
                for name, scorer in attacks.items()
            ],
        )
        return self

    def _check_finite_scores(self):
        """A NaN or infinite mean is an error, not a blank in a report.

        Scorers turn failures (an undefined metric, an overflow) into NaN;
        left in, such a setting would silently drop out of the Pareto front
        and of ``best_under_budget``. Membership scores on the training rows
        are undefined by design (the members are those rows) and skipped.
        """
        results = self.cv_results_
        columns = [("the utility", "held-out", self.utility_mean_, self.utility_std_)]
        for name in self.extra_scoring_:
            for rows, key in (("held-out", "test"), ("training", "train")):
                columns.append(
                    (
                        f"the scorer {name!r}",
                        rows,
                        results[f"mean_{key}_{name}"],
                        results[f"std_{key}_{name}"],
                    )
                )
        for name, scorer in self.attacks_.items():
            attack = f"the attack {name!r}"
            columns.append(
                (attack, "held-out", self.attack_mean_[name], self.attack_std_[name])
            )
            if not _needs_training_rows(scorer):
                columns.append(
                    (
                        attack,
                        "training",
                        self.attack_train_mean_[name],
                        self.attack_train_std_[name],
                    )
                )
        for what, rows, *statistics in columns:
            for values in statistics:
                values = np.asarray(values, dtype=float)
                bad = np.flatnonzero(~np.isfinite(values))
                if bad.size:
                    check_finite_output(
                        values[bad[:1]],
                        source=(
                            f"{what} on the {rows} rows, for the setting "
                            f"{self.params_[bad[0]]},"
                        ),
                        remedy=(
                            "a scorer returned NaN or infinity on some fold "
                            "(every fold's score is in cv_results_)"
                        ),
                    )

    def best_under_budget(self, max_leakage, *, attack=None):
        """The most useful setting whose attack success stays within a budget.

        Parameters
        ----------
        max_leakage : float
            The budget, in the attack metric's own units, on its held-out
            mean: the largest acceptable value for a metric where higher
            means more leakage (an advantage, an accuracy), the smallest
            acceptable value for one where lower means more leakage (an
            inversion error). The scorer says which.
        attack : str, default=None
            Which attack; may be omitted when there is only one.

        Returns
        -------
        params : dict
            The setting; a ValueError if none is within the budget.
        """
        check_is_fitted(self, "cv_results_")
        scoring = {UTILITY: self.utility, **self.attacks_}
        index = best_under_budget(max_leakage, scoring, attack=attack)(self.cv_results_)
        return self.params_[index]

    def to_records(self):
        """One dict per setting: ``params``, ``pareto`` and the statistics.

        The statistics have ``cv_results_``'s keys: ``mean_test_utility``,
        ``std_test_utility``, ``mean_train_utility``, ``std_train_utility``
        and the same four for each attack.
        """
        check_is_fitted(self, "cv_results_")
        front = set(self.pareto_front_.tolist())
        names = [UTILITY, *self.attacks_, *self.extra_scoring_]
        records = []
        for i, params in enumerate(self.params_):
            record = {"params": params, "pareto": i in front}
            for name in names:
                for key in _statistic_keys(name):
                    record[key] = float(self.cv_results_[key][i])
            records.append(record)
        return records


def _statistic_keys(name):
    """The four statistics of scorer ``name``, with GridSearchCV's keys."""
    return tuple(
        f"{statistic}_{rows}_{name}"
        for rows in ("test", "train")
        for statistic in ("mean", "std")
    )


def _orientation(scorer):
    """+1 where a higher value of ``scorer`` means more leakage, else -1.

    Multiplying an attack's scores by it gives values where higher always
    means more leakage (what :func:`pareto_front` takes).
    """
    if not isinstance(scorer, AttackScorer):
        raise TypeError(
            "scorer must be made by skmid.attacks.make_attack_scorer; got "
            f"{type(scorer).__name__}."
        )
    return 1.0 if scorer.higher_is_more_leakage else -1.0


def _needs_training_rows(scorer):
    needs = getattr(scorer, "needs_training_rows", None)
    if needs is None:
        needs = getattr(scorer.attack, "needs_training_rows", False)
    return bool(needs)


def best_under_budget(max_leakage, scoring, *, attack=None, utility=UTILITY):
    """A GridSearchCV ``refit`` callable: most useful setting within a budget.

    Parameters
    ----------
    max_leakage : float
        The budget on the attack's mean test score, in the metric's own
        units: the largest acceptable value where a higher value means more
        leakage (an advantage, an accuracy), the smallest acceptable value
        where a lower value does (an inversion error).
    scoring : dict
        GridSearchCV's ``scoring`` dict. The attack's orientation is read from
        its :class:`~skmid.attacks.AttackScorer` there, so it cannot be given
        wrongly.
    attack : str, default=None
        Name of the attack scorer in ``scoring``; may be omitted when
        ``scoring`` holds one attack scorer.
    utility : str, default="utility"
        Name of the utility scorer in ``scoring``.

    Returns
    -------
    refit : callable
        ``refit(cv_results) -> index`` of the setting with the highest mean
        utility among those whose mean attack score is within the budget; a
        ValueError when there is none.

    Examples
    --------
    >>> from skmid.attacks import InversionModelAttack, make_attack_scorer
    >>> from skmid.model_selection import best_under_budget
    >>> scoring = {"utility": "accuracy",
    ...            "inversion": make_attack_scorer(InversionModelAttack(), "mse")}
    >>> refit = best_under_budget(0.05, scoring)
    >>> refit({"mean_test_utility": [3.0, 2.0, 1.0],
    ...        "mean_test_inversion": [0.01, 0.06, 0.08]})
    1
    """
    if not isinstance(scoring, Mapping):
        raise TypeError(
            "scoring must be GridSearchCV's scoring dict (name -> scorer); got "
            f"{type(scoring).__name__}."
        )
    for name, value in (("attack", attack), ("utility", utility)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a scorer's name (a str); got {value!r}.")
    attacks = {k: s for k, s in scoring.items() if isinstance(s, AttackScorer)}
    if attack is None:
        if len(attacks) != 1:
            raise ValueError(
                "Name the attack: scoring holds "
                + (f"the attack scorers {sorted(attacks)}." if attacks else "none.")
            )
        attack = next(iter(attacks))
    elif attack not in attacks:
        raise ValueError(
            f"Unknown attack {attack!r}; the attack scorers of scoring are "
            f"{sorted(attacks)}."
        )
    if utility not in scoring:
        raise ValueError(
            f"utility {utility!r} is not a scorer of scoring; it holds "
            f"{sorted(scoring)}."
        )
    scorer = attacks[attack]
    _check_budget(max_leakage, scorer)
    higher_leaks = scorer.higher_is_more_leakage
    bound = "at most" if higher_leaks else "at least"

    def refit(cv_results):
        utilities, attack_scores = (
            _finite_column(cv_results, f"mean_test_{name}")
            for name in (utility, attack)
        )
        if len(utilities) != len(attack_scores):
            raise ValueError(
                f"cv_results has {len(utilities)} utilities but {len(attack_scores)} "
                f"{attack} scores."
            )
        if not len(utilities):
            raise ValueError("cv_results holds no setting.")
        if higher_leaks:
            allowed = np.flatnonzero(attack_scores <= max_leakage)
        else:
            allowed = np.flatnonzero(attack_scores >= max_leakage)
        if allowed.size == 0:
            closest = attack_scores.min() if higher_leaks else attack_scores.max()
            raise ValueError(
                f"No setting keeps {attack} within the budget ({bound} "
                f"{max_leakage}); the {'lowest' if higher_leaks else 'highest'} "
                f"is {closest:.4g}."
            )
        return int(allowed[np.argmax(utilities[allowed])])

    return refit


def _check_budget(max_leakage, scorer=None):
    """A leakage budget as a float: finite, within the scorer's metric range."""
    if isinstance(max_leakage, (bool, np.bool_)) or not isinstance(
        max_leakage, numbers.Real
    ):
        raise ValueError(f"max_leakage must be a number; got {max_leakage!r}.")
    if not math.isfinite(max_leakage):
        raise ValueError(f"max_leakage must be a finite number; got {max_leakage!r}.")
    metric_range = getattr(scorer, "metric_range", None)
    if metric_range is not None:
        low, high = metric_range
        if not low <= max_leakage <= high:
            raise ValueError(
                f"max_leakage must be within the range of the metric "
                f"{scorer.metric!r}, [{low}, {high}]; got {max_leakage!r}."
            )
    return float(max_leakage)


def _finite_column(cv_results, key):
    """``cv_results[key]`` as finite floats; a ValueError naming the row if not."""
    try:
        values = cv_results[key]
    except (KeyError, TypeError, IndexError):
        raise ValueError(
            f"cv_results has no {key!r}: name the scorers of GridSearchCV's "
            "scoring dict"
        ) from None
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"cv_results[{key!r}] must hold numbers.") from None
    if values.ndim != 1:
        raise ValueError(f"cv_results[{key!r}] must be 1-D; got shape {values.shape}.")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(
            f"cv_results[{key!r}] is {values[bad[0]]} for setting {bad[0]}; every "
            "setting needs a finite score."
        )
    return values


def pareto_front(utility, leakages):
    """Indices of settings not dominated in (higher utility, lower leakages).

    A setting is dominated when another one, measured on every attack it was
    measured on, has at least its utility and at most its leakage on each of
    those, and is better on one. A leakage of None means "not measured" (an
    attack that does not apply to that setting's defense): the setting then
    competes on the attacks that were measured, never drops out, and it
    cannot dominate a setting on an attack it was not measured on.

    Parameters
    ----------
    utility : array-like of shape (n_settings,)
        Higher is better.
    leakages : list of array-like of shape (n_settings,)
        Attack successes oriented so that higher means more leakage; None
        where an attack was not measured. NaN and infinity are errors.

    Returns
    -------
    front : ndarray of int
        Non-dominated settings, by increasing utility.

    Examples
    --------
    >>> from skmid.model_selection import pareto_front
    >>> pareto_front([1.0, 2.0, 3.0, 2.5], [[0.1, 0.5, 0.9, 0.95]])
    array([0, 1, 2])
    >>> pareto_front([1.0, 2.0, 3.0], [[0.1, 0.5, None], [0.1, 0.2, 0.3]])
    array([0, 1, 2])
    """
    utility = _finite_vector(utility, "utility")
    if not len(utility):
        raise ValueError("utility must hold at least one setting; got none.")
    if isinstance(leakages, (str, bytes)) or not hasattr(leakages, "__iter__"):
        raise TypeError(
            "leakages must be a list of arrays of shape (n_settings,); got "
            f"{leakages!r}."
        )
    columns = [-utility]
    for j, leakage in enumerate(leakages):
        leakage = _finite_vector(leakage, f"leakages[{j}]", missing=True)
        if len(leakage) != len(utility):
            raise ValueError(
                f"leakages[{j}] has {len(leakage)} values but utility has "
                f"{len(utility)} (one per setting)."
            )
        columns.append(leakage)
    costs = np.column_stack(columns)
    measured = ~np.isnan(costs)
    front = []
    for i in range(len(utility)):
        # Dominance needs evidence on everything measured for setting i.
        covers = np.all(measured | ~measured[i], axis=1)
        no_worse = np.where(measured[i], costs <= costs[i], True)
        better = np.where(measured[i], costs < costs[i], False)
        dominated = covers & np.all(no_worse, axis=1) & np.any(better, axis=1)
        if not dominated.any():
            front.append(i)
    front = np.array(front, dtype=np.intp)
    return front[np.argsort(utility[front], kind="stable")]


def _finite_vector(values, name, missing=False):
    """``values`` as finite floats; with ``missing``, None becomes NaN."""
    if missing and not isinstance(values, np.ndarray) and hasattr(values, "__iter__"):
        values = list(values)
        absent = np.array([value is None for value in values], dtype=bool)
        values = [math.nan if value is None else value for value in values]
    else:
        absent = None
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers, one per setting.") from None
    if values.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D, one value per setting; got shape {values.shape}."
        )
    bad = ~np.isfinite(values)
    if absent is not None and absent.shape == bad.shape:
        bad &= ~absent
    bad = np.flatnonzero(bad)
    if bad.size:
        raise ValueError(
            f"{name} is {values[bad[0]]} for setting {bad[0]}; the Pareto front "
            "needs finite values (None where an attack was not measured)."
        )
    return values


class _Scoring(dict):
    """Scorers by name; a dict subclass so that it is weakly referenceable.

    joblib's Dask backend sends a weakly referenceable argument to the
    cluster once per run and every job reuses it; a plain dict (the attacks'
    background data: most of a job's bytes) would travel with every batch.
    """


class _SearchPlan:
    """The fits of one search: every candidate on every split, checked."""

    def __init__(
        self,
        *,
        estimator,
        params,
        candidates,
        scoring,
        splits,
        X,
        y,
        fit_params,
        score_params,
    ):
        self.estimator = estimator
        self.params = params  # as the user wrote them
        self.candidates = candidates  # as set_params takes them
        self.scoring = scoring
        self.splits = splits
        self.X, self.y, self.fit_params = X, y, fit_params
        self.score_params = score_params  # by scorer name

    def jobs(self, where=None):
        """One job per (candidate, split), candidates outer as in GridSearchCV.

        ``where`` prefixes the message of a ValueError raised by a job (the
        audit names the defense and setting with it).
        """
        return [
            (
                self.estimator,
                candidate,
                self.X,
                self.y,
                train,
                test,
                self.scoring,
                self.fit_params,
                self.score_params,
                where,
            )
            for candidate in self.candidates
            for train, test in self.splits
        ]


def run_searches(
    searches, X, y, *, n_jobs=None, names=None, progress=False, fit_params=None
):
    """Run several searches on ``X, y`` as one list of (setting, fold) jobs.

    Every search is checked and planned first (nothing runs if one is
    invalid), then all their fits run in one joblib call, each on one thread,
    so the results do not depend on ``n_jobs`` or the backend (use
    :func:`joblib.parallel_config` for Dask); each search is then finished
    with its own results. Fitting each search in turn gives the same numbers,
    with a barrier after every search.

    Parameters
    ----------
    searches : list of PrivacyUtilitySearch
        Unfitted or fitted; their own ``n_jobs`` is ignored here.
    X, y : array-like
        The data every search is run on.
    n_jobs : int, default=None
        Parallel fits over the whole list.
    names : list of str, default=None
        A name per search; an error raised by a search's fits or checks
        starts with it, and the progress bar shows it.
    progress : bool or str, default=False
        Show a progress bar (tqdm) over the fits; a str is its description.
    fit_params : dict, default=None
        Passed to every fit, split with the rows as GridSearchCV does (and
        routed by the estimator's requests while metadata routing is enabled,
        as :meth:`PrivacyUtilitySearch.fit` says).

    Returns
    -------
    searches : list of PrivacyUtilitySearch
        The same objects, fitted.

    Examples
    --------
    >>> from skmid.attacks import MAPAttributeInference, make_attack_scorer
    >>> from skmid.datasets import make_sensitive_regression
    >>> from skmid.linear_model import MIDLinearRegression
    >>> from skmid.model_selection import PrivacyUtilitySearch, run_searches
    >>> data = make_sensitive_regression(n_samples=300, random_state=0)
    >>> attack = MAPAttributeInference(data.sensitive_features).fit(
    ...     data.data, data.target)
    >>> searches = [
    ...     PrivacyUtilitySearch(
    ...         MIDLinearRegression(), {"lam": lams},
    ...         utility="neg_mean_squared_error",
    ...         attacks={"map": make_attack_scorer(attack, "advantage")},
    ...         cv=3, random_state=0)
    ...     for lams in ([0.0], [10.0, 1000.0])
    ... ]
    >>> [len(search.params_) for search in run_searches(searches, data.data,
    ...                                                  data.target)]
    [1, 2]
    """
    from tqdm.auto import tqdm

    searches = list(searches)
    for search in searches:
        if not isinstance(search, PrivacyUtilitySearch):
            raise TypeError(
                "searches must be PrivacyUtilitySearch objects; got "
                f"{type(search).__name__}."
            )
    check_n_jobs(n_jobs)
    if names is None:
        names = [None] * len(searches)
    names = list(names)
    if len(names) != len(searches):
        raise ValueError(
            f"names has {len(names)} entries for {len(searches)} searches."
        )
    plans, jobs, owners = [], [], []
    for index, (search, name) in enumerate(zip(searches, names, strict=True)):
        with _naming(name):
            plan = search._plan(X, y, fit_params)
        search_jobs = plan.jobs(where=name)
        plans.append(plan)
        jobs += search_jobs
        owners += [index] * len(search_jobs)
    results = [[] for _ in searches]
    bar = tqdm(
        total=len(jobs),
        disable=not progress,
        desc=progress if isinstance(progress, str) else None,
        unit="fit",
    )
    with bar:
        for result, owner in zip(_run_jobs(jobs, n_jobs), owners, strict=True):
            results[owner].append(result)
            if names[owner] is not None:
                bar.set_postfix_str(names[owner], False)
            bar.update()
    for search, plan, result, name in zip(searches, plans, results, names, strict=True):
        with _naming(name):
            search._finish(plan, result)
    return searches


@contextlib.contextmanager
def _naming(name):
    """Say which search failed, not only what failed."""
    try:
        yield
    except ValueError as error:
        if name is None:
            raise
        raise ValueError(f"{name}: {error}") from error


def _run_jobs(jobs, n_jobs):
    """Fit and score each job of ``jobs``; the results, lazily, in job order.

    One joblib call over the whole list: no barrier between settings, and
    joblib batches the short jobs so that the per-task overhead, and the data
    and scorers shipped with each batch, are paid per batch.
    """
    return Parallel(n_jobs=n_jobs, batch_size="auto", return_as="generator")(
        delayed(_fit_and_score)(*job) for job in jobs
    )


def _fit_and_score(
    estimator, params, X, y, train, test, scoring, fit_params, score_params, where
):
    """Fit a clone of ``estimator`` with ``params`` on one split; score it.

    Returns the test scores, the training scores (dicts by scorer name), the
    fit time and the test scoring time.
    """
    try:
        with _one_thread():
            X_train, y_train = _safe_split(estimator, X, y, train)
            X_test, y_test = _safe_split(estimator, X, y, test, train)
            model = clone(estimator).set_params(**clone(params, safe=False))
            start = time.perf_counter()
            model.fit(
                X_train,
                y_train,
                **_check_method_params(X, params=fit_params, indices=train),
            )
            fit_time = time.perf_counter() - start
            test_scores = _scores(
                scoring, model, X_test, y_test, _rows(X, score_params, test)
            )
            score_time = time.perf_counter() - start - fit_time
            train_scores = _scores(
                scoring, model, X_train, y_train, _rows(X, score_params, train)
            )
    except ValueError as error:
        if where is None:
            raise
        raise ValueError(f"{where}: {error}") from error
    return test_scores, train_scores, fit_time, score_time


def _scores(scoring, model, X, y, score_params):
    return {
        name: scorer(model, X, y, **score_params[name])
        for name, scorer in scoring.items()
    }


def _rows(X, score_params, indices):
    """Each scorer's metadata, of the rows ``indices`` of ``X``."""
    return {
        name: _check_method_params(X, params=params, indices=indices)
        for name, params in score_params.items()
    }


def _accepts_sample_weight(scorer):
    """Whether ``scorer`` takes ``sample_weight``, as GridSearchCV decides it."""
    if hasattr(scorer, "_accept_sample_weight"):
        return scorer._accept_sample_weight()
    return "sample_weight" in signature(scorer).parameters


_CONTROLLER = {}


@contextlib.contextmanager
def _one_thread():
    """Run the block with one BLAS, OpenMP and numba thread.

    A threaded reduction's result depends on the number of threads, and a
    joblib worker gets a share of the cores: one thread per fit is what makes
    results identical for every ``n_jobs`` (parallelism comes from the job
    list). It also spares these small fits the cost of waking threads, which
    on a loaded machine made serial audits several times slower.
    """
    # Inspecting the loaded libraries takes milliseconds, as long as a small
    # fit: redo it only when imports may have loaded a new one.
    if _CONTROLLER.get("n_modules") != len(sys.modules):
        _CONTROLLER["controller"] = ThreadpoolController()
        _CONTROLLER["n_modules"] = len(sys.modules)
    # A numba kernel can only run if numba was imported with its module.
    numba = sys.modules.get("numba")
    with _CONTROLLER["controller"].limit(limits=1):
        if numba is None:
            yield
            return
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            yield
        finally:
            numba.set_num_threads(threads)


def _format_results(plan, results):
    """GridSearchCV's ``cv_results_`` from the jobs' results, in job order.

    Means and standard deviations are computed as GridSearchCV computes them.
    """
    n_candidates, n_splits = len(plan.params), len(plan.splits)
    test_scores, train_scores, fit_times, score_times = zip(*results, strict=True)
    cv_results = {}

    def store(key, values, splits=True, rank=False):
        array = np.asarray(values, dtype=np.float64).reshape(n_candidates, n_splits)
        if splits:
            for k in range(n_splits):
                cv_results[f"split{k}_{key}"] = array[:, k]
        means = np.average(array, axis=1)
        cv_results[f"mean_{key}"] = means
        cv_results[f"std_{key}"] = np.sqrt(
            np.average((array - means[:, np.newaxis]) ** 2, axis=1)
        )
        if rank:
            if np.isnan(means).all():
                ranks = np.ones(n_candidates, dtype=np.int32)
            else:
                finite = np.nan_to_num(means, nan=np.nanmin(means) - 1)
                ranks = rankdata(-finite, method="min").astype(np.int32)
            cv_results[f"rank_{key}"] = ranks

    store("fit_time", fit_times, splits=False)
    store("score_time", score_times, splits=False)
    for name in plan.scoring:
        store(f"test_{name}", [s[name] for s in test_scores], rank=True)
        store(f"train_{name}", [s[name] for s in train_scores])
    for key in dict.fromkeys(key for params in plan.params for key in params):
        column = np.ma.MaskedArray(np.empty(n_candidates, dtype=object), mask=True)
        for i, params in enumerate(plan.params):
            if key in params:
                column[i] = params[key]
        cv_results[f"param_{key}"] = column
    cv_results["params"] = plan.params
    return cv_results


def _splitter(estimator, cv, n_repeats, random_state):
    n_repeats = check_int(n_repeats, "n_repeats", 1)
    if isinstance(cv, (numbers.Real, np.bool_)):
        n_splits = check_int(cv, "cv", 2)
        if n_splits * n_repeats > MAX_SPLITS:
            # Every split is listed up front: memory, not just time.
            raise ValueError(
                f"cv * n_repeats must be at most {MAX_SPLITS} folds in all; got "
                f"cv={n_splits} and n_repeats={n_repeats}."
            )
        classifier = is_classifier(estimator)
        if n_repeats == 1:
            kind = StratifiedKFold if classifier else KFold
            return kind(n_splits, shuffle=True, random_state=random_state)
        kind = RepeatedStratifiedKFold if classifier else RepeatedKFold
        return kind(n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    if n_repeats != 1:
        raise ValueError("n_repeats > 1 needs an integer cv (the number of folds).")
    return cv
