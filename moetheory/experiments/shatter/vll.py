"""The Vapnik–Levin–LeCun estimator of an *effective* VC dimension.

For a sample size ℓ per half: draw 2ℓ random inputs and labels (``rng.integers(0, 2)``), flip
the labels of the second half, train on the union, and measure

    ξ(ℓ) = | error rate on the first half − error rate on the second half |

under the *original* labels. Averaged over repetitions, ξ̄(ℓ) is fitted by least squares to
the curve Φ(ℓ/h) in the single unknown h (:func:`fit_h`), where (VLL 1994)

    Φ(τ) = 1                                                      for τ < 1/2,
    Φ(τ) = a·(ln(2τ) + 1)/(τ − k) · (√(1 + b(τ − k)/(ln(2τ) + 1)) + 1)   otherwise,

a = 0.16, b = 1.2, k = 0.14928 (constants of the R package scR and public Python snippets;
Φ(1/2) = 1, so the curve is continuous). The design of ℓ is the multiples
{0.5, 0.8, 1, 1.2, 2, 2.5, 3, 3.5, 5, 6.5, 8, 10, 15, 20, 30}·h₀ of a guess h₀ (:data:`DESIGN`),
20 repetitions each by default.

**What is measured.** ξ is the largest deviation the *training procedure* produces, so h is the
effective VC dimension of the learner as run — equal to the VC dimension of the class only when
the learner is an exact empirical-risk minimiser. The learner is any callable
``train_errors(x, y) -> errors`` that trains on (x, y ∈ {0, 1}) and returns, for every training
point, whether the trained model misclassifies it (:data:`TrainErrors`). Under the original
labels the errors are ``errors[:ℓ]`` on the first half and ``~errors[ℓ:]`` on the second (the
second half was trained on flipped labels). Two halfspace learners are provided:
:func:`halfspace_lp_learner` (an LP minimising the total hinge slack Σ s_i subject to
y_i(wᵀx_i + b) ≥ 1 − s_i: exact ERM when the sample is separable, a convex surrogate otherwise)
and :func:`threshold_erm_learner` (exact ERM for halfspaces on the line, by sorting).

Example::

    >>> round(phi(0.5), 6), phi(0.2), round(phi(10.0), 4)
    (1.0, 1.0, 0.194)
    >>> est = vll_estimate(threshold_erm_learner, dim=1, h0=2, repetitions=4, seed=0,
    ...                    design=(0.5, 1, 2, 4, 8))
    >>> 0.5 < est.h < 8
    True

Reference: experiments.md §2; V. Vapnik, E. Levin, Y. LeCun, "Measuring the VC-dimension of a
learning machine", Neural Computation 6(5), 1994; X. Shao, V. Cherkassky, W. Li, "Measuring the
VC-dimension using optimized experimental design", Neural Computation 12(8), 2000.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

PHI_A = 0.16
PHI_B = 1.2
PHI_K = 0.14928
DESIGN = (0.5, 0.8, 1.0, 1.2, 2.0, 2.5, 3.0, 3.5, 5.0, 6.5, 8.0, 10.0, 15.0, 20.0, 30.0)
"""Multiples of h₀ giving the half-sample sizes ℓ."""
REPETITIONS = 20

TrainErrors = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""train_errors(x (n, d) float, y (n,) int in {0, 1}) -> (n,) bool: misclassified after
training on (x, y)."""
Sampler = Callable[[int, np.random.Generator], np.ndarray]
"""sampler(n, rng) -> (n, d) inputs."""


def phi(tau: float) -> float:
    """Φ(τ) of VLL 1994 (module docstring)."""
    if tau < 0.5:
        return 1.0
    log_term = math.log(2 * tau) + 1
    return PHI_A * log_term / (tau - PHI_K) * (math.sqrt(1 + PHI_B * (tau - PHI_K) / log_term) + 1)


@dataclass(frozen=True)
class VLLEstimate:
    """The fitted effective VC dimension ``h`` with the design ``ells`` (half sizes), the
    averaged deviations ``xi`` (and their standard errors), and the fit's residual sum of
    squares."""

    h: float
    ells: tuple[int, ...]
    xi: tuple[float, ...]
    xi_stderr: tuple[float, ...]
    residual: float
    repetitions: int
    h0: float

    def to_json(self) -> dict:
        return {
            "h": self.h,
            "ells": list(self.ells),
            "xi": list(self.xi),
            "xi_stderr": list(self.xi_stderr),
            "residual": self.residual,
            "repetitions": self.repetitions,
            "h0": self.h0,
            "constants": {"a": PHI_A, "b": PHI_B, "k": PHI_K},
            "measures": "effective VC dimension of the training procedure",
        }


