import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import softmax, xlogy

from skmid.postprocessing import waterfill
from skmid.postprocessing._waterfill import waterfill_reference

try:
    import torch as TORCH
except ImportError:  # the nn extra is optional
    TORCH = None
from skmid.postprocessing._waterfill_kernels import waterfill_parallel, waterfill_serial


def kl(p, q):
    with np.errstate(divide="ignore"):
        return float((xlogy(p, p) - xlogy(p, q)).sum())


def random_simplex(rng, n, k, sharpness=3.0):
    return softmax(sharpness * rng.normal(size=(n, k)), axis=1)


def test_known_answer_both_halves():
    f = np.array([[0.7, 0.2, 0.1]])
    q = np.array([[0.2, 0.3, 0.5]])
    # Rise: only the last entry climbs, w_up = 0.6 -> 0.3. Fall: w_down = 2.5.
    np.testing.assert_allclose(waterfill(f, q, 0.4), [[0.5, 0.2, 0.3]], atol=1e-15)


@pytest.mark.parametrize("seed", range(40))
def test_matches_generic_convex_solver(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 9))
    f = random_simplex(rng, 1, k)
    q = random_simplex(rng, 1, k)
    budget = rng.uniform(0.05, 1.0) * np.abs(f - q).sum()
    p = waterfill(f, q, budget)[0]
    reference = waterfill_reference(f[0], q[0], budget)
    assert abs(p.sum() - 1) <= 1e-12
    assert np.abs(p - f[0]).sum() <= budget + 1e-12
    assert p.min() >= 0
    # Never worse than the generic solver, and the generic solver agrees.
    assert kl(p, q[0]) <= kl(reference, q[0]) + 1e-8
    assert kl(p, q[0]) >= kl(reference, q[0]) - 1e-6


@pytest.mark.parametrize("n_classes", [20, 64, 65, 5000])
def test_kkt_conditions_hold_on_large_random_instances(n_classes):
    # 20 classes take the O(K^2) sweep, more the histogram and selection.
    rng = np.random.default_rng(1)
    f = random_simplex(rng, 64, n_classes)
    q = random_simplex(rng, 64, n_classes)
    budget = 0.5 * np.abs(f - q).sum(axis=1)
    p = waterfill(f, q, budget)
    for fr, qr, pr in zip(f, q, p, strict=True):
        up = pr > fr + 1e-14
        down = pr < fr - 1e-14
        w_up = (pr[up] / qr[up]).mean()
        w_down = (pr[down] / qr[down]).mean()
        np.testing.assert_allclose(pr[up] / qr[up], w_up, rtol=1e-10)
        np.testing.assert_allclose(pr[down] / qr[down], w_down, rtol=1e-10)
        still = ~(up | down)
        # Untouched entries have ratios between the two levels.
        assert np.all(fr[still] / qr[still] >= w_up * (1 - 1e-10))
        assert np.all(fr[still] / qr[still] <= w_down * (1 + 1e-10))
        assert w_up < 1 < w_down


def test_budget_zero_returns_f_and_large_budget_returns_q():
    rng = np.random.default_rng(2)
    f = random_simplex(rng, 5, 6)
    q = random_simplex(rng, 5, 6)
    np.testing.assert_array_equal(waterfill(f, q, 0.0), f)
    np.testing.assert_array_equal(waterfill(f, q, np.abs(f - q).sum(axis=1)), q)
    np.testing.assert_array_equal(waterfill(f, q, 2.0), q)


def test_per_row_budgets_and_shared_target():
    rng = np.random.default_rng(3)
    f = random_simplex(rng, 4, 5)
    q = random_simplex(rng, 1, 5)[0]
    budget = np.array([0.0, 0.1, 0.3, 2.0])
    p = waterfill(f, q, budget)
    np.testing.assert_allclose(
        np.abs(p - f).sum(axis=1), [0.0, 0.1, 0.3, np.abs(f[3] - q).sum()], atol=1e-14
    )
    np.testing.assert_array_equal(p[3], q)


