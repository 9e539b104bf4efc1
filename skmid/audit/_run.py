"""Running an audit: every defense setting through privacy_utility_search."""

import contextlib
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import ParameterGrid

from ..model_selection import (
    best_under_budget,
    pareto_front,
    privacy_utility_search,
)
from ..utils import import_optional_dependency
from ._specs import AuditInputError


@dataclass
class AuditResult:
    """Rows of an audit: one per (defense, setting), with the run's settings."""

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
        results = {
            "mean_test_utility": [
                self.spec.utility_sign * row["utility_mean"] for row in self.rows
            ],
            f"mean_test_{attack}": [row[self.spec.key(attack)] for row in self.rows],
        }
        try:
            return self.rows[best_under_budget(max_advantage, attack=attack)(results)]
        except ValueError:
            return None


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

    Each setting is scored by :func:`skmid.model_selection.privacy_utility_search`
    over ``cv`` folds repeated ``repeats`` times with the same seeded splits, so
    every defense sees the same data and reruns are identical.

    Parameters
    ----------
    spec : AuditSpec
        From :func:`warfarin_audit`, :func:`steak_audit` or :func:`csv_audit`.
    cv : int, default=5
        Folds per repeat.
    repeats : int, default=2
        Repeats of the ``cv``-fold split.
    n_jobs : int, default=None
        Parallel fits per setting (joblib).
    backend : {None, "dask"}, default=None
        ``"dask"`` runs the fits on a Dask cluster through joblib's Dask
        backend: a ``LocalCluster`` (``n_jobs`` workers, default 2) when
        ``scheduler`` is None, else the cluster at that address.
    scheduler : str, default=None
        Address of a running Dask scheduler.
    progress : bool, default=False
        Show a progress bar (tqdm) over the settings.
    random_state : int, default=0
        Seed of the splits.

    Returns
    -------
    result : AuditResult
    """
    from tqdm.auto import tqdm

    if repeats < 1 or cv < 2:
        raise AuditInputError("repeats must be >= 1 and cv >= 2")
    settings = [
        (defense, params)
        for defense in spec.defenses
        for params in ParameterGrid(defense.param_grid)
    ]
    rows = []
    with _parallel_backend(backend, scheduler, n_jobs) as jobs:
        bar = tqdm(
            total=len(settings),
            disable=not progress,
            desc=f"audit {spec.name}",
            unit="setting",
        )
        with bar:
            for defense, params in settings:
                bar.set_postfix_str(f"{defense.name} {defense.setting_label(params)}")
                names = defense.attacks or tuple(spec.attacks)
                search = privacy_utility_search(
                    defense.estimator,
                    {key: [value] for key, value in params.items()},
                    utility=spec.utility,
                    attacks={name: spec.attacks[name] for name in names},
                    cv=cv,
                    n_repeats=repeats,
                    n_jobs=jobs,
                    random_state=random_state,
                ).fit(spec.X, spec.y)
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
                            row[f"{attack}_{rows_}_{statistic}"] = record.get(
                                f"{attack}_{source}{statistic}", float("nan")
                            )
                rows.append(row)
                bar.update()
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


def _mark_pareto(spec, rows):
    attack = spec.budget_attack
    utility = np.array([spec.utility_sign * row["utility_mean"] for row in rows])
    leakage = np.array([row[spec.key(attack)] for row in rows])
    finite = np.flatnonzero(np.isfinite(leakage))
    front = set(finite[pareto_front(utility[finite], [leakage[finite]])].tolist())
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
