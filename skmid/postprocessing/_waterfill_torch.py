"""Sort-based water-filling for torch tensors on any device.

The paper's Algorithm 3 (sort the ratios ``f / q``, cumulative sums, the first
breakpoint past the budget) run once for each half of the problem, without a
Python loop over rows or branches, so it runs unchanged on a GPU.
"""

import math

from ..utils._optional import import_optional_dependency
from ._waterfill_kernels import MAX_RATIO


def waterfill_torch(f, q, budget):
    """Water-filling of torch tensors; see :func:`skmid.postprocessing.waterfill`."""
    torch = import_optional_dependency("torch", extra="nn", feature="waterfill")
    f, q, budget = _check_tensors(torch, f, q, budget)
    half = 0.5 * budget
    distance = (f - q).abs().sum(dim=1)

    rising = f < q
    p = torch.where(
        rising, torch.maximum(f, _level(torch, f, q, rising, half, +1) * q), f
    )

    drained = (q == 0) | (f > q * MAX_RATIO)
    zero = drained & (f > 0)
    zero_mass = torch.where(zero, f, torch.zeros_like(f)).sum(dim=1)
    drain_all = zero_mass < half
    ones = torch.ones_like(q)
    cap = _level(torch, f, ones, zero, half, -1)
    p = torch.where(zero & ~drain_all[:, None], torch.minimum(f, cap * ones), p)
    p = torch.where(drained & drain_all[:, None], torch.zeros_like(p), p)

    falling = (f > q) & ~drained
    rest = torch.where(drain_all, half - zero_mass, torch.zeros_like(half))
    level = _level(torch, f, q, falling, rest, -1)
    move = falling & (drain_all & (rest > 0))[:, None]
    p = torch.where(move, torch.minimum(f, level * q), p)

    p = torch.where((2 * half >= distance)[:, None], q, p)
    return torch.where((half <= 0)[:, None], f, p)


def _level(torch, f, q, mask, half, direction):
    """Water level of each row over the entries in ``mask`` (shape (n, 1)).

    ``direction=+1`` solves ``sum (w q - f)_+ = half`` over ascending ratios,
    ``-1`` solves ``sum (f - w q)_+ = half`` over descending ratios. Rows with
    no entry in ``mask`` or ``half <= 0`` get an arbitrary finite level.
    """
    inf = math.inf
    ratio = torch.where(mask, f / torch.where(mask, q, torch.ones_like(q)), inf)
    if direction < 0:
        ratio = torch.where(mask, -ratio, inf)  # sort descending via negation
    sorted_key, order = torch.sort(ratio, dim=1)
    f_sorted = torch.gather(torch.where(mask, f, torch.zeros_like(f)), 1, order)
    q_sorted = torch.gather(torch.where(mask, q, torch.zeros_like(q)), 1, order)
    f_cum = f_sorted.cumsum(dim=1)
    q_cum = q_sorted.cumsum(dim=1)
    finite = torch.isfinite(sorted_key)
    breakpoints = torch.where(finite, sorted_key.abs(), torch.zeros_like(sorted_key))
    # Volume below each breakpoint from the entries strictly before it: the
    # entry at the breakpoint adds exactly nothing there.
    f_before = f_cum - f_sorted
    q_before = q_cum - q_sorted
    volume = direction * (breakpoints * q_before - f_before)
    below = finite & (volume < half[:, None])
    last = (below.sum(dim=1) - 1).clamp(min=0)[:, None]
    f_active = f_cum.gather(1, last).squeeze(1)
    q_active = q_cum.gather(1, last).squeeze(1)
    q_active = torch.where(q_active > 0, q_active, torch.ones_like(q_active))
    return ((f_active + direction * half) / q_active)[:, None]


def _check_tensors(torch, f, q, budget):
    tensor = f if isinstance(f, torch.Tensor) else q
    device = tensor.device
    dtype = tensor.dtype if tensor.dtype.is_floating_point else torch.float64
    f = torch.as_tensor(f, dtype=dtype, device=device)
    q = torch.as_tensor(q, dtype=dtype, device=device)
    if f.ndim != 2:
        raise ValueError(
            f"f must be a 2-D tensor of shape (n_samples, n_classes); got {f.ndim}-D."
        )
    if q.ndim == 1:
        if q.shape[0] != f.shape[1]:
            raise ValueError(
                f"q of shape {tuple(q.shape)} must have one entry per column of f "
                f"({f.shape[1]}), or the shape of f."
            )
        q = q.expand_as(f)
    if q.shape != f.shape:
        raise ValueError(
            f"f and q must have the same shape; got {tuple(f.shape)} and "
            f"{tuple(q.shape)}."
        )
    atol = 1e-6 if dtype == torch.float64 else 1e-3
    for name, value in (("f", f), ("q", q)):
        if not bool(torch.isfinite(value).all()) or bool((value < 0).any()):
            raise ValueError(f"{name} must be finite and non-negative.")
        if bool(((value.sum(dim=1) - 1).abs() > atol).any()):
            raise ValueError(
                f"{name} must hold probability vectors (rows summing to 1)."
            )
    budget = torch.as_tensor(budget, dtype=dtype, device=device)
    if budget.ndim == 0:
        budget = budget.expand(f.shape[0])
    if budget.shape != (f.shape[0],):
        raise ValueError(
            f"budget must be a scalar or have shape ({f.shape[0]},); "
            f"got {tuple(budget.shape)}."
        )
    if not bool(torch.isfinite(budget).all()) or bool((budget < 0).any()):
        raise ValueError("budget must be finite and >= 0.")
    return f, q, budget
