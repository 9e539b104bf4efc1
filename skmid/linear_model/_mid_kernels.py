"""Numba kernels of the Gaussian-mixture entropy penalty of MIDLinearRegression.

They work in units of the bandwidth: for predictions ``u = z / sigma`` with
weights ``w`` (summing to 1) and ``K_ij = exp(-(u_i - u_j)^2 / 2)``, the sums
are ``S_i = sum_j w_j K_ij``, the penalty is ``L = log(2 pi) / 2 - sum_i w_i
log S_i`` and its gradient ``dL/du_i = (w_i / S_i) P_i + w_i Q_i`` with
``P_i = sum_j w_j d_ij K_ij``, ``Q_i = sum_j (w_j / S_j) d_ij K_ij`` and
``d_ij = u_i - u_j``. Without ``sigma`` in the loops no product of it can
underflow or overflow.

The sums are exact up to rounding but cost O(N) rather than O(N^2) pairs:

- The sorted predictions are cut into tiles of width at most ``TILE_WIDTH``
  (one bandwidth). Only tile pairs whose closest points are within
  ``CUTOFF`` (38.7) bandwidths are visited: beyond it ``K`` underflows to 0.0
  in double precision, so skipping them changes nothing. A tile has at most
  79 such partners, whatever ``N``.
- For tiles ``I`` and ``J`` with centres ``c_I``, ``c_J`` (``D = c_I - c_J``)
  and offsets ``a_i = u_i - c_I``, ``b_j = u_j - c_J`` (``|a|, |b| <= 1/2``),
  ``K_ij = F_i G_j exp(a_i b_j)`` exactly, with ``F_i = exp(-D^2/4 - D a_i -
  a_i^2/2)`` and ``G_j = exp(-D^2/4 + D b_j - b_j^2/2)``. As ``|a_i b_j| <=
  1/4``, ``SERIES_TERMS`` (13) terms of the series of ``exp(a_i b_j)`` leave a
  relative error below 4e-18, far under the rounding of ``K`` itself, and the
  series is summed with a condition number below exp(1/2): the sums of a tile
  pair, both ways, come from ``SERIES_TERMS + 1`` moments of each tile, in
  O(|I| + |J|) instead of O(|I| |J|).
- ``exp`` is a polynomial that the compiler vectorises, within two units in the
  last place of NumPy's (tested, subnormal results included).

Each compiled call handles a range of tile rows, of about ``WORK_PER_CALL``
point visits, and returns to Python: numba code does not see Ctrl-C, so a
KeyboardInterrupt is honoured between calls, within a fraction of a second
even when one evaluation takes minutes. One Python body per pass is compiled
twice, serial and parallel over the tile rows.
"""

import math

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

#: A compiled call visits about this many points (about ten milliseconds).
WORK_PER_CALL = 1 << 22
#: Point visits from which a pass runs on all threads: about 5 ms on one core,
#: so that starting the threads costs little against it.
PARALLEL_MIN_WORK = 1 << 21
#: Sums are floored here so that log S is finite and w/S is 0, not NaN, for a
#: row of zero weight far from all others (S >= w otherwise, by its own term).
SUM_FLOOR = 2.0 * np.finfo(np.float64).tiny
HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)
#: exp(-CUTOFF^2 / 2) is below half the smallest subnormal: K rounds to 0.0.
CUTOFF = 38.7
#: Largest spread of a tile, in bandwidths: |a b| <= TILE_WIDTH^2 / 4.
TILE_WIDTH = 1.0
#: Terms of the series of exp(a b): (1/4)^13 / 13! * exp(1/2) < 4e-18.
SERIES_TERMS = 13
_INVERSE_FACTORIALS = np.array([1.0 / math.factorial(k) for k in range(SERIES_TERMS)])
N_MOMENTS = SERIES_TERMS + 1

_LOG2E = 1.4426950408889634
# ln 2 split so that k * _LN2_HI is exact for |k| < 2^20 (fdlibm's constants)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# coefficients of (exp(r) - 1 - r) / r^2 on |r| <= ln(2) / 2, fitted to the
# relative error of exp in least squares at Chebyshev points (near-minimax)
_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9 = (
    0.5000000000000016,
    0.16666666666666555,
    0.041666666666500145,
    0.008333333333384858,
    0.001388888895146349,
    0.00019841269787782454,
    2.480148512836868e-05,
    2.755730632700295e-06,
    2.763310988402317e-07,
    2.5097527477162944e-08,
)


