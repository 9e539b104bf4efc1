"""The MID paper's Figures 2(b) and 4(c) on the steak survey, at reduced size.

The steak audit of :mod:`skmid.audit` (``skmid audit steak``), which
``examples/plot_steak_tree_tradeoff.py`` runs and plots: model utility on the
held-out rows, the MAP attacks on the training rows, as in the paper.
"""

import numpy as np
import pytest
from scipy.stats import spearmanr

ATTACKS = ["naive_f1", "counts_f1", "naive_auc", "counts_auc"]


@pytest.fixture(scope="module")
def steak_rows(shared_data_home):
    from skmid.audit import run_audit, steak_audit

    result = run_audit(steak_audit(data_home=shared_data_home), repeats=4)
    return {(row["defense"], row["setting"]): row for row in result.rows}


def _attack(row, attack):
    return row[f"mean_train_{attack}"]


@pytest.mark.slow
def test_attack_success_falls_as_lam_grows(steak_rows):
    # ID3 is the MID tree at lam = 0.
    mid = [(0.0, steak_rows["ID3", "-"])] + [
        (row["params"]["lam"], row)
        for (defense, _), row in steak_rows.items()
        if defense == "MID"
    ]
    lams = [lam for lam, _ in mid]
    assert lams == sorted(lams) and len(lams) >= 5
    for attack in ATTACKS:
        values = [_attack(row, attack) for _, row in mid]
        assert spearmanr(lams, values).statistic < -0.8, attack
        assert values[-1] < values[0] - 0.15, attack
    # Utility falls too, to the majority-class level for the largest lam.
    assert mid[0][1]["mean_test_utility"] > mid[-1][1]["mean_test_utility"] + 0.03
    # No attack beats chance on a single-leaf tree.
    assert _attack(mid[-1][1], "counts_auc") == pytest.approx(0.5, abs=0.01)


@pytest.mark.slow
def test_priority_dp_id3_and_cmi(steak_rows):
    # Priority: the sensitive question near the root leaks more than deep down.
    priority = {s: row for (d, s), row in steak_rows.items() if d == "Priority"}
    assert _attack(priority["priority_depth=0"], "naive_f1") > _attack(
        priority["priority_depth=4"], "naive_f1"
    )
    # DP-ID3: a small budget destroys the attack and most of the utility.
    dp = {s: row for (d, s), row in steak_rows.items() if d == "DP-ID3"}
    assert _attack(dp["epsilon=0.1"], "counts_f1") == 0.0
    assert (
        dp["epsilon=0.1"]["mean_test_utility"] < dp["epsilon=100"]["mean_test_utility"]
    )
    # CMI releases confidences only: MAP with counts does not apply to it, and
    # says so rather than showing a number.
    cmi = [row for (d, _), row in steak_rows.items() if d == "CMI"]
    assert cmi
    for row in cmi:
        assert _attack(row, "counts_f1") is None
        assert np.isfinite(_attack(row, "naive_f1"))
    # Every attack applies to the trees, and what any row measures is finite
    # (the trivial model and the output defenses have no tree: only the
    # naive attack applies to them).
    trees = [
        _attack(row, attack)
        for row in steak_rows.values()
        for attack in ATTACKS
        if row["defense"] in ("ID3", "MID", "Priority", "DP-ID3")
    ]
    assert len(trees) >= 4 * len(ATTACKS) and np.isfinite(trees).all()
    measured = [
        _attack(row, attack)
        for row in steak_rows.values()
        for attack in ATTACKS
        if _attack(row, attack) is not None
    ]
    assert np.isfinite(measured).all()
    assert all(
        _attack(row, attack) is not None
        for row in steak_rows.values()
        for attack in ATTACKS
        if attack.startswith("naive")
    )
