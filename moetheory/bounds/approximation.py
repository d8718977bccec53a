"""Approximation rates for α-Hölder targets on [0,1]^d: sizes → guaranteed error and
accuracy ε → sizes, for mixtures of experts and single-network baselines.

A target is f: [0,1]^d → ℝ with |f(x) − f(y)| ≤ λ·‖x − y‖^α, α ∈ (0, 1], in the ℓ₂ norm
(``norm="l2"``) or the ℓ∞ norm (``"linf"``).

Methods (reference approximation_vc.md §3, §4, §6):

``moe-constant`` [math, proved]
    Grid of K^d cells, expert k the constant f(c_k): sup error ≤ λ·ρ^α with
    ρ = √d/(2K) (ℓ₂) or 1/(2K) (ℓ∞); ε → K = ⌈ρ₁·(λ/ε)^{1/α}⌉, ρ₁ = √d/2 or 1/2.
``moe-pwl`` [math, proved]
    Grid of K^d cells, expert k the Kuhn-hat interpolant on an M^d sub-grid of its cell
    (:mod:`moetheory.bounds.kuhn`): error ≤ λ·(σ·h)^α, h = 1/(K·M), σ = √d (ℓ₂) or 1 (ℓ∞).
``single-pwl`` [math, proved]
    The same interpolant as one network (K = 1): the baseline of equal accuracy.
``moe-deep`` [open constants]
    Per-cell rescaling: on a cell of side 1/K, z ↦ f(corner + z/K) is α-Hölder with constant
    λ·K^{−α}; one Shen–Yang–Zhang 2022 network per cell (Thm 1.1, p = ∞, as recalled:
    width 3^{d+3}·max{d⌊N^{1/d}⌋, N + 2}, depth 11L + 18 + 2d, error
    131·λ·√d·(N²L²·log₃(N + 2))^{−α/d}); ℓ₂ only. Constants unverified.
``single-syz`` [open constants]
    One Shen–Yang–Zhang 2022 network (K = 1).
``yarotsky`` [ref, shape only]
    Yarotsky 2017 (Lipschitz = W^{1,∞}, α = 1 only): c(d)·ε^{−d}·(ln(1/ε) + 1) weights,
    c(d) unspecified; reported with c(d) = 1 as a shape.

**Trade-off parameter r** (this package's definition; the paper's is unknown): r ∈ [0, 1] is
the share of the per-axis resolution given to the router. A method needing resolution N per
axis uses K = max(1, round(N^r)) cells per axis and leaves the rest to the experts
(``moe-pwl``: M = ⌈N/K⌉; ``moe-deep``: N is ``moe-constant``'s K and the experts' (N, L) make up
the difference). r = 1 puts everything in the router (tiny experts, many of them), r = 0 gives
a single network.

Every "proved" guarantee is decided in exact rational arithmetic: λ·r^α ≤ ε with
α = p/q ⟺ (r²)^p ≤ (ε/λ)^{2q}.

Example::

    >>> t = Target.of(dim=2, alpha=1, holder=1)
    >>> plan_constant(t, "0.01").cells, plan_constant(t, "0.01").experts
    (71, 5041)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import mpmath

from moetheory.bounds.architecture import Architecture, ParameterCounts
from moetheory.bounds.kuhn import kuhn_parameters, kuhn_widths
from moetheory.bounds.monotone import floor_root, least
from moetheory.bounds.routers.grid import MAX_GRID_AXES
from moetheory.bounds.routers.registry import router_kind
from moetheory.bounds.sizes import check_count
from moetheory.errors import SizeError

NORMS = ("l2", "linf")
METHODS = ("moe-constant", "moe-pwl", "single-pwl", "moe-deep", "single-syz", "yarotsky")
SYZ = (
    "Shen, Yang & Zhang, Optimal approximation rate of ReLU networks in terms of width and "
    "depth, J. Math. Pures Appl. 2022 (arXiv 2103.00502), Thm 1.1 (constants as recalled)"
)
YAROTSKY = (
    "Yarotsky, Error bounds for approximations with deep ReLU networks, Neural Networks "
    "94, 2017 (arXiv 1610.01145)"
)
OWN = "this package's construction (approximation_vc.md §3)"


MAX_EXPONENT = 10_000
"""Decimal exponents beyond ±MAX_EXPONENT (text such as 1e99999999) are refused before the
exact rational, with that many digits, is built."""


def to_fraction(name: str, value: object) -> Fraction:
    """An exact rational from text, int, float or Fraction, or a :class:`SizeError`."""
    if isinstance(value, bool):
        raise SizeError(f"{name} must be a number, got {value!r}")
    if isinstance(value, str) and "/" not in value:
        try:
            exponent = Decimal(value).adjusted()
        except (InvalidOperation, ValueError):  # not decimal text, or nan/inf: Fraction says
            exponent = 0
        if abs(exponent) > MAX_EXPONENT:
            raise SizeError(
                f"{name} must lie between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT} in "
                f"size, got {value[:40]}"
            )
    if not isinstance(value, (str, float, numbers.Rational, Decimal)):  # Fraction() refuses
        raise SizeError(f"{name} must be a finite number, got {value!r}")
    try:
        out = Fraction(str(value)) if isinstance(value, (str, float)) else Fraction(value)
    except (ValueError, TypeError, ZeroDivisionError):
        raise SizeError(f"{name} must be a finite number, got {value!r}") from None
    return out


def check_eps(value: object) -> Fraction:
    eps = to_fraction("eps", value)
    if eps <= 0:
        raise SizeError(f"eps must be > 0, got {value}")
    return eps


@dataclass(frozen=True)
class Target:
    """An α-Hölder class on [0,1]^d with constant λ in the ℓ₂ or ℓ∞ norm."""

    dim: int
    alpha: Fraction
    holder: Fraction
    norm: str = "l2"

    @classmethod
    def of(cls, dim: object, alpha: object, holder: object = 1, norm: str = "l2") -> Target:
        """Validated: d ≥ 1 integer, α ∈ (0, 1], λ > 0, norm l2 or linf."""
        a = to_fraction("alpha", alpha)
        if not 0 < a <= 1:
            raise SizeError(f"alpha must lie in (0, 1], got {alpha}")
        lam = to_fraction("holder constant", holder)
        if lam <= 0:
            raise SizeError(f"holder constant must be > 0, got {holder}")
        if norm not in NORMS:
            raise SizeError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
        d = check_count("dim", dim)
        if d > MAX_TARGET_DIM:
            raise SizeError(f"dim must be at most {MAX_TARGET_DIM}, got {_short(Fraction(d))}")
        return cls(d, a, lam, norm)

    def error(self, radius_sq: Fraction) -> float:
        """λ·r^α as a float (a report; decisions use :meth:`within`), via mpmath so that
        extreme λ or r do not overflow on the way."""
        value = _mp(self.holder) * mpmath.sqrt(_mp(radius_sq)) ** _mp(self.alpha)
        return float(value)

    def within(self, radius_sq: Fraction, eps: Fraction) -> bool:
        """λ·r^α ≤ ε decided exactly: (r²)^p ≤ (ε/λ)^{2q} for α = p/q."""
        p, q = self.alpha.numerator, self.alpha.denominator
        return radius_sq**p <= (eps / self.holder) ** (2 * q)

    def minimal(self, radius_sq_at_one: Fraction, eps: Fraction) -> int:
        """The least n ≥ 1 with λ·(r₁/n)^α ≤ ε, r₁² = ``radius_sq_at_one``: from the real
        resolution r₁·(λ/ε)^{1/α} computed in mpmath, a few steps each decided exactly
        (:meth:`within`)."""
        digits = _log10_resolution(radius_sq_at_one, self.holder, eps, self.alpha)
        given = f"α = {_short(self.alpha)}, λ = {_short(self.holder)}, ε = {_short(eps)}"
        if digits * self.dim > MAX_DIGITS:
            raise SizeError(
                f"the required resolution is about 10^{digits:.0f} per axis, i.e. "
                f"10^{digits * self.dim:.0f} cells: beyond the sizes this table "
                f"reports ({given})"
            )
        n_bits = max(digits, 0) * math.log2(10) + 2
        p, q = self.alpha.numerator, self.alpha.denominator
        _check_exact(
            p * (_bits(radius_sq_at_one) + 2 * n_bits) + 2 * q * _bits(eps / self.holder),
            f"λ·r^α ≤ ε ({given})",
        )
        _EXACT.prec = int(n_bits) + 64
        real = _EXACT.sqrt(_mp(radius_sq_at_one, _EXACT)) * (
            _mp(self.holder, _EXACT) / _mp(eps, _EXACT)
        ) ** (_EXACT.mpf(q) / p)
        return least_near(
            lambda n: self.within(radius_sq_at_one / n**2, eps), int(_EXACT.ceil(real))
        )


MAX_DIGITS = 1000  # more than 10^1000 cells in all is refused, not attempted
MAX_TARGET_DIM = MAX_GRID_AXES
"""Largest input dimension of a target: the axes of its grid (and one Kuhn expert alone has
2^d > 10^300 hats there)."""
MAX_EXACT_BITS = 10**6
"""Largest integers (in bits) an exact decision may build: α = p/q and the trade-off r = p/q
raise numbers to their p-th and q-th powers, so many digits in α, r, ε or λ are refused."""
_EXACT = type(mpmath.mp)()  # a private context for the estimates: global mpmath untouched


def _bits(x: Fraction) -> int:
    return x.numerator.bit_length() + x.denominator.bit_length()


def _check_exact(bits: float, what: str) -> None:
    """A :class:`SizeError` when deciding ``what`` exactly would build integers over
    ``MAX_EXACT_BITS`` bits."""
    if bits > MAX_EXACT_BITS:
        raise SizeError(
            f"deciding {what} exactly needs integers of about "
            f"{bits / math.log2(10):.2g} digits: beyond the sizes this table "
            "reports (give the numbers with fewer digits)"
        )


def least_near(holds: Callable[[int], bool], guess: int) -> int:
    """``least(holds)`` (the least n ≥ 1 with ``holds(n)``, monotone) searched from an
    estimate: a handful of decisions when ``guess`` is within a few of the answer, and the
    same answer whatever the estimate.

    >>> least_near(lambda n: n * n >= 50, 8)
    8
    """
    start = max(guess - 2, 0)
    if start and holds(start):  # the estimate was too high: search from the start
        start = 0
    return start + least(lambda k: holds(start + k))


def _log10_resolution(
    radius_sq: Fraction, holder: Fraction, eps: Fraction, alpha: Fraction
) -> float:
    """log₁₀ of r₁·(λ/ε)^{1/α}, the real resolution, in mpmath (no float overflow)."""

    def log10(x: Fraction):
        return mpmath.log10(_mp(x))

    return float(
        log10(radius_sq) / 2
        + (log10(holder) - log10(eps)) / mpmath.mpf(alpha.numerator) * alpha.denominator
    )


def _short(x: Fraction) -> str:
    return mpmath.nstr(_mp(x), 6)


def _mp(x: Fraction, ctx=mpmath):
    return ctx.mpf(x.numerator) / x.denominator


def cell_radius_sq(target: Target) -> Fraction:
    """Squared sup distance from a unit cell's centre: d/4 (ℓ₂) or 1/4 (ℓ∞)."""
    return Fraction(target.dim if target.norm == "l2" else 1, 4)


