"""The constructive approximators of :mod:`moetheory.construct`, checked exactly
(approximation_vc.md §3, §8; the target proofs of ``moetheory/construct/targets.py``).

The networks are evaluated by this module's own exact forward pass (every float64 entry turned
into the :class:`~fractions.Fraction` it is, ReLU(z) = max(z, 0), layer by layer), never by
``Network.evaluate``; counts are walked from the arrays; constants are recomputed with sympy or
mpmath at 50 digits. A wrong formula on either side fails the check.
"""

from __future__ import annotations

import random
from fractions import Fraction
from itertools import combinations, product

import mpmath
import numpy as np
import sympy as sp

from moetheory.bounds.kuhn import kuhn_parameters, kuhn_widths
from moetheory.construct.approximate import approximate
from moetheory.construct.experts import kuhn_expert, kuhn_template, max_network, nodes
from moetheory.construct.network import Network
from moetheory.construct.targets import builtin_target, callable_target
from proofs_check.relations import Check

REF = "approximation_vc.md"
TARGETS = "moetheory/construct/targets.py docstring"
MP = type(mpmath.mp)()
MP.dps = 50  # a private 50-digit context, independent of the library's


def _say(message: str) -> None:
    print(f"  {message}")


# ------------------------------------------------------------------ exact forward pass

Exact = tuple[list[list[tuple[Fraction, list[tuple[int, Fraction]]]]], list | None]


def _exact(net: Network) -> Exact:
    """The network's layers as sparse rows of Fractions (exact images of the float64 entries):
    per layer, per unit, (bias, [(input index, weight) for the non-zero weights])."""
    layers = []
    for w, b in zip(net.weights, net.biases, strict=True):
        rows = []
        for i in range(w.shape[0]):
            row = [(j, Fraction(float(w[i, j]))) for j in range(w.shape[1]) if w[i, j] != 0]
            rows.append((Fraction(float(b[i])), row))
        layers.append(rows)
    slopes = None
    if net.slopes is not None:
        slopes = [[Fraction(float(a)) for a in s] for s in net.slopes]
    return layers, slopes


def _forward(exact: Exact, x: tuple[Fraction, ...]) -> list[Fraction]:
    """f(x) in exact arithmetic: z = A h + b, then ReLU(z) = max(z, 0) (PReLU a·z for z < 0
    when the network has slopes) on every hidden layer, the output layer affine."""
    layers, slopes = exact
    h = list(x)
    for index, rows in enumerate(layers):
        z = [sum((w * h[j] for j, w in row), b) for b, row in rows]
        if index == len(layers) - 1:
            return z
        if slopes is None:
            h = [max(v, Fraction(0)) for v in z]
        else:
            h = [v if v >= 0 else a * v for v, a in zip(z, slopes[index], strict=True)]
    raise AssertionError("unreachable")


def _levels(n: int) -> list[int]:
    """Values entering each pairwise max-tree level: n, ⌈n/2⌉, … while more than one."""
    out = []
    while n > 1:
        out.append(n)
        n -= n // 2
    return out


# ------------------------------------------------------------------ 1. Kuhn hats, exactly


