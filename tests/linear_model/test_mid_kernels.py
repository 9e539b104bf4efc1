import numpy as np
import pytest

from skmid.linear_model import _mid_kernels
from skmid.linear_model._mid import mixture_entropy, silverman_bandwidth


def _numpy_reference(z, w, sigma):
    d = z[:, None] - z[None, :]
    phi = np.exp(-0.5 * (d / sigma) ** 2) / np.sqrt(2 * np.pi * sigma**2)
    sums = phi @ w
    value = -np.dot(w, np.log(sums))
    grad = (
        w / sigma**2 * ((w[None, :] * d * phi) * (1 / sums[:, None] + 1 / sums)).sum(1)
    )
    return value, grad


@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(0, 1, 150), rng.normal(4, 0.5, 50)])
    w = rng.uniform(0.5, 2.0, size=z.size)
    return z, w / w.sum()


def test_exact_kernel_matches_numpy(predictions):
    z, w = predictions
    value, grad = mixture_entropy(z, w, 0.7)
    ref_value, ref_grad = _numpy_reference(z, w, 0.7)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-14)


def test_serial_parallel_and_blocked_kernels_agree(predictions, monkeypatch):
    z, w = predictions
    serial = mixture_entropy(z, w, 0.7)
    monkeypatch.setattr(_mid_kernels, "PARALLEL_MIN_ROWS", 1)
    parallel = mixture_entropy(z, w, 0.7)
    # blocks of 7 rows: the last one partial
    monkeypatch.setattr(_mid_kernels, "PAIRS_PER_CALL", 7 * z.size)
    assert len(_mid_kernels._row_blocks(z.size)) == -(-z.size // 7)
    blocked = mixture_entropy(z, w, 0.7)
    for other in (parallel, blocked):
        assert other[0] == pytest.approx(serial[0], rel=1e-13)
        np.testing.assert_allclose(other[1], serial[1], rtol=1e-12, atol=1e-15)


def test_gradient_matches_finite_differences(predictions):
    z, w = predictions
    _, grad = mixture_entropy(z, w, 0.7)
    step = 1e-6
    for k in [0, 17, 151, 199]:
        up, down = z.copy(), z.copy()
        up[k] += step
        down[k] -= step
        numeric = (
            mixture_entropy(up, w, 0.7)[0] - mixture_entropy(down, w, 0.7)[0]
        ) / (2 * step)
        assert grad[k] == pytest.approx(numeric, rel=1e-5, abs=1e-10)


def test_identical_predictions_reach_the_minimum():
    z = np.full(10, 3.0)
    value, grad = mixture_entropy(z, np.full(10, 0.1), 2.0)
    assert value == pytest.approx(0.5 * np.log(2 * np.pi * 4.0))
    np.testing.assert_allclose(grad, 0.0, atol=1e-15)


@pytest.mark.parametrize("n", [50, 3000])
def test_binned_approximation_accuracy(n):
    # The documented accuracy: relative error of the penalty below 1e-3 at the
    # default grid step, shrinking like grid_step**2.
    rng = np.random.default_rng(n)
    z = rng.standard_t(3, size=n) * 2.0
    w = np.full(n, 1.0 / n)
    sigma = silverman_bandwidth(z, np.ones(n))
    exact_value, exact_grad = mixture_entropy(z, w, sigma)
    errors = []
    for grid_step in [0.2, 0.1, 0.05]:
        value, grad = mixture_entropy(
            z, w, sigma, approximation="binned", grid_step=grid_step
        )
        errors.append(abs(value - exact_value) / abs(exact_value))
        if grid_step <= 0.1:
            assert errors[-1] < 1e-3
            assert np.abs(grad - exact_grad).max() < 1e-2 * np.abs(exact_grad).max()
    assert errors[2] < errors[1] < errors[0]


def test_silverman_bandwidth_of_a_normal_sample():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2.0, size=10000)
    assert silverman_bandwidth(z, np.ones(z.size)) == pytest.approx(
        0.9 * 2.0 * 10000**-0.2, rel=0.05
    )
