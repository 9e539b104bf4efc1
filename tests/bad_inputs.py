"""A catalogue of bad inputs, run against every public class and function of skmid.

Targets are discovered, not listed: every estimator of
:func:`skmid.utils.discovery.all_estimators`, every concrete attack in
``skmid.attacks``, and every public function in a subpackage's ``__all__``.
Estimators and attacks get their cases from generic recipes (their kind and
their constructor parameters); a function needs a valid call in
``FUNCTION_RECIPES`` from which its cases are derived, and a test fails when a
discovered function has neither a recipe nor a written exemption.

Each case ends in one of five outcomes:

- ``clear error``: a ``ValueError`` or ``TypeError`` (a ``FileNotFoundError``
  or ``ImportError`` where a recipe says so) whose message names the argument;
- ``valid result``: everything returned is finite and probability rows stay
  on the simplex, for an input where a result is acceptable;
- ``generic error``: any other exception (``ZeroDivisionError``,
  ``OverflowError``, ``LinAlgError``, numpy's ``UFuncTypeError``, an
  ``IndexError``, ...) or an error that does not say what was wrong;
- ``silent wrong result``: a non-finite or off-simplex result, or any result
  for an input that must be refused (NaN where the object does not declare
  ``allow_nan``, mismatched lengths, a wrong number of features at predict,
  rows that are not probability vectors, a NaN hyperparameter);
- ``hang``: the case ran past ``CASE_TIME_LIMIT`` seconds.

``tests/test_bad_inputs.py`` requires the first two for every case;
``docs/make_robustness_page.py`` counts the outcomes for the documentation.
"""

import contextlib
import importlib
import inspect
import math
import numbers
import re
import signal
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier, is_regressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.utils import get_tags

import skmid
from skmid.utils.discovery import all_estimators

#: Seconds a case may run before it counts as a hang.
CASE_TIME_LIMIT = 30.0

OUTCOMES = (
    "clear error",
    "valid result",
    "generic error",
    "silent wrong result",
    "hang",
)
ACCEPTABLE = {"clear error", "valid result"}

# The subpackages the package root exposes, so a new one is probed at once.
SUBPACKAGES = list(skmid._SUBMODULES)

#: The project's shared data folder, as laid out beside the checkout.
SHARED_DATA_HOME = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

N_ROWS = 40
N_FEATURES = 4
N_CLASSES = 3


@dataclass(frozen=True)
class Output:
    """Something a case returned, and what it must satisfy."""

    values: object
    probability: bool = False


@dataclass
class Case:
    """One bad input given to one public object."""

    target: str
    description: str
    call: object  # () -> list of Output
    names: tuple  # the arguments a clear error may name
    result_ok: bool = True  # whether a valid result is an acceptable answer
    clear_types: tuple = (ValueError, TypeError)

    @property
    def id(self):
        return f"{self.target}: {self.description}"


@dataclass
class CaseResult:
    case: Case
    outcome: str
    detail: str = ""
    seconds: float = 0.0


@dataclass
class _Data:
    rng: np.random.RandomState = field(default_factory=lambda: np.random.RandomState(0))

    def __post_init__(self):
        rng = self.rng
        self.X = rng.standard_normal((N_ROWS, N_FEATURES))
        self.y_class = np.arange(N_ROWS) % N_CLASSES
        self.X[np.arange(N_ROWS), self.y_class] += 2.0  # learnable
        self.y_reg = self.X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * (
            rng.standard_normal(N_ROWS)
        )
        logits = rng.standard_normal((N_ROWS, N_CLASSES))
        logits[np.arange(N_ROWS), self.y_class] += 2.0
        self.P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        self.member = np.arange(N_ROWS) % 2 == 0


DATA = _Data()


# --- running a case ---------------------------------------------------------


