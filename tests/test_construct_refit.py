"""refit_output_layer: the minimax LP over the output layers improves on the construction (a
feasible point), its optimum is the recomputed error, and only the output layers change."""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest

from moetheory.construct import approximate, callable_target
from moetheory.construct.refit import SOLVERS, refit_output_layer
from moetheory.construct.verify import grid
from moetheory.errors import SizeError

POINTS = 1500
DEFAULT = next(iter(SOLVERS))


@cache
def construction(target: str, dim: int, expert: str):
    return approximate(target, 1, None, dim, "0.1", expert=expert)


def fit_points(dim: int, points: int, seed: int = 0) -> np.ndarray:
    """The fit points as the module docstring defines them."""
    rng = np.random.default_rng(seed)
    return np.vstack([grid(dim, points), rng.random((points // 4, dim))])


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("expert", ["pwl", "constant"])
@pytest.mark.parametrize("target", ["smooth", "abs-power"])
def test_refit_improves_and_matches_lp_optimum(target, dim, expert):
    c = construction(target, dim, expert)
    r = refit_output_layer(c, points=POINTS)
    assert r.status == "optimal" and r.solver == DEFAULT
    assert r.refit_fit <= r.construction_fit + 1e-9
    assert r.refit_fit == pytest.approx(r.lp_optimum, abs=1e-6)
    x = fit_points(dim, POINTS)
    assert r.fit_points == len(x) and r.constraints == 2 * r.fit_points
    assert r.experts_refitted == len(np.unique(c.mixture.route(x)))
    assert r.variables == r.experts_refitted * (c.mixture.weights[-1].shape[2] + 1)


@pytest.mark.parametrize("solver", SOLVERS)
def test_each_solver_reaches_the_same_optimum(solver):
    c = construction("abs-power", 2, "pwl")
    r = refit_output_layer(c, points=POINTS, solver=solver)
    reference = refit_output_layer(c, points=POINTS, solver=DEFAULT)
    assert r.solver == solver and r.status == "optimal"
    assert r.lp_optimum == pytest.approx(reference.lp_optimum, abs=1e-6)


def test_only_the_output_layer_changes():
    c = construction("smooth", 2, "pwl")
    m = c.mixture
    before = [w.copy() for w in m.weights]
    refit = refit_output_layer(c, points=POINTS).mixture
    assert refit.architecture == m.architecture and refit.slopes is m.slopes
    assert all(a is b for a, b in zip(refit.router_params, m.router_params, strict=True))
    assert all(a is b for a, b in zip(refit.weights[:-1], m.weights[:-1], strict=True))
    assert all(a is b for a, b in zip(refit.biases[:-1], m.biases[:-1], strict=True))
    assert refit.weights[-1].shape == m.weights[-1].shape
    assert not np.array_equal(refit.weights[-1], m.weights[-1])
    assert not np.array_equal(refit.biases[-1], m.biases[-1])
    assert all(np.array_equal(a, b) for a, b in zip(before, m.weights, strict=True))


def test_experts_without_fit_points_keep_their_values():
    c = construction("smooth", 2, "constant")
    r = refit_output_layer(c, points=1)  # the 4 corners of the square, one per corner cell
    assert r.fit_points == 4 and r.experts_refitted == 4 and r.refit_fit <= 1e-7
    changed = np.flatnonzero(
        np.any(r.mixture.weights[-1] != c.mixture.weights[-1], axis=(1, 2))
        | (r.mixture.biases[-1] != c.mixture.biases[-1])[:, 0]
    )
    assert set(changed.tolist()) <= set(c.mixture.route(grid(2, 1)).tolist())


def test_constant_experts_become_the_best_affine_fit_per_cell():
    # |x − 1/3| is convex: on a cell's points x_1 < … < x_m the minimax affine fit is the
    # secant through the end points shifted down by half its largest gap above f.
    c = construction("abs-power", 1, "constant")
    r = refit_output_layer(c, points=POINTS)
    x = fit_points(1, POINTS)
    f, cells = c.target(x), c.mixture.route(x)
    errors = []
    for k in np.unique(cells):
        xs, fs = x[cells == k, 0], f[cells == k]
        a, b = np.argmin(xs), np.argmax(xs)
        secant = fs[a] + (fs[b] - fs[a]) * (xs - xs[a]) / (xs[b] - xs[a])
        errors.append(np.max(secant - fs) / 2)
    assert r.lp_optimum == pytest.approx(max(errors), abs=1e-9)
    assert r.refit_fit == pytest.approx(max(errors), abs=1e-7)


def test_affine_target_is_refitted_exactly():
    c = approximate(callable_target(lambda x: x[:, 0], 1), 1, 1, 1, "0.1", expert="constant")
    r = refit_output_layer(c, points=500)
    assert r.construction_fit > 0.01
    assert r.refit_fit <= 1e-7 and r.refit_holdout <= 1e-7


def test_holdout_is_reported_and_finite():
    c = construction("abs-power", 2, "constant")
    r = refit_output_layer(c, points=POINTS, holdout=321, seed=3)
    assert r.holdout_points == 321 and r.seed == 3
    assert np.isfinite(r.construction_holdout) and np.isfinite(r.refit_holdout)
    assert refit_output_layer(c, points=POINTS).holdout_points == POINTS
    text = r.statement()
    assert "not a sup" in text and "321 held-out points" in text and "→" in text
    data = r.to_json()
    assert "mixture" not in data and data["statement"] == text
    assert json.loads(json.dumps(data))["refit_holdout"] == r.refit_holdout


def test_solver_trouble_is_reported_not_raised():
    c = construction("abs-power", 2, "pwl")
    r = refit_output_layer(c, points=POINTS, solver="HIGHS", time_limit=1e-6)
    assert r.status not in ("optimal", "optimal_inaccurate")
    assert r.refit_fit is None and r.refit_holdout is None and r.mixture is None
    assert "no refit" in r.statement() and "not a sup" in r.statement()
    assert json.dumps(r.to_json())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"points": 0},
        {"points": 1.5},
        {"holdout": 0},
        {"seed": -1},
        {"max_variables": 0},
        {"solver": "NOPE"},
        {"time_limit": 0},
        {"time_limit": "1"},
    ],
)
def test_bad_arguments_raise_size_error(kwargs):
    with pytest.raises(SizeError):
        refit_output_layer(construction("abs-power", 1, "constant"), **kwargs)


def test_too_many_variables_raise_size_error():
    c = construction("abs-power", 1, "constant")  # 5 experts × (1 weight + 1 bias)
    assert refit_output_layer(c, points=50, max_variables=10).variables == 10
    with pytest.raises(SizeError, match="max_variables"):
        refit_output_layer(c, points=50, max_variables=9)


def test_refit_needs_a_construction():
    with pytest.raises(SizeError, match="Construction"):
        refit_output_layer("smooth")