def template_hats() -> bool:
    """kuhn_template(d, M, K=3) evaluated exactly on [0, 1/K]^d: hats ≥ 0, Σ hats = 1,
    Σ_v (a·v + b)·hat_v(x) = a·x + b, node interpolation; integer entries; kuhn_widths."""
    rng = random.Random(20240611)
    cells = 3
    ok = True
    for dim, sub in product((1, 2, 3), (1, 2)):
        net = kuhn_template(dim, sub, cells=cells)
        if list(net.widths) != kuhn_widths(dim, sub):
            _say(
                f"d={dim}, M={sub}: template widths {net.widths} ≠ kuhn_widths "
                f"{kuhn_widths(dim, sub)}"
            )
            ok = False
        # entries: first-layer weights 0/±K·M, biases integers; later entries 0/±1
        first = set(net.weights[0].ravel().tolist())
        later = {v for a in (*net.weights[1:], *net.biases[1:]) for v in a.ravel().tolist()}
        if (
            not first <= {0.0, cells * sub, -cells * sub}
            or any(v != int(v) for v in net.biases[0].tolist())
            or not later <= {0.0, 1.0, -1.0}
            or net.slopes is not None
        ):
            _say(f"d={dim}, M={sub}: entries first {sorted(first)}, later {sorted(later)}")
            ok = False
        h = Fraction(1, cells * sub)
        grid = list(product(range(sub + 1), repeat=dim))  # row-major, as nodes() promises
        if nodes(dim, sub).tolist() != [list(v) for v in grid]:
            _say(f"d={dim}, M={sub}: nodes() is not the row-major grid {{0..M}}^d")
            ok = False
        verts = [tuple(j * h for j in v) for v in grid]
        exact = _exact(net)
        points = []
        for _ in range(200):
            x = []
            for _ in range(dim):
                kind = rng.random()
                if kind < 0.25:  # a node coordinate: faces, edges and nodes of the sub-cells
                    x.append(rng.randrange(sub + 1) * h)
                else:
                    den = rng.choice((7, 11, 97, 1000, 3**7, 2**20 + 1))
                    x.append(Fraction(rng.randrange(den + 1), den * cells))
            points.append(tuple(x))
        for x in points + verts:
            hats = _forward(exact, x)
            a = [Fraction(rng.randint(-60, 60), rng.randint(1, 17)) for _ in range(dim)]
            b = Fraction(rng.randint(-60, 60), rng.randint(1, 17))
            affine = sum(
                (
                    hat * (sum((ai * vi for ai, vi in zip(a, v, strict=True)), b))
                    for hat, v in zip(hats, verts, strict=True)
                ),
                Fraction(0),
            )
            want = sum((ai * xi for ai, xi in zip(a, x, strict=True)), b)
            coords = [
                sum((hat * v[i] for hat, v in zip(hats, verts, strict=True)), Fraction(0))
                for i in range(dim)
            ]
            if min(hats) < 0 or sum(hats) != 1 or affine != want or coords != list(x):
                _say(
                    f"d={dim}, M={sub}, x={tuple(map(str, x))}: min hat {min(hats)}, "
                    f"Σ hats = {sum(hats)}, Σ(a·v+b)hat = {affine} vs a·x+b = {want}"
                )
                return False
            if x in verts and hats != [Fraction(int(v == x)) for v in verts]:
                _say(f"d={dim}, M={sub}: hats are not the node indicator at node {x}")
                return False
    return ok


# ------------------------------------------------------------------ 2. max network


def max_tree() -> bool:
    """max_network(n) = max(z) exactly for z ≥ 0 (n = 1..7), widths n, ⌈n/2⌉, …; for n ≥ 2
    some negative input gives another value (the hypothesis b ≥ 0); n = 1 is the identity."""
    rng = random.Random(7)
    ok = True
    for n in range(1, 8):
        net = max_network(n)
        if list(net.widths) != _levels(n):
            _say(f"n={n}: widths {net.widths}, expected {_levels(n)}")
            ok = False
        exact = _exact(net)
        samples = [
            tuple(Fraction(rng.randrange(1000), rng.randint(1, 50)) for _ in range(n))
            for _ in range(150)
        ]
        samples += [
            tuple(Fraction(0) for _ in range(n)),
            tuple(Fraction(rng.randrange(3)) for _ in range(n)),
        ]  # zeros and ties
        for z in samples:
            out = _forward(exact, z)
            if out != [max(z)]:
                _say(f"n={n}: network {out} ≠ max {max(z)} at z = {tuple(map(str, z))}")
                return False
        negative = [
            tuple(Fraction(rng.randint(-500, 500), rng.randint(1, 50)) for _ in range(n))
            for _ in range(50)
        ]
        negative.append(tuple(Fraction(-1 - i) for i in range(n)))
        differs = [z for z in negative if _forward(exact, z) != [max(z)]]
        if n >= 2 and not differs:
            _say(
                f"n={n}: the network equals max on every negative sample: the hypothesis "
                "z ≥ 0 is not documented by a counterexample"
            )
            ok = False
        if n == 1 and differs:
            _say(f"n=1: the identity differs from max at {differs[0]}")
            ok = False
    return ok


# ------------------------------------------------------------------ 3. sawtooth constant

SAW_B = 4
SAW_N = 20


def _exp_form(expr: sp.Expr) -> sp.Expr:
    return sp.expand(sp.powsimp(sp.expand(expr), combine="exp"))


