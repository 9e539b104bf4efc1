import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, RepeatedStratifiedKFold
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_info

from skmid.attacks import AttackScorer, MAPAttributeInference, make_attack_scorer
from skmid.datasets import make_sensitive_classification, make_sensitive_regression
from skmid.linear_model import MIDLinearRegression
from skmid.model_selection import (
    PrivacyUtilitySearch,
    best_under_budget,
    pareto_front,
    privacy_utility_search,
    run_searches,
)


@pytest.fixture(scope="module")
def regression():
    data = make_sensitive_regression(
        n_samples=600, sensitive_effect=2.0, random_state=0
    )
    attack = MAPAttributeInference(data.sensitive_features).fit(data.data, data.target)
    return data.data, data.target, attack


def test_statistics_match_a_plain_grid_search(regression):
    X, y, attack = regression
    scorer = make_attack_scorer(attack, "advantage")
    search = privacy_utility_search(
        MIDLinearRegression(),
        {"lam": [0.0, 3.0, 1000.0]},
        utility="neg_mean_squared_error",
        attacks={"map": scorer},
        cv=3,
        n_repeats=2,
        random_state=0,
    ).fit(X, y)
    assert search.n_splits_ == 6
    assert search.params_ == [{"lam": 0.0}, {"lam": 3.0}, {"lam": 1000.0}]
    # The same numbers as GridSearchCV on the same folds.
    from sklearn.model_selection import RepeatedKFold

    reference = GridSearchCV(
        MIDLinearRegression(),
        {"lam": [0.0, 3.0, 1000.0]},
        scoring={"utility": "neg_mean_squared_error", "map": scorer},
        refit=False,
        cv=RepeatedKFold(n_splits=3, n_repeats=2, random_state=0),
        return_train_score=True,
    ).fit(X, y)
    # cv_results_ has GridSearchCV's keys, and its scores (times aside).
    assert search.cv_results_.keys() == reference.cv_results_.keys()
    for key, expected in reference.cv_results_.items():
        if key == "params":
            assert search.cv_results_[key] == expected
        elif key.startswith("param_"):
            assert list(search.cv_results_[key]) == list(expected)
        elif key.startswith("rank_"):
            np.testing.assert_array_equal(search.cv_results_[key], expected)
        elif not key.endswith("_time"):
            np.testing.assert_allclose(search.cv_results_[key], expected, err_msg=key)
    np.testing.assert_allclose(
        search.utility_mean_, reference.cv_results_["mean_test_utility"]
    )
    assert np.all(search.utility_std_ >= 0)
    # MID lowers the attack and the utility; the strongest setting leaks nothing.
    advantage = search.attack_mean_["map"]
    assert advantage[0] > advantage[2] and advantage[2] == pytest.approx(0, abs=0.02)
    assert search.utility_mean_[0] > search.utility_mean_[2]
    utility = search.utility_mean_
    dominated = [
        any(
            utility[j] >= utility[i]
            and advantage[j] <= advantage[i]
            and (utility[j] > utility[i] or advantage[j] < advantage[i])
            for j in range(3)
        )
        for i in range(3)
    ]
    assert sorted(search.pareto_front_.tolist()) == [
        i for i in range(3) if not dominated[i]
    ]
    allowed = np.flatnonzero(advantage <= 0.03)
    expected = search.params_[allowed[np.argmax(utility[allowed])]]
    assert search.best_under_budget(0.03) == expected
    records = search.to_records()
    assert records[0]["mean_train_map"] >= 0 and "pareto" in records[0]
    assert set(records[0]) == {
        "params",
        "pareto",
        *(
            f"{s}_{r}_{n}"
            for s in ("mean", "std")
            for r in ("test", "train")
            for n in ("utility", "map")
        ),
    }


