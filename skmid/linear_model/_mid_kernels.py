"""Numba kernels of the Gaussian-mixture entropy penalty of MIDLinearRegression.

They work in units of the bandwidth: for predictions ``u = z / sigma`` with
weights ``w`` (summing to 1), ``S_i = sum_j w_j exp(-(u_i - u_j)^2 / 2)``, the
penalty is ``L = log(2 pi) / 2 - sum_i w_i log S_i`` and its gradient is
``dL/du_k = w_k sum_j w_j (u_k - u_j) exp(-(u_k - u_j)^2 / 2) (1/S_k + 1/S_j)``.
Without ``sigma`` in the loops no product of it can underflow or overflow.

Each compiled call handles one block of rows, of about ``PAIRS_PER_CALL``
pairs, and returns to Python: numba code does not see Ctrl-C, so a
KeyboardInterrupt is honoured between blocks, within a fraction of a second
even when one evaluation takes minutes. One Python body per pass is compiled
twice, serial and parallel over the rows of the block.
"""

import math

import numpy as np
from numba import njit, prange

#: Rows per compiled call are chosen so that a call sums about this many pairs
#: (a few tenths of a second on one core).
PAIRS_PER_CALL = 1 << 24
#: Below this many rows the serial kernels are faster than spawning threads.
PARALLEL_MIN_ROWS = 1000
#: Sums are floored here so that log S is finite and w/S is 0, not NaN, for a
#: row of zero weight far from all others (S >= w otherwise, by its own term).
SUM_FLOOR = 2.0 * np.finfo(np.float64).tiny
HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


def _block_sums_body(u, w, start, out):
    n = u.shape[0]
    for r in prange(out.shape[0]):
        ui = u[start + r]
        acc = 0.0
        for j in range(n):
            d = ui - u[j]
            acc += w[j] * math.exp(-0.5 * d * d)
        out[r] = acc


def _block_gradient_body(u, w, w_over_sums, start, out):
    # w_k sum_j w_j d e (1/S_k + 1/S_j), split as two sums so that the inner
    # loop needs neither 1/S_k nor 1/S_j alone (either may be huge)
    n = u.shape[0]
    for r in prange(out.shape[0]):
        k = start + r
        uk = u[k]
        acc_w = 0.0
        acc_ws = 0.0
        for j in range(n):
            d = uk - u[j]
            de = d * math.exp(-0.5 * d * d)
            acc_w += w[j] * de
            acc_ws += w_over_sums[j] * de
        out[r] = w_over_sums[k] * acc_w + w[k] * acc_ws


# Fast-math flags that let LLVM vectorise exp but keep NaN/inf semantics; the
# numpy error model drops the division-by-zero checks from the loops.
_OPTIONS = {
    "cache": True,
    "error_model": "numpy",
    "fastmath": {"reassoc", "contract", "afn", "arcp"},
}
_block_sums_serial = njit(**_OPTIONS)(_block_sums_body)
_block_sums_parallel = njit(parallel=True, **_OPTIONS)(_block_sums_body)
_block_gradient_serial = njit(**_OPTIONS)(_block_gradient_body)
_block_gradient_parallel = njit(parallel=True, **_OPTIONS)(_block_gradient_body)


def _row_blocks(n):
    rows = max(1, PAIRS_PER_CALL // max(n, 1))
    return [(start, min(start + rows, n)) for start in range(0, n, rows)]


def mixture_entropy_and_gradient(u, w):
    """Exact penalty and its gradient with respect to ``u``, in O(N^2).

    Parameters
    ----------
    u : ndarray of shape (n_samples,)
        Predictions in units of the bandwidth, finite, with ``|u| <= 1e307`` so
        that no difference overflows.
    w : ndarray of shape (n_samples,)
        Non-negative weights summing to 1.

    Returns
    -------
    value : float
    gradient : ndarray of shape (n_samples,)
    """
    u = np.ascontiguousarray(u, dtype=np.float64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    n = u.shape[0]
    parallel = n >= PARALLEL_MIN_ROWS
    block_sums = _block_sums_parallel if parallel else _block_sums_serial
    block_gradient = _block_gradient_parallel if parallel else _block_gradient_serial
    blocks = _row_blocks(n)

    sums = np.empty(n)
    for start, stop in blocks:
        block_sums(u, w, start, sums[start:stop])
    np.maximum(sums, SUM_FLOOR, out=sums)
    w_over_sums = w / sums
    grad = np.empty(n)
    for start, stop in blocks:
        block_gradient(u, w, w_over_sums, start, grad[start:stop])
    value = HALF_LOG_TWO_PI - float(np.dot(w, np.log(sums)))
    return value, grad
