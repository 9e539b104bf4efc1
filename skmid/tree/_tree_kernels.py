"""Numba kernels of the categorical (ID3/C4.5-style) trees: growing and traversal.

The tree is grown breadth first: node ids are assigned in creation order and
processed in that order, so the nodes not yet processed are the current leaves.
Compiled code does not see Ctrl-C, so the growth kernel works for a bounded
number of row visits and returns, its state (node arrays, row order, next node
and the search of the current node) kept in arrays: a long fit returns to
Python several times a second. Each node owns a contiguous segment of the
``samples`` array, reordered by child when it splits (as in scikit-learn's
trees). Per node and feature, the split search builds a category x class count
histogram in one pass over the node's rows (categorical features), or sorts
the node's values and sweeps the thresholds (numeric features, C4.5).

Child lookup: node ``t`` has ``n_slots[t]`` slots starting at
``slot_start[t]`` in ``slot_child``: one per category of its split feature, or
three (``<= threshold``, ``> threshold``, missing) for a numeric split; a slot
holds ``-1`` when no training row went that way, and a query taking it stops
at ``t`` and uses ``t``'s class counts.

Traversal reads the raw input (any real dtype, no encoding): categorical values
find their codes in per-column tables (direct for small integer ranges, a
binary search otherwise), and the node arrays are flattened once per fit
(:func:`flatten_tree`). Prediction is bound by the latency of dependent loads,
not by arithmetic, which is what its layout and loop order are chosen for.
"""

import math
from typing import NamedTuple

import numba
import numpy as np
from numba import njit, prange

CRITERION_ENTROPY = 0
CRITERION_GINI = 1
CRITERION_GAIN_RATIO = 2

PENALTY_LEAF = 0
PENALTY_LABEL = 1

NUMERIC_SLOTS = 3  # <= threshold, > threshold, missing

# Columns of the integer node array used while growing.
FEATURE, PARENT, DEPTH, START, END, SLOT_START, N_SLOTS = range(7)
N_NODE_COLUMNS = 7
# Entries of the growth state arrays: progress (int) and best (float). PHASE
# is NODE_START before a node is looked at, then SEARCH_FORCED or SEARCH_ALL
# while its features are searched from POSITION on.
NEXT_NODE, N_NODES, N_SLOTS_USED = 0, 1, 2
PHASE, POSITION, BEST_FEATURE, BEST_CHILDREN = 3, 4, 5, 6
N_PROGRESS = 7
BEST_SCORE, BEST_THRESHOLD = range(2)
N_BEST = 2
NODE_START, SEARCH_FORCED, SEARCH_ALL = range(3)

#: Row visits (rows x features) one growth call may make before it returns to
#: Python, where a KeyboardInterrupt is raised: a few tenths of a second.
WORK_PER_CALL = 1 << 22
#: Row visits a row of a numeric feature counts for (sort and threshold sweep).
NUMERIC_ROW_WORK = 16


@njit(cache=True)
def _entropy(counts, total):
    if total <= 0.0:
        return 0.0
    h = 0.0
    for c in counts:
        if c > 0.0:
            p = c / total
            h -= p * math.log(p)
    return h


@njit(cache=True)
def _gini(counts, total):
    if total <= 0.0:
        return 0.0
    g = 1.0
    for c in counts:
        p = c / total
        g -= p * p
    return g


@njit(cache=True)
def _impurity(counts, total, criterion):
    if criterion == CRITERION_GINI:
        return _gini(counts, total)
    return _entropy(counts, total)


@njit(cache=True)
def _argmax(counts):
    best = 0
    for k in range(1, counts.shape[0]):
        if counts[k] > counts[best]:
            best = k
    return best


@njit(cache=True)
def _row_sum(hist, c):
    size = 0.0
    for k in range(hist.shape[1]):
        size += hist[c, k]
    return size


