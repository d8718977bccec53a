"""Numeric discovery of relations: rank, circuits and the canonical minimal basis.

Float arithmetic here only *proposes*: every relation it proposes is then proved symbolically
(``lift``) and every rank it claims is certified in ball arithmetic (``certificate``).

Canonical basis. The relations among the columns form a linear space R. Its *circuits* (minimal
dependent sets of columns) span R, and linear independence among circuit vectors is a matroid,
so taking circuits greedily in the order (number of terms, then the sorted tuple of term
positions, lexicographically) and keeping each one not already in the span of those kept gives
a basis of R with the fewest terms in total; ties are broken by that fixed order of derivative
terms (``Model.terms``). Circuits are enumerated inside the matroid's connected components,
found from the fundamental circuits of the lexicographically first column basis.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import cast

import numpy as np

FLOAT_FLOOR = 1e-11
"""Relative singular values below this may be rounding noise of float64 evaluation (the
family's columns are normalised; noise is about 1e-16 … 1e-13 for the sizes used here)."""
MIN_GAP = 1e3
"""A rank is accepted from floats only across a gap of at least this ratio between the smallest
kept and the largest discarded singular value, the discarded ones under :data:`FLOAT_FLOOR`."""
NOISE = 1e-17
SUPPORT_TOL = 1e-7
MAX_SUBSETS = 60_000


@dataclass(frozen=True)
class Circuit:
    support: tuple[int, ...]
    vector: np.ndarray  # coefficients on the support, original column scale, max |v| = 1


@dataclass(frozen=True)
class Discovery:
    basis: tuple[int, ...]  # lexicographically first column basis
    circuits: tuple[Circuit, ...]  # the canonical minimal basis of relations
    exhaustive: bool  # False if a component was too large to enumerate fully
    clean: bool = True  # the rank was read across a clear gap of the singular values


def normalise_columns(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=0)
    norms[norms == 0] = 1.0
    return m / norms


def rank_gap(
    values: np.ndarray, floor: float = FLOAT_FLOOR, gap: float = MIN_GAP
) -> tuple[int, float, bool]:
    """(rank, tolerance, clean) from singular values ``values`` (any order, any scale).

    The rank is the number of values above the widest gap whose lower side is under ``floor``
    (relative to the largest); the tolerance is the geometric mean across that gap, and
    ``clean`` says the gap is at least ``gap`` wide. Without any value under the floor the
    family has full rank (tolerance a tenth of the smallest value).

    >>> rank_gap(np.array([2.3, 1.9, 3e-10, 8e-17]))[:1], rank_gap(np.array([1.0, 1e-12]))[2]
    ((3,), True)
    """
    s = np.sort(np.abs(np.asarray(values, dtype=float)))[::-1]
    if len(s) == 0 or s[0] == 0:
        return 0, 1.0, True
    s = np.maximum(s / s[0], NOISE)
    low = [k for k in range(1, len(s)) if s[k] <= floor]
    if not low:
        return len(s), s[-1] / 10, True
    k = max(low, key=lambda i: (s[i - 1] / s[i], -i))
    return k, float(np.sqrt(s[k - 1] * s[k])), bool(s[k - 1] / s[k] >= gap)


def first_basis(m: np.ndarray, tol: float) -> list[int]:
    """Greedy column basis in index order (Gram–Schmidt with re-orthogonalisation); a column is
    kept when its residual exceeds ``tol`` (columns of unit norm)."""
    q: list[np.ndarray] = []
    basis = []
    for j in range(m.shape[1]):
        v = m[:, j].copy()
        if np.linalg.norm(v) == 0:
            continue
        for _ in range(2):
            for w in q:
                v -= (w @ v) * w
        if np.linalg.norm(v) > tol:
            q.append(v / np.linalg.norm(v))
            basis.append(j)
    return basis


def null_vector(m: np.ndarray, tol: float) -> np.ndarray | None:
    """The unique null vector of ``m`` if its nullity is exactly 1 at ``tol``, else None."""
    if m.shape[1] == 1:
        return np.ones(1) if np.linalg.norm(m) < tol else None
    s = np.linalg.svd(m, compute_uv=False)  # most subsets are independent: values suffice
    smax = s[0] if s[0] > 0 else 1.0
    if s[-1] > tol * smax or (len(s) > 1 and s[-2] <= tol * smax):
        return None
    return np.linalg.svd(m, full_matrices=False)[2][-1]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, a: int) -> int:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def discover(matrix: np.ndarray) -> Discovery:
    """Canonical minimal relation basis of the columns of ``matrix`` (rows: points).

    Circuits are found on the column-normalised matrix; their vectors are returned in the scale
    of ``matrix`` itself (Σ v_i · matrix[:, support_i] ≈ 0), largest entry ±1.
    """
    norms = np.linalg.norm(matrix, axis=0)
    norms[norms == 0] = 1.0
    m = matrix / norms
    n = m.shape[1]
    rank, tol, clean = rank_gap(np.linalg.svd(m, compute_uv=False)) if n else (0, 1.0, True)
    basis = first_basis(m, tol)
    if len(basis) != rank:  # Gram–Schmidt in index order and the SVD disagree: not clean
        clean = False
    uf = _UnionFind()
    involved: set[int] = set()
    for j in sorted(set(range(n)) - set(basis)):
        coef, *_ = np.linalg.lstsq(m[:, basis], m[:, j], rcond=None)
        support = [basis[i] for i in np.flatnonzero(np.abs(coef) > SUPPORT_TOL)] + [j]
        involved.update(support)
        for a in support:
            uf.union(a, j)
    components: dict[int, list[int]] = {}
    for j in sorted(involved):
        components.setdefault(uf.find(j), []).append(j)
    chosen: list[Circuit] = []
    exhaustive = True
    for comp in sorted(components.values()):
        found, ok = _component_circuits(m, comp, tol)
        exhaustive &= ok
        chosen.extend(found)
    chosen.sort(key=lambda c: (len(c.support), c.support))
    chosen = [Circuit(c.support, _unscaled(c.vector, norms[list(c.support)])) for c in chosen]
    return Discovery(tuple(basis), tuple(chosen), exhaustive, clean)


