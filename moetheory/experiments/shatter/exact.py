"""Exact shattering: every labelling of m points decided, each decision with a certificate.

A labelling is an index k ∈ [0, 2^m): point i gets y_i = +1 when bit i of k is set, else −1.
Every model here is invariant under y → −y (negate the separator; swap the experts' labels),
so only the 2^{m−1} labellings with y_{m−1} = −1 are solved and each answer is stated for k and
its complement (:data:`SYMMETRY`).

**Models.**

- ``halfspace``: sgn(wᵀx + b). One LP per labelling (scipy ``linprog``, HiGHS):
  maximise t subject to y_i(wᵀx_i + b) ≥ t, −1 ≤ w_j, b ≤ 1. The optimum t* is > 0 exactly
  when the margin-1 system y_i(wᵀx_i + b) ≥ 1 is feasible (rescale), and at t* = 0 the LP's
  dual values are a Farkas vector λ ≥ 0 with Σλ_i = 1, Σλ_i y_i x_i = 0, Σλ_i y_i = 0 (the
  box multipliers vanish because the dual optimum equals t* = 0). So one LP yields whichever
  certificate exists; a margin-1 LP and a Farkas LP (dual simplex, a vertex) are the fall-back.
- ``linear``: sgn(wᵀx), homogeneous (no bias; VC dimension d). Same LP without b; the Farkas
  vector drops Σλ_i y_i = 0. Cover's count for points in general position is C(m, d).
- ``linear-router``: E experts each a constant label ℓ_j ∈ {±1}, top-1 routing by the argmax of
  E affine scores s_j(x) = a_jᵀx + c_j (strict: a tie is not a decision). A non-constant
  labelling is realised iff the points split into K = min(E, m) non-empty monochromatic blocks
  that are multiclass separable: s_{g(i)}(x_i) > s_l(x_i) for every other block l. (Fewer
  blocks never help: a separable split with fewer than K blocks refines into K by cutting an
  extreme point of a block off with an extra score s_j + ε·h, h a hyperplane through that
  block only.) Two exact methods:

  * ``enumeration`` (exact both ways): every split into K blocks — Σ_{k₊} S(|P₊|, k₊)·
    S(|P₋|, K − k₊) of them, S the Stirling numbers of the second kind — is one LP (max t as
    above); a separable split gives the scores, and an unrealised labelling gets one Farkas
    vector per split, μ_{il} ≥ 0 on the pairs (point i, other block l) with Σμ = 1 and, for
    every block j, Σ_{g(i)=j} Σ_l μ_{il}(x_i, 1) − Σ_{l=j} μ_{il}(x_i, 1) = 0.
  * ``milp`` (realised exact, unrealised a solver status): scipy ``milp`` (HiGHS) with binary
    assignments z_ij, binary labels u_j and the big-M rows
    (a_j − a_l)ᵀx_i + c_j − c_l ≥ 1 − M_i(1 − z_ij), M_i = 1 + 2B(‖x_i‖₁ + 1), inside the box
    |a_jk|, |c_j| ≤ B (:data:`BOX`). M_i is valid because |s_j(x_i) − s_l(x_i)| ≤
    2B(‖x_i‖₁ + 1) in the box, so a row with z_ij = 0 never binds. The box is *not* without
    loss of generality (the problem is scale-free, but the parameter/margin ratio a labelling
    needs is unbounded a priori), so "MILP infeasible" means only "no realisation with margin
    1 inside the box": reported as a solver status, never as an exact claim. Measured: with
    B = 100, 6 of the 256 labellings of 8 Gaussian points (E = 3, d = 2, seed 2) that the
    enumeration realises need a parameter/margin ratio of about 190–200 and came back
    "infeasible"; B = 10⁴ found all of them, B = 10⁶ broke HiGHS's tolerances (solutions that
    fail the exact check, reported undecided).

- ``prototype-router``: E prototypes p_j with constant labels; x goes to the unique nearest
  prototype (Voronoi cells). The cell comparisons ‖x − p_j‖² < ‖x − p_l‖² are *quadratic* in
  the prototypes (the ‖p_j‖² terms do not cancel), so no LP or MILP decides them exactly. Here:
  Voronoi scores 2p_jᵀx − ‖p_j‖² are affine scores, so a labelling the linear router cannot
  realise is not realised by prototypes either (exact when refuted by enumeration); a
  realisation is searched — for each split the linear router separates, a local NLP (SLSQP)
  on the Voronoi inequalities of that split from the blocks' centroids; then prototypes at
  data points and a hinge-loss descent (learning vector quantisation) — and re-checked
  exactly; anything else is reported ``undecided`` (a power-diagram split need not be a
  Voronoi one). E = 2 is exact both ways (two mirror prototypes p = x₀ ± w realise the
  halfspace wᵀx + b > 0, x₀ = −b·w/‖w‖²).

Every "realised" below is an exact claim (the solution is rounded to rationals and every strict
inequality re-checked in exact arithmetic); "unrealised" is exact when it carries Farkas
vectors and a solver status otherwise; :func:`~moetheory.experiments.shatter.certificate.
verify_shatter_json` re-checks every exact claim.

Example (Radon: 4 points of the plane are never shattered by halfspaces; 3 are)::

    >>> from moetheory.experiments.shatter.points import moment_points
    >>> r = shatter_exact(moment_points(3, 2), "halfspace")
    >>> r.shattered, r.counts()["realised"]
    (True, 8)
    >>> r = shatter_exact(moment_points(4, 2), "halfspace")
    >>> r.shattered, r.counts()["realised"], cover_count(4, 3)
    (False, 14, 14)

Reference: experiments.md §1; T. M. Cover, IEEE Trans. Electronic Computers EC-14(3), 1965
(function counting); Farkas' lemma (Schrijver, Theory of Linear and Integer Programming, §7.3).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations
from typing import Any

import numpy as np

from moetheory.experiments.config import ConfigError
from moetheory.experiments.shatter.linalg import fmt, rationalise, solve_exact
from moetheory.experiments.shatter.points import PointSet

MODELS = ("halfspace", "linear", "linear-router", "prototype-router")
"""Models decided exactly (``moe`` is training-based: :mod:`.training`)."""
ROUTER_MODELS = ("linear-router", "prototype-router")
"""Models that route to E constant experts."""
CLASSIFIER_MODELS = ("halfspace", "linear")
"""Single linear classifiers: sgn(wᵀx + b) and sgn(wᵀx); one LP per labelling."""
MAX_EXACT_POINTS = 20
"""Largest m of exact shattering (2^19 LPs for halfspaces: about 10–20 minutes on one core)."""
MAX_EXACT_DIM = 1000
"""Largest input dimension of exact shattering."""
MAX_EXACT_EXPERTS = 64
"""Largest E of the exact router models."""
ENUMERATION_BUDGET = 60_000
"""Most LPs (summed over the labellings, before early exits) the enumeration method runs."""
MAX_MILP_POINTS = 12
"""Largest m the MILP method takes (2^{m−1} MILPs)."""
MAX_MILP_BINARIES = 120
"""Largest m·E + E (binary variables of one MILP)."""
BOX = 10_000
"""B: the MILP's box |a_jk|, |c_j| ≤ B (module docstring)."""
MILP_SECONDS = 20.0
"""Time limit of one MILP (past it the labelling is ``undecided``)."""
SYMMETRY = "complement"
"""Entries cover k < 2^{m−1}; labelling k ^ (2^m − 1) has the same status (y → −y)."""
_TOL = 1e-9


