"""Numba kernels of exact two-sided water-filling, of the CMI defense per query and
of per-query hashing.

Water-filling solves, row by row, ``min KL(p || q)`` subject to
``||p - f||_1 <= budget`` and ``p`` on the simplex (see
:func:`skmid.postprocessing.waterfill` for the derivation): ``p_k = min(max(f_k,
w_up q_k), w_down q_k)``, where each water level is the root of a monotone
piecewise-linear function whose breakpoints are the ratios ``r_k = f_k / q_k``.

A long row takes two streaming passes over ``f`` and ``q`` and moves no data:

1. the row's sums (for validation and for the "the budget reaches q" test) and
   a histogram of each half's ratios over 512 buckets of 1/8 octave. A bucket
   is a range of the ratios' bit patterns, which order like the ratios, so a
   ratio's bucket is a shift and a clamp (SIMD), and the volume of water at
   every bucket edge follows exactly from the bucket sums: the bucket holding
   each root is known after one pass. Each entry's bucket is also written, in
   2 bytes, into the output row (free until the last pass);
2. the entries of the two buckets holding the roots (a few per thousand on
   real outputs), found from those 2-byte codes rather than by reading ``f``
   and ``q`` again, are copied into a scratch of at most ``SCRATCH`` entries,
   where a randomised selection (quickselect with a three-way partition) finds
   the exact roots;
3. ``p`` is written and its sum checked.

A bucket too full for the scratch (ratios packed within 1/8 octave) is split
by the histogram pass again, at most ``MAX_PASSES`` passes in all. Rows of at
most ``SMALL_ROW`` entries try every ratio at once instead (O(K^2), SIMD),
which beats any bookkeeping at that size.

Costs that numba hides shape the code: a call that is not inlined costs about
10 ns per array argument (reference counting), so hot calls are made per chunk
of a row or per block of rows, never per entry, leaf or short row; variants
are compiled by inlining small loops where their flag is a constant (numba IR
inlining of anything large multiplies compile time); and loops index with
unsigned integers, since numba's test for negative indices keeps them from
running in SIMD. Scratch and histograms are allocated per block of rows,
before the parallel loop. Each body is compiled serial, and parallel over
blocks of rows.
"""

import math

import numpy as np
from numba import njit, prange

from ..utils._validation import PROBABILITY_ATOL

_PIVOT_SEED = np.uint64(0x9E3779B97F4A7C15)
#: The finest grid of the query hash: its cells ``floor(resolution * p)``, for
#: ``p <= 1``, must fit the signed 64-bit integer the kernel converts them to.
MAX_HASH_RESOLUTION = 1e18
#: A target below ``f_k / MAX_RATIO`` counts as zero: the ratio would overflow.
MAX_RATIO = 1e300
#: Entries of the selection scratch (per thread): three float64 arrays of this
#: length stay within the L2 cache.
SCRATCH = 16384
#: Rows up to this length find their levels by an O(K^2) sweep.
SMALL_ROW = 64
#: Passes over a row at most (histograms and copies to the scratch) before a
#: root is taken from the sums alone (only ties within rounding remain by then).
MAX_PASSES = 12
#: Entries per histogram call in pass 1: the call's fixed cost is spread, and
#: the chunk is still in the L1 cache when the sums read it.
_CHUNK = 2048

_LOG2_BUCKETS = 9
_BUCKETS = 1 << _LOG2_BUCKETS
_GROUP = _BUCKETS + 2  # below the window, the buckets, above the window
_UP = 0
_DOWN = _GROUP
_DRAINED = 2 * _GROUP
_IGNORED = _DRAINED + 1
_SLOTS = _IGNORED + 1
_ABS = np.int64(0x7FFFFFFFFFFFFFFF)
_ONE_BITS = np.int64(0x3FF0000000000000)
_TWO_BITS = np.int64(0x4000000000000000)
#: Keys of the falling half count from 1.0, so that they and every window
#: offset stay below 2**62 (no int64 overflow).
_DOWN_END = int(np.float64(MAX_RATIO).view(np.int64)) - int(_ONE_BITS) + 1
#: First-pass windows: 64 octaves at 8 buckets per octave, [2**-64, 1) for the
#: rising ratios, [1, 2**64) for the falling ones, [2**-63, 2) for the entries
#: of a drained target.
_FIRST_SHIFT = 52 + 6 - _LOG2_BUCKETS
_FIRST_UP_LOW = int(np.float64(2.0**-64).view(np.int64))
_FIRST_CAP_LOW = int(np.float64(2.0**-63).view(np.int64))
_BLOCK = 128  # entries whose slots are computed (SIMD) before they are scattered
INVALID_INPUT = 1
_INVALID_OUTPUT = 2


@njit(cache=True, error_model="numpy", inline="always")
def _bits(x):
    return np.float64(x).view(np.int64)


@njit(cache=True, error_model="numpy", inline="always")
def _float(bits):
    return np.int64(bits).view(np.float64)


# --- exp and log in SIMD ---------------------------------------------------------

_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of log(2): k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.44269504088896338700e00
_SQRT2 = 1.41421356237309514547e00
_MANTISSA = np.int64((1 << 52) - 1)
#: Taylor coefficients 1/k! of exp, from k = 13 down to 2.
_EXP_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(13, 1, -1))
#: fdlibm's minimax coefficients of log((1 + s) / (1 - s)).
_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)


@njit(cache=True, error_model="numpy")
def _exp_nonpositive(x):
    """``exp(x)`` for ``x <= 0`` (or -inf) within a few units in the last place,
    and 0 below -708 (a softmax weight that small never decides a draw).

    Branch-free, unlike the C library's, so a loop of it runs in SIMD: the
    CMI defense takes one per class and query.
    """
    y = max(x, -708.0)
    k = np.floor(y * _LOG2E + 0.5)
    r = (y - k * _LN2_HI) - k * _LN2_LO  # |r| <= log(2) / 2: 13 terms suffice
    p = _EXP_TAYLOR[0]
    for c in _EXP_TAYLOR[1:]:
        p = p * r + c
    p = (p * r + 1.0) * r + 1.0
    scale = _float((np.int64(k) + 1023) << 52)
    return p * scale if x > -708.0 else 0.0


