"""Likelihood-ratio membership inference: LiRA and RMIA.

Both attacks compare the attacked model with *reference models* (LiRA's
shadow models): clones of the attacked estimator, trained by the attacker on
random halves of its sample of the population. The machinery that trains
them, in parallel, records which rows each one saw and caches them per
attacked estimator is shared: :class:`_ReferenceModelAttack`. So are the
models themselves: an offline LiRA and an RMIA with as many models and the
same integer ``random_state``, fitted on the same population, train them once.
"""

import numbers
import weakref

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from joblib import hash as joblib_hash
from scipy.special import expit, ndtr
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils._random import seed_unset_random_states
from ..utils._validation import check_finite_output
from ._base import class_codes, fitted_classes, query_proba
from ._membership import (
    FINGERPRINT_ROWS,
    BaseMembershipAttack,
    _check_rows_and_labels,
    _concat,
    _take,
)

#: Added to both probabilities of the logit scaling (as in the LiRA code):
#: keeps a confidence of exactly 0 or 1 (trees, forests) finite.
_LOGIT_EPS = 1e-12
#: Smallest standard deviation of a fitted Gaussian: reference models that all
#: give a row the same confidence would otherwise give it a zero variance.
_MIN_STD = 1e-3
#: Smallest Pr(x) of RMIA's denominator.
_MIN_PROBABILITY = 1e-30
#: Training recipes kept per attacked estimator (e.g. online LiRA scored on
#: several sets of rows); the oldest is dropped beyond this.
_MAX_RECIPES = 8


class _ReferenceModelCache:
    """Reference models trained against each attacked estimator, by recipe.

    One cache for every LiRA and RMIA attack of the process: attacks whose
    models are trained the same way (the same estimator outputs, population,
    number of models, seed and, online, scored rows) share them. Entries live
    as long as the attacked estimator object (a weak reference), and a
    refitted estimator changes the recipe's probe outputs.
    """

    def __init__(self):
        self._entries = {}

    def get(self, estimator, recipe):
        entry = self._entries.get(id(estimator))
        if entry is None or entry[0]() is not estimator:
            return None
        return entry[1].get(recipe)

    def put(self, estimator, recipe, trained):
        self._entries = {
            key: entry for key, entry in self._entries.items() if entry[0]() is not None
        }
        entry = self._entries.get(id(estimator))
        if entry is None or entry[0]() is not estimator:
            try:
                entry = (weakref.ref(estimator), {})
            except TypeError:
                return
            self._entries[id(estimator)] = entry
        recipes = entry[1]
        recipes[recipe] = trained
        while len(recipes) > _MAX_RECIPES:
            recipes.pop(next(iter(recipes)))


_REFERENCE_MODELS = _ReferenceModelCache()


def _row_keys(X, y):
    """One hashable key per row: its values and its label.

    Lets the attack tell which scored rows a reference model was trained on,
    whatever order or copy of the data they come in.
    """
    if sp.issparse(X):
        values = X.toarray()
    elif hasattr(X, "to_numpy"):
        values = X.to_numpy()
    else:
        values = np.asarray(X)
    values = values.reshape(len(y), -1)
    if values.dtype != object and np.issubdtype(values.dtype, np.number):
        values = np.ascontiguousarray(values, dtype=np.float64)
        rows = [row.tobytes() for row in values]
    else:
        rows = [repr(tuple(row)).encode() for row in values]
    return [
        row + b"|" + str(label).encode() for row, label in zip(rows, y, strict=True)
    ]


def _fit_reference_model(estimator, X, y, inside, seed):
    model = clone(estimator)
    if model.get_params().get("cv") == "prefit":
        # A prefit DefendedClassifier cannot be refitted as is: the copy fits
        # its classifier and its defense on the reference rows.
        model.set_params(cv=None)
    seed_unset_random_states(model, np.random.RandomState(seed))
    index = np.flatnonzero(inside)
    return model.fit(_take(X, index), np.asarray(y)[index])