def simplex_diameter_sq(target: Target) -> Fraction:
    """Squared diameter of a Kuhn simplex of the unit cube: d (ℓ₂) or 1 (ℓ∞)."""
    return Fraction(target.dim if target.norm == "l2" else 1)


@dataclass(frozen=True)
class Approximator:
    """Sizes and guarantee of one approximator. ``architecture`` is the counted network (its
    ``counts()`` give every parameter figure); ``cells`` = K per axis, ``sub`` = M (pwl) or
    N (deep), ``layers`` = L (deep). A shape-only row has no network: ``architecture`` is
    None and ``shape_weights`` carries the shape's weight count."""

    method: str
    target: Target
    eps: Fraction | None
    architecture: Architecture | None
    cells: int
    sub: int
    layers: int
    guaranteed_error: float | None
    guarantee: str  # proved | unverified constants | shape only
    source: str
    provenance: str
    expert_nonzero: int | None = None
    shape_weights: int | None = None

    @property
    def experts(self) -> int:
        return 1 if self.architecture is None else self.architecture.experts

    def row(self) -> dict:
        """The table row (contract: dim, alpha, eps, method, experts, expert_parameters,
        active_parameters, total_parameters, source; and more)."""
        if self.architecture is None:  # a shape: one network of ``shape_weights`` weights
            w = self.shape_weights
            if w is None:
                raise SizeError(
                    f"{self.method} row has neither an architecture nor "
                    "shape_weights: every Approximator without a network is a "
                    "shape row carrying its weight count"
                )
            c = ParameterCounts(
                total=w, router=0, per_expert=w, experts_total=w, router_active=0, active=w
            )
        else:
            c = self.architecture.counts()
        return {
            "dim": self.target.dim,
            "alpha": _num(self.target.alpha),
            "holder": _num(self.target.holder),
            "norm": self.target.norm,
            "eps": None if self.eps is None else _num(self.eps),
            "method": self.method,
            "cells_per_axis": self.cells,
            "sub": self.sub,
            "layers": self.layers,
            "experts": self.experts,
            "expert_parameters": c.per_expert,
            "expert_nonzero": self.expert_nonzero,
            "router_parameters": c.router,
            "active_parameters": c.active,
            "total_parameters": c.total,
            "guaranteed_error": self.guaranteed_error,
            "guarantee": self.guarantee,
            "source": self.source,
            "router": "none" if self.architecture is None else self.architecture.router,
            "provenance": self.provenance,
        }