class TooLargeError(ConfigError):
    """An exact shattering problem beyond the limits of this module (the message says which)."""


def labels(k: int, m: int) -> list[int]:
    """The labelling of index k: y_i = +1 when bit i of k is set, else −1.

    >>> labels(5, 3)
    [1, -1, 1]
    """
    return [1 if (k >> i) & 1 else -1 for i in range(m)]


def cover_count(m: int, n: int) -> int:
    """Cover's C(m, n) = 2·Σ_{k=0}^{n−1} binom(m−1, k): labellings of m points in general
    position realised by n-parameter homogeneous linear threshold functions (halfspaces in
    ℝ^d: n = d + 1; homogeneous sgn(wᵀx): n = d).

    >>> cover_count(4, 3), cover_count(3, 3)
    (14, 8)
    """
    return 2 * sum(math.comb(m - 1, k) for k in range(n))


def stirling2(n: int, k: int) -> int:
    """Stirling number of the second kind S(n, k): partitions of n items into k blocks.

    >>> stirling2(4, 2)
    7
    """
    if n == k:
        return 1
    if k == 0 or k > n:
        return 0
    row = [1] + [0] * k  # S(0, ·)
    for i in range(1, n + 1):
        new = [0] * (k + 1)
        for j in range(1, min(i, k) + 1):
            new[j] = j * row[j] + row[j - 1]
        row = new
    return row[k]


def set_partitions(items: Sequence[int], k: int) -> Iterator[list[tuple[int, ...]]]:
    """Every partition of ``items`` (increasing) into exactly k non-empty blocks, canonical:
    blocks increasing inside and ordered by their first item; a fixed order.

    >>> list(set_partitions([0, 1, 2], 2))
    [[(0,), (1, 2)], [(0, 1), (2,)], [(0, 2), (1,)]]
    """
    if k == 0:
        if not items:
            yield []
        return
    if len(items) < k:
        return
    first, rest = items[0], items[1:]
    for p in set_partitions(rest, k - 1):
        yield [(first,), *p]
    for p in set_partitions(rest, k):
        for b in range(k):
            blocks = [((first, *blk) if j == b else blk) for j, blk in enumerate(p)]
            yield sorted(blocks)


def splits(y: Sequence[int], blocks: int) -> Iterator[list[tuple[int, ...]]]:
    """The splits of a non-constant labelling into ``blocks`` monochromatic blocks: + blocks
    first (k₊ = 1, 2, …), then − blocks, each side in :func:`set_partitions` order."""
    plus = [i for i, v in enumerate(y) if v > 0]
    minus = [i for i, v in enumerate(y) if v < 0]
    for kp in range(max(1, blocks - len(minus)), min(len(plus), blocks - 1) + 1):
        for bp in set_partitions(plus, kp):
            for bm in set_partitions(minus, blocks - kp):
                yield bp + bm


def split_count(p: int, n: int, blocks: int) -> int:
    """Number of :func:`splits` of a labelling with p plus and n minus points."""
    return sum(
        stirling2(p, kp) * stirling2(n, blocks - kp)
        for kp in range(max(1, blocks - n), min(p, blocks - 1) + 1)
    )


# ---------------------------------------------------------------------------- results


@dataclass
class Outcome:
    """The decision on one labelling (and its complement): ``status`` realised | unrealised |
    undecided; ``exact`` whether the claim carries an exact certificate; ``entry`` the
    certificate entry (:mod:`.certificate`)."""

    status: str
    exact: bool
    entry: Any


