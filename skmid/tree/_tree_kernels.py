"""Numba kernels of the categorical (ID3/C4.5-style) trees: growing and traversal.

The whole tree is grown inside one compiled function, breadth first: node ids
are assigned in creation order and processed in that order, so the nodes not
yet processed are the current leaves. Each node owns a contiguous segment of
the ``samples`` array, reordered by child when it splits (as in scikit-learn's
trees). Per node and feature, the split search builds a category x class count
histogram in one pass over the node's rows (categorical features), or sorts
the node's values and sweeps the thresholds (numeric features, C4.5).

Child lookup: node ``t`` has ``n_slots[t]`` slots starting at
``slot_start[t]`` in ``slot_child``: one per category of its split feature, or
three (``<= threshold``, ``> threshold``, missing) for a numeric split; a slot
holds ``-1`` when no training row went that way, and a query taking it stops
at ``t`` and uses ``t``'s class counts.
"""

import math

import numpy as np
from numba import njit

CRITERION_ENTROPY = 0
CRITERION_GINI = 1
CRITERION_GAIN_RATIO = 2

PENALTY_LEAF = 0
PENALTY_LABEL = 1

NUMERIC_SLOTS = 3  # <= threshold, > threshold, missing


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
    sizes = np.empty(n_children)
    for c in range(n_children):
        size = 0.0
        for k in range(hist.shape[1]):
            size += hist[c, k]
        sizes[c] = size
        if size > 0.0:
            children += size / n_node * _impurity(hist[c], size, criterion)
    gain = parent - children
    split_information = _entropy(sizes, n_node)
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
        if sizes[c] > 0.0:
            after[_argmax(hist[c])] += sizes[c]
    return score - lam * (_entropy(after, n_total) - _entropy(predicted, n_total))


@njit(cache=True)
def _grow(array, size):
    if size <= array.shape[0]:
        return array
    out = np.empty(max(size, 2 * array.shape[0]), dtype=array.dtype)
    out[: array.shape[0]] = array
    return out


@njit(cache=True)
def _grow2d(array, size):
    if size <= array.shape[0]:
        return array
    out = np.empty((max(size, 2 * array.shape[0]), array.shape[1]), dtype=array.dtype)
    out[: array.shape[0]] = array
    return out


@njit(cache=True)
def _used_on_path(feature, parent, node, f):
    t = parent[node]
    while t >= 0:
        if feature[t] == f:
            return True
        t = parent[t]
    return False


