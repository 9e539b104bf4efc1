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
two (``<= threshold``, ``> threshold``) for a numeric split; a slot holds
``-1`` when no training row went that way, and a query taking it stops at
``t`` and uses ``t``'s class counts. A numeric split sends missing values to
one of its two children, ``missing_left[t]`` saying which, as scikit-learn's
trees do: the side that scores best, tried at every threshold (and the split
of present from missing values), or, where no training row at the node had
the value missing, the child with more rows.

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

NUMERIC_SLOTS = 2  # <= threshold, > threshold

# Columns of the integer node array used while growing.
FEATURE, PARENT, DEPTH, START, END, SLOT_START, N_SLOTS, MISSING_LEFT = range(8)
N_NODE_COLUMNS = 8
# Entries of the growth state arrays: progress (int) and best (float). PHASE
# is NODE_START before a node is looked at, then SEARCH_FORCED or SEARCH_ALL
# while its features are searched from POSITION on.
NEXT_NODE, N_NODES, N_SLOTS_USED = 0, 1, 2
PHASE, POSITION, BEST_FEATURE, BEST_CHILDREN, N_VALID = 3, 4, 5, 6, 7
BEST_MISSING_LEFT = 8
N_PROGRESS = 9
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
def _next_random(state):
    """splitmix64: the next 64-bit random integer of the generator ``state[0]``."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _shuffle(order, state):
    """Fisher-Yates shuffle of ``order`` in place (the modulo bias is < 2**-50)."""
    n = order.shape[0]
    for i in range(n - 1):
        j = i + np.int64(_next_random(state) % np.uint64(n - i))
        order[i], order[j] = order[j], order[i]


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
    sample_weight=None,
    min_weight_leaf=0.0,
    min_impurity_decrease=0.0,
    max_features=-1,
    seed=0,
    random_split=False,
    work_per_call=WORK_PER_CALL,
):
    """Grow an ID3/C4.5 tree with the MID output-entropy penalty.

    ``codes[i, f]`` is the category code of categorical feature ``f``
    (``0 .. n_categories[f] - 1``); ``values[i, f]`` the value of numeric
    feature ``f`` (NaN = missing, finite otherwise). Returns the node arrays
    (see module doc), then the rows per node, the score of each split (NaN
    at leaves) and ``missing_left`` (whether a numeric split sends missing
    values to its ``<=`` child).

    With ``sample_weight``, class counts, the node shares of the criterion and
    the penalty's output distribution are weighted (integer weights act as
    repeated rows); ``min_samples_split`` and ``min_samples_leaf`` count rows,
    ``min_weight_leaf`` bounds the weight of every non-empty child, and a
    split is made only if its score reaches ``min_impurity_decrease`` (at
    ``lam=0`` the score is scikit-learn's weighted impurity decrease).

    With ``0 < max_features < n_features``, each node visits the features in
    a random order (drawn from ``seed``) and stops after ``max_features`` of
    them gave a valid split, or goes on until one does, as scikit-learn's.
    With ``random_split``, a numeric feature offers one threshold drawn
    uniformly between its smallest and largest value at the node, missing
    values sent to a side drawn at random (and the split of present from
    missing values), as scikit-learn's random splitter.

    The growth runs in calls of :func:`grow_nodes` of about ``work_per_call``
    row visits each, which return to Python (where Ctrl-C is seen); the node
    arrays are enlarged here, between calls.
    """
    n_samples = y.shape[0]
    if sample_weight is None:
        sample_weight = np.ones(n_samples)
    # the most children one split creates: its feature's categories, or the
    # slots of a numeric split
    max_children = max(NUMERIC_SLOTS, int(n_categories.max(initial=0)))
    nodes = np.zeros((64, N_NODE_COLUMNS), dtype=np.int64)
    threshold = np.full(64, np.nan)
    score = np.full(64, np.nan)
    value = np.zeros((64, n_classes))
    slot_child = np.full(64, -1, dtype=np.int64)
    nodes[0, FEATURE] = -1
    nodes[0, PARENT] = -1
    nodes[0, END] = n_samples
    value[0] = np.bincount(y, weights=sample_weight, minlength=n_classes)
    predicted = np.zeros(n_classes)
    predicted[np.argmax(value[0])] = value[0].sum()
    # rows of zero weight take no part in the splits, as in scikit-learn
    samples = np.flatnonzero(sample_weight > 0).astype(np.int64)
    nodes[0, END] = samples.shape[0]
    buffer = np.empty_like(samples)
    progress = np.zeros(N_PROGRESS, dtype=np.int64)
    progress[N_NODES] = 1
    best = np.zeros(N_BEST)
    n_features = codes.shape[1]
    if max_features <= 0 or max_features >= n_features:
        max_features = n_features
    feature_order = feature_order.copy()
    rng_state = np.array([seed], dtype=np.uint64)
    while progress[NEXT_NODE] < progress[N_NODES]:
        needed = progress[N_NODES] + max_children
        if needed > nodes.shape[0]:
            nodes = _enlarge(nodes, needed, 0)
            threshold = _enlarge(threshold, needed, np.nan)
            score = _enlarge(score, needed, np.nan)
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
            sample_weight,
            float(value[0].sum()),
            feature_order,
            criterion,
            penalty,
            lam,
            max_depth,
            min_samples_split,
            min_samples_leaf,
            float(min_weight_leaf),
            float(min_impurity_decrease),
            max_features,
            random_split,
            rng_state,
            priority_feature,
            priority_depth,
            nodes,
            threshold,
            score,
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
        nodes[:n_nodes, END] - nodes[:n_nodes, START],
        score[:n_nodes].copy(),
        nodes[:n_nodes, MISSING_LEFT].astype(np.bool_),
    )


@njit(cache=True)
def grow_nodes(
    codes,
    values,
    is_numeric,
    n_categories,
    y,
    sample_weight,
    n_total,
    feature_order,
    criterion,
    penalty,
    lam,
    max_depth,
    min_samples_split,
    min_samples_leaf,
    min_weight_leaf,
    min_impurity_decrease,
    max_features,
    random_split,
    rng_state,
    priority_feature,
    priority_depth,
    nodes,
    threshold,
    split_score,
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
    at least ``min_impurity_decrease``. ``n_total`` is the total weight.
    """
    n_features = codes.shape[1]
    n_classes = value.shape[1]
    hist = np.zeros((max_children, n_classes))
    rows = np.zeros(max_children, dtype=np.int64)
    node = progress[NEXT_NODE]
    n_nodes = progress[N_NODES]
    n_slot_used = progress[N_SLOTS_USED]
    phase = progress[PHASE]
    position = progress[POSITION]
    best_feature = progress[BEST_FEATURE]
    best_children = progress[BEST_CHILDREN]
    best_missing_left = progress[BEST_MISSING_LEFT]
    n_valid = progress[N_VALID]
    best_score = best[BEST_SCORE]
    best_threshold = best[BEST_THRESHOLD]
    work = 0
    while node < n_nodes and work < max_work:
        lo = nodes[node, START]
        hi = nodes[node, END]
        n_node = hi - lo
        node_depth = nodes[node, DEPTH]
        counts = value[node]
        node_weight = 0.0
        for k in range(n_classes):
            node_weight += counts[k]
        if phase == NODE_START:
            if (
                n_nodes + max_children > nodes.shape[0]
                or n_slot_used + max_children > slot_child.shape[0]
            ):
                break
            work += 1
            if (
                counts[_argmax(counts)] >= node_weight
                or n_node < min_samples_split
                or (max_depth >= 0 and node_depth >= max_depth)
            ):
                node += 1
                continue
            forced = priority_feature >= 0 and node_depth == priority_depth
            phase = SEARCH_FORCED if forced else SEARCH_ALL
            position = 0
            n_valid = 0
            if max_features < n_features:
                _shuffle(feature_order, rng_state)
            best_score = -np.inf
            best_feature = -1
            best_threshold = np.nan
            best_children = 0
            best_missing_left = 0

        n_candidates = 1 if phase == SEARCH_FORCED else n_features
        if position < n_candidates and (
            phase == SEARCH_FORCED or n_valid < max_features
        ):
            f = priority_feature if phase == SEARCH_FORCED else feature_order[position]
            position += 1
            if phase == SEARCH_ALL and f == priority_feature:
                if node_depth < priority_depth:
                    continue
            if is_numeric[f]:
                work += NUMERIC_ROW_WORK * n_node
                score, cut, missing_left = _best_numeric_split(
                    values,
                    y,
                    sample_weight,
                    samples,
                    lo,
                    hi,
                    f,
                    counts,
                    node_weight,
                    n_total,
                    criterion,
                    penalty,
                    lam,
                    predicted,
                    min_samples_leaf,
                    min_weight_leaf,
                    hist[:NUMERIC_SLOTS],
                    random_split,
                    rng_state,
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
                    sample_weight,
                    samples,
                    lo,
                    hi,
                    f,
                    counts,
                    node_weight,
                    n_total,
                    criterion,
                    penalty,
                    lam,
                    predicted,
                    min_samples_leaf,
                    min_weight_leaf,
                    hist[:m],
                    rows[:m],
                )
                missing_left = 0
            if score > -np.inf:
                n_valid += 1
            if score > best_score:
                best_score = score
                best_feature = f
                best_threshold = cut
                best_children = m
                best_missing_left = missing_left
            continue

        if phase == SEARCH_FORCED and best_feature < 0:
            # the priority feature cannot split this node: search all features
            phase = SEARCH_ALL
            position = 0
            continue
        if best_feature >= 0 and (
            phase == SEARCH_FORCED or best_score >= min_impurity_decrease
        ):
            work += 2 * n_node
            split_score[node] = best_score
            n_nodes, n_slot_used = _split(
                codes,
                values,
                is_numeric,
                y,
                sample_weight,
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
                best_missing_left,
                best_children,
                n_nodes,
                n_slot_used,
                hist,
                rows,
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
    progress[BEST_MISSING_LEFT] = best_missing_left
    progress[N_VALID] = n_valid
    best[BEST_SCORE] = best_score
    best[BEST_THRESHOLD] = best_threshold


@njit(cache=True)
def _categorical_score(
    codes,
    y,
    sample_weight,
    samples,
    lo,
    hi,
    f,
    counts,
    node_weight,
    n_total,
    criterion,
    penalty,
    lam,
    predicted,
    min_samples_leaf,
    min_weight_leaf,
    hist,
    rows,
):
    """Score of the multiway split on categorical feature ``f`` (-inf: invalid)."""
    hist[:] = 0.0
    rows[:] = 0
    for s in range(lo, hi):
        i = samples[s]
        hist[codes[i, f], y[i]] += sample_weight[i]
        rows[codes[i, f]] += 1
    if not _valid_children(hist, rows, min_samples_leaf, min_weight_leaf):
        return -np.inf, np.nan
    score = _split_score(
        hist, counts, node_weight, n_total, criterion, lam, penalty, predicted
    )
    return score, np.nan


@njit(cache=True)
def _split(
    codes,
    values,
    is_numeric,
    y,
    sample_weight,
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
    missing_left,
    n_children,
    n_nodes,
    n_slot_used,
    child_counts,
    child_rows,
):
    """Split ``node`` on ``f``, appending its non-empty children.

    The children's class counts are taken from the rows as they are
    partitioned, so they are exactly what :func:`traverse` finds. A split
    leaving fewer than two non-empty children is not made (it would be
    searched again at the child, forever). A numeric split whose rows have
    no missing value sends missing values to the child with more rows (the
    ``>`` child on a tie), as scikit-learn's. Returns the new node and slot
    counts.
    """
    lo = nodes[node, START]
    hi = nodes[node, END]
    child_counts[:n_children] = 0.0
    child_rows[:n_children] = 0
    n_missing = 0
    for s in range(lo, hi):
        i = samples[s]
        c = _child_slot(codes, values, i, f, is_numeric[f], cut, missing_left)
        child_counts[c, y[i]] += sample_weight[i]
        child_rows[c] += 1
        if is_numeric[f] and np.isnan(values[i, f]):
            n_missing += 1
    offsets = np.zeros(n_children + 1, dtype=np.int64)
    n_non_empty = 0
    for c in range(n_children):
        size = child_rows[c]
        offsets[c + 1] = offsets[c] + size
        if size > 0:
            n_non_empty += 1
    if n_non_empty < 2:
        return n_nodes, n_slot_used
    fill = offsets.copy()
    for s in range(lo, hi):
        c = _child_slot(codes, values, samples[s], f, is_numeric[f], cut, missing_left)
        buffer[fill[c]] = samples[s]
        fill[c] += 1
    samples[lo:hi] = buffer[: hi - lo]

    nodes[node, FEATURE] = f
    threshold[node] = cut
    if is_numeric[f] and n_missing == 0:
        missing_left = 1 if child_rows[0] > child_rows[1] else 0
    nodes[node, MISSING_LEFT] = missing_left if is_numeric[f] else 0
    nodes[node, SLOT_START] = n_slot_used
    nodes[node, N_SLOTS] = n_children
    slot_child[n_slot_used : n_slot_used + n_children] = -1
    predicted[_argmax(value[node])] -= _row_sum(value, node)
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
        nodes[child, MISSING_LEFT] = 0
        threshold[child] = np.nan
        value[child] = child_counts[c]
        slot_child[n_slot_used + c] = child
        predicted[_argmax(child_counts[c])] += _row_sum(child_counts, c)
    return n_nodes, n_slot_used + n_children


@njit(cache=True)
def _valid_children(hist, rows, min_samples_leaf, min_weight_leaf):
    """At least two non-empty children, each with >= min_samples_leaf rows
    and >= min_weight_leaf weight."""
    non_empty = 0
    for c in range(hist.shape[0]):
        if rows[c] > 0:
            non_empty += 1
            if rows[c] < min_samples_leaf or _row_sum(hist, c) < min_weight_leaf:
                return False
    return non_empty >= 2


@njit(cache=True)
def _child_slot(codes, values, i, f, numeric, cut, missing_left):
    if not numeric:
        return codes[i, f]
    v = values[i, f]
    if np.isnan(v):
        return 0 if missing_left else 1
    return 0 if v <= cut else 1


@njit(cache=True)
def _best_numeric_split(
    values,
    y,
    sample_weight,
    samples,
    lo,
    hi,
    f,
    counts,
    node_weight,
    n_total,
    criterion,
    penalty,
    lam,
    predicted,
    min_samples_leaf,
    min_weight_leaf,
    hist,
    random_split,
    rng_state,
):
    """Best C4.5 threshold of numeric feature ``f``: ``(score, cut, missing_left)``.

    Thresholds are midpoints of adjacent present values. With missing values
    at the node, every threshold is scored with them sent right, then left
    (a tie keeps the first), and then the split of the present values
    (``<= inf``) from the missing ones: the penalised score of each is that
    of the partition it makes, missing rows included, as scikit-learn's best
    splitter searches them.
    """
    n_node = hi - lo
    n_classes = hist.shape[1]
    keys = np.empty(n_node)
    labels = np.empty(n_node, dtype=np.int64)
    weights = np.empty(n_node)
    missing = np.zeros(n_classes)
    present = np.zeros(n_classes)
    n_present = 0
    for s in range(lo, hi):
        i = samples[s]
        v = values[i, f]
        if np.isnan(v):
            missing[y[i]] += sample_weight[i]
        else:
            keys[n_present] = v
            labels[n_present] = y[i]
            weights[n_present] = sample_weight[i]
            present[y[i]] += sample_weight[i]
            n_present += 1
    n_missing = n_node - n_present
    order = np.argsort(keys[:n_present], kind="mergesort")
    pair = np.zeros((2, n_classes))
    best = -np.inf
    best_cut = np.nan
    best_left = 0
    if random_split:
        best, best_cut, best_left = _random_numeric_split(
            keys[:n_present],
            labels[:n_present],
            weights[:n_present],
            missing,
            n_missing,
            counts,
            node_weight,
            n_total,
            criterion,
            penalty,
            lam,
            predicted,
            min_samples_leaf,
            min_weight_leaf,
            hist,
            pair,
            rng_state,
        )
    else:
        for missing_left in range(2 if n_missing > 0 else 1):
            hist[0] = 0.0
            hist[1] = present
            for j in range(n_present - 1):
                k = labels[order[j]]
                hist[0, k] += weights[order[j]]
                hist[1, k] -= weights[order[j]]
                left = keys[order[j]]
                right = keys[order[j + 1]]
                if left == right:
                    continue
                n_left = j + 1 + missing_left * n_missing
                n_right = n_node - n_left
                if n_left < min_samples_leaf or n_right < min_samples_leaf:
                    continue
                score = _sided_score(
                    hist,
                    missing,
                    missing_left,
                    n_missing,
                    pair,
                    counts,
                    node_weight,
                    n_total,
                    criterion,
                    penalty,
                    lam,
                    predicted,
                    min_weight_leaf,
                )
                if score > best:
                    best = score
                    best_cut = _separating_threshold(left, right)
                    best_left = missing_left
    if (
        n_missing > 0
        and n_present > 0
        and min(n_present, n_missing) >= min_samples_leaf
    ):
        # present values against missing ones: the split a feature constant
        # where present still offers
        pair[0] = present
        pair[1] = missing
        if (
            _row_sum(pair, 0) >= min_weight_leaf
            and _row_sum(pair, 1) >= min_weight_leaf
        ):
            score = _split_score(
                pair, counts, node_weight, n_total, criterion, lam, penalty, predicted
            )
            if score > best:
                best = score
                best_cut = np.inf
                best_left = 0
    return best, best_cut, best_left


@njit(cache=True)
def _sided_score(
    hist,
    missing,
    missing_left,
    n_missing,
    pair,
    counts,
    node_weight,
    n_total,
    criterion,
    penalty,
    lam,
    predicted,
    min_weight_leaf,
):
    """Score of the present rows split as in ``hist`` with the missing rows
    (class weights ``missing``) on the left or right (-inf: too light a child)."""
    children = hist
    if n_missing > 0:
        pair[0] = hist[0]
        pair[1] = hist[1]
        side = 0 if missing_left else 1
        for k in range(missing.shape[0]):
            pair[side, k] += missing[k]
        children = pair
    if min_weight_leaf > 0.0 and (
        _row_sum(children, 0) < min_weight_leaf
        or _row_sum(children, 1) < min_weight_leaf
    ):
        return -np.inf
    return _split_score(
        children, counts, node_weight, n_total, criterion, lam, penalty, predicted
    )


@njit(cache=True)
def _random_numeric_split(
    keys,
    labels,
    weights,
    missing,
    n_missing,
    counts,
    node_weight,
    n_total,
    criterion,
    penalty,
    lam,
    predicted,
    min_samples_leaf,
    min_weight_leaf,
    hist,
    pair,
    rng_state,
):
    """scikit-learn's random splitter: one threshold drawn uniformly between
    the smallest and largest present value, missing values (if any) sent to
    a side drawn at random: ``(score, cut, missing_left)``, score -inf if
    the split is invalid."""
    n_present = keys.shape[0]
    if n_present < 2:
        return -np.inf, np.nan, 0
    low = keys.min()
    high = keys.max()
    if not low < high:
        return -np.inf, np.nan, 0
    u = np.float64(_next_random(rng_state) >> np.uint64(11)) / 9007199254740992.0
    cut = low / 2.0 + high / 2.0 + (u - 0.5) * (high / 2.0 - low / 2.0) * 2.0
    if not (low <= cut and cut < high):
        cut = low
    missing_left = 0
    if n_missing > 0:
        missing_left = np.int64(_next_random(rng_state) >> np.uint64(63))
    hist[:] = 0.0
    n_left = 0
    for j in range(n_present):
        side = 0 if keys[j] <= cut else 1
        hist[side, labels[j]] += weights[j]
        n_left += 1 - side
    n_right = n_present - n_left
    if missing_left:
        n_left += n_missing
    else:
        n_right += n_missing
    if n_left < min_samples_leaf or n_right < min_samples_leaf:
        return -np.inf, np.nan, 0
    score = _sided_score(
        hist,
        missing,
        missing_left,
        n_missing,
        pair,
        counts,
        node_weight,
        n_total,
        criterion,
        penalty,
        lam,
        predicted,
        min_weight_leaf,
    )
    return score, cut, missing_left


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


def flatten_tree(feature, threshold, slot_start, slot_child, is_numeric, missing_left):
    """The node arrays of a fitted tree as the traversal reads them.

    Indices shrink to int32 where they fit, and the children of numeric splits
    are copied next to each other by node (``numeric_child[t]``: ``<=``, ``>``,
    and the one missing values go to): the traversal is bound by the latency
    of its dependent loads, and a smaller footprint and one load fewer per
    numeric node make it several tens of percent faster.
    """
    n_nodes = feature.shape[0]
    index = np.int32 if max(n_nodes, slot_child.shape[0]) < 2**31 else np.int64
    numeric = feature >= 0
    numeric[numeric] = is_numeric[feature[numeric]]
    numeric_child = np.full((n_nodes, NUMERIC_SLOTS + 1), -1, dtype=index)
    numeric_child[numeric, :NUMERIC_SLOTS] = slot_child[
        slot_start[numeric, None] + np.arange(NUMERIC_SLOTS)
    ]
    numeric_child[numeric, NUMERIC_SLOTS] = np.where(
        missing_left[numeric], numeric_child[numeric, 0], numeric_child[numeric, 1]
    )
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
                    if is_numeric[f]:  # <=, > or missing (NaN: either side)
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
