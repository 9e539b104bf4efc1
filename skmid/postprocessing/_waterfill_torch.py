"""Sort-based water-filling for torch tensors on any device.

The paper's Algorithm 3 (sort the ratios ``f / q``, cumulative sums, the first
breakpoint past the budget) for both halves of the problem at once, without a
Python loop over rows or branches, so it runs unchanged on a GPU. One sort
serves both halves: the key of an entry is the bit pattern of its ratio
(which orders like the ratio), flipped for the falling half, so that the row
sorts into the rising ratios ascending, then the falling ratios descending,
then the entries that stay. The sort is the bulk of the work, so this halves
it against sorting each half on its own.
"""

import math

from ..utils._optional import import_optional_dependency
from ._waterfill_kernels import MAX_RATIO

#: Per float dtype, the integer dtype of its bit patterns and the patterns of
#: 1.0 and +inf.
_BITS = {
    "torch.float64": ("int64", 0x3FF0000000000000, 0x7FF0000000000000),
    "torch.float32": ("int32", 0x3F800000, 0x7F800000),
}


def waterfill_torch(f, q, budget):
    """Water-filling of torch tensors; see :func:`skmid.postprocessing.waterfill`.

    On a CPU the work is the number of full-size passes (each reads or writes
    a tensor of the batch's size): about 30 here and one sort, against two
    sorts for a formulation that sorts each half on its own.
    """
    torch = import_optional_dependency("torch", extra="nn", feature="waterfill")
    f, q, budget = _check_tensors(torch, f, q, budget)
    half = (0.5 * budget)[:, None]
    ratio = f / q  # inf where only q is 0, NaN where both are, -inf for q = -0.0
    limit = min(MAX_RATIO, torch.finfo(f.dtype).max)  # MAX_RATIO is inf in float32
    kept = (ratio >= 0) & (ratio <= limit)
    up = kept & (ratio < 1)
    down = kept & (ratio > 1)

    # Bit patterns of non-negative floats order like the floats; half-precision
    # ratios take float64's, whose flipped keys fit in int64.
    bits_dtype, one, inf = _BITS.get(str(f.dtype), _BITS["torch.float64"])
    bits_dtype = getattr(torch, bits_dtype)
    exact = ratio if str(f.dtype) in _BITS else ratio.double()
    bits = exact.view(bits_dtype)
    stay = torch.iinfo(bits_dtype).max
    key = torch.where(up, bits, torch.where(down, (one + inf) - bits, stay))
    order = torch.sort(key, dim=1).indices
    f_sorted = f.gather(1, order)
    q_sorted = q.gather(1, order)
    ratio_sorted = f_sorted / q_sorted
    # count_nonzero, as sum() of a mask first copies it into int64.
    n_up = up.count_nonzero(dim=1)[:, None]
    n_down = down.count_nonzero(dim=1)[:, None]
    position = _positions(f)

    # Rising half: the sorted row starts with it, so plain prefix sums serve.
    f_cum = f_sorted.cumsum(dim=1)
    q_cum = q_sorted.cumsum(dim=1)
    w_up, up_gap = _level(
        ratio_sorted,
        f_sorted,
        q_sorted,
        f_cum,
        q_cum,
        position < n_up,
        0,
        n_up,
        half,
        1,
    )
    # Falling half: its sums must start at 0 where it starts, or a tiny q
    # would drown in the rounding of the rising half's total.
    falling = (position >= n_up) & (position < n_up + n_down)
    f_cum = torch.where(falling, f_sorted, 0).cumsum(dim=1)
    q_cum = torch.where(falling, q_sorted, 0).cumsum(dim=1)
    zero_mass = torch.where(kept, 0, f).sum(dim=1, keepdim=True)
    capped = zero_mass >= half
    rest = torch.where(capped, 0, half - zero_mass)
    w_down, down_gap = _level(
        ratio_sorted,
        f_sorted,
        q_sorted,
        f_cum,
        q_cum,
        falling,
        n_up,
        n_down,
        rest,
        -1,
    )
    # No falling budget left after draining (or none at all): the rest stays.
    w_down = torch.where(rest > 0, w_down, math.inf)
    # w_up <= 1 <= w_down in exact arithmetic (see the numba kernel).
    p = torch.minimum(torch.maximum(f, w_up.clamp(max=1) * q), w_down.clamp(min=1) * q)
    cap = 0
    if bool(capped.any()):  # rare: drained entries hold more than the budget
        cap = torch.where(capped, _cap(torch, f, kept, half), 0)
    p = torch.where(kept, p, f.clamp(max=cap))

    # |f - q| summed from the halves' totals: rising, falling, drained entries.
    drained_q = torch.where(kept, 0, q).sum(dim=1, keepdim=True)
    distance = up_gap + down_gap + (zero_mass - drained_q)
    p = torch.where(2 * half >= distance, q, p)
    return torch.where(half <= 0, f, p)