def _unscaled(vector: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """A null vector of the normalised columns as one of the original columns (max |v| = 1)."""
    v = vector / norms
    return v / v[np.argmax(np.abs(v))]


def _component_circuits(m: np.ndarray, comp: list[int], tol: float) -> tuple[list[Circuit], bool]:
    """Circuits of one component, by subsets in order of (size, lexicographic). The subsets of
    one size are screened in chunks with one batched SVD (singular values only): a subset can
    only be a new circuit if it contains no circuit found at a smaller size, and the
    candidates' nullity is read from the batch; the null vector is computed for those alone."""
    sub = m[:, comp]
    need = len(comp) - len(first_basis(sub, tol))
    if sub.shape[0] > sub.shape[1]:  # R of sub = QR: same singular values, far fewer rows
        # numpy's stubs type every mode as QRResult; mode="r" returns the array R alone
        sub = cast(np.ndarray, np.linalg.qr(sub, mode="r"))
    kept: list[Circuit] = []
    span = np.zeros((0, len(comp)))
    minimal: list[int] = []  # circuits found, as bit masks of positions in comp
    tried = 0
    for size in range(1, len(comp) + 1):
        combos = itertools.combinations(range(len(comp)), size)
        while chunk := list(itertools.islice(combos, CHUNK)):
            masks = [sum(1 << i for i in subset) for subset in chunk]
            fresh = [not any(mask & c == c for c in minimal) for mask in masks]
            nullity_one = _nullity_one(
                sub, [s for s, f in zip(chunk, fresh, strict=True) if f], tol
            )
            for subset, mask, is_fresh in zip(chunk, masks, fresh, strict=True):
                if len(kept) == need:
                    return kept, True
                tried += 1
                if tried > MAX_SUBSETS:
                    return _fallback(sub, comp, kept, span, need, tol), False
                if not is_fresh or not nullity_one[subset]:
                    continue
                v = null_vector(sub[:, list(subset)], tol)
                if v is None or np.min(np.abs(v)) < SUPPORT_TOL:
                    continue
                minimal.append(mask)
                full = np.zeros(len(comp))
                full[list(subset)] = v
                if np.linalg.matrix_rank(np.vstack([span, full]), tol=1e-8) > span.shape[0]:
                    span = np.vstack([span, full])
                    kept.append(_circuit(comp, subset, v))
    return kept, len(kept) == need


CHUNK = 4096
"""Subsets screened per batched SVD."""


def _nullity_one(
    sub: np.ndarray, subsets: list[tuple[int, ...]], tol: float
) -> dict[tuple[int, ...], bool]:
    """For each subset of columns: is its nullity exactly 1 at ``tol`` (as in
    :func:`null_vector`)? One stacked SVD for all the subsets (they have one size)."""
    if not subsets:
        return {}
    if len(subsets[0]) == 1:
        return {s: bool(np.linalg.norm(sub[:, s[0]]) < tol) for s in subsets}
    stacked = np.moveaxis(sub[:, np.array(subsets)], 1, 0)  # (subsets, rows, size)
    values = np.linalg.svd(stacked, compute_uv=False)
    top = np.where(values[:, 0] > 0, values[:, 0], 1.0)
    ok = (values[:, -1] <= tol * top) & (values[:, -2] > tol * top)
    return dict(zip(subsets, ok.tolist(), strict=True))


def _circuit(comp: list[int], subset: tuple[int, ...], v: np.ndarray) -> Circuit:
    v = v / np.linalg.norm(v)
    if v[0] < 0:
        v = -v
    return Circuit(tuple(comp[i] for i in subset), v)


def _fallback(
    sub: np.ndarray, comp: list[int], kept: list[Circuit], span: np.ndarray, need: int, tol: float
) -> list[Circuit]:
    """Complete the basis with fundamental circuits (not guaranteed minimal)."""
    basis = first_basis(sub, tol)
    for j in range(len(comp)):
        if len(kept) == need:
            break
        if j in basis:
            continue
        coef, *_ = np.linalg.lstsq(sub[:, basis], sub[:, j], rcond=None)
        idx = [basis[i] for i in np.flatnonzero(np.abs(coef) > SUPPORT_TOL)] + [j]
        order = sorted(range(len(idx)), key=lambda t: idx[t])
        subset = tuple(idx[t] for t in order)
        v = null_vector(sub[:, list(subset)], tol)
        if v is None:
            continue
        full = np.zeros(len(comp))
        full[list(subset)] = v
        if np.linalg.matrix_rank(np.vstack([span, full]), tol=1e-8) > span.shape[0]:
            span = np.vstack([span, full])
            kept.append(_circuit(comp, subset, v))
    return kept