@njit(cache=True, error_model="numpy")
def _log_positive(x):
    """``log(x)`` for finite ``x > 0`` within a few units in the last place
    (fdlibm's method, branch-free so that a loop of it runs in SIMD)."""
    subnormal = x < 2.2250738585072014e-308
    x = x * 18014398509481984.0 if subnormal else x  # 2**54
    bits = _bits(x)
    e = (bits >> 52) - 1023 - (54 if subnormal else 0)
    m = _float((bits & _MANTISSA) | _ONE_BITS)  # in [1, 2)
    big = m > _SQRT2
    m = 0.5 * m if big else m
    k = np.float64(e + big)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6])))
    r += w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
    half_f2 = 0.5 * f * f
    return k * _LN2_HI - ((half_f2 - (s * (half_f2 + r) + k * _LN2_LO)) - f)


# --- sums in NumPy's order ------------------------------------------------------
#
# NumPy sums a row of up to 128 terms in 8 lanes (term k into lane k % 8), adds
# the lanes pairwise and then the last n % 8 terms one by one; fewer than 8
# terms it adds in order. The sums here do the same over the whole row, so they
# equal NumPy's bit for bit up to 128 terms (so that a budget equal to
# ``np.abs(f - q).sum(axis=1)`` reaches q exactly), and stay as accurate beyond.


_F, _Q, _DISTANCE = 0, 1, 2  # the terms a sum can add


@njit(cache=True, error_model="numpy")
def _term(a, b, i, which):
    if which == _F:
        return a[i]
    if which == _Q:
        return b[i]
    return abs(a[i] - b[i])


@njit(cache=True, error_model="numpy", inline="always")
def _lanes(which, a, b, lo, hi, lanes):
    """Add the terms ``[lo, hi)`` (a multiple of 8 of them) to the 8 lanes.

    Inlined where ``which`` is a constant, so the loop is compiled for its term.
    """
    r0, r1, r2, r3, r4, r5, r6, r7 = lanes
    one = np.uint64(1)
    for k in range(lo, hi, 8):
        i = np.uint64(k)
        r0 += _term(a, b, i, which)
        r1 += _term(a, b, i + one, which)
        r2 += _term(a, b, i + 2 * one, which)
        r3 += _term(a, b, i + 3 * one, which)
        r4 += _term(a, b, i + 4 * one, which)
        r5 += _term(a, b, i + 5 * one, which)
        r6 += _term(a, b, i + 6 * one, which)
        r7 += _term(a, b, i + 7 * one, which)
    return r0, r1, r2, r3, r4, r5, r6, r7


@njit(cache=True, error_model="numpy", inline="always")
def _lanes_total(which, a, b, n, lanes):
    """The lanes' total plus the last ``n % 8`` of ``n`` terms, as NumPy adds them."""
    if n < 8:
        total = 0.0
        for k in range(n):
            total += _term(a, b, np.uint64(k), which)
        return total
    r0, r1, r2, r3, r4, r5, r6, r7 = lanes
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for k in range(n - n % 8, n):
        total += _term(a, b, np.uint64(k), which)
    return total


_NO_LANES = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def _row_sum(which, a, b):
    """Sum of a term over a row, in the order above."""
    n = a.shape[0]
    lanes = _lanes(which, a, b, 0, n - n % 8, _NO_LANES)
    return _lanes_total(which, a, b, n, lanes)


@njit(cache=True, error_model="numpy")
def _has_negative(a, b, lo, hi):
    negative = False
    for k in range(lo, hi):
        i = np.uint64(k)
        negative |= (a[i] < 0.0) | (b[i] < 0.0)
    return negative


# --- entries: their half, key and weights; histograms; copies to the scratch --


@njit(cache=True, error_model="numpy", inline="always")
def _classify(fk, qk, cap):
    """``(group, key, ratio, f, q)`` of one entry.

    Group 0 rises (ratio < 1), 1 falls (1 < ratio <= MAX_RATIO), 2 has a drained
    target, 3 stays. Keys are bit patterns, ordered like the ratios. With
    ``cap``, the drained entries fall instead, to a common cap (ratio ``f``,
    weight 1), and the other falling entries stay. Conditional expressions
    only, which compile to SIMD selects.
    """
    r = fk / qk
    bits = _bits(r) & _ABS
    up = r < 1.0
    drained = not r <= MAX_RATIO  # also inf and NaN (0 / 0)
    down = (r > 1.0) & ~drained
    fall = drained if cap else down
    key = bits if up else ((_bits(fk) & _ABS) if cap else bits - _ONE_BITS)
    group = 0 if up else (1 if fall else (2 if drained else 3))
    capped = cap & drained
    return group, key, fk if capped else r, fk, 1.0 if capped else qk


