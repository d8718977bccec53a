"""Batched least squares: every replicate, sample size and start fitted together.

For fits b = 1..B with data (x_bj, y_bj), j < n_b (padded to a common N and masked), the
objective of fit b is the cost

    F_b(θ) = ½ Σ_{j < n_b} (f_θ(x_bj) − y_bj)²        (scipy.optimize.least_squares' ``cost``)

over its k-atom parameters θ (k, p). Positive parameters (temperatures) are optimised on the
log scale, θ = exp(u), so they stay positive; the others directly.

Method: Levenberg–Marquardt with Nielsen's damping update (Madsen, Nielsen & Tingleff, *Methods
for non-linear least squares problems*, 2nd ed., DTU 2004, Algorithm 3.16), run for all B·S
problems at once with a damping μ_b and factor ν_b per problem: the step solves
(JᵀJ + μI) h = −Jᵀr by a batched Cholesky factorisation; the gain ratio
ρ = (F(u) − F(u + h)) / (½ hᵀ(μh − Jᵀr)) accepts the step when ρ > 0, then
μ ← μ·max(1/3, 1 − (2ρ − 1)³), ν ← 2, else μ ← μν, ν ← 2ν. The residual Jacobians J (N × P per
problem) come from the family formulas' own symbolic gradients (``sympy.diff``, compiled like
the model: :meth:`~moetheory.experiments.simulate.models.TorchMoE.regression_jacobian`), or,
where a derivative has no closed form, from forward-mode differentiation (``torch.func.vmap``
over ``torch.func.jvp`` along the P coordinate directions); JᵀJ and Jᵀr are formed without
transposing the (P × N) blocks. A
problem stops — and is frozen — when ‖Jᵀr‖_∞ ≤ tol (``gradient``), ‖h‖ ≤ tol (‖u‖ + tol)
(``step``) or an accepted step lowers F by at most tol·F (``objective``); otherwise after
``max_iter`` iterations (``max_iter``, not converged). Of the S starts of a fit the lowest final
cost is kept. Everything is deterministic given the data and the starts.

Example
-------
>>> import torch
>>> from moetheory.experiments.simulate.models import TorchMoE
>>> m = TorchMoE.from_families("sigmoid", "linear", 1)
>>> x = torch.linspace(-2, 2, 40, dtype=torch.float64)[None, :, None]
>>> truth = torch.tensor([[[3.0, 0.0, 1.0, 0.5]]], dtype=torch.float64)   # k = 1
>>> y = m.regression(x, truth)
>>> res = fit_least_squares(m, x, y, torch.tensor([40]), truth[:, None] + 0.2)
>>> bool(res.converged[0]), float(res.cost[0]) < 1e-20
(True, True)

Reference: K. Madsen, H. B. Nielsen, O. Tingleff (2004), Alg. 3.16; J. J. Moré, *The
Levenberg–Marquardt algorithm: implementation and theory*, LNM 630 (1978);
``shared/reference/experiments.md`` §3 (batched Gauss–Newton for many small models).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import jvp, vmap

from moetheory.errors import FormulaError
from moetheory.experiments.simulate.models import TorchMoE

__all__ = ["STATUS", "LSResult", "fit_least_squares", "softmax_gauge"]

STATUS = ("max_iter", "gradient", "step", "objective")
"""Stop reasons, indexed by ``LSResult.status``: 0 is not converged."""


@dataclass(frozen=True, eq=False)
class LSResult:
    """Batched least-squares results, B fits with S starts each.

    ``theta`` (B, k, p) the best start's parameters, ``cost`` (B,) its cost ½Σr², ``converged``
    (B,) and ``status`` (B,) (an index into :data:`STATUS`) and ``iterations`` (B,) its
    convergence record, ``best_start`` (B,); ``costs``, ``statuses`` (B, S) every start's."""

    theta: Tensor
    cost: Tensor
    converged: Tensor
    status: Tensor
    iterations: Tensor
    best_start: Tensor
    costs: Tensor
    statuses: Tensor


