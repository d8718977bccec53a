"""Error verification of an approximator: searches that report what they found, and, in
d = 1, a proof.

* :func:`max_error` — the sup error |f − g| estimated on a regular grid of about N points
  (the cube's corners included), then a bounded adversarial maximiser (scipy's differential
  evolution, vectorised, in a box of one grid spacing) started from the worst grid points.
  Reported as "max error e found on N points": a **search, never a proof**.
* :func:`exact_sup_1d` — for d = 1 the network is piecewise affine with breakpoints computed
  from its weights (:func:`linear_pieces`); on each affine piece ℓ(x) = p + q·x the error
  e = |f − ℓ| satisfies |e(x) − e(a)| ≤ λ|x − a|^α + |q|·|x − a| when f is (α, λ)-Hölder, so
  branch and bound over the pieces brackets sup_{[0,1]} e in [lower, upper] with
  upper/lower ≤ 1 + rtol. A **proof** given the Hölder declaration (float64 rounding aside).
* :func:`face_jump` — the largest |f_k(x) − f_l(x)| of two neighbouring experts on their
  shared cell face (0 up to rounding for the Kuhn experts: the mixture is continuous).
* :func:`holder_check` — the declared λ against the largest Hölder quotient found on random
  pairs (a lower bound on the true constant; a quotient above λ voids the guarantee).

Example::

    >>> from moetheory.construct.approximate import approximate
    >>> c = approximate("abs-power", alpha=1, holder=1, dim=1, eps="0.1")
    >>> r = max_error(module_function(c.module()), c.target, 1, points=1000)
    >>> r.max_error <= 0.1
    True
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import differential_evolution

from moetheory.bounds.architecture import check_count
from moetheory.bounds.monotone import floor_root
from moetheory.construct.mixture import ExpertMixture
from moetheory.construct.network import Network
from moetheory.construct.targets import TargetFunction, empirical_holder
from moetheory.errors import SizeError

MAX_POINTS = 10**7  # check points of one search (the grid alone is points·d floats)


@dataclass(frozen=True)
class ErrorReport:
    """The largest error a search found (not a proof)."""

    max_error: float
    argmax: tuple[float, ...]
    check_points: int
    grid_points: int
    search_evaluations: int
    starts: int
    seed: int

    def statement(self) -> str:
        return (
            f"max error {self.max_error:.6g} found on {self.check_points:,} points "
            f"({self.grid_points:,} grid points, {self.search_evaluations:,} evaluations "
            f"of an adversarial search from the {self.starts} worst; a search, not a proof)"
        )

    def to_json(self) -> dict:
        return {
            "max_error_found": self.max_error,
            "argmax": list(self.argmax),
            "check_points": self.check_points,
            "grid_points": self.grid_points,
            "search_evaluations": self.search_evaluations,
            "starts": self.starts,
            "seed": self.seed,
            "statement": self.statement(),
        }


def module_function(module: torch.nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """A torch module mapping (n, d) → (n,) or (n, 1), as a numpy function (n, d) → (n,)."""

    def evaluate(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)))
        out = out.detach().double().numpy()
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.shape != (len(x),):
            raise SizeError(f"the model must map (n, d) to (n,) or (n, 1); got {out.shape}")
        return out

    return evaluate


def grid(dim: int, points: int) -> np.ndarray:
    """The regular grid {0, 1/(m−1), …, 1}^d with m = max(2, ⌊points^{1/d}⌋) per axis."""
    m = max(2, floor_root(points, dim))
    axes = np.meshgrid(*[np.linspace(0.0, 1.0, m)] * dim, indexing="ij")
    return np.stack(axes, axis=-1).reshape(-1, dim)


def max_error(
    model: Callable[[np.ndarray], np.ndarray],
    target: TargetFunction,
    dim: int,
    points: int = 10**6,
    starts: int = 16,
    seed: int = 0,
    search_iterations: int = 30,
) -> ErrorReport:
    """Largest |target − model| found on a grid of about ``points`` points plus a
    differential-evolution search in a box of one grid spacing around each of the ``starts``
    worst grid points (start i seeded by child i of ``SeedSequence(seed)``)."""
    check_count("points", points)
    if points > MAX_POINTS:
        raise SizeError(f"points must be at most {MAX_POINTS:,}, got {points:,}")
    seeds = np.random.SeedSequence(check_count("seed", seed, 0)).spawn(
        check_count("starts", starts)
    )
    x = grid(dim, points)
    err = np.abs(target(x) - model(x))
    order = np.argsort(err)[::-1][:starts]
    best, arg = float(err[order[0]]), x[order[0]]
    spacing = 1.0 / (round(len(x) ** (1 / dim)) - 1)
    evaluations = 0

    def negative(z: np.ndarray) -> np.ndarray:  # z (d, S) → (S,)
        pts = np.ascontiguousarray(np.atleast_2d(z.T))
        return -np.abs(target(pts) - model(pts))

    with one_torch_thread():  # batches of ~45 points: threads only add synchronisation
        for i, j in enumerate(order):
            lower, upper = np.maximum(0.0, x[j] - spacing), np.minimum(1.0, x[j] + spacing)
            inset = 1e-9 * spacing  # scipy rescales x0 and rejects a rounding step outside
            res = differential_evolution(
                negative,
                list(zip(lower, upper, strict=True)),
                vectorized=True,
                updating="deferred",
                seed=np.random.default_rng(seeds[i]),
                maxiter=search_iterations,
                polish=False,
                tol=0,
                x0=np.clip(x[j], lower + inset, upper - inset),
            )
            evaluations += res.nfev
            if -res.fun > best:
                best, arg = float(-res.fun), res.x
    return ErrorReport(
        best,
        tuple(float(v) for v in arg),
        len(x) + evaluations,
        len(x),
        evaluations,
        len(order),
        seed,
    )


@contextmanager
def one_torch_thread():
    """Run torch on one intra-op thread inside the block (restored after): small batches
    alternate with numpy work, and spare threads only wait for each other, the more so when
    other processes share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ------------------------------------------------------------------------------ d = 1 proof