@njit(cache=True, error_model="numpy", inline="always")
def _histogram_of(f, q, lo, hi, cap, windows, hist_f, hist_q, slots, weights, codes):
    """Add entries ``[lo, hi)`` to the bucket sums of both halves.

    ``windows`` holds (low key, shift) of the rising half, then of the falling
    half: bucket ``j`` holds the keys ``low + [j, j + 1) << shift`` (``(j, j + 1]``
    for the falling half), the first and last slot of each half the keys below
    and above the window. Slots are computed a block at a time (SIMD), then
    added one by one, and kept in ``codes`` (int16, one per entry: the output
    row, free until pass 3) so that pass 2 can find a bucket's entries without
    reading ``f`` and ``q``. ``cap`` must be a constant (see :func:`_histogram`).
    """
    up_low, up_shift, down_low, down_shift = (
        windows[0],
        windows[1],
        windows[2],
        windows[3],
    )
    for start in range(lo, hi, _BLOCK):
        stop = min(start + _BLOCK, hi)
        base = np.uint64(start)
        for k in range(start, stop):
            i = np.uint64(k)
            group, key, _, _, qv = _classify(f[i], q[i], cap)
            low = up_low if group == 0 else down_low
            shift = up_shift if group == 0 else down_shift
            # Falling buckets hold (low, high]: see _locate_falling.
            key -= 0 if group == 0 else 1
            bucket = 1 + min(max((key - low) >> shift, -1), _BUCKETS)
            slot = bucket if group == 0 else _DOWN + bucket
            slot = slot if group < 2 else (_DRAINED if group == 2 else _IGNORED)
            slots[i - base] = slot
            weights[i - base] = qv
            codes[i] = slot
        for k in range(start, stop):
            i = np.uint64(k)
            slot = np.uint64(slots[i - base])
            hist_f[slot] += f[i]
            hist_q[slot] += weights[i - base]


@njit(cache=True, error_model="numpy")
def _histogram(f, q, lo, hi, cap, windows, hist_f, hist_q, slots, weights, codes):
    """:func:`_histogram_of` compiled for each value of ``cap``: a flag that is
    not a constant keeps the loop from running in SIMD."""
    if cap:
        _histogram_of(
            f, q, lo, hi, True, windows, hist_f, hist_q, slots, weights, codes
        )
    else:
        _histogram_of(
            f, q, lo, hi, False, windows, hist_f, hist_q, slots, weights, codes
        )


@njit(cache=True, error_model="numpy", inline="always")
def _copy_entry(fk, qk, cap, sr, sf, sq, n_up, n_down):
    """Copy one candidate to the scratch; returns the new counts.

    Rising entries fill the scratch from the front, falling ones from the back,
    and entries past its capacity are only counted. Both free ends get the
    entry (the scratch has one spare slot): no branch on its half.
    """
    top = sr.shape[0]
    group, _, r, fv, qv = _classify(fk, qk, cap)
    if n_up + n_down < top - 1:
        back = top - 1 - n_down
        sr[back] = r
        sf[back] = fv
        sq[back] = qv
        sr[n_up] = r
        sf[n_up] = fv
        sq[n_up] = qv
    return n_up + (group == 0), n_down + (group == 1)


@njit(cache=True, error_model="numpy", inline="always")
def _collect_of(f, q, cap, codes, up_slot, down_slot, sr, sf, sq, hit):
    """Pass 2: copy the entries of the histogram slots ``up_slot`` and
    ``down_slot`` (-1 for none) to the scratch: ``(n_up, n_down)`` (see
    :func:`_copy_entry`).

    The slots come from ``codes`` (see :func:`_histogram_of`): 2 bytes an entry
    rather than 16, which is most of the pass when a row outgrows the caches.
    A block is scanned (SIMD) before any entry of it is copied: the entries of
    a bracket are few and far between. ``cap`` must be a constant.
    """
    n_up = n_down = 0
    for start in range(0, f.shape[0], _BLOCK):
        stop = min(start + _BLOCK, f.shape[0])
        hits = 0
        for k in range(start, stop):
            i = np.uint64(k)
            flag = (codes[i] == up_slot) | (codes[i] == down_slot)
            hit[i - np.uint64(start)] = flag
            hits += flag
        if hits:
            for k in range(start, stop):
                if hit[k - start]:
                    n_up, n_down = _copy_entry(
                        f[k], q[k], cap, sr, sf, sq, n_up, n_down
                    )
    return n_up, n_down


@njit(cache=True, error_model="numpy")
def _collect(f, q, cap, codes, up_slot, down_slot, sr, sf, sq, hit):
    """:func:`_collect_of` compiled for each value of ``cap``."""
    if cap:
        return _collect_of(f, q, True, codes, up_slot, down_slot, sr, sf, sq, hit)
    return _collect_of(f, q, False, codes, up_slot, down_slot, sr, sf, sq, hit)


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _total(a):
    """Sum in any order (SIMD)."""
    total = 0.0
    for k in range(a.shape[0]):
        total += a[np.uint64(k)]
    return total


@njit(cache=True, error_model="numpy")
def _row_sums(f, q, validate, windows, buffers, codes):
    """Pass 1: ``(sum |f - q|, sum f, sum q, has a negative entry)``, and the
    histograms of the first windows, a chunk at a time.

    The sums of ``f`` and ``q`` come from the histograms; without ``validate``,
    ``f`` and ``q`` are taken to be probability vectors.
    """
    hist_f, hist_q, slots, weights = buffers[0], buffers[1], buffers[5], buffers[6]
    n = f.shape[0]
    distance = _NO_LANES
    negative = False
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        _histogram(
            f, q, start, stop, False, windows, hist_f, hist_q, slots, weights, codes
        )
        stop8 = stop if stop < n else n - n % 8
        distance = _lanes(_DISTANCE, f, q, start, stop8, distance)
        if validate:
            negative |= _has_negative(f, q, start, stop)
    distance = _lanes_total(_DISTANCE, f, q, n, distance)
    if not validate:
        return distance, 1.0, 1.0, False
    return distance, _total(hist_f), _total(hist_q), negative


# --- exact roots among the candidates -----------------------------------------


@njit(cache=True, error_model="numpy", inline="always")
def _next_random(state):
    # xorshift64*: a fixed pivot sequence makes each row's result bit-reproducible
    # whatever thread or batch it is computed in.
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    return state, state * np.uint64(0x2545F4914F6CDD1D)


