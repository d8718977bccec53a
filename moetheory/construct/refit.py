"""Minimax refit of a construction's output layers: how far the construction is from the best
mixture of the same shape that keeps its router and hidden layers.

Fit points x_1, …, x_n are routed to experts k(i); F_i = φ_{k(i)}(x_i) ∈ ℝ^H is the last hidden
layer of expert k(i) at x_i (the inputs themselves for constant experts). The output layers
(w_k, c_k) of the experts that receive a fit point are the variables of the linear program

    minimise t  subject to  −t ≤ F_i·w_{k(i)} + c_{k(i)} − f(x_i) ≤ t   (i = 1, …, n),

i.e. min_{w, c} max_i |F_i·w_{k(i)} + c_{k(i)} − f(x_i)|, a discrete Chebyshev (L∞) fit. Its
constraint matrix is sparse: row i holds (F_i, 1) in the block of expert k(i). The construction
is a feasible point, so the optimum is at most the construction's error on the fit points (up to
solver tolerance).

* Constant experts are affine networks whose output weights are zero; the refit frees those
  weights as well: the best affine expert per cell (same architecture, same parameter count).
* Experts that receive no fit point keep their construction values.
* Fit points: :func:`~moetheory.construct.verify.grid` (the cube's corners included) plus
  ``points // 4`` uniform points of ``np.random.default_rng(seed)``; hold-out points: further
  uniform points of the same generator, never used in the fit.
* Errors are maxima over finitely many points: a search, not a sup. A refit that is better on
  the fit points can be worse between them (the hold-out error shows it), badly so with few
  fit points per expert compared with its H + 1 output parameters.

Example::

    >>> from moetheory.construct.approximate import approximate
    >>> c = approximate("abs-power", alpha=1, holder=1, dim=1, eps="0.1", expert="constant")
    >>> r = refit_output_layer(c, points=200)
    >>> r.status, r.refit_fit <= r.construction_fit, r.experts_refitted == c.num_experts
    ('optimal', True, True)

Reference: this package; the linear program of discrete Chebyshev approximation is classical
(E. W. Cheney, Introduction to Approximation Theory, 1966, ch. 2).
"""

from __future__ import annotations

import numbers
import time
import warnings
from dataclasses import dataclass, field, fields, replace

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from moetheory.bounds.architecture import check_count
from moetheory.construct.approximate import Construction
from moetheory.construct.mixture import ExpertMixture
from moetheory.construct.verify import grid
from moetheory.errors import SizeError

#: LP solvers reached through cvxpy, in order of preference (both take ``time_limit``, seconds),
#: with their options: HiGHS's interior-point method without crossover (several times faster
#: than its simplex on these LPs, and its interior optimum was less over-fitted than a vertex).
# CLARABEL first: faster here, and silent (HiGHS prints a banner on the C-level stdout the
# first time it runs in a process, which would corrupt JSON printed by the CLI)
SOLVERS = {"CLARABEL": {}, "HIGHS": {"highs_options": {"solver": "ipm", "run_crossover": "off"}}}
#: Free output-layer parameters allowed by default.
MAX_VARIABLES = 200_000
MAX_FIT_POINTS = 10**6  # fit (and held-out) points of one refit: LP rows
#: cvxpy statuses whose solution is used as the refit.
SOLVED = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)


@dataclass(frozen=True, eq=False)
class RefitReport:
    """Errors of a construction and of its minimax-refitted output layers (module docstring).

    ``refit_fit`` is the refitted mixture's max error on the fit points, recomputed from
    ``mixture``; ``lp_optimum`` is the solver's t (they agree to solver tolerance). Both, with
    ``refit_holdout`` and ``mixture``, are None when the solver did not return a solution
    (``status`` says why). ``variables``: free output-layer parameters (experts_refitted·(H+1);
    the LP has one more, t); ``constraints``: linear inequalities (two per fit point);
    ``seconds``: the whole call."""

    construction_fit: float
    refit_fit: float | None
    lp_optimum: float | None
    construction_holdout: float
    refit_holdout: float | None
    experts_refitted: int
    num_experts: int
    variables: int
    constraints: int
    fit_points: int
    holdout_points: int
    solver: str
    status: str
    seconds: float
    seed: int
    mixture: ExpertMixture | None = field(default=None, repr=False)

    def statement(self) -> str:
        head = (
            f"minimax refit of the output layers (cvxpy/{self.solver}, "
            f"{self.experts_refitted:,} of {self.num_experts:,} experts, "
            f"{self.variables:,} variables, {self.fit_points:,} fit points)"
        )
        tail = (
            f"on {self.holdout_points:,} held-out points "
            "(a search on finitely many points, not a sup)"
        )
        if self.refit_fit is None:
            return (
                f"{head}: solver status {self.status}, no refit; construction max error "
                f"{self.construction_fit:.4g} on the fit points, "
                f"{self.construction_holdout:.4g} {tail}"
            )
        return (
            f"{head}: max error {self.construction_fit:.4g} → {self.refit_fit:.4g} on the "
            f"fit points, {self.construction_holdout:.4g} → {self.refit_holdout:.4g} {tail}"
        )

    def to_json(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "mixture"}
        return {**data, "statement": self.statement()}


