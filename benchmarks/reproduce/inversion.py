"""Reproduce the papers' class-reconstruction (model-inversion) claims here.

Sections (``--only`` picks some):

- ``defenses``: the Stealthy Shield Defense's Tables 1 and 2 at small scale,
  and MI-Face (Fredrikson et al. 2015) against the output defenses the papers
  compare. Per seed, the private rows of :func:`skmid.datasets.load_inversion_split`
  (digits 0-4, or the 20 private Olivetti people) are split 60% / 20% / 20%
  (stratified): a ``LogisticRegression`` target trains on the first part, each
  output defense (CMI at T = 0.05 and 0.3, CMI at T = 0.3 with the label kept,
  top label, rounding to one decimal, uniform noise of 0.1) is fitted
  (``cv="prefit"``) on the second, and the third gives the held-out accuracy
  and the share of predicted labels the defense changes. The attacker owns the
  public identities only: a VAE prior trained on them (one per seed) is
  searched by the black-box evolution strategy (Mirror/RLB family, 5,000
  ``predict_proba`` queries per class) and by BREP-MI (5,000 ``predict``
  queries per class), and the black-box MI-Face starts from the public mean
  image (10,000 queries per class). The evaluation classifier (whitened PCA +
  RBF SVM, :func:`skmid.metrics.fit_inversion_evaluator`) is trained on all
  private rows and scores the reconstructions: Acc@1 (and Acc@5 on faces) and
  the KNN distance in its feature space.
- ``gmi``: the MID paper's Figure 4a-b at small scale: GMI (white box, the
  same VAE prior) against networks on the private digits trained with MID
  (:class:`skmid.neural_network.MIDClassifier`, an MLP(128)) and with DP-SGD
  (:class:`skmid.neural_network.DPSGDClassifier`, the same MLP), and the plain
  network, 30 epochs; held-out accuracy and the attack's Acc@1 and KNN
  distance, so that the two defenses can be compared at matched accuracy.

Run from the repository root:
``python benchmarks/reproduce/inversion.py [--quick] [--dataset digits faces]
[--only SECTION ...]``.
"""

import time
import warnings

import numpy as np
from _common import Timer, mean_std, parser, print_table, seeds_of, wanted
from sklearn.model_selection import train_test_split

SECTIONS = ("defenses", "gmi")
ATTACKS = ("MI-Face black-box", "Mirror black-box", "BREP-MI label-only")


def _split(data, seed):
    """60% target / 20% defense / 20% held-out rows of the private identities."""
    X, y = data.X_private, data.y_private
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    X_train, X_valid, y_train, y_valid = train_test_split(
        X_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=seed
    )
    return X_train, y_train, X_valid, y_valid, X_test, y_test


def _defenses(seed):
    from skmid.postprocessing import (
        CMIPostProcessor,
        NoisePostProcessor,
        RoundingPostProcessor,
        TopLabelPostProcessor,
    )

    return {
        "none": None,
        "CMI T=0.05": CMIPostProcessor(
            epsilon=1.0, temperature=0.05, random_state=seed
        ),
        "CMI T=0.3": CMIPostProcessor(epsilon=1.0, temperature=0.3, random_state=seed),
        "CMI T=0.3 label kept": CMIPostProcessor(
            epsilon=1.0, temperature=0.3, preserve_label=True, random_state=seed
        ),
        "top label": TopLabelPostProcessor(),
        "rounding 0.1": RoundingPostProcessor(decimals=1),
        "noise 0.1": NoisePostProcessor(scale=0.1, random_state=seed),
    }


def _scores(data, evaluator, images, faces):
    from skmid.metrics import inversion_attack_accuracy, inversion_knn_distance

    X, y, classes = data.X_private, data.y_private, data.private_classes
    row = {
        "acc1": inversion_attack_accuracy(
            X, y, images, classes, evaluator=evaluator, prefit=True
        ),
        "knn": inversion_knn_distance(
            X, y, images, classes, evaluator=evaluator, prefit=True
        ),
    }
    if faces:
        row["acc5"] = inversion_attack_accuracy(
            X, y, images, classes, evaluator=evaluator, prefit=True, top_k=5
        )
    return row


