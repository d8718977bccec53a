"""The family contract: the checks a router or expert family must pass, built-in or your own.

In the style of scikit-learn's ``check_estimator``: ``family_checks(family)`` yields the checks
bound to one family (each a ``FamilyCheck`` with a name, run by calling it);
``check_family(family)`` runs them all and raises an ``AssertionError`` naming the first failing
check; ``parametrize_with_checks(families)`` is a pytest decorator giving one test per family
and check. A family passes when

* it builds at d = 1, 2, 3 (from its ``min_dim``; a smaller d is a ``FamilyError``);
* its symbols are real, with distinct names the package's parser accepts, and its formula's free
  symbols are exactly its inputs, parameters, masses (and Gaussian response);
* a router's declared masses are exactly its parameters entering as exp(mass): ∂ log g/∂m free
  of the inputs (identifiability.md §3, mass parameter); an expert declares none;
* declared output scales satisfy u = c ∂u/∂c, a variance is positive;
* a router's normalisation and score class are ones the catalogue knows, and "linear" holds
  exactly when the score is computed to be β₁ᵀx + β₀; a Gaussian expert is N(y | mean, ν)
  with its declared mean and variance;
* its formula is finite at random points, its float values agree with ball arithmetic and its
  first derivatives with central differences;
* its formula goes through the safe parser and comes back equal (how ``verify`` and formula
  pairs re-read it);
* the engine identifies it beside the ``linear`` expert (a router) or the ``softmax`` router
  (an expert) at its smallest dimension with a complete certificate.

Example
-------
>>> from moetheory.families import get_router
>>> [c.name for c in family_checks(get_router("softmax"))][:3]
['check_builds', 'check_symbols', 'check_masses']
>>> check_family(get_router("softmax"))

Reference: identifiability.md §1 (models), §3 (mass parameter, output scales, heat equation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from moetheory.errors import FamilyError, FormulaError
from moetheory.families.base import (
    NORMALISATIONS,
    SCORES,
    Built,
    ExpertFamily,
    RouterFamily,
    gaussian_density,
)
from moetheory.identify.api import detect_masses, family_as_formula, identify
from moetheory.identify.model import evaluate
from moetheory.rates.facts import score_is_linear
from moetheory.symbolic.balls import BallEvaluator
from moetheory.symbolic.parser import Scope, check_name, parse_formula

Family = RouterFamily | ExpertFamily
"""What the contract checks: a router or an expert family."""

DIMS = (1, 2, 3)
"""Input dimensions every family is built at (those at least its ``min_dim``)."""

ENGINE_SECONDS = 10.0
"""The engine's time limit in ``check_engine``; a built-in takes well under a second."""


@dataclass(frozen=True)
class FamilyCheck:
    """One contract check bound to one family: ``check()`` runs it (raising AssertionError
    when the family fails it); ``name`` is the check's name."""

    name: str
    family: Family
    run: Callable[[Family], None]

    def __call__(self) -> None:
        self.run(self.family)

    def __repr__(self) -> str:
        return f"{self.name}({self.family.name})"


def _builds(family: Family) -> Iterator[tuple[int, Built]]:
    for d in DIMS:
        if d >= family.min_dim:
            yield d, family.build(d)


def _symbols(b: Built) -> tuple[sp.Symbol, ...]:
    """Inputs (and Gaussian response), parameters and masses, in that order."""
    return (*b.inputs, *((b.output,) if b.output is not None else ()), *b.params, *b.masses)


def _points(b: Built, seed: int, n: int = 3) -> list[dict[sp.Symbol, sp.Rational]]:
    """``n`` random exact points: every symbol in ±[1/4, 5/4] (positive ones positive)."""
    rng = np.random.default_rng(seed)
    positive = set(b.positive)
    points = []
    for _ in range(n):
        values = {}
        for s in sorted(b.expr.free_symbols, key=str):
            k = int(rng.integers(16, 80))
            values[s] = sp.Rational(k if s in positive or rng.random() < 0.5 else -k, 64)
        points.append(values)
    return points


def _floats(
    expr: sp.Expr, symbols: tuple[sp.Symbol, ...], points: list[dict[sp.Symbol, sp.Rational]]
) -> np.ndarray:
    rows = np.array([[float(p.get(s, 0)) for s in symbols] for p in points])
    return evaluate(expr, symbols, rows)


def check_builds(family: Family) -> None:
    """Builds at every d in ``DIMS`` from ``min_dim`` (d inputs x1..xd), refuses smaller d."""
    for d, b in _builds(family):
        assert isinstance(b, Built), f"build({d}) returned {type(b).__name__}, not Built"
        assert isinstance(b.expr, sp.Expr), f"build({d}).expr is not a sympy expression"
        assert len(b.inputs) == d, f"build({d}) has {len(b.inputs)} inputs"
    for d in range(1, family.min_dim):
        try:
            family.build(d)
        except FamilyError:
            continue
        raise AssertionError(
            f"build({d}) below min_dim = {family.min_dim} did not raise FamilyError"
        )


