"""Per-package sums and small matrix products over futures, each
row summed in a fixed order.

Why hand-written: a package total of row quantities is a product with a 0/1
indicator matrix (packages x rows), which BLAS computes as a dense product:
for the seeds 12 x 86 multiply-adds per future where 86 additions do, and
measured at 15 ms per chunk of 4,096 futures for three such totals on this
machine. And BLAS may sum a row of a product in another order depending on
how many rows there are (its edge kernels round differently in the last
bit), so a package's figures would depend on which other packages are
evaluated with it. These loops add each term into
its row in the order given, so a row's result depends on that row's terms
alone, whatever the other rows, the future or the chunk.

:func:`unique_rows` finds the classes of lever rows (veto players and legal
form): ``np.unique(axis=0)`` sorts rows as records and took 80 ms for the
18,000 elements of a comparison's variants; rows of small counts are one
integer each, sorted in the same (lexicographic) order, and other rows
(the guarantees' rows of forces) by ``np.lexsort`` over their columns
(half the time of ``np.unique(axis=0)``, which sorts them as records).
"""

from __future__ import annotations

import numpy as np

from foedus.models.compiled import kernel


def sum_by(owner: np.ndarray, X: np.ndarray, P: int) -> np.ndarray:
    """``(P, n)``: ``out[p] = sum of X[r] over rows r with owner[r] == p``."""
    return _sum_by(np.ascontiguousarray(owner, dtype=np.int64), np.ascontiguousarray(X, dtype=np.float64), P)


@kernel
def _sum_by(owner, X, P):
    out = np.zeros((P, X.shape[1]))
    for r in range(X.shape[0]):
        p = owner[r]
        for i in range(X.shape[1]):
            out[p, i] += X[r, i]
    return out


def product(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``(R, n)`` ``A @ B`` for a small lever-only ``A`` ``(R, C)`` and
    futures ``B`` ``(C, n)``, each row summed over its non-zero columns in
    column order (``B`` finite)."""
    rows, cols = np.nonzero(A)
    return sparse_product(rows, cols, A[rows, cols], B, A.shape[0])


def sparse_product(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, B: np.ndarray, R: int) -> np.ndarray:
    """``(R, n)``: ``out[rows[k]] += vals[k] * B[cols[k]]``, entries in the
    order given (a sparse matrix times ``B``)."""
    B = np.asarray(B, dtype=np.float64)
    if B.shape[0] == 0:  # nothing to multiply: every row is 0
        return np.zeros((R, B.shape[1] if B.ndim > 1 else 1))
    return sparse_product_kernel(np.ascontiguousarray(rows, dtype=np.int64), np.ascontiguousarray(cols, dtype=np.int64),
                           np.ascontiguousarray(vals, dtype=np.float64), np.ascontiguousarray(B.reshape(B.shape[0], -1)), R)


@kernel
def sparse_product_kernel(rows, cols, vals, B, R):
    """The loop of :func:`sparse_product`, for other compiled loops to call."""
    n = B.shape[1]
    out = np.zeros((R, n))
    for k in range(rows.size):
        r, c, v = rows[k], cols[k], vals[k]
        for i in range(n):
            out[r, i] += v * B[c, i]
    return out


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(a, axis=0, return_inverse=True)`` for a 2-D ``a``: the
    distinct rows in lexicographic order and which one each row is. Rows of
    small non-negative integers (counts, indices) are coded as one integer
    each, ``sum_j a[:, j] * base ** (d - 1 - j)``, which orders them the
    same way; other arrays go to NumPy."""
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"unique_rows: a 2-D array, got shape {a.shape}")
    n, d = a.shape
    if n == 0:
        return a.copy(), np.zeros(0, dtype=np.int64)
    if d == 0:  # every row is the same, empty, row
        return a[:1].copy(), np.zeros(n, dtype=np.int64)
    top = a.max()
    base = int(top) + 1 if np.isfinite(top) else 0
    small = a.min() >= 0 and base > 0 and np.array_equal(a, np.floor(a)) and d * np.log2(max(base, 2)) < 62
    if not small:  # rows sorted by their columns in order (the first the primary key), equal neighbours merged
        order = np.lexsort(a.T[::-1])
        ordered = a[order]
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.any(ordered[1:] != ordered[:-1], axis=1, out=new[1:])
        inverse = np.empty(n, dtype=np.int64)
        inverse[order] = np.cumsum(new) - 1
        return ordered[new], inverse
    weights = base ** np.arange(d - 1, -1, -1, dtype=np.int64)
    codes = a.astype(np.int64) @ weights
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    return a[first], inverse.reshape(-1)


def classes_in_order(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Classes of the rows of ``a`` (small non-negative integers), numbered
    in the order they first occur: each row's class, and the first row of
    each class."""
    uniq, inverse = unique_rows(a)
    first = np.full(uniq.shape[0], a.shape[0], dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(a.shape[0]))
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse].astype(np.int64), first[order]
