"""The attack check suite: what every skmid attack must do, one check at a time.

Like scikit-learn's ``check_estimator`` for estimators, :func:`check_attack`
runs small ``check_*`` functions on an attack, each asserting one part of the
attack contract of :class:`~skmid.attacks.BaseAttack`, and
:func:`parametrize_with_attack_checks` turns them into pytest cases.

The checks run on tiny tasks, one per kind of attack, and shrink the attack's
settings first (:func:`small_settings`), so that the suite stays fast:

- ``"attribute"``: a regression whose last column (index 2) is a binary
  sensitive feature, attacked through a ``LinearRegression``;
- ``"reconstruction"``: inputs in [0, 1] with three classes, attacked through
  a ``LogisticRegression``'s confidences;
- ``"class_reconstruction"``: the reconstruction task, with its labels (one
  image per class is reconstructed and scored on the scored rows);
- ``"membership"``: three classes, a ``KNeighborsClassifier`` trained on
  the first 40 of 80 scored rows (the members); the attacker's background
  rows are 40 other rows, and an attack whose ``fit`` takes ``member`` is
  fitted on the scored rows with their membership.

Attacks leave missing values outside what they read themselves to the
attacked model (which may handle them); the tasks' models refuse them, so
that NaN in ``X`` must end in a ValueError, never in a NaN score.
"""

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from ._base import KINDS, AttackMetric, AttackScorer, BaseAttack, TrainingRowsRecorder

#: Column of the sensitive feature in the attribute inference task.
SENSITIVE_COLUMN = 2


@dataclass
class AttackTask:
    """A tiny attack task: background rows, a fitted target and scored rows."""

    X_fit: Any
    y_fit: Any
    member_fit: Any
    target: Any
    X: Any
    y: Any
    member: Any
    X_members: Any = None
    y_members: Any = None
    unfitted_target: Any = None


def _attribute_task():
    rng = np.random.RandomState(0)
    n = 80
    sensitive = rng.randint(0, 2, n)
    X = np.column_stack([rng.normal(size=(n, 2)), sensitive]).astype(float)
    y = X[:, 0] + X[:, 1] + 3.0 * sensitive + 0.3 * rng.normal(size=n)
    target = LinearRegression().fit(X, y)
    return AttackTask(X[:40], y[:40], None, target, X[40:], y[40:], None)


def _reconstruction_task():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.5)
    target = LogisticRegression().fit(X, y)
    return AttackTask(X[:30], y[:30], None, target, X[30:], y[30:], None)


def _membership_task():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    y = np.digitize(X[:, 0] + 0.5 * rng.normal(size=120), [-0.5, 0.5])
    unfitted = KNeighborsClassifier(n_neighbors=3)
    target = clone(unfitted).fit(X[:40], y[:40])
    member = np.arange(80) < 40
    return AttackTask(
        X[80:],
        y[80:],
        None,
        target,
        X[:80],
        y[:80],
        member,
        X_members=X[:40],
        y_members=y[:40],
        unfitted_target=unfitted,
    )


_TASKS = {
    "attribute": _attribute_task,
    "reconstruction": _reconstruction_task,
    "membership": _membership_task,
    "class_reconstruction": _reconstruction_task,
}


def _task(attack):
    if attack.kind not in _TASKS:
        raise AssertionError(
            f"{_name(attack)}.kind must be one of {list(KINDS)}; got {attack.kind!r}."
        )
    return _TASKS[attack.kind]()


def _name(attack):
    return type(attack).__name__