def _saw_symbolic() -> bool:
    """Steps (i) and (ii) with b^x = exp(L·x), L = log b > 0, δ = b^{θ − n₀}, θ ∈ [0, 1)."""
    L, al, th = sp.symbols("L alpha theta", positive=True)
    u, w = sp.symbols("u w", positive=True)  # 1 − α and 1 − θ
    n0 = sp.Symbol("n0", positive=True, integer=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    q = sp.Symbol("q", positive=True)
    ok = True

    def power(x):
        return sp.exp(L * x)

    # sympy's geometric sums: Σ_{k<n₀} q^k = (q^{n₀} − 1)/(q − 1) (q ≠ 1),
    # Σ_{k≥n₀} q^k = q^{n₀}/(1 − q) (q < 1)
    geo = sp.summation(q**k, (k, 0, n0 - 1))
    tail = sp.summation(q**k, (k, n0, sp.oo))
    if not (
        isinstance(geo, sp.Piecewise) and sp.simplify(geo.args[-1][0] - (q**n0 - 1) / (q - 1)) == 0
    ):
        _say(f"Σ_{{k<n₀}} q^k = {geo}")
        ok = False
    if not (
        isinstance(tail, sp.Piecewise)
        and tail.args[0][1] == (q < 1)
        and sp.simplify(tail.args[0][0] - q**n0 / (1 - q)) == 0
    ):
        _say(f"Σ_{{k≥n₀}} q^k = {tail}")
        ok = False
    r = power(1 - al)  # b^{1−α} > 1: log r = L(1 − α) > 0
    if not (L * (1 - al)).subs(al, 1 - u).is_positive:
        _say("(i): log b^(1−α) = (1 − α)·log b > 0 not shown")
        ok = False
    delta = power(th - n0)
    # (i) δΣ_{k<n₀} r^k = δ(r^{n₀} − 1)/(r − 1) ≤ δr^{n₀}/(r − 1) (difference δ/(r − 1) > 0)
    # ≤ rδ^α/(r − 1): (rδ^α − δ(r^{n₀} − 1)) = δ + b^{−αn₀}·b^θ·(b^{(1−α)(1−θ)} − 1)
    lhs_scaled = delta * (r**n0 - 1)
    rhs_scaled = r * delta**al
    claim = delta + power(-al * n0) * power(th) * (power((1 - al) * (1 - th)) - 1)
    if _exp_form(rhs_scaled - lhs_scaled - claim) != 0:
        _say(f"(i): r·δ^α − δ(r^n₀ − 1) − claim = {_exp_form(rhs_scaled - lhs_scaled - claim)}")
        ok = False
    if _exp_form(delta * r**n0 - lhs_scaled - delta) != 0:
        _say("(i): δr^n₀ − δ(r^n₀ − 1) ≠ δ")
        ok = False
    # b^{(1−α)(1−θ)} ≥ 1 since its log L(1−α)(1−θ) is positive for α < 1, θ < 1
    if not (L * (1 - al) * (1 - th)).subs({al: 1 - u, th: 1 - w}).is_positive:
        _say("(i): (1 − α)(1 − θ)·log b > 0 not shown")
        ok = False
    # (ii) ½Σ_{k≥n₀} b^{−αk} = ½b^{−αn₀}/(1 − b^{−α}) ≤ δ^α/(2(1 − b^{−α})) for δ ≥ b^{−n₀}:
    # δ^α − b^{−αn₀} = b^{−αn₀}(b^{αθ} − 1), θ ≥ 0, and 1 − b^{−α} > 0 (log b^{−α} < 0)
    tail_b = tail.args[0][0].subs(q, power(-al)) / 2
    closed = power(-al * n0) / (2 * (1 - power(-al)))
    if sp.simplify(tail_b - closed) != 0:
        _say(f"(ii): ½Σ b^(−αk) = {tail_b}, expected {closed}")
        ok = False
    if _exp_form(delta**al - power(-al * n0) - power(-al * n0) * (power(al * th) - 1)) != 0:
        _say("(ii): δ^α − b^(−αn₀) ≠ b^(−αn₀)(b^(αθ) − 1)")
        ok = False
    if not ((L * al * th).is_positive and (-L * al).is_negative):
        _say("(ii): αθ·log b > 0 or −α·log b < 0 not shown")
        ok = False
    return ok


def _saw_lambda(alpha) -> mpmath.mpf:
    b = MP.mpf(SAW_B)
    rise = b ** (1 - alpha)
    return rise / (rise - 1) + 1 / (2 * (1 - b ** (-alpha)))


def _dist(y: Fraction) -> Fraction:
    """dist(y, ℤ), exactly."""
    frac = y - (y.numerator // y.denominator)
    return min(frac, 1 - frac)


def _mpq(x: Fraction) -> mpmath.mpf:
    return MP.mpf(x.numerator) / x.denominator


def _saw_g(t: Fraction, weights: list) -> mpmath.mpf:
    """Σ_k w_k·dist(b^k·t, ℤ), each distance exact, the sum at 50 digits."""
    return MP.fsum(w * _mpq(_dist(SAW_B**k * t)) for k, w in enumerate(weights))


def sawtooth_holder() -> bool:
    """(i) δΣ_{k<n₀} b^{(1−α)k} ≤ b^{1−α}δ^α/(b^{1−α} − 1), (ii) ½Σ_{k≥n₀} b^{−αk} ≤
    δ^α/(2(1 − b^{−α})) (sympy, and mpmath grid); (iii) λ_g = the library's constant;
    (iv) |g(t) − g(u)| ≤ λ_g|t − u|^α for the 20-term sum on close rational pairs."""
    ok = _saw_symbolic()
    if not ok:
        _say("the symbolic steps (i)/(ii) failed")
    b = MP.mpf(SAW_B)
    tiny = MP.mpf(10) ** -45  # room for 50-digit rounding at the equality end of (ii)
    for tenth, n0 in product(range(1, 10), range(1, 31)):
        alpha = _mpq(Fraction(tenth, 10))
        rise = b ** (1 - alpha)
        geo = MP.fsum(b ** ((1 - alpha) * k) for k in range(n0))
        tail = MP.nsum(lambda k, a=alpha: b ** (-a * k) / 2, [n0, MP.inf])
        if abs(tail - b ** (-alpha * n0) / (2 * (1 - b ** (-alpha)))) > tiny * tail:
            _say(f"(ii) α={alpha}, n₀={n0}: Σ_{{k≥n₀}} ½b^(−αk) = {tail} ≠ closed form")
            ok = False
        for delta in (b ** (-n0), b ** (1 - n0)):
            first = delta * geo
            if first > rise * delta**alpha / (rise - 1):
                _say(
                    f"(i) α={alpha}, n₀={n0}, δ={delta}: {first} > "
                    f"{rise * delta**alpha / (rise - 1)}"
                )
                ok = False
            if tail > delta**alpha / (2 * (1 - b ** (-alpha))) * (1 + tiny):
                _say(
                    f"(ii) α={alpha}, n₀={n0}, δ={delta}: tail {tail} > "
                    f"{delta**alpha / (2 * (1 - b ** (-alpha)))}"
                )
                ok = False
    rng = random.Random(4)
    for alpha in (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4)):
        a = _mpq(alpha)
        lam = _saw_lambda(a)
        # (iii) the library's λ (l2: λ_g·d^{−α/2}, linf: λ_g), rounded up, within 1e-12
        for dim, norm in product((1, 2, 3), ("l2", "linf")):
            want = lam * (MP.mpf(dim) ** (-a / 2) if norm == "l2" else 1)
            got = builtin_target("sawtooth", dim, alpha).known_constant(alpha, norm)
            exact = _mpq(got) if isinstance(got, Fraction) else MP.mpf(got)
            if not (abs(exact - want) <= 1e-12 * want and exact >= want * (1 - tiny)):
                _say(f"(iii) α={alpha}, d={dim}, {norm}: library {got}, λ = {want}")
                ok = False
        if (
            alpha == Fraction(1, 2)
            and builtin_target("sawtooth", 1, alpha).known_constant(alpha, "l2") != 3
        ):
            _say("(iii) λ_g(1/2) is not exactly 3")
            ok = False
        # (iv) the finite sum g, dist(4^k t, ℤ) exact, compared at 50 digits
        weights = [b ** (-a * k) for k in range(SAW_N)]
        pairs = [(Fraction(0), Fraction(1, 2 * SAW_B**n)) for n in range(SAW_N + 3)]
        for _ in range(300):
            den = rng.choice((10**6, 3**15, 2**45 + 1, 7**20))
            t = Fraction(rng.randrange(den), den)
            scale = Fraction(1, SAW_B ** rng.randrange(SAW_N + 4))
            pairs.append((t, t + scale * Fraction(rng.randint(1, 10**6), 10**6)))
        for t, u in pairs:
            gap = _mpq(u - t)
            rise_g = abs(_saw_g(t, weights) - _saw_g(u, weights))
            if rise_g > lam * gap**a:
                _say(
                    f"(iv) α={alpha}: |g(t) − g(u)| = {MP.nstr(rise_g, 8)} > λ_g|t − u|^α = "
                    f"{MP.nstr(lam * gap**a, 8)} at t = {t}, u = {u}"
                )
                ok = False
                break
    return ok


# ------------------------------------------------------------------ 4. smooth gradient


def smooth_gradient() -> bool:
    """‖∇Π sin(πx_i)‖² = π²Σ_i cos²(πx_i)Π_{j≠i} sin²(πx_j) and, with u_i = cos²(πx_i),
    1 − Σ_i u_iΠ_{j≠i}(1 − u_j) = Σ_{|S|≠1} Π_{S} u_i Π_{∉S}(1 − u_i) ≥ 0 (d = 2, 3)."""
    ok = True
    for dim in (2, 3):
        x = sp.symbols(f"x1:{dim + 1}", real=True)
        f = sp.Mul(*(sp.sin(sp.pi * xi) for xi in x))
        grad_sq = sum(sp.diff(f, xi) ** 2 for xi in x)
        formula = sp.pi**2 * sum(
            sp.cos(sp.pi * x[i]) ** 2
            * sp.Mul(*(sp.sin(sp.pi * x[j]) ** 2 for j in range(dim) if j != i))
            for i in range(dim)
        )
        if sp.expand(grad_sq - formula) != 0:
            _say(f"d={dim}: ‖∇f‖² − π²Σ cos²Π sin² = {sp.expand(grad_sq - formula)}")
            ok = False
        u = sp.symbols(f"u1:{dim + 1}", real=True)
        # sin² = 1 − cos²: the sum is P(exactly one success), success i with probability u_i
        exactly_one = sum(
            u[i] * sp.Mul(*(1 - u[j] for j in range(dim) if j != i)) for i in range(dim)
        )
        substituted = (
            (formula / sp.pi**2)
            .subs({sp.sin(sp.pi * xi) ** 2: 1 - ui for xi, ui in zip(x, u, strict=True)})
            .subs({sp.cos(sp.pi * xi) ** 2: ui for xi, ui in zip(x, u, strict=True)})
        )
        if sp.expand(substituted - exactly_one) != 0:
            _say(f"d={dim}: the substitution u = cos² gives {substituted}")
            ok = False
        bernstein = sum(
            sp.Mul(*(u[i] if i in subset else 1 - u[i] for i in range(dim)))
            for size in range(dim + 1)
            if size != 1
            for subset in combinations(range(dim), size)
        )
        if sp.expand(1 - exactly_one - bernstein) != 0:
            _say(
                f"d={dim}: 1 − Σu_iΠ(1 − u_j) − Σ_{{|S|≠1}} = "
                f"{sp.expand(1 - exactly_one - bernstein)}"
            )
            ok = False
        # every Bernstein term is a product of factors in [0, 1], so ≥ 0 on [0, 1]^d
        v = sp.symbols(f"v1:{dim + 1}", positive=True)  # u_i = v_i/(1 + v_i) ∈ (0, 1)
        terms = sp.Add.make_args(bernstein)
        if not all(
            sp.factor(t.subs({ui: vi / (1 + vi) for ui, vi in zip(u, v, strict=True)})).is_positive
            for t in terms
        ):
            _say(f"d={dim}: a Bernstein term is not shown positive on (0, 1)^d")
            ok = False
        # the library's smooth constants: π^β (l2), (π√d)^β (linf)
        for beta in (Fraction(1, 2), Fraction(1)):
            target = builtin_target("smooth", dim, beta)
            for norm, scale in (("l2", MP.pi), ("linf", MP.pi * MP.sqrt(dim))):
                want = scale ** _mpq(beta)
                got = target.known_constant(beta, norm)
                got = _mpq(got) if isinstance(got, Fraction) else MP.mpf(got)
                if not (want <= got <= want * (1 + 1e-12)):
                    _say(f"d={dim}, β={beta}, {norm}: library {got}, expected {want}")
                    ok = False
    return ok


# ------------------------------------------------------------------ 5. constant bound attained


def constant_attained() -> bool:
    """f = ‖x − (½, ½)‖₂, d = 2, α = λ = 1, ε = 1/5 → K = 4: the constant-expert mixture's
    error over the grid points j/K is at most λ√d/(2K) (up to the float rounding of its values)
    and attains it (at c, to 1e-12)."""
    dim, cells = 2, 4
    centre = (Fraction(1, 2), Fraction(1, 2))

    def f(x: np.ndarray) -> np.ndarray:
        return np.linalg.norm(x - np.array([float(c) for c in centre]), axis=1)

    built = approximate(callable_target(f, dim), 1, 1, dim, "1/5", expert="constant")
    ok = True
    if built.plan.cells != cells:
        _say(f"ε = 1/5 gives K = {built.plan.cells}, expected {cells}")
        return False
    bound = MP.sqrt(dim) / (2 * cells)
    if abs(MP.mpf(float(built.plan.guaranteed_error)) - bound) > 1e-12 * bound:
        _say(f"guaranteed error {built.plan.guaranteed_error}, λ√d/(2K) = {bound}")
        ok = False
    grid = [tuple(Fraction(j, cells) for j in js) for js in product(range(cells + 1), repeat=dim)]
    values = built.mixture.evaluate(np.array([[float(c) for c in p] for p in grid]))
    worst = MP.mpf(0)
    for p, value in zip(grid, values.reshape(-1).tolist(), strict=True):
        radius_sq = sum((pi - ci) ** 2 for pi, ci in zip(p, centre, strict=True))
        exact_f = MP.sqrt(_mpq(radius_sq))
        err = abs(exact_f - MP.mpf(value))
        if err > bound + abs(value) * 2.0**-50:  # a few ulps of the float64 expert values
            _say(
                f"error {MP.nstr(err, 17)} at {tuple(map(str, p))} exceeds λ√d/(2K) = "
                f"{MP.nstr(bound, 17)}"
            )
            ok = False
        worst = max(worst, err)
    if abs(worst - bound) > 1e-12 * bound:
        _say(
            f"max error over the grid points {MP.nstr(worst, 17)} ≠ λ√d/(2K) = {MP.nstr(bound, 17)}"
        )
        ok = False
    return ok


# ------------------------------------------------------------------ 6. counts


def _structural_nonzero(dim: int, sub: int, zero_coords: int, zero_values: int) -> int:
    """Non-zeros of the Kuhn expert by following its layout unit by unit: a value is the set of
    units summed to make it; a unit reads the units of its operands (module docstring of
    moetheory.construct.experts)."""
    count = 0
    # first layer: weight ±1/h and bias −s(j + corner_i/h), zero iff j = 0 and corner_i = 0
    count += 2 * dim * (sub + 1) + 2 * dim * (sub + 1) - 2 * zero_coords
    hats = (sub + 1) ** dim
    per_tree = 0
    values: list[frozenset] = [frozenset({("in", i)}) for i in range(dim)]
    level = 0
    while len(values) > 1:
        nxt = []
        for j in range(0, len(values) - 1, 2):
            a, b = values[j], values[j + 1]
            diff, keep = ("u", level, j), ("u", level, j + 1)
            per_tree += len(a | b) + len(b)  # ReLU(a − b), ReLU(b); biases 0
            nxt.append(frozenset({diff, keep}))
        if len(values) % 2:
            per_tree += len(values[-1])
            nxt.append(frozenset({("u", level, len(values) - 1)}))
        values, level = nxt, level + 1
    per_hat = 2 * per_tree + 2 * len(values[0]) + 1  # two trees, the hat unit and its bias 1
    return count + hats * per_hat + hats - zero_values


def expert_counts() -> bool:
    """kuhn_expert(kuhn_template(d, M, 2), corner, values): dense = Σ(fan-in + 1)·fan-out over
    d → kuhn_widths → 1 = kuhn_parameters[0]; non-zeros (walked) = kuhn_parameters[1] for a
    corner > 0 and generic values, 2 fewer per zero corner coordinate, 1 per zero value."""
    rng = random.Random(11)
    ok = True
    for dim, sub in product((1, 2, 3), (1, 2, 3)):
        template = kuhn_template(dim, sub, 2)
        hats = (sub + 1) ** dim
        generic = np.array([rng.choice((-1, 1)) * rng.uniform(0.5, 2.0) for _ in range(hats)])
        cases = [(np.full(dim, 0.5), generic, 0, 0), (np.zeros(dim), generic, dim, 0)]
        sparse = generic.copy()
        sparse[0] = 0.0
        cases.append((np.full(dim, 0.5), sparse, 0, 1))
        widths = [dim, *kuhn_widths(dim, sub), 1]
        dense = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:], strict=True))
        lib_dense, lib_nonzero = kuhn_parameters(dim, sub)
        for corner, values, zero_coords, zero_values in cases:
            expert = kuhn_expert(template, corner, values)
            walked_dense = sum(len(row) for w in expert.weights for row in w.tolist()) + sum(
                len(b.tolist()) for b in expert.biases
            )
            walked_nonzero = sum(
                1 for a in (*expert.weights, *expert.biases) for v in a.ravel().tolist() if v != 0
            )
            shapes = [expert.input_dim, *expert.widths, expert.output_dim]
            structural = _structural_nonzero(dim, sub, zero_coords, zero_values)
            counts = expert.counts()
            want_nonzero = lib_nonzero - 2 * zero_coords - zero_values
            if (
                shapes != widths
                or not dense == lib_dense == walked_dense == counts.dense
                or not want_nonzero == structural == walked_nonzero == counts.nonzero
            ):
                _say(
                    f"d={dim}, M={sub}, corner={corner.tolist()}, {zero_values} zero values: "
                    f"widths {shapes} vs {widths}; dense {dense}/{lib_dense}/{walked_dense}/"
                    f"{counts.dense}; non-zero {want_nonzero}/{structural}/{walked_nonzero}/"
                    f"{counts.nonzero} (formula/layout/walked/counts())"
                )
                ok = False
    return ok


