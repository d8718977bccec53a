"""VC-dimension bounds (moetheory.bounds.vc / growth / shatter / architecture).

Expectations are recomputed here from the reference (approximation_vc.md §5, §8): regression
values and closed forms, an independent mpmath re-implementation of the growth bounds that
re-checks every certificate, monotonicity in every size, upper ≥ lower, the E = 1 and PReLU
reductions, and an independent exact evaluation of the shattering networks."""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from moetheory.bounds import growth, shatter, sizes, vc
from moetheory.bounds.architecture import Architecture
from moetheory.errors import SizeError

FAST = settings(max_examples=40, deadline=None)
IV = type(mpmath.iv)()  # private contexts: no global mpmath state changed
IV.prec = 113
MP = type(mpmath.mp)()
MP.prec = 200


# ------------------------------------------------------------------ independent growth bounds


class _Exact:
    """High-precision point values (mpmath mp, 200 bits)."""

    num = staticmethod(MP.mpf)
    log = staticmethod(MP.log)
    e = MP.e

    @staticmethod
    def minimum(a, b):
        return min(a, b)


class _Interval:
    """mpmath intervals; min of two intervals encloses the min of any two enclosed values."""

    num = staticmethod(IV.mpf)
    log = staticmethod(IV.log)
    e = IV.e

    @staticmethod
    def minimum(a, b):
        return IV.mpf([min(a.a, b.a), min(a.b, b.b)])


def _log2(x, ctx):
    return ctx.log(x) / ctx.log(ctx.num(2))


def warren(polys, variables, degree, ctx, warren_only=False):
    """log₂ min(2^M, 2(2e·M·D/N)^N), M = polys (a Fraction), Warren only when M ≥ N."""
    trivial = ctx.num(polys.numerator) / polys.denominator
    if variables == 0:
        return trivial
    term = 1 + variables * _log2(2 * ctx.e * trivial * degree / variables, ctx)
    if warren_only:
        return term
    return trivial if polys < variables else ctx.minimum(trivial, term)


def net_log2(widths, dim, points, ctx, warren_only=False):
    """Σ over layers (hidden and the output unit) of the Warren-or-trivial count, BHLM Thm 7:
    layer i has k_i units, W_i = parameters of layers 1..i, degree i."""
    sizes = [dim, *widths, 1]
    total, out = 0, ctx.num(0)
    for level, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        total += (fan_in + 1) * fan_out
        out = out + warren(points * fan_out, total, level, ctx, warren_only)
    return out


def router_log2(arch, m, ctx, warren_only=False):
    d, e = arch.dim, arch.experts
    if e == 1 or arch.router == "none":
        return ctx.num(0)
    if arch.router == "grid":
        return sum(
            (_log2(ctx.num(math.comb(m + k - 1, k - 1)), ctx) for k in arch.grid), ctx.num(0)
        )
    if arch.router in ("prototype", "linear"):
        forms, variables = Fraction(m * e * (e - 1), 2), e * (d + 1)
    else:  # tree, E = 2^{ds}: C(2^d, 2) comparisons per internal node, (d+1)·2^d coefficients
        children = 2**d
        internal = (e - 1) // (children - 1)
        forms, variables = (
            Fraction(m * math.comb(children, 2) * internal),
            (d + 1) * children * internal,
        )
    term = warren(forms, variables, 1, ctx, warren_only)
    if warren_only:
        return term
    return ctx.minimum(term, ctx.num(m) * _log2(ctx.num(e), ctx))


def expert_widths(arch):
    return tuple(2 * w for w in arch.hidden) if arch.trainable_slopes else arch.hidden


def moe_log2(arch, m, ctx, warren_only=False):
    """log₂ Π_route(m) + E·log₂ Π_expert(m/E) (reference §5, whole MoE)."""
    e = arch.experts
    return router_log2(arch, m, ctx, warren_only) + e * net_log2(
        expert_widths(arch), arch.dim, Fraction(m, e), ctx, warren_only
    )