def small_settings(attack):
    """A clone of ``attack`` with the suite's small, seeded settings.

    Parameters the attack has are set: ``sensitive_feature`` (when None) to
    the attribute task's sensitive column, ``max_epochs`` to at most 2,
    ``max_iter`` to at most 5, ``max_queries`` to at most 200,
    ``hidden_layer_sizes`` to ``(8,)`` and ``random_state`` (when None) to 0.

    Parameters
    ----------
    attack : attack

    Returns
    -------
    attack : attack
        An unfitted clone.

    Examples
    --------
    >>> from skmid.attacks import InversionModelAttack
    >>> from skmid.attacks._checks import small_settings
    >>> small_settings(InversionModelAttack())
    InversionModelAttack(hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    """
    attack = clone(attack)
    params = attack.get_params(deep=False)
    updates = {}
    if "sensitive_feature" in params and params["sensitive_feature"] is None:
        updates["sensitive_feature"] = SENSITIVE_COLUMN
    if "max_epochs" in params:
        updates["max_epochs"] = min(params["max_epochs"], 2)
    if "max_iter" in params:
        updates["max_iter"] = min(params["max_iter"], 5)
    if "max_queries" in params:
        updates["max_queries"] = min(params["max_queries"], 200)
    if "hidden_layer_sizes" in params:
        updates["hidden_layer_sizes"] = (8,)
    if "random_state" in params and params["random_state"] is None:
        updates["random_state"] = 0
    return attack.set_params(**updates)


def _fit(attack, task):
    if "member" in inspect.signature(attack.fit).parameters:
        member = task.member_fit
        X, y = task.X_fit, task.y_fit
        if member is None:  # the attacker knows the scored rows' membership
            X, y, member = task.X, task.y, task.member
        return attack.fit(X, y, member=member)
    return attack.fit(task.X_fit, task.y_fit)


def _fitted(attack):
    """Small settings of ``attack``, fitted on its task, and the task."""
    attack = small_settings(attack)
    task = _task(attack)
    return _fit(attack, task), task


def _score(attack, task, metric=None, *, X=None, y=None):
    X = task.X if X is None else X
    y = task.y if y is None else y
    member = task.member if attack.kind == "membership" else None
    return attack.score(task.target, X, y, member, metric=metric)


def _requires_fit(attack):
    return attack.__sklearn_tags__().requires_fit


def _expect_error(error, call, what):
    try:
        call()
    except error:
        return
    except Exception as other:  # noqa: BLE001 - reported as a failed check
        raise AssertionError(
            f"{what}: expected {error.__name__}, got {type(other).__name__}: {other}"
        ) from other
    raise AssertionError(f"{what}: expected {error.__name__}, nothing was raised.")


def _same_value(a, b):
    if isinstance(a, BaseAttack) or hasattr(a, "get_params"):
        return type(a) is type(b) and _same_params(
            a.get_params(deep=False), b.get_params(deep=False)
        )
    if a is b:
        return True
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):
        return a == b


def _same_params(a, b):
    return a.keys() == b.keys() and all(_same_value(a[key], b[key]) for key in a)


# -- the checks ------------------------------------------------------------------
def check_declarations(attack):
    """The attack declares its kind, its metrics with orientation and range."""
    name = _name(attack)
    assert attack.kind in KINDS, f"{name}.kind must be one of {KINDS}."
    metrics = type(attack)._metrics
    assert metrics, f"{name} declares no metric (_metrics is empty)."
    assert attack.default_metric in metrics, (
        f"{name}.default_metric {attack.default_metric!r} is not one of its "
        f"metrics {sorted(metrics)}."
    )
    for metric, entry in metrics.items():
        assert isinstance(entry, AttackMetric), (
            f"{name}'s metric {metric!r} must be an AttackMetric(function, "
            "higher_is_more_leakage, range)."
        )
        assert callable(entry.function), f"{name}'s {metric!r} is not callable."
        assert isinstance(entry.higher_is_more_leakage, bool), (
            f"{name}'s {metric!r} must say whether higher is more leakage (bool)."
        )
        low, high = entry.range
        assert low < high, f"{name}'s {metric!r} has an empty range {entry.range}."
        assert attack.higher_is_more_leakage(metric) is entry.higher_is_more_leakage
        assert attack.metric_range(metric) == (low, high)
    assert attack.needs_training_rows == (attack.kind == "membership"), (
        f"{name}.needs_training_rows must be True exactly for membership attacks."
    )
    if attack.kind == "membership":
        assert hasattr(attack, "decision_function"), (
            f"{name} is a membership attack without decision_function."
        )


