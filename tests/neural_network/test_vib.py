import pickle

import numpy as np
import pytest

pytest.importorskip("skorch")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from skorch.callbacks import EarlyStopping  # noqa: E402
from skorch.dataset import ValidSplit  # noqa: E402

from skmid.metrics import conditional_mutual_information  # noqa: E402
from skmid.neural_network import VIBClassifier  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:1200] / 16, y[:1200], X[1200:] / 16, y[1200:]


@pytest.fixture(scope="module")
def lam_sweep(digits):
    X, y, X_test, y_test = digits
    results = {}
    for lam in [1e-4, 1e-1, 1.0]:
        model = VIBClassifier(lam=lam, max_epochs=25, random_state=0).fit(X, y)
        proba = model.predict_proba(X_test)
        results[lam] = {
            "accuracy": model.score(X_test, y_test),
            "kl": model.kl_divergence(X_test),
            "cmi": conditional_mutual_information(y_test, proba),
            "history_kl": model.history[-1, "train_kl"],
        }
    return results


def test_small_lam_matches_an_mlp(digits, lam_sweep):
    X, y, X_test, y_test = digits
    mlp = MLPClassifier((128,), max_iter=300, random_state=0).fit(X, y)
    print(lam_sweep, mlp.score(X_test, y_test))
    assert lam_sweep[1e-4]["accuracy"] > mlp.score(X_test, y_test) - 0.04


def test_rising_lam_lowers_kl_and_output_cmi(lam_sweep):
    kl = [lam_sweep[lam]["kl"] for lam in (1e-4, 1e-1, 1.0)]
    cmi = [lam_sweep[lam]["cmi"] for lam in (1e-4, 1e-1, 1.0)]
    assert kl[0] > kl[1] > kl[2]
    assert cmi[0] > cmi[2] and cmi[1] > cmi[2]
    assert lam_sweep[1.0]["history_kl"] < lam_sweep[1e-4]["history_kl"]


def test_reproducible_deterministic_and_stochastic_output(digits):
    X, y, X_test, _ = digits
    a = VIBClassifier(max_epochs=3, random_state=1).fit(X, y)
    b = VIBClassifier(max_epochs=3, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    np.testing.assert_array_equal(a.predict_proba(X_test), a.predict_proba(X_test))
    first = a.predict_proba_stochastic(X_test)
    assert not np.array_equal(first, a.predict_proba_stochastic(X_test))
    np.testing.assert_allclose(first.sum(axis=1), 1.0, atol=1e-5)
    import torch

    state = torch.random.get_rng_state()
    VIBClassifier(max_epochs=1, random_state=3).fit(X[:100], y[:100])
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG untouched


def test_seeded_multi_draw_prediction(digits):
    X, y, X_test, _ = digits
    mean_code = VIBClassifier(max_epochs=3, random_state=1).fit(X, y)
    drawn = clone(mean_code).set_params(n_samples_predict=12).fit(X, y)
    # Training never uses n_samples_predict: the same weights, so that the
    # outputs below differ by the prediction path alone.
    for before, after in zip(
        mean_code.module_.parameters(), drawn.module_.parameters(), strict=True
    ):
        np.testing.assert_array_equal(before.detach(), after.detach())
    proba = drawn.predict_proba(X_test)
    # Draws seeded from random_state at every call: the same output each time
    # and from an identical fit, yet not the mean code's output.
    np.testing.assert_array_equal(proba, drawn.predict_proba(X_test))
    refit = clone(drawn).fit(X, y)
    np.testing.assert_array_equal(proba, refit.predict_proba(X_test))
    assert np.abs(proba - mean_code.predict_proba(X_test)).max() > 1e-4
    assert proba.min() >= 0.0
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # An average of 12 draws is not a single draw either.
    single = drawn.predict_proba_stochastic(X_test)
    assert np.abs(proba - single).max() > 1e-4


def test_string_labels_dataframe_pipeline_and_grid_search(digits):
    pd = pytest.importorskip("pandas")
    X, y, X_test, y_test = digits
    names = np.array(list("abcdefghij"))[y]
    frame = pd.DataFrame(X * 16)
    model = make_pipeline(StandardScaler(), VIBClassifier(max_epochs=5, random_state=0))
    model.fit(frame, names)
    assert set(model.predict(pd.DataFrame(X_test * 16))) <= set("abcdefghij")
    np.testing.assert_array_equal(model.classes_, list("abcdefghij"))
    search = GridSearchCV(
        model,
        {"vibclassifier__lam": [1e-3, 10.0]},
        cv=KFold(2, shuffle=True, random_state=0),
    ).fit(frame[:600], names[:600])
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] > scores[1]


def test_skorch_features_keep_working(digits, tmp_path):
    X, y, X_test, _ = digits
    model = VIBClassifier(
        max_epochs=30,
        train_split=ValidSplit(5, stratified=True),
        callbacks=[("stop", EarlyStopping(patience=2))],
        random_state=0,
    ).fit(X, y)
    history = model.history
    assert {"train_kl", "valid_kl", "valid_acc", "train_loss"} <= set(history[-1])
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        restored.predict_proba(X_test), model.predict_proba(X_test)
    )
    warm = VIBClassifier(max_epochs=2, warm_start=True, random_state=0).fit(X, y)
    epochs = len(warm.history)
    warm.fit(X, y)
    assert len(warm.history) == epochs + 2
    assert clone(model).get_params()["lam"] == model.lam
    model.set_params(lam=0.5)
    assert model.lam == 0.5


def test_custom_encoder(digits):
    import torch

    X, y, X_test, _ = digits
    encoder = torch.nn.Sequential(torch.nn.Linear(64, 16))
    model = VIBClassifier(
        module__encoder=encoder, latent_dim=8, max_epochs=2, random_state=0
    )
    assert model.fit(X, y).predict_proba(X_test).shape == (len(X_test), 10)
    assert model.module_.encoder is encoder
    wrong = VIBClassifier(
        module__encoder=torch.nn.Linear(64, 5), latent_dim=8, max_epochs=1
    )
    with pytest.raises(ValueError, match="2 \\* latent_dim"):
        wrong.fit(X, y)


def test_bad_input(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="'lam' parameter"):
        VIBClassifier(lam=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        VIBClassifier(max_epochs=1).fit(np.full((10, 3), np.nan), np.arange(10) % 2)
    model = VIBClassifier(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="expecting 64 features"):
        model.predict(X[:, :10])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        VIBClassifier().predict(X)


@pytest.mark.skipif(
    "not __import__('torch').cuda.is_available()", reason="needs a CUDA device"
)
def test_cuda(digits):
    X, y, X_test, _ = digits
    model = VIBClassifier(max_epochs=2, device="cuda", random_state=0).fit(X, y)
    assert next(model.module_.parameters()).is_cuda
    assert model.predict_proba(X_test).shape == (len(X_test), 10)
