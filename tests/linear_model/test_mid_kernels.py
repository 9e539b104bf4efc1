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
    monkeypatch.setattr(_mid_kernels, "PARALLEL_MIN_WORK", 0)
    parallel = mixture_entropy(z, w, 0.7)
    # one tile row per call
    monkeypatch.setattr(_mid_kernels, "WORK_PER_CALL", 1)
    tiles = _mid_kernels._Tiles(np.sort(z / 0.7))
    assert len(tiles.blocks) == len(tiles.tiling[0]) - 1 > 5
    blocked = mixture_entropy(z, w, 0.7)
    for other in (parallel, blocked):
        assert other[0] == pytest.approx(serial[0], rel=1e-13)
        np.testing.assert_allclose(other[1], serial[1], rtol=1e-12, atol=1e-15)


def test_row_blocks_bound_the_work_of_a_call():
    work = np.array([5, 1, 1, 9, 2, 2, 2, 30, 1])
    blocks = _mid_kernels._row_blocks(work, 6)
    assert [first for first, _ in blocks] == [0] + [stop for _, stop in blocks[:-1]]
    assert blocks[-1][1] == len(work)
    for first, stop in blocks:
        # a row heavier than the bound gets a call of its own
        assert work[first:stop].sum() <= 6 or stop == first + 1


def test_tiles_span_at_most_one_bandwidth_and_are_greedy():
    rng = np.random.default_rng(3)
    u = np.sort(np.concatenate([rng.normal(0, 4, 500), rng.uniform(50, 300, 40)]))
    starts = _mid_kernels._tile_starts(u)
    assert starts[0] == 0 and starts[-1] == u.size
    assert np.all(np.diff(starts) > 0)
    first, last = u[starts[:-1]], u[starts[1:] - 1]
    assert np.all(last - first <= _mid_kernels.TILE_WIDTH)
    # the first point of the next tile did not fit in the previous one
    assert np.all(u[starts[1:-1]] - first[:-1] > _mid_kernels.TILE_WIDTH)


@pytest.mark.parametrize(
    "case", ["clusters", "heavy_tails", "isolated", "offset", "zero_weights", "ties"]
)
def test_exact_kernel_matches_numpy_on_hard_predictions(case):
    # many tiles and tile pairs, tiles of one point, clusters further apart
    # than the cutoff, a huge common offset, rows of zero weight, equal values
    rng = np.random.default_rng(7)
    n = 400
    w = rng.uniform(0.2, 3.0, n)
    if case == "clusters":
        z = np.concatenate([rng.normal(0, 3, 300), rng.normal(60, 0.2, 100)])
    elif case == "heavy_tails":
        z = rng.standard_cauchy(n)
    elif case == "isolated":
        z = rng.permutation(np.arange(n) * 1.7)
    elif case == "offset":
        z = 1e9 + rng.normal(0, 5, n)
    elif case == "zero_weights":
        z = rng.normal(0, 5, n)
        w[::3] = 0.0
    else:
        z = rng.integers(0, 6, n).astype(float)
    w /= w.sum()
    value, grad = mixture_entropy(z, w, 1.0)
    ref_value, ref_grad = _numpy_reference(z, w, 1.0)
    assert value == pytest.approx(ref_value, rel=1e-12)
    scale = np.abs(ref_grad).max()
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-13 * scale)


def test_clusters_beyond_the_cutoff_do_not_interact():
    # Gaussians between points more than CUTOFF bandwidths apart underflow to
    # 0.0: skipping those tile pairs leaves each cluster's sums as if alone
    rng = np.random.default_rng(1)
    near = rng.normal(0, 2, 150)
    far = rng.normal(0, 2, 100) + 2 * _mid_kernels.CUTOFF + 20
    w = np.full(250, 1 / 250)
    _, grad = mixture_entropy(np.concatenate([near, far]), w, 1.0)
    _, grad_near = mixture_entropy(near, w[:150] / w[:150].sum(), 1.0)
    np.testing.assert_allclose(grad[:150], grad_near * 150 / 250, rtol=1e-12)


def test_vectorised_exp_matches_numpy():
    x = -np.concatenate(
        [np.linspace(0, 30, 30001), np.linspace(30, 760, 7301), [1e300, np.inf]]
    )
    got = np.array([_mid_kernels.exp_nonpositive(v) for v in x])
    expected = np.exp(x)
    normal = expected >= np.finfo(np.float64).tiny
    np.testing.assert_allclose(got[normal], expected[normal], rtol=4e-16, atol=0)
    # subnormal results are rounded once: within one unit of the last place
    assert np.abs(got[~normal] - expected[~normal]).max() <= 5e-324
    assert got[-1] == got[-2] == 0.0


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
    errors, grad_errors = [], []
    for grid_step in [0.2, 0.1, 0.05]:
        value, grad = mixture_entropy(
            z, w, sigma, approximation="binned", grid_step=grid_step
        )
        errors.append(abs(value - exact_value) / abs(exact_value))
        grad_errors.append(np.abs(grad - exact_grad).max() / np.abs(exact_grad).max())
        if grid_step <= 0.1:
            assert errors[-1] < 1e-3
            assert grad_errors[-1] < 1e-2
    assert errors[2] < errors[1] < errors[0]
    assert grad_errors[2] < grad_errors[1] < grad_errors[0]


def test_silverman_bandwidth_of_a_normal_sample():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2.0, size=10000)
    assert silverman_bandwidth(z, np.ones(z.size)) == pytest.approx(
        0.9 * 2.0 * 10000**-0.2, rel=0.05
    )
