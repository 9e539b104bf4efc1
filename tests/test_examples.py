"""Every gallery example (examples/plot_*.py) runs, draws and computes what it says.

Each script runs as the documentation build runs it: top to bottom as
``__main__``, with matplotlib's non-interactive Agg backend, the steak survey
read from the shared data folder (``SKMID_DATA``). Beyond "it ran", each test
checks its figure and the claims its text makes about the numbers.
"""

import math
import re
import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e[+-]?\d+)?")


def test_every_example_is_tested():
    """A new plot_*.py example needs its test here."""
    tested = {
        name.removeprefix("test_") + ".py"
        for name in globals()
        if name.startswith("test_plot_")
    }
    assert {path.name for path in EXAMPLES.glob("plot_*.py")} == tested
    assert (EXAMPLES / "README.rst").is_file()


@pytest.fixture
def run_example(monkeypatch, capsys, shared_data_home):
    """Run ``examples/<name>``; return its namespace, stdout and figures."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("SKMID_DATA", str(shared_data_home))
    plt.close("all")

    def run(name):
        with warnings.catch_warnings():
            # plt.show() on Agg says it cannot show; the gallery ignores it too.
            warnings.filterwarnings("ignore", message=".*non-interactive.*")
            namespace = runpy.run_path(str(EXAMPLES / name), run_name="__main__")
        out = capsys.readouterr().out
        figures = [plt.figure(number) for number in plt.get_fignums()]
        assert figures, f"{name} drew no figure"
        for figure in figures:
            assert figure.axes and all(ax.has_data() for ax in figure.axes[:1])
        numbers = [float(value) for value in NUMBER.findall(out)]
        assert numbers, f"{name} printed no number"
        assert all(math.isfinite(value) for value in numbers)
        return namespace, out, figures

    yield run
    plt.close("all")


@pytest.mark.slow
def test_plot_audit_walkthrough(run_example):
    namespace, out, (figure,) = run_example("plot_audit_walkthrough.py")
    result, budget = namespace["result"], namespace["MAX_LEAKAGE"]
    undefended = result.row_of("undefended")
    recommended = namespace["recommended"]
    advantage = result.spec.key("map_advantage")
    # The undefended model leaks; the recommended MID setting meets the budget
    # and costs utility, and is the most useful one that does.
    assert undefended[advantage] > 5 * budget
    assert result.defense(recommended).name == "MID"
    assert recommended[advantage] <= budget
    utility = "mean_test_utility"  # higher is better (the negated MSE)
    assert recommended[utility] < undefended[utility]
    within = [
        row
        for row in result.rows
        if result.defense(row).name == "MID" and row[advantage] <= budget
    ]
    assert recommended[utility] == max(row[utility] for row in within)
    assert out.index("Verdict") < out.index("Recommended") < out.index("What it costs")
    for name in ("report.html", "report.md", "results.csv", "settings.json"):
        assert name in out
    assert len(figure.axes) == 2


@pytest.mark.slow
def test_plot_cmi_defense_digits(run_example):
    namespace, _, (figure,) = run_example("plot_cmi_defense_digits.py")
    results = namespace["results"]
    accuracy, cmi = results["none"][:2]
    default = results["CMI eps=1 T=0.05 (default)"]
    assert default[0] >= accuracy - 0.01 and default[1] < cmi
    # The label-preserving defenses keep every prediction.
    assert results["Top label only"][0] == accuracy
    assert results["Uniform noise 0.1 +label"][0] == accuracy
    assert results["CMI eps=1 T=0.3 +label"][0] == accuracy
    # Every distortion within the L1 bound of a confidence vector.
    assert all(0 <= row[2] <= row[3] <= 2 for row in results.values())
    assert len(figure.axes) == 3  # two panels and the colour bar


@pytest.mark.slow
def test_plot_membership_roc_digits(run_example):
    namespace, _, (figure,) = run_example("plot_membership_roc_digits.py")
    tpr = namespace["tpr_at_1pct"]
    grown, leaf5 = namespace["targets"]
    lira, rmia, ml_leaks = namespace["attacks"]
    assert all(0 <= value <= 1 for value in tpr.values())
    # The reference-model attacks find members of the memorising forest at
    # several times ML-Leaks' rate at 1 % FPR, and well above chance.
    assert tpr[grown, lira] > 2 * tpr[grown, ml_leaks]
    assert tpr[grown, rmia] > 2 * tpr[grown, ml_leaks]
    assert tpr[grown, lira] > 0.1
    # Larger leaves leak less to the strongest attack.
    assert tpr[leaf5, lira] < tpr[grown, lira]
    for ax in figure.axes:
        assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
        # A curve per attack and one chance line.
        assert len(ax.get_lines()) == len(namespace["attacks"]) + 1


@pytest.mark.slow
def test_plot_mid_logistic_vs_l2(run_example):
    pytest.importorskip("torch")
    namespace, _, (figure,) = run_example("plot_mid_logistic_vs_l2.py")
    mid_accuracy, mid_error, mid_information = map(
        np.asarray, namespace["results"]["MID (lam)"]
    )
    l2_accuracy, l2_error, l2_information = map(
        np.asarray, namespace["results"]["L2 (smaller C)"]
    )
    # lam=0 and C=1 are the same model.
    np.testing.assert_allclose(mid_accuracy[0], l2_accuracy[0], atol=0.01)
    # Rising lam lowers the output information and raises the inversion error.
    assert np.all(np.diff(mid_information) < 0)
    assert mid_error[-1] > mid_error[0] + 2
    # MID at lam=2 against L2 at C=0.01, of about the same accuracy: less
    # information, a worse reconstruction.
    assert abs(mid_accuracy[1] - l2_accuracy[1]) < 0.02
    assert mid_information[1] < l2_information[1] / 3
    assert mid_error[1] > l2_error[1] + 2
    assert len(figure.axes) == 2


@pytest.mark.slow
def test_plot_steak_tree_tradeoff(run_example):
    pytest.importorskip("pandas")
    namespace, out, (figure,) = run_example("plot_steak_tree_tradeoff.py")
    result = namespace["result"]
    assert {result.defense(row).name for row in result.rows} >= {
        "MID",
        "Priority",
        "DP-ID3",
        "CMI",
    }
    # Priority trees split on the sensitive question early: MAP with counts
    # finds it; the MID tree at its largest lam is pruned to the majority
    # class and leaks nothing to it.
    counts = result.spec.key("counts_f1")

    def rows_of(name):
        return [row for row in result.rows if result.defense(row).name == name]

    assert max(row[counts] for row in rows_of("Priority")) > 0.5
    assert rows_of("MID")[-1][counts] < 0.1
    assert "Verdict" in out
    assert len(figure.axes) == 2


@pytest.mark.slow
def test_plot_vib_digits(run_example):
    pytest.importorskip("opacus")
    namespace, _, (figure,) = run_example("plot_vib_digits.py")
    rows = {(r["defense"], r["setting"]): r for r in namespace["rows"]}
    accuracy = {key: r["accuracy"] for key, r in rows.items()}
    cmi = {key: r["cmi"] for key, r in rows.items()}
    # Rising lam lowers the output CMI, at little cost until lam is large.
    assert cmi["VIB", "lam=0.3"] < cmi["VIB", "lam=0"] - 0.03
    assert accuracy["VIB", "lam=0.01"] > accuracy["VIB", "lam=0"] - 0.03
    # DP-SGD at its best accuracy still leaves more output CMI than VIB at
    # a comparable or better accuracy.
    best_dp = max((k for k in rows if k[0] == "DP-SGD"), key=accuracy.get)
    comparable = [k for k in rows if k[0] == "VIB" and accuracy[k] >= accuracy[best_dp]]
    assert min(cmi[k] for k in comparable) < cmi[best_dp]
    # The budget is respected.
    assert all(
        r["epsilon_spent"] <= float(k[1].split("=")[1]) + 1e-6
        for k, r in rows.items()
        if k[0] == "DP-SGD"
    )
    assert len(figure.axes) == 1
