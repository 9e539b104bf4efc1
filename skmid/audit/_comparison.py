"""The papers' comparison of output defenses on images (purifier and noise tables)."""

import math
import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from ..utils._validation import check_finite_output, check_int, check_scalar_choice
from ._specs import AuditInputError

#: Column -> label of the comparison table (the papers' Table II / Table I).
COLUMNS = {
    "train_accuracy": "train acc",
    "test_accuracy": "test acc",
    "l1_distortion": "L1 dist.",
    "l2_distortion": "rel. L2 dist.",
    "inversion_error": "inversion error",
    "shadow_accuracy": "ML-Leaks acc",
    "nsh_accuracy": "NSH acc",
    "label_accuracy": "label-only acc",
}

#: Fractions of every class for the target's training set D1, the defender's
#: reference set D2, the test set D3 and the attacker's auxiliary data.
SPLIT = {"train": 0.4, "reference": 0.2, "test": 0.2, "auxiliary": 0.2}

DATASETS = {
    "digits": {
        "description": (
            "load_digits (8x8 digits, the papers' MNIST at small scale), "
            "LogisticRegression(C=0.05) target"
        ),
        "C": 0.05,
        "step_size": 0.1,
        "purifier": {},
    },
    "faces": {
        "description": (
            "Olivetti faces (64x64, 40 people; the papers' FaceScrub at small "
            "scale), LogisticRegression(C=0.05) target"
        ),
        "C": 0.05,
        "step_size": 0.4,
        # The paper's FaceScrub purifier is one hidden layer of 0.38 K units;
        # the default bottleneck (7 units for 40 people, trained on two rows
        # per person) loses a third of the accuracy.
        "purifier": {"hidden_layer_sizes": (15,), "epochs_factor": 2},
    },
}