def refit_output_layer(
    construction: Construction,
    points: int = 20000,
    seed: int = 0,
    holdout: int | None = None,
    max_variables: int = MAX_VARIABLES,
    solver: str | None = None,
    time_limit: float = 60.0,
) -> RefitReport:
    """Refit the output layers of ``construction`` by the minimax linear program of the module
    docstring on about ``points`` + ``points // 4`` fit points, and compare both mixtures on
    ``holdout`` (default ``points``) held-out points.

    ``solver``: one of :data:`SOLVERS` (default: the first installed), stopped after
    ``time_limit`` seconds. Solver trouble (error, time limit, infeasible) is reported in
    ``status``, never raised; bad arguments, or more than ``max_variables`` free parameters,
    raise :class:`SizeError`."""
    clock = time.perf_counter()
    if not isinstance(construction, Construction):
        raise SizeError(f"refit needs a Construction, got {type(construction).__name__}")
    points = check_count("points", points)
    holdout = points if holdout is None else check_count("holdout", holdout)
    if max(points, holdout) > MAX_FIT_POINTS:
        raise SizeError(
            f"refit points must be at most {MAX_FIT_POINTS:,}, got {max(points, holdout):,}"
        )
    seed = check_count("seed", seed, 0)
    max_variables = check_count("max_variables", max_variables)
    solver = _pick_solver(solver)
    if not isinstance(time_limit, numbers.Real) or not time_limit > 0:
        raise SizeError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    mixture, target = construction.mixture, construction.target
    rng = np.random.default_rng(seed)
    x = np.vstack([grid(mixture.dim, points), rng.random((points // 4, mixture.dim))])
    x_out = rng.random((holdout, mixture.dim))
    idx, idx_out = mixture.route(x), mixture.route(x_out)
    used, block = np.unique(idx, return_inverse=True)
    width = mixture.weights[-1].shape[2]
    variables = len(used) * (width + 1)
    if variables > max_variables:
        raise SizeError(
            f"the refit has {variables:,} free output-layer parameters "
            f"({len(used):,} experts × {width + 1}); the limit is "
            f"max_variables = {max_variables:,} (raise it or refit a smaller "
            "construction)"
        )
    y, y_out = target(x), target(x_out)
    design = design_matrix(mixture.features(x, idx), block, variables)
    z, optimum, status = _solve(design, y, solver, float(time_limit))
    refit = None if z is None else _replace_output(mixture, used, z.reshape(len(used), -1))

    def error(m: ExpertMixture, points: np.ndarray, index: np.ndarray, values: np.ndarray) -> float:
        return float(np.max(np.abs(m.evaluate(points, index) - values)))

    return RefitReport(
        construction_fit=error(mixture, x, idx, y),
        refit_fit=None if refit is None else error(refit, x, idx, y),
        lp_optimum=optimum,
        construction_holdout=error(mixture, x_out, idx_out, y_out),
        refit_holdout=None if refit is None else error(refit, x_out, idx_out, y_out),
        experts_refitted=len(used),
        num_experts=mixture.num_experts,
        variables=variables,
        constraints=2 * len(x),
        fit_points=len(x),
        holdout_points=holdout,
        solver=solver,
        status=status,
        seconds=time.perf_counter() - clock,
        seed=seed,
        mixture=refit,
    )


def design_matrix(features: np.ndarray, block: np.ndarray, columns: int) -> sp.csr_matrix:
    """The LP's sparse matrix: row i is (F_i, 1) in columns block[i]·(H+1) … block[i]·(H+1) + H
    of ``columns`` (stored zeros of F removed).

    Example::

        >>> design_matrix(np.array([[2.0], [3.0]]), np.array([1, 0]), 4).toarray().tolist()
        [[0.0, 0.0, 2.0, 1.0], [3.0, 1.0, 0.0, 0.0]]
    """
    n, h = features.shape
    data = np.column_stack([features, np.ones(n)]).ravel()
    indices = (block[:, None] * (h + 1) + np.arange(h + 1)).ravel()
    matrix = sp.csr_matrix((data, indices, np.arange(n + 1) * (h + 1)), shape=(n, columns))
    matrix.eliminate_zeros()
    return matrix


def _pick_solver(solver: str | None) -> str:
    installed = [s for s in SOLVERS if s in cp.installed_solvers()]
    if solver is None and installed:
        return installed[0]
    if solver not in installed:
        raise SizeError(
            f"solver must be one of the installed {', '.join(installed) or 'none'} "
            f"(of {', '.join(SOLVERS)}), got {solver!r}"
        )
    return solver


def _solve(
    design: sp.csr_matrix, y: np.ndarray, solver: str, time_limit: float
) -> tuple[np.ndarray | None, float | None, str]:
    """(z, t, status) of min t s.t. |design·z − y| ≤ t; z and t None without a solution."""
    z, t = cp.Variable(design.shape[1]), cp.Variable()
    residual = design @ z - y
    problem = cp.Problem(cp.Minimize(t), [residual <= t, -residual <= t])
    try:
        with warnings.catch_warnings():  # inaccuracy is reported in the status
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=solver, time_limit=time_limit, **SOLVERS[solver])
    except cp.error.SolverError:
        return None, None, "solver_error"
    if problem.status not in SOLVED or z.value is None or t.value is None:
        return None, None, str(problem.status)
    return np.asarray(z.value, dtype=float), float(t.value), str(problem.status)


def _replace_output(
    mixture: ExpertMixture, used: np.ndarray, coefficients: np.ndarray
) -> ExpertMixture:
    """``mixture`` with the output layers of experts ``used`` set to rows (w_k, c_k) of
    ``coefficients`` (new arrays; the stacked ones may be read-only views)."""
    weights, biases = np.array(mixture.weights[-1]), np.array(mixture.biases[-1])
    weights[used, 0, :] = coefficients[:, :-1]
    biases[used, 0] = coefficients[:, -1]
    return replace(
        mixture, weights=(*mixture.weights[:-1], weights), biases=(*mixture.biases[:-1], biases)
    )
