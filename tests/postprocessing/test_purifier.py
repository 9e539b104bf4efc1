"""PurifierTransformer: architecture, adversaries, determinism, label modifier."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pytest.importorskip("torch")

from skmid.postprocessing import DefendedClassifier, PurifierTransformer  # noqa: E402
from skmid.postprocessing._purifier import purifier_layer_sizes  # noqa: E402


@pytest.fixture(scope="module")
def digits_outputs():
    """A soft target's outputs on reference rows and on other rows, with inputs."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    target = LogisticRegression(C=0.05, max_iter=2000).fit(X[:700], y[:700])
    reference, other = slice(700, 1000), slice(1000, 1300)
    return (
        target.predict_proba(X[reference]),
        y[reference],
        X[reference],
        target.predict_proba(X[other]),
    )


def linear_sizes(purifier):
    from torch import nn

    layers = [m for m in purifier.purifier_.modules() if isinstance(m, nn.Linear)]
    return [layers[0].in_features] + [layer.out_features for layer in layers]


@pytest.mark.parametrize(
    "n_classes, expected",
    [
        (10, (7, 4, 7)),  # Appendix B, CIFAR10, exactly
        (100, (47, 22, 10, 22, 47)),  # Appendix B's Purchase100: 50, 20, 10
        (2, (2, 2, 2)),
        (40, (23, 13, 7, 13, 23)),
    ],
)
def test_default_layer_sizes(n_classes, expected):
    assert purifier_layer_sizes(n_classes) == expected


def test_network_follows_the_layer_sizes(digits_outputs):
    P, y, _, _ = digits_outputs
    purifier = PurifierTransformer(max_epochs=1, random_state=0).fit(P)
    assert purifier.hidden_layer_sizes_ == (7, 4, 7)
    assert linear_sizes(purifier) == [10, 7, 4, 7, 10]
    custom = PurifierTransformer(hidden_layer_sizes=(6, 3, 6), max_epochs=1).fit(P)
    assert linear_sizes(custom) == [10, 6, 3, 6, 10]


@pytest.mark.parametrize(
    "params",
    [
        {"hidden_layer_sizes": (7, 0, 7)},
        {"hidden_layer_sizes": ()},
        {"hidden_layer_sizes": (2.5,)},
        {"inversion_hidden_layer_sizes": (-1,)},
    ],
)
def test_bad_layer_sizes_are_rejected(digits_outputs, params):
    P, _, _, _ = digits_outputs
    name = next(iter(params))
    with pytest.raises(ValueError, match=f"{name} must be a non-empty sequence"):
        PurifierTransformer(max_epochs=1, **params).fit(P)


def test_alpha_needs_the_reference_inputs(digits_outputs):
    P, y, X, _ = digits_outputs
    with pytest.raises(ValueError, match="needs the inputs behind P"):
        PurifierTransformer(alpha=1.0).fit(P, y)
    with pytest.raises(ValueError, match="rows but inputs has"):
        PurifierTransformer(alpha=1.0).fit(P, y, inputs=X[:-1])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        PurifierTransformer(alpha=1.0).fit(P, y, inputs=bad)
    # Without the adversary, inputs are optional (and ignored).
    PurifierTransformer(max_epochs=1).fit(P, y)


@pytest.mark.parametrize("params", [{"lam": -1.0}, {"alpha": -0.1}, {"beta": -1}])
def test_negative_weights_are_rejected(digits_outputs, params):
    P, y, X, _ = digits_outputs
    with pytest.raises(ValueError, match="must be a float in the range"):
        PurifierTransformer(**params).fit(P, y, inputs=X)


def test_history_records_each_network(digits_outputs):
    P, y, X, _ = digits_outputs
    single = PurifierTransformer(max_epochs=8, random_state=0).fit(P, y)
    assert len(single.history_) == 8
    assert np.isnan(single.history_[-1]["inversion"])
    assert np.isnan(single.history_[-1]["discriminator"])
    assert single.history_[-1]["reconstruction"] < single.history_[0]["reconstruction"]

    both = PurifierTransformer(alpha=1.0, beta=0.5, max_epochs=4, random_state=0)
    both.fit(P, y, inputs=X)
    last = both.history_[-1]
    assert np.isfinite(last["inversion"]) and np.isfinite(last["discriminator"])