@dataclass
class ShatterResult:
    """Every labelling of one point set decided for one model (module docstring)."""

    model: str
    points: PointSet
    experts: int
    outcomes: list[Outcome]
    method: str
    seconds: float
    box: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def m(self) -> int:
        return self.points.m

    @property
    def dim(self) -> int:
        return self.points.dim

    def counts(self) -> dict[str, int]:
        """Labellings by status over all 2^m (each stored outcome counts for its complement
        too), and how many of each are exact."""
        out = {
            "labelings": 2**self.m,
            "realised": 0,
            "unrealised": 0,
            "undecided": 0,
            "realised_exact": 0,
            "unrealised_exact": 0,
            "unrealised_solver": 0,
        }
        for o in self.outcomes:
            out[o.status] += 2
            if o.status == "realised":
                out["realised_exact"] += 2
            elif o.status == "unrealised":
                out["unrealised_exact" if o.exact else "unrealised_solver"] += 2
        return out

    @property
    def shattered(self) -> bool | None:
        """True: every labelling realised (exact); False: some labelling unrealised (exact or
        by solver status: see :attr:`shattered_exact`); None: undecided labellings remain."""
        c = self.counts()
        if c["realised"] == c["labelings"]:
            return True
        if c["unrealised"]:
            return False
        return None

    @property
    def shattered_exact(self) -> bool:
        """Whether :attr:`shattered` rests on exact certificates only."""
        c = self.counts()
        return c["realised"] == c["labelings"] or c["unrealised_exact"] > 0


# ---------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Plan:
    """How a problem will be decided: ``method`` lp | enumeration | milp | trivial, and an
    upper estimate of the solver calls."""

    method: str
    calls: int


def plan_exact(model: str, m: int, dim: int, experts: int = 1, method: str = "auto") -> Plan:
    """Check the sizes and choose the method before any work (:class:`TooLargeError` or
    :class:`ConfigError` naming the value otherwise)."""
    if model not in MODELS:
        raise ConfigError(f"model {model!r}: exact shattering takes {', '.join(MODELS)}")
    if not 1 <= m <= MAX_EXACT_POINTS:
        raise TooLargeError(f"--points {m}: exact shattering takes 1 to {MAX_EXACT_POINTS} points")
    if not 1 <= dim <= MAX_EXACT_DIM:
        raise TooLargeError(f"--dim {dim}: exact shattering takes 1 to {MAX_EXACT_DIM}")
    half = 2 ** (m - 1)
    if model in CLASSIFIER_MODELS:
        return Plan("lp", half)
    if not 1 <= experts <= MAX_EXACT_EXPERTS:
        raise TooLargeError(
            f"--experts {experts}: exact router shattering takes 1 to {MAX_EXACT_EXPERTS}"
        )
    if method not in ("auto", "enumeration", "milp"):
        raise ConfigError(f"method {method!r}: expected auto, enumeration or milp")
    if experts == 1 or experts >= m:
        return Plan("trivial", 0)
    k = min(experts, m)
    calls = sum(math.comb(m, p) * split_count(p, m - p, k) for p in range(1, m)) // 2
    milp_fits = m <= MAX_MILP_POINTS and m * experts + experts <= MAX_MILP_BINARIES
    if method == "enumeration" or (method == "auto" and calls <= ENUMERATION_BUDGET):
        if calls > ENUMERATION_BUDGET:
            raise TooLargeError(
                f"{model} with m = {m}, E = {experts}: {calls:,} split LPs, "
                f"more than the enumeration budget {ENUMERATION_BUDGET:,}"
            )
        return Plan("enumeration", calls)
    if not milp_fits:
        raise TooLargeError(
            f"{model} with m = {m}, E = {experts} is too large for exact "
            f"shattering: {calls:,} split LPs (budget {ENUMERATION_BUDGET:,}) "
            f"and the MILP takes m ≤ {MAX_MILP_POINTS}, m·E + E ≤ "
            f"{MAX_MILP_BINARIES}"
        )
    return Plan("milp", half)


# ---------------------------------------------------------------------------- LP models


def _dot(u: Sequence[Fraction], v: Sequence[Fraction]) -> Fraction:
    return sum((a * b for a, b in zip(u, v, strict=True)), Fraction(0))


def separator_margins(
    points: Sequence[Sequence[Fraction]],
    y: Sequence[int],
    w: Sequence[Fraction],
    b: Fraction | None,
) -> list[Fraction]:
    """y_i(wᵀx_i + b) for every point (b None: homogeneous), exactly."""
    bias = b if b is not None else Fraction(0)
    return [yi * (_dot(w, x) + bias) for x, yi in zip(points, y, strict=True)]


def farkas_rows(
    points: Sequence[Sequence[Fraction]], y: Sequence[int], bias: bool
) -> tuple[list[list[Fraction]], list[Fraction]]:
    """The equality system of a halfspace Farkas vector: Σλ_i y_i x_i = 0, (Σλ_i y_i = 0),
    Σλ_i = 1, as (rows over i, right-hand side)."""
    d = len(points[0])
    rows = [[yi * x[j] for x, yi in zip(points, y, strict=True)] for j in range(d)]
    if bias:
        rows.append([Fraction(yi) for yi in y])
    rows.append([Fraction(1)] * len(points))
    return rows, [Fraction(0)] * (len(rows) - 1) + [Fraction(1)]


def _exact_nonneg(
    rows: list[list[Fraction]], rhs: list[Fraction], weights: np.ndarray
) -> dict[int, Fraction] | None:
    """A non-negative exact solution supported where the float ``weights`` are positive
    (largest first), or None."""
    top = float(np.max(weights)) if len(weights) else 0.0
    if top <= 0:
        return None
    for cut in (1e-9, 1e-6, 1e-12):
        support = [int(i) for i in np.argsort(-weights, kind="stable") if weights[i] > cut * top]
        z = solve_exact([[row[i] for i in support] for row in rows], rhs)
        if z is not None and all(v >= 0 for v in z):
            return {i: v for i, v in zip(support, z, strict=True) if v != 0}
    return None