@njit(cache=True)
def _split_score(
    hist, parent_counts, n_node, n_total, criterion, lam, penalty, predicted
):
    """Penalised score of splitting a node into the rows of ``hist``.

    ``hist[c, k]`` counts class ``k`` in child ``c`` (empty children allowed).
    The score is ``(n_node / n_total) * C - lam * dH``: the weighted
    homogeneity gain minus the rise in the entropy of the tree's output over
    the training set. ``predicted`` holds the training rows per predicted
    label before the split (used by the label penalty).
    """
    n_children = hist.shape[0]
    weight = n_node / n_total
    parent = _impurity(parent_counts, n_node, criterion)
    children = 0.0
    split_information = 0.0  # entropy of the child sizes
    for c in range(n_children):
        size = _row_sum(hist, c)
        if size > 0.0:
            children += size / n_node * _impurity(hist[c], size, criterion)
            share = size / n_node
            split_information -= share * math.log(share)
    gain = parent - children
    if criterion == CRITERION_GAIN_RATIO:
        gain = gain / split_information if split_information > 0.0 else 0.0
    score = weight * gain
    if lam == 0.0:
        return score
    if penalty == PENALTY_LEAF:
        return score - lam * weight * split_information
    after = predicted.copy()
    after[_argmax(parent_counts)] -= n_node
    for c in range(n_children):
        size = _row_sum(hist, c)
        if size > 0.0:
            after[_argmax(hist[c])] += size
    return score - lam * (_entropy(after, n_total) - _entropy(predicted, n_total))


@njit(cache=True)
def _used_on_path(nodes, node, f):
    t = nodes[node, PARENT]
    while t >= 0:
        if nodes[t, FEATURE] == f:
            return True
        t = nodes[t, PARENT]
    return False


def _enlarge(array, size, fill):
    out = np.full((max(size, 2 * array.shape[0]),) + array.shape[1:], fill, array.dtype)
    out[: array.shape[0]] = array
    return out


def build_tree(
    codes,
    values,
    is_numeric,
    n_categories,
    y,
    n_classes,
    feature_order,
    criterion,
    penalty,
    lam,
    max_depth,
    min_samples_split,
    min_samples_leaf,
    priority_feature,
    priority_depth,
    work_per_call=WORK_PER_CALL,
):
    """Grow an ID3/C4.5 tree with the MID output-entropy penalty.

    ``codes[i, f]`` is the category code of categorical feature ``f``
    (``0 .. n_categories[f] - 1``); ``values[i, f]`` the value of numeric
    feature ``f`` (NaN = missing, finite otherwise). Returns the node arrays
    (see module doc).

    The growth runs in calls of :func:`grow_nodes` of about ``work_per_call``
    row visits each, which return to Python (where Ctrl-C is seen); the node
    arrays are enlarged here, between calls.
    """
    n_samples = y.shape[0]
    # the most children one split creates: its feature's categories, or the
    # slots of a numeric split
    max_children = max(NUMERIC_SLOTS, int(n_categories.max(initial=0)))
    nodes = np.zeros((64, N_NODE_COLUMNS), dtype=np.int64)
    threshold = np.full(64, np.nan)
    value = np.zeros((64, n_classes))
    slot_child = np.full(64, -1, dtype=np.int64)
    nodes[0, FEATURE] = -1
    nodes[0, PARENT] = -1
    nodes[0, END] = n_samples
    value[0] = np.bincount(y, minlength=n_classes)
    predicted = np.zeros(n_classes)
    predicted[np.argmax(value[0])] = n_samples
    samples = np.arange(n_samples, dtype=np.int64)
    buffer = np.empty_like(samples)
    progress = np.zeros(N_PROGRESS, dtype=np.int64)
    progress[N_NODES] = 1
    best = np.zeros(N_BEST)
    while progress[NEXT_NODE] < progress[N_NODES]:
        needed = progress[N_NODES] + max_children
        if needed > nodes.shape[0]:
            nodes = _enlarge(nodes, needed, 0)
            threshold = _enlarge(threshold, needed, np.nan)
            value = _enlarge(value, needed, 0.0)
        needed = progress[N_SLOTS_USED] + max_children
        if needed > slot_child.shape[0]:
            slot_child = _enlarge(slot_child, needed, -1)
        grow_nodes(
            codes,
            values,
            is_numeric,
            n_categories,
            y,
            feature_order,
            criterion,
            penalty,
            lam,
            max_depth,
            min_samples_split,
            min_samples_leaf,
            priority_feature,
            priority_depth,
            nodes,
            threshold,
            value,
            slot_child,
            samples,
            buffer,
            predicted,
            progress,
            best,
            max_children,
            work_per_call,
        )
    n_nodes = progress[N_NODES]
    # Every split has two or more non-empty children and every leaf holds a row.
    assert n_nodes < 2 * max(n_samples, 1), "tree grew more nodes than rows allow"
    return (
        nodes[:n_nodes, FEATURE].copy(),
        threshold[:n_nodes].copy(),
        nodes[:n_nodes, PARENT].copy(),
        nodes[:n_nodes, DEPTH].copy(),
        value[:n_nodes].copy(),
        nodes[:n_nodes, SLOT_START].copy(),
        nodes[:n_nodes, N_SLOTS].copy(),
        slot_child[: progress[N_SLOTS_USED]].copy(),
    )