@pytest.mark.parametrize("lam, alpha", [(1.0, 0.0), (2.0, 3.0), (0.0, 0.5)])
def test_objective_is_eq_2_minus_alpha_times_the_inversion_error(
    digits_outputs, lam, alpha
):
    """A known answer: with G and H frozen (learning rates far below float32's
    resolution), H's error recorded before G's step is the one G's step sees, so
    each epoch's objective is exactly L(G) - alpha * R(H) of eqs. (2) and (5)."""
    P, y, X, _ = digits_outputs
    frozen = PurifierTransformer(
        lam=lam,
        alpha=alpha,
        max_epochs=2,
        lr=1e-300,
        lr_inversion=1e-300,
        random_state=0,
    ).fit(P, y, inputs=X)
    for epoch in frozen.history_:
        inversion = epoch["inversion"] if alpha > 0 else 0.0
        expected = (
            epoch["reconstruction"] + lam * epoch["cross_entropy"] - alpha * inversion
        )
        np.testing.assert_allclose(epoch["purifier"], expected, rtol=1e-6)
    assert frozen.history_[0]["reconstruction"] > 0  # not trivially zero


def test_transform_is_deterministic_and_row_independent(digits_outputs):
    P, y, X, Q = digits_outputs
    purifier = PurifierTransformer(alpha=1.0, max_epochs=5, random_state=0)
    out = purifier.fit(P, y, inputs=X).transform(Q)
    np.testing.assert_array_equal(purifier.transform(Q), out)
    one_by_one = np.vstack([purifier.transform(Q[i : i + 1]) for i in range(20)])
    np.testing.assert_allclose(one_by_one, out[:20], rtol=1e-12, atol=1e-15)
    assert out.dtype == np.float64 and np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)


def test_random_state_reproduces_the_fit(digits_outputs):
    P, y, X, Q = digits_outputs
    make = PurifierTransformer(alpha=1.0, beta=1.0, max_epochs=3, random_state=4)
    first = clone(make).fit(P, y, inputs=X).transform(Q)
    np.testing.assert_array_equal(clone(make).fit(P, y, inputs=X).transform(Q), first)
    other = clone(make).set_params(random_state=5).fit(P, y, inputs=X).transform(Q)
    assert not np.allclose(other, first)


def test_cross_entropy_weight_trades_distortion_for_sharpness(digits_outputs):
    P, _, _, Q = digits_outputs
    distortion = {}
    for lam in (0.0, 5.0):
        out = PurifierTransformer(lam=lam, random_state=0).fit(P).transform(Q)
        distortion[lam] = np.abs(out - Q).sum(axis=1).mean()
    # lam=0 only reconstructs; a large lam sharpens every vector to its label.
    assert distortion[0.0] < 0.5 * distortion[5.0]


def test_preserve_label_keeps_every_argmax(digits_outputs):
    P, y, _, Q = digits_outputs
    plain = PurifierTransformer(lam=0.0, max_epochs=5, random_state=0).fit(P)
    moved = plain.transform(Q).argmax(axis=1) != Q.argmax(axis=1)
    assert moved.any()  # the modifier has work to do
    kept = clone(plain).set_params(preserve_label=True).fit(P).transform(Q)
    np.testing.assert_array_equal(kept.argmax(axis=1), Q.argmax(axis=1))
    np.testing.assert_allclose(kept.sum(axis=1), 1.0, atol=1e-12)


def test_grid_search_over_alpha_in_a_pipeline():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]
    model = make_pipeline(
        StandardScaler(),
        DefendedClassifier(
            LogisticRegression(max_iter=300),
            PurifierTransformer(max_epochs=30, inversion_hidden_layer_sizes=(32,)),
            random_state=0,
        ),
    )
    search = GridSearchCV(
        model, {"defendedclassifier__defense__alpha": [0.0, 1.0]}, cv=2, refit=False
    ).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_score_ > 0.5
    # Both branches, whichever setting wins: the parameter reaches the defense,
    # and only alpha > 0 trains the inversion adversary on the routed inputs.
    for alpha, trained in ((0.0, False), (1.0, True)):
        fitted = clone(model).set_params(defendedclassifier__defense__alpha=alpha)
        defense = fitted.fit(X, y)[-1].defense_
        assert defense.alpha == alpha
        assert np.isfinite(defense.history_[-1]["inversion"]) == trained