def label_log2(e, d, m, ctx):
    """Labelled nearest prototypes: Warren router bound plus E·min(m/E, 1)."""
    arch = Architecture(dim=d, experts=e, hidden=(), router="prototype")
    return router_log2(arch, m, ctx) + min(m, e)


def first_crossing(f):
    """The largest m with f(m) ≥ m (f a concave growth bound, f(1) ≥ 1), by plain search."""
    hi = 1
    while f(hi) >= hi:
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if f(mid) >= mid else (lo, mid)
    return lo


# ------------------------------------------------------------------ regression values (§5, §8)


@pytest.mark.parametrize("e, d, numeric, closed", [(8, 2, 266, 275.6), (64, 10, 12428, 12854)])
def test_labelled_nearest_prototype_regression(e, d, numeric, closed):
    g = growth.mixture_growth(growth.linear_router_growth(e, d), growth.label_growth(), e)
    inv = growth.invert(g)
    assert inv.value == numeric
    assert inv.certified_at == numeric + 1
    # independent: the first crossing of 2^m ≤ 2^{E+1}(e·m·(E−1)/(d+1))^{E(d+1)} (with trivial
    # caps) is the same number
    assert first_crossing(lambda m: label_log2(e, d, m, _Exact)) == numeric
    r = math.e * e * (e - 1)
    closed_form = e + 1 + e * (d + 1) * math.log2(2 * r * math.log2(r))
    assert closed_form == pytest.approx(closed, abs=0.5)
    assert closed_form >= inv.value


def test_relu_2_16_16_1_regression():
    arch = Architecture(dim=2, experts=1, hidden=(16, 16), router="none")
    w, layers, d = 16, 2, 2
    assert arch.counts().per_expert == (d + 1) * w + (layers - 1) * (w + 1) * w + (w + 1) == 337
    # BHLM refined bound, recomputed: L = 3, W_i cumulative, R = Σ i·k_i
    cumulative = [3 * 16, 3 * 16 + 17 * 16, 337]
    depth_bar = sum(cumulative) / 337
    r = 1 * 16 + 2 * 16 + 3 * 1
    closed = 3 + depth_bar * 337 * math.log2(4 * math.e * r * math.log2(2 * math.e * r))
    assert vc.bartlett_closed_form((16, 16), 2) == pytest.approx(closed, rel=1e-12)
    assert abs(vc.bartlett_closed_form((16, 16), 2) - 8559) < 1
    b = vc.vc_bounds(arch)
    assert b.expert_upper.value <= closed
    assert b.expert_upper.value == first_crossing(
        lambda m: net_log2((16, 16), 2, Fraction(m), _Exact)
    )
    assert b.expert_upper.value == growth.invert(growth.network_growth((16, 16), 2)).value


# ------------------------------------------------------------------ architectures (strategies)

ACTIVATIONS = [("relu", "trainable"), ("prelu", "trainable"), ("prelu", "fixed")]


@st.composite
def sized(draw):
    """(router, sizes dict) with the router's constraint expressed in its own sizes."""
    router = draw(st.sampled_from(["prototype", "linear", "grid", "tree"]))
    act, slopes = draw(st.sampled_from(ACTIVATIONS))
    sizes = {
        "J": draw(st.integers(0, 3)),
        "W": draw(st.integers(1, 31)),
        "act": act,
        "slopes": slopes,
    }
    if router in ("prototype", "linear"):
        sizes.update(d=draw(st.integers(1, 3)), E=draw(st.integers(1, 63)))
    elif router == "grid":
        sizes["cells"] = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    else:
        sizes.update(d=draw(st.integers(1, 3)), s=draw(st.integers(0, 1)))
    return router, sizes


def build(router, sizes):
    hidden = (sizes["W"],) * sizes["J"]
    common = {
        "hidden": hidden,
        "activation": sizes["act"],
        "slopes": sizes["slopes"],
        "router": router,
    }
    if router in ("prototype", "linear"):
        return Architecture(dim=sizes["d"], experts=sizes["E"], **common)
    if router == "grid":
        cells = sizes["cells"]
        return Architecture(dim=len(cells), experts=math.prod(cells), grid=cells, **common)
    return Architecture(dim=sizes["d"], experts=2 ** (sizes["d"] * sizes["s"]), **common)