@njit(cache=True)
def grow_nodes(
    codes,
    values,
    is_numeric,
    n_categories,
    y,
    feature_order,
    criterion,
    penalty,
    lam,
    max_depth,
    min_samples_split,
    min_samples_leaf,
    priority_feature,
    priority_depth,
    nodes,
    threshold,
    value,
    slot_child,
    samples,
    buffer,
    predicted,
    progress,
    best,
    max_children,
    max_work,
):
    """Grow the tree for about ``max_work`` row visits, from where ``progress`` says.

    Processes the queued nodes in creation order, appending their children to
    the node arrays. Returns once ``max_work`` row visits are spent (after at
    least one feature evaluation), between the feature evaluations of a node
    if need be, or before a node whose children might not fit the arrays.
    ``progress`` and ``best`` (the search state of the current node),
    ``samples`` and ``predicted`` (training rows per predicted label) carry
    the state to the next call.

    A node first searches the priority feature alone where it is forced
    (``SEARCH_FORCED``), taking any valid split it gives; otherwise, or if it
    gives none, every feature (``SEARCH_ALL``), splitting only for a score of
    at least 0.
    """
    n_samples, n_features = codes.shape
    n_total = float(n_samples)
    n_classes = value.shape[1]
    hist = np.zeros((max_children, n_classes))
    node = progress[NEXT_NODE]
    n_nodes = progress[N_NODES]
    n_slot_used = progress[N_SLOTS_USED]
    phase = progress[PHASE]
    position = progress[POSITION]
    best_feature = progress[BEST_FEATURE]
    best_children = progress[BEST_CHILDREN]
    best_score = best[BEST_SCORE]
    best_threshold = best[BEST_THRESHOLD]
    work = 0
    while node < n_nodes and work < max_work:
        lo = nodes[node, START]
        hi = nodes[node, END]
        n_node = hi - lo
        node_depth = nodes[node, DEPTH]
        counts = value[node]
        if phase == NODE_START:
            if (
                n_nodes + max_children > nodes.shape[0]
                or n_slot_used + max_children > slot_child.shape[0]
            ):
                break
            work += 1
            if (
                counts[_argmax(counts)] == n_node
                or n_node < min_samples_split
                or (max_depth >= 0 and node_depth >= max_depth)
            ):
                node += 1
                continue
            forced = priority_feature >= 0 and node_depth == priority_depth
            phase = SEARCH_FORCED if forced else SEARCH_ALL
            position = 0
            best_score = -np.inf
            best_feature = -1
            best_threshold = np.nan
            best_children = 0

        n_candidates = 1 if phase == SEARCH_FORCED else n_features
        if position < n_candidates:
            f = priority_feature if phase == SEARCH_FORCED else feature_order[position]
            position += 1
            if phase == SEARCH_ALL and f == priority_feature:
                if node_depth < priority_depth:
                    continue
            if is_numeric[f]:
                work += NUMERIC_ROW_WORK * n_node
                score, cut = _best_numeric_split(
                    values,
                    y,
                    samples,
                    lo,
                    hi,
                    f,
                    counts,
                    n_total,
                    criterion,
                    penalty,
                    lam,
                    predicted,
                    min_samples_leaf,
                    hist[:NUMERIC_SLOTS],
                )
                m = NUMERIC_SLOTS
            else:
                m = n_categories[f]
                work += n_node + node_depth + m
                if _used_on_path(nodes, node, f):
                    continue
                score, cut = _categorical_score(
                    codes,
                    y,
                    samples,
                    lo,
                    hi,
                    f,
                    counts,
                    n_total,
                    criterion,
                    penalty,
                    lam,
                    predicted,
                    min_samples_leaf,
                    hist[:m],
                )
            if score > best_score:
                best_score = score
                best_feature = f
                best_threshold = cut
                best_children = m
            continue

        if phase == SEARCH_FORCED and best_feature < 0:
            # the priority feature cannot split this node: search all features
            phase = SEARCH_ALL
            position = 0
            continue
        if best_feature >= 0 and (phase == SEARCH_FORCED or best_score >= 0.0):
            work += 2 * n_node
            n_nodes, n_slot_used = _split(
                codes,
                values,
                is_numeric,
                y,
                nodes,
                threshold,
                value,
                slot_child,
                samples,
                buffer,
                predicted,
                node,
                best_feature,
                best_threshold,
                best_children,
                n_nodes,
                n_slot_used,
                hist,
            )
        phase = NODE_START
        node += 1
    progress[NEXT_NODE] = node
    progress[N_NODES] = n_nodes
    progress[N_SLOTS_USED] = n_slot_used
    progress[PHASE] = phase
    progress[POSITION] = position
    progress[BEST_FEATURE] = best_feature
    progress[BEST_CHILDREN] = best_children
    best[BEST_SCORE] = best_score
    best[BEST_THRESHOLD] = best_threshold