def _max_margin_lp(a: np.ndarray) -> Any:
    """maximise t s.t. t − (a z)_i ≤ 0, z in [−1, 1] (columns of a), t free."""
    from scipy.optimize import linprog

    rows, cols = a.shape
    c = np.zeros(cols + 1)
    c[-1] = -1.0
    a_ub = np.hstack([-a, np.ones((rows, 1))])
    return linprog(
        c,
        A_ub=a_ub,
        b_ub=np.zeros(rows),
        bounds=[(-1.0, 1.0)] * cols + [(None, None)],
        method="highs",
    )


def _margin_one_lp(a: np.ndarray) -> np.ndarray | None:
    """A solution of (a z)_i ≥ 1 (z free), or None."""
    from scipy.optimize import linprog

    rows, cols = a.shape
    res = linprog(
        np.zeros(cols), A_ub=-a, b_ub=-np.ones(rows), bounds=[(None, None)] * cols, method="highs"
    )
    return res.x if res.status == 0 else None


def _farkas_lp(rows: list[list[Fraction]], rhs: list[Fraction]) -> np.ndarray | None:
    """A vertex λ ≥ 0 of rows·λ = rhs (dual simplex), or None."""
    from scipy.optimize import linprog

    a = np.array([[float(v) for v in r] for r in rows])
    res = linprog(
        np.zeros(a.shape[1]),
        A_eq=a,
        b_eq=np.array([float(v) for v in rhs]),
        bounds=[(0, None)] * a.shape[1],
        method="highs-ds",
    )
    return res.x if res.status == 0 else None


def decide_linear(
    points: Sequence[Sequence[Fraction]], x: np.ndarray, y: Sequence[int], bias: bool
) -> Outcome:
    """Decide one labelling for sgn(wᵀx + b) (``bias``) or sgn(wᵀx), with its certificate."""
    yv = np.asarray(y, dtype=np.float64)
    a = yv[:, None] * (np.hstack([x, np.ones((len(y), 1))]) if bias else x)
    res = _max_margin_lp(a)
    cols = a.shape[1]

    def separates(z: list[Fraction]) -> bool:
        w, b = (z[:-1], z[-1]) if bias else (z, None)
        return min(separator_margins(points, y, w, b)) > 0

    def realised(z: list[Fraction]) -> Outcome:
        return Outcome("realised", True, "R " + " ".join(fmt(v) for v in z))

    rows, rhs = farkas_rows(points, y, bias)

    def refuted(lam: dict[int, Fraction]) -> Outcome:
        ints = integer_multipliers(lam)
        return Outcome("unrealised", True, "F " + " ".join(f"{i}:{v}" for i, v in ints))

    if res.status == 0:
        t = -float(res.fun)
        if t > _TOL:
            z = rationalise(res.x[:cols], separates)
            if z is not None:
                return realised(z)
        else:
            lam = _exact_nonneg(rows, rhs, -np.asarray(res.ineqlin.marginals))
            if lam is not None:
                return refuted(lam)
    # fall-back: the margin-1 LP, then the Farkas LP on its own (a vertex)
    z_float = _margin_one_lp(a)
    if z_float is not None:
        z = rationalise(z_float, separates)
        if z is not None:
            return realised(z)
    lam_float = _farkas_lp(rows, rhs)
    if lam_float is not None:
        lam = _exact_nonneg(rows, rhs, lam_float)
        if lam is not None:
            return refuted(lam)
    return Outcome("undecided", False, f"U no exact certificate found (LP status {res.status})")


# ---------------------------------------------------------------------------- router models


def scores_of(scores: Sequence[Sequence[Fraction]], x: Sequence[Fraction]) -> list[Fraction]:
    """s_j(x) = a_jᵀx + c_j for rows (a_j…, c_j)."""
    return [_dot(s[:-1], x) + s[-1] for s in scores]


def strict_argmax(values: Sequence[Fraction]) -> int | None:
    """The index of the unique largest value, or None on a tie.

    >>> strict_argmax([Fraction(1), Fraction(3)]), strict_argmax([Fraction(2), Fraction(2)])
    (1, None)
    """
    top = max(values)
    where = [j for j, v in enumerate(values) if v == top]
    return where[0] if len(where) == 1 else None


def routed_labels_scores(
    points: Sequence[Sequence[Fraction]], scores, expert_labels
) -> list[int | None]:
    """The label each point gets from a linear top-1 router with constant experts (None on
    a tie)."""
    out: list[int | None] = []
    for x in points:
        j = strict_argmax(scores_of(scores, x))
        out.append(None if j is None else expert_labels[j])
    return out


def routed_labels_prototypes(
    points: Sequence[Sequence[Fraction]], prototypes, expert_labels
) -> list[int | None]:
    """The label each point gets from its unique nearest prototype (None on a tie)."""
    out: list[int | None] = []
    for x in points:
        dist = [
            -sum(((a - b) ** 2 for a, b in zip(x, p, strict=True)), Fraction(0)) for p in prototypes
        ]
        j = strict_argmax(dist)
        out.append(None if j is None else expert_labels[j])
    return out