class _Problem:
    """The residuals of M = B·S problems in the unconstrained coordinates u (·, k·p); problem m
    uses data row ``rep[m]``. Methods take the problems' indices ``idx`` and their u."""

    def __init__(
        self, model: TorchMoE, x: Tensor, y: Tensor, mask: Tensor, rep: Tensor, k: int, p: int
    ):
        self.model, self.x, self.y, self.mask, self.rep, self.k, self.p = (
            model,
            x,
            y,
            mask,
            rep,
            k,
            p,
        )
        pos = torch.tensor(model.positive_mask[:p], device=x.device)
        self.pos = pos.repeat(k)
        self.symbolic = True
        self.any_positive = bool(pos.any())
        self.padded = not bool(mask.all())
        self.free: Tensor | None = None

    def theta(self, u: Tensor) -> Tensor:
        return torch.where(self.pos, u.exp(), u).reshape(u.shape[0], self.k, self.p)

    def _data(self, idx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        rows = self.rep[idx]
        return self.x[rows], self.y[rows], self.mask[rows]

    def normal_equations(self, idx: Tensor, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(F, JᵀJ, Jᵀr) of problems ``idx`` at u: cost (m,), (m, P, P), (m, P)."""
        r, jt = self.linearise(idx, u)
        if self.free is not None:
            jt = jt * self.free[:, None].to(jt.dtype)
        return _cost(r), jt @ jt.transpose(1, 2), (jt @ r[..., None])[..., 0]

    def linearise(self, idx: Tensor, u: Tensor) -> tuple[Tensor, Tensor]:
        """(r, Jᵀ): residuals (m, N) and their transposed Jacobian (m, P, N) — from the model's
        symbolic gradients, or by forward-mode AD where a derivative has no closed form."""
        x, y, mask = self._data(idx)
        if self.symbolic:
            try:
                theta = self.theta(u)
                f, jac = self.model.regression_jacobian(x, theta)
            except FormulaError:
                self.symbolic = False
            else:
                jt = jac.reshape(u.shape[0], u.shape[1], -1)
                if self.any_positive:  # ∂/∂u = θ ∂/∂θ on the log-scale coordinates
                    scale = torch.where(self.pos, theta.reshape(u.shape), torch.ones_like(u))
                    jt = jt * scale[..., None]
                if self.padded:
                    jt = jt * mask[:, None, :].to(jt.dtype)
                return torch.where(mask, f - y, torch.zeros_like(f)), jt

        def residuals(v: Tensor) -> Tensor:
            f = self.model.regression(x, self.theta(v))
            return torch.where(mask, f - y, torch.zeros_like(f))

        basis = torch.eye(u.shape[1], dtype=u.dtype, device=u.device)[:, None, :]
        basis = basis.expand(-1, u.shape[0], -1)
        with warnings.catch_warnings():
            # torch's forward AD scripts its decompositions on first use (torch's own warning)
            warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated")
            jt = vmap(lambda t: jvp(residuals, (u,), (t,))[1])(basis)
        return residuals(u), jt.transpose(0, 1)


def softmax_gauge(model: TorchMoE, k: int) -> Tensor | None:
    """The (k, p) mask of the parameters every fit holds fixed: the gauge of the translation
    s_i → s_i + t of a normalised gate's scores (every softmax-type gate has it).

    For a gate with one mass parameter β₀ the last atom's β₀ is fixed; when the score is
    moreover linear in x, β₁ᵀx + β₀ (``softmax``, ``topk-softmax``, formula gates
    exp(β₁ᵀx + β₀)), so that (β_{1i}, β_{0i}) → (β_{1i} + t₁, β_{0i} + t₀) is a symmetry too, the
    last atom's β₁ is fixed as well — the authors' convention (the last gate is 0). Fits start
    with these parameters at the truth's values
    (:func:`~moetheory.experiments.simulate.truth.initial_starts`), so fit and truth share
    the gauge and the Voronoi losses compare them directly. Fixing β₀ removes the score shift
    wherever no other parameter of the last atom can absorb it: for scores β₀ + g(x; β₁) (the
    cosine routers), and for (β₀ + β₁ᵀx)/τ when the last true atom has β₀ = 0 (the named
    configurations do so). None for unnormalised gates and gates without a single mass.

    >>> from moetheory.experiments.simulate.models import TorchMoE
    >>> softmax_gauge(TorchMoE.from_families("softmax", "linear", 1), 2).int().tolist()
    [[0, 0, 0, 0], [1, 1, 0, 0]]
    >>> softmax_gauge(TorchMoE.from_families("cosine", "linear", 2), 2).int().tolist()[1]
    [0, 0, 1, 0, 0, 0]
    """
    import sympy as sp

    if model.normalisation in ("sigmoid", "none") or len(model.masses) != 1:
        return None
    mask = torch.zeros(k, model.n_params, dtype=torch.bool)
    mask[-1, model.param_symbols.index(model.masses[0])] = True
    x, beta = model.inputs, [q for q in model.gate_params if q not in model.masses]
    if len(beta) == len(x):
        linear = sum(b * xi for b, xi in zip(beta, x, strict=True))
        if sp.simplify(sp.expand(model.gate_score_expr - linear) - model.masses[0]) == 0:
            mask[-1, : len(model.gate_params)] = True
    return mask


def _cost(r: Tensor) -> Tensor:
    c = 0.5 * (r * r).sum(dim=-1)
    return torch.where(torch.isfinite(c), c, torch.full_like(c, torch.inf))


def fit_least_squares(
    model: TorchMoE,
    x: Tensor,
    y: Tensor,
    n: Tensor,
    starts: Tensor,
    *,
    max_iter: int = 200,
    tol: float = 1e-10,
    tau: float = 1e-3,
    fixed: Tensor | None = None,
) -> LSResult:
    """Fit B regression problems from S starts each by batched Levenberg–Marquardt.

    Args:
        model: the mixture (its mean parameters only are fitted: a Gaussian expert's variance
            column, if present in ``starts``, is ignored and returned unchanged).
        x: inputs (B, N, d); y: responses (B, N); n: real sizes (B,) (rows j ≥ n_b ignored).
        starts: initial parameters (B, S, k, p) — on the device and dtype of the fit.
        max_iter: iterations per problem; tol: the three stopping tolerances (module docstring);
        tau: initial damping μ₀ = tau · max diag(JᵀJ).
        fixed: optional bool mask (k, p) of parameters held at their starting values — e.g.
            :func:`softmax_gauge` (the last atom's gate slope and intercept, the authors' gauge
            for the softmax translation invariance, which otherwise leaves JᵀJ singular along
            a flat valley that LM crosses slowly).

    Returns:
        :class:`LSResult`.
    """
    B, S, k, p_all = starts.shape
    p = model.n_mean_params
    N = x.shape[1]
    dev, dt = starts.device, starts.dtype
    mask = torch.arange(N, device=dev)[None, :] < n.to(dev)[:, None]
    rep = torch.arange(B, device=dev).repeat_interleave(S)
    prob = _Problem(model, x.to(dev, dt), y.to(dev, dt), mask, rep, k, p)
    if fixed is not None:
        prob.free = ~fixed[..., :p].reshape(k * p).to(dev)
    theta0 = starts[..., :p].reshape(B * S, k * p).to(dev, dt)
    u = torch.where(prob.pos, theta0.clamp_min(torch.finfo(dt).tiny).log(), theta0)
    M, P = u.shape
    eye = torch.eye(P, dtype=dt, device=dev)

    F, A, g = prob.normal_equations(torch.arange(M, device=dev), u)
    mu = tau * A.diagonal(dim1=1, dim2=2).amax(dim=1).clamp_min(1e-12)
    nu = torch.full_like(mu, 2.0)
    status = torch.zeros(M, dtype=torch.long, device=dev)
    iterations = torch.zeros(M, dtype=torch.long, device=dev)
    status[g.abs().amax(dim=1) <= tol] = 1
    for _ in range(max_iter):
        idx = (status == 0).nonzero()[:, 0]
        if idx.numel() == 0:
            break
        iterations[idx] += 1
        ua, Fa, ga, mua, nua = u[idx], F[idx], g[idx], mu[idx], nu[idx]
        L, info = torch.linalg.cholesky_ex(A[idx] + mua[:, None, None] * eye)
        ok = info == 0
        L = torch.where(ok[:, None, None], L, eye.expand_as(L))
        h = torch.cholesky_solve(-ga[..., None], L)[..., 0]
        h = torch.where(ok[:, None], h, torch.zeros_like(h))
        small = ok & (h.norm(dim=1) <= tol * (ua.norm(dim=1) + tol))
        status[idx[small]] = 2
        trying = ok & ~small
        Fn = torch.full_like(Fa, torch.inf)
        An, gn = A[idx], ga
        if bool(trying.any()):
            t_idx = trying.nonzero()[:, 0]
            Ft, At, gt = prob.normal_equations(idx[t_idx], ua[t_idx] + h[t_idx])
            Fn = Fn.index_put((t_idx,), Ft)
            An = An.index_put((t_idx,), At)
            gn = gn.index_put((t_idx,), gt)
        predicted = 0.5 * (h * (mua[:, None] * h - ga)).sum(dim=1)
        rho = (Fa - Fn) / predicted.clamp_min(torch.finfo(dt).tiny)
        accept = trying & (rho > 0) & torch.isfinite(Fn)
        flat = accept & ((Fa - Fn) <= tol * Fa)
        acc = idx[accept]
        u[acc] = ua[accept] + h[accept]
        F[acc], A[acc], g[acc] = Fn[accept], An[accept], gn[accept]
        factor = torch.clamp(1 - (2 * rho - 1) ** 3, min=1 / 3)
        mu[idx] = torch.where(accept, mua * factor, mua * nua)
        nu[idx] = torch.where(accept, torch.full_like(nua, 2.0), nua * 2)
        done = accept & (gn.abs().amax(dim=1) <= tol)
        status[idx[done]] = 1
        status[idx[flat & ~done]] = 3

    theta = prob.theta(u)
    costs = F.reshape(B, S)
    best = costs.argmin(dim=1)
    pick = torch.arange(B, device=dev) * S + best
    full = starts.reshape(B * S, k, p_all).clone()
    full[..., :p] = theta
    statuses = status.reshape(B, S)
    return LSResult(
        theta=full[pick],
        cost=costs.gather(1, best[:, None])[:, 0],
        converged=status[pick] > 0,
        status=status[pick],
        iterations=iterations[pick],
        best_start=best,
        costs=costs,
        statuses=statuses,
    )
