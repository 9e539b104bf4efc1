"""The papers' comparison of output defenses on images, as audit specifications.

``skmid audit digits|faces`` runs these specifications with the same engine and
report writer as every other audit.
"""

import contextlib
import math
import numbers
import warnings
import weakref

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ParameterGrid

from ..attacks import AttackScorer
from ..utils._validation import check_int, check_scalar_choice
from ._membership import (
    LOW_FPR,
    LOW_FPR_METRIC,
    membership_scores,
    plot_membership_roc,
)
from ._specs import (
    AttackSpec,
    AuditInputError,
    AuditSpec,
    DefenseSpec,
    trivial_defense,
)

#: The attacker's auxiliary data: this fraction of every class, drawn once.
AUXILIARY_FRACTION = 0.2
#: Of the other rows, per seed and class: the target's training rows (the
#: members) and the held-out rows (the non-members).
TRAIN_FRACTION = 0.75
#: Folds of the out-of-fold predictions that fit each output defense.
DEFENSE_FOLDS = 3
#: LiRA's shadow models per attacked model: offline (the scored rows are
#: never the attacker's) with one global variance, the paper's choice for few
#: shadows (Carlini et al. 2022).
LIRA_SHADOWS = 8
#: The averaging attacker: the Mirror-style search's confidence queries, each
#: sent this many times perturbed by Gaussian pixel noise of this scale
#: (beyond the default grid of the CMI hash, so that the repeats get fresh
#: label draws: see the user guide), their answers averaged.
AVERAGING_REPEATS = 10
AVERAGING_NOISE = 1e-3
#: The CMI defense's second temperature (the first is its default, 0.05): the
#: Stealthy Shield paper's ablation raises T against hard-label attacks.
CMI_HIGH_TEMPERATURE = 0.3

DATASETS = {
    "digits": {
        "description": (
            "load_digits (8x8 digits, the papers' MNIST at small scale), "
            "LogisticRegression(C=0.05) target"
        ),
        "C": 0.05,
        "step_size": 0.1,
        "purifier": {},
        # Query budgets per reconstructed class: the user guide's settings.
        "miface_queries": 10_000,
        "generative_queries": 5_000,
        "classes_shown": 5,
        "identities": "the private digits 0-4; the public 5-9",
        # Measured on the first split (50 epochs): test accuracy 0.97 up to
        # lambda = 30 (where the outputs are already near uniform: I(X; Y_hat)
        # 0.004 nats against 2.18 at 0), 0.95 at 100, 0.69 at 300.
        "mid_lams": (0.0, 3.0, 30.0, 100.0, 300.0),
    },
    "faces": {
        "description": (
            "Olivetti faces (64x64, 40 people; the papers' FaceScrub at small "
            "scale), LogisticRegression(C=0.05) target"
        ),
        "C": 0.05,
        "step_size": 0.4,
        # ML-Leaks trains a shadow copy of the defended model on the
        # attacker's 2 images per person: the defense's out-of-fold split
        # can have at most 2 folds there.
        "defense_folds": 2,
        # The paper's FaceScrub purifier is one hidden layer of 0.38 K units;
        # the default bottleneck (7 units for 40 people, trained on two rows
        # per person) loses a third of the accuracy.
        "purifier": {"hidden_layer_sizes": (15,), "epochs_factor": 2},
        # Smaller budgets than the user guide's (10,000 and 5,000), for the
        # audit's time on two cores: undefended, the black-box MI-Face still
        # recovers every private person; the Mirror-style search reaches
        # Acc@1 0.40 at 3,000 queries against 0.55 at 5,000.
        "miface_queries": 4_000,
        "generative_queries": 3_000,
        "classes_shown": 8,
        "identities": "20 private people; the 20 public ones",
        # A network per lambda, seed and shadow copy: too slow for 4096 pixels
        # on a laptop; the digits audit shows what MID does.
        "mid_lams": (),
    },
}


def comparison_defenses(dataset="digits", *, max_epochs=50, n_iter=10, device="cpu"):
    """The defenses the comparison runs, by name (unfitted; ``None`` = undefended).

    The purifier variants use :math:`\\lambda = 1`, ``alpha=1`` where H is
    on and ``beta=0.1`` where I is on (the paper's CIFAR10 settings); on the
    faces, G has one hidden layer of 15 units and trains twice as long. The
    adversarial noise uses Wen et al.'s step size (0.1 for digits, 0.4 for
    faces), 10 steps and an L2 budget of 2 on the logits; CMI its defaults
    (temperature :math:`T = 0.05`) and, as "CMI T=0.3", the higher
    temperature of the Stealthy Shield paper's ablation (more robust against
    hard-label attacks, less accurate); rounding one decimal.

    Parameters
    ----------
    dataset : {"digits", "faces"}, default="digits"
    max_epochs : int, default=50
        Epochs of the purifiers and of the defender's inversion model.
    n_iter : int, default=10
        Steps of the adversarial noise.
    device : str, default="cpu"
        Torch device of the purifiers and of the defender's inversion model
        (e.g. ``"cuda"``).

    Returns
    -------
    defenses : dict
        Name -> post-processing defense (or None).
    """
    from ..attacks import InversionModelAttack
    from ..postprocessing import (
        AdversarialNoiseDefense,
        CMIPostProcessor,
        PurifierTransformer,
        RoundingPostProcessor,
        TopLabelPostProcessor,
    )

    check_scalar_choice(dataset, "dataset", set(DATASETS))
    max_epochs = check_int(max_epochs, "max_epochs", 1)
    n_iter = check_int(n_iter, "n_iter", 1)
    device = _check_device(device)
    params = dict(DATASETS[dataset]["purifier"])
    epochs = max_epochs * params.pop("epochs_factor", 1)
    purifier = PurifierTransformer(max_epochs=epochs, device=device, **params)
    return {
        "none": None,
        "purifier": purifier,
        "purifier I": clone(purifier).set_params(alpha=1.0),
        "purifier II": clone(purifier).set_params(beta=0.1),
        "purifier I&II": clone(purifier).set_params(alpha=1.0, beta=0.1),
        "adversarial noise": AdversarialNoiseDefense(
            InversionModelAttack(max_epochs=2 * max_epochs, device=device),
            epsilon=2.0,
            step_size=DATASETS[dataset]["step_size"],
            n_iter=n_iter,
        ),
        "CMI": CMIPostProcessor(),
        f"CMI T={CMI_HIGH_TEMPERATURE:g}": CMIPostProcessor(
            temperature=CMI_HIGH_TEMPERATURE
        ),
        "top-label": TopLabelPostProcessor(),
        "rounding": RoundingPostProcessor(decimals=1),
    }


