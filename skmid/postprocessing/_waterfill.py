r"""Exact two-sided water-filling: the KL projection under an L1 budget.

For a probability vector :math:`f` (the model's output), a target :math:`q`
(a class prototype) and a budget :math:`\varepsilon`, water-filling solves

.. math::

    \min_{p \in \Delta_K} \mathrm{KL}(p \,\|\, q)
    \quad \text{s.t.} \quad \|p - f\|_1 \le \varepsilon,

problem (13)/(14) of the Stealthy Shield Defense paper.
"""

import numbers

import numba
import numpy as np

from ..utils._validation import PROBABILITY_ATOL, check_probability_matrix
from ._waterfill_kernels import (
    INVALID_INPUT,
    invalid_rows_parallel,
    invalid_rows_serial,
    waterfill_parallel,
    waterfill_serial,
)

#: Below this many entries (rows x classes) the serial kernel is faster.
PARALLEL_MIN_ENTRIES = 20_000
#: Entries per kernel call (a fraction of a second): numba code does not see
#: Ctrl-C, so a long job is split into calls that return to Python in between.
KERNEL_CALL_ENTRIES = 2**22


def kernel_row_chunks(n_rows, n_columns):
    """Slices of rows, each with at most ``KERNEL_CALL_ENTRIES`` entries (or 1 row)."""
    step = max(1, KERNEL_CALL_ENTRIES // max(n_columns, 1))
    return [slice(start, start + step) for start in range(0, n_rows, step)]


def waterfill(f, q, budget):
    r"""Project probability vectors towards targets in KL, within an L1 budget.

    Solves, independently for each row,

    .. math::

        \min_{p \in \Delta_K} \mathrm{KL}(p \,\|\, q)
        \quad \text{s.t.} \quad \|p - f\|_1 \le \varepsilon,

    exactly (Appendix C of the Stealthy Shield Defense paper, with both halves).
    If :math:`\|q - f\|_1 \le \varepsilon` the answer is :math:`q`. Otherwise the
    budget is spent in full and half of it moves each way. The KKT conditions of
    the Lagrangian with a multiplier :math:`\mu \ge 0` for the budget give
    :math:`\log(p_k / q_k) = c - \mu s_k` with :math:`s_k \in
    \partial |p_k - f_k|`, so there are two water levels
    :math:`w_\uparrow < 1 < w_\downarrow` with

    .. math::

        p_k = \min\bigl(\max(f_k,\; w_\uparrow q_k),\; w_\downarrow q_k\bigr),
        \qquad
        \sum_k (w_\uparrow q_k - f_k)_+ = \sum_k (f_k - w_\downarrow q_k)_+
        = \frac{\varepsilon}{2}.

    Entries with :math:`f_k < q_k` rise to the level :math:`w_\uparrow q_k` (the
    half the paper writes out); entries with :math:`f_k > q_k` fall to
    :math:`w_\downarrow q_k` (the mirror half). Each level is the root of a
    monotone piecewise-linear function of the level with breakpoints
    :math:`f_k / q_k`. The numba kernel finds both in three streaming passes
    over a row, without sorting or moving it: a histogram of the breakpoints
    that locates each root within 1/8 octave, a copy of the few entries of
    that bucket into a small scratch where a selection finds the exact root,
    and the clipping pass that writes :math:`p`. The same first pass checks
    that the rows of ``f`` and ``q`` are probability vectors, and the kernel
    runs in parallel over rows. Time and memory per row are O(K), with no
    allocation that grows with K besides the output.

    Entries with :math:`q_k = 0` cannot keep any mass at finite KL, so the
    falling half drains them first. If they hold more than
    :math:`\varepsilon / 2`, every feasible :math:`p` has infinite KL; the
    answer is then the limit of the problem as :math:`q` is smoothed towards
    uniform: those entries are lowered to a common cap and the other entries do
    not fall.

    Parameters
    ----------
    f : array-like or torch.Tensor of shape (n_samples, n_classes)
        Original probability vectors.
    q : array-like or torch.Tensor of shape (n_samples, n_classes) or (n_classes,)
        Target probability vectors (one per row, or one for all rows).
    budget : float or array-like of shape (n_samples,)
        L1 budget :math:`\varepsilon \ge 0` of each row.

    Returns
    -------
    p : ndarray or torch.Tensor of shape (n_samples, n_classes)
        The solutions, rows on the simplex, with
        :math:`\|p - f\|_1 \le \varepsilon` up to rounding (about
        ``n_classes`` units in the last place). A torch tensor in gives a
        tensor out on the same device, computed by the sort-based torch
        algorithm (the paper's Algorithm 3, completed with the falling half).

    See Also
    --------
    CMIPostProcessor : The defense that water-fills towards class prototypes.

    Examples
    --------
    >>> import numpy as np
    >>> from skmid.postprocessing import waterfill
    >>> f = np.array([[0.7, 0.2, 0.1]])
    >>> q = np.array([[0.2, 0.3, 0.5]])
    >>> p = waterfill(f, q, 0.4)
    >>> p.round(4)
    array([[0.5, 0.2, 0.3]])
    >>> float(np.abs(p - f).sum().round(12))
    0.4
    >>> waterfill(f, q, 2.0)  # enough budget: the target itself
    array([[0.2, 0.3, 0.5]])
    """
    if _is_torch_tensor(f) or _is_torch_tensor(q):
        from ._waterfill_torch import waterfill_torch

        return waterfill_torch(f, q, budget)
    f = _probability_rows(f, "f")
    q = np.asarray(q)
    if q.ndim == 1:
        if q.shape[0] != f.shape[1]:
            raise ValueError(
                f"q of shape {q.shape} must have one entry per column of f "
                f"({f.shape[1]}), or the shape of f."
            )
        # One target for all rows: the kernel reads it once per row rather
        # than from a broadcast copy.
        q = _probability_rows(q[None, :], "q")
        q_rows = np.zeros(f.shape[0], dtype=np.intp)
    else:
        q = _probability_rows(q, "q")
        q_rows = np.arange(f.shape[0])
        if q.shape != f.shape:
            raise ValueError(
                f"f and q must have the same shape; got {f.shape} and {q.shape}."
            )
    budget = check_budget(budget, f.shape[0])
    out, status = solve_waterfill(f, q, q_rows, budget)
    flagged = np.flatnonzero(status == INVALID_INPUT)
    if flagged.size:
        check_probability_matrix(f, input_name="f")
        check_probability_matrix(q, input_name="q")
        # NumPy's sums accept these rows (within rounding of the tolerance).
        out[flagged], _ = solve_waterfill(
            f[flagged], q, q_rows[flagged], budget[flagged], validate=False
        )
    return out


def _probability_rows(values, name):
    """``values`` as a C-contiguous float64 matrix.

    A float64 ndarray is only made contiguous: the kernel checks its rows in
    the pass that reads them (one pass for validation and water-filling).
    Anything else is converted and validated here.
    """
    if not (
        isinstance(values, np.ndarray)
        and values.dtype == np.float64
        and values.ndim == 2
        and values.size
    ):
        values = check_probability_matrix(values, input_name=name)
    return np.ascontiguousarray(values)


def solve_waterfill(f, q, q_rows, budget, *, validate=True):
    """Water-fill rows ``f[i]`` towards ``q[q_rows[i]]``: ``(p, status)``.

    ``f`` and ``q`` are C-contiguous float64 matrices and ``budget`` has one
    entry per row. With ``validate``, a row of ``f`` or of its target that is
    not a probability vector gets the status ``INVALID_INPUT`` (and ``p = f``),
    not an error.
    """
    budget = np.ascontiguousarray(budget, dtype=np.float64)
    out = np.empty_like(f)
    status = np.empty(f.shape[0], dtype=np.int8)
    for rows, kernel, n_blocks in kernel_calls(
        waterfill_serial, waterfill_parallel, *f.shape
    ):
        kernel(
            f[rows],
            q,
            q_rows[rows],
            budget[rows],
            out[rows],
            status[rows],
            n_blocks,
            validate,
        )
    return out, status


def kernel_calls(serial, parallel, n_rows, n_columns):
    """``(rows, kernel, n_blocks)`` for each bounded call over an (n_rows, n_columns)
    matrix: the serial variant for small calls, else the parallel one over
    ``n_blocks`` blocks of rows (one per thread)."""
    if n_rows * n_columns < min(PARALLEL_MIN_ENTRIES, KERNEL_CALL_ENTRIES):
        return ((slice(None), serial, 1),)  # one small call: the common query
    return [
        (rows, *_variant(serial, parallel, len(range(n_rows)[rows]), n_columns))
        for rows in kernel_row_chunks(n_rows, n_columns)
    ]


def _variant(serial, parallel, n_rows, n_columns):
    if n_rows < 2 or n_rows * n_columns < PARALLEL_MIN_ENTRIES:
        return serial, 1
    return parallel, min(n_rows, numba.get_num_threads())


def invalid_probability_rows(P, atol=PROBABILITY_ATOL):
    """``(mask, count)`` of the rows of a C-contiguous float64 matrix that are not
    probability vectors: the decisions of :func:`check_probability_matrix`, in
    one pass."""
    invalid = np.empty(P.shape[0], dtype=np.bool_)
    count = 0
    for rows, kernel, n_blocks in kernel_calls(
        invalid_rows_serial, invalid_rows_parallel, *P.shape
    ):
        count += kernel(P[rows], atol, invalid[rows], n_blocks)
    return invalid, count


def check_budget(budget, n_samples):
    """A float64 budget per row, or a ValueError for negative, NaN or bad shape."""
    if isinstance(budget, numbers.Real) and not isinstance(budget, bool):
        budget = np.full(n_samples, float(budget))
    else:
        budget = np.asarray(budget, dtype=np.float64)
        if budget.ndim == 0:
            budget = np.full(n_samples, float(budget))
        elif budget.shape != (n_samples,):
            raise ValueError(
                f"budget must be a scalar or have shape ({n_samples},); "
                f"got shape {budget.shape}."
            )
    if not np.all(np.isfinite(budget)) or np.any(budget < 0):
        raise ValueError("budget must be finite and >= 0.")
    return np.ascontiguousarray(budget)


def _is_torch_tensor(value):
    torch = _loaded_torch()
    return torch is not None and isinstance(value, torch.Tensor)


def _loaded_torch():
    # Only a program that already imported torch can pass a tensor, so
    # checking sys.modules keeps torch out of numpy-only programs.
    import sys

    return sys.modules.get("torch")


def waterfill_reference(f, q, budget):
    """One row of the problem solved by a generic solver (scipy's SLSQP).

    The reference that tests and benchmarks compare :func:`waterfill` with:
    ``p = f + up - down`` with ``up, down >= 0``, ``sum(up) = sum(down)``,
    ``sum(up + down) <= budget`` and ``p >= 0``. O(K^3); small K only.
    """
    from scipy.optimize import minimize

    f = np.asarray(f, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    k = len(f)

    def objective(z):
        p = np.clip(f + z[:k] - z[k:], 1e-300, None)
        return np.sum(p * np.log(p / q))

    def gradient(z):
        p = np.clip(f + z[:k] - z[k:], 1e-300, None)
        g = np.log(p / q) + 1
        return np.r_[g, -g]

    constraints = [
        {"type": "eq", "fun": lambda z: z[:k].sum() - z[k:].sum()},
        {"type": "ineq", "fun": lambda z: budget - z.sum()},
        {"type": "ineq", "fun": lambda z: f + z[:k] - z[k:]},
    ]
    result = minimize(
        objective,
        np.zeros(2 * k),
        jac=gradient,
        constraints=constraints,
        bounds=[(0, None)] * (2 * k),
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 2000},
    )
    return np.clip(f + result.x[:k] - result.x[k:], 0, None)
