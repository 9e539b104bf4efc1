"""MAP attribute inference on the full warfarin cohort: batched vs per-candidate.

Run ``python benchmarks/bench_map_attack.py``. Times ``infer_proba`` of
MAPAttributeInference (all rows x candidate values in one ``predict`` call)
against a reference that queries the model once per candidate value and once
per row, on the 4,821 patients of ``load_warfarin()``, and prints the ratios.
"""

import time

import numpy as np
from scipy.special import softmax

from skmid.attacks import MAPAttributeInference
from skmid.datasets import load_warfarin
from skmid.linear_model import MIDLinearRegression


def best_time(function, repeat=5):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def per_row_reference(attack, model, X, y, scale):
    proba = np.empty((len(X), len(attack.values_)))
    for i in range(len(X)):
        candidates = np.repeat(X[i : i + 1], len(attack.values_), axis=0)
        candidates[:, attack.columns_] = np.eye(len(attack.columns_))
        loglik = -0.5 * ((y[i] - model.predict(candidates)) / scale) ** 2
        proba[i] = softmax(loglik + np.log(attack.prior_))
    return proba


def main():
    warfarin = load_warfarin()
    X, y = warfarin.data, warfarin.target
    model = MIDLinearRegression(lam=0.0).fit(X, y)
    attack = MAPAttributeInference(warfarin.sensitive_features).fit(X, y)
    scale = attack._error_scale(model)

    t_batched, proba = best_time(lambda: attack.infer_proba(model, X, y))
    t_row, reference = best_time(
        lambda: per_row_reference(attack, model, X, y, scale), repeat=1
    )
    assert np.allclose(proba, reference)
    t_score, _ = best_time(lambda: attack.score(model, X, y, metric="roc_auc"))
    print(f"MAP attack on {len(X)} patients x {len(attack.values_)} genotypes")
    print(f"  infer_proba (one batch):     {t_batched * 1e3:8.2f} ms")
    print(f"  score(metric='roc_auc'):     {t_score * 1e3:8.2f} ms")
    print(f"  per-row reference loop:      {t_row * 1e3:8.2f} ms")
    print(f"  per-row / batched:           {t_row / t_batched:8.1f} x")


if __name__ == "__main__":
    main()