def check_clone_and_get_params(attack):
    """``clone`` and ``get_params``/``set_params`` give back the same parameters."""
    name = _name(attack)
    params = attack.get_params(deep=False)
    assert set(params) == set(type(attack)._get_param_names()), (
        f"{name}.get_params() must list exactly the __init__ parameters."
    )
    try:
        cloned = clone(attack)
    except RuntimeError as error:  # scikit-learn's own check of __init__
        raise AssertionError(
            f"clone({name}) failed: __init__ must only store its parameters ({error})"
        ) from error
    assert cloned is not attack
    assert _same_params(cloned.get_params(deep=False), params), (
        f"clone({name}) changed its parameters: __init__ must only store them."
    )
    assert cloned.set_params(**params) is cloned
    assert _same_params(cloned.get_params(deep=False), params), (
        f"{name}.set_params(**get_params()) changed its parameters."
    )


def check_fit_returns_self(attack):
    """``fit`` returns the attack itself."""
    attack = small_settings(attack)
    fitted = _fit(attack, _task(attack))
    assert fitted is attack, f"{_name(attack)}.fit must return self."


def check_not_fitted(attack):
    """An unfitted attack raises NotFittedError, unless it needs no fit."""
    attack = small_settings(attack)
    task = _task(attack)
    name = _name(attack)
    if not _requires_fit(attack):
        score = _score(attack, task)
        assert math.isfinite(score), f"{name} needs no fit but its score is {score}."
        return
    _expect_error(
        NotFittedError, lambda: _score(attack, task), f"{name}.score before fit"
    )
    _expect_error(
        NotFittedError,
        lambda: attack.infer(task.target, task.X, task.y),
        f"{name}.infer before fit",
    )


def check_score_arguments(attack):
    """One ``score`` signature: missing or meaningless arguments are errors."""
    attack, task = _fitted(attack)
    name = _name(attack)
    target, X, y = task.target, task.X, task.y
    member = np.arange(len(y)) % 2 == 0
    if attack.kind == "membership":
        _expect_error(
            ValueError,
            lambda: attack.score(target, X, y),
            f"{name}.score without member",
        )
    else:
        _expect_error(
            ValueError,
            lambda: attack.score(target, X, y, member),
            f"{name}.score with member (meaningless for a {attack.kind} attack)",
        )
    _expect_error(
        ValueError,
        lambda: attack.score(target, X, y, attack.default_metric),
        f"{name}.score with the metric as the fourth positional argument",
    )
    _expect_error(
        ValueError,
        lambda: _score(attack, task, "no-such-metric"),
        f"{name}.score with an unknown metric",
    )
    if attack._needs_y:
        _expect_error(
            ValueError,
            lambda: attack.score(target, X, None, task.member),
            f"{name}.score without y",
        )
    assert _score(attack, task) == _score(attack, task, attack.default_metric), (
        f"{name}.score without metric must use default_metric."
    )


def check_scores_within_range(attack):
    """Every metric's score is a finite float within its declared range."""
    attack, task = _fitted(attack)
    for metric in type(attack)._metrics:
        score = _score(attack, task, metric)
        low, high = attack.metric_range(metric)
        assert isinstance(score, float) and math.isfinite(score), (
            f"{_name(attack)}'s {metric!r} is {score!r}, not a finite float."
        )
        assert low <= score <= high, (
            f"{_name(attack)}'s {metric!r} is {score}, outside its declared range "
            f"[{low}, {high}]."
        )