def test_defended_classifier_gives_the_reference_inputs():
    X, y = load_digits(return_X_y=True)
    model = DefendedClassifier(
        LogisticRegression(max_iter=500),
        PurifierTransformer(alpha=1.0, max_epochs=2, random_state=0),
        random_state=0,
    ).fit(X[:500], y[:500])
    # H was trained: its loss is recorded, which needs the held-out inputs.
    assert np.isfinite(model.defense_.history_[0]["inversion"])


def test_cuda_without_cuda_is_a_clear_error(digits_outputs):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    P, _, _, _ = digits_outputs
    with pytest.raises(ValueError, match="CUDA is not available"):
        PurifierTransformer(device="cuda", max_epochs=1).fit(P)


@pytest.mark.skipif(
    not pytest.importorskip("torch").cuda.is_available(), reason="needs CUDA"
)
def test_cuda_matches_cpu_closely(digits_outputs):
    P, y, X, Q = digits_outputs
    make = PurifierTransformer(alpha=1.0, max_epochs=3, random_state=0)
    cpu = clone(make).fit(P, y, inputs=X)
    gpu = clone(make).set_params(device="cuda").fit(P, y, inputs=X)
    # Same initial weights and batch order; only float32 rounding differs.
    for cpu_epoch, gpu_epoch in zip(cpu.history_, gpu.history_, strict=True):
        for key in ("purifier", "reconstruction", "cross_entropy", "inversion"):
            np.testing.assert_allclose(gpu_epoch[key], cpu_epoch[key], rtol=1e-3)
    out = gpu.transform(Q)
    assert next(gpu.purifier_.parameters()).device.type == "cuda"
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(out, cpu.transform(Q), atol=1e-3)


@pytest.mark.parametrize(
    "params, named",
    [
        ({"lr": 1e20}, r"lr \(got 1e\+20\)"),
        ({"lr": 1e37, "max_epochs": 1, "batch_size": 150}, r"lr \(got 1e\+37\)"),
        ({"lam": 1e300}, r"lam=1e\+300"),
        ({"alpha": 1.0, "lr_inversion": 1e30}, r"lr_inversion \(got 1e\+30\)"),
    ],
)
def test_diverged_training_is_a_named_error(digits_outputs, params, named):
    P, y, X, _ = digits_outputs
    purifier = PurifierTransformer(**{"max_epochs": 3, "random_state": 0, **params})
    with pytest.raises(ValueError, match=f"produced NaN or infinite values.*{named}"):
        purifier.fit(P, y, inputs=X)
    # A failed fit leaves nothing that looks fitted but for n_features_in_.
    assert not hasattr(purifier, "purifier_") and not hasattr(purifier, "history_")


def test_one_reference_row_is_a_named_error(digits_outputs):
    P, _, _, _ = digits_outputs
    with pytest.raises(ValueError, match=r"P has 1 row\(s\)"):
        PurifierTransformer(max_epochs=1).fit(P[:1])


def test_huge_inputs_are_scaled_without_overflow(digits_outputs):
    P, y, X, Q = digits_outputs
    purifier = PurifierTransformer(alpha=1.0, max_epochs=2, random_state=0)
    out = purifier.fit(P, y, inputs=X * 1e308).transform(Q)
    assert np.isfinite(purifier.history_[-1]["inversion"])
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    # Min-max scaling makes the units irrelevant: the same fit as on X.
    same = PurifierTransformer(alpha=1.0, max_epochs=2, random_state=0)
    np.testing.assert_allclose(same.fit(P, y, inputs=X).transform(Q), out, atol=1e-6)


def test_weights_spoilt_by_the_last_step_are_a_named_error(digits_outputs, monkeypatch):
    import torch

    P, y, _, _ = digits_outputs
    step = torch.optim.Adam.step

    def spoiling_step(optimizer, *args, **kwargs):
        result = step(optimizer, *args, **kwargs)
        with torch.no_grad():
            optimizer.param_groups[0]["params"][0].fill_(float("inf"))
        return result

    monkeypatch.setattr(torch.optim.Adam, "step", spoiling_step)
    # One epoch of one batch: the only loss is computed before the only step.
    purifier = PurifierTransformer(max_epochs=1, batch_size=len(P), random_state=0)
    with pytest.raises(ValueError, match=r"trained purifier produced NaN.*lr \(got"):
        purifier.fit(P, y)