def bumps(router, sizes, choice):
    """Sizes with one size increased (router constraint kept)."""
    new = dict(sizes)
    if choice == "J":
        new["J"] += 1
    elif choice == "W":
        new["W"] += 1
    elif router in ("prototype", "linear"):
        new["E" if choice == "size" else "d"] += 1
    elif router == "grid":
        cells = list(sizes["cells"])
        if choice == "size":  # one more cell on one axis (K up)
            cells[choice_index(cells)] += 1
        else:  # one more axis (d up, E times its cells)
            cells.append(2)
        new["cells"] = tuple(cells)
    else:
        new["s" if choice == "size" else "d"] += 1
    return new


def choice_index(cells):
    return min(range(len(cells)), key=lambda j: cells[j])


def values(b):
    return (b.upper.value, b.lower.value, b.expert_upper.value, b.expert_lower.value)


@FAST
@given(sized(), st.sampled_from(["size", "dim", "J", "W"]))
def test_bounds_monotone_in_every_size(arch_sizes, choice):
    router, sizes = arch_sizes
    bigger = bumps(router, sizes, choice)
    small, large = build(router, sizes), build(router, bigger)
    assume(large.experts <= 64)
    before, after = values(vc.vc_bounds(small)), values(vc.vc_bounds(large))
    for name, x, y in zip(
        ("upper", "lower", "expert_upper", "expert_lower"), before, after, strict=True
    ):
        assert y >= x, (name, small, large, x, y)


@FAST
@given(sized(), st.booleans())
def test_upper_at_least_lower(arch_sizes, top2):
    router, sizes = arch_sizes
    arch = build(router, sizes)
    b = vc.vc_bounds(arch)
    assert b.upper.value >= b.lower.value >= 1
    assert b.expert_upper.value >= b.expert_lower.value >= arch.dim + 1
    # the mixture bound contains one expert (every other cell can be empty): ≥ expert bounds
    assert b.upper.value >= b.expert_upper.value
    assert b.lower.value >= b.expert_lower.value
    # router lower bound of the reference (E ≥ 2: max(E, d + 1)) is below the upper bound
    assert b.upper.value >= max(arch.experts, arch.dim + 1)
    if top2 and arch.experts >= 2:
        t = Architecture(
            dim=arch.dim, experts=arch.experts, hidden=arch.hidden, router="linear", top_k=2
        )
        tb = vc.vc_bounds(t)
        assert tb.expert_upper.value >= tb.lower.value


def test_lower_bound_is_experts_times_single_shattering():
    for d, e, w, j in [(2, 4, 16, 2), (1, 7, 3, 3), (3, 5, 1, 2), (2, 9, 2, 1)]:
        for router in ("prototype", "linear"):
            b = vc.vc_bounds(Architecture(dim=d, experts=e, hidden=(w,) * j, router=router))
            v = max(d + 1, w + 1 + (j - 1) * (w - 2)) if w >= 2 else max(d + 1, 2)
            assert b.expert_lower.value == v
            assert b.lower.value == e * v


# ------------------------------------------------------------------ E = 1 and PReLU reductions


@pytest.mark.parametrize("router", ["none", "prototype", "linear", "grid", "tree"])
@pytest.mark.parametrize(
    "dim, hidden, act, slopes",
    [
        (1, (), "relu", "trainable"),
        (2, (16, 16), "relu", "trainable"),
        (3, (5, 2, 7), "prelu", "trainable"),
        (2, (4, 4), "prelu", "fixed"),
        (4, (1,), "relu", "trainable"),
    ],
)
def test_single_expert_reduces_to_network(router, dim, hidden, act, slopes):
    kw = {"dim": dim, "hidden": hidden, "activation": act, "slopes": slopes}
    b = vc.vc_bounds(Architecture(experts=1, router=router, **kw))
    net = vc.vc_bounds(Architecture(experts=1, router="none", **kw))
    assert b.upper.value == b.expert_upper.value == net.upper.value == net.expert_upper.value
    assert b.lower.value == b.expert_lower.value == net.lower.value
    widths = tuple(2 * w for w in hidden) if (act, slopes) == ("prelu", "trainable") else hidden
    assert b.upper.value == first_crossing(lambda m: net_log2(widths, dim, Fraction(m), _Exact))


