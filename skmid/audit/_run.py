"""Running an audit: every (defense, setting, fold) as one list of jobs."""

import contextlib
import math
from dataclasses import dataclass, field

from sklearn.model_selection import ParameterGrid

from ..model_selection import (
    PrivacyUtilitySearch,
    best_under_budget,
    pareto_front,
    run_searches,
)
from ..utils import import_optional_dependency
from ..utils._validation import (
    check_int,
    check_n_jobs,
    check_n_splits,
    check_scalar_choice,
    check_seed,
)
from ._specs import AuditInputError, AuditSpec

#: The statistics of a scorer in a row, with GridSearchCV's keys.
STATISTICS = ("mean_test", "std_test", "mean_train", "std_train")


@dataclass
class AuditResult:
    """Rows of an audit: one per (defense, setting), with the run's settings.

    Each row holds ``defense``, ``setting``, ``params``, ``note`` (a warning
    such as "not DP: bounds from the data", or None), ``pareto`` and the
    statistics of the utility and of every attack with GridSearchCV's keys:
    ``mean_test_utility`` (the utility scorer's value, higher is better: the
    report shows ``spec.utility_sign`` times it), ``std_test_utility``,
    ``mean_train_<attack>``, ... An attack's statistic is a finite number,
    or None where the attack does not apply to the defense
    (:meth:`applies`) or has no value by design (a membership attack on the
    training rows).
    """

    spec: object
    rows: list
    settings: dict = field(default_factory=dict)

    @property
    def attacks(self):
        return list(self.spec.attacks)

    def defense(self, row):
        """The DefenseSpec of ``row``."""
        return next(d for d in self.spec.defenses if d.name == row["defense"])

    def applies(self, row, attack):
        """Whether ``attack`` was run on the defense of ``row``."""
        return self.defense(row).applies(attack)

    def row_of(self, role):
        """The row of the ``"undefended"`` or ``"trivial"`` defense, or None.

        Its only row (a baseline has no grid); None where the audit has no
        such defense or did not run it.
        """
        return next((row for row in self.rows if self.defense(row).role == role), None)

    def utility(self, row, statistic="mean"):
        """The utility of ``row`` as reported (e.g. the MSE, not its negation)."""
        value = row[f"{statistic}_test_utility"]
        return self.spec.utility_sign * value if statistic == "mean" else value

    def best_under_budget(self, max_leakage):
        """The most useful row whose budget attack stays within ``max_leakage``.

        The rule of :func:`skmid.model_selection.best_under_budget`, on the
        budget attack's declared rows and in its metric's units (a largest
        value, or a smallest one where lower means more leakage). Rows whose
        defense the budget attack does not apply to are not candidates, nor
        is the trivial baseline (a reference, not a model to deploy).
        None when no row qualifies.
        """
        spec = self.spec
        name = spec.budget_attack
        attack = spec.attacks[name]
        refit = best_under_budget(
            max_leakage, {"utility": spec.utility, name: attack.scorer}, attack=name
        )
        key = spec.key(name)
        rows = [
            row
            for row in self.rows
            if row[key] is not None and self.defense(row).role != "trivial"
        ]
        higher_leaks = attack.higher_is_more_leakage
        if not any(
            row[key] <= max_leakage if higher_leaks else row[key] >= max_leakage
            for row in rows
        ):
            return None
        return rows[
            refit(
                {
                    "mean_test_utility": [row["mean_test_utility"] for row in rows],
                    f"mean_test_{name}": [row[key] for row in rows],
                }
            )
        ]