def check_symbols(family: Family) -> None:
    """Real symbols with distinct names the parser accepts; the formula's free symbols are
    exactly the declared inputs, parameters and masses (and the Gaussian response)."""
    for d, b in _builds(family):
        declared = _symbols(b)
        for s in declared:
            assert isinstance(s, sp.Symbol) and s.is_real, (
                f"d = {d}: {s!r} is not a real "
                "symbol (make it with moetheory.symbolic.parser.make_symbol)"
            )
            try:
                check_name(s.name)
            except FormulaError as exc:
                raise AssertionError(f"d = {d}: symbol name {s.name!r}: {exc}") from None
        names = [s.name for s in declared]
        repeated = sorted({n for n in names if names.count(n) > 1})
        assert not repeated, (
            f"d = {d}: {repeated[0]!r} declared twice (inputs, parameters, "
            "masses and response must differ)"
        )
        assert b.expr.free_symbols == set(declared), (
            f"d = {d}: formula symbols {sorted(map(str, b.expr.free_symbols))} != declared "
            f"{sorted(names)}"
        )


def check_masses(family: Family) -> None:
    """A router's masses are exactly its parameters with ∂ log g/∂m free of the inputs (they
    enter as exp(m)); an expert declares none."""
    for d, b in _builds(family):
        if isinstance(family, ExpertFamily):
            assert not b.masses, (
                f"d = {d}: an expert declares masses {b.masses} (masses are gate parameters)"
            )
            continue
        detected = detect_masses(b.expr, b.inputs, b.masses)
        assert detected == b.masses, (
            f"d = {d}: declared masses {b.masses}, but only "
            f"{detected} have ∂ log g/∂m free of the inputs"
        )
        undeclared = detect_masses(b.expr, b.inputs, b.params)
        assert not undeclared, (
            f"d = {d}: parameters {undeclared} enter as masses (∂ log g/∂p "
            "free of the inputs): declare them in masses"
        )


def check_scales_and_variance(family: Family) -> None:
    """Declared output scales c satisfy u = c ∂u/∂c; positive symbols are parameters; a
    variance is a positive parameter."""
    for d, b in _builds(family):
        for c in b.scales:
            assert c in b.params, f"d = {d}: scale {c} is not a parameter"
            assert sp.simplify(c * sp.diff(b.expr, c) - b.expr) == 0, (
                f"d = {d}: u ≠ {c}·∂u/∂{c}, so {c} is not an output scale"
            )
        stray = set(b.positive) - set(b.params) - set(b.masses)
        assert not stray, f"d = {d}: positive symbols {sorted(map(str, stray))} are not parameters"
        if b.variance is not None:
            assert b.variance in b.params and b.variance in b.positive, (
                f"d = {d}: variance {b.variance} must be a positive parameter"
            )


def check_declared_class(family: Family) -> None:
    """A router's normalisation and score class are known and "linear" is truthful; an expert
    is a regression mean, or a Gaussian N(y | mean, ν) with its mean and variance declared."""
    if isinstance(family, RouterFamily):
        assert family.normalisation in NORMALISATIONS, (
            f"normalisation {family.normalisation!r} not in {NORMALISATIONS}"
        )
        assert family.score in SCORES, f"score class {family.score!r} not in {SCORES}"
        for d, b in _builds(family):
            linear = score_is_linear(b.expr, b.inputs, b.params, b.masses)
            assert linear == (family.score == "linear"), (
                f"d = {d}: declared score class {family.score!r}, but the score is "
                f"{'' if linear else 'not '}β₁ᵀx + β₀"
            )
        return
    assert isinstance(family, ExpertFamily), (
        f"{type(family).__name__} is neither a RouterFamily nor an ExpertFamily"
    )
    assert family.kind in ("regression", "gaussian"), f"expert kind {family.kind!r}"
    for d, b in _builds(family):
        gaussian = (b.output, b.variance, b.mean)
        if family.kind == "regression":
            assert gaussian == (None, None, None), (
                f"d = {d}: a regression expert declares a response, variance or mean"
            )
            continue
        assert None not in gaussian, (
            f"d = {d}: a Gaussian expert declares its response, variance and mean"
        )
        density = gaussian_density(b.output, b.mean, b.variance)
        points = _points(b, d)
        symbols = _symbols(b)
        assert np.allclose(
            _floats(b.expr, symbols, points), _floats(density, symbols, points), rtol=1e-9, atol=0
        ), f"d = {d}: expr is not N(y | mean, variance)"


