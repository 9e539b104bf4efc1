"""Numba kernels of exact two-sided water-filling and of per-query hashing.

Water-filling solves, row by row, ``min KL(p || q)`` subject to
``||p - f||_1 <= budget`` and ``p`` on the simplex (see
:func:`skmid.postprocessing.waterfill` for the derivation). Each half is a
one-dimensional root search for a water level over the breakpoints
``r_i = f_i / q_i``; the search is a randomised selection (quickselect with a
three-way partition), so a row costs O(K) expected work instead of the
O(K log K) of sorting. One Python body is compiled serial and parallel over rows.
"""

import numpy as np
from numba import njit, prange

_PIVOT_SEED = np.uint64(0x9E3779B97F4A7C15)
#: The finest grid of the query hash: its cells ``floor(resolution * p)``, for
#: ``p <= 1``, must fit the signed 64-bit integer the kernel converts them to.
MAX_HASH_RESOLUTION = 1e18
#: A target below ``f_k / MAX_RATIO`` counts as zero: the ratio would overflow.
MAX_RATIO = 1e300


@njit(cache=True, inline="always")
def _drained(f_k, q_k):
    return q_k == 0.0 or f_k > q_k * MAX_RATIO


@njit(cache=True, inline="always")
def _next_random(state):
    # xorshift64*: a fixed pivot sequence makes each row's result bit-reproducible
    # whatever thread or batch it is computed in.
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    return state, state * np.uint64(0x2545F4914F6CDD1D)


@njit(cache=True)
def _partition3(r, f, q, lo, hi, pivot):
    """Reorder ``[lo, hi)`` into ``r < pivot | r == pivot | r > pivot``.

    Returns the bounds ``(lt, gt)`` of the middle block and the sums of ``f``
    and ``q`` over each of the three blocks.
    """
    lt = lo
    i = lo
    gt = hi
    sums = np.zeros(6)  # f<, q<, f==, q==, f>, q>
    while i < gt:
        ri = r[i]
        if ri < pivot:
            sums[0] += f[i]
            sums[1] += q[i]
            r[i], r[lt] = r[lt], r[i]
            f[i], f[lt] = f[lt], f[i]
            q[i], q[lt] = q[lt], q[i]
            lt += 1
            i += 1
        elif ri > pivot:
            sums[4] += f[i]
            sums[5] += q[i]
            gt -= 1
            r[i], r[gt] = r[gt], r[i]
            f[i], f[gt] = f[gt], f[i]
            q[i], q[gt] = q[gt], q[i]
        else:
            sums[2] += f[i]
            sums[3] += q[i]
            i += 1
    return lt, gt, sums


@njit(cache=True)
def rising_level(r, f, q, n, half):
    """Level ``w`` with ``sum_i max(0, w q_i - f_i) = half`` over ``[0, n)``.

    ``r = f / q`` must be finite, ``q > 0`` and ``half > 0``; the three arrays
    are reordered in place.
    """
    state = _PIVOT_SEED
    f_active = 0.0
    q_active = 0.0
    lo = 0
    hi = n
    while lo < hi:
        state, draw = _next_random(state)
        pivot = r[lo + np.int64(draw % np.uint64(hi - lo))]
        lt, gt, sums = _partition3(r, f, q, lo, hi, pivot)
        # Water below level ``pivot``. Entries tied with the pivot add exactly
        # nothing, so they are left out rather than added as rounding noise.
        volume = pivot * (q_active + sums[1]) - (f_active + sums[0])
        if volume < half:
            f_active += sums[0] + sums[2]
            q_active += sums[1] + sums[3]
            lo = gt
        else:
            hi = lt
    if q_active == 0.0:  # no candidates: f and q differ only by rounding
        return 1.0
    return (f_active + half) / q_active


@njit(cache=True)
def falling_level(r, f, q, n, half):
    """Level ``w`` with ``sum_i max(0, f_i - w q_i) = half`` over ``[0, n)``.

    ``r = f / q`` must be finite, ``q > 0`` and ``half > 0``; the three arrays
    are reordered in place.
    """
    state = _PIVOT_SEED
    f_active = 0.0
    q_active = 0.0
    lo = 0
    hi = n
    while lo < hi:
        state, draw = _next_random(state)
        pivot = r[lo + np.int64(draw % np.uint64(hi - lo))]
        lt, gt, sums = _partition3(r, f, q, lo, hi, pivot)
        volume = (f_active + sums[4]) - pivot * (q_active + sums[5])
        if volume < half:
            f_active += sums[4] + sums[2]
            q_active += sums[5] + sums[3]
            hi = lt
        else:
            lo = gt
    if q_active == 0.0:
        return 1.0
    return (f_active - half) / q_active