def multiclass_rows(
    points: Sequence[Sequence[Fraction]], blocks: Sequence[Sequence[int]]
) -> tuple[list[tuple[int, int]], list[list[Fraction]], list[Fraction]]:
    """The pairs (i, l) (point i, other block l), and the Farkas equality system over them:
    for each block j and coordinate of (x, 1), Σ_{g(i)=j} μ_{il}(x_i,1) − Σ_{l=j} μ_{il}(x_i,1)
    = 0, and Σμ = 1."""
    k = len(blocks)
    d = len(points[0])
    owner = {i: g for g, blk in enumerate(blocks) for i in blk}
    pairs = [(i, o) for i in sorted(owner) for o in range(k) if o != owner[i]]
    rows = [[Fraction(0)] * len(pairs) for _ in range(k * (d + 1))]
    for col, (i, o) in enumerate(pairs):
        ext = [*points[i], Fraction(1)]
        g = owner[i]
        for c in range(d + 1):
            rows[g * (d + 1) + c][col] += ext[c]
            rows[o * (d + 1) + c][col] -= ext[c]
    rows.append([Fraction(1)] * len(pairs))
    return pairs, rows, [Fraction(0)] * (k * (d + 1)) + [Fraction(1)]


def _multiclass_matrix(
    x: np.ndarray, blocks: Sequence[Sequence[int]]
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Rows (per pair (i, l)) of s_g(x_i) − s_l(x_i) in the variables (a_j, c_j)_j."""
    k, d = len(blocks), x.shape[1]
    owner = {i: g for g, blk in enumerate(blocks) for i in blk}
    pairs = [(i, o) for i in sorted(owner) for o in range(k) if o != owner[i]]
    a = np.zeros((len(pairs), k * (d + 1)))
    for r, (i, o) in enumerate(pairs):
        g = owner[i]
        ext = np.append(x[i], 1.0)
        a[r, g * (d + 1) : (g + 1) * (d + 1)] += ext
        a[r, o * (d + 1) : (o + 1) * (d + 1)] -= ext
    return a, pairs


def _split_lp(
    points, x: np.ndarray, blocks: list[tuple[int, ...]], y: Sequence[int]
) -> tuple[str, Any]:
    """('realised', scores rows) | ('refuted', {pair index: μ}) | ('unknown', None)."""
    a, pairs = _multiclass_matrix(x, blocks)
    d = x.shape[1]
    block_labels = [y[blk[0]] for blk in blocks]

    def as_scores(z: list[Fraction]) -> list[list[Fraction]]:
        return [z[j * (d + 1) : (j + 1) * (d + 1)] for j in range(len(blocks))]

    def separates(z: list[Fraction]) -> bool:
        return routed_labels_scores(points, as_scores(z), block_labels) == list(y)

    res = _max_margin_lp(a)
    cols = a.shape[1]
    _, rows, rhs = multiclass_rows(points, blocks)
    if res.status == 0:
        if -float(res.fun) > _TOL:
            z = rationalise(res.x[:cols], separates)
            if z is not None:
                return "realised", as_scores(z)
        else:
            mu = _exact_nonneg(rows, rhs, -np.asarray(res.ineqlin.marginals))
            if mu is not None:
                return "refuted", mu
    z_float = _margin_one_lp(a)
    if z_float is not None:
        z = rationalise(z_float, separates)
        if z is not None:
            return "realised", as_scores(z)
    mu_float = _farkas_lp(rows, rhs)
    if mu_float is not None:
        mu = _exact_nonneg(rows, rhs, mu_float)
        if mu is not None:
            return "refuted", mu
    return "unknown", None


def farkas_text(pairs: Sequence[tuple[int, int]], mu: dict[int, Fraction]) -> str:
    """'i:l:n …' for the non-zero multipliers, scaled to coprime integers."""
    return " ".join(f"{pairs[c][0]}:{pairs[c][1]}:{v}" for c, v in integer_multipliers(mu))


def integer_multipliers(lam: dict[int, Fraction]) -> list[tuple[int, int]]:
    """Positive rational multipliers scaled to coprime positive integers (the Farkas
    conditions other than Σλ = 1 are homogeneous, so λ/Σλ is the normalised vector; the
    integers are about half as long as the rationals).

    >>> integer_multipliers({0: Fraction(1, 3), 4: Fraction(1, 6)})
    [(0, 2), (4, 1)]
    """
    den = 1
    for v in lam.values():
        den = den * v.denominator // math.gcd(den, v.denominator)
    ints = {i: int(q * den) for i, q in lam.items()}
    g = 0
    for n in ints.values():
        g = math.gcd(g, n)
    return sorted((i, n // g) for i, n in ints.items())


def _far_rows(points: Sequence[Sequence[Fraction]], count: int) -> list[list[Fraction]]:
    """``count`` prototypes far from every point: (R·(j + 1), 0, …), R = 1 + 2·max‖x‖₁."""
    radius = Fraction(1 + 2 * max(sum(abs(c) for c in p) for p in points))
    d = len(points[0])
    return [[radius * (j + 1)] + [Fraction(0)] * (d - 1) for j in range(count)]


def _trivial_router(points, y: Sequence[int], experts: int, kind: str) -> Outcome | None:
    """Constant labellings, E = 1 and E ≥ m, decided without a solver (or None)."""
    m, d = len(points), len(points[0])
    if len(set(y)) == 1:  # one expert takes every point
        if kind == "linear-router":
            scores = [[Fraction(0)] * d + [Fraction(1 if j == 0 else 0)] for j in range(experts)]
            return Outcome(
                "realised",
                True,
                {"s": "R", "scores": _rows_json(scores), "labels": [y[0]] * experts},
            )
        protos = [[Fraction(0)] * d] + _far_rows(points, experts - 1)
        return Outcome(
            "realised",
            True,
            {"s": "P", "prototypes": _rows_json(protos), "labels": [y[0]] * experts},
        )
    if experts == 1:  # a non-constant labelling: no split into 1 monochromatic block
        return Outcome("unrealised", True, {"s": "F", "splits": []})
    if experts >= m:  # every point its own cell: prototypes at the points
        protos = [list(p) for p in points] + _far_rows(points, experts - m)
        lab = list(y) + [1] * (experts - m)
        if kind == "prototype-router":
            return Outcome(
                "realised", True, {"s": "P", "prototypes": _rows_json(protos), "labels": lab}
            )
        scores = [[2 * c for c in p] + [-sum((c * c for c in p), Fraction(0))] for p in protos]
        return Outcome("realised", True, {"s": "R", "scores": _rows_json(scores), "labels": lab})
    return None


def _rows_json(rows: Iterable[Sequence[Fraction]]) -> list[list[str]]:
    return [[fmt(v) for v in r] for r in rows]


def _mirror_prototypes(scores: list[list[Fraction]]) -> list[list[Fraction]]:
    """Two prototypes whose Voronoi split is s_0 > s_1: w = a_0 − a_1, b = c_0 − c_1,
    x₀ = −b·w/‖w‖², p = x₀ ± w (‖x − p₀‖² − ‖x − p₁‖² = −4(wᵀx + b))."""
    w = [u - v for u, v in zip(scores[0][:-1], scores[1][:-1], strict=True)]
    b = scores[0][-1] - scores[1][-1]
    norm = _dot(w, w)
    x0 = [-b * c / norm for c in w]
    return [
        [u + v for u, v in zip(x0, w, strict=True)],
        [u - v for u, v in zip(x0, w, strict=True)],
    ]


def decide_router(
    points,
    x: np.ndarray,
    y: Sequence[int],
    experts: int,
    kind: str,
    method: str,
    box: int = BOX,
    seed: int = 0,
) -> Outcome:
    """Decide one labelling for the linear-router or prototype-router model with constant
    experts (module docstring), with its certificate."""
    trivial = _trivial_router(points, y, experts, kind)
    if trivial is not None:
        return trivial
    m = len(points)
    k = min(experts, m)
    if method == "enumeration":
        refutations = []
        found = None
        for blocks in splits(y, k):
            status, data = _split_lp(points, x, blocks, y)
            if status == "realised":
                if kind == "linear-router":
                    return Outcome(
                        "realised",
                        True,
                        {
                            "s": "R",
                            "scores": _rows_json(data),
                            "labels": [y[blk[0]] for blk in blocks],
                        },
                    )
                protos = _prototypes_for_split(points, x, y, blocks, data, seed)
                if protos is not None:
                    return protos
                found = found or blocks  # Voronoi not found for this split: try the next
                continue
            if status == "unknown":
                return Outcome(
                    "undecided",
                    False,
                    {
                        "s": "U",
                        "reason": f"a split LP gave no exact certificate: {_blocks_json(blocks)}",
                    },
                )
            pairs, _, _ = multiclass_rows(points, blocks)
            refutations.append({"blocks": _blocks_json(blocks), "farkas": farkas_text(pairs, data)})
        if found is None:
            return Outcome("unrealised", True, {"s": "F", "splits": refutations})
        return _prototype_search_outcome(points, x, y, experts, seed, found)
    solved = _router_milp(x, y, experts, box)
    if solved is None:
        return Outcome(
            "unrealised",
            False,
            {
                "s": "S",
                "solver": "scipy.optimize.milp (HiGHS)",
                "status": "infeasible",
                "claim": f"no realisation with margin 1 and |a|, |c| ≤ {box} (not exact)",
            },
        )
    if isinstance(solved, str):  # "timeout"
        return Outcome(
            "undecided", False, {"s": "U", "reason": f"MILP time limit ({MILP_SECONDS:g} s)"}
        )
    scores_f, labels_f = solved
    d1 = x.shape[1] + 1

    def separates(z: list[Fraction]) -> bool:
        rows = [z[j * d1 : (j + 1) * d1] for j in range(experts)]
        return routed_labels_scores(points, rows, labels_f) == list(y)

    z = rationalise(scores_f.ravel(), separates)
    if z is None:
        return Outcome(
            "undecided", False, {"s": "U", "reason": "the MILP's solution failed the exact check"}
        )
    scores = [z[j * d1 : (j + 1) * d1] for j in range(experts)]
    if kind == "linear-router":
        return Outcome(
            "realised", True, {"s": "R", "scores": _rows_json(scores), "labels": list(labels_f)}
        )
    # the blocks of the MILP's assignment (experts without points dropped)
    owner = [strict_argmax(scores_of(scores, p)) for p in points]
    blocks = [tuple(i for i in range(m) if owner[i] == j) for j in range(experts)]
    used = [j for j in range(experts) if blocks[j]]
    blocks_used = [blocks[j] for j in used]
    if len(blocks_used) == experts:
        protos = _prototypes_for_split(points, x, y, blocks_used, scores, seed)
        if protos is not None:
            return protos
    return _prototype_search_outcome(points, x, y, experts, seed, blocks_used)


def _prototype_search_outcome(
    points,
    x: np.ndarray,
    y: Sequence[int],
    experts: int,
    seed: int,
    blocks: Sequence[Sequence[int]] | None,
) -> Outcome:
    found_p = search_prototypes(points, x, y, experts, seed, blocks)
    if found_p is not None:
        protos, lab = found_p
        return Outcome(
            "realised", True, {"s": "P", "prototypes": _rows_json(protos), "labels": lab}
        )
    return Outcome(
        "undecided",
        False,
        {
            "s": "U",
            "reason": "realised by the linear-router "
            "relaxation (power diagram); no Voronoi prototypes "
            "found by the search",
        },
    )


def _prototypes_for_split(
    points,
    x: np.ndarray,
    y: Sequence[int],
    blocks: Sequence[Sequence[int]],
    scores: list[list[Fraction]],
    seed: int,
) -> Outcome | None:
    """Voronoi prototypes inducing exactly this split (two blocks: the mirror construction;
    more: a local NLP from the blocks' centroids), checked exactly; or None."""
    block_labels = [y[blk[0]] for blk in blocks]
    if len(blocks) == 2:
        protos = _mirror_prototypes(scores)
        if routed_labels_prototypes(points, protos, block_labels) == list(y):
            return Outcome(
                "realised",
                True,
                {"s": "P", "prototypes": _rows_json(protos), "labels": block_labels},
            )
    p = voronoi_nlp(x, blocks)
    if p is None:
        return None
    d = x.shape[1]

    def ok(z: list[Fraction]) -> bool:
        protos = [z[j * d : (j + 1) * d] for j in range(len(blocks))]
        return routed_labels_prototypes(points, protos, block_labels) == list(y)

    z = rationalise(p.ravel(), ok)
    if z is None:
        return None
    return Outcome(
        "realised",
        True,
        {
            "s": "P",
            "prototypes": _rows_json([z[j * d : (j + 1) * d] for j in range(len(blocks))]),
            "labels": block_labels,
        },
    )


def voronoi_nlp(
    x: np.ndarray, blocks: Sequence[Sequence[int]], iterations: int = 200
) -> np.ndarray | None:
    """Prototypes (k, d) with every point strictly nearer its own block's prototype, by SLSQP
    on max t s.t. ‖x_i − p_l‖² − ‖x_i − p_{g(i)}‖² ≥ t (a local method on a non-convex
    problem, started from the blocks' centroids): the prototypes when t > 0, else None."""
    from scipy.optimize import minimize

    k, d = len(blocks), x.shape[1]
    owner = {i: g for g, blk in enumerate(blocks) for i in blk}
    pairs = np.array([(i, owner[i], o) for i in sorted(owner) for o in range(k) if o != owner[i]])
    ii, gg, ll = pairs[:, 0], pairs[:, 1], pairs[:, 2]
    scale = float(np.abs(x).max()) or 1.0
    start = np.concatenate([np.array([x[list(b)].mean(0) for b in blocks]).ravel(), [0.0]])

    def gap(z: np.ndarray) -> np.ndarray:
        p = z[:-1].reshape(k, d)
        return (((x[ii] - p[ll]) ** 2).sum(1) - ((x[ii] - p[gg]) ** 2).sum(1)) - z[-1]

    def jac(z: np.ndarray) -> np.ndarray:
        p = z[:-1].reshape(k, d)
        out = np.zeros((len(ii), k * d + 1))
        rows = np.arange(len(ii))
        for c in range(d):
            out[rows, ll * d + c] += -2 * (x[ii, c] - p[ll, c])
            out[rows, gg * d + c] += 2 * (x[ii, c] - p[gg, c])
        out[:, -1] = -1.0
        return out

    objective = np.zeros(k * d + 1)
    objective[-1] = -1.0
    bounds = [(-10 * scale, 10 * scale)] * (k * d) + [(None, scale * scale)]
    res = minimize(
        lambda z: float(objective @ z),
        start,
        jac=lambda z: objective,
        bounds=bounds,
        constraints=[{"type": "ineq", "fun": gap, "jac": jac}],
        method="SLSQP",
        options={"maxiter": iterations},
    )
    z = res.x
    if z is None or not np.all(np.isfinite(z)) or gap(z).min() + z[-1] <= 0:
        return None
    return z[:-1].reshape(k, d)


def _blocks_json(blocks: Sequence[Sequence[int]]) -> list[list[int]]:
    return [list(b) for b in blocks]


def _router_milp(
    x: np.ndarray, y: Sequence[int], experts: int, box: int
) -> tuple[np.ndarray, list[int]] | str | None:
    """The big-M MILP (module docstring): (scores (E, d+1), labels) | None (infeasible) |
    'timeout'."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    m, d = x.shape
    e = experts
    n_s = e * (d + 1)
    n_z = m * e
    n = n_s + n_z + e

    def zi(i: int, j: int) -> int:
        return n_s + i * e + j

    rows: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []
    for i in range(m):
        r = np.zeros(n)
        r[[zi(i, j) for j in range(e)]] = 1
        rows.append(r)
        lo.append(1)
        hi.append(1)
        for j in range(e):
            r = np.zeros(n)
            r[zi(i, j)] = 1
            if y[i] > 0:
                r[n_s + n_z + j] = -1
                lo.append(-np.inf)
                hi.append(0)
            else:
                r[n_s + n_z + j] = 1
                lo.append(-np.inf)
                hi.append(1)
            rows.append(r)
        big = 1 + 2 * box * (float(np.abs(x[i]).sum()) + 1)
        ext = np.append(x[i], 1.0)
        for j in range(e):
            for o in range(e):
                if o == j:
                    continue
                r = np.zeros(n)
                r[j * (d + 1) : (j + 1) * (d + 1)] += ext
                r[o * (d + 1) : (o + 1) * (d + 1)] -= ext
                r[zi(i, j)] = -big
                rows.append(r)
                lo.append(1 - big)
                hi.append(np.inf)
    low = np.concatenate([np.full(n_s, -box), np.zeros(n_z + e)])
    high = np.concatenate([np.full(n_s, box), np.ones(n_z + e)])
    low[zi(0, 0)] = 1  # symmetry: point 0 goes to expert 0
    integrality = np.concatenate([np.zeros(n_s), np.ones(n_z + e)])
    res = milp(
        np.zeros(n),
        constraints=LinearConstraint(np.array(rows), lo, hi),
        integrality=integrality,
        bounds=Bounds(low, high),
        options={"time_limit": MILP_SECONDS, "presolve": True},
    )
    if res.status == 2:
        return None
    if res.x is None:
        return "timeout"
    u = res.x[n_s + n_z :]
    return res.x[:n_s].reshape(e, d + 1), [1 if v > 0.5 else -1 for v in u]


# ---------------------------------------------------------------------------- prototype search


def search_prototypes(
    points,
    x: np.ndarray,
    y: Sequence[int],
    experts: int,
    seed: int = 0,
    blocks: Sequence[Sequence[int]] | None = None,
    restarts: int = 6,
    steps: int = 400,
) -> tuple[list[list[Fraction]], list[int]] | None:
    """Labelled prototypes realising y, checked exactly, or None (a search, not a decision):
    E of the data points as prototypes (each with its own label), then hinge-loss descent on
    min_{same label} ‖x_i − p‖² − min_{other label} ‖x_i − p‖² + δ (LVQ) from the blocks'
    centroids and from random data points."""
    m, d = x.shape
    yv = np.asarray(y)
    if math.comb(m, experts) <= 5000:
        dist = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        for combo in combinations(range(m), experts):
            sub = dist[:, combo]
            near = np.argmin(sub, axis=1)
            if np.all(yv[list(np.array(combo)[near])] == yv):
                protos = [list(points[i]) for i in combo]
                lab = [int(y[i]) for i in combo]
                if routed_labels_prototypes(points, protos, lab) == list(y):
                    return protos, lab
    rng = np.random.default_rng(seed)
    scale = float(np.abs(x).max()) or 1.0
    starts: list[tuple[np.ndarray, np.ndarray]] = []
    if blocks is not None and len(blocks) == experts:
        cents = np.array([x[list(b)].mean(0) for b in blocks])
        starts.append((cents, np.array([y[b[0]] for b in blocks])))
    plus, minus = np.flatnonzero(yv > 0), np.flatnonzero(yv < 0)
    for _ in range(restarts):
        kp = int(rng.integers(1, experts)) if experts > 1 else 1
        kp = min(max(kp, experts - len(minus)), len(plus))
        if kp < 1 or experts - kp < 1:
            continue
        km = experts - kp
        chosen = np.concatenate(
            [
                rng.choice(plus, kp, replace=len(plus) < kp),
                rng.choice(minus, km, replace=len(minus) < km),
            ]
        )
        jitter = rng.normal(scale=1e-3 * scale, size=(experts, d))
        starts.append((x[chosen] + jitter, yv[chosen]))
    for p0, start_labels in starts:
        p = _lvq(x, yv, p0.astype(np.float64), start_labels, steps, scale)
        if p is None:
            continue
        lab_list = [int(v) for v in start_labels]

        def ok(z: list[Fraction], lab_list: list[int] = lab_list) -> bool:
            protos = [z[j * d : (j + 1) * d] for j in range(experts)]
            return routed_labels_prototypes(points, protos, lab_list) == list(y)

        z = rationalise(p.ravel(), ok)
        if z is not None:
            return [z[j * d : (j + 1) * d] for j in range(experts)], lab_list
    return None


def _lvq(
    x: np.ndarray, y: np.ndarray, p: np.ndarray, lab: np.ndarray, steps: int, scale: float
) -> np.ndarray | None:
    """Hinge-loss descent on the prototypes (fixed labels); the prototypes once every point is
    nearer its own label by the margin, else None."""
    margin = 1e-3 * scale * scale
    lr = 0.05
    same = lab[None, :] == y[:, None]
    rows = np.arange(len(y))
    for _ in range(steps):
        dist = ((x[:, None, :] - p[None, :, :]) ** 2).sum(-1)
        ds = np.where(same, dist, np.inf)
        do = np.where(~same, dist, np.inf)
        js, jo = ds.argmin(1), do.argmin(1)
        viol = margin + ds[rows, js] - do[rows, jo]
        active = viol > 0
        if not active.any():
            return p
        grad = np.zeros_like(p)
        np.add.at(grad, js[active], 2 * (p[js[active]] - x[active]))
        np.add.at(grad, jo[active], -2 * (p[jo[active]] - x[active]))
        p = p - lr * grad
    return None


# ---------------------------------------------------------------------------- driver


def shatter_exact(
    points: PointSet,
    model: str,
    experts: int = 1,
    method: str = "auto",
    box: int = BOX,
    seed: int = 0,
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> ShatterResult:
    """Decide every labelling of ``points`` for ``model`` (module docstring); labellings k <
    2^{m−1} are solved and their complements follow by symmetry."""
    plan = plan_exact(model, points.m, points.dim, experts, method)
    start = time.perf_counter()
    x = points.array()
    pts = points.points
    m = points.m
    indices: Iterable[int] = range(2 ** (m - 1))
    if progress is not None:
        indices = progress(indices)
    outcomes = []
    for k in indices:
        y = labels(k, m)
        if model in CLASSIFIER_MODELS:
            outcomes.append(decide_linear(pts, x, y, bias=model == "halfspace"))
        else:
            outcomes.append(decide_router(pts, x, y, experts, model, plan.method, box, seed))
    notes = []
    if plan.method == "milp":
        notes.append(f"MILP unrealised claims hold inside the box |a|, |c| ≤ {box} only")
    if model == "prototype-router" and experts > 2 and plan.method != "trivial":
        notes.append(
            "prototype realisations are searched (quadratic cell comparisons); "
            "unrealised claims come from the linear-router relaxation"
        )
    return ShatterResult(
        model=model,
        points=points,
        experts=experts if model in ROUTER_MODELS else 1,
        outcomes=outcomes,
        method=plan.method,
        seconds=time.perf_counter() - start,
        box=box if plan.method == "milp" else None,
        notes=notes,
    )