def test_best_under_budget_picks_the_most_useful_allowed_setting(regression):
    X, y, attack = regression
    search = privacy_utility_search(
        MIDLinearRegression(),
        {"lam": [0.0, 1000.0]},
        utility="neg_mean_squared_error",
        attacks={"map": make_attack_scorer(attack, "advantage")},
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert search.best_under_budget(1.0) == {"lam": 0.0}
    assert search.best_under_budget(0.02) == {"lam": 1000.0}
    with pytest.raises(ValueError, match="No setting keeps map within the budget"):
        search.best_under_budget(-1.0)
    with pytest.raises(ValueError, match="max_leakage must be a finite number"):
        search.best_under_budget(math.nan)


def test_refit_callable_in_grid_search(regression):
    X, y, attack = regression
    scoring = {
        "utility": "neg_mean_squared_error",
        "map": make_attack_scorer(attack, "advantage"),
    }
    search = GridSearchCV(
        MIDLinearRegression(),
        {"lam": [0.0, 1000.0]},
        scoring=scoring,
        refit=best_under_budget(0.02, scoring),
        cv=KFold(3, shuffle=True, random_state=0),
    ).fit(X, y)
    assert search.best_params_ == {"lam": 1000.0}
    assert hasattr(search, "best_estimator_")


def test_pareto_front_known_answer():
    front = pareto_front([1.0, 2.0, 3.0, 2.5, 2.0], [[0.1, 0.5, 0.9, 0.95, 0.6]])
    np.testing.assert_array_equal(front, [0, 1, 2])
    two = pareto_front([1.0, 1.0], [[0.5, 0.2], [0.1, 0.3]])
    np.testing.assert_array_equal(np.sort(two), [0, 1])


def test_classifiers_get_stratified_repeated_folds():
    data = make_sensitive_classification(n_samples=300, random_state=0)
    sensitive = data.data.shape[1] - 1
    attack = MAPAttributeInference(sensitive).fit(data.data, data.target)
    search = privacy_utility_search(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [1, 4]},
        utility="accuracy",
        attacks={
            "auc": make_attack_scorer(attack, "roc_auc"),
            "f1": make_attack_scorer(attack, "f1"),
        },
        cv=3,
        n_repeats=2,
        random_state=0,
    )
    from skmid.model_selection._search import _splitter

    assert isinstance(_splitter(search.estimator, 3, 2, 0), RepeatedStratifiedKFold)
    search.fit(data.data, data.target)
    with pytest.raises(ValueError, match="Name the attack"):
        search.best_under_budget(0.1)
    assert search.best_under_budget(1.0, attack="auc") == {"max_depth": 4}


def test_bad_arguments(regression):
    X, y, attack = regression
    scorer = make_attack_scorer(attack, "advantage")

    def run(estimator=None, param_grid=None, rows=None, **overrides):
        options = {
            "utility": "neg_mean_squared_error",
            "attacks": {"map": scorer},
            "cv": 3,
        }
        options.update(overrides)
        return privacy_utility_search(
            MIDLinearRegression() if estimator is None else estimator,
            {"lam": [0.0]} if param_grid is None else param_grid,
            **options,
        ).fit(X[:rows], y[:rows])

    with pytest.raises(ValueError, match="make_attack_scorer"):
        run(attacks={"map": "accuracy"})
    with pytest.raises(ValueError, match="at least one attack"):
        run(attacks={})
    with pytest.raises(ValueError, match="reserved"):
        run(attacks={"utility": scorer})
    with pytest.raises(ValueError, match="n_repeats > 1 needs an integer cv"):
        run(cv=KFold(3), n_repeats=2)
    with pytest.raises(ValueError, match="n_repeats must be an integer >= 1"):
        run(n_repeats=0)
    with pytest.raises(ValueError, match="Unknown attack"):
        run().best_under_budget(0.1, attack="nope")
    with pytest.raises(ValueError, match="max_leakage must be a number"):
        best_under_budget("low", {"utility": "r2", "map": scorer})
    with pytest.raises(TypeError, match="attacks must be a dict"):
        run(attacks=[scorer])
    with pytest.raises(TypeError, match="estimator must be an estimator"):
        run(estimator="MID")
    with pytest.raises(ValueError, match="utility: .*'no-such-scorer'"):
        run(utility="no-such-scorer")
    with pytest.raises(ValueError, match="param_grid holds no setting"):
        run(param_grid=[])
    with pytest.raises(ValueError, match="n_jobs must be None or a non-zero"):
        run(n_jobs=0)
    with pytest.raises(ValueError, match="random_state must be None, an int in"):
        run(random_state=-1)
    for cv in (1, 2.5, math.nan, True):
        with pytest.raises(ValueError, match="cv must be an integer >= 2"):
            run(cv=cv)
    with pytest.raises(ValueError, match="cv=601 folds need at least 601 rows"):
        run(cv=601)
    with pytest.raises(ValueError, match="cv=3 folds need at least 3 rows; .* 1"):
        run(rows=1)
    # GridSearchCV lists every split up front: a huge n_repeats is refused.
    with pytest.raises(ValueError, match="cv \\* n_repeats must be at most"):
        run(n_repeats=10**9)
    # A failing fit raises (error_score="raise"), it is not a NaN row.
    with pytest.raises(ValueError, match="'lam' parameter of MIDLinearRegression"):
        run(param_grid={"lam": [-1.0]})