def _label_probabilities(model, X, y, attack, *, target):
    """Each row's confidence in its label, and the total of the other classes.

    ``target=True`` reads the attacked model, whose ``classes_`` must hold
    every label; a reference model trained on half the data may have missed
    a class, whose confidence is then 0.
    """
    P = query_proba(model, X, attack)
    if target:
        columns = class_codes(model, y)
        known = np.ones(len(y), dtype=bool)
    else:
        classes = fitted_classes(model)
        position = {label: column for column, label in enumerate(classes.tolist())}
        columns = np.array([position.get(label, -1) for label in y.tolist()])
        known = columns >= 0
        columns = np.where(known, columns, 0)
    if P.shape[1] <= columns.max(initial=0):
        raise ValueError(
            f"The attacked model's predict_proba has {P.shape[1]} columns but "
            f"its classes_ has {len(fitted_classes(model))} classes."
        )
    rows = np.arange(len(y))
    label = np.where(known, P[rows, columns], 0.0)
    # The sum of the other columns directly: 1 - p loses every digit near 1.
    mask = np.ones_like(P, dtype=bool)
    mask[rows[known], columns[known]] = False
    others = np.where(mask, P, 0.0).sum(axis=1)
    return label, others


def _logit_confidence(label, others):
    r"""LiRA's logit scaling :math:`\phi = \log p - \log (1 - p)`, computed stably."""
    return np.log(label + _LOGIT_EPS) - np.log(others + _LOGIT_EPS)


def _masked_mean_std(values, mask):
    """Per-column mean and standard deviation of the entries where ``mask``."""
    count = mask.sum(axis=0)
    safe = np.maximum(count, 1)
    mean = np.where(mask, values, 0.0).sum(axis=0) / safe
    variance = np.where(mask, (values - mean) ** 2, 0.0).sum(axis=0) / safe
    return mean, np.sqrt(variance)