def _waterfill_body(f, q, budget, out):
    n_rows, n_classes = f.shape
    for row in prange(n_rows):
        half = 0.5 * budget[row]
        fr = f[row]
        qr = q[row]
        pr = out[row]
        distance = 0.0
        for k in range(n_classes):
            distance += abs(fr[k] - qr[k])
        if half <= 0.0:
            pr[:] = fr
            continue
        if 2.0 * half >= distance:
            pr[:] = qr
            continue
        pr[:] = fr
        ratio = np.empty(n_classes)
        f_work = np.empty(n_classes)
        q_work = np.empty(n_classes)

        # Rising half: entries below q climb to w_up * q_k, with w_up < 1.
        n_up = 0
        for k in range(n_classes):
            if fr[k] < qr[k]:
                ratio[n_up] = fr[k] / qr[k]
                f_work[n_up] = fr[k]
                q_work[n_up] = qr[k]
                n_up += 1
        level = rising_level(ratio, f_work, q_work, n_up, half)
        for k in range(n_classes):
            if fr[k] < qr[k]:
                pr[k] = max(fr[k], level * qr[k])

        # Falling half. Entries with q_k = 0 (an infinite ratio) are drained
        # first: any mass left on them makes KL infinite. When they hold more
        # than the budget, they are lowered to a common level (the limit of
        # smoothing q towards uniform) and the rest stays put.
        zero_mass = 0.0
        n_zero = 0
        for k in range(n_classes):
            if fr[k] > 0.0 and _drained(fr[k], qr[k]):
                zero_mass += fr[k]
                ratio[n_zero] = fr[k]
                f_work[n_zero] = fr[k]
                q_work[n_zero] = 1.0
                n_zero += 1
        if zero_mass >= half:
            cap = falling_level(ratio, f_work, q_work, n_zero, half)
            for k in range(n_classes):
                if _drained(fr[k], qr[k]):
                    pr[k] = min(fr[k], cap)
            continue
        for k in range(n_classes):
            if _drained(fr[k], qr[k]):
                pr[k] = 0.0
        rest = half - zero_mass
        if rest <= 0.0:
            continue
        n_down = 0
        for k in range(n_classes):
            if fr[k] > qr[k] and not _drained(fr[k], qr[k]):
                ratio[n_down] = fr[k] / qr[k]
                f_work[n_down] = fr[k]
                q_work[n_down] = qr[k]
                n_down += 1
        level = falling_level(ratio, f_work, q_work, n_down, rest)
        for k in range(n_classes):
            if fr[k] > qr[k] and not _drained(fr[k], qr[k]):
                pr[k] = min(fr[k], level * qr[k])


waterfill_serial = njit(cache=True)(_waterfill_body)
waterfill_parallel = njit(cache=True, parallel=True)(_waterfill_body)


@njit(cache=True, inline="always")
def _splitmix64(x):
    x += np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _row_uniforms_body(p, resolution, seed, n_draws):
    n_rows, n_classes = p.shape
    out = np.empty((n_rows, n_draws))
    for row in prange(n_rows):
        h = _splitmix64(np.uint64(seed))
        for k in range(n_classes):
            cell = np.int64(np.floor(resolution * p[row, k]))
            h = _splitmix64(h ^ np.uint64(cell))
        for j in range(n_draws):
            h = _splitmix64(h + np.uint64(j))
            out[row, j] = np.float64(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return out


#: Uniforms in [0, 1) per row, a pure function of a hash of the row.
#:
#: The hash mixes ``seed`` with ``floor(resolution * p_k)`` for every entry, so
#: rows that agree on that grid get the same draws: a query perturbed by less
#: than the grid step usually keeps them (eq. 26 of the Stealthy Shield Defense
#: paper, with the output in place of the penultimate features).
row_uniforms_serial = njit(cache=True)(_row_uniforms_body)
row_uniforms_parallel = njit(cache=True, parallel=True)(_row_uniforms_body)