class ThreadRecorder(MIDLinearRegression):
    """MIDLinearRegression that records the threads its fit may use."""

    def fit(self, X, y):
        import numba

        self.threads_ = {"numba": numba.get_num_threads()}
        for pool in threadpool_info():
            self.threads_[pool["internal_api"]] = pool["num_threads"]
        return super().fit(X, y)


class ThreadScorer(AttackScorer):
    """An attack scorer whose score is the most threads the fit could use."""

    def __call__(self, estimator, X, y=None, **kwargs):
        return float(max(estimator.threads_.values()))


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_each_fit_runs_on_one_thread(regression, n_jobs):
    X, y, attack = regression
    numba = pytest.importorskip("numba")
    before = numba.get_num_threads()
    search = privacy_utility_search(
        ThreadRecorder(),
        {"lam": [0.0, 1.0]},
        utility="neg_mean_squared_error",
        attacks={"threads": ThreadScorer(attack, "advantage")},
        cv=2,
        n_jobs=n_jobs,
    ).fit(X, y)
    np.testing.assert_array_equal(search.attack_mean_["threads"], [1.0, 1.0])
    assert numba.get_num_threads() == before  # restored after the fits


def test_results_do_not_depend_on_n_jobs(regression):
    X, y, attack = regression

    def run(n_jobs):
        return privacy_utility_search(
            MIDLinearRegression(),
            {"lam": [0.0, 30.0]},
            utility="neg_mean_squared_error",
            attacks={"map": make_attack_scorer(attack, "advantage")},
            cv=3,
            n_repeats=2,
            n_jobs=n_jobs,
            random_state=0,
        ).fit(X, y)

    serial, parallel = run(None), run(2)
    assert serial.to_records() == parallel.to_records()
    for key, values in serial.cv_results_.items():
        if key.startswith("split") or key.startswith("mean_t") or key == "params":
            assert np.array_equal(values, parallel.cv_results_[key]), key


def test_stratified_folds_need_every_class_in_every_fold():
    data = make_sensitive_classification(n_samples=120, random_state=0)
    sensitive = data.data.shape[1] - 1
    attack = MAPAttributeInference(sensitive).fit(data.data, data.target)
    y = data.target.copy()
    y[:3] = 7  # a class of three rows
    search = privacy_utility_search(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [2]},
        utility="accuracy",
        attacks={"f1": make_attack_scorer(attack, "f1")},
        cv=4,
    )
    with pytest.raises(ValueError, match="cv=4 stratified folds .* class 7 has 3"):
        search.fit(data.data, y)


class NaNAboveLam(AttackScorer):
    """An attack scorer that fails (NaN) for settings with a large lam."""

    def __call__(self, estimator, X, y=None, **kwargs):
        if estimator.lam > 100:
            return float("nan")
        return super().__call__(estimator, X, y, **kwargs)