def linear_pieces(net: Network, lo: float, hi: float) -> np.ndarray:
    """Sorted breakpoints (``lo`` and ``hi`` included) between which the 1-D network ``net``
    is affine (see :func:`stacked_pieces`).

    Example::

        >>> from moetheory.construct.network import Network
        >>> relu = Network((np.array([[1.0]]), np.array([[1.0]])), (np.array([-0.5]), np.zeros(1)))
        >>> linear_pieces(relu, 0.0, 1.0).tolist()
        [0.0, 0.5, 1.0]
    """
    if net.input_dim != 1:
        raise SizeError(f"linear pieces need a network of one input, got {net.input_dim}")
    slopes = None if net.slopes is None else [s[None] for s in net.slopes]
    pts = stacked_pieces(
        [w[None] for w in net.weights],
        [b[None] for b in net.biases],
        slopes,
        np.array([lo]),
        np.array([hi]),
    )[0]
    return pts[~np.isnan(pts)]


def stacked_pieces(weights, biases, slopes, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Breakpoints of E stacked 1-D networks, expert k on [lo_k, hi_k]: an (E, P) array,
    each row sorted with NaN padding. Layer by layer, a unit's pre-activation is affine
    between the breakpoints found so far (a continuous piecewise-affine function of x), so its
    sign changes are the roots of the chord between neighbouring breakpoints."""
    pts = np.column_stack([lo, hi]).astype(float)
    for j in range(len(weights) - 1):
        z = _pre_activation(weights, biases, slopes, j, pts)  # (E, P, width)
        za, zb = z[:, :-1], z[:, 1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(za * zb < 0, za / (za - zb), np.nan)
        left = pts[:, :-1, None]
        roots = left + (pts[:, 1:, None] - left) * ratio
        pts = _dedupe(np.concatenate([pts, roots.reshape(len(pts), -1)], axis=1))
    return pts


def _dedupe(pts: np.ndarray) -> np.ndarray:
    """Sort each row, drop repeats and trailing NaN columns."""
    pts = np.sort(pts, axis=1)
    repeat = np.zeros(pts.shape, dtype=bool)
    repeat[:, 1:] = pts[:, 1:] == pts[:, :-1]
    pts = np.sort(np.where(repeat, np.nan, pts), axis=1)
    return pts[:, : int((~np.isnan(pts)).sum(1).max())]


def _pre_activation(weights, biases, slopes, layer: int, x: np.ndarray) -> np.ndarray:
    h = x[:, :, None]
    for j in range(layer + 1):
        h = np.einsum("eoi,epi->epo", weights[j], h) + biases[j][:, None, :]
        if j < layer:
            h = (
                np.maximum(h, 0.0)
                if slopes is None
                else np.where(h >= 0, h, slopes[j][:, None, :] * h)
            )
    return h


@dataclass(frozen=True)
class SupBracket:
    """sup_{[0,1]} |f − g| ∈ [lower, upper] for a 1-D piecewise-affine g (a proof given f's
    Hölder declaration)."""

    lower: float
    upper: float
    argmax: float
    pieces: int
    evaluations: int
    complete: bool  # False: the evaluation budget ran out (the bracket still holds)
    void: str | None = None  # why the proof does not apply (its hypothesis failed)

    def statement(self) -> str:
        if self.void is not None:
            return (
                f"no proof: {self.void}; the bracket [{self.lower:.6g}, {self.upper:.6g}] "
                "assumed the declared Hölder constant"
            )
        return (
            f"sup error in [{self.lower:.6g}, {self.upper:.6g}] on [0, 1]: proved from the "
            f"{self.pieces:,} affine pieces of the network and the Hölder bound, given the "
            f"declared (α, λ) ({self.evaluations:,} target evaluations; float64 rounding "
            "aside)"
        )

    def to_json(self) -> dict:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "argmax": self.argmax,
            "pieces": self.pieces,
            "evaluations": self.evaluations,
            "complete": self.complete,
            "proved": self.void is None,
            "void": self.void,
            "statement": self.statement(),
        }


def exact_sup_1d(
    mixture: ExpertMixture,
    target: TargetFunction,
    alpha,
    holder,
    rtol: float = 1e-3,
    max_evaluations: int = 10**7,
) -> SupBracket:
    """Bracket sup_{[0,1]} |target − mixture| (d = 1) by branch and bound over the affine
    pieces of each expert on its routing interval (module docstring)."""
    a, lam = float(alpha), float(holder)
    spans = np.array(mixture.intervals())
    pts = np.full((len(spans), 2), np.nan)
    step = max(1, (1 << 20) // max(w.shape[1] for w in mixture.weights))
    for i in range(0, len(spans), step):  # experts in chunks: (chunk, P, width) arrays
        part = slice(i, i + step)
        found = stacked_pieces(
            [w[part] for w in mixture.weights],
            [b[part] for b in mixture.biases],
            None if mixture.slopes is None else [s[part] for s in mixture.slopes],
            spans[part, 0],
            spans[part, 1],
        )
        if found.shape[1] > pts.shape[1]:
            pts = np.pad(pts, ((0, 0), (0, found.shape[1] - pts.shape[1])), constant_values=np.nan)
        pts[part, : found.shape[1]] = found
    piece = ~np.isnan(pts[:, 1:]) & (pts[:, 1:] > pts[:, :-1])
    expert, column = np.nonzero(piece)
    lo, hi = pts[expert, column], pts[expert, column + 1]
    pieces = len(lo)
    g_lo = mixture.evaluate(lo[:, None], expert)
    g_hi = mixture.evaluate(hi[:, None], expert)
    e_lo = np.abs(target(lo[:, None]) - g_lo)
    e_hi = np.abs(target(hi[:, None]) - g_hi)
    evaluations = 2 * pieces
    best_i = int(np.argmax(np.maximum(e_lo, e_hi)))
    best = float(max(e_lo[best_i], e_hi[best_i]))
    arg = float(lo[best_i] if e_lo[best_i] >= e_hi[best_i] else hi[best_i])
    upper_pruned = 0.0
    while len(lo):
        half = (hi - lo) / 2
        slope = np.abs(g_hi - g_lo) / np.where(hi > lo, hi - lo, 1.0)
        bound = np.maximum(e_lo, e_hi) + lam * half**a + slope * half
        keep = bound > best * (1 + rtol) + 1e-300
        upper_pruned = max(upper_pruned, float(bound[~keep].max(initial=0.0)))
        lo, hi, g_lo, g_hi, e_lo, e_hi = (v[keep] for v in (lo, hi, g_lo, g_hi, e_lo, e_hi))
        if not len(lo) or evaluations + len(lo) > max_evaluations:
            break
        mid, g_mid = (lo + hi) / 2, (g_lo + g_hi) / 2
        e_mid = np.abs(target(mid[:, None]) - g_mid)
        evaluations += len(mid)
        i = int(np.argmax(e_mid))
        if e_mid[i] > best:
            best, arg = float(e_mid[i]), float(mid[i])
        lo, hi = np.concatenate([lo, mid]), np.concatenate([mid, hi])
        g_lo, g_hi = np.concatenate([g_lo, g_mid]), np.concatenate([g_mid, g_hi])
        e_lo, e_hi = np.concatenate([e_lo, e_mid]), np.concatenate([e_mid, e_hi])
    remaining = 0.0
    if len(lo):
        half = (hi - lo) / 2
        slope = np.abs(g_hi - g_lo) / np.where(hi > lo, hi - lo, 1.0)
        remaining = float((np.maximum(e_lo, e_hi) + lam * half**a + slope * half).max())
    return SupBracket(
        best, max(best, upper_pruned, remaining), arg, pieces, evaluations, not len(lo)
    )


# ------------------------------------------------------------------------------ continuity


def face_jump(mixture: ExpertMixture, cells: int, samples: int = 4096, seed: int = 0) -> float:
    """Largest |f_k(x) − f_l(x)| over ``samples`` random points x on interior faces k/K of
    the grid, k and l the cells on either side (0 for a continuous mixture)."""
    if cells < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    d = mixture.dim
    x = rng.random((samples, d))
    axis = rng.integers(0, d, samples)
    rows = np.arange(samples)
    x[rows, axis] = rng.integers(1, cells, samples) / cells
    step = np.zeros_like(x)
    step[rows, axis] = 0.25 / cells
    below = mixture.route(x - step)
    above = mixture.route(x + step)
    return float(np.max(np.abs(mixture.evaluate(x, below) - mixture.evaluate(x, above))))


@dataclass(frozen=True)
class HolderCheck:
    """The declared λ against the largest Hölder quotient found (a lower bound on the true
    constant): ``consistent`` is False when a pair violates the declaration."""

    declared: float
    found: float
    x: tuple[float, ...]
    y: tuple[float, ...]
    pairs: int
    seed: int

    @property
    def consistent(self) -> bool:
        return self.found <= self.declared * (1 + 1e-9)

    def to_json(self) -> dict:
        return {
            "declared": self.declared,
            "largest_quotient_found": self.found,
            "x": list(self.x),
            "y": list(self.y),
            "pairs": self.pairs,
            "seed": self.seed,
            "consistent": self.consistent,
        }


def holder_check(
    target: TargetFunction, alpha, holder, norm: str = "l2", pairs: int = 20000, seed: int = 0
) -> HolderCheck:
    """Search random pairs for a quotient |f(x) − f(y)|/‖x − y‖^α above the declared λ."""
    s = empirical_holder(target, alpha, norm, pairs, seed)
    return HolderCheck(float(holder), float(s.quotient), tuple(s.x), tuple(s.y), s.pairs, seed)