@FAST
@given(
    st.integers(1, 3),
    st.lists(st.integers(1, 12), max_size=3),
    st.integers(1, 9),
    st.sampled_from(["prototype", "linear"]),
)
def test_prelu_reductions(dim, widths, experts, router):
    hidden = tuple(widths)
    relu = vc.vc_bounds(Architecture(dim=dim, experts=experts, hidden=hidden, router=router))
    doubled = vc.vc_bounds(
        Architecture(dim=dim, experts=experts, hidden=tuple(2 * w for w in hidden), router=router)
    )
    trainable = vc.vc_bounds(
        Architecture(dim=dim, experts=experts, hidden=hidden, router=router, activation="prelu")
    )
    fixed = vc.vc_bounds(
        Architecture(
            dim=dim,
            experts=experts,
            hidden=hidden,
            router=router,
            activation="prelu",
            slopes="fixed",
        )
    )
    assert trainable.upper.value == doubled.upper.value
    assert trainable.expert_upper.value == doubled.expert_upper.value
    assert values(fixed) == values(relu)
    if hidden:
        assert "doubled" in trainable.expert_upper.note
        assert trainable.upper.value >= relu.upper.value


# ------------------------------------------------------------------ certificates

CERTIFIED = [
    Architecture(dim=2, experts=4, hidden=(16, 16), router="prototype"),
    Architecture(dim=3, experts=7, hidden=(5, 9, 2), router="linear"),
    Architecture(dim=2, experts=6, hidden=(8,), router="grid", grid=(2, 3)),
    Architecture(dim=2, experts=16, hidden=(10, 10), router="tree"),
    Architecture(dim=1, experts=1, hidden=(3, 3, 3), router="none"),
    Architecture(dim=3, experts=8, hidden=(6, 6), router="tree", activation="prelu"),
    Architecture(dim=5, experts=32, hidden=(), router="prototype"),
    Architecture(
        dim=2, experts=9, hidden=(1, 4), router="grid", activation="prelu", slopes="fixed"
    ),
]


@pytest.mark.parametrize("arch", CERTIFIED, ids=lambda a: f"{a.router}-E{a.experts}-{a.hidden}")
def test_certificate_rechecked_independently(arch):
    b = vc.vc_bounds(arch)
    cert = b.upper.certificate
    mstar = cert["certified_at"]
    assert cert["value"] == b.upper.value == mstar - 1
    # independent interval re-computation of log₂ Π(m*)
    mine = moe_log2(arch, mstar, _Interval)
    assert mine.b < mstar
    assert float(mine.b) == pytest.approx(cert["log2_growth_upper"], rel=1e-12)
    # the library's own growth functions in interval arithmetic agree
    expert = growth.network_growth(expert_widths(arch), arch.dim)
    theirs = growth.mixture_growth(arch.kind.growth(arch), expert, arch.experts).at(
        mstar, 1, growth.INTERVAL
    )
    assert theirs.b < mstar
    assert float(abs(theirs.b - mine.b)) < 1e-20 * mstar
    # first crossing: m* − 1 is not certified below
    assert moe_log2(arch, mstar - 1, _Exact) >= mstar - 1
    # and the value is the plain first crossing of the independent bound
    assert first_crossing(lambda q: moe_log2(arch, q, _Exact)) == b.upper.value


# ------------------------------------------------------------------ symbolic formula

FORMULA = [
    Architecture(dim=2, experts=4, hidden=(16, 16), router="prototype"),
    Architecture(dim=3, experts=5, hidden=(8, 8, 8), router="linear"),
    Architecture(dim=2, experts=9, hidden=(6, 6), router="grid"),
    Architecture(dim=2, experts=16, hidden=(12,), router="tree"),
    Architecture(dim=1, experts=1, hidden=(7, 7), router="none"),
    Architecture(dim=2, experts=3, hidden=(5, 5), router="prototype", activation="prelu"),
]