def test_zeros_in_f_and_q():
    f = np.array([[0.5, 0.3, 0.2, 0.0]])
    q = np.array([[0.0, 0.5, 0.0, 0.5]])
    # Mass on q's zeros is drained first, from the top down to a common cap.
    np.testing.assert_allclose(waterfill(f, q, 0.1), [[0.45, 0.3, 0.2, 0.05]])
    np.testing.assert_allclose(waterfill(f, q, 0.8), [[0.15, 0.35, 0.15, 0.35]])
    np.testing.assert_allclose(waterfill(f, q, 1.5), [[0.0, 0.5, 0.0, 0.5]])
    # A zero of f rises like any other entry below q.
    p = waterfill([[1.0, 0.0]], [[0.5, 0.5]], 0.4)
    np.testing.assert_allclose(p, [[0.8, 0.2]])


def test_drained_zeros_leave_the_rest_to_the_falling_level():
    f = np.array([[0.1, 0.6, 0.3]])
    q = np.array([[0.0, 0.2, 0.8]])
    p = waterfill(f, q, 0.6)[0]
    # 0.1 of the 0.3 falling budget drains the zero, the other 0.2 lowers 0.6.
    np.testing.assert_allclose(p, [0.0, 0.4, 0.6], atol=1e-15)
    reference = waterfill_reference(f[0], np.array([1e-300, 0.2, 0.8]), 0.6)
    np.testing.assert_allclose(p, reference, atol=1e-6)


def test_two_classes_closed_form():
    f = np.array([[0.9, 0.1], [0.2, 0.8]])
    q = np.array([[0.3, 0.7], [0.6, 0.4]])
    np.testing.assert_allclose(waterfill(f, q, 0.2), [[0.8, 0.2], [0.3, 0.7]])


def test_a_million_classes():
    rng = np.random.default_rng(4)
    f = random_simplex(rng, 2, 10**6, sharpness=10.0)
    q = random_simplex(rng, 2, 10**6, sharpness=10.0)
    p = waterfill(f, q, 0.5)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(p - f).sum(axis=1), 0.5, atol=1e-12)
    torch = pytest.importorskip("torch")
    p_torch = waterfill(torch.from_numpy(f), torch.from_numpy(q), 0.5).numpy()
    np.testing.assert_allclose(p, p_torch, atol=1e-12)


def sorting_reference(f, q, budget):
    """Water-filling by sorting each half (Algorithm 2 of the SSD paper, both
    halves, drained targets first), row by row in NumPy."""
    p = f.copy()
    halves = 0.5 * np.asarray(budget)
    for row, (fr, qr, half) in enumerate(zip(f, q, halves, strict=True)):
        if 2 * half >= np.abs(fr - qr).sum():
            p[row] = qr
            continue
        if half <= 0:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = fr / qr
        drained = ~(ratio <= 1e300)
        rising = np.flatnonzero(ratio < 1)
        rising = rising[np.argsort(ratio[rising], kind="stable")]
        volume = ratio[rising] * (np.cumsum(qr[rising]) - qr[rising]) - (
            np.cumsum(fr[rising]) - fr[rising]
        )
        active = rising[: np.count_nonzero(volume < half)]
        level = min((fr[active].sum() + half) / qr[active].sum(), 1.0)
        p[row, rising] = np.maximum(fr[rising], level * qr[rising])
        zero_mass = fr[drained].sum()
        if zero_mass >= half:  # the drained entries fall to a common cap
            values = np.sort(fr[drained])[::-1]
            volume = np.cumsum(values) - values - values * np.arange(len(values))
            n_active = np.count_nonzero(volume < half)
            cap = (values[:n_active].sum() - half) / n_active
            p[row, drained] = np.minimum(fr[drained], cap)
            continue
        p[row, drained] = 0
        falling = np.flatnonzero((ratio > 1) & ~drained)
        falling = falling[np.argsort(-ratio[falling], kind="stable")]
        rest = half - zero_mass
        volume = (np.cumsum(fr[falling]) - fr[falling]) - ratio[falling] * (
            np.cumsum(qr[falling]) - qr[falling]
        )
        active = falling[: np.count_nonzero(volume < rest)]
        if rest > 0 and active.size:
            level = max((fr[active].sum() - rest) / qr[active].sum(), 1.0)
            p[row, falling] = np.minimum(fr[falling], level * qr[falling])
    return p


def _normalised(a):
    return a / a.sum(axis=1, keepdims=True)