def check_infer_outputs(attack):
    """``infer`` answers one guess per row; probabilities are probabilities."""
    attack, task = _fitted(attack)
    name = _name(attack)
    n = len(task.y)
    guesses = np.asarray(attack.infer(task.target, task.X, task.y))
    assert len(guesses) == n, f"{name}.infer gave {len(guesses)} rows for {n}."
    if hasattr(attack, "infer_proba"):
        proba = np.asarray(attack.infer_proba(task.target, task.X, task.y))
        assert proba.ndim == 2 and proba.shape[0] == n, (
            f"{name}.infer_proba must have one row per row of X; got {proba.shape}."
        )
        assert np.all((proba >= 0) & (proba <= 1)), f"{name}.infer_proba not in [0, 1]."
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    if attack.kind == "membership":
        scores = np.asarray(attack.decision_function(task.target, task.X, task.y))
        assert scores.shape == (n,), f"{name}.decision_function must be 1-D."
        np.testing.assert_array_equal(guesses, scores >= attack._threshold)


def check_reproducible(attack):
    """An integer ``random_state`` gives the same score twice."""
    attack = small_settings(attack)
    if "random_state" in attack.get_params(deep=False):
        attack.set_params(random_state=0)
    task = _task(attack)
    first = _score(_fit(clone(attack), task), task)
    second = _score(_fit(clone(attack), task), task)
    assert first == second, (
        f"{_name(attack)} with random_state=0 scored {first} then {second}."
    )


def check_global_random_state_untouched(attack):
    """Fitting and scoring with an integer ``random_state`` draws nothing globally."""
    import sys

    attack = small_settings(attack)
    if "random_state" not in attack.get_params(deep=False):
        return
    attack.set_params(random_state=0)
    task = _task(attack)
    torch = sys.modules.get("torch")
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - the global state
    torch_before = None if torch is None else torch.random.get_rng_state().clone()
    _score(_fit(attack, task), task)
    after = np.random.get_state()[1]  # noqa: NPY002 - the global state
    assert np.array_equal(after, before), (
        f"{_name(attack)} with random_state=0 changed NumPy's global random state."
    )
    torch = sys.modules.get("torch")
    if torch is not None and torch_before is not None:
        assert torch.equal(torch.random.get_rng_state(), torch_before), (
            f"{_name(attack)} with random_state=0 changed torch's global random state."
        )


def check_bad_input(attack):
    """NaN in X, a wrong number of columns or a wrong-length y: a ValueError."""
    attack, task = _fitted(attack)
    name = _name(attack)
    X_nan = np.array(task.X, dtype=float)
    X_nan[0, 0] = np.nan
    _expect_error(
        ValueError,
        lambda: _score(attack, task, X=X_nan),
        f"{name}.score on X with NaN",
    )
    X_wide = np.hstack([task.X, task.X[:, :1]])
    _expect_error(
        ValueError,
        lambda: _score(attack, task, X=X_wide),
        f"{name}.score on X with one column too many",
    )
    _expect_error(
        ValueError,
        lambda: _score(attack, task, y=task.y[:-1]),
        f"{name}.score with y one entry short",
    )
    if _requires_fit(attack):
        short = _task(attack)
        if (
            short.member_fit is None
            and "member" in inspect.signature(attack.fit).parameters
        ):
            short.X_fit, short.y_fit, short.member_fit = short.X, short.y, short.member
        short.y_fit = short.y_fit[:-1]
        _expect_error(
            ValueError,
            lambda: _fit(small_settings(attack), short),
            f"{name}.fit with y one entry short",
        )