@njit(cache=True, error_model="numpy")
def _partition3(r, f, q, lo, hi, pivot):
    """Reorder ``[lo, hi)`` into ``r < pivot | r == pivot | r > pivot``.

    Returns the bounds ``(lt, gt)`` of the middle block and the sums of ``f``
    and ``q`` over each of the three blocks.
    """
    lt = lo
    i = lo
    gt = hi
    f_lt = q_lt = f_eq = q_eq = f_gt = q_gt = 0.0
    while i < gt:
        ri = r[i]
        if ri < pivot:
            f_lt += f[i]
            q_lt += q[i]
            r[i], r[lt] = r[lt], r[i]
            f[i], f[lt] = f[lt], f[i]
            q[i], q[lt] = q[lt], q[i]
            lt += 1
            i += 1
        elif ri > pivot:
            f_gt += f[i]
            q_gt += q[i]
            gt -= 1
            r[i], r[gt] = r[gt], r[i]
            f[i], f[gt] = f[gt], f[i]
            q[i], q[gt] = q[gt], q[i]
        else:
            f_eq += f[i]
            q_eq += q[i]
            i += 1
    return lt, gt, f_lt, q_lt, f_eq, q_eq, f_gt, q_gt


@njit(cache=True, error_model="numpy", inline="always")
def _rise(f_active, q_active, half):
    if q_active == 0.0:  # no candidates: f and q differ only by rounding
        return 1.0
    return (f_active + half) / q_active


@njit(cache=True, error_model="numpy", inline="always")
def _fall(f_active, q_active, half):
    if q_active == 0.0:
        return 1.0
    return (f_active - half) / q_active


@njit(cache=True, error_model="numpy")
def rising_level(r, f, q, lo, hi, half, f_active, q_active):
    """Level ``w`` with ``sum_i max(0, w q_i - f_i) = half``.

    The sum runs over the candidates ``[lo, hi)`` (``r = f / q`` finite,
    ``q > 0``, reordered in place) and entries below all of them, whose sums
    are ``f_active`` and ``q_active``.
    """
    state = _PIVOT_SEED
    while lo < hi:
        state, draw = _next_random(state)
        pivot = r[lo + np.int64(draw % np.uint64(hi - lo))]
        lt, gt, f_lt, q_lt, f_eq, q_eq, _, _ = _partition3(r, f, q, lo, hi, pivot)
        # Water below level ``pivot``. Entries tied with the pivot add exactly
        # nothing, so they are left out rather than added as rounding noise.
        if pivot * (q_active + q_lt) - (f_active + f_lt) < half:
            f_active += f_lt + f_eq
            q_active += q_lt + q_eq
            lo = gt
        else:
            hi = lt
    return _rise(f_active, q_active, half)


@njit(cache=True, error_model="numpy")
def falling_level(r, f, q, lo, hi, half, f_active, q_active):
    """Level ``w`` with ``sum_i max(0, f_i - w q_i) = half``.

    The mirror of :func:`rising_level`: ``f_active`` and ``q_active`` sum the
    entries above all candidates.
    """
    state = _PIVOT_SEED
    while lo < hi:
        state, draw = _next_random(state)
        pivot = r[lo + np.int64(draw % np.uint64(hi - lo))]
        lt, gt, _, _, f_eq, q_eq, f_gt, q_gt = _partition3(r, f, q, lo, hi, pivot)
        if (f_active + f_gt) - pivot * (q_active + q_gt) < half:
            f_active += f_gt + f_eq
            q_active += q_gt + q_eq
            hi = lt
        else:
            lo = gt
    return _fall(f_active, q_active, half)


# --- where the roots lie, from a histogram --------------------------------------


@njit(cache=True, error_model="numpy", inline="always")
def _bit_length(x):
    n = 0
    while x > 0:
        x >>= 1
        n += 1
    return n


@njit(cache=True, error_model="numpy", inline="always")
def _set_bracket(level, bracket, lo, hi, f_act, q_act, slot):
    level[0] = -1.0
    level[1] = f_act
    level[2] = q_act
    bracket[0] = lo
    bracket[1] = hi
    bracket[2] = slot


@njit(cache=True, error_model="numpy")
def _locate_rising(hist_f, hist_q, low, shift, half, level, bracket):
    """Narrow the rising root with the histogram of window ``(low, shift)``.

    Sets ``level`` to ``[root, f_active, q_active]`` and ``bracket`` to
    ``[lo, hi, slot]``: the root lies among the entries with keys in
    ``[lo, hi)``, the histogram slot ``slot``,
    above entries that sum to ``f_active, q_active``; ``root`` is the root
    itself (> 0) when the histogram settles it, else -1. (Every entry of a half
    has ``q > 0``, so an empty slot is one whose ``q`` sums to 0.)
    """
    f_act = hist_f[_UP]
    q_act = hist_q[_UP]
    if _float(low) * q_act - f_act >= half:
        _set_bracket(level, bracket, 0, low, 0.0, 0.0, _UP)
        return
    edge = np.int64(low)
    for j in range(_BUCKETS):
        slot = _UP + 1 + j
        top = min(edge + (np.int64(1) << shift), _ONE_BITS)
        f_next = f_act + hist_f[slot]
        q_next = q_act + hist_q[slot]
        if _float(top) * q_next - f_next >= half:
            _set_bracket(level, bracket, edge, top, f_act, q_act, slot)
            if hist_q[slot] == 0.0:
                level[0] = _rise(f_act, q_act, half)
            elif top - edge == 1:  # one ratio, below the root: all of it rises
                level[0] = _rise(f_next, q_next, half)
            return
        f_act, q_act, edge = f_next, q_next, top
        if edge == _ONE_BITS:
            break
    above = _UP + _GROUP - 1
    if edge == _ONE_BITS or hist_q[above] == 0.0:  # the root is past every ratio
        level[0] = _rise(f_act + hist_f[above], q_act + hist_q[above], half)
        return
    _set_bracket(level, bracket, edge, _ONE_BITS, f_act, q_act, above)


