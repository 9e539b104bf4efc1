"""Numba kernels of the Gaussian-mixture entropy penalty of MIDLinearRegression.

For predictions ``z`` with weights ``w`` (summing to 1) and bandwidth ``sigma``,
``S_i = sum_j w_j N(z_i - z_j; 0, sigma^2)`` and the penalty is
``L = -sum_i w_i log S_i``; its gradient is
``dL/dz_k = w_k / sigma^2 * sum_j w_j (z_k - z_j) N(z_k - z_j) (1/S_k + 1/S_j)``.
One Python body is compiled twice, serial and parallel over rows.
"""

import math

import numpy as np
from numba import njit, prange


def _entropy_and_gradient_body(z, w, sigma):
    n = z.shape[0]
    inv_two_var = 0.5 / (sigma * sigma)
    norm = 1.0 / math.sqrt(2.0 * math.pi * sigma * sigma)
    inv_sums = np.empty(n)
    for i in prange(n):
        acc = 0.0
        zi = z[i]
        for j in range(n):
            d = zi - z[j]
            acc += w[j] * math.exp(-d * d * inv_two_var)
        inv_sums[i] = 1.0 / (acc * norm)
    grad = np.empty(n)
    for k in prange(n):
        acc = 0.0
        zk = z[k]
        inv_k = inv_sums[k]
        for j in range(n):
            d = zk - z[j]
            acc += w[j] * d * math.exp(-d * d * inv_two_var) * (inv_k + inv_sums[j])
        grad[k] = w[k] * acc * norm / (sigma * sigma)
    value = 0.0
    for i in range(n):
        value += w[i] * math.log(inv_sums[i])
    return value, grad


# Fast-math flags that let LLVM vectorise exp but keep NaN/inf semantics.
_FASTMATH = {"reassoc", "contract", "afn", "arcp"}
_entropy_and_gradient_serial = njit(cache=True, fastmath=_FASTMATH)(
    _entropy_and_gradient_body
)
_entropy_and_gradient_parallel = njit(cache=True, parallel=True, fastmath=_FASTMATH)(
    _entropy_and_gradient_body
)

#: Below this many rows the serial kernel is faster than spawning threads.
PARALLEL_MIN_ROWS = 1000


def mixture_entropy_and_gradient(z, w, sigma):
    """Exact penalty and its gradient with respect to ``z``, in O(N^2)."""
    z = np.ascontiguousarray(z, dtype=np.float64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    if z.shape[0] >= PARALLEL_MIN_ROWS:
        return _entropy_and_gradient_parallel(z, w, float(sigma))
    return _entropy_and_gradient_serial(z, w, float(sigma))