def _num(x: Fraction) -> int | float:
    return int(x) if x.denominator == 1 else float(x)


def _grid(target: Target, cells: int, hidden: tuple[int, ...], router: str) -> Architecture:
    """The mixture of K^d cells behind ``router`` (its kind's ``cell_fields``); one cell is a
    single network, no router."""
    d = target.dim
    if cells == 1:
        return Architecture(dim=d, experts=1, hidden=hidden, router="none")
    return Architecture(
        dim=d,
        experts=cells**d,
        hidden=hidden,
        router=router,
        **router_kind(router).cell_fields(cells, d),
    )


def _router_cells(cells: int, router: str) -> int:
    """The least number of cells per axis ≥ ``cells`` the router makes (its kind's
    ``round_cells``: a power of 2 for a tree)."""
    return router_kind(router).round_cells(cells)


def constant_error(target: Target, cells: int) -> Fraction:
    """Squared radius behind the constant-expert guarantee λ·ρ^α, ρ² = ρ₁²/K²."""
    return cell_radius_sq(target) / cells**2


def plan_constant(target: Target, eps: object, router: str = "grid") -> Approximator:
    """Constant experts on the coarsest grid guaranteeing ε (exact decision)."""
    e = check_eps(eps)
    cells = _router_cells(target.minimal(cell_radius_sq(target), e), router)
    return constant_approximator(target, cells, router, e)