def load_image_dataset(dataset, data_home=None, *, private_only=False):
    """``(X, y, image_shape, X_public)``, pixels in [0, 1]; faces need ``data_home``.

    ``private_only``: ``X, y`` are the private identities of
    :func:`~skmid.datasets.load_inversion_split` and ``X_public`` the images
    of the public ones; else ``X, y`` hold every image and ``X_public`` is
    None.
    """
    from sklearn.datasets import fetch_olivetti_faces, load_digits

    from ..datasets import load_inversion_split

    if dataset not in DATASETS:
        raise AuditInputError(f"unknown dataset {dataset!r}; choose digits or faces")
    missing = AuditInputError(
        "the Olivetti faces (olivetti_py3.pkz) were not found; pass "
        "--data-home DIR (data_home=DIR) with the file in DIR"
    )
    if private_only:
        try:
            data = load_inversion_split(dataset, data_home=data_home)
        except FileNotFoundError:
            raise missing from None
        return data.X_private, data.y_private, data.image_shape, data.X_public
    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y, (8, 8), None
    try:
        faces = fetch_olivetti_faces(data_home=data_home, download_if_missing=False)
    except OSError:
        raise missing from None
    return faces.data.astype(np.float64), faces.target, (64, 64), None


def split_per_class(y, fractions, seed=0):
    """Index arrays holding the given fractions of every class (disjoint)."""
    rng = np.random.default_rng(seed)
    parts = [[] for _ in fractions]
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        bounds = np.round(np.cumsum([0, *fractions]) * len(rows)).astype(int)
        for part, lo, hi in zip(parts, bounds[:-1], bounds[1:], strict=True):
            part.extend(rows[lo:hi])
    return [np.array(sorted(part)) for part in parts]


_STYLES = {
    "none": ("black", "*"),
    "purifier": ("tab:blue", "o"),
    "purifier I": ("tab:cyan", "o"),
    "purifier II": ("tab:olive", "o"),
    "purifier I&II": ("tab:green", "o"),
    "adversarial noise": ("tab:orange", "s"),
    "CMI": ("tab:purple", "D"),
    f"CMI T={CMI_HIGH_TEMPERATURE:g}": ("tab:pink", "D"),
    "top-label": ("tab:gray", "v"),
    "rounding": ("tab:brown", "^"),
    "MID network": ("tab:red", "P"),
}
_NOTES = {
    "adversarial noise": {
        "epsilon": "L2 budget of the noise on the logits, not a DP budget"
    },
    "CMI": {"epsilon": "L1 bound on the distortion of each confidence vector"},
    f"CMI T={CMI_HIGH_TEMPERATURE:g}": {
        "epsilon": "L1 bound on the distortion of each confidence vector"
    },
}


class SeedSplits:
    """One per-class split per seed: a cross-validation splitter of fixed splits.

    Each seed draws ``train_fraction`` of every class as training rows and
    the rest as held-out rows; the seeds play the role of repeats.

    Parameters
    ----------
    seeds : sequence of int
    train_fraction : float, default=0.75

    Examples
    --------
    >>> import numpy as np
    >>> from skmid.audit import SeedSplits
    >>> y = np.repeat([0, 1], 4)
    >>> [(train.tolist(), test.tolist())
    ...  for train, test in SeedSplits([0]).split(np.zeros((8, 1)), y)]
    [([0, 1, 2, 5, 6, 7], [3, 4])]
    """

    def __init__(self, seeds, train_fraction=TRAIN_FRACTION):
        self.seeds = seeds
        self.train_fraction = train_fraction

    def get_n_splits(self, X=None, y=None, groups=None):
        return len(_check_seeds(self.seeds))

    def split(self, X, y, groups=None):
        fraction = self.train_fraction
        if not (isinstance(fraction, numbers.Real) and 0 < fraction < 1):
            raise ValueError(f"train_fraction must be in (0, 1); got {fraction!r}.")
        y = np.asarray(y)
        for seed in _check_seeds(self.seeds):
            yield tuple(split_per_class(y, [fraction, 1 - fraction], seed))

    def __repr__(self):
        seeds, fraction = list(self.seeds), self.train_fraction
        return f"SeedSplits(seeds={seeds}, train_fraction={fraction})"