@pytest.mark.parametrize("arch", FORMULA, ids=lambda a: f"{a.router}-E{a.experts}-{a.hidden}")
def test_formula_agrees_with_numeric(arch):
    b = vc.vc_bounds(arch)
    assert b.upper.formula is not None and b.expert_upper.formula is not None
    f = b.upper.formula.subs(vc.size_values(arch)).doit()
    assert f.free_symbols == {vc.m}
    value, mstar = b.upper.value, b.upper.certificate["certified_at"]

    def at(q):
        return MP.mpf(str(sp.N(f.subs(vc.m, q), 60)))

    for q in (value, mstar, 3 * mstar):
        # the formula is the Warren-regime expression, recomputed independently here
        assert at(q) == pytest.approx(moe_log2(arch, q, _Exact, warren_only=True), rel=1e-25)
    # every Warren term is in its regime (M ≥ N) at m*: the numeric bound (a minimum with
    # the trivial counts) is at most the formula, so its inversion is at most the formula's
    for q in (value, mstar):
        assert at(q) >= moe_log2(arch, q, _Exact) * (1 - MP.mpf(10) ** -40)
    assert at(value) >= value
    # the one-expert formula likewise
    fe = b.expert_upper.formula.subs(vc.size_values(arch)).doit()
    q = b.expert_upper.certificate["certified_at"]
    assert MP.mpf(str(sp.N(fe.subs(vc.m, q), 60))) == pytest.approx(
        net_log2(expert_widths(arch), arch.dim, Fraction(q), _Exact, warren_only=True), rel=1e-25
    )


def test_formula_absent_for_non_uniform_widths():
    b = vc.vc_bounds(Architecture(dim=2, experts=4, hidden=(3, 5), router="prototype"))
    assert b.upper.formula is None and b.expert_upper.formula is None
    assert b.upper.value is not None


def test_json_formula_string_is_unambiguous():
    b = vc.vc_bounds(Architecture(dim=2, experts=4, hidden=(16, 16), router="prototype"))
    names = {
        s.name: s
        for s in (sizes.m, sizes.d, sizes.E, sizes.J, sizes.W, sizes.K, sizes.i, sizes.EULER)
    }
    text = b.to_json()["upper"]["formula"]
    assert sp.sympify(text, locals=names) == b.upper.formula


# ------------------------------------------------------------------ top-k


@pytest.mark.parametrize("k, e, hidden", [(2, 4, (8,)), (3, 3, (4, 4)), (2, 8, ())])
def test_top_k_linear_router(k, e, hidden):
    b = vc.vc_bounds(Architecture(dim=2, experts=e, hidden=hidden, router="linear", top_k=k))
    assert b.upper.value is None and b.upper.formula is None
    assert f"top-{k}" in b.upper.note and "not" in b.upper.note
    assert b.lower.value == b.expert_lower.value == shatter.lower_bound(hidden, 2)
    assert b.expert_upper.value is not None
    json.dumps(b.to_json())


# ------------------------------------------------------------------ shattering constructions


def forward(layers, x, slope):
    """Independent exact forward pass: (P)ReLU after every layer but the last."""
    h = list(x)
    for n, (weights, bias) in enumerate(layers):
        z = [
            sum((w * v for w, v in zip(row, h, strict=True)), Fraction(0)) + b
            for row, b in zip(weights, bias, strict=True)
        ]
        h = z if n == len(layers) - 1 else [v if v >= 0 else slope * v for v in z]
    assert len(h) == 1
    return h[0]


SHATTER = [
    (1,),
    (2,),
    (4,),
    (1, 3),
    (3, 1),
    (2, 2),
    (3, 3),
    (1, 1, 4),
    (4, 1, 3),
    (3, 2, 3),
    (5,),
    (),
]