class _ReferenceModelAttack(BaseMembershipAttack):
    """Membership attacks that train reference models on the attacker's data.

    ``fit(X, y)`` stores the attacker's sample of the population. Against
    each attacked estimator, ``_n_models()`` clones of it are trained on
    random halves of a pool of rows: the population and, online, the scored
    rows too, so that each
    scored row is in exactly half of the models. Each pool row goes into
    exactly ``n // 2`` of the ``n`` models (a random half of them; balanced
    as in the LiRA authors' code). Training runs in parallel with joblib
    (``n_jobs``) and is cached per estimator and training recipe, across
    attacks (:class:`_ReferenceModelCache`): scoring several metrics, or
    running LiRA offline and RMIA with as many models, trains once.
    """

    _needs_y = True

    def fit(self, X, y):
        """Store the attacker's sample of the population.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows from the attacked model's population, with no known
            membership (the attacker's data).
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        self : object
        """
        self._validate_params()
        y = _check_rows_and_labels(X, y)
        if len(y) < 4:
            raise ValueError(
                f"X needs at least 4 rows of the population; got {len(y)}: each "
                "reference model trains on half of them."
            )
        self.X_population_ = X
        self.y_population_ = y
        self._population_hash = joblib_hash((_row_keys(X, y), len(y)))
        return self

    def _n_models(self):
        raise NotImplementedError

    def _online(self):
        return getattr(self, "mode", "offline") == "online"

    def _reference_models(self, estimator, X, y):
        """The trained reference models (cached) and their training pool."""
        self._check_fitted()
        rows = np.arange(min(FINGERPRINT_ROWS, len(self.y_population_)))
        probe = query_proba(
            estimator, _take(self.X_population_, rows), type(self).__name__
        )
        seed = self.random_state
        seed = seed if seed is None or isinstance(seed, numbers.Integral) else id(seed)
        # What the training depends on, and nothing else: changing
        # fix_variance, offline_a or gamma, or the attack's class, reuses the
        # models.
        recipe = joblib_hash(
            (
                np.ascontiguousarray(probe, dtype=np.float64),
                self._population_hash,
                self._n_models(),
                seed,
                self._online() and _row_keys(X, y),
            )
        )
        trained = _REFERENCE_MODELS.get(estimator, recipe)
        if trained is None:
            trained = self._train(estimator, X, y)
            _REFERENCE_MODELS.put(estimator, recipe, trained)
        return trained

    def _train(self, estimator, X, y):
        rng = check_random_state(self.random_state)
        X_population, y_population = self.X_population_, self.y_population_
        # Drawn and discarded: the half splits below stay those of earlier
        # releases (RMIA draws its z from this same first permutation).
        rng.permutation(len(y_population))
        X_pool, y_pool = X_population, y_population
        keys = _row_keys(X_pool, y_pool)
        if self._online():
            # The scored rows join the pool once each (those the population
            # already holds are not added twice).
            seen = set(keys)
            new = []
            for i, key in enumerate(_row_keys(X, y)):
                if key not in seen:
                    seen.add(key)
                    new.append((i, key))
            index = np.array([i for i, _ in new], dtype=int)
            X_pool = _concat(X_pool, _take(X, index))
            y_pool = np.concatenate([y_pool, y[index]])
            keys = keys + [key for _, key in new]
        n_models = self._n_models()
        uniform = rng.uniform(size=(n_models, len(y_pool)))
        if n_models >= 2:
            # Each pool row in exactly n // 2 models: a random half of them.
            inside = np.argsort(uniform, axis=0) < n_models // 2
        else:
            inside = uniform < 0.5
        seeds = rng.randint(np.iinfo(np.int32).max, size=n_models)
        models = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_reference_model)(
                estimator, X_pool, y_pool, inside[m], seeds[m]
            )
            for m in range(n_models)
        )
        position = {}
        for i, key in enumerate(keys):
            position.setdefault(key, i)
        return {"models": models, "inside": inside, "position": position}

    @staticmethod
    def _membership_in(trained, X, y):
        """(n_models, n_rows): whether each model was trained on each row."""
        position = trained["position"]
        index = np.array([position.get(key, -1) for key in _row_keys(X, y)])
        inside = trained["inside"][:, np.maximum(index, 0)]
        return inside & (index >= 0)

    def _reference_probabilities(self, trained, X, y):
        """(n_models, n_rows) confidences in the label, and the other classes'."""
        name = type(self).__name__
        pairs = [
            _label_probabilities(model, X, y, name, target=False)
            for model in trained["models"]
        ]
        return (
            np.array([label for label, _ in pairs]),
            np.array([others for _, others in pairs]),
        )

    def _check_counts(self, count, what, remedy):
        if len(count) and count.min() < 1:
            raise ValueError(
                f"Some scored rows have no {what} reference model; {remedy}."
            )