@njit(cache=True)
def _categorical_score(
    codes,
    y,
    samples,
    lo,
    hi,
    f,
    counts,
    n_total,
    criterion,
    penalty,
    lam,
    predicted,
    min_samples_leaf,
    hist,
):
    """Score of the multiway split on categorical feature ``f`` (-inf: invalid)."""
    hist[:] = 0.0
    for s in range(lo, hi):
        i = samples[s]
        hist[codes[i, f], y[i]] += 1.0
    if not _valid_children(hist, min_samples_leaf):
        return -np.inf, np.nan
    score = _split_score(
        hist, counts, hi - lo, n_total, criterion, lam, penalty, predicted
    )
    return score, np.nan


@njit(cache=True)
def _split(
    codes,
    values,
    is_numeric,
    y,
    nodes,
    threshold,
    value,
    slot_child,
    samples,
    buffer,
    predicted,
    node,
    f,
    cut,
    n_children,
    n_nodes,
    n_slot_used,
    child_counts,
):
    """Split ``node`` on ``f``, appending its non-empty children.

    The children's class counts are taken from the rows as they are
    partitioned, so they are exactly what :func:`traverse` finds. A split
    leaving fewer than two non-empty children is not made (it would be
    searched again at the child, forever). Returns the new node and slot
    counts.
    """
    lo = nodes[node, START]
    hi = nodes[node, END]
    child_counts[:n_children] = 0.0
    for s in range(lo, hi):
        i = samples[s]
        child_counts[_child_slot(codes, values, i, f, is_numeric[f], cut), y[i]] += 1.0
    offsets = np.zeros(n_children + 1, dtype=np.int64)
    n_non_empty = 0
    for c in range(n_children):
        size = int(_row_sum(child_counts, c))
        offsets[c + 1] = offsets[c] + size
        if size > 0:
            n_non_empty += 1
    if n_non_empty < 2:
        return n_nodes, n_slot_used
    fill = offsets.copy()
    for s in range(lo, hi):
        c = _child_slot(codes, values, samples[s], f, is_numeric[f], cut)
        buffer[fill[c]] = samples[s]
        fill[c] += 1
    samples[lo:hi] = buffer[: hi - lo]

    nodes[node, FEATURE] = f
    threshold[node] = cut
    nodes[node, SLOT_START] = n_slot_used
    nodes[node, N_SLOTS] = n_children
    slot_child[n_slot_used : n_slot_used + n_children] = -1
    predicted[_argmax(value[node])] -= hi - lo
    for c in range(n_children):
        if offsets[c + 1] == offsets[c]:
            continue
        child = n_nodes
        n_nodes += 1
        nodes[child, FEATURE] = -1
        nodes[child, PARENT] = node
        nodes[child, DEPTH] = nodes[node, DEPTH] + 1
        nodes[child, START] = lo + offsets[c]
        nodes[child, END] = lo + offsets[c + 1]
        nodes[child, SLOT_START] = 0
        nodes[child, N_SLOTS] = 0
        threshold[child] = np.nan
        value[child] = child_counts[c]
        slot_child[n_slot_used + c] = child
        predicted[_argmax(child_counts[c])] += offsets[c + 1] - offsets[c]
    return n_nodes, n_slot_used + n_children


@njit(cache=True)
def _valid_children(hist, min_samples_leaf):
    """At least two non-empty children, each with >= min_samples_leaf rows."""
    non_empty = 0
    for c in range(hist.shape[0]):
        size = _row_sum(hist, c)
        if size > 0.0:
            non_empty += 1
            if size < min_samples_leaf:
                return False
    return non_empty >= 2