@intrinsic
def _as_float64(typingctx, bits):
    # numba has no scalar bit cast; 2^k is built from its exponent bits
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


# No "reassoc": the ln 2 split must not be folded back into one rounded product.
@njit(cache=True, error_model="numpy", fastmath={"contract"})
def exp_nonpositive(x):
    """``exp(x)`` for ``x <= 0`` in straight-line code the compiler vectorises.

    numba's ``math.exp`` is a call into libm, which keeps loops scalar. The
    scale ``2^k`` is applied as two factors so that results down to the
    smallest subnormal are rounded once.
    """
    x = max(x, -746.0)  # exp is 0.0 below; also maps -inf
    k = math.floor(x * _LOG2E + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = _E9
    p = p * r + _E8
    p = p * r + _E7
    p = p * r + _E6
    p = p * r + _E5
    p = p * r + _E4
    p = p * r + _E3
    p = p * r + _E2
    p = p * r + _E1
    p = p * r + _E0
    p = (r * r) * p + r + 1.0
    k_int = np.int64(k)
    half = k_int >> 1
    return (
        p * _as_float64((half + 1023) << 52) * _as_float64((k_int - half + 1023) << 52)
    )


# Loops index with unsigned integers: numba's wraparound of negative indices
# otherwise hides the address ranges from LLVM, which then cannot prove that
# the stores do not overlap the loads and keeps the loops scalar.
_OPTIONS = {
    "cache": True,
    "error_model": "numpy",
    "fastmath": {"reassoc", "contract", "arcp"},
}


@njit(**_OPTIONS)
def _factors_and_moments(u, v, tile, log_common, slope, factors, powers, moments):
    """Factors ``exp(log_common + slope a - a^2/2)`` and moments ``sum v F a^k``."""
    lo, hi, centre = tile
    for ii in range(lo, hi):
        i = np.uint64(ii)
        r = np.uint64(ii - lo)
        a = u[i] - centre
        factor = exp_nonpositive(log_common + slope * a - 0.5 * a * a)
        factors[r] = factor
        powers[r] = v[i] * factor
    for k in range(N_MOMENTS):
        acc = 0.0
        for ii in range(lo, hi):
            i = np.uint64(ii)
            r = np.uint64(ii - lo)
            acc += powers[r]
            powers[r] *= u[i] - centre
        moments[k] = acc


@njit(**_OPTIONS)
def _evaluate(u, tile, shift, factors, moments, sums, d_sums):
    """Add the other tile's contributions to ``sums`` and ``d_sums`` of a tile."""
    lo, hi, centre = tile
    for ii in range(lo, hi):
        i = np.uint64(ii)
        a = u[i] - centre
        # Horner in a for sum_k a^k / k! M_k and sum_k a^k / k! M_{k+1}
        h0 = moments[SERIES_TERMS - 1] * _INVERSE_FACTORIALS[SERIES_TERMS - 1]
        h1 = moments[SERIES_TERMS] * _INVERSE_FACTORIALS[SERIES_TERMS - 1]
        for k in range(SERIES_TERMS - 2, -1, -1):
            h0 = h0 * a + moments[k] * _INVERSE_FACTORIALS[k]
            h1 = h1 * a + moments[k + 1] * _INVERSE_FACTORIALS[k]
        f = factors[np.uint64(ii - lo)]
        contribution = f * h0
        sums[i] += contribution
        # d = shift + a - b: the b term is the shifted series
        d_sums[i] += (shift + a) * contribution - f * h1


def _pass_body(
    u, v, starts, centres, ends, first, stop, sums, d_sums, buffers, moments
):
    # sums[c, i] += sum_j v_j K_ij and d_sums[c, i] += sum_j v_j d_ij K_ij
    # over the tile rows first + c, first + c + n_chunks, ... < stop, each
    # tile pair visited once (col >= row) and used both ways.
    n_chunks = sums.shape[0]
    for c in prange(n_chunks):
        factors_i, factors_j, powers = buffers[c, 0], buffers[c, 1], buffers[c, 2]
        moments_i, moments_j = moments[c, 0], moments[c, 1]
        for row in range(first + c, stop, n_chunks):
            tile_i = (starts[row], starts[row + 1], centres[row])
            for col in range(row, ends[row]):
                tile_j = (starts[col], starts[col + 1], centres[col])
                delta = centres[row] - centres[col]
                log_common = -0.25 * delta * delta
                _factors_and_moments(
                    u, v, tile_i, log_common, -delta, factors_i, powers, moments_i
                )
                if col == row:
                    _evaluate(u, tile_i, 0.0, factors_i, moments_i, sums[c], d_sums[c])
                    continue
                _factors_and_moments(
                    u, v, tile_j, log_common, delta, factors_j, powers, moments_j
                )
                _evaluate(u, tile_j, -delta, factors_j, moments_i, sums[c], d_sums[c])
                _evaluate(u, tile_i, delta, factors_i, moments_j, sums[c], d_sums[c])


_pass_serial = njit(**_OPTIONS)(_pass_body)
_pass_parallel = njit(parallel=True, **_OPTIONS)(_pass_body)


@njit(cache=True)
def _tile_starts(u):
    """Greedy tiles of sorted ``u``: each spans at most ``TILE_WIDTH``."""
    starts = np.empty(u.shape[0] + 1, dtype=np.int64)
    n_tiles = 0
    first = u[0]
    starts[0] = 0
    for i in range(1, u.shape[0]):
        if u[i] - first > TILE_WIDTH:
            n_tiles += 1
            starts[n_tiles] = i
            first = u[i]
    starts[n_tiles + 1] = u.shape[0]
    return starts[: n_tiles + 2].copy()


def _row_blocks(row_work, work_per_call):
    """``(first, stop)`` ranges of tile rows of about ``work_per_call`` each."""
    cumulative = np.cumsum(row_work)
    blocks, first = [], 0
    while first < len(row_work):
        done = cumulative[first - 1] if first else 0
        stop = int(np.searchsorted(cumulative, done + work_per_call, side="right"))
        stop = max(stop, first + 1)
        blocks.append((first, stop))
        first = stop
    return blocks


class _Tiles:
    """The tiling of sorted predictions and the compiled passes over it."""

    def __init__(self, u):
        starts = _tile_starts(u)
        firsts, lasts = u[starts[:-1]], u[starts[1:] - 1]
        centres = 0.5 * firsts + 0.5 * lasts
        # partners of a tile: the tiles from it up to the last one starting
        # within CUTOFF of its last point
        ends = np.searchsorted(firsts, lasts + CUTOFF, side="right")
        self.tiling = starts, centres, ends
        counts = np.diff(starts)
        rows = np.arange(len(counts))
        # a row's own tile is visited twice per partner, each partner once
        row_work = 2 * counts * (ends - rows) + (starts[ends] - starts[rows])
        self.blocks = _row_blocks(row_work, WORK_PER_CALL)
        parallel = row_work.sum() >= PARALLEL_MIN_WORK
        self.n_chunks = numba.get_num_threads() if parallel else 1
        self.run = _pass_parallel if parallel else _pass_serial
        self.buffer_size = int(counts.max())

    def sums(self, u, v):
        """``sum_j v_j K_ij`` and ``sum_j v_j d_ij K_ij`` for every ``i``."""
        sums = np.zeros((self.n_chunks, u.shape[0]))
        d_sums = np.zeros((self.n_chunks, u.shape[0]))
        buffers = np.empty((self.n_chunks, 3, self.buffer_size))
        moments = np.empty((self.n_chunks, 2, N_MOMENTS))
        for first, stop in self.blocks:
            self.run(u, v, *self.tiling, first, stop, sums, d_sums, buffers, moments)
        return sums.sum(axis=0), d_sums.sum(axis=0)


def mixture_entropy_and_gradient(u, w):
    """Exact penalty and its gradient with respect to ``u``.

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
    order = np.argsort(u)
    u = np.ascontiguousarray(u[order], dtype=np.float64)
    w = np.ascontiguousarray(w[order], dtype=np.float64)
    tiles = _Tiles(u)
    sums, d_sums_w = tiles.sums(u, w)
    np.maximum(sums, SUM_FLOOR, out=sums)
    w_over_sums = w / sums
    _, d_sums_ws = tiles.sums(u, w_over_sums)
    grad = np.empty_like(u)
    grad[order] = w_over_sums * d_sums_w + w * d_sums_ws
    value = HALF_LOG_TWO_PI - float(np.dot(w, np.log(sums)))
    return value, grad