def comparison_defenses(dataset="digits", *, max_epochs=50, n_iter=10):
    """The defenses the comparison runs, by name (unfitted; ``None`` = undefended).

    The purifier variants use :math:`\\lambda = 1`, ``alpha=1`` where H is
    on and ``beta=0.1`` where I is on (the paper's CIFAR10 settings); on the
    faces, G has one hidden layer of 15 units and trains twice as long. The
    adversarial noise uses Wen et al.'s step size (0.1 for digits, 0.4 for
    faces), 10 steps and an L2 budget of 2 on the logits; CMI its defaults;
    rounding one decimal.

    Parameters
    ----------
    dataset : {"digits", "faces"}, default="digits"
    max_epochs : int, default=50
        Epochs of the purifiers and of the defender's inversion model.
    n_iter : int, default=10
        Steps of the adversarial noise.

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
    params = dict(DATASETS[dataset]["purifier"])
    epochs = max_epochs * params.pop("epochs_factor", 1)
    purifier = PurifierTransformer(max_epochs=epochs, **params)
    return {
        "none": None,
        "purifier": purifier,
        "purifier I": clone(purifier).set_params(alpha=1.0),
        "purifier II": clone(purifier).set_params(beta=0.1),
        "purifier I&II": clone(purifier).set_params(alpha=1.0, beta=0.1),
        "adversarial noise": AdversarialNoiseDefense(
            InversionModelAttack(max_epochs=2 * max_epochs),
            epsilon=2.0,
            step_size=DATASETS[dataset]["step_size"],
            n_iter=n_iter,
        ),
        "CMI": CMIPostProcessor(),
        "top-label": TopLabelPostProcessor(),
        "rounding": RoundingPostProcessor(decimals=1),
    }


@dataclass
class DefenseComparison:
    """Rows of a comparison (one per defense and seed) and example reconstructions."""

    dataset: str
    description: str
    rows: list
    originals: np.ndarray
    reconstructions: dict
    baseline_error: float
    settings: dict = field(default_factory=dict)

    @property
    def defenses(self):
        return list(dict.fromkeys(row["defense"] for row in self.rows))

    def summary(self):
        """Mean and standard deviation over seeds, per defense and column."""
        summary = []
        for name in self.defenses:
            rows = [row for row in self.rows if row["defense"] == name]
            entry = {"defense": name, "n_seeds": len(rows)}
            for column in COLUMNS:
                values = np.array([row[column] for row in rows], dtype=float)
                entry[f"{column}_mean"] = float(values.mean())
                entry[f"{column}_std"] = float(values.std())
            summary.append(entry)
        return summary

    def table(self):
        """Summary rows as strings, header first (mean ± std over seeds)."""
        rows = [["defense", *COLUMNS.values()]]
        for entry in self.summary():
            rows.append(
                [entry["defense"]]
                + [_mean_std(entry[f"{c}_mean"], entry[f"{c}_std"], c) for c in COLUMNS]
            )
        return rows


def _mean_std(mean, std, column):
    digits = 4 if column == "inversion_error" else 3
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def load_image_dataset(dataset, data_home=None):
    """``(X, y, image_shape)`` with pixels in [0, 1]; faces need ``data_home``."""
    from sklearn.datasets import fetch_olivetti_faces, load_digits

    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y, (8, 8)
    if dataset == "faces":
        try:
            faces = fetch_olivetti_faces(data_home=data_home, download_if_missing=False)
        except OSError:
            raise AuditInputError(
                "the Olivetti faces (olivetti_py3.pkz) were not found; pass "
                "--data-home DIR (data_home=DIR) with the file in DIR"
            ) from None
        return faces.data.astype(np.float64), faces.target, (64, 64)
    raise AuditInputError(f"unknown dataset {dataset!r}; choose digits or faces")


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


def compare_output_defenses(
    dataset="digits",
    *,
    data_home=None,
    seeds=(0, 1, 2),
    defenses=None,
    max_epochs=50,
    attack_epochs=100,
    n_victims=6,
    progress=False,
):
    """Compare output defenses against inversion and membership attacks.

    The small-scale version of the purification paper's Table II and the
    adversarial-noise paper's Table I. Per seed, every class is split into
    the target's training set D1 (40%), the defender's reference set D2
    (20%), the test set D3 (20%) and the attacker's auxiliary data (20%). A
    logistic-regression target is trained on D1, and each defense is fitted
    on D2 through :class:`~skmid.postprocessing.DefendedClassifier`
    (``cv="prefit"``). The attacks then query the defended model:

    - inversion error: an attacker's own
      :class:`~skmid.attacks.InversionModelAttack`, trained on the defended
      outputs of its auxiliary data (never the defender's H or inversion
      model), reconstructing D1 (mean squared error per pixel; higher =
      better defense);
    - membership accuracy on balanced members (D1) and non-members (D3) of
      ML-Leaks (a shadow copy of the defended model trained on the auxiliary
      data), NSH (knowing half of the balanced rows; scored on the others)
      and the label-only attack, all on the same rows;
    - utility: accuracy on D1 and D3 and the mean L1 and L2 distance between
      defended and undefended vectors on D1 ∪ D3 (the L2 distance over the
      vectors' sum, 1, is the purification paper's relative distortion).

    Parameters
    ----------
    dataset : {"digits", "faces"}, default="digits"
        ``load_digits`` or the Olivetti faces (from ``data_home``).
    data_home : str or path, default=None
        Folder holding ``olivetti_py3.pkz`` (faces only).
    seeds : sequence of int, default=(0, 1, 2)
        One split, target and set of attacks per seed.
    defenses : dict, default=None
        Name -> post-processing defense (None = undefended); None runs
        :func:`comparison_defenses`.
    max_epochs : int, default=50
        Epochs of the purifiers (and twice that for the defender's inversion
        model), when ``defenses`` is None.
    attack_epochs : int, default=100
        Epochs of the attacker's inversion model (NSH trains half as many).
    n_victims : int, default=6
        Training images reconstructed for the figure (first seed).
    progress : bool, default=False
        Show a progress bar.

    Returns
    -------
    comparison : DefenseComparison
    """
    check_scalar_choice(dataset, "dataset", set(DATASETS))
    max_epochs = check_int(max_epochs, "max_epochs", 1)
    attack_epochs = check_int(attack_epochs, "attack_epochs", 1)
    n_victims = check_int(n_victims, "n_victims", 1)
    seeds = _check_seeds(seeds)
    if defenses is not None and (not isinstance(defenses, Mapping) or not defenses):
        raise ValueError(
            "defenses must be a non-empty dict of name -> post-processing defense "
            f"(or None); got {defenses!r}."
        )
    X, y, shape = load_image_dataset(dataset, data_home)
    if defenses is None:
        defenses = comparison_defenses(dataset, max_epochs=max_epochs)
    bar = _progress(len(seeds) * len(defenses), dataset, progress)
    rows, reconstructions = [], {}
    victims = None
    with warnings.catch_warnings():
        # The shadow copies see about two images per face (40 classes), so
        # scikit-learn finds the labels regression-like and the CMI defense's
        # shadow reference rows miss classes; both are expected here.
        for message in ("The number of unique classes", "Classes .* have no rows"):
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        for seed in seeds:
            parts = split_per_class(y, list(SPLIT.values()), seed)
            if victims is None:
                train, _, _, aux = parts
                victims = train[:: max(1, len(train) // n_victims)][:n_victims]
                originals = X[victims].reshape(-1, *shape)
                baseline = float(np.mean((X[train] - X[aux].mean(axis=0)) ** 2))
            for name, row, images in _evaluate_seed(
                X,
                y,
                parts,
                dataset,
                defenses,
                seed,
                attack_epochs,
                victims if seed == seeds[0] else None,
            ):
                rows.append(row)
                if images is not None:
                    reconstructions[name] = images.reshape(-1, *shape)
                bar.update()
    bar.close()
    return DefenseComparison(
        dataset=dataset,
        description=DATASETS[dataset]["description"],
        rows=rows,
        originals=originals,
        reconstructions=reconstructions,
        baseline_error=baseline,
        settings={
            "dataset": dataset,
            "seeds": seeds,
            "split": SPLIT,
            "max_epochs": max_epochs,
            "attack_epochs": attack_epochs,
            "defenses": {name: repr(defense) for name, defense in defenses.items()},
        },
    )


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


def _evaluate_seed(X, y, parts, dataset, defenses, seed, attack_epochs, victims):
    """Yield ``(name, row, reconstructions or None)`` per defense, for one seed."""
    from ..attacks import (
        InversionModelAttack,
        KnownMembersMembershipAttack,
        LabelOnlyMembershipAttack,
        ShadowModelMembershipAttack,
    )
    from ..postprocessing import DefendedClassifier

    train, reference, test, aux = parts
    target = LogisticRegression(C=DATASETS[dataset]["C"], max_iter=5000)
    target.fit(X[train], y[train])
    # Balanced members (D1) and non-members (D3); NSH knows half of them.
    n = min(len(train), len(test))
    candidates = np.r_[train[:n], test[:n]]
    member = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    known = np.r_[0 : n // 2, n : n + n // 2]
    rest = np.setdiff1d(np.arange(2 * n), known)
    scored, scored_member = candidates[rest], member[rest]
    inversion = InversionModelAttack(max_epochs=attack_epochs, random_state=seed)
    inversion.fit(X[aux])
    membership = {
        "shadow_accuracy": ShadowModelMembershipAttack(random_state=seed).fit(
            X[aux], y[aux]
        ),
        "nsh_accuracy": KnownMembersMembershipAttack(
            max_epochs=max(1, attack_epochs // 2), random_state=seed
        ).fit(X[candidates[known]], y[candidates[known]], member[known]),
        "label_accuracy": LabelOnlyMembershipAttack().fit(),
    }
    evaluated = np.r_[train, test]
    P_plain = target.predict_proba(X[evaluated])
    for name, defense in defenses.items():
        model = target
        if defense is not None:
            model = DefendedClassifier(
                target, clone(defense), cv="prefit", random_state=seed
            ).fit(X[reference], y[reference])
        difference = model.predict_proba(X[evaluated]) - P_plain
        row = {
            "dataset": dataset,
            "defense": name,
            "seed": seed,
            "train_accuracy": model.score(X[train], y[train]),
            "test_accuracy": model.score(X[test], y[test]),
            "l1_distortion": float(np.abs(difference).sum(axis=1).mean()),
            "l2_distortion": float(np.linalg.norm(difference, axis=1).mean()),
            "inversion_error": inversion.score(model, X[train]),
        }
        for column, attack in membership.items():
            row[column] = attack.score(model, X[scored], y[scored], scored_member)
        for column in COLUMNS:
            check_finite_output(
                row[column], source=f"the {column} of defense {name!r} (seed {seed})"
            )
        images = None if victims is None else inversion.infer(model, X[victims])
        yield name, row, images


def _progress(total, dataset, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"compare {dataset}", disable=not enabled)


def plot_reconstructions(comparison):
    """Originals above the attacker's reconstructions per defense (a Figure)."""
    from ..utils import import_optional_dependency

    matplotlib = import_optional_dependency(
        "matplotlib", extra="plot", feature="reports"
    )
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [("original", comparison.originals)] + list(
        comparison.reconstructions.items()
    )
    n_columns = len(comparison.originals)
    errors = {
        entry["defense"]: entry["inversion_error_mean"]
        for entry in comparison.summary()
    }
    figure, axes = plt.subplots(
        len(rows),
        n_columns,
        figsize=(1.2 * n_columns + 1.6, 1.2 * len(rows)),
        squeeze=False,
    )
    for i, (name, images) in enumerate(rows):
        for j in range(n_columns):
            ax = axes[i, j]
            ax.imshow(np.clip(images[j], 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        label = name if name == "original" else f"{name}\n({errors[name]:.4f})"
        axes[i, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
    figure.suptitle(
        f"{comparison.dataset}: training images and an attacker's reconstructions "
        "(inversion error)",
        fontsize=9,
    )
    figure.tight_layout()
    return figure


def claims(comparison):
    """The papers' claims, checked on this comparison: ``[(claim, holds), ...]``.

    Only the defenses present are checked; a claim needs "none" and the
    defenses it names.
    """
    summary = {entry["defense"]: entry for entry in comparison.summary()}
    if "none" not in summary:
        return []
    none = summary["none"]
    checks = []

    def add(text, names, holds):
        if all(name in summary for name in names):
            checks.append((text, bool(holds(*(summary[n] for n in names)))))

    for name in ("purifier", "purifier I"):
        add(
            f"{name} raises the inversion error above none with <= 3 points of "
            "test accuracy lost",
            [name],
            lambda d: (
                d["inversion_error_mean"] > none["inversion_error_mean"]
                and none["test_accuracy_mean"] - d["test_accuracy_mean"] <= 0.03
            ),
        )
    add(
        "adversarial noise raises the inversion error with no accuracy lost",
        ["adversarial noise"],
        lambda d: (
            d["inversion_error_mean"] > none["inversion_error_mean"]
            and math.isclose(d["test_accuracy_mean"], none["test_accuracy_mean"])
            and math.isclose(d["train_accuracy_mean"], none["train_accuracy_mean"])
        ),
    )
    add(
        "purifier II lowers the ML-Leaks membership accuracy",
        ["purifier II"],
        lambda d: d["shadow_accuracy_mean"] < none["shadow_accuracy_mean"],
    )
    return checks