@njit(cache=True)
def _child_slot(codes, values, i, f, numeric, cut):
    if not numeric:
        return codes[i, f]
    v = values[i, f]
    if np.isnan(v):
        return 2
    return 0 if v <= cut else 1


@njit(cache=True)
def _best_numeric_split(
    values,
    y,
    samples,
    lo,
    hi,
    f,
    counts,
    n_total,
    criterion,
    penalty,
    lam,
    predicted,
    min_samples_leaf,
    hist,
):
    """Best C4.5 threshold of numeric feature ``f`` (midpoints; NaN = own child)."""
    n_node = hi - lo
    keys = np.empty(n_node)
    labels = np.empty(n_node, dtype=np.int64)
    n_present = 0
    hist[:] = 0.0
    for s in range(lo, hi):
        i = samples[s]
        v = values[i, f]
        if np.isnan(v):
            hist[2, y[i]] += 1.0
        else:
            keys[n_present] = v
            labels[n_present] = y[i]
            n_present += 1
    order = np.argsort(keys[:n_present], kind="mergesort")
    for j in range(n_present):
        hist[1, labels[j]] += 1.0
    n_missing = n_node - n_present
    if 0 < n_missing < min_samples_leaf:
        return -np.inf, np.nan
    best = -np.inf
    best_cut = np.nan
    for j in range(n_present - 1):
        k = labels[order[j]]
        hist[0, k] += 1.0
        hist[1, k] -= 1.0
        left = keys[order[j]]
        right = keys[order[j + 1]]
        if left == right:
            continue
        if j + 1 < min_samples_leaf or n_present - j - 1 < min_samples_leaf:
            continue
        score = _split_score(
            hist, counts, n_node, n_total, criterion, lam, penalty, predicted
        )
        if score > best:
            best = score
            best_cut = _separating_threshold(left, right)
    return best, best_cut


@njit(cache=True)
def _separating_threshold(left, right):
    """A threshold ``t`` with ``left <= t < right``: the midpoint when it is one.

    ``left + (right - left) / 2`` overflows for far-apart values and rounds to
    ``right`` for adjacent ones, which would send every row to one side.
    """
    middle = left / 2.0 + right / 2.0
    if left <= middle and middle < right:
        return middle
    return left


#: Marks, in the output of :func:`traverse`, a row the kernel leaves to the
#: object path: one with an infinite value in a numeric column (an error), or
#: a categorical integer beyond float64's exact integers, whose code needs an
#: exact comparison.
REDO = -1
#: Below this many rows a chunk is traversed serially: starting threads costs more.
PARALLEL_MIN_ROWS = 4096
#: Rows one thread moves down the tree in turns (the fastest of 1 to 8 on an
#: x86-64 core, by half against one at a time).
ROWS_IN_FLIGHT = 4
_DESCENDING = -2  # entry of ``stops`` for a row not yet stopped


class FlatTree(NamedTuple):
    """The node arrays :func:`traverse` reads (see :func:`flatten_tree`)."""

    feature: np.ndarray
    threshold: np.ndarray
    slot_start: np.ndarray
    slot_child: np.ndarray
    numeric_child: np.ndarray


def flatten_tree(feature, threshold, slot_start, slot_child, is_numeric):
    """The node arrays of a fitted tree as the traversal reads them.

    Indices shrink to int32 where they fit, and the children of numeric splits
    are copied next to each other by node (``numeric_child[t]``: ``<=``, ``>``,
    missing): the traversal is bound by the latency of its dependent loads,
    and a smaller footprint and one load fewer per numeric node make it
    several tens of percent faster.
    """
    n_nodes = feature.shape[0]
    index = np.int32 if max(n_nodes, slot_child.shape[0]) < 2**31 else np.int64
    numeric = feature >= 0
    numeric[numeric] = is_numeric[feature[numeric]]
    numeric_child = np.full((n_nodes, NUMERIC_SLOTS), -1, dtype=index)
    numeric_child[numeric] = slot_child[
        slot_start[numeric, None] + np.arange(NUMERIC_SLOTS)
    ]
    return FlatTree(
        feature=feature.astype(index),
        threshold=threshold,
        slot_start=slot_start.astype(index),
        slot_child=slot_child.astype(index),
        numeric_child=numeric_child,
    )