@njit(cache=True, error_model="numpy")
def _locate_falling(hist_f, hist_q, low, shift, half, end, offset, level, bracket):
    """The mirror of :func:`_locate_rising`, from the top.

    Keys lie below ``end`` and ``offset`` turns a key into a ratio. Falling
    buckets and brackets hold keys in ``(lo, hi]``: the water over an edge then
    comes from the entries strictly above it, as the water under an edge of the
    rising half comes from those strictly below it (entries at the edge add
    exactly nothing, and their rounding noise could outweigh a tiny budget).
    ``f_active, q_active`` sum the entries above the bracket.
    """
    above = _DOWN + _GROUP - 1
    last = end - 1
    top = min(low + (np.int64(_BUCKETS) << shift), last)
    f_act = hist_f[above]
    q_act = hist_q[above]
    if top < last and f_act - _float(top + offset) * q_act >= half:
        _set_bracket(level, bracket, top, last, 0.0, 0.0, above)
        return
    for j in range(_BUCKETS - 1, -1, -1):
        edge = low + (np.int64(j) << shift)
        if edge >= top:
            continue
        slot = _DOWN + 1 + j
        f_next = f_act + hist_f[slot]
        q_next = q_act + hist_q[slot]
        if f_next - _float(edge + offset) * q_next >= half:
            bucket_top = min(edge + (np.int64(1) << shift), last)
            _set_bracket(level, bracket, edge, bucket_top, f_act, q_act, slot)
            if hist_q[slot] == 0.0:
                level[0] = _fall(f_act, q_act, half)
            elif bucket_top - edge == 1:  # one ratio, above the root: all of it falls
                level[0] = _fall(f_next, q_next, half)
            return
        f_act, q_act = f_next, q_next
    below = _DOWN
    if low < 0 or hist_q[below] == 0.0:  # the root is below every ratio
        level[0] = _fall(f_act + hist_f[below], q_act + hist_q[below], half)
        return
    _set_bracket(level, bracket, -1, low, f_act, q_act, below)


@njit(cache=True, error_model="numpy", inline="always")
def _window(bracket):
    """The histogram window ``(low, shift)`` that splits ``bracket``."""
    width = bracket[1] - bracket[0]
    return bracket[0], max(_bit_length(width - 1) - _LOG2_BUCKETS, 0)


# --- one row -------------------------------------------------------------------


@njit(cache=True, error_model="numpy", inline="always")
def _clipped(fk, qk, up, down, cap):
    """``p_k = min(max(f_k, up q_k), down q_k)``, or ``min(f_k, cap)`` for an entry
    whose target is drained."""
    p = min(max(fk, up * qk), down * qk)
    return p if fk / qk <= MAX_RATIO else min(fk, cap)


@njit(cache=True, error_model="numpy", inline="always")
def _output_status(total, negative):
    ok = not negative and abs(total - 1.0) <= PROBABILITY_ATOL
    return 0 if ok else _INVALID_OUTPUT


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _write(f, q, out, up, down, cap):
    """Pass 3: ``out = p`` (see :func:`_clipped`); returns the status of the row.

    The sum that checks ``p`` may run in any order: ``reassoc`` lets it run in
    SIMD.
    """
    total = 0.0
    negative = False
    for k in range(f.shape[0]):
        i = np.uint64(k)
        p = _clipped(f[i], q[i], up, down, cap)
        out[i] = p
        total += p
        negative |= p < 0.0
    return _output_status(total, negative)


@njit(cache=True, error_model="numpy", inline="always")
def _trivial(f, q, half, distance, out):
    """Write the answer when the budget is 0 or reaches ``q``; whether it did."""
    if half <= 0.0:
        out[:] = f
        return True
    if 2.0 * half >= distance:
        out[:] = q
        return True
    return False


@njit(cache=True, error_model="numpy", inline="always")
def _valid(f_sum, q_sum, negative):
    return (
        not negative
        and abs(f_sum - 1.0) <= PROBABILITY_ATOL
        and abs(q_sum - 1.0) <= PROBABILITY_ATOL
    )


@njit(cache=True, error_model="numpy", inline="always")
def _solve_small(f, q, half, out, ratio, water_up, water_down, validate):
    """:func:`_solve_row` of a row of at most ``SMALL_ROW`` entries, with no
    call that is not inlined on the way (see the module docstring).

    Every ratio ``r_k`` is tried as a level at once: the water below it
    (``sum_j (r_k q_j - f_j)_+``) and above it add up over ``j`` in an inner
    loop over ``k`` (SIMD, each sum in a fixed order). The rising root lies past
    the highest rising ratio short of the budget, the falling root before the
    lowest falling one; the levels follow from the sums over the active
    entries, as in :func:`rising_level`.
    """
    n = f.shape[0]
    distance = _row_sum(_DISTANCE, f, q)
    if validate:
        f_sum = _row_sum(_F, f, q)
        q_sum = _row_sum(_Q, f, q)
        if not _valid(f_sum, q_sum, _has_negative(f, q, 0, n)):
            out[:] = f
            return INVALID_INPUT
    if _trivial(f, q, half, distance, out):
        return 0
    # The sweep runs over whole SIMD vectors: the padding ratios are never read.
    n_padded = (n + 7) // 8 * 8
    for k in range(n_padded):
        i = np.uint64(k)
        ratio[i] = f[i] / q[i] if k < n else 0.0
        water_up[i] = water_down[i] = 0.0
    zero_mass = 0.0
    for j in range(n):
        rj = ratio[j]
        kept = rj <= MAX_RATIO  # a drained entry adds no water either way
        zero_mass += 0.0 if kept else f[j]
        fj = f[j] if kept else 0.0
        qj = q[j] if kept else 0.0
        for k in range(n_padded):
            i = np.uint64(k)
            # Only entries strictly below (above) the level hold water under
            # (over) it: a tie adds exactly nothing, not its rounding noise.
            gap = ratio[i] * qj - fj
            water_up[i] += gap if rj < ratio[i] else 0.0
            water_down[i] += -gap if rj > ratio[i] else 0.0
    rest = half - zero_mass
    up_level = -1.0
    down_level = np.inf
    for k in range(n):
        r = ratio[k]
        if r < 1.0 and water_up[k] < half:
            up_level = max(up_level, r)
        if 1.0 < r <= MAX_RATIO and water_down[k] < rest:
            down_level = min(down_level, r)
    f_up = q_up = f_down = q_down = 0.0
    for k in range(n):
        r = ratio[k]
        rises = r <= up_level
        falls = down_level <= r <= MAX_RATIO
        f_up += f[k] if rises else 0.0
        q_up += q[k] if rises else 0.0
        f_down += f[k] if falls else 0.0
        q_down += q[k] if falls else 0.0
    up = min(_rise(f_up, q_up, half), 1.0)
    if rest <= 0.0:  # rare: the drained entries hold the budget
        down = np.inf
        cap = _small_cap(f, half, ratio)
    else:
        down = max(_fall(f_down, q_down, rest), 1.0)
        cap = 0.0
    total = 0.0
    negative = False
    for k in range(n):
        p = _clipped(f[k], q[k], up, down, cap)
        out[k] = p
        total += p
        negative |= p < 0.0
    return _output_status(total, negative)