def deviation(
    train_errors: TrainErrors,
    ell: int,
    dim: int,
    rng: np.random.Generator,
    sampler: Sampler | None = None,
) -> float:
    """One draw of ξ(ℓ) (module docstring)."""
    x = sampler(2 * ell, rng) if sampler is not None else rng.standard_normal((2 * ell, dim))
    y = rng.integers(0, 2, size=2 * ell)
    trained = y.copy()
    trained[ell:] = 1 - trained[ell:]
    errors = np.asarray(train_errors(x, trained), dtype=bool)
    first = errors[:ell].mean()
    second = (~errors[ell:]).mean()
    return float(abs(first - second))


def fit_h(
    ells: Sequence[float], xi: Sequence[float], low: float = 1e-2, high: float = 1e4
) -> tuple[float, float]:
    """(h, residual): least squares of ξ̄(ℓ_i) against Φ(ℓ_i/h) over h ∈ [low, high] — a
    log-spaced grid, then a bounded scalar refinement around the best grid point."""
    from scipy.optimize import minimize_scalar

    def sse(h: float) -> float:
        return sum((x - phi(ell / h)) ** 2 for ell, x in zip(ells, xi, strict=True))

    grid = np.geomspace(low, high, 2000)
    values = [sse(float(h)) for h in grid]
    best = int(np.argmin(values))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    res = minimize_scalar(sse, bounds=(float(lo), float(hi)), method="bounded")
    h = float(res.x) if res.fun <= values[best] else float(grid[best])
    return h, sse(h)


def vll_estimate(
    train_errors: TrainErrors,
    dim: int,
    h0: float,
    design: Sequence[float] = DESIGN,
    repetitions: int = REPETITIONS,
    seed: int = 0,
    sampler: Sampler | None = None,
) -> VLLEstimate:
    """The VLL estimate of the learner's effective VC dimension (module docstring)."""
    if h0 <= 0 or repetitions < 1 or not design:
        raise ValueError("h0 > 0, repetitions ≥ 1 and a non-empty design are required")
    rng = np.random.default_rng(seed)
    ells = tuple(max(1, round(c * h0)) for c in design)
    means, errs = [], []
    for ell in ells:
        draws = [deviation(train_errors, ell, dim, rng, sampler) for _ in range(repetitions)]
        means.append(float(np.mean(draws)))
        errs.append(
            float(np.std(draws, ddof=1) / math.sqrt(repetitions))
            if repetitions > 1
            else float("nan")
        )
    h, residual = fit_h(ells, means)
    return VLLEstimate(
        h=h,
        ells=ells,
        xi=tuple(means),
        xi_stderr=tuple(errs),
        residual=residual,
        repetitions=repetitions,
        h0=float(h0),
    )


# ---------------------------------------------------------------------------- learners


def halfspace_lp_learner(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Train sgn(wᵀx + b) by the hinge LP min Σ s_i s.t. y_i(wᵀx_i + b) ≥ 1 − s_i, s ≥ 0
    (HiGHS), and return the training errors (a point on the boundary counts as an error)."""
    from scipy.optimize import linprog

    n, d = x.shape
    s = np.where(np.asarray(y) > 0, 1.0, -1.0)
    a = s[:, None] * np.hstack([x, np.ones((n, 1))])
    # variables (w, b, slack): −(a·(w,b)) − slack ≤ −1
    a_ub = np.hstack([-a, -np.eye(n)])
    c = np.concatenate([np.zeros(d + 1), np.ones(n)])
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=-np.ones(n),
        bounds=[(None, None)] * (d + 1) + [(0, None)] * n,
        method="highs",
    )
    if res.status != 0:
        return np.ones(n, dtype=bool)
    margins = a @ res.x[: d + 1]
    return margins <= 0


def threshold_erm_learner(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact ERM for halfspaces on the line (x of shape (n, 1)): the threshold and orientation
    with the fewest training errors; returns those errors."""
    t = x[:, 0]
    order = np.argsort(t, kind="stable")
    ys = np.asarray(y)[order]
    # predict 1 on the right of cut c (points order[c:]), 0 on the left
    ones_left = np.concatenate([[0], np.cumsum(ys)])
    zeros_right = np.concatenate([[0], np.cumsum((1 - ys)[::-1])])[::-1]
    errors_up = ones_left + zeros_right
    errors_down = len(ys) - errors_up
    cut_up, cut_down = int(np.argmin(errors_up)), int(np.argmin(errors_down))
    upward = errors_up[cut_up] <= errors_down[cut_down]
    cut = cut_up if upward else cut_down
    pred = np.zeros(len(ys), dtype=int)
    pred[cut:] = 1
    if not upward:
        pred = 1 - pred
    out = np.empty(len(ys), dtype=bool)
    out[order] = pred != ys
    return out