def _check_seeds(seeds):
    """A list of distinct seeds NumPy accepts, at least one."""
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise ValueError(f"seeds must be a sequence of ints; got {seeds!r}.")
    seeds = list(seeds)
    if not seeds:
        raise AuditInputError("seeds must hold at least one seed")
    for seed in seeds:
        if (
            isinstance(seed, (bool, np.bool_))
            or not isinstance(seed, numbers.Integral)
            or not 0 <= seed < 2**32
        ):
            raise ValueError(f"seeds must be ints in [0, 2**32 - 1]; got {seed!r}.")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct; got {seeds}.")
    return [int(seed) for seed in seeds]


class _Distortion:
    """Mean L1 or L2 distance between defended and undefended confidences."""

    def __init__(self, norm):
        self.norm = norm

    def __call__(self, estimator, X, y=None):
        from ..attacks import TrainingRowsRecorder

        if isinstance(estimator, TrainingRowsRecorder):
            estimator = estimator.estimator_
        plain = getattr(estimator, "estimator_", None)
        if plain is None:  # undefended
            return 0.0
        difference = estimator.predict_proba(X) - plain.predict_proba(X)
        return float(np.linalg.norm(difference, ord=self.norm, axis=1).mean())

    def __repr__(self):
        return f"confidence distortion (L{self.norm})"