def defenses(args, seeds, name):
    from sklearn.linear_model import LogisticRegression

    from skmid.attacks import GenerativeInversionAttack, MIFaceAttack
    from skmid.datasets import load_inversion_split
    from skmid.metrics import fit_inversion_evaluator
    from skmid.postprocessing import DefendedClassifier

    data = load_inversion_split(name, data_home=args.data_home)
    faces = name == "faces"
    classes = data.private_classes
    evaluator = fit_inversion_evaluator(data.X_private, data.y_private)
    budget = 200 if args.quick else 5000
    attack_names = [a for a in ATTACKS if not args.attacks or a in args.attacks]
    wanted_defenses = args.defenses
    results = {}
    for seed in seeds:
        X_train, y_train, X_valid, y_valid, X_test, y_test = _split(data, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            target = LogisticRegression(max_iter=3000).fit(X_train, y_train)
        prior = GenerativeInversionAttack(
            max_epochs=5 if args.quick else 60, random_state=seed
        ).fit(data.X_public)
        plain = target.predict(X_test)
        # What a label-only attacker queries: images of the prior, not private rows.
        queries = prior.sample(500, random_state=seed)
        plain_queries = target.predict(queries)
        for label, defense in _defenses(seed).items():
            if wanted_defenses and label not in wanted_defenses:
                continue
            if defense is None:
                model = target
            else:
                model = DefendedClassifier(target, defense, cv="prefit")
                model.fit(X_valid, y_valid)
            predicted = model.predict(X_test)
            row = {
                "accuracy": float(np.mean(predicted == y_test)),
                "changed": float(np.mean(predicted != plain)),
                "changed_queries": float(
                    np.mean(model.predict(queries) != plain_queries)
                ),
            }
            attacks = {
                "MI-Face black-box": MIFaceAttack(
                    access="black-box",
                    init="public_mean",
                    loss="log_confidence",
                    max_queries=2 * budget,
                    random_state=seed,
                ).fit(data.X_public),
                "Mirror black-box": prior.set_params(
                    access="black-box", max_queries=budget
                ),
            }
            for attack_name in list(attacks):
                if args.attacks and attack_name not in args.attacks:
                    del attacks[attack_name]
            for attack_name, attack in attacks.items():
                start = time.perf_counter()
                images = attack.reconstruct(model, classes)
                row[attack_name] = _scores(data, evaluator, images, faces)
                row[attack_name]["s"] = time.perf_counter() - start
            if not args.attacks or "BREP-MI label-only" in args.attacks:
                prior.set_params(access="label-only", max_queries=budget)
                start = time.perf_counter()
                images = prior.reconstruct(model, classes)
                row["BREP-MI label-only"] = _scores(data, evaluator, images, faces)
                row["BREP-MI label-only"]["s"] = time.perf_counter() - start
            results.setdefault(label, []).append(row)
            cells = " ".join(
                f"{key} {row[key]['acc1']:.2f}/{row[key]['knn']:.2f}"
                for key in ATTACKS
                if key in row
            )
            print(
                f"  seed {seed} {label}: acc {row['accuracy']:.3f} changed "
                f"{row['changed']:.3f}/{row['changed_queries']:.3f} {cells}",
                flush=True,
            )
    header = ["defense", "held-out acc.", "labels changed", "on prior samples"]
    metrics = [("acc1", "Acc@1")] + ([("acc5", "Acc@5")] if faces else [])
    metrics += [("knn", "KNN")]
    for attack_name in attack_names:
        header += [f"{attack_name} {m}" for _, m in metrics]
    lines = []
    for label, rows in results.items():
        line = [
            label,
            mean_std([r["accuracy"] for r in rows]),
            mean_std([r["changed"] for r in rows]),
            mean_std([r["changed_queries"] for r in rows]),
        ]
        for attack_name in attack_names:
            for key, _ in metrics:
                line.append(
                    mean_std(
                        [r[attack_name][key] for r in rows if attack_name in r],
                        digits=2,
                    )
                )
        lines.append(line)
    print_table(
        f"defenses ({name}, {len(classes)} private classes, chance Acc@1 "
        f"{1 / len(classes):.2f}); mean ± std over seeds {list(seeds)}",
        header,
        lines,
    )
    return results


def gmi(args, seeds):
    from sklearn.base import clone

    from skmid.attacks import GenerativeInversionAttack
    from skmid.datasets import load_inversion_split
    from skmid.metrics import fit_inversion_evaluator
    from skmid.neural_network import DPSGDClassifier, MIDClassifier

    data = load_inversion_split("digits", data_home=args.data_home)
    classes = data.private_classes
    evaluator = fit_inversion_evaluator(data.X_private, data.y_private)
    epochs = 3 if args.quick else 30
    models = [("plain network (MID λ = 0)", MIDClassifier(lam=0.0, max_epochs=epochs))]
    lams = [1.0] if args.quick else [0.1, 1.0, 3.0]
    models += [
        (f"MID λ = {lam:g}", MIDClassifier(lam=lam, max_epochs=epochs)) for lam in lams
    ]
    epsilons = [8.0] if args.quick else [1.0, 8.0]
    models += [
        (f"DP-SGD ε = {eps:g}", DPSGDClassifier(epsilon=eps, max_epochs=epochs))
        for eps in epsilons
    ]
    results = {}
    for seed in seeds:
        X_train, y_train, X_valid, y_valid, X_test, y_test = _split(data, seed)
        X_train = np.vstack([X_train, X_valid])
        y_train = np.concatenate([y_train, y_valid])
        attack = GenerativeInversionAttack(
            max_epochs=5 if args.quick else 60,
            max_iter=20 if args.quick else 200,
            random_state=seed,
        ).fit(data.X_public)
        for label, model in models:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = clone(model).set_params(random_state=seed)
                fitted.fit(X_train.astype(np.float32), y_train)
            accuracy = float(
                np.mean(fitted.predict(X_test.astype(np.float32)) == y_test)
            )
            images = attack.reconstruct(fitted, classes)
            row = _scores(data, evaluator, images, faces=False)
            row["accuracy"] = accuracy
            results.setdefault(label, []).append(row)
        print(f"  seed {seed}: done", flush=True)
    print_table(
        f"gmi (digits, white-box GMI with a VAE prior of digits 5-9, {epochs} "
        f"epochs); mean ± std over seeds {list(seeds)}",
        ["model", "held-out acc.", "GMI Acc@1", "GMI KNN"],
        [
            [
                label,
                mean_std([r["accuracy"] for r in rows]),
                mean_std([r["acc1"] for r in rows], digits=2),
                mean_std([r["knn"] for r in rows], digits=2),
            ]
            for label, rows in results.items()
        ],
    )
    return results


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--dataset",
        nargs="+",
        choices=("digits", "faces"),
        default=["digits", "faces"],
        help="the data sets of the defenses section (default both)",
    )
    p.add_argument(
        "--defenses",
        nargs="+",
        default=None,
        help="only these defenses in the defenses section (default all)",
    )
    p.add_argument(
        "--attacks",
        nargs="+",
        choices=ATTACKS,
        default=None,
        help="only these attacks in the defenses section (default all)",
    )
    args = p.parse_args(argv)
    seeds = seeds_of(args)
    if wanted(args, "defenses"):
        for name in args.dataset:
            with Timer(f"defenses {name}"):
                defenses(args, seeds, name)
    if wanted(args, "gmi"):
        with Timer("gmi"):
            gmi(args, seeds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