@pytest.mark.parametrize("hidden", SHATTER, ids=str)
@pytest.mark.parametrize("dim", [1, 3])
@pytest.mark.parametrize("slope", [Fraction(0), Fraction(1, 4), Fraction(-2)], ids=str)
def test_shattering_constructions(hidden, dim, slope):
    npoints = shatter.verify_shattering(hidden, dim, slope)
    assert npoints == shatter.lower_bound(hidden, dim)
    line = hidden and 2 + shatter.breakpoint_capacity(hidden) >= dim + 1
    builder = shatter.line_network if line else shatter.halfspace_network
    for labels in itertools.product((-1, 1), repeat=npoints):
        points, layers = builder(hidden, dim, list(labels), slope)
        assert len(points) == npoints == len({tuple(p) for p in points})
        assert all(len(p) == dim for p in points)
        # the network has exactly the architecture d → hidden → 1
        shapes = [(len(w), len(w[0]) if w else 0, len(b)) for w, b in layers]
        sizes = [dim, *hidden, 1]
        assert shapes == [(o, i, o) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
        for p, y in zip(points, labels, strict=True):
            out = forward(layers, p, slope)
            assert out != 0 and (out > 0) == (y > 0)


@pytest.mark.parametrize(
    "d, w, j", [(d, w, j) for d in (1, 2, 5, 30) for w in (2, 3, 7, 16) for j in (1, 2, 4)]
)
def test_lower_bound_closed_form(d, w, j):
    assert shatter.lower_bound((w,) * j, d) == max(d + 1, w + 1 + (j - 1) * (w - 2))


def test_lower_bound_examples():
    assert shatter.breakpoint_capacity((3, 3)) == 3
    assert shatter.verify_shattering((3, 3), 1) == 5
    assert shatter.lower_bound((), 4) == 5
    assert shatter.lower_bound((1, 1, 1), 1) == 2


# ------------------------------------------------------------------ errors


def test_vector_output_has_no_vc_bound():
    with pytest.raises(SizeError):
        vc.vc_bounds(Architecture(dim=2, experts=4, hidden=(8,), output_dim=2))


@pytest.mark.parametrize(
    "kw",
    [
        {"dim": 0},
        {"dim": -1},
        {"dim": 2.5},
        {"dim": "x"},
        {"dim": True},
        {"experts": 0},
        {"experts": -4},
        {"experts": 2.5},
        {"experts": "x"},
        {"hidden": (0,)},
        {"hidden": (8, -1)},
        {"hidden": (2.5,)},
        {"hidden": ("x",)},
        {"output_dim": 0},
        {"top_k": 0},
        {"router": "grid", "experts": 5},
        {"router": "grid", "dim": 3, "experts": 4},
        {"router": "grid", "grid": (2, 3)},
        {"router": "tree", "experts": 8},
        {"router": "tree", "experts": 6},
        {"router": "tree", "dim": 1, "experts": 12},
        {"router": "prototype", "top_k": 2},
        {"router": "grid", "top_k": 2},
        {"router": "linear", "top_k": 5},
        {"router": "none"},
        {"router": "mlp"},
        {"activation": "tanh"},
        {"activation": "prelu", "slopes": "learned"},
        {"router": "prototype", "grid": (2, 2)},
    ],
    ids=str,
)
def test_bad_architecture_sizes(kw):
    base = {"dim": 2, "experts": 4, "hidden": (8,), "router": "prototype"}
    with pytest.raises(SizeError):
        Architecture(**(base | kw))


# ------------------------------------------------------------------ JSON


@pytest.mark.parametrize(
    "arch", CERTIFIED + FORMULA[:2], ids=lambda a: f"{a.router}-E{a.experts}-{a.hidden}"
)
def test_to_json(arch):
    b = vc.vc_bounds(arch)
    data = json.loads(json.dumps(b.to_json()))
    for key, bound in (
        ("upper", b.upper),
        ("lower", b.lower),
        ("expert_upper", b.expert_upper),
        ("expert_lower", b.expert_lower),
    ):
        entry = data[key]
        assert {"value", "formula", "source", "provenance"} <= entry.keys()
        assert entry["value"] == bound.value
        assert entry["provenance"] == "math" and entry["source"]
        assert (entry["formula"] is None) == (bound.formula is None)
    assert data["upper"]["certificate"]["certified_at"] == b.upper.value + 1