def hard_rows(n_classes, seed=0):
    """Rows that stress each path: ratios spread past the first histogram window,
    packed within one bucket, tied, targets with zeros holding little or most
    of the mass, and a row equal to its target but for rounding."""
    rng = np.random.default_rng(seed)
    k = n_classes
    uniform = np.full(k, 1.0 / k)
    rows = [
        (random_simplex(rng, 1, k, 30.0)[0], random_simplex(rng, 1, k, 30.0)[0]),
        (_normalised(uniform * (1 + 1e-9 * rng.normal(size=(1, k))))[0], uniform),
        (_normalised(np.where(np.arange(k) % 2, 1.0, 3.0)[None])[0], uniform),
        (_normalised(rng.choice([1.0, 2.0, 3.0], size=(1, k)))[0], uniform),
    ]
    # One half packed into a bucket, the other spread: one bracket overflows.
    packed = np.where(np.arange(k) % 2, 0.5 * (1 + 1e-9 * rng.random(k)), 1.0)
    spread = random_simplex(rng, 1, k, 3.0)[0]
    q_packed = _normalised((spread / packed)[None])[0]
    rows.append((spread, np.where(np.arange(k) % 2, q_packed, spread[::-1])))
    rows[-1] = (rows[-1][0], rows[-1][1] / rows[-1][1].sum())
    f, q = random_simplex(rng, 2, k), random_simplex(rng, 2, k)
    q[0, : k // 8] = 0  # little mass on the drained entries
    q[1, : k // 2] = 0  # most of it: the cap
    rows += list(zip(f, _normalised(q), strict=True))
    f = np.vstack([r[0] for r in rows])
    return f, np.vstack([r[1] for r in rows])


@pytest.mark.parametrize("n_classes", [4, 20, 64, 65, 700, 5000, 30000])
@pytest.mark.parametrize("share", [5e-324, 1e-300, 1e-9, 0.3, 0.999])
def test_hard_rows_match_a_sorting_reference(n_classes, share):
    f, q = hard_rows(n_classes)
    budget = share * np.abs(f - q).sum(axis=1)
    p = waterfill(f, q, budget)
    np.testing.assert_allclose(p, sorting_reference(f, q, budget), rtol=0, atol=1e-12)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.abs(p - f).sum(axis=1) <= budget + 1e-12)
    low, high = np.minimum(f, q), np.maximum(f, q)
    assert np.all(p >= low - 1e-15) and np.all(p <= high + 1e-15)


@pytest.mark.parametrize("n_classes", [3, 20, 50, 5000])
def test_rows_whose_sums_differ_by_rounding_stay_between_f_and_q(n_classes):
    # f and q agree on their largest entry and differ below the rounding of
    # the sums, so one half may be asked for more than it holds.
    rng = np.random.default_rng(8)
    tiny = 1e-20 * rng.random((4, n_classes - 1))
    f = np.hstack([np.ones((4, 1)), tiny])
    q = np.hstack([np.ones((4, 1)), 1e-30 * rng.random((4, n_classes - 1))])
    p = waterfill(f, q, 0.5 * np.abs(f - q).sum(axis=1))
    low, high = np.minimum(f, q), np.maximum(f, q)
    assert np.all(p >= low) and np.all(p <= high)


def test_budget_equal_to_the_distance_reaches_q_up_to_rounding():
    rng = np.random.default_rng(9)
    for n_classes in [6, 20, 128, 1000, 100003]:
        f = random_simplex(rng, 3, n_classes)
        q = random_simplex(rng, 3, n_classes)
        p = waterfill(f, q, np.abs(f - q).sum(axis=1))
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-15)


def test_simd_exp_and_log_match_numpy():
    from skmid.postprocessing._waterfill_kernels import (
        _exp_nonpositive,
        _log_positive,
    )

    x = np.concatenate([-np.logspace(-300, np.log10(707.9), 2000), [0.0, -0.0]])
    exact = np.exp(x)
    got = np.array([_exp_nonpositive(v) for v in x])
    assert np.all(np.abs(got - exact) <= 4 * np.spacing(exact))
    assert [_exp_nonpositive(v) for v in (-708.5, -1e300, -np.inf)] == [0, 0, 0]
    x = np.concatenate([np.logspace(-323.5, 0, 2000), [1.0, 2.0, 1e300]])
    exact = np.log(x)
    got = np.array([_log_positive(v) for v in x])
    assert np.all(np.abs(got - exact) <= 4 * np.spacing(np.abs(exact)) + 1e-300)