@njit(cache=True, error_model="numpy")
def _small_cap(f, half, ratio):
    """Common cap of the drained entries of a short row (see :func:`waterfill`)."""
    n = f.shape[0]
    level = np.inf
    for k in range(n):
        if not ratio[k] <= MAX_RATIO:
            water = 0.0
            for j in range(n):
                if not ratio[j] <= MAX_RATIO:
                    water += max(f[j] - f[k], 0.0)
            if water < half:
                level = min(level, f[k])
    f_active = count = 0.0
    for k in range(n):
        if not ratio[k] <= MAX_RATIO and f[k] >= level:
            f_active += f[k]
            count += 1.0
    return _fall(f_active, count, half)


@njit(cache=True, error_model="numpy")
def _solve_row(f, q, half, out, buffers, validate):
    """Water-fill a row of more than ``SMALL_ROW`` entries into ``out``: 0, or a
    flag for invalid input (``out = f``) or output.

    ``buffers`` are the calling thread's (see :func:`_thread_buffers`). Without
    ``validate``, ``f`` and ``q`` are taken to be probability vectors.
    """
    buffers[0][:] = 0.0
    buffers[1][:] = 0.0
    windows = buffers[8][:4]
    windows[0] = _FIRST_UP_LOW
    windows[1] = _FIRST_SHIFT
    windows[2] = 0
    windows[3] = _FIRST_SHIFT
    codes = out.view(np.int16)
    distance, f_sum, q_sum, negative = _row_sums(
        f, q, validate, windows, buffers, codes
    )
    if not _valid(f_sum, q_sum, negative):
        out[:] = f
        return INVALID_INPUT
    if _trivial(f, q, half, distance, out):
        return 0
    up, down, cap = _levels_by_histogram(f, q, half, buffers, codes)
    # w_up <= 1 <= w_down in exact arithmetic; a row whose sums differ by
    # rounding can ask a half for more than it holds, and the clamp keeps every
    # entry between f and q.
    return _write(f, q, out, min(up, 1.0), max(down, 1.0), cap)


@njit(cache=True, error_model="numpy")
def _levels_by_histogram(f, q, half, buffers, codes):
    """``(up, down, cap)`` of a long row whose first-pass histogram is in buffers
    and slots in ``codes``."""
    hist_f, hist_q, sr, sf, sq = (
        buffers[0],
        buffers[1],
        buffers[2],
        buffers[3],
        buffers[4],
    )
    slots, weights, keys, level = buffers[5], buffers[6], buffers[8], buffers[9]
    top = sr.shape[0]
    size = top - 1
    windows = keys[:4]
    up_level, down_level = level[0], level[1]
    up_bracket, down_bracket = keys[4:7], keys[7:10]
    _locate_rising(
        hist_f, hist_q, _FIRST_UP_LOW, _FIRST_SHIFT, half, up_level, up_bracket
    )
    zero_mass = hist_f[_DRAINED]
    cap_mode = zero_mass >= half
    rest = half if cap_mode else half - zero_mass
    end = _TWO_BITS if cap_mode else _DOWN_END
    offset = 0 if cap_mode else _ONE_BITS
    # In cap mode the drained entries still need their first histogram.
    split_up = False
    split_down = cap_mode
    # The windows of the last histogram pass: its slots are in ``codes``.
    up_low, up_shift = _FIRST_UP_LOW, _FIRST_SHIFT
    down_low, down_shift = (_FIRST_CAP_LOW if cap_mode else 0), _FIRST_SHIFT
    if cap_mode:
        down_level[0] = -1.0
    elif rest <= 0.0:
        down_level[0] = np.inf
    else:
        _locate_falling(
            hist_f, hist_q, 0, _FIRST_SHIFT, rest, end, offset, down_level, down_bracket
        )
    for _ in range(MAX_PASSES):
        if split_up or split_down:
            # Split the overfull brackets by one more histogram pass.
            if split_up:
                up_low, up_shift = _window(up_bracket)
            windows[0] = up_low
            windows[1] = up_shift
            windows[2] = down_low
            windows[3] = down_shift
            hist_f[:] = 0.0
            hist_q[:] = 0.0
            _histogram(
                f,
                q,
                0,
                f.shape[0],
                cap_mode,
                windows,
                hist_f,
                hist_q,
                slots,
                weights,
                codes,
            )
            if split_up:
                _locate_rising(
                    hist_f, hist_q, up_low, up_shift, half, up_level, up_bracket
                )
            if split_down:
                _locate_falling(
                    hist_f,
                    hist_q,
                    down_low,
                    down_shift,
                    rest,
                    end,
                    offset,
                    down_level,
                    down_bracket,
                )
            split_up = split_down = False
            continue
        up_open = up_level[0] < 0.0
        down_open = down_level[0] < 0.0
        if not (up_open or down_open):
            break
        up_slot = up_bracket[2] if up_open else -1
        down_slot = down_bracket[2] if down_open else -1
        n_up, n_down = _collect(
            f, q, cap_mode, codes, up_slot, down_slot, sr, sf, sq, slots
        )
        if n_up + n_down <= size:
            if up_open:
                up_level[0] = rising_level(
                    sr, sf, sq, 0, n_up, half, up_level[1], up_level[2]
                )
            if down_open:
                down_level[0] = falling_level(
                    sr, sf, sq, top - n_down, top, rest, down_level[1], down_level[2]
                )
            break
        split_up = n_up > size // 2 or n_up >= n_down
        split_down = n_down > size // 2 or n_down > n_up
        if split_down:
            down_low, down_shift = _window(down_bracket)
    if up_level[0] < 0.0:  # only rounding ties left: the root from the sums
        up_level[0] = _rise(up_level[1], up_level[2], half)
    if down_level[0] < 0.0:
        down_level[0] = _fall(down_level[1], down_level[2], rest)
    if cap_mode:
        return up_level[0], np.inf, down_level[0]
    return up_level[0], down_level[0], 0.0


