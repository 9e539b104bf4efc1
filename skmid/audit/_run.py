"""Running an audit: every (defense, setting, fold) as one list of jobs."""

import contextlib
import math
from dataclasses import dataclass, field

from sklearn.model_selection import ParameterGrid

from ..model_selection import (
    best_under_budget,
    pareto_front,
    privacy_utility_search,
)
from ..model_selection._search import run_jobs
from ..utils import import_optional_dependency
from ..utils._validation import (
    check_int,
    check_n_jobs,
    check_n_splits,
    check_scalar_choice,
    check_seed,
)
from ._specs import AuditInputError, AuditSpec


@dataclass
class AuditResult:
    """Rows of an audit: one per (defense, setting), with the run's settings.

    A row's attack statistics are finite numbers, or None where the attack
    does not apply to the defense (``DefenseSpec.attacks``) or has no value
    by design (a membership attack on the training rows).
    """

    spec: object
    rows: list
    settings: dict = field(default_factory=dict)

    @property
    def attacks(self):
        return list(self.spec.attacks)

    def best_under_budget(self, max_advantage):
        """The most useful row whose budget attack stays within ``max_advantage``.

        The rule of :func:`skmid.model_selection.best_under_budget`; None when
        no row qualifies.
        """
        attack = self.spec.budget_attack
        refit = best_under_budget(max_advantage, attack=attack)
        key = self.spec.key(attack)
        rows = [row for row in self.rows if row[key] is not None]
        if not any(row[key] <= max_advantage for row in rows):
            return None
        return rows[
            refit(
                {
                    "mean_test_utility": [
                        self.spec.utility_sign * row["utility_mean"] for row in rows
                    ],
                    f"mean_test_{attack}": [row[key] for row in rows],
                }
            )
        ]


def run_audit(
    spec,
    *,
    cv=5,
    repeats=2,
    n_jobs=None,
    backend=None,
    scheduler=None,
    progress=False,
    random_state=0,
):
    """Run every setting of every defense of ``spec``.

    Each setting is scored as by
    :func:`skmid.model_selection.privacy_utility_search` over ``cv`` folds
    repeated ``repeats`` times with the same seeded splits, so every defense
    sees the same data and reruns are identical. The fits of all settings run
    as one list of (defense, setting, fold) jobs, each on one thread, so the
    results are the same for every ``n_jobs`` and backend.

    Parameters
    ----------
    spec : AuditSpec
        From :func:`warfarin_audit`, :func:`steak_audit` or :func:`csv_audit`.
    cv : int, default=5
        Folds per repeat.
    repeats : int, default=2
        Repeats of the ``cv``-fold split.
    n_jobs : int, default=None
        Parallel fits (joblib processes).
    backend : {None, "dask"}, default=None
        ``"dask"`` runs the fits on a Dask cluster through joblib's Dask
        backend: a ``LocalCluster`` (``n_jobs`` workers, default 2) when
        ``scheduler`` is None, else the cluster at that address.
    scheduler : str, default=None
        Address of a running Dask scheduler.
    progress : bool, default=False
        Show a progress bar (tqdm) over the fits.
    random_state : int, default=0
        Seed of the splits.

    Returns
    -------
    result : AuditResult

    Raises
    ------
    ValueError
        Naming the defense and setting, when a fit fails or when a utility
        or an attack score is NaN or infinite (never reported as a blank).
    """
    from tqdm.auto import tqdm

    if not isinstance(spec, AuditSpec):
        raise TypeError(
            "spec must be an AuditSpec (from warfarin_audit, steak_audit or "
            f"csv_audit); got {type(spec).__name__}."
        )
    if not spec.defenses:
        raise AuditInputError("spec has no defenses to audit")
    cv = check_int(cv, "cv", 2)
    repeats = check_int(repeats, "repeats", 1)
    check_n_jobs(n_jobs)
    check_seed(random_state)
    if backend is not None:
        check_scalar_choice(backend, "backend", {"dask"})
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address (str); got {scheduler!r}.")
    check_n_splits(cv, spec.X, spec.y, stratified=spec.task == "classification")
    settings = [
        (defense, params)
        for defense in spec.defenses
        for params in ParameterGrid(defense.param_grid)
    ]
    searches, plans, cells, jobs, owners = [], [], [], [], []
    for index, (defense, params) in enumerate(settings):
        cell = f"defense {defense.name} ({defense.setting_label(params)})"
        names = tuple(a for a in spec.attacks if defense.applies(a))
        search = privacy_utility_search(
            defense.estimator,
            {key: [value] for key, value in params.items()},
            utility=spec.utility,
            attacks={name: spec.attacks[name] for name in names},
            cv=cv,
            n_repeats=repeats,
            random_state=random_state,
        )
        with _naming(cell):
            plan = search._plan(spec.X, spec.y)
        setting_jobs = plan.jobs(where=cell)
        jobs += setting_jobs
        owners += [index] * len(setting_jobs)
        searches.append(search)
        plans.append(plan)
        cells.append(cell)
    results = [[] for _ in settings]
    with _parallel_backend(backend, scheduler, n_jobs) as n_workers:
        bar = tqdm(
            total=len(jobs),
            disable=not progress,
            desc=f"audit {spec.name}",
            unit="fit",
        )
        with bar:
            for result, owner in zip(run_jobs(jobs, n_workers), owners, strict=True):
                results[owner].append(result)
                bar.set_postfix_str(cells[owner].removeprefix("defense "), False)
                bar.update()
    rows = []
    for search, plan, cell, result, (defense, params) in zip(
        searches, plans, cells, results, settings, strict=True
    ):
        with _naming(cell):
            search._finish(plan, result)
        record = search.to_records()[0]
        row = {
            "defense": defense.name,
            "setting": defense.setting_label(params),
            "params": params,
            "utility_mean": spec.utility_sign * record["utility_mean"],
            "utility_std": record["utility_std"],
        }
        for attack in spec.attacks:
            for rows_, source in [("test", ""), ("train", "train_")]:
                for statistic in ["mean", "std"]:
                    row[f"{attack}_{rows_}_{statistic}"] = _defined(
                        record.get(f"{attack}_{source}{statistic}")
                    )
        rows.append(row)
    _mark_pareto(spec, rows)
    return AuditResult(
        spec=spec,
        rows=rows,
        settings={
            "cv": cv,
            "repeats": repeats,
            "random_state": random_state,
            "n_jobs": n_jobs,
            "backend": backend or "loky",
        },
    )


