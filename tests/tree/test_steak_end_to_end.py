"""The MID paper's Figures 2(b) and 4(c) on the steak survey, at reduced size."""

import runpy
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "steak_tree_tradeoff.py"


@pytest.mark.slow
def test_attack_success_falls_as_lam_grows(shared_data_home, capsys):
    namespace = runpy.run_path(str(EXAMPLE))
    summary = namespace["run"](repeats=4, data_home=shared_data_home)
    print()
    for (defense, setting), values in summary.items():
        print(defense, setting, {k: round(v, 3) for k, v in values.items()})
    mid = [(float(s.split("=")[1]), v) for (d, s), v in summary.items() if d == "MID"]
    lams = [lam for lam, _ in mid]
    for attack in ["naive_f1", "counts_f1", "naive_auc", "counts_auc"]:
        values = [v[attack] for _, v in mid]
        assert spearmanr(lams, values).statistic < -0.8, attack
        assert values[-1] < values[0] - 0.15, attack
    # Utility falls too, to the majority-class level for the largest lam.
    assert mid[0][1]["model_f1"] > mid[-1][1]["model_f1"] + 0.03
    # No attack beats chance on a single-leaf tree.
    assert mid[-1][1]["counts_auc"] == pytest.approx(0.5, abs=0.01)
    # Priority: the sensitive question near the root leaks more than deep down.
    priority = {s: v for (d, s), v in summary.items() if d == "Priority"}
    assert priority["depth=0"]["naive_f1"] > priority["depth=4"]["naive_f1"]
    # DP-ID3: a small budget destroys the attack and most of the utility.
    dp = {s: v for (d, s), v in summary.items() if d == "DP-ID3"}
    assert dp["eps=0.1"]["counts_f1"] == 0.0
    assert dp["eps=0.1"]["model_f1"] < dp["eps=100"]["model_f1"]
    assert np.isfinite([v for row in summary.values() for v in row.values()]).all()


@pytest.mark.slow
def test_example_writes_the_figure(shared_data_home, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    namespace = runpy.run_path(str(EXAMPLE))
    figure = tmp_path / "steak.png"
    argv = [
        "--repeats",
        "1",
        "--data-home",
        str(shared_data_home),
        "--out",
        str(figure),
    ]
    assert namespace["main"](argv) == 0
    assert figure.stat().st_size > 10_000
    out = capsys.readouterr().out
    assert out.count("MID ") == 9 and out.count("Priority ") == 5
