"""Batched EM for the Gaussian MoE: every replicate, sample size and start fitted together.

For fits b = 1..B with data (x_bj, y_bj), j < n_b (padded to a common N and masked), the
objective of fit b is the conditional log-likelihood

    ℓ_b(G) = Σ_{j < n_b} log Σ_i w_i(x_bj; φ_i) N(y_bj | h(x_bj; η_i), ν_i)

of the k-atom mixture G = (φ_i, η_i, ν_i). One iteration (an ECM step: each block raises the
expected complete log-likelihood Q, so ℓ never decreases — Meng & Rubin 1993):

- **E-step**: responsibilities τ_ij = w_i N_i / Σ_l w_l N_l (in log space);
- **gate step** (IRLS): one Newton step on Q_g(φ) = Σ_j Σ_i τ_ij log w_i(x_j; φ), with gradient
  Σ_j Σ_i (τ_ij − w_ij) ∂s_ij/∂φ and the Fisher matrix Σ_j J_jᵀ(diag w_j − w_j w_jᵀ)J_j, J_j the
  scores' Jacobian (block-diagonal across atoms) — the exact negative Hessian for scores linear
  in φ (softmax: Jordan & Jacobs' IRLS), a Gauss–Newton one otherwise; the step is halved until
  Q_g does not decrease (at most 30 times: else no step);
- **expert step**: one Gauss–Newton step on Σ_j τ_ij (y_j − h(x_j; η_i))² per atom (the weighted
  least-squares solution for experts linear in η), halved until the weighted sum of squares
  does not increase;
- **variance step**: ν_i = Σ_j τ_ij (y_j − h_ij)² / Σ_j τ_ij, at least ``variance_floor`` times
  the sample variance of y (the likelihood is unbounded as a component collapses on one point;
  a fit that reaches the floor is marked ``degenerate``, not converged).

Gradients of the scores and means are the families' symbolic ones
(:meth:`~moetheory.experiments.simulate.models.TorchMoE.gate_score_jacobian`); positive
parameters (temperatures) move on the log scale. ``fixed`` parameters (the softmax gauge of
:func:`~moetheory.experiments.simulate.fit_ls.softmax_gauge`) keep their starting values. A fit
stops, converged, when |ℓ_t − ℓ_{t−1}| ≤ tol·|ℓ_{t−1}| (the authors' relative log-likelihood
rule, identifiability.md §7), else after ``max_iter`` iterations. Of the S starts of a fit the
highest final ℓ among those that did not reach the variance floor is kept (a degenerate start's
ℓ is unbounded; when every start is degenerate, the highest ℓ). The Newton and Gauss–Newton
systems are solved with a ridge of 1e-10 times their largest diagonal entry (so a flat
direction takes no step): it changes the iterates by about that relative amount, not the fixed
points. Each problem's arithmetic is its own (nothing is shared across the
batch), so a fit's result does not depend on the fits beside it beyond floating-point
reassociation in batched kernels.

Example
-------
>>> import torch
>>> from moetheory.experiments.simulate.models import TorchMoE
>>> m = TorchMoE.from_families("softmax", "gaussian-linear", 1)
>>> truth = torch.tensor([[4.0, 0.0, 2.0, 1.0, 0.01], [0.0, 0.0, -2.0, 0.0, 0.04]],
...     dtype=torch.float64)
>>> g = torch.Generator().manual_seed(0)
>>> x = torch.rand(1, 500, 1, generator=g, dtype=torch.float64) * 2 - 1
>>> z = (torch.rand(500, generator=g, dtype=torch.float64) < m.gate_weights(x, truth[None])[0, 1])
>>> y = m.expert_means(x, truth[None])[0].gather(0, z.long()[None])[0]
>>> y = y + torch.randn(500, generator=g, dtype=torch.float64) * truth[z.long(), 4].sqrt()
>>> res = fit_em(m, x, y[None], torch.tensor([500]), (truth + 0.1)[None, None],
...              fixed=softmax_gauge(m, 2))
>>> bool(res.converged[0]), float((res.theta[0, :, 2] - truth[:, 2]).abs().max()) < 0.05
(True, True)

Reference: M. I. Jordan, R. A. Jacobs, *Hierarchical mixtures of experts and the EM algorithm*,
Neural Computation 6 (1994) (EM with an IRLS gate step); X.-L. Meng, D. B. Rubin, *Maximum
likelihood estimation via the ECM algorithm*, Biometrika 80 (1993); identifiability.md §7 (the
authors' protocol: tolerance 1e-6 on the relative log-likelihood, ≤ 2000 iterations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from moetheory.experiments.config import ConfigError
from moetheory.experiments.simulate.fit_ls import softmax_gauge
from moetheory.experiments.simulate.models import UNNORMALISED, TorchMoE

__all__ = ["EM_STATUS", "EMResult", "fit_em", "softmax_gauge"]

EM_STATUS = ("max_iter", "loglik", "degenerate")
"""Stop reasons, indexed by ``EMResult.status``: only ``loglik`` is converged."""

_HALVINGS = 30


@dataclass(frozen=True, eq=False)
class EMResult:
    """Batched EM results, B fits with S starts each.

    ``theta`` (B, k, p) the best start's parameters, ``loglik`` (B,) its log-likelihood (a sum
    over the observations), ``converged``, ``status`` (an index into :data:`EM_STATUS`) and
    ``iterations`` (B,), ``best_start`` (B,); ``logliks`` and ``statuses`` (B, S) every
    start's."""

    theta: Tensor
    loglik: Tensor
    converged: Tensor
    status: Tensor
    iterations: Tensor
    best_start: Tensor
    logliks: Tensor
    statuses: Tensor