@contextlib.contextmanager
def _naming(cell):
    """Say which cell of the audit failed, not only what failed."""
    try:
        yield
    except ValueError as error:
        raise ValueError(f"{cell}: {error}") from error


def _defined(value):
    """A statistic, or None where there is none by design.

    None where the defense's spec declares that the attack does not apply
    (the record has no such key) and for a membership attack's score on the
    training rows; a computed score is always finite, as
    privacy_utility_search raises on NaN or infinity, so None never hides a
    failure.
    """
    return value if value is not None and math.isfinite(value) else None


def _mark_pareto(spec, rows):
    attack = spec.budget_attack
    scored = [i for i, row in enumerate(rows) if row[spec.key(attack)] is not None]
    front = set()
    if scored:
        utility = [spec.utility_sign * rows[i]["utility_mean"] for i in scored]
        leakage = [rows[i][spec.key(attack)] for i in scored]
        front = {scored[i] for i in pareto_front(utility, [leakage])}
    for i, row in enumerate(rows):
        row["pareto"] = i in front


@contextlib.contextmanager
def _parallel_backend(backend, scheduler, n_jobs):
    if backend is None:
        yield n_jobs
        return
    if backend != "dask":
        raise AuditInputError(f"unknown backend {backend!r}; use dask")
    import_optional_dependency("distributed", extra="dask", feature="--backend dask")
    from distributed import Client, LocalCluster
    from joblib import parallel_config

    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n_jobs or 2,
                    threads_per_worker=1,
                    dashboard_address=None,
                    silence_logs=40,
                )
            )
            address = cluster
        else:
            address = scheduler
        try:
            client = stack.enter_context(Client(address, timeout="10s"))
        except OSError as error:
            raise AuditInputError(
                f"could not reach the Dask scheduler at {scheduler}: {error}"
            ) from None
        stack.enter_context(parallel_config(backend="dask"))
        yield -1
        del client
