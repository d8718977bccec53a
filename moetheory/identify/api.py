"""Public entry points: build the model of a pair (built-in names or formulas) and identify it.

Example
-------
>>> from moetheory import identify
>>> v = identify("softmax", "linear", dim=1)
>>> v.verdicts["strong"]
'no'
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from moetheory.errors import FormulaError, UnknownSymbolError
from moetheory.families import ExpertFamily, RouterFamily, get_expert, get_router
from moetheory.families.base import gaussian_density
from moetheory.identify.engine import identify_model
from moetheory.identify.model import Factor, Model, split_exponential
from moetheory.identify.verdict import Verdict
from moetheory.limits import MAX_DIM, MAX_ORDER, MAX_SEED, check_int, check_seconds
from moetheory.symbolic.parser import Scope, check_name, make_symbol, parse_formula


def detect_masses(
    expr: sp.Expr, inputs: tuple[sp.Symbol, ...], params: tuple[sp.Symbol, ...]
) -> tuple[sp.Symbol, ...]:
    """Parameters that only weight the atom: ∂ log(expr)/∂p is free of the inputs.

    Such a p (a softmax intercept β₀, also inside a temperature: exp((β₁ᵀx + β₀)/τ), a factor s
    in s·exp(β₁ᵀx), an intercept in 2^{β₁ᵀx + β₀}) is a mass, not a direction of the Taylor
    family (identifiability.md §3, mass parameter). ``verify`` applies the same test, at points.

    >>> b, b0, s, x = sp.symbols("b b0 s x1")
    >>> detect_masses(s * sp.exp(b * x), (x,), (b, s))
    (s,)
    >>> detect_masses(2**(b * x + b0), (x,), (b, b0))
    (b0,)
    """
    z, rest = split_exponential(expr)
    ins = set(inputs)
    out = []
    for p in params:
        if not expr.has(p):
            continue
        d_log = sp.diff(z, p) + (sp.cancel(sp.diff(rest, p) / rest) if rest.has(p) else 0)
        d_log = sp.cancel(sp.expand_log(d_log, force=True))
        if d_log != 0 and not d_log.free_symbols & ins:
            out.append(p)
    return tuple(out)


def pair_model(gate: str | RouterFamily, expert: str | ExpertFamily, dim: int = 2) -> Model:
    """The model u = gate numerator × expert for two built-in families at dimension ``dim``."""
    g = get_router(gate) if isinstance(gate, str) else gate
    e = get_expert(expert) if isinstance(expert, str) else expert
    gb, eb = g.build(dim), e.build(dim)
    inputs = gb.inputs + ((eb.output,) if eb.output is not None else ())
    return Model(
        factors=(
            Factor(gb.expr, inputs, gb.params, "gate"),
            Factor(eb.expr, inputs, eb.params, "expert"),
        ),
        inputs=inputs,
        masses=gb.masses,
        positive=(*gb.positive, *eb.positive),
        variance=(eb.variance,) if eb.variance is not None else (),
        output=eb.output,
        notes=(*gb.notes, *eb.notes),
    )


def family_as_formula(family: RouterFamily | ExpertFamily, dim: int) -> dict:
    """A built-in family written as ``formula_model`` arguments (sympy syntax the whitelist
    parser reads back), so a built-in side can be combined with a user formula."""
    b = family.build(dim)
    if isinstance(family, RouterFamily):
        return {
            "formula": sp.sstr(b.expr),
            "params": [str(p) for p in (*b.params, *b.masses)],
            "positive": [str(p) for p in b.positive],
            "inputs": [str(x) for x in b.inputs],
        }
    variance = [b.variance] if b.variance is not None else []
    return {
        "formula": sp.sstr(b.mean if b.mean is not None else b.expr),
        "params": [str(p) for p in b.params if p not in variance],
        "positive": [str(p) for p in b.positive if p not in variance],
        "inputs": [str(x) for x in b.inputs],
        "gaussian_output": str(b.output) if b.output is not None else None,
        "variance_param": str(b.variance) if b.variance is not None else None,
    }


def formula_model(
    gate_formula: str,
    gate_params: list[str],
    expert_formula: str,
    expert_params: list[str],
    inputs: list[str],
    gaussian_output: str | None = None,
    variance_param: str | None = None,
    positive: list[str] | None = None,
) -> Model:
    """The model of a user-written pair: u = gate formula × expert formula.

    With ``gaussian_output`` y and ``variance_param`` ν the expert formula is the mean and the
    expert is N(y | mean, ν). Gate parameters that are masses are detected (``detect_masses``).
    """
    if (gaussian_output is None) != (variance_param is None):
        raise FormulaError(
            "--gaussian-output and --variance-param go together",
            token=gaussian_output or variance_param,
        )
    extra = [gaussian_output] if gaussian_output is not None else []
    e_params = list(expert_params) + ([variance_param] if variance_param is not None else [])
    names = list(inputs) + extra + list(gate_params) + e_params
    for n in names:
        check_name(n)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FormulaError(
            f"name {repeated[0]!r} is declared twice (inputs, response, gate "
            "parameters, expert parameters and the variance must all differ)",
            token=repeated[0],
        )
    unknown = [n for n in positive or [] if n not in [*gate_params, *e_params]]
    if unknown:
        raise FormulaError(
            f"positive parameter {unknown[0]!r} is not a gate or expert parameter", token=unknown[0]
        )
    ins = tuple(make_symbol(n) for n in list(inputs) + extra)
    g_all = tuple(make_symbol(n) for n in gate_params)
    e_syms = tuple(make_symbol(n) for n in e_params)
    gate_scope = Scope.declare(scalars=list(inputs) + list(gate_params))
    expert_scope = Scope.declare(scalars=list(inputs) + list(expert_params))
    g = _parse_side(gate_formula, gate_scope, "gate", inputs)
    mean = _parse_side(expert_formula, expert_scope, "expert", inputs)
    for label, expr, allowed in (("gate", g, set(g_all)), ("expert", mean, set(e_syms))):
        unused = (
            allowed
            - expr.free_symbols
            - ({make_symbol(variance_param)} if variance_param is not None else set())
        )
        if unused:
            name = sorted(map(str, unused))[0]
            raise FormulaError(
                f"{label} parameter {name!r} does not occur in the {label} formula", token=name
            )
    pos: tuple[sp.Symbol, ...]
    if variance_param is not None and gaussian_output is not None:  # both or neither (above)
        nu, y = make_symbol(variance_param), make_symbol(gaussian_output)
        expert_expr = gaussian_density(y, mean, nu)
        variance: tuple[sp.Symbol, ...] = (nu,)
        pos = (nu,)
    else:
        expert_expr, variance, pos = mean, (), ()
    masses = detect_masses(g, ins, g_all)
    g_params = tuple(p for p in g_all if p not in masses)
    pos = pos + tuple(make_symbol(n) for n in (positive or []))
    return Model(
        factors=(Factor(g, ins, g_params, "gate"), Factor(expert_expr, ins, e_syms, "expert")),
        inputs=ins,
        masses=masses,
        positive=pos,
        variance=variance,
        output=make_symbol(gaussian_output) if gaussian_output is not None else None,
    )


def _parse_side(text: str, scope: Scope, side: str, inputs: Sequence[str]) -> sp.Expr:
    """Parse one side's formula; an undeclared name gets a hint on how to declare it."""
    try:
        return parse_formula(text, scope)
    except UnknownSymbolError as exc:
        raise UnknownSymbolError(
            f"{exc} ({'an' if side[0] in 'aeiou' else 'a'} {side} parameter must be declared "
            f"with --{side}-params, an input "
            f"with --inputs; inputs now: {', '.join(inputs)})",
            exc.token,
            exc.position,
        ) from None


def identify(
    gate: str | RouterFamily | None = None,
    expert: str | ExpertFamily | None = None,
    *,
    dim: int = 2,
    order: int = 2,
    seed: int = 0,
    seconds: float | None = 120.0,
    model: Model | None = None,
    gate_label: str | None = None,
    expert_label: str | None = None,
) -> Verdict:
    """Identify a pair given by built-in names (or a prepared ``model`` from ``formula_model``).

    Reference: identifiability.md §2 (definitions), §3 (relations P1–P7′).
    """
    check_int(dim, "dim", 1, MAX_DIM)
    check_int(order, "order", 1, MAX_ORDER)
    check_int(seed, "seed", 0, MAX_SEED)
    if seconds is not None:
        seconds = check_seconds(seconds, "seconds", zero_ok=True)
    if model is None:
        if gate is None or expert is None:
            raise FormulaError("give a gate and an expert (names or formulas)")
        model = pair_model(gate, expert, dim)
        gate_label = gate if isinstance(gate, str) else gate.name
        expert_label = expert if isinstance(expert, str) else expert.name
    return identify_model(
        model, gate_label or "formula", expert_label or "formula", order, seed, seconds
    )
