"""Time to train and apply each attack on digits and on the Olivetti faces.

Run ``python benchmarks/bench_attacks.py [--data-home DIR] [--device cuda]
[--evidence] [--dpsgd] [--adaptive]``.
For each dataset: the inversion-model attack (training the inversion network
against a logistic regression, then reconstructing the training images), the
shadow-model (ML-Leaks), known-members (NSH) and label-only membership
attacks (training, then scoring), and the class-reconstruction attacks
(MI-Face, GMI, Mirror, BREP-MI) against a logistic regression trained on half
of the identities (training: the VAE prior on the other half; applying:
reconstructing one class, with the attack accuracy Acc@1). The label-only
membership attack, a single
``predict`` call, is the reference each time is divided by. CPU by default;
``--device cuda`` runs the torch parts on a GPU when one is present.

The timing table includes LiRA (16 shadows; online its shadows train on the
scored rows, so training and applying are one call) and RMIA (4 reference
models). ``--evidence`` runs the membership protocol of the user guide
(docs/user_guide/membership_evidence.rst): on digits, targets trained on a
random half of 1,200 rows, the other half and the remaining rows the
attacker's population; every membership attack scored on the 600 members and
600 non-members by AUC and TPR at 1 % and 0.1 % FPR (with the ratio of TPR to
FPR: 1 is chance), against a logistic regression (C=1), an overfit random
forest and, with ``--dpsgd``, a DPSGDClassifier at epsilon=1 (slow: 16
shadows of a DP-SGD network).

The class-reconstruction rows include MI-Face black-box through
``QueryAveraging`` (10 repeats per query: ten times the queries), a re-score
of the same model with four more metrics (the reconstructions are cached:
only the evaluator works) and the ConvNetModule target (training time and
accuracy). ``--adaptive`` runs the adaptive-attack evidence of the user guide
(docs/user_guide/inversion_attacks.rst) over 3 seeds: averaging repeated
queries against CMIPostProcessor with and without an effective hash, and the
inversion model trained on clean or on noised outputs against
AdversarialNoiseDefense.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import fetch_olivetti_faces, load_digits
from sklearn.linear_model import LogisticRegression

from skmid import show_versions
from skmid.attacks import (
    GenerativeInversionAttack,
    InversionModelAttack,
    KnownMembersMembershipAttack,
    LabelOnlyMembershipAttack,
    LiRAMembershipAttack,
    MIFaceAttack,
    QueryAveraging,
    RMIAMembershipAttack,
    ShadowModelMembershipAttack,
)
from skmid.datasets import split_private_public
from skmid.metrics import tpr_at_fpr


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def datasets(data_home):
    X, y = load_digits(return_X_y=True)
    yield "digits (1797 x 64)", X / 16.0, y
    try:
        faces = fetch_olivetti_faces(data_home=data_home, download_if_missing=False)
    except OSError:
        print("(Olivetti faces not found: pass --data-home)")
        return
    yield "faces (400 x 4096)", faces.data, faces.target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--evidence", action="store_true")
    parser.add_argument("--dpsgd", action="store_true")
    parser.add_argument("--adaptive", action="store_true")
    args = parser.parse_args(argv)
    show_versions()
    import torch

    torch.ones(1).sum()  # load torch before timing
    if args.adaptive:
        adaptive_evidence(args.device)
        return
    if args.evidence or args.dpsgd:
        membership_evidence(args.device, dpsgd=args.dpsgd)
        return
    for name, X, y in datasets(args.data_home):
        bench_dataset(name, X, y, args.device)


def membership_evidence(device, *, dpsgd=False, seed=0):
    """Every membership attack on digits, by AUC and TPR at low FPR."""
    from sklearn.base import clone
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score

    X_digits, y = load_digits(return_X_y=True)
    X_digits = X_digits / 16.0
    order = np.random.default_rng(seed).permutation(len(y))
    train, out, rest = order[:600], order[600:1200], order[1200:]
    population = np.r_[out, rest]
    rows = np.r_[train, out]
    member = np.r_[np.ones(600, bool), np.zeros(600, bool)]
    targets = {
        "LogisticRegression(C=1)": LogisticRegression(C=1, max_iter=2000),
        "RandomForestClassifier(100)": RandomForestClassifier(100, random_state=0),
    }
    if dpsgd:
        from skmid.neural_network import DPSGDClassifier

        targets["DPSGDClassifier(epsilon=1)"] = DPSGDClassifier(
            epsilon=1.0, random_state=0, device=device
        )
    print("\nmembership on digits: 600 members, 600 non-members, seed", seed)
    for name, estimator in targets.items():
        # float32 for the torch network, float64 for scikit-learn's models
        X = X_digits.astype(np.float32) if "DPSGD" in name else X_digits
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_target, target = timed(
                lambda e=estimator, X=X: clone(e).fit(X[train], y[train])
            )
        print(
            f"\n{name}: train accuracy {target.score(X[train], y[train]):.3f}, "
            f"test {target.score(X[out], y[out]):.3f}; one fit {t_target:.2f} s "
            "(the reference of the cost column)"
        )
        attacks = {
            "label-only": LabelOnlyMembershipAttack(),
            "ML-Leaks (shadow)": ShadowModelMembershipAttack(random_state=0),
            "LiRA online, 16": LiRAMembershipAttack(16, random_state=0),
            "LiRA online, 16, fixed var.": LiRAMembershipAttack(
                16, fix_variance=True, random_state=0
            ),
            "LiRA offline, 16": LiRAMembershipAttack(
                16, mode="offline", random_state=0
            ),
            "RMIA offline, 4": RMIAMembershipAttack(4, random_state=0),
        }
        for label, attack in attacks.items():
            if label != "label-only":
                attack.fit(X[population], y[population])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds, scores = timed(
                    lambda a=attack, t=target, X=X: a.decision_function(
                        t, X[rows], y[rows]
                    )
                )
            tpr1 = tpr_at_fpr(member, scores, fpr=0.01)
            tpr01 = tpr_at_fpr(member, scores, fpr=0.001)
            print(
                f"  {label:<28} AUC {roc_auc_score(member, scores):.3f}   "
                f"TPR@1%FPR {tpr1:.3f} ({tpr1 / 0.01:5.1f} x)   "
                f"TPR@0.1%FPR {tpr01:.3f} ({tpr01 / 0.001:5.1f} x)   "
                f"cost {seconds:6.1f} s ({seconds / t_target:5.1f} fits)"
            )


def bench_dataset(name, X, y, device):
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, aux, test = np.array_split(order, [len(y) // 2, 3 * len(y) // 4])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        target = LogisticRegression(max_iter=2000).fit(X[train], y[train])
    n = min(len(train), len(test))
    rows = np.r_[train[:n], test[:n]]
    member = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    label_only = LabelOnlyMembershipAttack()  # needs no fit
    t_label, _ = timed(lambda: label_only.score(target, X[rows], y[rows], member))
    print(f"\n{name}, {device}; reference: label-only attack {t_label * 1e3:.1f} ms")

    inversion = InversionModelAttack(max_epochs=50, random_state=0, device=device)
    inversion.fit(X[aux])
    t_fit, _ = timed(lambda: inversion.inversion_network(target))
    t_apply, _ = timed(lambda: inversion.score(target, X[train]))
    report("inversion (50 epochs)", t_fit, t_apply, t_label)

    membership = {
        "shadow / ML-Leaks": ShadowModelMembershipAttack(random_state=0).fit(
            X[aux], y[aux]
        ),
        "known members / NSH (50 ep.)": KnownMembersMembershipAttack(
            max_epochs=50, random_state=0, device=device
        ).fit(X[rows], y[rows], member),
        "LiRA offline (16 shadows)": LiRAMembershipAttack(
            16, mode="offline", random_state=0
        ).fit(X[aux], y[aux]),
        "RMIA (4 reference models)": RMIAMembershipAttack(random_state=0).fit(
            X[aux], y[aux]
        ),
    }
    probe = np.r_[0, 1, len(rows) - 2, len(rows) - 1]
    for label, attack in membership.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            # the first call trains the attack against the target
            t_fit, _ = timed(
                lambda a=attack: a.score(
                    target, X[rows[probe]], y[rows[probe]], member[probe]
                )
            )
        t_apply, _ = timed(lambda a=attack: a.score(target, X[rows], y[rows], member))
        report(label, t_fit, t_apply, t_label)
    # Online, LiRA's shadows train on the scored rows: one call does both.
    lira = LiRAMembershipAttack(16, random_state=0).fit(X[aux], y[aux])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t_both, _ = timed(lambda: lira.score(target, X[rows], y[rows], member))
    report("LiRA online (16 shadows)", t_both, 0.0, t_label)
    bench_class_reconstruction(X, y, device, t_label)


def bench_class_reconstruction(X, y, device, t_label):
    """The class-reconstruction attacks: train = fit (the VAE prior), apply =
    reconstructing one class (the mean over the private classes)."""
    private, public = split_private_public(y)
    classes = np.unique(y[private])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        target = LogisticRegression(max_iter=2000).fit(X[private], y[private])
    attacks = {
        "MI-Face white-box (300 steps)": MIFaceAttack(),
        "MI-Face black-box (10k queries)": MIFaceAttack(
            access="black-box", random_state=0
        ),
        "GMI white-box (VAE prior)": GenerativeInversionAttack(
            random_state=0, device=device
        ),
        "Mirror black-box (5k queries)": GenerativeInversionAttack(
            "black-box", random_state=0, device=device
        ),
        "BREP-MI label-only (5k queries)": GenerativeInversionAttack(
            "label-only", random_state=0, device=device
        ),
    }
    for label, attack in attacks.items():
        t_fit, _ = timed(lambda a=attack: a.fit(X[public]))
        t_apply, _ = timed(lambda a=attack: a.reconstruct(target, classes))
        accuracy = attack.score(target, X[private], y[private])
        report(f"{label}", t_fit, t_apply / len(classes), t_label)
        print(f"  {'':<30} per class; Acc@1 {accuracy:.2f} over {len(classes)} classes")

    averaged = QueryAveraging(target, n_repeats=10, noise_scale=0.0)
    attack = MIFaceAttack(access="black-box", max_queries=1000, random_state=0)
    attack.fit(X[public])
    t_apply, _ = timed(lambda: attack.reconstruct(averaged, classes))
    report("MI-Face black-box x10 averaged", 0.0, t_apply / len(classes), t_label)
    print(f"  {'':<30} {averaged.n_queries_} rows sent for {attack.n_queries_} queries")
    attack = MIFaceAttack(access="black-box", random_state=0).fit(X[public])
    t_first, _ = timed(lambda: attack.score(target, X[private], y[private]))
    metrics = ["top5_accuracy", "knn_distance", "knn_pixel_distance", "mse"]
    t_rest, _ = timed(
        lambda: [
            attack.score(target, X[private], y[private], metric=m) for m in metrics
        ]
    )
    print(
        f"  {'MI-Face black-box, 4 re-scores':<30} first score {t_first:.2f} s, "
        f"4 more metrics {t_rest:.2f} s (cached reconstructions; "
        f"{t_rest / t_first:.2f} x the first)"
    )
    bench_cnn_target(X, y, private, device, t_label)


def bench_cnn_target(X, y, private, device, t_label):
    """ConvNetModule trained by MIDClassifier (lam=0) on 70 % of the private rows."""
    from sklearn.model_selection import train_test_split

    from skmid.neural_network import ConvNetModule, MIDClassifier

    side = int(np.sqrt(X.shape[1]))
    train, test = train_test_split(
        private, test_size=0.3, random_state=0, stratify=y[private]
    )
    classes = np.unique(y[private])
    clf = MIDClassifier(
        module=ConvNetModule,
        module__image_shape=(side, side),
        module__n_classes=len(classes),
        lam=0.0,
        max_epochs=30,
        lr=0.003,
        batch_size=32,
        random_state=0,
        device=device,
    )
    t_fit, _ = timed(lambda: clf.fit(X[train], y[train]))
    t_apply, accuracy = timed(lambda: clf.score(X[test], y[test]))
    report("ConvNetModule target (30 ep.)", t_fit, t_apply, t_label)
    print(f"  {'':<30} test accuracy {accuracy:.2f} ({len(test)} private rows)")


def adaptive_evidence(device, seeds=(0, 1, 2)):
    """The adaptive attacks of the user guide, over 3 seeds."""
    from skmid.datasets import load_inversion_split
    from skmid.postprocessing import (
        AdversarialNoiseDefense,
        CMIPostProcessor,
        DefendedClassifier,
    )

    data = load_inversion_split("digits")
    X, y = data.X_private, data.y_private
    print("\naveraging 30 repeated queries against CMIPostProcessor (digits, private)")
    print("mean L1 distance to the undefended output: single query -> averaged")
    for temperature in (0.05, None):
        for resolution in (1e18, 1e4, 1e2):
            for noise in (0.0, 1e-5, 1e-3):
                singles, averages = [], []
                for seed in seeds:
                    model = DefendedClassifier(
                        LogisticRegression(max_iter=1000),
                        CMIPostProcessor(
                            temperature=temperature, hash_resolution=resolution
                        ),
                        random_state=seed,
                    ).fit(X, y)
                    clean = model.estimator_.predict_proba(X)
                    singles.append(np.abs(model.predict_proba(X) - clean).sum(1).mean())
                    averaged = QueryAveraging(
                        model, n_repeats=30, noise_scale=noise, random_state=seed
                    ).predict_proba(X)
                    averages.append(np.abs(averaged - clean).sum(1).mean())
                gain = 1 - np.array(averages) / np.array(singles)
                print(
                    f"  T={temperature!s:<5} hash_resolution={resolution:<6.0e} "
                    f"noise={noise:<6g} {np.mean(singles):.4f} -> "
                    f"{np.mean(averages):.4f} (gain {gain.mean():+.1%} "
                    f"+- {gain.std():.1%})"
                )

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    print("\ninversion-model MSE against AdversarialNoiseDefense (digits, 800 rows)")
    for epsilon in (5.0, 10.0):
        errors = {"naive": [], "adaptive": [], "no defense": []}
        for seed in seeds:
            defense = AdversarialNoiseDefense(
                InversionModelAttack(max_epochs=30, device=device),
                epsilon=epsilon,
                step_size=0.4,
                random_state=seed,
            )
            model = DefendedClassifier(
                LogisticRegression(max_iter=1000), defense, random_state=seed
            ).fit(X[:800], y[:800])
            aux, victims = X[800:1400], X[1400:]
            for label, train_on in (("naive", "undefended"), ("adaptive", "queried")):
                attack = InversionModelAttack(
                    max_epochs=30, random_state=seed, train_on=train_on, device=device
                ).fit(aux)
                errors[label].append(attack.score(model, victims))
            attack = InversionModelAttack(
                max_epochs=30, random_state=seed, device=device
            ).fit(aux)
            errors["no defense"].append(attack.score(model.estimator_, victims))
        print(
            f"  epsilon={epsilon:g}: "
            + ", ".join(
                f"{k} {np.mean(v):.4f} +- {np.std(v):.4f}" for k, v in errors.items()
            )
        )


def report(label, t_fit, t_apply, t_label):
    print(
        f"  {label:<30} train {t_fit:7.2f} s ({t_fit / t_label:8.0f} x)   "
        f"apply {t_apply * 1e3:8.1f} ms ({t_apply / t_label:6.1f} x)"
    )


if __name__ == "__main__":
    main()