class _Batch:
    """The data of the active problems (rows of the padded data selected by ``rows``)."""

    def __init__(self, model: TorchMoE, x: Tensor, y: Tensor, mask: Tensor):
        self.model, self.x, self.y, self.mask = model, x, y, mask
        self.m = mask.to(x.dtype)

    def estep(self, theta: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(ℓ (m,), τ (m, k, N), log w, means) at θ (m, k, p); padded rows have τ = 0."""
        model = self.model
        log_w = model.log_weights(self.x, theta)
        means = model.expert_means(self.x, theta)
        nu = model.variances(theta)[..., None]
        log_n = -((self.y[:, None, :] - means) ** 2) / (2 * nu) - 0.5 * torch.log(2 * math.pi * nu)
        joint = log_w + log_n
        per_obs = torch.logsumexp(joint, dim=1)
        tau = torch.exp(joint - per_obs[:, None, :]) * self.m[:, None, :]
        tau = torch.nan_to_num(tau, nan=0.0)
        ll = torch.where(self.mask, per_obs, torch.zeros_like(per_obs)).sum(dim=1)
        ll = torch.where(torch.isnan(ll), torch.full_like(ll, -math.inf), ll)
        return ll, tau, log_w, means


def _q_gate(model: TorchMoE, x: Tensor, theta: Tensor, tau: Tensor) -> Tensor:
    """Q_g = Σ_j Σ_i τ_ij log w_ij at θ."""
    return _weighted_log_weights(tau, model.log_weights(x, theta))


def _weighted_log_weights(tau: Tensor, log_w: Tensor) -> Tensor:
    """Σ_j Σ_i τ_ij log w_ij (terms with τ = 0 dropped, so −inf·0 is no NaN), (m,)."""
    terms = torch.where(tau > 0, tau * log_w, torch.zeros_like(tau))
    q = terms.sum(dim=(1, 2))
    return torch.where(torch.isnan(q), torch.full_like(q, -math.inf), q)


def _solve(A: Tensor, g: Tensor) -> Tensor:
    """h = (A + ridge)⁻¹ g for a batch of symmetric positive semi-definite A; the ridge
    (1e-10 of the largest diagonal entry, at least 1e-300) makes flat directions (an unused
    parameter, a component with no responsibility) take no step instead of an infinite one."""
    P = A.shape[-1]
    diag = A.diagonal(dim1=-2, dim2=-1)
    ridge = (1e-10 * diag.amax(dim=-1, keepdim=True)).clamp_min(1e-300)
    eye = torch.eye(P, dtype=A.dtype, device=A.device)
    L, info = torch.linalg.cholesky_ex(A + ridge[..., None] * eye)
    ok = info == 0
    L = torch.where(ok[..., None, None], L, eye.expand_as(L))
    h = torch.cholesky_solve(g[..., None], L)[..., 0]
    return torch.where(ok[..., None] & torch.isfinite(h), h, torch.zeros_like(h))


def _with_cols(theta: Tensor, lo: int, cols: Tensor, pos: Tensor) -> Tensor:
    """θ with columns lo:lo+q replaced by ``cols`` given in unconstrained coordinates."""
    out = theta.clone()
    out[..., lo : lo + cols.shape[-1]] = torch.where(pos, cols.exp(), cols)
    return out


def _unconstrained(theta: Tensor, lo: int, q: int, pos: Tensor) -> Tensor:
    c = theta[..., lo : lo + q]
    return torch.where(pos, c.clamp_min(torch.finfo(c.dtype).tiny).log(), c)


def _gate_step(batch: _Batch, theta: Tensor, tau: Tensor, log_w: Tensor, free: Tensor) -> Tensor:
    model = batch.model
    pg = len(model.gate_params)
    pos = torch.tensor(model.positive_mask[:pg], device=theta.device)
    s, ds = model.gate_score_jacobian(batch.x, theta)
    if bool(pos.any()):  # ∂/∂u = θ ∂/∂θ on log-scale coordinates
        ds = ds * torch.where(pos, theta[..., :pg], torch.ones_like(theta[..., :pg]))[..., None]
    ds = ds * batch.m[:, None, None, :]
    w = torch.exp(log_w) * batch.m[:, None, :]
    m, k = theta.shape[0], theta.shape[1]
    grad = torch.einsum("mkn,mkqn->mkq", tau - w, ds)
    wd = w[:, :, None, :] * ds
    H = -torch.einsum("mkqn,mlrn->mkqlr", wd, wd)
    block = torch.einsum("mkqn,mkrn->mkqr", wd, ds)
    idx = torch.arange(k, device=theta.device)
    H[:, idx, :, idx, :] += block.transpose(0, 1)
    P = k * pg
    H = H.reshape(m, P, P)
    grad = grad.reshape(m, P)
    freef = free.to(H.dtype)
    H = H * freef[:, None] * freef[None, :] + torch.diag(1 - freef)
    grad = grad * freef
    step = _solve(H, grad).reshape(m, k, pg)
    u0 = _unconstrained(theta, 0, pg, pos)
    q0 = _weighted_log_weights(tau, log_w)
    out, pending, t = theta.clone(), torch.ones(m, dtype=torch.bool, device=theta.device), 1.0
    for _ in range(_HALVINGS):
        cand = _with_cols(theta, 0, u0 + t * step, pos)
        better = pending & (_q_gate(model, batch.x, cand, tau) >= q0)
        out[better] = cand[better]
        pending &= ~better
        if not bool(pending.any()):
            break
        t /= 2
    return out


def _sse(batch: _Batch, theta: Tensor, tau: Tensor) -> Tensor:
    """Σ_j τ_ij (y_j − h_ij)² per atom at θ, (m, k); NaN counts as +inf."""
    return _sse_of(batch, batch.model.expert_means(batch.x, theta), tau)


def _sse_of(batch: _Batch, h: Tensor, tau: Tensor) -> Tensor:
    """Σ_j τ_ij (y_j − h_ij)² per atom for the means h, (m, k)."""
    sse = (tau * (batch.y[:, None, :] - h) ** 2).sum(dim=-1)
    return torch.where(torch.isnan(sse), torch.full_like(sse, math.inf), sse)


def _expert_step(batch: _Batch, theta: Tensor, tau: Tensor, free: Tensor) -> tuple[Tensor, Tensor]:
    """θ after the expert step, and each atom's weighted sum of squares there (m, k)."""
    model = batch.model
    lo, pe = len(model.gate_params), len(model.expert_params)
    pos = torch.tensor(model.positive_mask[lo : lo + pe], device=theta.device)
    h, dh = model.mean_jacobian(batch.x, theta)
    cols = theta[..., lo : lo + pe]
    if bool(pos.any()):
        dh = dh * torch.where(pos, cols, torch.ones_like(cols))[..., None]
    wdh = tau[:, :, None, :] * dh
    A = torch.einsum("mkqn,mkrn->mkqr", wdh, dh)
    g = torch.einsum("mkqn,mkn->mkq", wdh, batch.y[:, None, :] - h)
    freef = free.to(A.dtype)  # (k, pe)
    A = A * freef[..., :, None] * freef[..., None, :] + torch.diag_embed(1 - freef)
    step = _solve(A, g * freef)
    u0 = _unconstrained(theta, lo, pe, pos)
    s0 = _sse_of(batch, h, tau)
    out, sse = theta.clone(), s0.clone()
    pending = torch.ones(theta.shape[:2], dtype=torch.bool, device=theta.device)
    t = 1.0
    for _ in range(_HALVINGS):
        cand = _with_cols(theta, lo, u0 + t * step, pos)
        s_cand = _sse(batch, cand, tau)
        better = pending & (s_cand <= s0)
        out[better], sse[better] = cand[better], s_cand[better]
        pending &= ~better
        if not bool(pending.any()):
            break
        t /= 2
    return out, sse


def _variance_step(batch: _Batch, theta: Tensor, tau: Tensor, sse: Tensor, floor: Tensor) -> Tensor:
    mass = tau.sum(dim=-1)
    nu = torch.maximum(sse / mass.clamp_min(torch.finfo(mass.dtype).tiny), floor[:, None])
    old = batch.model.variances(theta)
    out = theta.clone()
    out[..., -1] = torch.where((mass > 0) & torch.isfinite(nu), nu, old)
    return out


def fit_em(
    model: TorchMoE,
    x: Tensor,
    y: Tensor,
    n: Tensor,
    starts: Tensor,
    *,
    max_iter: int = 2000,
    tol: float = 1e-6,
    fixed: Tensor | None = None,
    variance_floor: float = 1e-8,
) -> EMResult:
    """Fit B Gaussian MoE problems from S starts each by batched EM (module docstring).

    Args:
        model: a normalised (softmax or top-K) router with a Gaussian expert.
        x: inputs (B, N, d); y: responses (B, N); n: real sizes (B,) (rows j ≥ n_b ignored).
        starts: initial parameters (B, S, k, p) — on the device and dtype of the fit.
        max_iter: EM iterations per problem; tol: relative log-likelihood tolerance.
        fixed: optional bool mask (k, p) of parameters held at their starting values.
        variance_floor: the smallest variance, as a fraction of each sample's variance of y.

    Returns:
        :class:`EMResult`.
    """
    if model.variance is None or model.normalisation in UNNORMALISED:
        raise ConfigError(
            f"EM needs a Gaussian expert and a normalised router, not {model.gate_name!r} × "
            f"{model.expert_name!r}"
        )
    B, S, k, p = starts.shape
    dev, dt = starts.device, starts.dtype
    N = x.shape[1]
    mask = torch.arange(N, device=dev)[None, :] < n.to(dev)[:, None]
    x, y = x.to(dev, dt), y.to(dev, dt)
    rep = torch.arange(B, device=dev).repeat_interleave(S)
    nf = n.to(dev, dt)
    mean_y = torch.where(mask, y, torch.zeros_like(y)).sum(1) / nf
    var_y = torch.where(mask, (y - mean_y[:, None]) ** 2, torch.zeros_like(y)).sum(1) / nf
    floor_all = (variance_floor * var_y).clamp_min(torch.finfo(dt).tiny)[rep]
    free = torch.ones(k, p, dtype=torch.bool, device=dev)
    if fixed is not None:
        free = ~fixed.to(dev)
    pg, pe = len(model.gate_params), len(model.expert_params)
    free_gate = free[:, :pg].reshape(-1)
    free_expert = free[:, pg : pg + pe]

    theta = starts.reshape(B * S, k, p).to(dev, dt).clone()
    M = theta.shape[0]
    status = torch.zeros(M, dtype=torch.long, device=dev)
    iterations = torch.zeros(M, dtype=torch.long, device=dev)
    loglik = torch.full((M,), -math.inf, dtype=dt, device=dev)
    previous = torch.full((M,), math.nan, dtype=dt, device=dev)
    for it in range(max_iter + 1):
        idx = (status == 0).nonzero()[:, 0]
        if idx.numel() == 0:
            break
        everyone = idx.numel() == M
        rows = rep if everyone else rep[idx]
        batch = _Batch(model, x[rows], y[rows], mask[rows])
        th = theta if everyone else theta[idx]
        ll, tau, log_w, _ = batch.estep(th)
        loglik[idx] = ll
        prev = previous[idx]
        done = torch.isfinite(prev) & ((ll - prev).abs() <= tol * prev.abs())
        floor = floor_all[idx]
        degenerate = (model.variances(th) <= floor[:, None] * (1 + 1e-12)).any(dim=1)
        status[idx[done]] = 1
        status[idx[degenerate & ~done]] = 2
        previous[idx] = ll
        if it == max_iter:
            break
        go = ~(done | degenerate)
        if not bool(go.any()):
            break
        if not bool(go.all()):
            idx, th, tau, log_w, floor = idx[go], th[go], tau[go], log_w[go], floor[go]
            rows = rep[idx]
            batch = _Batch(model, x[rows], y[rows], mask[rows])
        iterations[idx] += 1
        th = _gate_step(batch, th, tau, log_w, free_gate)
        th, sse = _expert_step(batch, th, tau, free_expert)
        th = _variance_step(batch, th, tau, sse, floor)
        theta[idx] = th
    logliks = loglik.reshape(B, S)
    rank = torch.where(torch.isnan(logliks), torch.full_like(logliks, -math.inf), logliks)
    # a start collapsed on the variance floor has an unbounded likelihood: rank it last
    rank = torch.where(status.reshape(B, S) == 2, torch.full_like(rank, -math.inf), rank)
    best = torch.where(
        torch.isinf(rank).all(dim=1), logliks.nan_to_num(-math.inf).argmax(dim=1), rank.argmax(1)
    )
    pick = torch.arange(B, device=dev) * S + best
    return EMResult(
        theta=theta[pick],
        loglik=logliks.gather(1, best[:, None])[:, 0],
        converged=status[pick] == 1,
        status=status[pick],
        iterations=iterations[pick],
        best_start=best,
        logliks=logliks,
        statuses=status.reshape(B, S),
    )