class LiRAMembershipAttack(_ReferenceModelAttack):
    r"""The likelihood-ratio attack, LiRA (Carlini et al., 2022).

    "Membership Inference Attacks From First Principles" (IEEE S&P 2022).
    The attacker knows the training algorithm: its shadow models are clones
    of the attacked estimator, trained on random halves of the attacker's
    sample of the population (``fit``). For a row :math:`(x, y)` each model
    :math:`f` gives the logit-scaled confidence of the true label

    .. math::

        \phi(f; x, y) = \log \frac{f(x)_y}{1 - f(x)_y}
        = \log f(x)_y - \log \sum_{y' \neq y} f(x)_{y'},

    computed from the other classes' total (never :math:`1 - p`, which loses
    every digit near 1), with :math:`10^{-12}` added to both terms so that
    confidences of exactly 0 or 1 stay finite. Over shadow models trained
    with the row (IN) and without it (OUT), :math:`\phi` is close to
    Gaussian; the attack fits one Gaussian per row to each set,
    :math:`\mathcal N(\mu_{in}, \sigma_{in}^2)` and
    :math:`\mathcal N(\mu_{out}, \sigma_{out}^2)`, and tests the attacked
    model's :math:`\phi` against them:

    - ``mode="online"``: the scored rows join the shadows' training pool so
      that each is IN exactly half of the shadows (each pool row goes into a
      random ``n_shadow // 2`` of them), and the statistic is the log
      likelihood ratio

      .. math::

          \log \Lambda = \log \mathcal N(\phi; \mu_{in}, \sigma_{in}^2)
          - \log \mathcal N(\phi; \mu_{out}, \sigma_{out}^2);

    - ``mode="offline"``: the shadows see population rows only, and the
      statistic is the one-sided test against OUT,
      :math:`z = (\phi - \mu_{out}) / \sigma_{out}` (the paper's
      :math:`\Lambda = \Pr[Z < \phi]`, :math:`Z \sim \mathcal N(\mu_{out},
      \sigma_{out}^2)`, is :math:`\Phi(z)`, an increasing function of it).
      A scored row that is also a population row counts as OUT only for the
      shadows that did not train on it.

    With few shadows the per-row variances are noisy: ``fix_variance=True``
    uses one global :math:`\sigma_{in}` (the standard deviation of every IN
    value) and one :math:`\sigma_{out}` (of every OUT value), as in the
    paper. Standard deviations are floored at :math:`10^{-3}`.

    ``decision_function`` is the statistic (higher = member: :math:`\log
    \Lambda` online, :math:`z` offline); ``infer_proba`` is the member
    probability :math:`\sigma(\log \Lambda)` of the two Gaussians with equal
    priors online, :math:`\Phi(z)` offline; ``infer`` calls rows with a
    statistic of at least 0 members. The attack's strength is in its low
    false-positive regime: measure it with ``metric="tpr_at_1pct_fpr"`` or
    ``"roc_auc"``.

    Shadows are trained on the first call against an estimator, in parallel
    (``n_jobs``), and cached for that estimator (and, online, those scored
    rows) while its outputs are unchanged. Offline, they are also the
    reference models of an :class:`RMIAMembershipAttack` with
    ``n_reference=n_shadow``, the same integer ``random_state`` and the same
    population: the two attacks train them once.

    Parameters
    ----------
    n_shadow : int, default=16
        Number of shadow models (the paper uses 64 to 256; a few suffice for
        cheap models with ``fix_variance=True``). Without ``fix_variance``
        every row needs at least two IN and two OUT shadows: at least 4
        online, 2 offline.
    mode : {"online", "offline"}, default="online"
        Whether the shadows train on the scored rows too (see above).
    fix_variance : bool, default=False
        One global variance for IN and one for OUT instead of one per row.
    n_jobs : int, default=None
        Shadows trained in parallel by joblib; None is 1 unless in a
        ``joblib.parallel_config`` context, -1 all processors.
    random_state : int, RandomState instance or None, default=None
        Seeds the half splits and the shadows' own ``random_state`` (where
        left at None); an integer seed leaves NumPy's and torch's global
        random state alone.

    Attributes
    ----------
    X_population_, y_population_ : array-like
        The attacker's sample of the population.

    See Also
    --------
    RMIAMembershipAttack : RMIA, strong with few reference models.
    ShadowModelMembershipAttack : ML-Leaks, one shadow model and a classifier.
    skmid.metrics.tpr_at_fpr : the true-positive rate at a low false-positive rate.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skmid.attacks import LiRAMembershipAttack
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 5))
    >>> y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    >>> target = DecisionTreeClassifier(random_state=0).fit(X[:100], y[:100])
    >>> member = np.arange(200) < 100
    >>> attack = LiRAMembershipAttack(n_shadow=8, random_state=0)
    >>> attack = attack.fit(X[200:], y[200:])
    >>> bool(attack.score(target, X[:200], y[:200], member, metric="roc_auc") > 0.6)
    True
    """

    _threshold = 0.0

    _parameter_constraints = {
        "n_shadow": [Interval(numbers.Integral, 2, None, closed="left")],
        "mode": [StrOptions({"online", "offline"})],
        "fix_variance": ["boolean"],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_shadow=16,
        *,
        mode="online",
        fix_variance=False,
        n_jobs=None,
        random_state=None,
    ):
        self.n_shadow = n_shadow
        self.mode = mode
        self.fix_variance = fix_variance
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _n_models(self):
        return self.n_shadow

    def decision_function(self, estimator, X, y=None):
        """The LiRA statistic of each row: higher means more likely a member.

        Parameters
        ----------
        estimator : fitted classifier with ``predict_proba``
            The attacked model; cloned to make the shadows.
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The rows' true labels (required).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            :math:`\\log \\Lambda` online, the OUT z-score offline.
        """
        self._check_fitted()
        self._check_y_given(y, "decision_function")
        y = _check_rows_and_labels(X, y)
        phi = _logit_confidence(
            *_label_probabilities(estimator, X, y, type(self).__name__, target=True)
        )
        trained = self._reference_models(estimator, X, y)
        phi_shadow = _logit_confidence(*self._reference_probabilities(trained, X, y))
        inside = self._membership_in(trained, X, y)
        outside = ~inside
        self._check_counts(
            outside.sum(axis=0), "OUT", "raise n_shadow or give the attack more rows"
        )
        mean_out, std_out = _masked_mean_std(phi_shadow, outside)
        if self.mode == "online":
            self._check_counts(inside.sum(axis=0), "IN", "raise n_shadow to at least 2")
            mean_in, std_in = _masked_mean_std(phi_shadow, inside)
        if self.fix_variance:
            std_out = np.full_like(std_out, np.std(phi_shadow[outside]))
            if self.mode == "online":
                std_in = np.full_like(std_in, np.std(phi_shadow[inside]))
        else:
            counts = [outside.sum(axis=0)]
            if self.mode == "online":
                counts.append(inside.sum(axis=0))
            low = min(count.min() for count in counts)
            if low < 2:
                raise ValueError(
                    f"n_shadow={self.n_shadow} leaves some rows with fewer than "
                    "two IN or OUT shadows, too few for a per-row variance: raise "
                    "n_shadow (at least 4 online) or set fix_variance=True."
                )
        std_out = np.maximum(std_out, _MIN_STD)
        z_out = (phi - mean_out) / std_out
        if self.mode == "offline":
            statistic = z_out
        else:
            std_in = np.maximum(std_in, _MIN_STD)
            z_in = (phi - mean_in) / std_in
            statistic = np.log(std_out) - np.log(std_in) + 0.5 * (z_out**2 - z_in**2)
        return check_finite_output(statistic, source="LiRA's test statistic")

    def infer_proba(self, estimator, X, y=None):
        """Probabilities of non-member and member for each row.

        Online, the member posterior of the two Gaussians with equal priors,
        :math:`\\sigma(\\log \\Lambda)`; offline, :math:`\\Phi(z)`.

        Parameters
        ----------
        estimator : fitted classifier with ``predict_proba``
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The rows' true labels (required).

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
        """
        statistic = self.decision_function(estimator, X, y)
        member = expit(statistic) if self.mode == "online" else ndtr(statistic)
        return np.column_stack([1.0 - member, member])