# --- kernels ---------------------------------------------------------------------


@njit(cache=True, error_model="numpy", inline="always")
def _block_rows(block, n_blocks, n_rows):
    return block * n_rows // n_blocks, (block + 1) * n_rows // n_blocks


@njit(cache=True, error_model="numpy")
def _thread_buffers(n_blocks, n):
    """Histograms, scratch, slots and state of each block of rows of length ``n``.

    Allocated before the parallel loop, one slice per block: numba would hoist
    an allocation made inside the loop out of it, and the threads would share
    it. Per block, ``(hist_f, hist_q, sr, sf, sq, slots, weights, (unused),
    keys, level)``; the scratch ``sr, sf, sq`` has one slot more than it may
    hold (see :func:`_copy_entry`). Nothing grows with ``n`` beyond ``SCRATCH``.
    """
    size = max(min(n, SCRATCH), SMALL_ROW) + 1
    return (
        np.empty((n_blocks, _SLOTS)),
        np.empty((n_blocks, _SLOTS)),
        np.empty((n_blocks, size)),
        np.empty((n_blocks, size)),
        np.empty((n_blocks, size)),
        np.empty((n_blocks, _BLOCK), dtype=np.int64),
        np.empty((n_blocks, _BLOCK)),
        np.empty((n_blocks, 1)),
        np.empty((n_blocks, 10), dtype=np.int64),
        np.empty((n_blocks, 2, 3)),
    )


@njit(cache=True, error_model="numpy", inline="always")
def _block_buffers(buffers, block):
    return (
        buffers[0][block],
        buffers[1][block],
        buffers[2][block],
        buffers[3][block],
        buffers[4][block],
        buffers[5][block],
        buffers[6][block],
        buffers[7][block],
        buffers[8][block],
        buffers[9][block],
    )


@njit(cache=True, error_model="numpy")
def _waterfill_rows(f, q, q_rows, budget, out, status, start, stop, buffers, validate):
    """Water-fill rows ``[start, stop)``: one call per block of rows, so that a
    short row pays no call."""
    if f.shape[1] <= SMALL_ROW:
        ratio, water_up, water_down = buffers[2], buffers[3], buffers[4]
        for row in range(start, stop):
            status[row] = _solve_small(
                f[row],
                q[q_rows[row]],
                0.5 * budget[row],
                out[row],
                ratio,
                water_up,
                water_down,
                validate,
            )
    else:
        for row in range(start, stop):
            status[row] = _solve_row(
                f[row], q[q_rows[row]], 0.5 * budget[row], out[row], buffers, validate
            )


def _waterfill_body(f, q, q_rows, budget, out, status, n_blocks, validate):
    n_rows, n = f.shape
    buffers = _thread_buffers(n_blocks, n)
    for block in prange(n_blocks):
        start, stop = _block_rows(block, n_blocks, n_rows)
        _waterfill_rows(
            f,
            q,
            q_rows,
            budget,
            out,
            status,
            start,
            stop,
            _block_buffers(buffers, block),
            validate,
        )


#: Water-fill rows ``f[i]`` towards ``q[q_rows[i]]`` within ``budget[i]`` into
#: ``out``; ``status[i]`` is 0, ``INVALID_INPUT`` (row i of f or its target is
#: not a probability vector; only checked with ``validate``) or 2 (the output
#: is not: a bug). ``n_blocks`` blocks of rows share the threads.
waterfill_serial = njit(cache=True, error_model="numpy")(_waterfill_body)
waterfill_parallel = njit(cache=True, error_model="numpy", parallel=True)(
    _waterfill_body
)


# --- hashing and the CMI defense per query ------------------------------------------


@njit(cache=True, error_model="numpy", inline="always")
def _splitmix64(x):
    x += np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, error_model="numpy", inline="always")
def _row_hash(p, resolution, seed):
    """Hash of the cells ``floor(resolution * p_k)`` of a row, mixed with ``seed``.

    Each entry is mixed with its position on its own and the mixes are added,
    so the entries hash in parallel (SIMD) rather than in one serial chain.
    """
    key = np.uint64(seed)
    h = np.uint64(0)
    for k in range(p.shape[0]):
        i = np.uint64(k)
        cell = np.uint64(np.int64(np.floor(resolution * p[i])))
        h += _splitmix64(cell ^ (key + i * np.uint64(0xD1B54A32D192ED03)))
    return _splitmix64(h ^ key)


