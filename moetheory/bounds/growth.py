"""Growth functions (log₂ of the number of sign patterns on m points) and their inversion.

Every VC upper bound of this package is computed the same way: a growth-function bound
Π(m) is built from counting lemmas, and ``VCdim ≤ m* − 1`` where m* is an integer with
``Π(m*) < 2^{m*}`` (no set of m* points is shattered, hence none larger). m* is searched in
floating point and then **certified in interval arithmetic** (mpmath ``iv``, 113-bit
outward rounding): the returned value never rests on a rounded comparison.

Counting lemmas (reference approximation_vc.md §5):

- Warren / Anthony–Bartlett Thm 8.3 / Bartlett–Harvey–Liaw–Mehrabian 2019 Lemma 17 [ref]:
  M ≥ N polynomials of degree ≤ D in N real variables have at most 2(2e·M·D/N)^N sign
  patterns. Trivially they have at most 2^M (each polynomial has two signs).
- Network, layer by layer (the growth-function argument of BHLM 2019 Thm 7, re-derived here):
  fix m inputs; partition parameter space so that every ReLU unit of layers < i has a fixed
  sign pattern on every input; on each cell the m·k_i pre-activations of layer i are
  polynomials of degree ≤ i in the W_i parameters of layers 1..i. Refining cell by cell,
  Π(m) ≤ ∏_{i=1}^{L} min(2^{m k_i}, 2(2e·m·k_i·i/W_i)^{W_i}), the Warren factor used only
  when m·k_i ≥ W_i; layer L is the output unit (k_L = 1), whose sign is the label.
- Hard-routed mixture [math]: Π_MoE(m) ≤ Π_route(m) · max_{Σ m_k = m} ∏_k Π_F(m_k). Every
  per-expert log₂-bound g used here is concave in m (a minimum of concave pieces) with
  g(0) = 0, so by Jensen the maximum over splits is at most E·g(m/E).

Example::

    >>> net = network_growth((16, 16), dim=2)
    >>> invert(net).value   # VCdim of sgn(ReLU net 2→16→16→1) ≤ this
    7344
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from math import comb

import mpmath

from moetheory.bounds.monotone import least

IV = type(mpmath.iv)()  # a private interval context: global mpmath state is untouched
IV.prec = 113


class _FloatCtx:
    """Plain floats: used to search."""

    e = math.e

    @staticmethod
    def num(x: int | float) -> float:
        return float(x)

    @staticmethod
    def log2(x) -> float:
        """log₂ of a float or of an integer of any size (math.log2 takes big ints exactly)."""
        return math.log2(x)

    @staticmethod
    def minimum(a, b):
        return min(a, b)


class _IntervalCtx:
    """mpmath intervals with outward rounding: used to certify."""

    e = IV.e

    @staticmethod
    def num(x: int | float):
        return IV.mpf(x)

    @staticmethod
    def log2(x):
        return IV.log(x) / IV.log(2)

    @staticmethod
    def minimum(a, b):
        return IV.mpf([min(a.a, b.a), min(a.b, b.b)])


FLOAT = _FloatCtx()
INTERVAL = _IntervalCtx()


@dataclass(frozen=True)
class Growth:
    """A bound log₂ Π(m) ≤ ``log2(m, ctx)`` on the growth function of a class.

    ``log2(m, ctx)`` must accept a rational m = num/den as the pair (num, den) so that
    real-extended bounds can be evaluated at m/E exactly; ``description`` names the lemmas.
    """

    log2: Callable[[int, int, object], object]
    description: str

    def at(self, m: int, den: int = 1, ctx=FLOAT):
        return self.log2(m, den, ctx)


def warren_log2(polys: tuple[int, int], variables: int, degree: int, ctx):
    """log₂ of min(2^M, 2(2e·M·D/N)^N) for M polynomials (given as M = num/den) of degree
    ≤ D in N variables; the Warren factor only when M ≥ N. ``polys`` is (num, den)."""
    num, den = polys
    trivial = ctx.num(num) / den
    if variables == 0 or num < variables * den:
        return trivial
    ratio = 2 * ctx.e * ctx.num(num) * degree / (ctx.num(den) * variables)
    return ctx.minimum(trivial, 1 + variables * ctx.log2(ratio))


def layers(hidden: tuple[int, ...], dim: int) -> list[tuple[int, int, int]]:
    """(units k_i, cumulative parameters W_i, degree i) for the hidden layers and the scalar
    output unit of a ReLU network."""
    widths = [dim, *hidden, 1]
    out, total = [], 0
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True), start=1):
        total += (fan_in + 1) * fan_out
        out.append((fan_out, total, i))
    return out


def network_growth(hidden: tuple[int, ...], dim: int) -> Growth:
    """Layer-by-layer growth bound of sgn(f), f a ReLU (or any 2-piece piecewise-linear)
    network with hidden widths ``hidden`` on ℝ^dim and one output unit (module docstring)."""
    units = layers(hidden, dim)

    def log2(m: int, den: int, ctx):
        return sum((warren_log2((m * k, den), w, i, ctx) for k, w, i in units), ctx.num(0))

    return Growth(log2, f"layer-by-layer Warren bound, ReLU widths {list(hidden)}, d = {dim}")


def label_growth() -> Growth:
    """A constant ±1 label: at most 2 patterns on m ≥ 1 points, i.e. log₂ Π = min(m, 1)."""

    def log2(m: int, den: int, ctx):
        return ctx.num(1) if m >= den else ctx.num(m) / den

    return Growth(log2, "constant label: min(m, 1)")


def linear_router_growth(experts: int, dim: int) -> Growth:
    """Routing by argmax (or argmin distance) over E scores affine in x: fixed by the signs of
    m·E(E−1)/2 linear forms in N = E(d+1) free coefficients (a superset of nearest
    prototypes: ‖x−p_j‖² − ‖x−p_l‖² = (a_j−a_l)·x + b_j − b_l). log₂ Π ≤ min(m·log₂E,
    1 + N·log₂(e·m·(E−1)/(d+1)))."""

    def log2(m: int, den: int, ctx):
        if experts == 1:
            return ctx.num(0)
        pairs = experts * (experts - 1) // 2
        warren = warren_log2((m * pairs, den), experts * (dim + 1), 1, ctx)
        return ctx.minimum(warren, ctx.num(m) / den * ctx.log2(ctx.num(experts)))

    return Growth(
        log2, f"Warren on m·E(E−1)/2 linear forms in E(d+1) = {experts * (dim + 1)} variables"
    )


def grid_router_growth(cells: tuple[int, ...]) -> Growth:
    """Per-axis thresholds (free): on each axis the m coordinates are split by K_i − 1
    thresholds into at most C(m + K_i − 1, K_i − 1) ways (multisets of gaps), so
    log₂ Π = Σ_i log₂ C(m + K_i − 1, K_i − 1). Integer m only."""

    def log2(m: int, den: int, ctx):
        if den != 1:
            raise ValueError("the grid router bound is evaluated at integer m")
        return sum((ctx.log2(comb(m + k - 1, k - 1)) for k in cells), ctx.num(0))

    return Growth(log2, f"per-axis thresholds, cells {list(cells)}: Σ log₂ C(m+K−1, K−1)")


def tree_router_growth(dim: int, depth: int) -> Growth:
    """2^d-ary tree of nearest-child decisions, E = 2^{ds}: every decision is the sign of one
    of m·C(2^d, 2)·(E−1)/(2^d−1) linear forms in N = (d+1)·2^d(E−1)/(2^d−1) free
    coefficients (all nodes' (a, b)); log₂ Π ≤ min(m·log₂E, 1 + N·log₂(e·m·(2^d−1)/(d+1)))."""
    children = 1 << dim
    experts = 1 << (dim * depth)
    internal = (experts - 1) // (children - 1)
    variables = (dim + 1) * children * internal
    forms = comb(children, 2) * internal

    def log2(m: int, den: int, ctx):
        if depth == 0:
            return ctx.num(0)
        warren = warren_log2((m * forms, den), variables, 1, ctx)
        return ctx.minimum(warren, ctx.num(m) / den * ctx.log2(ctx.num(experts)))

    return Growth(log2, f"Warren on the tree's nearest-child comparisons ({variables} variables)")


def mixture_growth(router: Growth, expert: Growth, experts: int) -> Growth:
    """Hard-routed mixture: log₂ Π_route(m) + E·g(m/E) (Jensen over splits, g concave)."""

    def log2(m: int, den: int, ctx):
        return router.at(m, den, ctx) + experts * expert.at(m, den * experts, ctx)

    return Growth(
        log2, f"{router.description}; plus E = {experts} times ({expert.description}) at m/E"
    )


@dataclass(frozen=True)
class Inversion:
    """VCdim ≤ ``value`` because Π(m*) < 2^{m*} at m* = value + 1, certified by ``upper``
    (an interval upper end of log₂ Π(m*), below m*)."""

    value: int
    certified_at: int
    log2_growth_upper: float

    def to_json(self) -> dict:
        return {
            "value": self.value,
            "certified_at": self.certified_at,
            "log2_growth_upper": self.log2_growth_upper,
        }


def _below(growth: Growth, m: int) -> bool:
    return growth.at(m) < m


def invert(growth: Growth, limit: int = 1 << 62) -> Inversion:
    """The smallest m* (past the growth bound's peak) with log₂ Π(m*) < m*, certified in
    interval arithmetic; VCdim ≤ m* − 1."""
    m = least(lambda n: _below(growth, n), limit)  # first crossing: the bounds are concave
    while True:  # certify; a float decision too close to call moves one step out
        upper = growth.at(m, 1, INTERVAL).b
        if upper < m:
            return Inversion(value=m - 1, certified_at=m, log2_growth_upper=float(upper))
        m += 1