class _CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` eats it."""


@contextlib.contextmanager
def _time_limit(seconds):
    def on_alarm(signum, frame):
        raise _CaseTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# sklearn's validation messages that say what is wrong without an argument name.
_SKLEARN_CLEAR = re.compile(
    r"Found array with|Input contains|Input [A-Za-z_]+ contains|Expected 2D array|"
    r"features, but .* is expecting|Found input variables with inconsistent|"
    r"could not convert|Unknown label type|sparse|at least \d+|"
    r"The '[A-Za-z_]+' parameter of",
)


def _names_argument(message, names):
    for name in names:
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message):
            return True
    return bool(_SKLEARN_CLEAR.search(message))


def _numeric_parts(values):
    """The numeric arrays in ``values`` (nested tuples, lists and dicts opened)."""
    if hasattr(values, "toarray"):
        values = values.toarray()
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    if isinstance(values, dict):
        return [p for v in values.values() for p in _numeric_parts(v)]
    if isinstance(values, (tuple, list)) and any(
        isinstance(v, (tuple, list, dict, np.ndarray)) for v in values
    ):
        return [p for v in values for p in _numeric_parts(v)]
    try:
        array = np.asarray(values)
    except ValueError:
        return []
    if array.dtype == object:
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            return []  # labels or names: nothing numeric to check
    return [array] if np.issubdtype(array.dtype, np.number) else []


def _check_outputs(outputs):
    """'' when every output is finite (and on the simplex where it must be)."""
    for output in outputs:
        for array in _numeric_parts(output.values):
            if not np.all(np.isfinite(array)):
                return "returned NaN or infinity"
        if output.probability:
            array = np.asarray(output.values, dtype=np.float64)
            if array.ndim != 2 or (array < 0).any():
                return "returned probability rows with negative entries"
            if np.any(np.abs(array.sum(axis=1) - 1) > 1e-6):
                return "returned probability rows off the simplex"
    return ""


def run_case(case, time_limit=CASE_TIME_LIMIT):
    """Run ``case`` and classify how it ended."""
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(), _time_limit(time_limit):
            warnings.simplefilter("ignore")
            outputs = case.call()
    except _CaseTimeout:
        return CaseResult(case, "hang", f"ran past {time_limit:g} s", time_limit)
    except Exception as error:  # noqa: BLE001 - classifying every failure is the job
        seconds = time.perf_counter() - start
        kind = type(error)
        text = f"{kind.__name__}: {error}"
        generic = kind.__module__.startswith("numpy") or not isinstance(
            error, case.clear_types
        )
        if generic or not _names_argument(str(error), case.names):
            return CaseResult(case, "generic error", text[:300], seconds)
        return CaseResult(case, "clear error", text[:300], seconds)
    seconds = time.perf_counter() - start
    problem = _check_outputs(outputs or [])
    if problem:
        return CaseResult(case, "silent wrong result", problem, seconds)
    if not case.result_ok:
        return CaseResult(
            case, "silent wrong result", "returned a result instead of an error"
        )
    return CaseResult(case, "valid result", "", seconds)


# --- estimators -------------------------------------------------------------

# Settings that keep each fit to a fraction of a second (the defaults train for
# minutes) or that an estimator needs to be built at all.
FAST_SETTINGS = {
    "AdaSSPLinearRegression": {"bounds_X": (-10, 10), "bounds_y": (-30, 30)},
    "VIBClassifier": {"max_epochs": 2},
    "DPSGDClassifier": {"max_epochs": 2},
    "MIDClassifier": {"max_epochs": 2},
    "PurifierTransformer": {"max_epochs": 2},
    "AdversarialNoiseDefense": {"n_iter": 2},
    "InversionModelAttack": {"hidden_layer_sizes": (8,), "max_epochs": 2},
    "KnownMembersMembershipAttack": {"max_epochs": 2},
    "MIFaceAttack": {"max_iter": 5, "max_queries": 200},
    "GenerativeInversionAttack": {"max_epochs": 2, "max_iter": 5, "max_queries": 200},
}

# Parameters not probed with bad values: seeds, parallelism, logging, and the
# torch plumbing that skorch owns.
UNPROBED_PARAMETERS = {
    "random_state",
    "n_jobs",
    "verbose",
    "device",
    "warm_start",
    "compile",
    "use_caching",
    "callbacks",
    "module",
    "criterion",
    "optimizer",
    "iterator_train",
    "iterator_valid",
    "dataset",
    "train_split",
    "predict_nonlinearity",
    "torch_load_kwargs",
    "classes",
}


def _estimator(name, cls):
    estimator = cls()
    settings = dict(FAST_SETTINGS.get(name, {}))
    if name == "AdversarialNoiseDefense":
        from skmid.attacks import InversionModelAttack

        settings["inversion_attack"] = InversionModelAttack(
            hidden_layer_sizes=(8,), max_epochs=2, random_state=0
        )
    if "random_state" in estimator.get_params(deep=False):
        settings["random_state"] = 0
    return estimator.set_params(**settings)


def _kind(estimator):
    from skmid.postprocessing import BasePostProcessor

    if isinstance(estimator, BasePostProcessor):
        return "postprocessor"
    if is_classifier(estimator):
        return "classifier"
    if is_regressor(estimator):
        return "regressor"
    return "other"


def _requests_inputs(estimator, method):
    routing = estimator.get_metadata_routing()
    return "inputs" in routing.consumes(method, ["inputs"])


def _needs_inputs(estimator):
    return _requests_inputs(estimator, "fit")


def _fit_and_use(estimator, X, y, X_query=None, *, inputs=None, query_inputs=None):
    """Fit ``estimator`` and return what it publishes on ``X_query`` (default X)."""
    kind = _kind(estimator)
    X_query = X if X_query is None else X_query
    if kind == "postprocessor":
        fit_kwargs = {"inputs": inputs} if _needs_inputs(estimator) else {}
        estimator.fit(X, y, **fit_kwargs)
        transform_kwargs = (
            {"inputs": query_inputs} if _requests_inputs(estimator, "transform") else {}
        )
        return [Output(estimator.transform(X_query, **transform_kwargs), True)]
    estimator.fit(X, y)
    outputs = [Output(estimator.predict(X_query))]
    if hasattr(estimator, "predict_proba"):
        outputs.append(Output(estimator.predict_proba(X_query), True))
    return outputs


def _valid_data(kind):
    if kind == "postprocessor":
        return DATA.P.copy(), DATA.y_class.copy()
    if kind == "regressor":
        return DATA.X.copy(), DATA.y_reg.copy()
    return DATA.X.copy(), DATA.y_class.copy()


def _with(array, row, column, value):
    array = np.array(array, dtype=object if isinstance(value, str) else None)
    if array.dtype != object:
        array = array.astype(np.float64)
    array[row, column] = value
    return array


def _estimator_data_cases(name, make):
    probe = make()
    kind = _kind(probe)
    X, y = _valid_data(kind)
    allow_nan = get_tags(probe).input_tags.allow_nan
    data_names = ("P", "X", "y") if kind == "postprocessor" else ("X", "y")
    inputs = DATA.X.copy()

    def fit_use(X_fit, y_fit, X_query=None, inputs_fit=inputs, inputs_query=None):
        query = X_fit if X_query is None else X_query
        if inputs_query is None:
            inputs_query = inputs_fit if len(inputs_fit) == query.shape[0] else inputs
        return lambda: _fit_and_use(
            make(), X_fit, y_fit, X_query, inputs=inputs_fit, query_inputs=inputs_query
        )

    cases = [
        ("X holds NaN", fit_use(_with(X, 0, 0, np.nan), y), allow_nan),
        ("X holds infinity", fit_use(_with(X, 0, 0, np.inf), y), True),
        ("X holds 1e300", fit_use(X * 1e300, y), True),
        ("X is empty", fit_use(X[:0], y[:0], inputs_fit=inputs[:0]), False),
        ("X has one row", fit_use(X[:1], y[:1], inputs_fit=inputs[:1]), True),
        ("X is 1-D", fit_use(X[:, 0], y), False),
        (
            "X and y differ in length",
            fit_use(X, y[:-1]),
            # A label-free defense ignores y altogether.
            kind == "postprocessor" and not probe._uses_labels,
        ),
        ("X holds strings", fit_use(_with(X, 0, 0, "high"), y), True),
        ("X is sparse", fit_use(sp.csr_matrix(X), y), True),
        (
            "X is a DataFrame with an object column",
            lambda: _fit_and_use(
                make(), _object_frame(X), y, inputs=inputs, query_inputs=inputs
            ),
            True,
        ),
        (
            "X at predict has another number of features",
            fit_use(X, y, X[:, :-1]),
            False,
        ),
        ("X at predict holds NaN", fit_use(X, y, _with(X, 1, 1, np.nan)), allow_nan),
    ]
    if kind in ("classifier", "postprocessor"):
        cases += [
            ("y has one class", fit_use(X, np.zeros_like(y)), True),
            ("y holds strings", fit_use(X, np.array(["a", "b", "c"])[y]), True),
        ]
    if kind == "regressor":
        cases += [
            ("y holds NaN", fit_use(X, _with(y[:, None], 0, 0, np.nan)[:, 0]), False),
            (
                "y holds strings",
                fit_use(X, np.array(["a", "b", "c"])[y.argsort() % 3]),
                False,
            ),
            ("y holds 1e300", fit_use(X, y * 1e300), True),
        ]
    if kind == "postprocessor":
        cases += [
            ("P rows do not sum to 1", fit_use(X * 0.5, y), False),
            ("P has a negative entry", fit_use(_with(X, 0, 0, -0.1), y), False),
            (
                "P at transform has another number of columns",
                fit_use(X, y, np.full((3, N_CLASSES + 1), 1 / (N_CLASSES + 1))),
                False,
            ),
            (
                "P has one column",
                fit_use(np.ones((N_ROWS, 1)), np.zeros(N_ROWS, dtype=int)),
                True,
            ),
        ]
    return [
        Case(name, description, call, data_names, result_ok)
        for description, call, result_ok in cases
    ]


def _object_frame(X):
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    frame["colour"] = np.array(["red", "green"], dtype=object)[np.arange(len(X)) % 2]
    return frame


def _bad_parameter_values(default):
    """(description, value, result_ok) for a parameter whose default is ``default``."""
    if isinstance(default, (bool, np.bool_)):
        return [("'yes'", "yes", False)]
    if isinstance(default, str):
        return [("an unknown option", "no-such-option", False)]
    if isinstance(default, numbers.Integral):
        return [
            ("-1", -1, True),
            ("0", 0, True),
            ("NaN", math.nan, False),
            ("1e300 (not an integer)", 1e300, True),
        ]
    if isinstance(default, numbers.Real):
        return [
            ("-1", -1.0, True),
            ("0", 0.0, True),
            ("NaN", math.nan, False),
            ("1e300", 1e300, True),
            ("1e-300", 1e-300, True),
        ]
    if isinstance(default, tuple) and all(
        isinstance(v, numbers.Integral) for v in default
    ):
        return [("(0,)", (0,), True), ("(-1,)", (-1,), True), ("()", (), True)]
    if default is None:
        return [("-1", -1, True), ("NaN", math.nan, False)]
    return []


def _own_parameters(cls, estimator):
    """Parameters of ``cls``'s own constructor (skorch's plumbing left out)."""
    signature = inspect.signature(cls.__init__)
    own = [
        p.name
        for p in signature.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    params = estimator.get_params(deep=False)
    return {
        name: params[name]
        for name in own
        if name in params and name not in UNPROBED_PARAMETERS
    }


def _parameter_cases(target, make, use):
    cases = []
    for param, default in _own_parameters(type(make()), make()).items():
        for label, value, result_ok in _bad_parameter_values(default):

            def call(param=param, value=value):
                return use(make().set_params(**{param: value}))

            cases.append(Case(target, f"{param}={label}", call, (param,), result_ok))
    return cases


def estimator_cases():
    cases = []
    for name, cls in all_estimators():

        def make(name=name, cls=cls):
            return _estimator(name, cls)

        kind = _kind(make())
        X, y = _valid_data(kind)
        cases += _estimator_data_cases(name, make)
        cases += _parameter_cases(
            name,
            make,
            lambda estimator, X=X, y=y: _fit_and_use(
                estimator, X, y, inputs=DATA.X, query_inputs=DATA.X
            ),
        )
    return cases


# --- attacks ----------------------------------------------------------------


def _attack_classes():
    from skmid.attacks import BaseAttack

    module = importlib.import_module("skmid.attacks")
    return sorted(
        (name, getattr(module, name))
        for name in module.__all__
        if inspect.isclass(getattr(module, name))
        and issubclass(getattr(module, name), BaseAttack)
        and not inspect.isabstract(getattr(module, name))
        and name not in CLASS_EXEMPTIONS
    )


def _regression_task():
    from skmid.datasets import make_sensitive_regression

    bunch = make_sensitive_regression(n_samples=N_ROWS, n_features=2, random_state=0)
    return bunch.data, bunch.target, bunch.sensitive_features


def _attack_recipe(name, cls):
    """(make attack, run(attack, X, y) -> outputs, X, y, argument names)."""
    if name in ("MAPAttributeInference", "LearnedAttributeInference"):
        X, y, sensitive = _regression_task()

        def make():
            return cls(sensitive_feature=sensitive)

        def run(attack, X_, y_):
            model = LinearRegression().fit(X, y)
            attack.fit(X_, y_)
            return [Output(attack.score(model, X_, y_))]

        return make, run, X, y
    X, y = DATA.X.copy(), DATA.y_class.copy()
    target = LogisticRegression().fit(X, y)
    settings = dict(FAST_SETTINGS.get(name, {}))

    def make():
        attack = cls()
        params = attack.get_params(deep=False)
        if "random_state" in params:
            settings["random_state"] = 0
        return attack.set_params(**settings)

    if getattr(cls, "kind", None) == "class_reconstruction":

        def run(attack, X_, y_):
            attack.fit(X_, y_)
            return [
                Output(attack.score(target, X_, y_)),
                Output(attack.infer(target, X_, y_)),
            ]

        return make, run, X, y
    if name == "InversionModelAttack":

        def run(attack, X_, y_):
            attack.fit(X_, y_)
            return [
                Output(attack.score(target, X_, y_)),
                Output(attack.infer(target, X_)),
            ]

        return make, run, X, y

    member = DATA.member

    def run(attack, X_, y_):
        if name == "KnownMembersMembershipAttack":
            attack.fit(X_, y_, member[: len(X_)])
        else:
            attack.fit(X_, y_)
        return [
            Output(attack.score(target, X_, y_, member[: len(X_)])),
            Output(attack.infer(target, X_, y_)),
        ]

    return make, run, X, y


def attack_cases():
    cases = []
    for name, cls in _attack_classes():
        make, run, X, y = _attack_recipe(name, cls)
        names = ("X", "y", "X_aux", "X_shadow", "y_shadow", "member")

        def use(X_, y_, make=make, run=run):
            return lambda: run(make(), X_, y_)

        data = [
            ("X holds NaN", use(_with(X, 0, 0, np.nan), y), False),
            ("X holds infinity", use(_with(X, 0, 0, np.inf), y), False),
            ("X holds 1e300", use(X * 1e300, y), True),
            ("X is empty", use(X[:0], y[:0]), False),
            ("X has one row", use(X[:1], y[:1]), True),
            ("X and y differ in length", use(X, y[:-1]), False),
            ("X holds strings", use(_with(X, 0, 0, "high"), y), True),
            ("y holds NaN", use(X, _with(y[:, None], 0, 0, np.nan)[:, 0]), False),
            ("y holds infinity", use(X, _with(y[:, None], 0, 0, np.inf)[:, 0]), False),
        ]
        cases += [Case(name, d, call, names, ok) for d, call, ok in data]
        cases += _parameter_cases(
            name, make, lambda attack, run=run, X=X, y=y: run(attack, X, y)
        )
    return cases


# --- functions --------------------------------------------------------------


@dataclass
class Recipe:
    """A valid call of a function, and the arguments to spoil one at a time."""

    kwargs: object  # () -> dict of valid keyword arguments
    call: object = None  # (function, kwargs) -> list of Output; default: call it
    spoil: dict = field(default_factory=dict)  # argument -> list of (label, value, ok)
    clear_types: tuple = (ValueError, TypeError)


def _probability_spoils(P):
    return [
        ("holds NaN", _with(P, 0, 0, np.nan), False),
        ("holds infinity", _with(P, 0, 0, np.inf), False),
        ("rows do not sum to 1", P * 0.5, False),
        ("has a negative entry", _with(P, 0, 0, -0.1), False),
        ("is empty", P[:0], False),
        ("is 1-D", P[:, 0], False),
        ("holds strings", _with(P, 0, 0, "high"), False),
    ]


def _label_spoils(y):
    return [
        ("holds NaN", _with(y[:, None], 0, 0, np.nan)[:, 0], False),
        ("is shorter", y[:-1], False),
        ("is 2-D", np.column_stack([y, y]), False),
    ]


def _array_spoils(X):
    return [
        ("holds NaN", _with(X, 0, 0, np.nan), False),
        ("holds infinity", _with(X, 0, 0, np.inf), False),
        ("is empty", X[:0], False),
        ("is shorter", X[:-1], False),
        ("holds strings", _with(X, 0, 0, "high"), False),
    ]


def _number_spoils(ok_negative=False):
    return [
        ("NaN", math.nan, False),
        ("infinity", math.inf, False),
        ("-1", -1, ok_negative),
        ("a string", "two", False),
    ]


def _scores_spoils(member):
    return [
        ("holds scores in (0, 1)", np.where(member, 0.9, 0.1), False),
        ("holds the strings 'True'/'False'", np.where(member, "True", "False"), False),
        ("holds NaN", _with(member[:, None], 0, 0, np.nan)[:, 0], False),
        ("is shorter", member[:-1], False),
    ]


def _tiny_csv(directory, *, spoil=None):
    """A small CSV for the audit functions, optionally spoilt."""
    import pandas as pd

    from skmid.datasets import make_sensitive_classification

    X, y = make_sensitive_classification(
        n_samples=60, n_features=3, random_state=0, return_X_y=True
    )
    frame = pd.DataFrame(X, columns=["a", "b", "c", "secret"])
    frame["label"] = y
    frame["a"] = frame["a"].astype(float)
    if spoil == "inf":
        frame.loc[3, "a"] = np.inf
    if spoil == "nan target":
        frame["label"] = frame["label"].astype(float)
        frame.loc[3, "label"] = np.nan
    if spoil == "one class":
        frame["label"] = 1
    path = Path(directory) / f"tiny-{spoil or 'valid'}.csv"
    if spoil == "empty":
        path.write_text("")
    else:
        frame.to_csv(path, index=False)
    return path


_TEMP = None


def _temp_dir():
    global _TEMP
    if _TEMP is None:
        _TEMP = tempfile.TemporaryDirectory(prefix="skmid-bad-inputs-")
    return Path(_TEMP.name)


_CACHE = {}


def _audit_result():
    """A small finished audit, made once."""
    if "result" not in _CACHE:
        from skmid.audit import csv_audit, run_audit

        spec = csv_audit(_tiny_csv(_temp_dir()), target="label", sensitive="secret")
        spec.select([spec.defenses[0].name])
        _CACHE["result"] = run_audit(spec, cv=2, repeats=1)
    return _CACHE["result"]


def _fitted_tree():
    from skmid.tree import MIDDecisionTreeClassifier

    return MIDDecisionTreeClassifier().fit(DATA.X, DATA.y_class)


def _search_kwargs():
    from skmid.attacks import MAPAttributeInference, make_attack_scorer
    from skmid.linear_model import MIDLinearRegression

    X, y, sensitive = _regression_task()
    attack = MAPAttributeInference(sensitive_feature=sensitive).fit(X, y)
    return {
        "estimator": MIDLinearRegression(),
        "param_grid": {"lam": [0.0, 1.0]},
        "utility": "neg_mean_squared_error",
        "attacks": {"map": make_attack_scorer(attack)},
        "cv": 2,
        "random_state": 0,
    }


def _call_search(function, kwargs):
    X, y, _ = _regression_task()
    search = function(**kwargs).fit(X, y)
    return [Output(search.to_records()[0]["mean_test_utility"])]


def _class_means():
    return np.array([DATA.X[DATA.y_class == c].mean(axis=0) for c in range(N_CLASSES)])


def _class_reconstruction_kwargs():
    return {
        "X": DATA.X.copy(),
        "y": DATA.y_class.copy(),
        "reconstructions": _class_means(),
        "classes": np.arange(N_CLASSES),
    }


def _probability_kwargs(*names):
    return lambda: {name: DATA.P.copy() for name in names}


def _labels_and_probabilities():
    return {"y_true": DATA.y_class.copy(), "y_prob": DATA.P.copy()}


FUNCTION_RECIPES = {
    # skmid.attacks
    "make_attack_scorer": Recipe(
        kwargs=lambda: {
            "attack": _attack_classes_by_name()["MAPAttributeInference"](
                sensitive_feature=_regression_task()[2]
            )
        },
        spoil={
            "metric": [("an unknown metric", "no-such-metric", False)],
            "attack": [("not an attack", LinearRegression(), False)],
        },
    ),
    "output_mutual_information": Recipe(
        kwargs=_probability_kwargs("y_prob"),
        spoil={
            "y_prob": _probability_spoils(DATA.P),
            "sample_weight": [
                ("negative", -np.ones(len(DATA.P)), False),
                ("all zero", np.zeros(len(DATA.P)), False),
                ("wrong length", np.ones(len(DATA.P) + 1), False),
                ("NaN", np.full(len(DATA.P), np.nan), False),
            ],
        },
    ),
    "tpr_at_fpr": Recipe(
        kwargs=lambda: {
            "member": DATA.member.copy(),
            "scores": DATA.member + DATA.X[:, 0],
            "fpr": 0.1,
        },
        spoil={
            "member": _scores_spoils(DATA.member),
            "scores": [
                (
                    "holds NaN",
                    _with((DATA.member + DATA.X[:, 0])[:, None], 0, 0, np.nan)[:, 0],
                    False,
                ),
                (
                    "holds infinity",
                    _with((DATA.member + DATA.X[:, 0])[:, None], 0, 0, np.inf)[:, 0],
                    False,
                ),
                ("holds strings", np.where(DATA.member, "high", "low"), False),
                ("is shorter", (DATA.member + DATA.X[:, 0])[:-1], False),
            ],
            "fpr": _number_spoils() + [("above 1", 1.5, False)],
        },
    ),
    "check_attack": Recipe(
        kwargs=lambda: {
            "attack": _attack_classes_by_name()["LabelOnlyMembershipAttack"]()
        },
        spoil={"attack": [("not an attack", LinearRegression(), False)]},
    ),
    "attack_checks": Recipe(
        kwargs=lambda: {
            "attack": _attack_classes_by_name()["LabelOnlyMembershipAttack"]()
        },
        spoil={"attack": [("not an attack", LinearRegression(), False)]},
    ),
    # skmid.metrics
    "conditional_mutual_information": Recipe(
        kwargs=_labels_and_probabilities,
        spoil={
            "y_prob": _probability_spoils(DATA.P),
            "y_true": _label_spoils(DATA.y_class),
        },
    ),
    "expected_calibration_error": Recipe(
        kwargs=_labels_and_probabilities,
        spoil={
            "y_prob": _probability_spoils(DATA.P),
            "y_true": _label_spoils(DATA.y_class),
            "n_bins": _number_spoils() + [("0", 0, False)],
        },
    ),
    "confidence_distortion": Recipe(
        kwargs=_probability_kwargs("p_original", "p_defended"),
        spoil={
            "p_original": _probability_spoils(DATA.P),
            "p_defended": _probability_spoils(DATA.P),
            "norm": _number_spoils() + [("0", 0, False)],
            "reduce": [("an unknown option", "no-such-option", False)],
        },
    ),
    "normalized_entropy": Recipe(
        kwargs=_probability_kwargs("p"), spoil={"p": _probability_spoils(DATA.P)}
    ),
    "inversion_error": Recipe(
        kwargs=lambda: {"X_true": DATA.X.copy(), "X_reconstructed": DATA.X + 0.1},
        spoil={
            "X_true": _array_spoils(DATA.X),
            "X_reconstructed": _array_spoils(DATA.X),
        },
    ),
    "membership_advantage": Recipe(
        kwargs=lambda: {"member": DATA.member.copy(), "guess": ~DATA.member},
        spoil={
            "guess": _scores_spoils(DATA.member),
            "member": _scores_spoils(DATA.member),
        },
    ),
    "inversion_attack_accuracy": Recipe(
        kwargs=_class_reconstruction_kwargs,
        spoil={
            "X": _array_spoils(DATA.X),
            "y": _label_spoils(DATA.y_class),
            "reconstructions": _array_spoils(_class_means()),
            "classes": _label_spoils(np.arange(N_CLASSES))
            + [("names a class with no row", np.array([0, 1, 7]), False)],
            "top_k": _number_spoils() + [("0", 0, False)],
            "evaluator": [("not a classifier", "svm", False)],
            "prefit": [("'yes'", "yes", False)],
        },
    ),
    "inversion_knn_distance": Recipe(
        kwargs=_class_reconstruction_kwargs,
        spoil={
            "X": _array_spoils(DATA.X),
            "y": _label_spoils(DATA.y_class),
            "reconstructions": _array_spoils(_class_means()),
            "classes": _label_spoils(np.arange(N_CLASSES)),
            "space": [("an unknown option", "no-such-option", False)],
            "prefit": [("'yes'", "yes", False)],
        },
    ),
    "fit_inversion_evaluator": Recipe(
        kwargs=lambda: {"X": DATA.X.copy(), "y": DATA.y_class.copy()},
        call=lambda function, kwargs: [
            Output(function(**kwargs).decision_function(DATA.X))
        ],
        spoil={
            "X": _array_spoils(DATA.X),
            "y": _label_spoils(DATA.y_class)
            + [("has one class", np.zeros(N_ROWS, dtype=int), False)],
            "evaluator": [("not a classifier", "svm", False)],
        },
    ),
    "QueryAveraging": Recipe(
        kwargs=lambda: {
            "estimator": LogisticRegression().fit(DATA.X, DATA.y_class),
            "n_repeats": 3,
            "noise_scale": 0.1,
            "random_state": 0,
        },
        call=lambda cls, kwargs: [
            Output(cls(**kwargs).predict_proba(DATA.X.copy()), probability=True)
        ],
        spoil={
            "estimator": [
                ("unfitted", LogisticRegression(), False),
                ("not a classifier", "model", False),
            ],
            "n_repeats": [
                ("zero", 0, False),
                ("a float", 2.5, False),
                ("True", True, False),
            ],
            "noise_scale": [
                ("negative", -1.0, False),
                ("NaN", np.nan, False),
                ("a string", "big", False),
            ],
            "clip": [
                ("reversed", (1.0, 0.0), False),
                ("three bounds", (0, 1, 2), False),
                ("NaN", (np.nan, 1.0), False),
            ],
        },
    ),
    "make_inversion_evaluator": Recipe(
        kwargs=lambda: {"n_components": 2},
        call=lambda function, kwargs: [
            Output(
                function(**kwargs).fit(DATA.X, DATA.y_class).decision_function(DATA.X)
            )
        ],
        spoil={"n_components": _number_spoils() + [("0", 0, False)]},
    ),
    # skmid.model_selection
    "pareto_front": Recipe(
        kwargs=lambda: {
            "utility": np.array([0.9, 0.8, 0.7]),
            "leakages": [np.array([0.5, 0.2, 0.3])],
        },
        spoil={
            "utility": [
                ("holds NaN", np.array([0.9, np.nan, 0.7]), False),
                ("is shorter", np.array([0.9, 0.8]), False),
                ("is empty", np.array([]), False),
            ],
            "leakages": [
                ("holds NaN", [np.array([0.5, np.nan, 0.3])], False),
                ("holds infinity", [np.array([0.5, np.inf, 0.3])], False),
                ("is shorter", [np.array([0.5, 0.2])], False),
            ],
        },
    ),
    "best_under_budget": Recipe(
        kwargs=lambda: {
            "max_leakage": 0.1,
            "scoring": {"utility": "r2", "map": _search_kwargs()["attacks"]["map"]},
        },
        call=lambda function, kwargs: [
            Output(
                function(**kwargs)(
                    {
                        "mean_test_utility": np.array([0.9, 0.8]),
                        "mean_test_map": np.array([0.3, 0.05]),
                    }
                )
            )
        ],
        spoil={
            "max_leakage": _number_spoils(ok_negative=True),
            "scoring": [("not a dict", "map", False)],
            "attack": [("an unknown attack", "no-such-attack", False)],
        },
    ),
    "privacy_utility_search": Recipe(
        kwargs=_search_kwargs,
        call=_call_search,
        spoil={
            "cv": [("1", 1, False), ("1000", 1000, False), ("NaN", math.nan, False)],
            "n_repeats": [("0", 0, False), ("NaN", math.nan, False)],
            "param_grid": [("lam NaN", {"lam": [math.nan]}, False)],
            "utility": [("an unknown scorer", "no-such-scorer", False)],
        },
    ),
    # skmid.postprocessing
    "waterfill": Recipe(
        kwargs=lambda: {"f": DATA.P.copy(), "q": DATA.P[::-1].copy(), "budget": 0.5},
        spoil={
            "f": _probability_spoils(DATA.P),
            "q": _probability_spoils(DATA.P),
            "budget": _number_spoils(),
        },
    ),
    "preserve_predicted_label": Recipe(
        kwargs=lambda: {"p_original": DATA.P.copy(), "p_defended": DATA.P[::-1].copy()},
        call=lambda function, kwargs: [Output(function(**kwargs), True)],
        spoil={
            "p_original": _probability_spoils(DATA.P),
            "p_defended": _probability_spoils(DATA.P),
        },
    ),
    # skmid.tree
    "export_text": Recipe(
        kwargs=lambda: {"decision_tree": _fitted_tree()},
        spoil={
            "decision_tree": [("is not fitted", "a tree", False)],
            "max_depth": _number_spoils(),
            "decimals": _number_spoils() + [("1e300", 1e300, False)],
            "feature_names": [("is too short", ["a"], False)],
        },
    ),
    # skmid.utils
    "check_probability_matrix": Recipe(
        kwargs=lambda: {"y_prob": DATA.P.copy()},
        spoil={
            "y_prob": _probability_spoils(DATA.P),
            "n_classes": [("NaN", math.nan, False), ("0", 0, False)],
        },
    ),
    "check_probabilities_and_labels": Recipe(
        kwargs=_labels_and_probabilities,
        spoil={
            "y_prob": _probability_spoils(DATA.P),
            "y_true": _label_spoils(DATA.y_class),
        },
    ),
    "encode_class_labels": Recipe(
        kwargs=lambda: {"y": DATA.y_class.copy(), "n_classes": N_CLASSES},
        spoil={
            "y": _label_spoils(DATA.y_class)[::2],  # no length to compare with
            "n_classes": _number_spoils() + [("0", 0, False)],
        },
    ),
    "check_finite_output": Recipe(
        kwargs=lambda: {"values": DATA.X.copy(), "source": "the model"},
        spoil={"values": [("holds NaN", _with(DATA.X, 0, 0, np.nan), False)]},
    ),
    "import_optional_dependency": Recipe(
        kwargs=lambda: {"module_name": "numpy", "extra": "core"},
        call=lambda function, kwargs: [Output(function(**kwargs).__name__)],
        spoil={"module_name": [("is not installed", "no_such_module_xyz", False)]},
        clear_types=(ImportError, ValueError, TypeError),
    ),
    "resolve_sensitive_columns": Recipe(
        kwargs=lambda: {"sensitive_feature": 1, "X": DATA.X.copy()},
        spoil={
            "sensitive_feature": [
                ("out of range", 99, False),
                ("NaN", math.nan, False),
                ("a name without column names", "age", False),
                ("a one-element list", [1], False),
            ],
        },
    ),
    # skmid.datasets
    "get_data_home": Recipe(
        kwargs=lambda: {"data_home": str(_temp_dir())},
        call=lambda function, kwargs: [Output(str(function(**kwargs)))],
        spoil={"data_home": [("a number", 3.5, False)]},
    ),
    "fetch_steak_survey": Recipe(
        kwargs=lambda: {"data_home": SHARED_DATA_HOME, "download_if_missing": False},
        call=lambda function, kwargs: [Output(function(**kwargs).target)],
        spoil={
            "data_home": [("has no survey", _temp_dir(), False)],
            "download_if_missing": [("'yes'", "yes", False)],
            "return_X_y": [("'yes'", "yes", False)],
        },
        clear_types=(ValueError, TypeError, FileNotFoundError),
    ),
    "split_private_public": Recipe(
        kwargs=lambda: {"y": DATA.y_class.copy(), "n_private": 1},
        call=lambda function, kwargs: [Output(np.concatenate(function(**kwargs)))],
        spoil={
            "y": [
                ("holds NaN", _with(DATA.y_class[:, None], 0, 0, np.nan)[:, 0], False),
                ("is 2-D", np.column_stack([DATA.y_class, DATA.y_class]), False),
                ("has one class", np.zeros(N_ROWS, dtype=int), False),
            ],
            "n_private": _number_spoils()
            + [("0", 0, False), ("every class", N_CLASSES, False)],
            "shuffle": [("'yes'", "yes", False)],
        },
    ),
    "load_inversion_split": Recipe(
        kwargs=lambda: {"name": "faces", "data_home": SHARED_DATA_HOME},
        call=lambda function, kwargs: [Output(function(**kwargs).X_private)],
        spoil={
            "name": [("an unknown data set", "mnist", False)],
            "data_home": [
                ("has no faces", _temp_dir(), False),
                ("a number", 3.5, False),
            ],
            "n_private": _number_spoils() + [("0", 0, False), ("40", 40, False)],
            "shuffle": [("'yes'", "yes", False)],
        },
        clear_types=(ValueError, TypeError, FileNotFoundError),
    ),
    "load_warfarin": Recipe(
        kwargs=lambda: {"return_X_y": True},
        call=lambda function, kwargs: [Output(function(**kwargs)[1])],
        spoil={
            "return_X_y": [("'yes'", "yes", False)],
            "as_frame": [("'yes'", "yes", False)],
        },
    ),
    # skmid.audit
    "csv_audit": Recipe(
        kwargs=lambda: {
            "path": _tiny_csv(_temp_dir()),
            "target": "label",
            "sensitive": "secret",
        },
        call=lambda function, kwargs: [Output(function(**kwargs).y)],
        spoil={
            "path": [
                ("holds infinity", _tiny_csv(_temp_dir(), spoil="inf"), False),
                ("has a NaN target", _tiny_csv(_temp_dir(), spoil="nan target"), False),
                ("has one class", _tiny_csv(_temp_dir(), spoil="one class"), False),
                ("is empty", _tiny_csv(_temp_dir(), spoil="empty"), False),
                ("does not exist", _temp_dir() / "missing.csv", False),
            ],
            "target": [("an unknown column", "no-such-column", False)],
            "sensitive": [("an unknown column", "no-such-column", False)],
            "task": [("an unknown task", "no-such-task", False)],
        },
        clear_types=(ValueError, TypeError, FileNotFoundError),
    ),
    "run_audit": Recipe(
        kwargs=lambda: {"spec": _audit_result().spec, "cv": 2, "repeats": 1},
        call=lambda function, kwargs: [
            Output([row["mean_test_utility"] for row in function(**kwargs).rows])
        ],
        spoil={
            "cv": [("1", 1, False), ("1000", 1000, False), ("NaN", math.nan, False)],
            "repeats": [("0", 0, False), ("NaN", math.nan, False)],
            "n_jobs": [("0", 0, False)],
            "backend": [("an unknown backend", "no-such-backend", False)],
        },
    ),
    "format_summary": Recipe(
        kwargs=lambda: {"result": _audit_result(), "max_leakage": 0.05},
        call=lambda function, kwargs: [Output(len(function(**kwargs)))],
        spoil={"max_leakage": _number_spoils(ok_negative=True)},
    ),
    "plot_tradeoff": Recipe(
        kwargs=lambda: {
            "result": _audit_result(),
            "attack": _audit_result().spec.budget_attack,
        },
        call=lambda function, kwargs: [Output(len(function(**kwargs).axes))],
        spoil={"attack": [("an unknown attack", "no-such-attack", False)]},
    ),
    "write_report": Recipe(
        kwargs=lambda: {"result": _audit_result(), "out_dir": _temp_dir() / "report"},
        call=lambda function, kwargs: [Output(len(function(**kwargs)))],
        spoil={
            "out_dir": [("is a file", _tiny_csv(_temp_dir()), False)],
            "max_leakage": _number_spoils(ok_negative=True),
        },
        clear_types=(ValueError, TypeError, FileExistsError, NotADirectoryError),
    ),
    "trivial_defense": Recipe(
        kwargs=lambda: {"task": "regression"},
        call=lambda function, kwargs: [Output(len(function(**kwargs).name))],
        spoil={
            "task": [
                ("an unknown task", "clustering", False),
                ("not a string", 3, False),
            ]
        },
    ),
    "check_report_folder": Recipe(
        kwargs=lambda: {"out_dir": _temp_dir() / "report"},
        call=lambda function, kwargs: [Output(str(function(**kwargs)))],
        spoil={
            "out_dir": [
                ("is a file", _tiny_csv(_temp_dir()), False),
                ("is empty", "", False),
                ("is not a path", 3, False),
            ],
        },
        clear_types=(ValueError, TypeError),
    ),
    "comparison_defenses": Recipe(
        kwargs=lambda: {"dataset": "digits", "max_epochs": 1, "n_iter": 1},
        call=lambda function, kwargs: [Output(len(function(**kwargs)))],
        spoil={
            "dataset": [("an unknown dataset", "no-such-dataset", False)],
            "max_epochs": _number_spoils() + [("0", 0, False)],
            "n_iter": _number_spoils() + [("0", 0, False)],
            "device": [
                ("not a torch device", "gpu7", False),
                ("not a string", 3.5, False),
            ],
        },
    ),
}

# Public functions that take no input worth spoiling here, with the reason.
FUNCTION_EXEMPTIONS = {
    "parametrize_with_attack_checks": (
        "a pytest decorator over attacks; the checks it runs are check_attack's"
    ),
    "steak_audit": "a fixed audit; its data_home is fetch_steak_survey's, probed there",
    "warfarin_audit": "a fixed audit of packaged data; no input but the seed",
    "image_audit": (
        "loads the images and trains the attacks; its arguments are validated in "
        "tests/audit/test_audit.py, tests/audit/test_image_audit_membership.py "
        "(n_shadow, n_reference, mid_lams) and "
        "tests/audit/test_image_class_reconstruction.py (class_reconstruction, "
        "device)"
    ),
    "run_searches": "runs PrivacyUtilitySearch objects, probed through them",
    "make_sensitive_regression": "probed by tests/datasets/test_synthetic.py",
    "make_sensitive_classification": "probed by tests/datasets/test_synthetic.py",
}

# Public classes that are not estimators or attacks, with the reason.
CLASS_EXEMPTIONS = {
    "AttackScorer": "built by make_attack_scorer, probed there",
    "AttackMetric": "a record (function, orientation, range) of an attack's metrics",
    "MembershipROCDisplay": (
        "a plot built by from_predictions / from_attack, probed in "
        "tests/attacks/test_display.py (inputs validated by tpr_at_fpr)"
    ),
    "TrainingRowsRecorder": (
        "the wrapper privacy_utility_search puts around the searched estimator, "
        "probed through it"
    ),
    "BaseAttack": "the base class of the attacks, reached through each of them",
    "BaseMembershipAttack": "the base class of the membership attacks",
    "AuditInputError": "an exception type",
    "AuditResult": "a record returned by run_audit, probed there",
    "AuditSpec": "a record built by csv_audit and the audit builders, probed there",
    "AttackSpec": "a record inside AuditSpec",
    "SeedSplits": "a splitter inside image_audit's AuditSpec, tested in tests/audit",
    "DefenseSpec": "a record inside AuditSpec",
    "CategoricalTree": "the fitted structure of a tree (tree_), built by fit",
    "PrivacyUtilitySearch": "built by privacy_utility_search, probed there",
    "MLPModule": "a torch module given to the skorch classifiers, probed through them",
    "ConvNetModule": (
        "a torch module given to the skorch classifiers, probed through them; its "
        "arguments are checked in tests/neural_network/test_modules.py"
    ),
    "VIBModule": "a torch module given to VIBClassifier, probed through it",
}


def _attack_classes_by_name():
    return dict(_attack_classes())


def public_objects():
    """(subpackage, name, object) for every public name of every subpackage."""
    found = []
    for subpackage in SUBPACKAGES:
        try:
            module = importlib.import_module(f"skmid.{subpackage}")
        except ImportError:
            continue
        found += [(subpackage, name, getattr(module, name)) for name in module.__all__]
    return found


def _function_cases(name, function, recipe):
    def call_with(kwargs):
        if recipe.call is not None:
            return recipe.call(function, kwargs)
        result = function(**kwargs)
        return [Output(result)] if result is not None else []

    cases = [
        Case(
            name,
            "valid call",
            lambda: call_with(recipe.kwargs()),
            (),
            True,
            recipe.clear_types,
        )
    ]
    for argument, spoils in recipe.spoil.items():
        for label, value, result_ok in spoils:

            def call(argument=argument, value=value):
                kwargs = recipe.kwargs()
                kwargs[argument] = value
                return call_with(kwargs)

            # An error may name the argument or, for a path or a module, its value.
            names = (
                (argument, str(value))
                if isinstance(value, (str, Path))
                else (argument,)
            )
            cases.append(
                Case(
                    name,
                    f"{argument} {label}",
                    call,
                    names,
                    result_ok,
                    recipe.clear_types,
                )
            )
    return cases


def function_cases():
    cases = []
    for _, name, obj in public_objects():
        if (
            inspect.isfunction(obj) or inspect.isclass(obj)
        ) and name in FUNCTION_RECIPES:
            cases += _function_cases(name, obj, FUNCTION_RECIPES[name])
    return cases


def unreached_public_objects():
    """Public names that no generic recipe, function recipe or exemption covers."""
    covered = {name for name, _ in all_estimators()}
    covered |= {name for name, _ in _attack_classes()}
    covered |= set(FUNCTION_RECIPES) | set(FUNCTION_EXEMPTIONS) | set(CLASS_EXEMPTIONS)
    missing = []
    for _, name, obj in public_objects():
        if name in covered:
            continue
        if inspect.isclass(obj) and inspect.isabstract(obj):
            continue  # abstract bases are reached through their subclasses
        missing.append(name)
    return sorted(missing)


def all_cases():
    """Every case of the catalogue, estimators first."""
    return estimator_cases() + attack_cases() + function_cases()