def _traverse_body(
    X,
    numeric_columns,
    is_numeric,
    offset,
    width,
    code_start,
    value_code,
    value_start,
    category_values,
    missing_code,
    exact_limit,
    feature,
    threshold,
    slot_start,
    slot_child,
    numeric_child,
    node_proba,
    stops,
    proba,
):
    # Each step is a chain of dependent loads (node, feature, value, child):
    # rows descend ROWS_IN_FLIGHT at a time in turns so that their chains
    # overlap, and numeric nodes pick their child without a branch, whose
    # mispredictions would flush the other rows' loads. The category lookup is
    # written out here: a helper taking the lookup arrays costs reference
    # counting at every node. Unsigned indices spare the negative-index fix-up.
    n_rows = X.shape[0]
    nodes = np.zeros(n_rows, dtype=np.uint64)
    for group in prange((n_rows + ROWS_IN_FLIGHT - 1) // ROWS_IN_FLIGHT):
        first = group * ROWS_IN_FLIGHT
        last = min(first + ROWS_IN_FLIGHT, n_rows)
        n_descending = last - first
        for i in range(first, last):
            # no early exit: a branch-free pass, which also brings the row
            # into cache ahead of the descent
            infinite = False
            for j in range(numeric_columns.shape[0]):
                infinite |= abs(X[i, numeric_columns[j]]) == np.inf
            if infinite:
                stops[i] = REDO
                n_descending -= 1
            else:
                stops[i] = _DESCENDING
        while n_descending > 0:
            for i in range(first, last):
                if stops[i] != _DESCENDING:
                    continue
                node = nodes[i]
                f = feature[node]
                child = -1
                if f >= 0:
                    v = np.float64(X[i, np.uint64(f)])
                    if is_numeric[f]:  # <=, > or missing (NaN)
                        side = np.int64(v > threshold[node]) + 2 * np.int64(v != v)
                        child = numeric_child[node, side]
                    else:
                        slot = -1
                        if width[f] > 0:  # direct table
                            d = v - offset[f]
                            if d >= 0.0 and d < width[f]:
                                k = np.int64(d)
                                if k == d:
                                    slot = value_code[code_start[f] + k]
                            if slot < 0 and np.isnan(v):
                                slot = missing_code[f]
                        elif np.isnan(v):
                            slot = missing_code[f]
                        elif abs(v) > exact_limit:
                            stops[i] = REDO
                            n_descending -= 1
                            continue
                        else:  # binary search of the sorted categories
                            lo = value_start[f]
                            hi = value_start[f + 1]
                            while lo < hi:
                                middle = (lo + hi) >> 1
                                if category_values[middle] < v:
                                    lo = middle + 1
                                else:
                                    hi = middle
                            if lo < value_start[f + 1] and category_values[lo] == v:
                                slot = lo - value_start[f]
                        if slot >= 0:  # else no training category matched
                            child = slot_child[slot_start[node] + slot]
                if child >= 0:
                    nodes[i] = child
                    continue
                # a leaf, or a branch no training row took
                stops[i] = node
                n_descending -= 1
                for c in range(proba.shape[1] if proba.shape[0] > 0 else 0):
                    proba[i, c] = node_proba[node, c]


_traverse_serial = njit(cache=True)(_traverse_body)
_traverse_parallel = njit(cache=True, parallel=True)(_traverse_body)


def traverse(
    X,
    numeric_columns,
    is_numeric,
    lookup,
    exact_limit,
    flat_tree,
    node_proba,
    stops,
    proba,
):
    """Node where each row of ``X`` stops, and its row of ``node_proba``.

    Writes into ``stops`` (and ``proba`` unless it has no rows) the node where
    each row stops: a leaf, or a node whose slot for the row is empty or whose
    categories do not hold the row's value. ``X`` holds the raw values (any
    real dtype, NaN for missing), categorical columns translated by ``lookup``
    (a :class:`~skmid.tree._encoding.CategoryLookup`); ``numeric_columns`` are
    checked for infinite values. ``flat_tree`` is a :class:`FlatTree`. A row
    marked :data:`REDO` is left to the caller. The chunk runs in one compiled
    call, in parallel over rows when it is large: the caller bounds its size.
    """
    parallel = X.shape[0] >= PARALLEL_MIN_ROWS and numba.get_num_threads() > 1
    kernel = _traverse_parallel if parallel else _traverse_serial
    kernel(
        X,
        numeric_columns,
        is_numeric,
        *lookup,
        exact_limit,
        *flat_tree,
        node_proba,
        stops,
        proba,
    )
