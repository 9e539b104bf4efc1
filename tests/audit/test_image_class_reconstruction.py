"""The class-reconstruction attacks in ``skmid audit digits|faces``.

The target is trained on the private identities; MI-Face, GMI, the
Mirror-style search and BREP-MI own the public ones and attack every output
defense (the white-box ones only where there are weights to read).
"""

import numpy as np
import pytest

pytest.importorskip("torch")

from skmid._cli import main  # noqa: E402
from skmid.attacks import GenerativeInversionAttack, MIFaceAttack  # noqa: E402
from skmid.audit import (  # noqa: E402
    AuditInputError,
    image_audit,
    run_audit,
    write_report,
)
from skmid.datasets import load_inversion_split  # noqa: E402
from skmid.postprocessing import (  # noqa: E402
    CMIPostProcessor,
    TopLabelPostProcessor,
)

PREFIXES = ("miface_wb", "miface_bb", "gmi", "mirror", "brep", "averaging")
WHITE_BOX = ("miface_wb", "gmi")
#: Averaging removes random draws: run on CMI and on the undefended model.
RANDOMISED = ("none", "CMI", "CMI T=0.3")
NAMES = [f"{prefix}_{suffix}" for prefix in PREFIXES for suffix in ("acc", "knn")]


def _without_nsh(spec):
    """The spec without NSH, which trains a network per fold, metric and model."""
    names = [f"nsh_{metric}" for metric in ("accuracy", "auc", "tpr")]
    for name in names:
        del spec.attacks[name]
    for defense in spec.defenses:
        if defense.attacks is not None:
            defense.attacks = tuple(a for a in defense.attacks if a not in names)
    return spec


def _small_spec(**kwargs):
    return image_audit(
        "digits",
        seeds=kwargs.pop("seeds", [0]),
        defenses=kwargs.pop(
            "defenses",
            {"none": None, "top-label": TopLabelPostProcessor()},
        ),
        attack_epochs=3,
        n_shadow=2,
        mid_lams=kwargs.pop("mid_lams", []),
        **kwargs,
    )


def test_the_target_sees_only_private_identities_and_the_attacks_only_public():
    spec = _small_spec(mid_lams=[0.0])
    data = load_inversion_split("digits")
    assert set(np.unique(spec.y)) == {0, 1, 2, 3, 4}
    private = set(map(bytes, data.X_private))
    assert set(map(bytes, spec.X)) <= private
    assert NAMES == [name for name in spec.attacks if name in NAMES]
    for name in NAMES:
        attack_spec = spec.attacks[name]
        assert attack_spec.rows == "train"
        attack = attack_spec.scorer.attack
        # Fitted on the public digits 5-9: the probe rows are public images.
        public = set(map(bytes, data.X_public))
        assert set(map(bytes, attack._probe)) <= public
        assert not set(map(bytes, attack._probe)) & private
    scorers = {name: spec.attacks[name].scorer for name in NAMES}
    assert scorers["miface_wb_acc"].metric == "accuracy"
    assert scorers["miface_wb_knn"].metric == "knn_distance"
    assert scorers["miface_bb_acc"].attack is scorers["miface_bb_knn"].attack
    assert isinstance(scorers["miface_bb_acc"].attack, MIFaceAttack)
    assert scorers["miface_bb_acc"].attack.access == "black-box"
    assert scorers["miface_bb_acc"].attack.max_queries == 10_000
    gmi, mirror, brep = (scorers[f"{p}_acc"].attack for p in ("gmi", "mirror", "brep"))
    assert all(
        isinstance(attack, GenerativeInversionAttack) for attack in (gmi, mirror, brep)
    )
    assert (gmi.access, mirror.access, brep.access) == (
        "white-box",
        "black-box",
        "label-only",
    )
    # One VAE prior, trained once, for the three searches.
    assert mirror.prior is gmi.decoder_ and brep.prior is gmi.decoder_
    assert spec.attacks["gmi_acc"].label == "GMI (white box, VAE prior) Acc@1"
    averaging = scorers["averaging_acc"].attack
    assert isinstance(averaging, GenerativeInversionAttack)
    assert averaging is not mirror and averaging.access == "black-box"
    assert averaging.prior is gmi.decoder_ and mirror.max_queries == 5_000
    # Both metrics query through one averager: one reconstruction per model.
    assert scorers["averaging_acc"].averager is scorers["averaging_knn"].averager