CHECKS = [
    Check(
        "template-hats",
        "kuhn_template(d, M, K=3), d ≤ 3, M ≤ 2, in exact arithmetic: hats "
        "≥ 0, Σ = 1, Σ_v (a·v + b)·hat_v = a·x + b, node indicators; widths = kuhn_widths",
        f"{REF} §3(b), §8",
        template_hats,
    ),
    Check(
        "max-network",
        "max_network(n) = max exactly on z ≥ 0 (n ≤ 7); for n ≥ 2 it differs "
        "on some negative input (it needs b ≥ 0)",
        "moetheory/construct/experts.py",
        max_tree,
    ),
    Check(
        "sawtooth-holder",
        "geometric and tail steps (sympy, mpmath 50 digits), λ_g = "
        "b^{1−α}/(b^{1−α}−1) + 1/(2(1−b^{−α})) = the library's, and |g(t)−g(u)| ≤ "
        "λ_g|t−u|^α exactly on close pairs",
        f"{TARGETS}, {REF} §3",
        sawtooth_holder,
    ),
    Check(
        "smooth-gradient",
        "‖∇Π sin(πx_i)‖² ≤ π²: 1 − P(exactly one) = Σ_{|S|≠1} Bernstein "
        "terms (d = 2, 3); library constants π^β, (π√d)^β",
        f"{TARGETS}, {REF} §3",
        smooth_gradient,
    ),
    Check(
        "constant-attained",
        "constant experts for ‖x − (½,½)‖₂ (d=2, K=4): max error over "
        "the grid points = λ√d/(2K), never above it",
        f"{REF} §3(a), §8",
        constant_attained,
    ),
    Check(
        "expert-counts",
        "Kuhn expert dense = Σ(fan-in+1)·fan-out = kuhn_parameters; walked "
        "non-zeros = kuhn_parameters[1] (corner > 0, generic values), −2 per zero corner "
        "coordinate, −1 per zero value",
        f"{REF} §1, §3(b)",
        expert_counts,
    ),
]