def check_scorer(attack):
    """``make_attack_scorer`` works with the attack fitted or not, in range."""
    attack = small_settings(attack)
    task = _task(attack)
    name = _name(attack)
    for fitted in (False, True):
        candidate = _fit(clone(attack), task) if fitted else clone(attack)
        scorer = AttackScorer(candidate, None)
        assert scorer.kind == attack.kind
        assert scorer.metric == attack.default_metric
        assert scorer.higher_is_more_leakage is attack.higher_is_more_leakage()
        assert scorer.metric_range == attack.metric_range()
        assert scorer.needs_training_rows == (attack.kind == "membership")
        if attack.kind == "membership":
            recorder = TrainingRowsRecorder(task.unfitted_target).fit(
                task.X_members, task.y_members
            )
            score = scorer(recorder, task.X_fit, task.y_fit)
            assert math.isnan(scorer(recorder, task.X_members, task.y_members))
        else:
            score = scorer(task.target, task.X, task.y)
            if fitted:
                assert score == _score(candidate, task)
        low, high = scorer.metric_range
        state = "fitted" if fitted else "unfitted"
        assert math.isfinite(score) and low <= score <= high, (
            f"The scorer of the {state} {name} gave {score}, not a finite value in "
            f"[{low}, {high}]."
        )


_CHECKS = (
    check_declarations,
    check_clone_and_get_params,
    check_fit_returns_self,
    check_not_fitted,
    check_score_arguments,
    check_scores_within_range,
    check_infer_outputs,
    check_reproducible,
    check_global_random_state_untouched,
    check_bad_input,
    check_scorer,
)


def attack_checks(attack):
    """The checks of the attack contract that apply to ``attack``.

    Parameters
    ----------
    attack : attack

    Returns
    -------
    checks : list of callable
        Each ``check(attack)`` raises an AssertionError naming the broken part
        of the contract.

    Examples
    --------
    >>> from skmid.attacks import LabelOnlyMembershipAttack, attack_checks
    >>> [check.__name__ for check in attack_checks(LabelOnlyMembershipAttack())][:2]
    ['check_declarations', 'check_clone_and_get_params']
    """
    if not isinstance(attack, BaseAttack):
        raise TypeError(
            f"attack must be a skmid attack (a BaseAttack); got {_name(attack)}."
        )
    return list(_CHECKS)


def check_attack(attack):
    """Check that ``attack`` keeps skmid's attack contract.

    Runs every check of :func:`attack_checks` on small, seeded settings of
    the attack (``max_epochs`` at most 2, ``random_state=0``) and tiny data,
    and raises at the first broken part of the contract: declarations (kind,
    metrics with orientation and range), ``clone`` and ``get_params``,
    ``fit`` returning ``self``, the not-fitted error, the one ``score``
    signature, scores within their metric's range, ``infer`` outputs,
    reproducibility and the global random state with an integer
    ``random_state``, clear errors on bad input, and the scorer made by
    :func:`~skmid.attacks.make_attack_scorer` with the attack fitted or not.

    Parameters
    ----------
    attack : attack
        An instance of a :class:`~skmid.attacks.BaseAttack` subclass.

    Raises
    ------
    AssertionError
        Naming the attack and the part of the contract it breaks.

    Examples
    --------
    >>> from skmid.attacks import LabelOnlyMembershipAttack, check_attack
    >>> check_attack(LabelOnlyMembershipAttack())
    """
    for check in attack_checks(attack):
        check(attack)


def parametrize_with_attack_checks(attacks):
    """A pytest ``parametrize`` decorator over attacks and their checks.

    As scikit-learn's ``parametrize_with_checks``: the decorated test takes
    ``attack`` and ``check`` and calls ``check(attack)``; each pair is a test
    case, named after the attack and the check.

    Parameters
    ----------
    attacks : list of attacks
        Instances of :class:`~skmid.attacks.BaseAttack` subclasses.

    Returns
    -------
    decorator : pytest.mark.parametrize

    Examples
    --------
    >>> from skmid.attacks import (LabelOnlyMembershipAttack,
    ...                            parametrize_with_attack_checks)
    >>> @parametrize_with_attack_checks([LabelOnlyMembershipAttack()])
    ... def test_attack_contract(attack, check):
    ...     check(attack)
    """
    import pytest

    cases = [
        pytest.param(attack, check, id=f"{_name(attack)}-{check.__name__}")
        for attack in attacks
        for check in attack_checks(attack)
    ]
    return pytest.mark.parametrize("attack, check", cases)