def run_audit(
    spec,
    *,
    cv=None,
    repeats=None,
    n_jobs=None,
    backend=None,
    scheduler=None,
    progress=False,
    random_state=0,
):
    """Run every setting of every defense of ``spec``.

    Each (defense, setting) is a :class:`~skmid.model_selection.PrivacyUtilitySearch`
    over ``cv`` folds repeated ``repeats`` times with the same seeded splits,
    so every defense sees the same data and reruns are identical; its
    attacks are those of ``spec`` that apply to the defense. All the searches
    run as one list of (defense, setting, fold) jobs
    (:func:`~skmid.model_selection.run_searches`), each fit on one thread, so
    the results are the same for every ``n_jobs`` and backend.

    The Pareto front is over the utility and ``spec``'s Pareto attacks, on
    their declared rows and in their scorers' orientation; a defense that an
    attack does not apply to competes on the attacks that were measured for
    it (:func:`~skmid.model_selection.pareto_front`).

    Parameters
    ----------
    spec : AuditSpec
        From :func:`warfarin_audit`, :func:`steak_audit`, :func:`csv_audit`
        or :func:`image_audit`.
    cv : int, default=None
        Folds per repeat (None: 5). Not for a spec with its own splits
        (``spec.splitter``, e.g. one per seed).
    repeats : int, default=None
        Repeats of the ``cv``-fold split (None: 2); not for a spec with its
        own splits.
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
    if not isinstance(spec, AuditSpec):
        raise TypeError(
            "spec must be an AuditSpec (from warfarin_audit, steak_audit, "
            f"csv_audit or image_audit); got {type(spec).__name__}."
        )
    if not spec.defenses:
        raise AuditInputError("spec has no defenses to audit")
    spec.check()
    if spec.splitter is not None and (cv is not None or repeats is not None):
        splits = spec.splits_label or repr(spec.splitter)
        raise ValueError(
            f"the {spec.name} audit has its own splits ({splits}): cv and "
            "repeats do not apply."
        )
    cv = check_int(5 if cv is None else cv, "cv", 2)
    repeats = check_int(2 if repeats is None else repeats, "repeats", 1)
    check_n_jobs(n_jobs)
    check_seed(random_state)
    if backend is not None:
        check_scalar_choice(backend, "backend", {"dask"})
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address (str); got {scheduler!r}.")
    if spec.splitter is None:
        check_n_splits(cv, spec.X, spec.y, stratified=spec.task == "classification")
        splits = {"cv": cv, "n_repeats": repeats}
    else:
        splits = {"cv": spec.splitter, "n_repeats": 1}
    settings = [
        (defense, params)
        for defense in spec.defenses
        for params in ParameterGrid(defense.param_grid)
    ]
    searches, names = [], []
    for defense, params in settings:
        names.append(f"defense {defense.name} ({defense.setting_label(params)})")
        searches.append(
            PrivacyUtilitySearch(
                defense.estimator,
                {key: [value] for key, value in params.items()},
                utility=spec.utility,
                attacks={
                    name: attack.scorer
                    for name, attack in spec.attacks.items()
                    if defense.applies(name)
                },
                extra_scoring={
                    name: scorer for name, (scorer, _) in spec.extras.items()
                },
                random_state=random_state,
                **splits,
            )
        )
    with _parallel_backend(backend, scheduler, n_jobs) as n_workers:
        run_searches(
            searches,
            spec.X,
            spec.y,
            n_jobs=n_workers,
            names=names,
            progress=f"audit {spec.name}" if progress else False,
        )
    rows = []
    for search, (defense, params) in zip(searches, settings, strict=True):
        record = search.to_records()[0]
        row = {
            "defense": defense.name,
            "setting": defense.setting_label(params),
            "params": params,
            "note": defense.note,
        }
        for name in ["utility", *spec.attacks, *spec.extras]:
            for statistic in STATISTICS:
                row[f"{statistic}_{name}"] = _defined(record.get(f"{statistic}_{name}"))
        rows.append(row)
    _mark_pareto(spec, rows)
    return AuditResult(
        spec=spec,
        rows=rows,
        settings={
            **(
                {"cv": cv, "repeats": repeats}
                if spec.splitter is None
                else {"splits": spec.splits_label or repr(spec.splitter)}
            ),
            "random_state": random_state,
            "n_jobs": n_jobs,
            "backend": backend or "loky",
        },
    )


def _defined(value):
    """A statistic, or None where there is none by design.

    None where the defense's spec declares that the attack does not apply
    (the record has no such key) and for a membership attack's score on the
    training rows; a computed score is always finite, as the search raises
    on NaN or infinity, so None never hides a failure.
    """
    return value if value is not None and math.isfinite(value) else None


def _mark_pareto(spec, rows):
    """Mark the front among the defenses; the trivial baseline is not on it."""
    roles = {d.name: d.role for d in spec.defenses}
    candidates = [row for row in rows if roles[row["defense"]] != "trivial"]
    if not candidates:  # the trivial baseline alone
        for row in rows:
            row["pareto"] = False
        return
    leakages = []
    for name in spec.front_attacks:
        sign = 1.0 if spec.attacks[name].higher_is_more_leakage else -1.0
        key = spec.key(name)
        leakages.append(
            [None if row[key] is None else sign * row[key] for row in candidates]
        )
    utilities = [row["mean_test_utility"] for row in candidates]
    front = set(pareto_front(utilities, leakages).tolist())
    on_front = {id(row) for i, row in enumerate(candidates) if i in front}
    for row in rows:
        row["pareto"] = id(row) in on_front


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