def test_a_non_finite_score_is_an_error_naming_the_setting(regression):
    X, y, attack = regression

    def search(**options):
        options = {
            "utility": "neg_mean_squared_error",
            "attacks": {"map": make_attack_scorer(attack, "advantage")},
            "cv": 3,
            "random_state": 0,
            **options,
        }
        return privacy_utility_search(
            MIDLinearRegression(), {"lam": [0.0, 1000.0]}, **options
        ).fit(X, y)

    with pytest.raises(
        ValueError,
        match=r"the attack 'map' on the held-out rows, for the setting "
        r"\{'lam': 1000.0\}, produced NaN",
    ):
        search(attacks={"map": NaNAboveLam(attack, "advantage")})

    def nan_utility(estimator, X, y):
        return float("nan") if estimator.lam > 100 else 1.0

    with pytest.raises(ValueError, match=r"the utility .*\{'lam': 1000.0\}"):
        search(utility=nan_utility)


@pytest.mark.parametrize(
    "utility, leakages, message",
    [
        ([1.0, math.nan], [[0.1, 0.2]], "utility is nan for setting 1"),
        ([1.0, 2.0], [[0.1, math.inf]], r"leakages\[0\] is inf for setting 1"),
        ([1.0, 2.0], [[0.1, 0.2], [math.nan, 0.2]], r"leakages\[1\] is nan .* 0"),
        ([1.0, 2.0], [[0.1]], r"leakages\[0\] has 1 values but utility has 2"),
        ([], [[]], "utility must hold at least one setting"),
        ([[1.0, 2.0]], [[0.1, 0.2]], "utility must be 1-D"),
        (["high", "low"], [[0.1, 0.2]], "utility must hold numbers"),
        ([1.0, 2.0], [0.1, 0.2], r"leakages\[0\] must be 1-D"),
    ],
)
def test_pareto_front_rejects_bad_values(utility, leakages, message):
    with pytest.raises(ValueError, match=message):
        pareto_front(utility, leakages)


@pytest.mark.parametrize("budget", [math.nan, math.inf, -math.inf])
def test_best_under_budget_rejects_a_non_finite_budget(regression, budget):
    scoring = {"utility": "r2", "map": make_attack_scorer(regression[2], "advantage")}
    with pytest.raises(ValueError, match="max_leakage must be a finite number"):
        best_under_budget(budget, scoring)


def test_best_under_budget_refit_rejects_bad_results(regression):
    scorer = make_attack_scorer(regression[2], "advantage")
    refit = best_under_budget(0.1, {"utility": "r2", "map": scorer})
    with pytest.raises(ValueError, match=r"'mean_test_map'\] is nan for setting 1"):
        refit({"mean_test_utility": [1.0, 2.0], "mean_test_map": [0.0, math.nan]})
    with pytest.raises(ValueError, match="cv_results has no 'mean_test_map'"):
        refit({"mean_test_utility": [1.0]})
    with pytest.raises(
        ValueError, match=r"No setting keeps map within the budget \(at most"
    ):
        refit({"mean_test_utility": [1.0, 2.0], "mean_test_map": [0.3, 0.2]})


def test_best_under_budget_needs_the_attack_scorer_in_scoring(regression):
    scorer = make_attack_scorer(regression[2], "advantage")
    with pytest.raises(ValueError, match="Name the attack: .*'a', 'b'"):
        best_under_budget(0.1, {"utility": "r2", "a": scorer, "b": scorer})
    with pytest.raises(ValueError, match="Name the attack: scoring holds none"):
        best_under_budget(0.1, {"utility": "r2", "map": "accuracy"})
    with pytest.raises(ValueError, match="Unknown attack 'c'"):
        best_under_budget(0.1, {"utility": "r2", "a": scorer}, attack="c")
    with pytest.raises(ValueError, match="utility 'utility' is not a scorer"):
        best_under_budget(0.1, {"r2": "r2", "a": scorer})
    with pytest.raises(TypeError, match="scoring must be GridSearchCV's scoring"):
        best_under_budget(0.1, "map")
    refit = best_under_budget(
        0.1, {"utility": "r2", "a": scorer, "b": scorer}, attack="b"
    )
    assert refit({"mean_test_utility": [2.0, 1.0], "mean_test_b": [0.5, 0.0]}) == 1


class ErrorScorer(AttackScorer):
    """MAP's error rate: an attack metric where lower means more leakage.

    Stands for an inversion error (cheap, with a known answer).
    """

    def __call__(self, estimator, X, y=None, **kwargs):
        return 1.0 - super().__call__(estimator, X, y, **kwargs)

    @property
    def higher_is_more_leakage(self):
        return False