def _level(ratio, f, q, f_cum, q_cum, segment, start, count, half, direction):
    """Water level over the sorted entries in ``segment``, the positions
    ``start, ..., start + count - 1`` of each row (shape (n, 1)), and the half's
    total gap ``sum |f - q|``.

    ``f_cum`` and ``q_cum`` are prefix sums that are 0 before ``start``.
    ``direction=+1`` solves ``sum (w q - f)_+ = half`` over ascending ratios,
    ``-1`` solves ``sum (f - w q)_+ = half`` over descending ratios. A row with
    no active entry gets the neutral level 1.
    """
    # Volume at each breakpoint from the entries strictly before it: the entry
    # at the breakpoint adds exactly nothing there.
    volume = direction * (ratio * (q_cum - q) - (f_cum - f))
    # The active entries are the prefix of the segment short of the budget
    # (a monotone mask, so its count is the paper's argmax).
    n_active = (segment & (volume < half)).count_nonzero(dim=1)[:, None]
    last = (start + n_active - 1).clamp(min=0)
    f_active = f_cum.gather(1, last)
    q_active = q_cum.gather(1, last)
    level = (f_active + direction * half) / q_active
    end = (start + count - 1).clamp(min=0)
    gap = direction * (q_cum.gather(1, end) - f_cum.gather(1, end))
    gap = gap.where(count > 0, 0)
    return level.where((n_active > 0) & (q_active > 0), 1), gap


def _positions(tensor):
    import torch

    return torch.arange(tensor.shape[1], device=tensor.device)


def _cap(torch, f, kept, half):
    """Common cap of the drained entries: ``sum (f - cap)_+ = half`` over them."""
    f_sorted = -torch.sort(torch.where(kept, math.inf, -f), dim=1).values
    n_drained = (~kept).count_nonzero(dim=1)[:, None]
    segment = _positions(f) < n_drained
    f_sorted = torch.where(segment, f_sorted, 0)
    ones = torch.ones_like(f_sorted)
    f_cum = f_sorted.cumsum(dim=1)
    count_cum = ones.cumsum(dim=1)
    return _level(
        f_sorted, f_sorted, ones, f_cum, count_cum, segment, 0, n_drained, half, -1
    )[0]


def _check_tensors(torch, f, q, budget):
    from ..utils._torch import check_probability_tensors

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
    budget = torch.as_tensor(budget, dtype=dtype, device=device)
    if budget.ndim == 0:
        budget = budget.expand(f.shape[0])
    if budget.shape != (f.shape[0],):
        raise ValueError(
            f"budget must be a scalar or have shape ({f.shape[0]},); "
            f"got {tuple(budget.shape)}."
        )
    check_probability_tensors({"f": f, "q": q})
    if not bool(budget.isfinite().all() & (budget >= 0).all()):
        raise ValueError("budget must be finite and >= 0.")
    return f, q, budget