def test_invalid_rows_are_flagged_like_numpy_flags_them():
    from skmid.postprocessing._waterfill import invalid_probability_rows

    rng = np.random.default_rng(10)
    for n_classes in [3, 40, 5000]:
        P = random_simplex(rng, 6, n_classes)
        P[1, 0] = -1e-300
        P[2, 1] = np.nan
        P[3, 1] = np.inf
        P[4] *= 1 + 1e-3
        flagged, count = invalid_probability_rows(P)
        np.testing.assert_array_equal(flagged, [0, 1, 1, 1, 1, 0])
        assert count == 4
        with pytest.raises(ValueError, match="f must hold probability vectors"):
            waterfill(P[[0, 4]], P[[5, 5]], 0.1)


def test_long_jobs_are_split_into_bounded_kernel_calls(monkeypatch):
    from skmid.postprocessing import CMIPostProcessor, _cmi, _waterfill

    rng = np.random.default_rng(7)
    f = random_simplex(rng, 100, 7)
    q = random_simplex(rng, 100, 7)
    budget = rng.uniform(0, 1, 100)
    whole = waterfill(f, q, budget)
    defense = CMIPostProcessor(temperature=1.0, random_state=0)
    defense.fit(f, np.arange(100) % 7)
    whole_defended = defense.transform(f)

    calls = []

    def recording(kernel):
        def call(*args):
            calls.append(args[0].size)
            return kernel(*args)

        return call

    monkeypatch.setattr(_waterfill, "KERNEL_CALL_ENTRIES", 50)
    monkeypatch.setattr(_waterfill, "waterfill_serial", recording(waterfill_serial))
    monkeypatch.setattr(_cmi, "cmi_serial", recording(_cmi.cmi_serial))
    np.testing.assert_array_equal(waterfill(f, q, budget), whole)
    assert len(calls) == 15 and max(calls) <= 50  # 7 rows of 7 entries per call
    calls.clear()
    np.testing.assert_array_equal(defense.transform(f), whole_defended)
    assert len(calls) == 15 and max(calls) <= 50


@pytest.mark.parametrize("n_classes", [10, 300, 5000])
def test_serial_and_parallel_kernels_agree_bitwise(n_classes):
    rng = np.random.default_rng(5)
    f = random_simplex(rng, 50, n_classes)
    q = random_simplex(rng, 50, n_classes)
    budget = rng.uniform(0, 1, 50)
    rows = np.arange(50)
    out_serial = np.empty_like(f)
    out_parallel = np.empty_like(f)
    status = np.ones(50, dtype=np.int8)
    waterfill_serial(f, q, rows, budget, out_serial, status, 1, True)
    assert not status.any()
    waterfill_parallel(f, q, rows, budget, out_parallel, status, 3, True)
    assert not status.any()
    np.testing.assert_array_equal(out_serial, out_parallel)


@pytest.mark.parametrize(
    "f, q, budget, match",
    [
        ([[0.5, 0.6]], [[0.5, 0.5]], 0.1, "f must hold probability vectors"),
        ([[0.5, 0.5]], [[0.5, 0.5, 0.0]], 0.1, "same shape"),
        ([[0.5, 0.5]], [[np.nan, 0.5]], 0.1, "NaN"),
        ([[0.5, 0.5]], [[0.5, 0.5]], -0.1, "budget must be finite and >= 0"),
        ([[0.5, 0.5]], [[0.5, 0.5]], [0.1, 0.2], r"shape \(1,\)"),
        ([[0.5, 0.5]], [0.2, 0.3, 0.5], 0.1, r"q of shape \(3,\) must have one"),
    ],
)
def test_bad_input_raises(f, q, budget, match):
    with pytest.raises(ValueError, match=match):
        waterfill(f, q, budget)
    torch = pytest.importorskip("torch")
    if np.all(np.isfinite(q)):  # the same refusal for tensors
        tensors = torch.tensor(f, dtype=torch.float64), torch.tensor(q)
        with pytest.raises(ValueError, match=match):
            waterfill(*tensors, budget)