def test_each_attack_applies_where_it_means_something():
    spec = _small_spec(
        defenses={
            "none": None,
            "CMI": CMIPostProcessor(),
            "top-label": TopLabelPostProcessor(),
        },
        mid_lams=[0.0],
    )
    by_name = {defense.name: defense for defense in spec.defenses}
    for prefix in PREFIXES:
        name = f"{prefix}_acc"
        for defense in by_name.values():
            if prefix in WHITE_BOX:
                # Reads the weights behind an output defense: only where
                # there are weights and no defense between.
                expected = defense.name in ("none", "MID network")
            elif prefix == "averaging":
                expected = defense.name in RANDOMISED
            else:
                expected = True
            assert defense.applies(name) is expected, (prefix, defense.name)
    # The other attacks still apply everywhere.
    assert by_name["top-label"].applies("inversion_error")
    assert by_name["trivial (majority class)"].applies("lira_auc")


def test_the_protocol_of_every_identity_has_no_class_reconstruction():
    spec = _small_spec(class_reconstruction=False)
    assert len(np.unique(spec.y)) == 10 and len(spec.X) == 1438
    assert not set(NAMES) & set(spec.attacks)
    assert all(defense.attacks is None for defense in spec.defenses)
    assert "every identity" in spec.description
    for word in ("private", "public", "class-reconstruction"):
        assert word not in spec.description
    default = _small_spec().description
    assert "trained on the private digits 0-4; the public 5-9 are" in default


def test_randomised_defenses_declare_it():
    from sklearn.pipeline import make_pipeline

    from skmid.audit._images import _draws_randomness
    from skmid.postprocessing import NoisePostProcessor, RoundingPostProcessor

    assert _draws_randomness(CMIPostProcessor())
    assert _draws_randomness(NoisePostProcessor())
    assert _draws_randomness(make_pipeline(RoundingPostProcessor(), CMIPostProcessor()))
    assert not _draws_randomness(TopLabelPostProcessor())
    assert not _draws_randomness(make_pipeline(RoundingPostProcessor()))


def test_both_cmi_temperatures_are_audited():
    spec = image_audit("digits", attack_epochs=3, n_shadow=2, mid_lams=[])
    cmi = {d.name: d.estimator.defense for d in spec.defenses if "CMI" in d.name}
    assert {name: defense.temperature for name, defense in cmi.items()} == {
        "CMI": 0.05,
        "CMI T=0.3": 0.3,
    }


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"class_reconstruction": "yes"}, ValueError, "class_reconstruction"),
        ({"device": "gpu7"}, AuditInputError, "device must name a torch device"),
    ],
)
def test_bad_settings_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        _small_spec(**kwargs)


def test_cuda_is_refused_clearly_where_there_is_none():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(AuditInputError, match="CUDA is not available here"):
        _small_spec(device="cuda")


def test_the_device_reaches_every_network():
    # "cpu:0" is a device other than the default "cpu" that every machine has.
    spec = _small_spec(
        device="cpu:0",
        defenses={"none": None, "purifier": None},
        mid_lams=[0.0],
    )
    from skmid.audit import comparison_defenses

    defenses = comparison_defenses("digits", max_epochs=2, device="cpu:0")
    assert defenses["purifier"].device == "cpu:0"
    assert defenses["adversarial noise"].inversion_attack.device == "cpu:0"
    mid = next(d for d in spec.defenses if d.name == "MID network")
    assert mid.estimator.device == "cpu:0"
    for name in ("inversion_error", "nsh_auc", *NAMES):
        assert spec.attacks[name].scorer.attack.device == "cpu:0"


@pytest.fixture(scope="module")
def small_audit():
    spec = _small_spec(
        seeds=[0, 1],
        defenses={
            "none": None,
            "CMI T=0.3": CMIPostProcessor(temperature=0.3),
            "top-label": TopLabelPostProcessor(),
        },
    )
    return run_audit(_without_nsh(spec), n_jobs=2)


def test_attack_accuracy_known_answers(small_audit):
    rows = {row["defense"]: row for row in small_audit.rows}
    none = rows["none"]
    chance = 1 / 5
    # A logistic regression's weights draw every private digit.
    assert none["mean_train_miface_wb_acc"] == 1.0
    assert none["mean_train_miface_bb_acc"] > 2 * chance
    # Top label and the trivial model give the black-box ascent no gradient:
    # it stays at the public mean image for every class, which scores chance
    # exactly (the metric is not fooled by an image without class content).
    for name in ("top-label", "trivial (majority class)"):
        assert rows[name]["mean_train_miface_bb_acc"] == pytest.approx(chance)
        assert rows[name]["mean_train_miface_wb_acc"] is None
        assert rows[name]["mean_train_gmi_knn"] is None
    for row in small_audit.rows:
        for prefix in ("miface_bb", "mirror", "brep"):
            assert 0 <= row[f"mean_train_{prefix}_acc"] <= 1
            assert row[f"mean_train_{prefix}_knn"] > 0
        measured = row["mean_train_averaging_acc"] is not None
        assert measured is (row["defense"] in RANDOMISED)
    # The label-only attack reads only labels, which top label keeps.
    assert rows["top-label"]["mean_train_brep_acc"] == none["mean_train_brep_acc"]