def test_budget_and_front_follow_a_lower_is_more_leakage_scorer(regression):
    # Regression test: best_under_budget compared raw scores with <= budget,
    # so with an error metric it picked the setting that leaks most.
    X, y, attack = regression
    scorer = ErrorScorer(attack, "accuracy")
    search = PrivacyUtilitySearch(
        MIDLinearRegression(),
        {"lam": [0.0, 1000.0]},
        utility="neg_mean_squared_error",
        attacks={"error": scorer},
        cv=3,
        random_state=0,
    ).fit(X, y)
    error = search.attack_mean_["error"]
    assert error[0] < error[1] - 0.1  # lam=0 leaks most: the smallest error
    assert search.utility_mean_[0] > search.utility_mean_[1]
    # The budget is the smallest acceptable error: only lam=1000 qualifies.
    budget = float(error.mean())
    assert search.best_under_budget(budget) == {"lam": 1000.0}
    assert search.best_under_budget(float(error.min())) == {"lam": 0.0}
    with pytest.raises(ValueError, match="within the budget \\(at least"):
        search.best_under_budget(float(error.max()) + 0.01)
    # Both settings trade utility for leakage: both are on the front.
    assert sorted(search.pareto_front_.tolist()) == [0, 1]
    # The refit callable reads the orientation from the scorer in scoring.
    scoring = {"utility": "neg_mean_squared_error", "error": scorer}
    grid = GridSearchCV(
        MIDLinearRegression(),
        {"lam": [0.0, 1000.0]},
        scoring=scoring,
        refit=best_under_budget(budget, scoring),
        cv=KFold(3, shuffle=True, random_state=0),
    ).fit(X, y)
    assert grid.best_params_ == {"lam": 1000.0}


def test_search_is_an_estimator_built_directly(regression):
    X, y, attack = regression
    search = PrivacyUtilitySearch(
        MIDLinearRegression(),
        {"lam": [0.0]},
        utility="neg_mean_squared_error",
        attacks={"map": make_attack_scorer(attack, "advantage")},
        cv=2,
    )
    params = search.get_params()
    assert params["cv"] == 2 and params["n_repeats"] == 1 and "estimator__lam" in params
    copy = clone(search).set_params(cv=3, random_state=0)
    assert copy.cv == 3 and search.cv == 2 and not hasattr(copy, "cv_results_")
    with pytest.raises(NotFittedError):
        copy.best_under_budget(0.1)
    copy.fit(X, y)
    assert copy.n_splits_ == 3 and copy.params_ == [{"lam": 0.0}]
    with pytest.raises(TypeError, match="utility"):
        PrivacyUtilitySearch(MIDLinearRegression(), {"lam": [0.0]})


def test_run_searches_is_one_job_list_with_the_fits_of_each(regression):
    X, y, attack = regression
    attacks = {"map": make_attack_scorer(attack, "advantage")}

    def search(lams):
        return PrivacyUtilitySearch(
            MIDLinearRegression(),
            {"lam": lams},
            utility="neg_mean_squared_error",
            attacks=attacks,
            cv=3,
            random_state=0,
        )

    together = run_searches([search([0.0]), search([30.0, 1000.0])], X, y, n_jobs=2)
    alone = [search([0.0]).fit(X, y), search([30.0, 1000.0]).fit(X, y)]
    for a, b in zip(together, alone, strict=True):
        assert a.to_records() == b.to_records()
    with pytest.raises(ValueError, match=r"^second: The 'lam' parameter"):
        run_searches([search([0.0]), search([-1.0])], X, y, names=["first", "second"])
    with pytest.raises(ValueError, match="names has 1 entries for 2 searches"):
        run_searches([search([0.0]), search([1.0])], X, y, names=["one"])
    with pytest.raises(TypeError, match="searches must be PrivacyUtilitySearch"):
        run_searches([MIDLinearRegression()], X, y)