@njit(cache=True)
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
):
    """Grow an ID3/C4.5 tree with the MID output-entropy penalty.

    ``codes[i, f]`` is the category code of categorical feature ``f``
    (``0 .. n_categories[f] - 1``); ``values[i, f]`` the value of numeric
    feature ``f`` (NaN = missing). Returns the node arrays (see module doc).
    """
    n_samples, n_features = codes.shape
    n_total = float(n_samples)
    capacity = 64
    feature = np.full(capacity, -1, dtype=np.int64)
    threshold = np.full(capacity, np.nan)
    parent = np.full(capacity, -1, dtype=np.int64)
    depth = np.zeros(capacity, dtype=np.int64)
    start = np.zeros(capacity, dtype=np.int64)
    end = np.zeros(capacity, dtype=np.int64)
    value = np.zeros((capacity, n_classes))
    slot_start = np.zeros(capacity, dtype=np.int64)
    n_slots = np.zeros(capacity, dtype=np.int64)
    slot_child = np.full(64, -1, dtype=np.int64)
    n_slot_used = 0

    samples = np.arange(n_samples)
    buffer = np.empty(n_samples, dtype=np.int64)
    for i in range(n_samples):
        value[0, y[i]] += 1.0
    end[0] = n_samples
    n_nodes = 1
    predicted = np.zeros(n_classes)
    predicted[_argmax(value[0])] = n_total

    max_categories = 2
    for f in range(n_features):
        if not is_numeric[f] and n_categories[f] > max_categories:
            max_categories = n_categories[f]
    hist = np.zeros((max_categories, n_classes))
    numeric_hist = np.zeros((NUMERIC_SLOTS, n_classes))
    best_hist = np.zeros((max_categories, n_classes))

    node = 0
    while node < n_nodes:
        n_node = end[node] - start[node]
        counts = value[node]
        pure = counts[_argmax(counts)] == n_node
        if (
            pure
            or n_node < min_samples_split
            or (max_depth >= 0 and depth[node] >= max_depth)
        ):
            node += 1
            continue
        forced = priority_feature >= 0 and depth[node] == priority_depth
        best_feature = -1
        for _attempt in range(2):
            best_score = -np.inf
            best_feature = -1
            best_threshold = np.nan
            best_children = 0
            for position in range(n_features):
                f = feature_order[position]
                if priority_feature >= 0:
                    if f == priority_feature and depth[node] < priority_depth:
                        continue
                    if forced and f != priority_feature:
                        continue
                if is_numeric[f]:
                    score, cut = _best_numeric_split(
                        values,
                        y,
                        samples,
                        start[node],
                        end[node],
                        f,
                        counts,
                        n_total,
                        criterion,
                        penalty,
                        lam,
                        predicted,
                        min_samples_leaf,
                        numeric_hist,
                    )
                    if score > best_score:
                        best_score = score
                        best_feature = f
                        best_threshold = cut
                        best_children = NUMERIC_SLOTS
                        _fill_numeric_hist(
                            values,
                            y,
                            samples,
                            start[node],
                            end[node],
                            f,
                            cut,
                            best_hist,
                        )
                    continue
                if _used_on_path(feature, parent, node, f):
                    continue
                m = n_categories[f]
                hist[:m] = 0.0
                for s in range(start[node], end[node]):
                    i = samples[s]
                    hist[codes[i, f], y[i]] += 1.0
                if not _valid_children(hist[:m], min_samples_leaf):
                    continue
                score = _split_score(
                    hist[:m],
                    counts,
                    n_node,
                    n_total,
                    criterion,
                    lam,
                    penalty,
                    predicted,
                )
                if score > best_score:
                    best_score = score
                    best_feature = f
                    best_threshold = np.nan
                    best_children = m
                    best_hist[:m] = hist[:m]
            if best_feature >= 0 or not forced:
                break
            forced = False  # the priority feature cannot split here: search all
        if best_feature < 0 or (not forced and best_score < 0.0):
            node += 1
            continue

        # Split: reorder the node's segment by child (counting sort).
        f = best_feature
        n_children = best_children
        offsets = np.zeros(n_children + 1, dtype=np.int64)
        for s in range(start[node], end[node]):
            c = _child_slot(codes, values, samples[s], f, is_numeric[f], best_threshold)
            offsets[c + 1] += 1
        for c in range(n_children):
            offsets[c + 1] += offsets[c]
        fill = offsets.copy()
        for s in range(start[node], end[node]):
            c = _child_slot(codes, values, samples[s], f, is_numeric[f], best_threshold)
            buffer[fill[c]] = samples[s]
            fill[c] += 1
        samples[start[node] : end[node]] = buffer[:n_node]

        feature[node] = f
        threshold[node] = best_threshold
        slot_child = _grow(slot_child, n_slot_used + n_children)
        slot_child[n_slot_used : n_slot_used + n_children] = -1
        slot_start[node] = n_slot_used
        n_slots[node] = n_children
        n_slot_used += n_children
        predicted[_argmax(counts)] -= n_node
        for c in range(n_children):
            size = offsets[c + 1] - offsets[c]
            if size == 0:
                continue
            child = n_nodes
            n_nodes += 1
            feature = _grow(feature, n_nodes)
            threshold = _grow(threshold, n_nodes)
            parent = _grow(parent, n_nodes)
            depth = _grow(depth, n_nodes)
            start = _grow(start, n_nodes)
            end = _grow(end, n_nodes)
            value = _grow2d(value, n_nodes)
            slot_start = _grow(slot_start, n_nodes)
            n_slots = _grow(n_slots, n_nodes)
            feature[child] = -1
            threshold[child] = np.nan
            parent[child] = node
            depth[child] = depth[node] + 1
            start[child] = start[node] + offsets[c]
            end[child] = start[node] + offsets[c + 1]
            value[child] = best_hist[c]
            slot_start[child] = 0
            n_slots[child] = 0
            slot_child[slot_start[node] + c] = child
            predicted[_argmax(best_hist[c])] += size
        node += 1

    return (
        feature[:n_nodes].copy(),
        threshold[:n_nodes].copy(),
        parent[:n_nodes].copy(),
        depth[:n_nodes].copy(),
        value[:n_nodes].copy(),
        slot_start[:n_nodes].copy(),
        n_slots[:n_nodes].copy(),
        slot_child[:n_slot_used].copy(),
    )


@njit(cache=True)
def _valid_children(hist, min_samples_leaf):
    """At least two non-empty children, each with >= min_samples_leaf rows."""
    non_empty = 0
    for c in range(hist.shape[0]):
        size = 0.0
        for k in range(hist.shape[1]):
            size += hist[c, k]
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
def _fill_numeric_hist(values, y, samples, lo, hi, f, cut, out):
    out[:NUMERIC_SLOTS] = 0.0
    for s in range(lo, hi):
        i = samples[s]
        v = values[i, f]
        c = 2 if np.isnan(v) else (0 if v <= cut else 1)
        out[c, y[i]] += 1.0


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
            best_cut = left + (right - left) / 2.0
    return best, best_cut


@njit(cache=True)
def apply_tree(codes, values, is_numeric, feature, threshold, slot_start, slot_child):
    """Node where each row stops: a leaf, or a node whose slot it finds empty."""
    n_rows = codes.shape[0]
    out = np.empty(n_rows, dtype=np.int64)
    for i in range(n_rows):
        node = 0
        while feature[node] >= 0:
            f = feature[node]
            if is_numeric[f]:
                v = values[i, f]
                slot = 2 if np.isnan(v) else (0 if v <= threshold[node] else 1)
            else:
                slot = codes[i, f]
                if slot < 0:  # a category never seen in training
                    break
            child = slot_child[slot_start[node] + slot]
            if child < 0:
                break
            node = child
        out[i] = node
    return out