def test_report_has_a_gallery_per_attack_and_the_strongest_columns(
    small_audit, tmp_path
):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    paths = write_report(small_audit, tmp_path, max_leakage=0.02)
    markdown = paths["report.md"].read_text()
    assert "strongest class-reconstruction attack: Acc@1 (training rows)" in markdown
    assert "strongest class-reconstruction attack: KNN distance" in markdown
    heights = {}
    for prefix in PREFIXES:
        image = paths[f"class_reconstructions_{prefix}.png"]
        assert f"class_reconstructions_{prefix}.png" in markdown
        heights[prefix] = imread(image).shape[0]
    # Class means, then a row per model the attack applies to: 4 models for
    # the black-box attacks, 2 (none, CMI) for the averaging one, 1 (the
    # undefended one) for the white-box ones.
    assert heights["miface_bb"] == heights["brep"] > heights["averaging"]
    assert heights["averaging"] > heights["gmi"] == heights["miface_wb"]


def test_command_line_device_flag(monkeypatch, capsys, tmp_path):
    import skmid.audit

    seen = {}

    def spy(dataset, **kwargs):
        seen.update(kwargs, dataset=dataset)
        raise AuditInputError("stopped by the test")

    monkeypatch.setattr(skmid.audit, "image_audit", spy)
    out = ["--out", str(tmp_path / "report"), "--quiet"]
    assert main(["audit", "digits", "--device", "cpu:0", *out]) == 2
    assert seen["device"] == "cpu:0"
    assert main(["audit", "faces", "--repeats", "3", *out]) == 2
    assert list(seen["seeds"]) == [0, 1, 2] and seen["device"] == "cpu"
    assert "stopped by the test" in capsys.readouterr().err
    for argv in (
        ["warfarin", "--device", "cuda"],
        ["--list", "steak", "--device", "x"],
    ):
        assert main(["audit", *argv]) == 2
        error = capsys.readouterr().err
        assert "--device does not apply to the" in error and error.count("\n") == 1


def test_averaging_reconstructs_once_per_model_and_is_seeded():
    spec = _small_spec(
        defenses={"none": None, "CMI T=0.3": CMIPostProcessor(temperature=0.3)}
    )
    model = spec.defenses[1].estimator.fit(spec.X, spec.y)
    accuracy = spec.attacks["averaging_acc"].scorer
    knn = spec.attacks["averaging_knn"].scorer
    first = accuracy(model, spec.X, spec.y)
    wrapper = accuracy.averager.wrap(model)
    sent = wrapper.n_queries_
    assert sent > 10 * 5  # R = 10 queries per label query
    assert knn(model, spec.X, spec.y) > 0
    # The second metric only re-sent the cache's probe rows (R times each).
    assert wrapper.n_queries_ - sent <= 10 * 8
    assert accuracy(model, spec.X, spec.y) == first
    # A fresh audit (same seed) reconstructs the same images.
    again = _small_spec(
        defenses={"none": None, "CMI T=0.3": CMIPostProcessor(temperature=0.3)}
    )
    assert again.attacks["averaging_acc"].scorer(model, spec.X, spec.y) == first


def test_white_box_attacks_read_the_mid_network():
    spec = _without_nsh(
        image_audit(
            "digits",
            seeds=[0],
            defenses={"none": None},
            max_epochs=3,
            attack_epochs=2,
            n_shadow=2,
            mid_lams=[0.0],
        )
    )
    spec.attacks = {
        name: attack
        for name, attack in spec.attacks.items()
        if name.startswith(("miface_wb", "gmi"))
        # The budget, plotted and Pareto attacks of the spec.
        or name in ("inversion_error", "shadow_accuracy", "mirror_acc", "brep_acc")
    }
    for defense in spec.defenses:
        if defense.attacks is not None:
            defense.attacks = tuple(a for a in defense.attacks if a in spec.attacks)
    rows = {row["defense"]: row for row in run_audit(spec).rows}
    mid = rows["MID network"]
    for name in ("miface_wb_acc", "gmi_acc"):
        assert 0 <= mid[f"mean_train_{name}"] <= 1
    assert rows["none"]["mean_train_miface_wb_acc"] == 1.0
    assert rows["trivial (majority class)"]["mean_train_gmi_acc"] is None


@pytest.mark.skipif(
    not __import__("torch").cuda.is_available(), reason="needs a CUDA device"
)
def test_a_small_audit_runs_on_cuda():
    spec = _without_nsh(_small_spec(device="cuda", mid_lams=[0.0]))
    rows = {row["defense"]: row for row in run_audit(spec).rows}
    assert rows["none"]["mean_train_miface_wb_acc"] == 1.0
    assert 0 <= rows["MID network"]["mean_train_gmi_acc"] <= 1