@njit(cache=True, error_model="numpy", inline="always")
def _uniform(h, j):
    return np.float64(_splitmix64(h + np.uint64(j)) >> np.uint64(11)) * (
        1.0 / 9007199254740992.0
    )


def _row_uniforms_body(p, resolution, seed, n_draws):
    n_rows = p.shape[0]
    out = np.empty((n_rows, n_draws))
    for row in prange(n_rows):
        h = _row_hash(p[row], resolution, seed)
        for j in range(n_draws):
            out[row, j] = _uniform(h, j)
    return out


#: Uniforms in [0, 1) per row, a pure function of a hash of the row.
#:
#: The hash mixes ``seed`` with ``floor(resolution * p_k)`` for every entry, so
#: rows that agree on that grid get the same draws: a query perturbed by less
#: than the grid step usually keeps them (eq. 26 of the Stealthy Shield Defense
#: paper, with the output in place of the penultimate features).
row_uniforms_serial = njit(cache=True, error_model="numpy")(_row_uniforms_body)
row_uniforms_parallel = njit(cache=True, error_model="numpy", parallel=True)(
    _row_uniforms_body
)


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _entropy(p):
    """``-sum p log p`` in any order (SIMD: the budget needs no more)."""
    total = 0.0
    for k in range(p.shape[0]):
        x = p[np.uint64(k)]
        total += x * _log_positive(x) if x > 0.0 else 0.0
    return -total


@njit(cache=True, error_model="numpy", inline="always")
def _draw_label(p, weights, temperature, uniform):
    """Label drawn from ``softmax(p / temperature)`` (from ``p`` itself when the
    temperature is not positive) by inverting the cumulative weights at ``uniform``.

    ``weights`` is scratch of the row's length.
    """
    n = p.shape[0]
    if temperature > 0.0:
        top = p.max()
        # Shifting before dividing keeps the top class at logit 0: a tiny
        # temperature sends the others to -inf (weight 0), never to NaN.
        for k in range(n):
            i = np.uint64(k)
            weights[i] = _exp_nonpositive((p[i] - top) / temperature)
    else:
        weights[:] = p
    total = 0.0
    for k in range(n):
        total += weights[k]
    target = uniform * total
    cumulative = 0.0
    for k in range(n - 1):
        cumulative += weights[k]
        if not cumulative < target:
            return k
    return n - 1


@njit(cache=True, error_model="numpy")
def _cmi_rows(
    P,
    prototypes,
    epsilon,
    temperature,
    adaptive,
    resolution,
    seed,
    out,
    status,
    start,
    stop,
    buffers,
):
    """The CMI defense of rows ``[start, stop)`` (see :data:`cmi_serial`); the
    number of rows flagged."""
    n = P.shape[1]
    log_n = math.log(n)
    ratio, water_up, water_down = buffers[2], buffers[3], buffers[4]
    flagged = 0
    for row in range(start, stop):
        p = P[row]
        uniform = _uniform(_row_hash(p, resolution, seed), 0)
        label = _draw_label(p, out[row], temperature, uniform)
        budget = epsilon
        if adaptive:
            entropy = _entropy(p) / log_n
            budget *= min(max(entropy, 0.0), 1.0) + 0.0
        q = prototypes[label]
        if n <= SMALL_ROW:
            status[row] = _solve_small(
                p, q, 0.5 * budget, out[row], ratio, water_up, water_down, False
            )
        else:
            status[row] = _solve_row(p, q, 0.5 * budget, out[row], buffers, False)
        flagged += status[row] != 0
    return flagged


def _cmi_body(
    P,
    prototypes,
    epsilon,
    temperature,
    adaptive,
    resolution,
    seed,
    out,
    status,
    n_blocks,
):
    buffers = _thread_buffers(n_blocks, P.shape[1])
    flagged = 0
    for block in prange(n_blocks):
        start, stop = _block_rows(block, n_blocks, P.shape[0])
        flagged += _cmi_rows(
            P,
            prototypes,
            epsilon,
            temperature,
            adaptive,
            resolution,
            seed,
            out,
            status,
            start,
            stop,
            _block_buffers(buffers, block),
        )
    return flagged


#: The CMI defense of validated rows ``P`` into ``out`` (see
#: :class:`skmid.postprocessing.CMIPostProcessor`): per row, the hashed label
#: draw, the entropy-scaled budget and the water-filling towards
#: ``prototypes[label]``, fused; ``status`` as for :data:`waterfill_serial`, and
#: the number of rows flagged is returned. ``temperature <= 0`` draws from ``P``
#: itself.
cmi_serial = njit(cache=True, error_model="numpy")(_cmi_body)
cmi_parallel = njit(cache=True, error_model="numpy", parallel=True)(_cmi_body)


@njit(cache=True, error_model="numpy")
def _invalid_rows(P, atol, invalid, start, stop):
    count = 0
    for row in range(start, stop):
        p = P[row]
        negative = _has_negative(p, p, 0, p.shape[0])
        total = _row_sum(_F, p, p)
        invalid[row] = negative or not abs(total - 1.0) <= atol
        count += invalid[row]
    return count


def _invalid_rows_body(P, atol, invalid, n_blocks):
    count = 0
    for block in prange(n_blocks):
        start, stop = _block_rows(block, n_blocks, P.shape[0])
        count += _invalid_rows(P, atol, invalid, start, stop)
    return count


#: Flag the rows of ``P`` that are not probability vectors within ``atol``, in
#: one pass, and return their number: the decisions of
#: :func:`skmid.utils.check_probability_matrix` (up to rows whose sum is within
#: rounding of the tolerance).
invalid_rows_serial = njit(cache=True, error_model="numpy")(_invalid_rows_body)
invalid_rows_parallel = njit(cache=True, error_model="numpy", parallel=True)(
    _invalid_rows_body
)
