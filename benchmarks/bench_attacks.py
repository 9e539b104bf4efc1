"""Time to train and apply each attack on digits and on the Olivetti faces.

Run ``python benchmarks/bench_attacks.py [--data-home DIR] [--device cuda]
[--evidence] [--dpsgd]``.
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
    args = parser.parse_args(argv)
    show_versions()
    import torch

    torch.ones(1).sum()  # load torch before timing
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


def report(label, t_fit, t_apply, t_label):
    print(
        f"  {label:<30} train {t_fit:7.2f} s ({t_fit / t_label:8.0f} x)   "
        f"apply {t_apply * 1e3:8.1f} ms ({t_apply / t_label:6.1f} x)"
    )


if __name__ == "__main__":
    main()