class RMIAMembershipAttack(_ReferenceModelAttack):
    r"""The robust membership inference attack, RMIA (Zarifzadeh et al., 2024).

    "Low-Cost High-Power Membership Inference Attacks" (ICML 2024). RMIA
    compares the attacked model :math:`\theta` on a row :math:`x` with its
    behaviour on population rows :math:`z`, each relative to what reference
    models predict. With :math:`\Pr(x \mid \theta) = f_\theta(x)_y`, the
    model's confidence in the row's label, the pairwise likelihood ratio is

    .. math::

        \mathrm{LR}_\theta(x, z) = \frac{\Pr(x \mid \theta)}{\Pr(x)}
        \bigg/ \frac{\Pr(z \mid \theta)}{\Pr(z)},

    and the score is the fraction of population rows that :math:`x`
    dominates by at least :math:`\gamma`,

    .. math::

        \mathrm{Score}_{\mathrm{MIA}}(x; \theta) =
        \Pr_{z}\big[\mathrm{LR}_\theta(x, z) \ge \gamma\big].

    :math:`\Pr(x) = \mathbb E_{\theta'} \Pr(x \mid \theta')` is the average
    over models trained with and without :math:`x`. Offline, the reference
    models (clones of the attacked estimator, each trained on a random half
    of the attacker's population rows) never saw :math:`x`, and the IN
    average is approximated linearly from the OUT one,
    :math:`\Pr(x)_{IN} \approx a \Pr(x)_{OUT} + (1 - a)`, so that

    .. math::

        \Pr(x) = \tfrac12 \big(\Pr(x)_{OUT} + \Pr(x)_{IN}\big)
        \approx \tfrac{1 + a}{2} \Pr(x)_{OUT} + \tfrac{1 - a}{2}.

    :math:`a = 1` says training leaves a row's confidence unchanged,
    :math:`a = 0` that it makes it 1; the authors' code uses 0.3. The
    population rows :math:`z` are ``n_population_z`` of the attacker's rows.
    Like every population row, each :math:`z` is in the training set of
    half of the reference models; its :math:`\Pr(z)_{OUT}` averages the
    other half, so the same offline approximation applies to it. A scored
    row that is also a population row likewise averages only the reference
    models that did not train on it (or, with none, inverts the linear
    approximation from those that did, as the authors' code does). The
    fraction is computed exactly by sorting
    the ratios of the :math:`z`, in :math:`O((n + m) \log m)`.

    ``decision_function`` is :math:`\mathrm{Score}_{\mathrm{MIA}}` in [0, 1]
    (higher = member); ``infer`` calls rows scoring at least 0.5 members.
    Reference models are trained on the first call against an estimator, in
    parallel (``n_jobs``), and cached while its outputs are unchanged. They
    are an offline :class:`LiRAMembershipAttack`'s shadow models: with
    ``n_reference`` equal to its ``n_shadow``, the same integer
    ``random_state`` and the same population, the two attacks train them
    once.

    Parameters
    ----------
    n_reference : int, default=4
        Number of reference models; RMIA is strong with few (1 to 4).
    offline_a : float, default=0.3
        The interpolation parameter :math:`a` in [0, 1].
    gamma : float, default=1.0
        The threshold :math:`\gamma > 0` on the pairwise likelihood ratio.
    n_population_z : int or float, default=0.2
        Population rows used as the :math:`z`: a number, or a fraction of the
        rows given to ``fit`` (every population row trains half of the
        reference models).
    n_jobs : int, default=None
        Reference models trained in parallel by joblib.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of the :math:`z`, the half splits and the reference
        models' own ``random_state`` (where left at None); an integer seed
        leaves NumPy's and torch's global random state alone.

    Attributes
    ----------
    X_population_, y_population_ : array-like
        The attacker's sample of the population.

    See Also
    --------
    LiRAMembershipAttack : the likelihood-ratio attack with shadow models.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skmid.attacks import RMIAMembershipAttack
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 5))
    >>> y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    >>> target = DecisionTreeClassifier(random_state=0).fit(X[:100], y[:100])
    >>> member = np.arange(200) < 100
    >>> attack = RMIAMembershipAttack(random_state=0).fit(X[200:], y[200:])
    >>> bool(attack.score(target, X[:200], y[:200], member, metric="roc_auc") > 0.6)
    True
    """

    _parameter_constraints = {
        "n_reference": [Interval(numbers.Integral, 1, None, closed="left")],
        "offline_a": [Interval(numbers.Real, 0, 1, closed="both")],
        "gamma": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_population_z": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Interval(numbers.Real, 0, 1, closed="neither"),
        ],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_reference=4,
        *,
        offline_a=0.3,
        gamma=1.0,
        n_population_z=0.2,
        n_jobs=None,
        random_state=None,
    ):
        self.n_reference = n_reference
        self.offline_a = offline_a
        self.gamma = gamma
        self.n_population_z = n_population_z
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y):
        """Store the attacker's sample of the population.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows from the attacked model's population, with no known
            membership: all of them train the reference models (each row
            half of them), and ``n_population_z`` of them are also the
            :math:`z`.
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        self : object
        """
        super().fit(X, y)
        n_population = len(self.y_population_)
        if isinstance(self.n_population_z, numbers.Integral):
            n_z = int(self.n_population_z)
        else:
            n_z = max(1, int(round(self.n_population_z * n_population)))
        if n_z > n_population:
            raise ValueError(
                f"n_population_z={self.n_population_z} asks for {n_z} z among "
                f"the {n_population} population rows given to fit."
            )
        # Drawn from a generator of their own, so that the reference models'
        # half splits are those of an offline LiRA with the same seed.
        rng = check_random_state(self.random_state)
        self._z_rows = np.sort(rng.permutation(n_population)[:n_z])
        return self

    def _n_models(self):
        return self.n_reference

    def _pr_x(self, trained, X, y):
        """The offline estimate of Pr(x) for rows ``X`` with labels ``y``."""
        a = self.offline_a
        label, _ = self._reference_probabilities(trained, X, y)
        inside = self._membership_in(trained, X, y)
        n_out = (~inside).sum(axis=0)
        mean_out = np.where(~inside, label, 0.0).sum(axis=0) / np.maximum(n_out, 1)
        missing = n_out == 0
        if missing.any():
            if a == 0:
                raise ValueError(
                    "Some scored rows or population rows z were used to train "
                    "every reference model and offline_a=0 cannot recover their "
                    "OUT confidence: raise n_reference or offline_a."
                )
            # Invert Pr_IN = a Pr_OUT + (1 - a) from the models that saw the row.
            mean_in = label[:, missing].mean(axis=0)
            mean_out[missing] = np.clip((mean_in - (1 - a)) / a, 0.0, 1.0)
        return np.maximum((1 + a) / 2 * mean_out + (1 - a) / 2, _MIN_PROBABILITY)

    def decision_function(self, estimator, X, y=None):
        """RMIA's score of each row: the fraction of population rows it dominates.

        Parameters
        ----------
        estimator : fitted classifier with ``predict_proba``
            The attacked model; cloned to make the reference models.
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The rows' true labels (required).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            In [0, 1].
        """
        self._check_fitted()
        self._check_y_given(y, "decision_function")
        y = _check_rows_and_labels(X, y)
        name = type(self).__name__
        pr_x_theta, _ = _label_probabilities(estimator, X, y, name, target=True)
        trained = self._reference_models(estimator, X, y)
        X_z = _take(self.X_population_, self._z_rows)
        y_z = self.y_population_[self._z_rows]
        # A z whose label the attacked model never saw has confidence 0.
        pr_z_theta, _ = _label_probabilities(estimator, X_z, y_z, name, target=False)
        ratio_x = pr_x_theta / self._pr_x(trained, X, y)
        ratio_z = np.sort(pr_z_theta / self._pr_x(trained, X_z, y_z))
        # LR(x, z) = ratio_x / ratio_z >= gamma  <=>  ratio_z <= ratio_x / gamma
        dominated = np.searchsorted(ratio_z, ratio_x / self.gamma, side="right")
        return check_finite_output(dominated / len(ratio_z), source="RMIA's score")