def check_values(family: Family) -> None:
    """At random points the formula is finite, its float value agrees with ball arithmetic
    and its first derivatives (three parameters) with central differences."""
    for d, b in _builds(family):
        symbols = tuple(sorted(b.expr.free_symbols, key=str))
        for point in _points(b, d):
            row = np.array([[float(point[s]) for s in symbols]])
            value = evaluate(b.expr, symbols, row)[0]
            assert np.isfinite(value), f"d = {d}: formula is {value} at {point}"
            exact = float(BallEvaluator(point, prec=128)(b.expr).mid())
            assert abs(value - exact) < 1e-9 * (1 + abs(exact)), (
                f"d = {d}: float {value} ≠ ball arithmetic {exact} at {point}"
            )
            for p in b.params[:3]:
                h, j = 1e-6, symbols.index(p)
                plus, minus = row.copy(), row.copy()
                plus[0, j] += h
                minus[0, j] -= h
                difference = (evaluate(b.expr, symbols, plus) - evaluate(b.expr, symbols, minus))[
                    0
                ] / (2 * h)
                derivative = evaluate(sp.diff(b.expr, p), symbols, row)[0]
                assert abs(difference - derivative) < 1e-5 * (1 + abs(derivative)), (
                    f"d = {d}: ∂/∂{p} is {derivative}, central difference {difference}"
                )


def check_parser_round_trip(family: Family) -> None:
    """The formula written out (``family_as_formula``: sympy syntax) is read back by the safe
    parser, over the declared names only, to the same function (compared at random points)."""
    for d, b in _builds(family):
        written = family_as_formula(family, d)
        scope = Scope.declare(scalars=[*written["inputs"], *written["params"]])
        try:
            back = parse_formula(written["formula"], scope)
        except FormulaError as exc:
            raise AssertionError(
                f"d = {d}: the parser refuses {written['formula']!r}: {exc}"
            ) from None
        original = b.mean if b.mean is not None else b.expr
        points, symbols = _points(b, d), _symbols(b)
        assert np.allclose(
            _floats(back, symbols, points),
            _floats(original, symbols, points),
            rtol=1e-9,
            atol=1e-12,
        ), f"d = {d}: {written['formula']!r} reads back as {back}, not {original}"


def check_engine(family: Family) -> None:
    """The engine identifies the family beside the ``linear`` expert (a router) or the
    ``softmax`` router (an expert) at its smallest dimension, with a complete certificate."""
    d = max(family.min_dim, DIMS[0])
    if isinstance(family, RouterFamily):
        v = identify(family, "linear", dim=d, seconds=ENGINE_SECONDS)
    else:
        v = identify("softmax", family, dim=d, seconds=ENGINE_SECONDS)
    assert set(v.verdicts.values()) <= {"yes", "no", "unknown"}, v.verdicts
    assert v.certificate.get("complete") is True, (
        f"{v.gate} × {v.expert}, d = {d}: certificate {v.certificate.get('status')!r}; "
        f"{'; '.join(f'{k}: {r}' for k, r in v.reasons.items())}"
    )


CHECKS: tuple[Callable[[Family], None], ...] = (
    check_builds,
    check_symbols,
    check_masses,
    check_scales_and_variance,
    check_declared_class,
    check_values,
    check_parser_round_trip,
    check_engine,
)
"""The contract, in the order ``check_family`` runs it (the engine last: the slowest)."""


def family_checks(family: Family) -> Iterator[FamilyCheck]:
    """The contract's checks bound to ``family``, in order; call each to run it."""
    for check in CHECKS:
        yield FamilyCheck(check.__name__, family, check)


def check_family(family: Family) -> None:
    """Run every check; an ``AssertionError`` names the first failing check and the family.

    Exceptions other than assertions (a build that raises, say) are reported the same way.
    """
    for check in family_checks(family):
        try:
            check()
        except Exception as exc:
            raise AssertionError(
                f"{family.name} fails {check.name}: {type(exc).__name__}: {exc}"
            ) from exc


def parametrize_with_checks(families: Iterable[Family]) -> Any:
    """A pytest decorator giving one test per (family, check); the test receives the check as
    ``check`` and calls it. Test ids read ``family-name-check_name``.

    >>> from moetheory.families import get_expert
    >>> decorator = parametrize_with_checks([get_expert("linear")])
    >>> @decorator
    ... def test_contract(check):
    ...     check()
    """
    import pytest  # a test-time dependency, imported where it is needed

    checks = [c for f in families for c in family_checks(f)]
    return pytest.mark.parametrize(
        "check", checks, ids=[f"{c.family.name}-{c.name}" for c in checks]
    )