def image_audit(
    dataset="digits",
    *,
    data_home=None,
    seeds=(0, 1),
    defenses=None,
    max_epochs=50,
    attack_epochs=100,
    n_victims=6,
    n_shadow=LIRA_SHADOWS,
    n_reference=None,
    mid_lams=None,
    class_reconstruction=True,
    device="cpu",
):
    """The papers' comparison of output defenses, as an audit specification.

    The small-scale version of the purification paper's Table II, the
    adversarial-noise paper's Table I and the Stealthy Shield paper's Tables
    1-2, run by :func:`run_audit`. With ``class_reconstruction=True`` (the
    default) the target is trained on the private identities of
    :func:`~skmid.datasets.load_inversion_split` (faces: 20 of the 40
    people; digits: 0-4) and the attacker also owns the images of the public
    ones (never of a private one); with False, on every identity, without
    the class-reconstruction attacks (the protocol of skmid 0.1). The
    attacker's auxiliary data is 20% of every (private) class, drawn once
    (with the first seed). Per seed (a repeat), the other rows of every class are
    split into the target's training rows (the members, 60% of the data) and
    held-out rows (the non-members, 20%). Each defense is a
    :class:`~skmid.postprocessing.DefendedClassifier` around a
    ``LogisticRegression(C=0.05)`` target: the defense is fitted on
    out-of-fold predictions of the training rows (3 folds; 2 for the
    faces, whose shadow copies see 2 images per person) and the target then
    on all of them, so every defense defends the same target as "none".
    Attacks:

    - inversion error on the training rows: an attacker's own
      :class:`~skmid.attacks.InversionModelAttack`, trained on the defended
      outputs of its auxiliary data (never the defender's), reconstructing
      the training images (mean squared error per pixel; lower means more
      leakage);
    - membership accuracy, AUC and true-positive rate at 1% false-positive
      rate of ML-Leaks (a shadow model trained on the auxiliary data), NSH
      (knowing half of the balanced members and non-members, scored on the
      others) and the label-only attack, and the AUC and true-positive rate
      at 1% false-positive rate of the likelihood-ratio attacks
      :class:`~skmid.attacks.LiRAMembershipAttack` (``n_shadow`` shadow
      models, offline, one global variance) and
      :class:`~skmid.attacks.RMIAMembershipAttack` (``n_reference``
      reference models, offline), whose shadow and reference models are
      clones of the attacked model, defense included, trained on halves of
      the auxiliary data; all on the training rows as members and the
      held-out rows as non-members (balanced by subsampling);
    - utility: accuracy on the held-out and on the training rows, and the
      mean L1 and L2 distances between defended and undefended confidences
      on the held-out rows.

    "none" is the undefended model; a trivial model (the majority class,
    the class prior as confidences) is measured on the same splits as the
    reference of the report. On digits, the training-time defense
    :class:`~skmid.neural_network.MIDClassifier` (a network trained with the
    MID penalty, over a grid of :math:`\\lambda`; ``max_epochs`` epochs) is
    audited next to the output defenses, by the same attacks. The report's
    figures add the attacker's reconstructions, the membership ROC curves
    (log-log) and, per class-reconstruction attack, a gallery of its
    reconstructions of the first private classes under every defense, on
    the first seed's split.

    Compared with the papers' protocol (and with skmid before the audit
    engine ran this comparison), the defense is fitted on out-of-fold
    predictions of the training rows rather than on a separate reference
    set, and the attacker's data is the same for every seed.

    Parameters
    ----------
    dataset : {"digits", "faces"}, default="digits"
    data_home : str or path, default=None
        Folder holding ``olivetti_py3.pkz`` (faces only).
    seeds : sequence of int, default=(0, 1)
        One split per seed (the papers and skmid's evidence use three).
    defenses : dict, default=None
        Name -> post-processing defense (None: undefended); None runs
        :func:`comparison_defenses`.
    max_epochs : int, default=50
        Epochs of the purifiers, when ``defenses`` is None.
    attack_epochs : int, default=100
        Epochs of the attacker's inversion model (NSH trains half as many).
    n_victims : int, default=6
        Training images of the first seed reconstructed for the figure.
    n_shadow : int, default=8
        LiRA's shadow models per attacked model (at least 2).
    n_reference : int, default=None
        RMIA's reference models per attacked model (at least 1). None: as
        many as LiRA's shadow models, which are then the same models,
        trained once for both attacks.
    mid_lams : sequence of float, default=None
        The :math:`\\lambda` grid of the MID network; empty: no MID row.
        None: with ``defenses=None``, the dataset's grid (digits: 0, 3, 30,
        100, 300; faces: none, for its cost), else none.
    class_reconstruction : bool, default=True
        Train the target on the private identities and add the
        class-reconstruction attacks; False: every identity, no such attack.
    device : str, default="cpu"
        Torch device of every network the audit trains or attacks through
        (purifiers, inversion models, the MID network, the VAE prior and the
        white-box searches), e.g. ``"cuda"``; scikit-learn models stay on the
        CPU.

    Returns
    -------
    spec : AuditSpec
    """
    from ..attacks import (
        InversionModelAttack,
        KnownMembersMembershipAttack,
        LabelOnlyMembershipAttack,
        LiRAMembershipAttack,
        RMIAMembershipAttack,
        ShadowModelMembershipAttack,
    )
    from ..postprocessing import DefendedClassifier

    check_scalar_choice(dataset, "dataset", set(DATASETS))
    max_epochs = check_int(max_epochs, "max_epochs", 1)
    attack_epochs = check_int(attack_epochs, "attack_epochs", 1)
    n_victims = check_int(n_victims, "n_victims", 1)
    n_shadow = check_int(n_shadow, "n_shadow", 2)
    n_reference = n_shadow if n_reference is None else n_reference
    n_reference = check_int(n_reference, "n_reference", 1)
    if mid_lams is None:
        mid_lams = DATASETS[dataset]["mid_lams"] if defenses is None else ()
    mid_lams = _check_lams(mid_lams)
    seeds = _check_seeds(seeds)
    if defenses is not None and (not isinstance(defenses, dict) or not defenses):
        raise ValueError(
            "defenses must be a non-empty dict of name -> post-processing defense "
            f"(or None); got {defenses!r}."
        )
    if not isinstance(class_reconstruction, (bool, np.bool_)):
        raise ValueError(
            f"class_reconstruction must be True or False; got {class_reconstruction!r}."
        )
    device = _check_device(device)
    X_all, y_all, shape, X_public = load_image_dataset(
        dataset, data_home, private_only=class_reconstruction
    )
    if defenses is None:
        defenses = comparison_defenses(dataset, max_epochs=max_epochs, device=device)
    auxiliary, rest = split_per_class(
        y_all, [AUXILIARY_FRACTION, 1 - AUXILIARY_FRACTION], seeds[0]
    )
    X, y = X_all[rest], y_all[rest]
    X_aux, y_aux = X_all[auxiliary], y_all[auxiliary]
    seed = seeds[0]
    target = LogisticRegression(C=DATASETS[dataset]["C"], max_iter=5000)
    inversion = InversionModelAttack(
        max_epochs=attack_epochs, random_state=seed, device=device
    )
    inversion.fit(X_aux)
    attacks = {
        "inversion_error": AttackSpec(
            _QuietAttackScorer(inversion, "mse"),
            "attacker's inversion error",
            rows="train",
        )
    }
    # prefix -> (attack, label, whether its accuracy is reported): the
    # likelihood-ratio attacks are read at low false-positive rates (their
    # threshold for a yes/no guess is not tuned to balanced data).
    membership = {
        "shadow": (
            ShadowModelMembershipAttack(random_state=seed).fit(X_aux, y_aux),
            "ML-Leaks membership",
            True,
        ),
        "nsh": (
            KnownMembersMembershipAttack(
                max_epochs=max(1, attack_epochs // 2),
                random_state=seed,
                device=device,
            ),
            "NSH membership",
            True,
        ),
        "label": (LabelOnlyMembershipAttack(), "label-only membership", True),
        "lira": (
            LiRAMembershipAttack(
                n_shadow, mode="offline", fix_variance=True, random_state=seed
            ).fit(X_aux, y_aux),
            "LiRA membership",
            False,
        ),
        "rmia": (
            RMIAMembershipAttack(n_reference, random_state=seed).fit(X_aux, y_aux),
            "RMIA membership",
            False,
        ),
    }
    for prefix, (attack, label, accuracy) in membership.items():
        if accuracy:
            attacks[f"{prefix}_accuracy"] = AttackSpec(
                _QuietAttackScorer(attack, "accuracy"), f"{label} accuracy"
            )
        attacks[f"{prefix}_auc"] = AttackSpec(
            _QuietAttackScorer(attack, "roc_auc"), f"{label} AUC"
        )
        attacks[f"{prefix}_tpr"] = AttackSpec(
            _QuietAttackScorer(attack, LOW_FPR_METRIC),
            f"{label} TPR at {LOW_FPR:.0%} FPR",
        )
    reconstructions = {}
    if class_reconstruction:
        reconstructions = _class_reconstruction_attacks(
            dataset, X_public, shape, seed, device
        )
        for prefix, (_, label, _) in reconstructions.items():
            for metric, suffix in RECONSTRUCTION_METRICS.items():
                attacks[f"{prefix}_{suffix}"] = AttackSpec(
                    _QuietAttackScorer(reconstructions[prefix][0], metric),
                    f"{label} {RECONSTRUCTION_METRIC_LABELS[metric]}",
                    rows="train",
                )
        # The Mirror-style search again (its own cache), on the same prior.
        mirror = reconstructions["mirror"][0]
        averaging = type(mirror)(**mirror.get_params(deep=False)).fit(X_public)
        averager = _AveragedQueries((averaging.data_min_, averaging.data_max_), seed)
        for metric, suffix in RECONSTRUCTION_METRICS.items():
            attacks[f"averaging_{suffix}"] = AttackSpec(
                _AveragingScorer(averaging, metric, averager=averager),
                "Mirror-style search, averaged queries "
                f"{RECONSTRUCTION_METRIC_LABELS[metric]}",
                rows="train",
                note=(
                    f"each confidence query sent {AVERAGING_REPEATS} times with "
                    f"Gaussian pixel noise of {AVERAGING_NOISE:g}, the answers "
                    "averaged; run where the defense draws random answers (CMI) "
                    "and on the undefended model"
                ),
            )
    galleries = {
        f"{prefix}_acc": (attack.reconstruct, label)
        for prefix, (attack, label, _) in reconstructions.items()
    }
    if class_reconstruction:
        galleries["averaging_acc"] = (
            attacks["averaging_acc"].scorer.reconstruct,
            "Mirror-style search, averaged queries",
        )
    # A white-box attack bypasses an output defense (it reads the weights of
    # the model behind it) and needs a linear or torch model.
    white_box = {
        name
        for prefix, (_, _, is_white_box) in reconstructions.items()
        if is_white_box
        for name in attacks
        if name.startswith(f"{prefix}_")
    }
    not_white_box = tuple(name for name in attacks if name not in white_box)
    # Averaging removes randomness; a deterministic defense has none to remove.
    averaged = {name for name in attacks if name.startswith("averaging_")}
    deterministic = tuple(name for name in not_white_box if name not in averaged)
    declared = []
    for name, defense in defenses.items():
        estimator = (
            clone(target)
            if defense is None
            else DefendedClassifier(
                clone(target),
                clone(defense),
                cv=DATASETS[dataset].get("defense_folds", DEFENSE_FOLDS),
                random_state=seed,
            )
        )
        declared.append(
            DefenseSpec(
                name,
                estimator,
                style=_STYLES.get(name),
                param_notes=_NOTES.get(name, {}),
                attacks=(
                    None
                    if defense is None or not white_box
                    else not_white_box
                    if _draws_randomness(defense)
                    else deterministic
                ),
                role="undefended" if defense is None else "defense",
            )
        )
    if mid_lams:
        mid = _mid_defense(mid_lams, max_epochs, seed, device)
        if averaged:
            mid.attacks = tuple(name for name in attacks if name not in averaged)
        declared.append(mid)
    declared.append(
        trivial_defense("classification", attacks=deterministic if white_box else None)
    )
    baseline = float(np.mean((X_aux - X_aux.mean(axis=0)) ** 2))
    if class_reconstruction:
        scope = (
            f"the target is trained on {DATASETS[dataset]['identities']} are the "
            "class-reconstruction attacks' prior; output defenses against "
            "inversion, class-reconstruction and membership attacks"
        )
    else:
        scope = (
            "the target is trained on every identity; output defenses against "
            "inversion and membership attacks"
        )
    spec = AuditSpec(
        name=dataset,
        description=(
            f"{DATASETS[dataset]['description']}; {scope} (reconstructing every "
            f"image as the mean image scores an inversion error of {baseline:.4f})"
        ),
        X=X,
        y=y,
        task="classification",
        utility="accuracy",
        utility_label="accuracy",
        utility_sign=1.0,
        attacks=attacks,
        plot_attacks=(
            "inversion_error",
            "shadow_accuracy",
            *(["mirror_acc", "brep_acc"] if class_reconstruction else []),
        ),
        budget_attack="inversion_error",
        pareto_attacks=("inversion_error", "shadow_accuracy"),
        defenses=declared,
        sensitive="the training images and their membership",
        extras={
            "l1_distortion": (_Distortion(1), "L1 distortion"),
            "l2_distortion": (_Distortion(2), "L2 distortion"),
        },
        splitter=SeedSplits(seeds),
        splits_label=(
            f"one per-class split per seed ({', '.join(map(str, seeds))}): "
            f"{TRAIN_FRACTION:.0%} of the non-auxiliary rows of every class "
            "for training, the rest held out; the attacker's auxiliary data, "
            f"{AUXILIARY_FRACTION:.0%} of every class, is the same for every seed"
        ),
        claims=_claims,
    )
    spec.figures = _figures(
        inversion,
        {
            f"{prefix}_auc": (attack, f"{label} (first split)")
            for prefix, (attack, label, _) in membership.items()
        },
        shape,
        seeds[0],
        n_victims,
        galleries,
        DATASETS[dataset]["classes_shown"],
    )
    return spec


#: The class-reconstruction metrics an image audit reports: metric -> suffix.
RECONSTRUCTION_METRICS = {"accuracy": "acc", "knn_distance": "knn"}
RECONSTRUCTION_METRIC_LABELS = {
    "accuracy": "Acc@1",
    "knn_distance": "KNN distance",
}


def _class_reconstruction_attacks(dataset, X_public, shape, seed, device):
    """``{prefix: (fitted attack, label, white box?)}``, fitted on the public images.

    One VAE prior, trained once on the public images, serves the three
    generative searches (its decoder is the others' ``prior``).
    """
    from ..attacks import GenerativeInversionAttack, MIFaceAttack

    settings = DATASETS[dataset]
    mif = {
        "init": "public_mean",
        "loss": "log_confidence",
        "image_shape": shape,
        "random_state": seed,
        "device": device,
    }
    gmi = GenerativeInversionAttack(random_state=seed, device=device).fit(X_public)
    generative = {
        "prior": gmi.decoder_,
        "max_queries": settings["generative_queries"],
        "random_state": seed,
        "device": device,
    }
    return {
        "miface_wb": (
            MIFaceAttack(**mif).fit(X_public),
            "MI-Face (white box)",
            True,
        ),
        "miface_bb": (
            MIFaceAttack(
                access="black-box", max_queries=settings["miface_queries"], **mif
            ).fit(X_public),
            "MI-Face (black box)",
            False,
        ),
        "gmi": (gmi, "GMI (white box, VAE prior)", True),
        "mirror": (
            GenerativeInversionAttack("black-box", **generative).fit(X_public),
            "Mirror-style search (black box)",
            False,
        ),
        "brep": (
            GenerativeInversionAttack("label-only", **generative).fit(X_public),
            "BREP-MI (label only)",
            False,
        ),
    }


#: The warnings that fits on the attacker's auxiliary data are expected to
#: raise, by (category, message pattern). On the faces the attacker holds 2
#: images per person, so the shadow and reference copies of a defended model
#: (trained on half of them) meet classes with one image or none: their
#: out-of-fold split warns that a class has fewer members than folds, that
#: a training fold misses classes, and the logistic regression that it sees
#: nearly as many classes as rows. All are the attacker's limitation,
#: measured as such; they say nothing about the audited model.
EXPECTED_WARNINGS = (
    (UserWarning, r"The least populated class in y has only \d+ member"),
    (RuntimeWarning, r"Number of classes in training fold \(\d+\) does not match"),
    (UserWarning, r"The number of unique classes is greater than 50% of the number"),
)


@contextlib.contextmanager
def _expected_warnings_silenced():
    """Hide :data:`EXPECTED_WARNINGS` in the block, and no other warning."""
    with warnings.catch_warnings():
        for category, message in EXPECTED_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


class _QuietAttackScorer(AttackScorer):
    """An attack scorer that hides the warnings of :data:`EXPECTED_WARNINGS`.

    The filter is set inside each call (so in the worker process that runs
    it too) and removed after; any other warning still shows.
    """

    def __call__(self, estimator, X, y=None, **kwargs):
        with _expected_warnings_silenced():
            return super().__call__(estimator, X, y, **kwargs)


def _draws_randomness(defense):
    """Whether an output defense's answers hold random draws (CMI's labels).

    Declared by the post-processor (``_random_answers``), in a pipeline by
    any of its steps.
    """
    steps = getattr(defense, "steps", None)
    if steps is not None:
        return any(_draws_randomness(step) for _, step in steps)
    return bool(getattr(defense, "_random_answers", False))


class _AveragedQueries:
    """Wraps each attacked model in :class:`~skmid.attacks.QueryAveraging`.

    One wrapper per model (the last one asked for), its perturbations drawn
    again from ``seed`` each time it is handed out: every metric of one
    model sees the same answers, so the attack's reconstruction cache (keyed
    by the model it queries and its answers to a few probe rows) serves
    them all. Shared by the scorers of the averaging attack.
    """

    def __init__(self, clip, seed):
        self.clip = clip
        self.seed = seed
        self._last = None

    def wrap(self, estimator):
        from ..attacks import QueryAveraging

        if self._last is None or self._last[0]() is not estimator:
            wrapper = QueryAveraging(
                estimator,
                n_repeats=AVERAGING_REPEATS,
                noise_scale=AVERAGING_NOISE,
                clip=self.clip,
                random_state=self.seed,
            )
            self._last = (weakref.ref(estimator), wrapper)
        wrapper = self._last[1]
        wrapper._rng = np.random.RandomState(self.seed)
        return wrapper

    def __getstate__(self):
        return {**self.__dict__, "_last": None}


class _AveragingScorer(_QuietAttackScorer):
    """An attack scorer that attacks ``averager.wrap(model)``: averaged queries."""

    def __init__(self, attack, metric=None, *, averager):
        super().__init__(attack, metric)
        self.averager = averager

    def __call__(self, estimator, X, y=None, **kwargs):
        from ..attacks import TrainingRowsRecorder

        if isinstance(estimator, TrainingRowsRecorder):
            estimator = estimator.estimator_
        return super().__call__(self.averager.wrap(estimator), X, y, **kwargs)

    def reconstruct(self, estimator, classes=None):
        """The attack's reconstructions from ``estimator``, through averaging."""
        return self.attack.reconstruct(self.averager.wrap(estimator), classes)

    def __repr__(self):
        return (
            f"make_attack_scorer({self.attack!r}, metric={self.metric!r}) through "
            f"QueryAveraging(n_repeats={AVERAGING_REPEATS}, "
            f"noise_scale={AVERAGING_NOISE:g})"
        )


def _check_device(device):
    """``device`` as a string torch accepts, CUDA only where it is available."""
    if isinstance(device, str) and device == "cpu":
        return device
    from ..utils._torch import resolve_device

    try:
        return str(resolve_device(device))
    except ValueError as error:
        raise AuditInputError(str(error).rstrip(".")) from None


def _check_lams(lams):
    """The MID grid as a list of floats >= 0 (possibly empty)."""
    if isinstance(lams, (str, bytes)) or not hasattr(lams, "__iter__"):
        raise ValueError(f"mid_lams must be a sequence of floats; got {lams!r}.")
    lams = list(lams)
    for lam in lams:
        if (
            isinstance(lam, (bool, np.bool_))
            or not isinstance(lam, numbers.Real)
            or not 0 <= lam < np.inf
        ):
            raise ValueError(f"mid_lams must hold finite floats >= 0; got {lam!r}.")
    return [float(lam) for lam in lams]


def _mid_defense(lams, max_epochs, seed, device="cpu"):
    """The MID network over its lambda grid, a training-time defense."""
    from ..neural_network import MIDClassifier

    return DefenseSpec(
        "MID network",
        MIDClassifier(max_epochs=max_epochs, random_state=seed, device=device),
        {"lam": lams},
        style=_STYLES["MID network"],
        param_notes={
            "lam": "weight of the MID penalty I(X; Y_hat) in the network's loss"
        },
    )


def _rows_by_defense(result):
    return {row["defense"]: row for row in result.rows}


def _claims(result):
    """The papers' claims, checked: ``[(claim, holds), ...]`` for the defenses run."""
    rows = _rows_by_defense(result)
    if "none" not in rows:
        return []
    none = rows["none"]
    checks = []

    def add(text, name, holds):
        if name in rows:
            checks.append((text, bool(holds(rows[name]))))

    def error(row):
        return row["mean_train_inversion_error"]

    for name in ("purifier", "purifier I"):
        add(
            f"{name} raises the inversion error above none with <= 3 points of "
            "test accuracy lost",
            name,
            lambda d: (
                error(d) > error(none)
                and none["mean_test_utility"] - d["mean_test_utility"] <= 0.03
            ),
        )
    add(
        "adversarial noise raises the inversion error with no accuracy lost",
        "adversarial noise",
        lambda d: (
            error(d) > error(none)
            and math.isclose(d["mean_test_utility"], none["mean_test_utility"])
            and math.isclose(d["mean_train_utility"], none["mean_train_utility"])
        ),
    )
    add(
        "purifier II lowers the ML-Leaks membership accuracy",
        "purifier II",
        lambda d: d["mean_test_shadow_accuracy"] < none["mean_test_shadow_accuracy"],
    )
    if "mean_train_brep_acc" in none:
        for name in ("CMI", f"CMI T={CMI_HIGH_TEMPERATURE:g}"):
            add(
                f"{name} lowers the black-box (Mirror-style) and label-only "
                "(BREP-MI) attack accuracy with <= 3 points of test accuracy "
                "lost (Stealthy Shield, Tables 1-2)",
                name,
                lambda d: (
                    d["mean_train_mirror_acc"] < none["mean_train_mirror_acc"]
                    and d["mean_train_brep_acc"] < none["mean_train_brep_acc"]
                    and none["mean_test_utility"] - d["mean_test_utility"] <= 0.03
                ),
            )
        for name in ("CMI", f"CMI T={CMI_HIGH_TEMPERATURE:g}"):
            add(
                f"averaging {AVERAGING_REPEATS} perturbed repeats of each query "
                f"(noise {AVERAGING_NOISE:g}) gains the Mirror-style search "
                f"nothing against {name} (Stealthy Shield, Appendix H, says so of "
                "repeated queries, against its query hash)",
                name,
                lambda d: _at_most(
                    d.get("mean_train_averaging_acc"), d["mean_train_mirror_acc"]
                ),
            )
        high = f"CMI T={CMI_HIGH_TEMPERATURE:g}"
        if "CMI" in rows:
            add(
                f"{high} lowers the label-only (BREP-MI) attack accuracy below "
                "CMI's (T = 0.05), at more accuracy lost (Stealthy Shield, "
                "Figure 3)",
                high,
                lambda d: (
                    d["mean_train_brep_acc"] < rows["CMI"]["mean_train_brep_acc"]
                    and d["mean_test_utility"] < rows["CMI"]["mean_test_utility"]
                ),
            )
    return checks


def _at_most(value, bound):
    """``value <= bound``, False where either was not measured."""
    return value is not None and bound is not None and value <= bound


def _figures(
    inversion, membership, shape, seed, n_victims, reconstructions=None, n_classes=5
):
    """``figures(result)``: reconstructions, membership ROC curves, class galleries.

    Refits each model (every setting of a defense with a grid) on the first
    split's training rows (the engine keeps no fitted model), reconstructs
    ``n_victims`` of those images, scores every membership attack on
    balanced members (training rows) and non-members (held-out rows) of
    that split, and has every class-reconstruction attack reconstruct the
    first ``n_classes`` classes from every model it applies to.
    """
    reconstructions = reconstructions or {}

    def figures(result):
        spec = result.spec
        train, test = next(SeedSplits([seed]).split(spec.X, spec.y))
        victims = train[:: max(1, len(train) // n_victims)][:n_victims]
        every_class = np.unique(spec.y[train])
        entries = []
        for defense in spec.defenses:
            settings = list(ParameterGrid(defense.param_grid))
            for i, params in enumerate(settings):
                label = defense.label
                style = defense.style
                if defense.param_grid:
                    label = f"{label} ({defense.setting_label(params)})"
                    if style is not None:
                        # One color per defense, one line style per setting.
                        style = (*style[:2], _LINESTYLES[i % len(_LINESTYLES)])
                entries.append((defense, params, label, style))
        applied = [
            {name for name in spec.attacks if defense.applies(name)}
            for defense, *_ in entries
        ]
        # One job per model, on the audit's workers: the figures refit and
        # attack every model of the first split, as much work as a seed.
        outputs = Parallel(n_jobs=result.settings.get("n_jobs"))(
            delayed(_first_split_outputs)(
                clone(defense.estimator).set_params(**params),
                spec.X,
                spec.y,
                train,
                test,
                {name: attack for name, (attack, _) in membership.items()},
                inversion,
                victims,
                {
                    name: reconstruct
                    for name, (reconstruct, _) in reconstructions.items()
                },
                every_class,
                names,
            )
            for (defense, params, _, _), names in zip(entries, applied, strict=True)
        )
        models = [
            (*entry, output) for entry, output in zip(entries, outputs, strict=True)
        ]
        curves = {}
        for name, (_, label) in membership.items():
            if name not in spec.attacks:
                continue
            curves[label] = [
                (model_label, style, *output["membership"][name])
                for _, _, model_label, style, output in models
                if name in output["membership"]
            ]
        roc = plot_membership_roc(
            curves,
            title=(
                f"{spec.name}: membership ROC curves (log-log), first split; "
                f"dotted red: {LOW_FPR:.0%} FPR"
            ),
        )
        roc.set_label("Membership ROC curves")
        figures = {
            "reconstructions.png": _reconstructions(result, models, shape, victims),
            "membership_roc.png": roc,
        }
        for name, (_, label) in reconstructions.items():
            if name in spec.attacks:
                prefix = name.removesuffix("_acc")
                figures[f"class_reconstructions_{prefix}.png"] = _class_gallery(
                    result, models, name, label, shape, train, n_classes
                )
        return figures

    return figures


def _first_split_outputs(
    model,
    X,
    y,
    train,
    test,
    membership,
    inversion,
    victims,
    reconstructions,
    every_class,
    applied,
):
    """Fit ``model`` on the first split; what the figures need from it.

    ``{"membership": {attack: scores}, "inversion": images, "classes": {attack:
    images}}``, for the attacks of ``applied``: the membership scores of
    balanced members (training rows) and non-members (held-out rows), the
    inversion attacker's reconstructions of the ``victims`` and each
    class-reconstruction attack's images of every class (all of them, as
    when they were scored: a search draws its noise for the whole set).
    """
    from threadpoolctl import threadpool_limits

    # One thread per fit, as in the audit's jobs: these small fits lose more
    # to waking BLAS and OpenMP threads than they gain.
    with threadpool_limits(limits=1), _expected_warnings_silenced():
        model.fit(X[train], y[train])
        return {
            "membership": {
                name: membership_scores(
                    attack, model, X[train], y[train], X[test], y[test]
                )
                for name, attack in membership.items()
                if name in applied
            },
            "inversion": inversion.infer(model, X[victims]),
            "classes": {
                name: reconstruct(model, every_class)
                for name, reconstruct in reconstructions.items()
                if name in applied
            },
        }


#: Line styles of the settings of a defense with a grid, in the ROC figure.
_LINESTYLES = ("-", "--", "-.", ":", (0, (1, 3)))


def _class_gallery(result, models, name, label, shape, train, n_classes):
    """One class-reconstruction attack's images of the first classes, per model.

    The first row is each class's mean training image (what no attacker
    has); then a row per model the attack applies to, titled with its Acc@1
    over the seeds.
    """
    spec = result.spec
    X, y = spec.X[train], spec.y[train]
    classes = np.unique(y)[:n_classes]
    rows = [("private class mean", np.array([X[y == c].mean(axis=0) for c in classes]))]
    scores = _scores_by_model(result, spec.key(name))
    for defense, params, model_label, _, output in models:
        if name not in output["classes"]:
            continue
        score = scores.get((defense.name, defense.setting_label(params)))
        title = model_label if score is None else f"{model_label}\n(Acc@1 {score:.2f})"
        rows.append((title, output["classes"][name][: len(classes)]))
    return _image_grid(
        rows,
        shape,
        label=f"Class reconstructions: {label}",
        title=(
            f"{spec.name}: {label}, one reconstruction per private class, first "
            "split (Acc@1: mean over the seeds)"
        ),
        column_titles=[f"class {c}" for c in classes],
    )


def _reconstructions(result, models, shape, victims):
    """The attacker's reconstructions of a few training images, per model."""
    spec = result.spec
    rows = [("original", spec.X[victims])]
    errors = _scores_by_model(result, "mean_train_inversion_error")
    for defense, params, label, _, output in models:
        error = errors[defense.name, defense.setting_label(params)]
        rows.append((f"{label}\n({error:.4f})", output["inversion"]))
    return _image_grid(
        rows,
        shape,
        label="Reconstructions per defense",
        title=(
            f"{spec.name}: training images and an attacker's reconstructions "
            "(inversion error)"
        ),
    )


def _scores_by_model(result, key):
    """``{(defense name, setting label): row[key]}`` over the result's rows."""
    return {(row["defense"], row["setting"]): row[key] for row in result.rows}


def _image_grid(rows, shape, *, label, title, column_titles=None):
    """A figure of images in [0, 1]: one row per ``(row title, images)``."""
    from matplotlib.figure import Figure

    n_columns = len(rows[0][1])
    figure = Figure(figsize=(1.2 * n_columns + 1.8, 1.2 * len(rows)))
    figure.set_label(label)
    axes = figure.subplots(len(rows), n_columns, squeeze=False)
    for i, (row_title, images) in enumerate(rows):
        for j, image in enumerate(images):
            ax = axes[i, j]
            ax.imshow(np.clip(image.reshape(shape), 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0 and column_titles is not None:
                ax.set_title(column_titles[j], fontsize=7)
        axes[i, 0].set_ylabel(
            row_title, rotation=0, ha="right", va="center", fontsize=7
        )
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure
