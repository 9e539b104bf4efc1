"""LiRA, RMIA and the MID network in the image audits (``skmid audit digits|faces``).

The specifications are checked without fitting; one small digits audit (two
shadows, one reference model, a few epochs) runs end to end with its figures.
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

from sklearn.linear_model import LogisticRegression  # noqa: E402

from skmid.attacks import (  # noqa: E402
    LiRAMembershipAttack,
    RMIAMembershipAttack,
    ShadowModelMembershipAttack,
    TrainingRowsRecorder,
    make_attack_scorer,
)
from skmid.audit import image_audit, run_audit  # noqa: E402
from skmid.audit._images import (  # noqa: E402
    EXPECTED_WARNINGS,
    _expected_warnings_silenced,
    _QuietAttackScorer,
)
from skmid.neural_network import MIDClassifier  # noqa: E402
from skmid.postprocessing import (  # noqa: E402
    DefendedClassifier,
    TopLabelPostProcessor,
)

NEW_ATTACKS = ("lira_auc", "lira_tpr", "rmia_auc", "rmia_tpr")


def test_specs_list_the_likelihood_ratio_attacks_and_mid():
    spec = image_audit("digits", max_epochs=7, attack_epochs=3)
    assert set(NEW_ATTACKS) <= set(spec.attacks)
    # Read at low FPR and by AUC only: no untuned yes/no threshold.
    assert "lira_accuracy" not in spec.attacks and "rmia_accuracy" not in spec.attacks
    lira = spec.attacks["lira_tpr"].scorer
    rmia = spec.attacks["rmia_auc"].scorer
    assert isinstance(lira.attack, LiRAMembershipAttack)
    assert lira.metric == "tpr_at_1pct_fpr" and spec.attacks["lira_auc"].scorer.metric
    params = lira.attack.get_params()
    assert (params["n_shadow"], params["mode"], params["fix_variance"]) == (
        8,
        "offline",
        True,
    )
    assert isinstance(rmia.attack, RMIAMembershipAttack)
    # As many reference models as shadows, and the same seed: one training.
    assert rmia.attack.n_reference == 8
    assert rmia.attack.random_state == lira.attack.random_state
    # Offline: the attacker's data (20% of every class) never holds a scored row.
    population = lira.attack.X_population_
    # (Of the private digits 0-4: the public ones are the class-reconstruction
    # attacks' only.)
    assert len(population) == 901 - len(spec.X) == 180
    assert not (set(map(bytes, population)) & set(map(bytes, spec.X)))
    # Both AUC scorers share one attack object: its cached shadows serve both.
    assert spec.attacks["lira_auc"].scorer.attack is lira.attack
    assert spec.attacks["lira_auc"].label == "LiRA membership AUC"
    mid = next(d for d in spec.defenses if d.name == "MID network")
    assert isinstance(mid.estimator, MIDClassifier)
    assert mid.estimator.max_epochs == 7 and mid.param_grid == {
        "lam": [0.0, 3.0, 30.0, 100.0, 300.0]
    }
    assert mid.applies("inversion_error") and mid.applies("lira_tpr")
    assert [d.name for d in spec.defenses][-2:] == [
        "MID network",
        "trivial (majority class)",
    ]
    small = image_audit(
        "digits", defenses={"none": None}, n_shadow=3, n_reference=2, mid_lams=[]
    )
    assert small.attacks["lira_auc"].scorer.attack.n_shadow == 3
    assert small.attacks["rmia_auc"].scorer.attack.n_reference == 2
    assert "MID network" not in [d.name for d in small.defenses]


def test_faces_spec_has_the_attacks_but_no_mid(shared_data_home):
    spec = image_audit("faces", data_home=shared_data_home, attack_epochs=3)
    assert set(NEW_ATTACKS) <= set(spec.attacks)
    assert "MID network" not in [d.name for d in spec.defenses]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_shadow": 1}, "n_shadow"),
        ({"n_reference": 0}, "n_reference"),
        ({"mid_lams": [-1.0]}, "mid_lams"),
        ({"mid_lams": "1"}, "mid_lams"),
        ({"mid_lams": [float("nan")]}, "mid_lams"),
    ],
)
def test_bad_settings_name_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        image_audit("digits", **kwargs)


def _expected_warning():
    warnings.warn(
        "The least populated class in y has only 1 members, which is less than "
        "n_splits=2.",
        UserWarning,
        stacklevel=1,
    )


def test_only_the_expected_warnings_are_silenced_and_only_inside():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _expected_warnings_silenced():
            _expected_warning()
            warnings.warn("something else", UserWarning, stacklevel=1)
        _expected_warning()  # outside the block: shown again
    messages = [str(w.message) for w in caught]
    assert messages[0] == "something else"
    assert len(messages) == 2 and messages[1].startswith("The least populated")
    assert {category for category, _ in EXPECTED_WARNINGS} == {
        UserWarning,
        RuntimeWarning,
    }


def test_shadow_copies_on_two_rows_per_class_are_quiet():
    # The faces' situation at small scale: 2 rows per class for the attacker,
    # whose shadow copy of a defended model (out-of-fold, 2 folds) trains on
    # one of them per class.
    rng = np.random.default_rng(0)
    n_classes, dim = 12, 6
    centers = rng.normal(scale=3, size=(n_classes, dim))
    y = np.repeat(np.arange(n_classes), 8)
    X = centers[y] + rng.normal(size=(len(y), dim))
    aux = np.r_[
        [8 * c for c in range(n_classes)], [8 * c + 1 for c in range(n_classes)]
    ]
    rest = np.setdiff1d(np.arange(len(y)), aux)
    members, others = rest[::2], rest[1::2]
    defended = DefendedClassifier(
        LogisticRegression(max_iter=1000),
        TopLabelPostProcessor(),
        cv=2,
        random_state=0,
    )
    recorder = TrainingRowsRecorder(defended).fit(X[members], y[members])
    attack = ShadowModelMembershipAttack(random_state=0).fit(X[aux], y[aux])

    def caught(scorer):
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            value = scorer(recorder, X[others], y[others])
        assert np.isfinite(value)
        return [str(w.message) for w in records]

    loud = caught(make_attack_scorer(attack, "roc_auc"))
    assert any("least populated class" in message for message in loud)
    assert caught(_QuietAttackScorer(attack, "roc_auc")) == []


@pytest.fixture(scope="module")
def small_audit():
    spec = image_audit(
        "digits",
        seeds=[0],
        defenses={"none": None, "top-label": TopLabelPostProcessor()},
        max_epochs=4,
        attack_epochs=4,
        n_victims=2,
        n_shadow=2,  # RMIA's reference models are these shadows
        mid_lams=[0.0, 30.0],
        class_reconstruction=False,  # tested in test_image_class_reconstruction
    )
    # NSH trains a network per fold, metric and model: covered elsewhere.
    for metric in ("accuracy", "auc", "tpr"):
        del spec.attacks[f"nsh_{metric}"]
    return run_audit(spec)


@pytest.mark.slow
def test_small_audit_rows_and_roc_curves(small_audit):
    pytest.importorskip("matplotlib")
    rows = {(row["defense"], row["setting"]): row for row in small_audit.rows}
    assert list(rows) == [
        ("none", "-"),
        ("top-label", "-"),
        ("MID network", "lam=0"),
        ("MID network", "lam=30"),
        ("trivial (majority class)", "-"),
    ]
    for row in rows.values():
        for name in NEW_ATTACKS:
            value = row[f"mean_test_{name}"]
            assert value is not None and 0 <= value <= 1, (row["defense"], name)
            assert row[f"mean_train_{name}"] is None  # membership: by design
        # The MID rows are attacked like every other: inversion included.
        assert row["mean_train_inversion_error"] > 0
    plain, penalised = rows["MID network", "lam=0"], rows["MID network", "lam=30"]
    # A strong penalty flattens the outputs: the attacker's reconstructions
    # get worse (closer to the mean image).
    assert penalised["mean_train_inversion_error"] > plain["mean_train_inversion_error"]
    # The strongest-attack columns weigh LiRA and RMIA with the others.
    from skmid.audit._report import _strongest_groups

    groups = dict(_strongest_groups(small_audit.spec))
    auc = groups["strongest membership attack: AUC (training vs held-out rows)"]
    assert {"lira_auc", "rmia_auc"} <= set(auc)

    figures = small_audit.spec.figures(small_audit)
    roc = figures["membership_roc.png"]
    panels = {ax.get_title(): ax for ax in roc.axes if ax.get_visible()}
    assert set(panels) == {
        f"{name} membership (first split)"
        for name in ("ML-Leaks", "label-only", "LiRA", "RMIA")
    }
    for title in ("LiRA membership (first split)", "RMIA membership (first split)"):
        labels = [text.get_text() for text in panels[title].get_legend().get_texts()]
        for model in (
            "none",
            "top-label",
            "MID network (lam=0)",
            "MID network (lam=30)",
            "trivial (majority class)",
        ):
            assert any(label.startswith(model) for label in labels), (title, model)
    # The two settings of MID: one color, two line styles.
    lines = {
        line.get_label().split(" (AUC")[0]: line for line in panels[title].get_lines()
    }
    first, second = lines["MID network (lam=0)"], lines["MID network (lam=30)"]
    assert first.get_color() == second.get_color()
    assert first.get_linestyle() != second.get_linestyle()
    # Original + 5 models in the reconstructions figure.
    reconstructions = figures["reconstructions.png"]
    assert len(reconstructions.axes) == 6 * 2