def constant_approximator(
    target: Target, cells: int, router: str = "grid", eps: Fraction | None = None
) -> Approximator:
    """Sizes → guarantee: K cells per axis with constant experts."""
    check_count("cells per axis", cells)
    return Approximator(
        "moe-constant",
        target,
        eps,
        _grid(target, cells, (), router),
        cells,
        0,
        0,
        target.error(constant_error(target, cells)),
        "proved",
        OWN,
        "math",
        expert_nonzero=1,
    )


def pwl_error(target: Target, cells: int, sub: int) -> Fraction:
    """Squared simplex diameter (σ·h)², h = 1/(K·M)."""
    return simplex_diameter_sq(target) / (cells * sub) ** 2


def pwl_approximator(
    target: Target, cells: int, sub: int, router: str = "grid", eps: Fraction | None = None
) -> Approximator:
    """Sizes → guarantee: K cells per axis, Kuhn-hat experts on M sub-cells per axis."""
    check_count("cells per axis", cells)
    check_count("sub-cells per axis", sub)
    hidden = tuple(kuhn_widths(target.dim, sub))
    arch = _grid(target, cells, hidden, router)
    method = "moe-pwl" if cells > 1 else "single-pwl"
    return Approximator(
        method,
        target,
        eps,
        arch,
        cells,
        sub,
        0,
        target.error(pwl_error(target, cells, sub)),
        "proved",
        OWN,
        "math",
        expert_nonzero=kuhn_parameters(target.dim, sub)[1],
    )


def split(resolution: int, tradeoff: object) -> int:
    """K = max(1, round(N^r)) for the trade-off r ∈ [0, 1]."""
    r = to_fraction("tradeoff r", tradeoff)
    if not 0 <= r <= 1:
        raise SizeError(f"tradeoff r must lie in [0, 1], got {tradeoff}")
    return max(1, min(resolution, nearest_power(resolution, r)))


def nearest_power(n: int, r: Fraction) -> int:
    """N^r rounded to the nearest integer (halves up), exactly: with r = p/q and
    f = ⌊(N^p)^{1/q}⌋, the answer is f + 1 iff (2f + 1)^q ≤ 2^q·N^p."""
    p, q = r.numerator, r.denominator
    _check_exact(p * n.bit_length() + q, f"the trade-off split N^r (r = {_short(r)})")
    power = n**p
    _EXACT.prec = n.bit_length() + 64
    guess = int(_EXACT.floor(_EXACT.mpf(n) ** (_EXACT.mpf(p) / q)))
    f = least_near(lambda k: k**q > power, guess + 1) - 1  # ⌊(N^p)^{1/q}⌋
    return f + 1 if (2 * f + 1) ** q <= 2**q * power else f


