"""MembershipROCDisplay: scikit-learn's Display API on log-log axes."""

import matplotlib

matplotlib.use("Agg")  # only in this test module: never in the library

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

from skmid.attacks import (  # noqa: E402
    LabelOnlyMembershipAttack,
    MAPAttributeInference,
    MembershipROCDisplay,
)
from skmid.metrics import tpr_at_fpr  # noqa: E402


@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    member = np.arange(200) < 100
    scores = rng.normal(size=200) + member
    return member, scores


def test_from_predictions(predictions):
    member, scores = predictions
    ax = Figure().subplots()
    display = MembershipROCDisplay.from_predictions(member, scores, ax=ax, name="A")
    fpr, tpr, _ = roc_curve(member, scores)
    np.testing.assert_array_equal(display.fpr, fpr)
    np.testing.assert_array_equal(display.tpr, tpr)
    assert display.roc_auc == pytest.approx(roc_auc_score(member, scores))
    assert display.tpr_at_1pct_fpr == tpr_at_fpr(member, scores, fpr=0.01)
    assert display.ax_ is ax and display.figure_ is ax.figure
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    np.testing.assert_array_equal(display.line_.get_xdata(), fpr)
    low, high = ax.get_xlim()
    assert high == 1 and low <= 1e-3
    # the chance line is the diagonal
    x, y = display.chance_level_.get_data()
    np.testing.assert_array_equal(x, y)
    label = display.line_.get_label()
    assert label.startswith("A (AUC = ") and "TPR@1%FPR" in label


def test_from_attack_names_the_attack(predictions):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    model = DecisionTreeClassifier(random_state=0).fit(X[:100], y[:100])
    member = np.arange(200) < 100
    attack = LabelOnlyMembershipAttack()
    display = MembershipROCDisplay.from_attack(
        attack, model, X, y, member, ax=Figure().subplots(), color="red"
    )
    assert display.line_.get_label().startswith("LabelOnlyMembershipAttack")
    assert display.line_.get_color() == "red"
    scores = attack.decision_function(model, X, y)
    assert display.roc_auc == pytest.approx(roc_auc_score(member, scores))


def test_plot_without_ax_uses_a_new_pyplot_figure(predictions):
    import matplotlib.pyplot as plt

    member, scores = predictions
    backend = matplotlib.get_backend()
    display = MembershipROCDisplay.from_predictions(member, scores)
    assert display.figure_ in [plt.figure(n) for n in plt.get_fignums()]
    assert matplotlib.get_backend() == backend
    # plot again, on other axes, with another name
    ax = Figure().subplots()
    assert display.plot(ax, name="B").ax_ is ax
    assert display.line_.get_label().startswith("B (")
    plt.close("all")


def test_errors(predictions):
    member, scores = predictions
    with pytest.raises(ValueError, match="both members and non-members"):
        MembershipROCDisplay.from_predictions(np.ones(200, bool), scores)
    with pytest.raises(ValueError, match="scores must be finite"):
        MembershipROCDisplay.from_predictions(member, np.full(200, np.nan))
    with pytest.raises(ValueError, match="membership attack"):
        MembershipROCDisplay.from_attack(
            MAPAttributeInference(sensitive_feature=0), None, None, None, member
        )
