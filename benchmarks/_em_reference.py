"""Per-fit numpy references for the simulate fits, written from the documented algorithms and
independent of the library's fitting code (used by ``tests/test_simulate_fit.py`` and
``benchmarks/simulate_fits.py``).

- :func:`em_softmax_linear`: EM for the Gaussian MoE with a softmax gate of linear score
  β₁ᵀx + β₀ and linear Gaussian experts aᵀx + b with variance ν, per atom
  θ_i = (β₁ (d), β₀, a (d), b, ν) — the layout of ``softmax`` × ``gaussian-linear`` — with the
  last atom's gate parameters fixed (the softmax gauge). One iteration, as documented in
  :mod:`moetheory.experiments.simulate.fit_em`: the E-step; ONE Newton step on
  Q_g = Σ_j Σ_i τ_ij log w_ij over the free gate parameters with the exact Hessian of the
  multinomial logit, halved until Q_g does not decrease (at most 30 tries, else no step); the
  exact weighted least-squares solution per expert; ν_i the τ-weighted mean squared residual
  (at least ``variance_floor`` times the sample variance of y). It stops, converged, when
  |ℓ_t − ℓ_{t−1}| ≤ tol·|ℓ_{t−1}|, or degenerate when a variance is at the floor.
- :func:`regression_softmax` / :func:`residual_jacobian`: f(x) and ∂f/∂θ for a softmax gate
  (d = 1, θ_i = (β₁, β₀, expert parameters)) and the ``linear`` (a1, b: a1·x + b) or
  ``scaled-tanh`` (c, a1: c·tanh(a1·x)) expert, for the scipy least-squares baselines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HALVINGS = 30


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = a.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))).squeeze(axis)


@dataclass
class EMFit:
    theta: np.ndarray
    loglik: float
    iterations: int
    status: str  # "loglik" (converged), "max_iter" or "degenerate"


def _estep(
    X: np.ndarray, y: np.ndarray, G: np.ndarray, E: np.ndarray, nu: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """(ℓ, τ (n, k), log w (n, k))."""
    s = X @ G.T
    log_w = s - _logsumexp(s, 1)[:, None]
    r = y[:, None] - X @ E.T
    joint = log_w - r**2 / (2 * nu) - 0.5 * np.log(2 * np.pi * nu)
    per_obs = _logsumexp(joint, 1)
    return float(per_obs.sum()), np.exp(joint - per_obs[:, None]), log_w


def _q_gate(X: np.ndarray, G: np.ndarray, tau: np.ndarray) -> float:
    s = X @ G.T
    log_w = s - _logsumexp(s, 1)[:, None]
    return float(np.where(tau > 0, tau * log_w, 0.0).sum())


def _ridge(A: np.ndarray, ridge: float, floor: float = 0.0) -> np.ndarray:
    """A + ridge·max(max diag A, floor)·I (ridge 0: A itself)."""
    if ridge == 0:
        return A
    return A + ridge * max(float(np.diag(A).max()), floor) * np.eye(A.shape[0])


def _gate_newton(
    X: np.ndarray, tau: np.ndarray, log_w: np.ndarray, G: np.ndarray, ridge: float
) -> np.ndarray:
    """One Newton step on Q_g over atoms 0..k−2 (atom k−1 is the gauge), halved until Q_g does
    not decrease."""
    k, q = G.shape
    f = k - 1
    w = np.exp(log_w)
    grad = ((tau - w)[:, :f].T @ X).ravel()
    H = np.empty((f * q, f * q))
    for i in range(f):
        for j in range(f):
            c = w[:, i] * ((i == j) - w[:, j])  # −∂²Q_g/∂s_i∂s_j = w_i(δ_ij − w_j)
            H[i * q : (i + 1) * q, j * q : (j + 1) * q] = X.T @ (c[:, None] * X)
    # the library's matrix has 1 on the fixed coordinates' diagonal: its ridge is at least 1e-10
    step = np.linalg.solve(_ridge(H, ridge, 1.0), grad).reshape(f, q)
    q0, t = float(np.where(tau > 0, tau * log_w, 0.0).sum()), 1.0
    for _ in range(HALVINGS):
        cand = G.copy()
        cand[:f] += t * step
        if _q_gate(X, cand, tau) >= q0:
            return cand
        t /= 2
    return G


def em_softmax_linear(
    x: np.ndarray,
    y: np.ndarray,
    theta0: np.ndarray,
    *,
    max_iter: int = 2000,
    tol: float = 1e-6,
    variance_floor: float = 1e-8,
    ridge: float = 0.0,
    trace: list[float] | None = None,
) -> EMFit:
    """EM for one fit: x (n, d), y (n,), θ₀ (k, 2d + 3). ``trace``, if given, receives ℓ at
    every E-step (ℓ at θ₀ first).

    ``ridge`` (default 0: the exact Newton step and the exact weighted least squares, as
    documented) adds ridge·(largest diagonal entry) to the gate's negative Hessian and to each
    expert's weighted normal matrix before solving — fit_em's ``_solve`` uses 1e-10, an
    implementation detail its module docstring does not state; pass 1e-10 to reproduce it."""
    n, d = x.shape
    X = np.hstack([x, np.ones((n, 1))])
    G, E = theta0[:, : d + 1].copy(), theta0[:, d + 1 : 2 * d + 2].copy()
    nu = theta0[:, -1].copy()
    floor = max(variance_floor * float(np.mean((y - y.mean()) ** 2)), np.finfo(float).tiny)
    previous, iterations, status, ll = np.nan, 0, "max_iter", -np.inf
    for t in range(max_iter + 1):
        ll, tau, log_w = _estep(X, y, G, E, nu)
        if trace is not None:
            trace.append(ll)
        if np.isfinite(previous) and abs(ll - previous) <= tol * abs(previous):
            status = "loglik"
            break
        if (nu <= floor * (1 + 1e-12)).any():
            status = "degenerate"
            break
        previous = ll
        if t == max_iter:
            break
        iterations += 1
        G = _gate_newton(X, tau, log_w, G, ridge)
        mass = tau.sum(axis=0)
        for i in range(G.shape[0]):  # the WLS solution, as a correction to the current η_i
            A = X.T @ (tau[:, i, None] * X)
            E[i] = E[i] + np.linalg.solve(_ridge(A, ridge), X.T @ (tau[:, i] * (y - X @ E[i])))
        sse = (tau * (y[:, None] - X @ E.T) ** 2).sum(axis=0)
        nu = np.maximum(sse / mass, floor)
    return EMFit(np.hstack([G, E, nu[:, None]]), ll, iterations, status)


# ---------------------------------------------------------------------------------------------
# Least-squares regression functions (d = 1)
# ---------------------------------------------------------------------------------------------


def _parts(theta: np.ndarray, x: np.ndarray, expert: str):
    t = theta.reshape(-1, 4)
    s = t[:, 0:1] * x[None, :] + t[:, 1:2]
    w = np.exp(s - s.max(axis=0))
    w /= w.sum(axis=0)
    if expert == "linear":
        h = t[:, 2:3] * x[None, :] + t[:, 3:4]
        dh = [np.broadcast_to(x[None, :], h.shape), np.ones_like(h)]  # ∂h/∂a1, ∂h/∂b
    elif expert == "scaled-tanh":
        th = np.tanh(t[:, 3:4] * x[None, :])
        h = t[:, 2:3] * th
        dh = [th, t[:, 2:3] * x[None, :] * (1 - th**2)]  # ∂h/∂c, ∂h/∂a1
    else:
        raise ValueError(expert)
    return w, h, dh


def regression_softmax(theta: np.ndarray, x: np.ndarray, expert: str) -> np.ndarray:
    """f(x) = Σ_i w_i(x) h_i(x), θ (k·4,) or (k, 4), x (n,)."""
    w, h, _ = _parts(theta, x, expert)
    return (w * h).sum(axis=0)


def residual_jacobian(theta: np.ndarray, x: np.ndarray, expert: str) -> np.ndarray:
    """∂f/∂θ, shape (n, k·4): ∂f/∂s_i = w_i (h_i − f), s_i = β₁ᵢx + β₀ᵢ; ∂f/∂η_i = w_i ∂h_i."""
    w, h, dh = _parts(theta, x, expert)
    f = (w * h).sum(axis=0)
    ds = w * (h - f[None, :])
    cols = np.stack([ds * x[None, :], ds, w * dh[0], w * dh[1]], axis=1)  # (k, 4, n)
    return cols.reshape(-1, x.shape[0]).T