def plan_pwl(
    target: Target, eps: object, tradeoff: object = 1, router: str = "grid"
) -> Approximator:
    """Kuhn-hat experts guaranteeing ε, the resolution split by the trade-off r."""
    e = check_eps(eps)
    resolution = target.minimal(simplex_diameter_sq(target), e)
    cells = _router_cells(split(resolution, tradeoff), router)
    return pwl_approximator(target, cells, -(-resolution // cells), router, e)


# ------------------------------------------------------------ Shen–Yang–Zhang (constants [open])


def syz_shape(d: int, n: int, depth: int) -> tuple[int, int]:
    """(width, hidden layers) of Shen–Yang–Zhang 2022 Thm 1.1, p = ∞ (as recalled [open])."""
    width = 3 ** (d + 3) * max(d * floor_root(n, d), n + 2)
    return width, 11 * depth + 18 + 2 * d


def cell_log_holder(target: Target, cells: int) -> float:
    """ln λ' of the per-cell constant λ' = λ·K^{−α} (in logs: no float overflow)."""
    return float(mpmath.log(_mp(target.holder))) - float(target.alpha) * math.log(cells)


def syz_log_error(target: Target, log_holder: float, n: int, depth: int) -> float:
    """ln of 131·λ'·√d·(N²L²·log₃(N + 2))^{−α/d}, ``log_holder`` = ln λ' (per cell)."""
    d, a = target.dim, float(target.alpha)
    return (
        log_holder
        + math.log(131 * math.sqrt(d))
        - a / d * (2 * math.log(n) + 2 * math.log(depth) + math.log(math.log(n + 2, 3)))
    )


def syz_approximator(
    target: Target,
    cells: int,
    n: int,
    depth: int = 1,
    router: str = "grid",
    eps: Fraction | None = None,
) -> Approximator:
    """Sizes → guarantee (unverified constants): K cells per axis, one SYZ(N, L) net per cell."""
    if target.norm != "l2":
        raise SizeError("Shen–Yang–Zhang rates are stated for the ℓ₂ Hölder class; use norm l2")
    check_count("cells per axis", cells)
    check_count("N", n)
    check_count("L", depth)
    width, layers = syz_shape(target.dim, n, depth)
    arch = _grid(target, cells, (width,) * layers, router)
    method = "moe-deep" if cells > 1 else "single-syz"
    return Approximator(
        method,
        target,
        eps,
        arch,
        cells,
        n,
        depth,
        math.exp(syz_log_error(target, cell_log_holder(target, cells), n, depth)),
        "unverified constants",
        SYZ,
        "open",
    )


def plan_syz(
    target: Target,
    eps: object,
    tradeoff: object = Fraction(1, 2),
    depth: int = 1,
    router: str = "grid",
) -> Approximator:
    """Deep experts: K from the trade-off r applied to moe-constant's K, then the least N."""
    e = check_eps(eps)
    cells = _router_cells(split(target.minimal(cell_radius_sq(target), e), tradeoff), router)
    log_holder, goal = cell_log_holder(target, cells), float(mpmath.log(_mp(e)))
    n = least(lambda n: syz_log_error(target, log_holder, n, depth) <= goal)
    return syz_approximator(target, cells, n, depth, router, e)


def yarotsky_row(target: Target, eps: object) -> Approximator | None:
    """Shape c(d)·ε^{−d}(ln(1/ε) + 1) weights with c(d) = 1 (α = 1 only; else None)."""
    e = check_eps(eps)
    if target.alpha != 1:
        return None
    eps_mp = _mp(e)
    weights = int(mpmath.ceil(eps_mp ** (-target.dim) * (mpmath.log(1 / eps_mp) + 1)))
    return Approximator(
        "yarotsky",
        target,
        e,
        None,
        1,
        0,
        0,
        None,
        "shape only",
        YAROTSKY,
        "ref",
        shape_weights=weights,
    )


def approximation_rows(
    dims: list[int],
    alphas: list[object],
    epsilons: list[object],
    holder: object = 1,
    norm: str = "l2",
    tradeoff: object = 1,
    router: str = "grid",
) -> list[dict]:
    """The approximation-rate table: every method for every (d, α, ε), in that order."""
    rows = []
    for dim in dims:
        for alpha in alphas:
            target = Target.of(dim, alpha, holder, norm)
            for eps in epsilons:
                plans: list[Approximator | None] = [
                    plan_constant(target, eps, router),
                    plan_pwl(target, eps, tradeoff, router),
                    plan_pwl(target, eps, 0, router),
                ]
                if norm == "l2":
                    plans += [
                        plan_syz(target, eps, Fraction(1, 2), router=router),
                        plan_syz(target, eps, 0, router=router),
                    ]
                plans.append(yarotsky_row(target, eps))
                rows += [p.row() for p in plans if p is not None]
    return rows