def test_pareto_front_compares_on_the_attacks_measured():
    # Setting 2 has no value for the first attack: it competes on the second,
    # and as the most useful setting it is on the front.
    front = pareto_front([1.0, 2.0, 3.0], [[0.1, 0.5, None], [0.1, 0.2, 0.3]])
    np.testing.assert_array_equal(front, [0, 1, 2])
    # Neither is measured on the other's attack: neither dominates.
    front = pareto_front([1.0, 2.0], [[0.1, None], [None, 0.5]])
    np.testing.assert_array_equal(front, [0, 1])
    # Nor does a more useful setting without any attack measured.
    front = pareto_front([1.0, 2.0], [[0.1, None]])
    np.testing.assert_array_equal(front, [0, 1])
    # Dominated on the attack it has: out.
    front = pareto_front([1.0, 2.0, 1.5], [[0.1, 0.2, None], [0.05, 0.1, 0.2]])
    np.testing.assert_array_equal(front, [0, 1])


def _weighted_search(estimator, attack, utility="neg_mean_squared_error"):
    return PrivacyUtilitySearch(
        estimator,
        {"lam": [0.0, 1000.0]},
        utility=utility,
        attacks={"map": make_attack_scorer(attack, "advantage")},
        cv=3,
        random_state=0,
    )


def test_sample_weight_is_split_with_the_folds_as_in_grid_search(regression):
    X, y, attack = regression
    weights = np.random.default_rng(0).integers(1, 5, size=len(y)).astype(float)
    search = _weighted_search(MIDLinearRegression(), attack).fit(
        X, y, sample_weight=weights
    )
    reference = GridSearchCV(
        MIDLinearRegression(),
        {"lam": [0.0, 1000.0]},
        scoring={"utility": "neg_mean_squared_error"},
        refit=False,
        cv=KFold(3, shuffle=True, random_state=0),
        return_train_score=True,
    ).fit(X, y, sample_weight=weights)
    # Weighted fits, and the utility weighted on each fold's rows.
    for key in ("mean_test_utility", "mean_train_utility", "split0_test_utility"):
        np.testing.assert_allclose(search.cv_results_[key], reference.cv_results_[key])
    unweighted = _weighted_search(MIDLinearRegression(), attack).fit(X, y)
    assert not np.allclose(
        unweighted.cv_results_["mean_train_utility"],
        search.cv_results_["mean_train_utility"],
    )


def test_sample_weight_is_routed_by_the_requests(regression):
    import sklearn
    from sklearn.exceptions import UnsetMetadataPassedError
    from sklearn.metrics import get_scorer

    X, y, attack = regression
    weights = np.random.default_rng(0).integers(1, 5, size=len(y)).astype(float)
    plain = _weighted_search(MIDLinearRegression(), attack).fit(
        X, y, sample_weight=weights
    )
    mse = get_scorer("neg_mean_squared_error")
    with sklearn.config_context(enable_metadata_routing=True):
        asked = MIDLinearRegression().set_fit_request(sample_weight=True)
        weighted_mse = mse.set_score_request(sample_weight=True)
        with pytest.raises(UnsetMetadataPassedError, match="set_fit_request"):
            _weighted_search(MIDLinearRegression(), attack, weighted_mse).fit(
                X, y, sample_weight=weights
            )
        with pytest.raises(UnsetMetadataPassedError, match="set_score_request"):
            _weighted_search(asked, attack, get_scorer("neg_mean_squared_error")).fit(
                X, y, sample_weight=weights
            )
        withheld = MIDLinearRegression().set_fit_request(sample_weight=False)
        with pytest.raises(TypeError, match="not routed to any object"):
            _weighted_search(
                withheld,
                attack,
                get_scorer("neg_mean_squared_error").set_score_request(
                    sample_weight=False
                ),
            ).fit(X, y, sample_weight=weights)
        routed = _weighted_search(asked, attack, weighted_mse).fit(
            X, y, sample_weight=weights
        )
        # Without the metadata, a request changes nothing.
        _weighted_search(asked, attack).fit(X, y)
    for key in ("mean_test_utility", "mean_train_utility", "mean_test_map"):
        np.testing.assert_allclose(routed.cv_results_[key], plain.cv_results_[key])