def test_torch_matches_numba_and_keeps_device_and_dtype():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    f = random_simplex(rng, 100, 12)
    q = random_simplex(rng, 100, 12)
    q[:10, :3] = 0
    q /= q.sum(axis=1, keepdims=True)
    f[10:20, 5] = 0
    f /= f.sum(axis=1, keepdims=True)
    budget = rng.uniform(0, 2, 100)
    budget[:3] = 0
    expected = waterfill(f, q, budget)
    result = waterfill(
        torch.from_numpy(f), torch.from_numpy(q), torch.from_numpy(budget)
    )
    assert isinstance(result, torch.Tensor) and result.dtype == torch.float64
    np.testing.assert_allclose(result.numpy(), expected, atol=1e-12)
    result32 = waterfill(torch.from_numpy(f).float(), torch.from_numpy(q).float(), 0.3)
    assert result32.dtype == torch.float32
    np.testing.assert_allclose(result32.numpy(), waterfill(f, q, 0.3), atol=1e-5)
    with pytest.raises(ValueError, match="probability vectors"):
        waterfill(torch.ones(2, 3), torch.from_numpy(q[:2, :3]), 0.1)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_matches_numba_on_hard_rows(dtype):
    torch = pytest.importorskip("torch")
    for n_classes in [4, 300]:
        f, q = hard_rows(n_classes, seed=1)
        budget = 0.4 * np.abs(f - q).sum(axis=1)
        expected = waterfill(f, q, budget)
        tensors = [torch.from_numpy(a).to(getattr(torch, dtype)) for a in (f, q)]
        result = waterfill(*tensors, torch.from_numpy(budget).to(tensors[0].dtype))
        atol = 1e-12 if dtype == "float64" else 1e-5
        np.testing.assert_allclose(result.double().numpy(), expected, atol=atol)


@pytest.mark.skipif(
    "not __import__('importlib').util.find_spec('torch') "
    "or not __import__('torch').cuda.is_available()",
    reason="needs a CUDA device",
)
def test_torch_on_cuda_matches_cpu():
    import torch

    rng = np.random.default_rng(7)
    f = random_simplex(rng, 256, 1000)
    q = random_simplex(rng, 256, 1000)
    expected = waterfill(f, q, 0.4)
    result = waterfill(torch.from_numpy(f).cuda(), torch.from_numpy(q).cuda(), 0.4)
    assert result.device.type == "cuda"
    np.testing.assert_allclose(result.cpu().numpy(), expected, atol=1e-12)


simplex_rows = st.integers(2, 12).flatmap(
    lambda k: st.tuples(
        arrays(np.float64, (3, k), elements=st.floats(0, 1)),
        arrays(np.float64, (3, k), elements=st.floats(0, 1)),
        arrays(np.float64, (3,), elements=st.floats(0, 2.5)),
    )
)


def _normalise(a):
    a = a + 1e-12 * (a.sum(axis=1, keepdims=True) == 0)
    return a / a.sum(axis=1, keepdims=True)


@settings(max_examples=200, deadline=None)
@given(simplex_rows)
def test_property_simplex_budget_and_between(data):
    f, q, budget = _normalise(data[0]), _normalise(data[1]), data[2]
    p = waterfill(f, q, budget)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.abs(p - f).sum(axis=1) <= budget + 1e-12)
    # Every entry lies between f and q (eq. 15 of the paper).
    low, high = np.minimum(f, q), np.maximum(f, q)
    assert np.all(p >= low - 1e-12) and np.all(p <= high + 1e-12)
    # Rows are solved independently: reversing the batch reverses the answer.
    np.testing.assert_array_equal(waterfill(f[::-1], q[::-1], budget[::-1]), p[::-1])
    if TORCH is not None:
        p_torch = waterfill(TORCH.from_numpy(f), TORCH.from_numpy(q), budget)
        np.testing.assert_allclose(p_torch.numpy(), p, atol=1e-12)


@pytest.mark.parametrize(
    "f, match",
    [
        ([[0.5, -0.1, 0.6]], r"f must hold probability vectors: row 0 has a negative"),
        ([[0.5, 0.6, 0.1]], r"f must hold probability vectors: row 0 sums to 1.2"),
        ([[np.nan, 0.5, 0.5]], "Input f contains NaN"),
    ],
)
def test_tensors_are_refused_with_the_messages_of_arrays(f, match):
    torch = pytest.importorskip("torch")
    q = [[0.2, 0.3, 0.5]]
    with pytest.raises(ValueError, match=match):
        waterfill(np.array(f), np.array(q), 0.1)
    with pytest.raises(ValueError, match=match):
        waterfill(torch.tensor(f, dtype=torch.float64), torch.tensor(q), 0.1)
    with pytest.raises(ValueError, match=match.replace("f ", "q ")):
        waterfill(torch.tensor(q), torch.tensor(f, dtype=torch.float64), 0.1)
