"""Exact symmetries of a gate that a fit cannot resolve: the gauge the fits hold fixed, and the
per-atom rescalings the Voronoi loss divides out.

**Translations (gauge).** A normalised gate is unchanged when one function t(x) is added to every
atom's score. The constant t is always such a symmetry (the masses β₀); more of them exist when
every atom's score gradient spans the same space of functions of x: for the softmax score
β₁ᵀx + β₀ that space is span{1, x₁, …, x_d}, for the perturbed cosine score
β₀ + γ(β₁)ᵀz(x) (γ = β/(‖β‖ + τ), a local diffeomorphism) span{1, z(x)} (cosine_router.md §4:
"translation invariance in γ-space"), for (β₀ + β₁x)/τ span{1, x}. :func:`gauge` then fixes
all of the last atom's real gate parameters at the truth's values, otherwise only its mass.
The spans are compared numerically at the true atoms on 64 points of the input law (a float64
rank read across a gap of 10⁻⁸): this chooses a gauge for the fits and the loss; it is not a
claim the package certifies.

**Rescalings (canonical form).** Some scores are invariant under scaling a subset S of one
atom's gate parameters by any c > 0: the cosine router's β₁ (only its direction acts), the
temperature gates' (β₁, τ[, β₀]). Such a direction is not estimable at any rate, so the Voronoi
loss compares atoms in a canonical form (:func:`canonical`): S divided by its positive member
(the temperature τ, which becomes 1) or, without one, by its Euclidean norm (cosine_router.md
§4: direction and norm reported apart; the norm is not identified). The invariance is checked
symbolically (``sympy.simplify`` of s(c·S) − s(S) with c > 0).

>>> from moetheory.experiments.simulate.models import TorchMoE
>>> scale_symmetry(TorchMoE.from_families("cosine", "linear", 2))
(('beta1', 'beta2'), None)
>>> scale_symmetry(TorchMoE.from_families("temperature-softmax-b0", "linear", 1))
(('beta1', 'tau', 'beta0'), 'tau')
>>> scale_symmetry(TorchMoE.from_families("softmax", "linear", 1)) is None
True

Reference: ``shared/reference/cosine_router.md`` §4 (pitfalls 1–3); identifiability.md §5.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
import torch
from torch import Tensor

from moetheory.experiments.simulate.models import UNNORMALISED, TorchMoE

__all__ = ["canonical", "gauge", "scale_symmetry"]


def _real_gate_columns(model: TorchMoE) -> list[int]:
    pos = model.positive_mask
    return [i for i in range(len(model.gate_params)) if not pos[i]]


def gauge(model: TorchMoE, k: int, atoms: Tensor, x: Tensor) -> Tensor | None:
    """The (k, p) mask of the parameters every fit holds at the truth's values (module
    docstring): the last atom's real gate parameters when every true atom's score gradient
    spans the same functions of x (evaluated at the true ``atoms`` (k*, p) on the points
    ``x`` (N, d)), else its mass only; None for unnormalised gates and gates without exactly
    one mass."""
    if model.normalisation in UNNORMALISED or len(model.masses) != 1:
        return None
    mask = torch.zeros(k, model.n_params, dtype=torch.bool)
    mask[-1, model.param_symbols.index(model.masses[0])] = True
    cols = _real_gate_columns(model)
    _, ds = model.gate_score_jacobian(x, atoms.to(torch.float64)[None])
    ds = ds[0]  # (k*, q_g, N)
    spans = [ds[i, cols].T for i in range(atoms.shape[0])]  # (N, |cols|) each
    last = spans[-1]
    scale = float(last.abs().max().clamp_min(1e-300))
    full = int(torch.linalg.matrix_rank(last / scale, rtol=1e-8)) == len(cols)
    same = all(
        int(torch.linalg.matrix_rank(torch.cat([last, g], dim=1) / scale, rtol=1e-8)) == len(cols)
        for g in spans[:-1]
    )
    if full and same:
        mask[-1, cols] = True
    return mask


@lru_cache(maxsize=64)
def _scale_symmetry(score: sp.Expr, params: tuple[sp.Symbol, ...], masses: tuple, positive: tuple):
    c = sp.Symbol("c_scale", positive=True)
    real = {q: sp.Symbol(q.name, real=True, positive=q in positive) for q in params}
    s = score.xreplace(real)
    non_mass = tuple(q for q in params if q not in masses)
    for subset in (non_mass, params):
        if not subset:
            continue
        scaled = s.xreplace({real[q]: c * real[q] for q in subset})
        if sp.simplify(scaled - s) == 0:
            return subset
    return None


def scale_symmetry(model: TorchMoE) -> tuple[tuple[str, ...], str | None] | None:
    """(S, divisor): the gate parameters S of one atom whose common rescaling leaves the score
    unchanged (the real ones first tried without the mass, then all), and the positive member
    of S that :func:`canonical` divides by (None: divide by ‖S‖); None without such a
    symmetry."""
    if model.normalisation in UNNORMALISED:
        return None
    subset = _scale_symmetry(
        model.gate_score_expr, tuple(model.gate_params), tuple(model.masses), model.positive
    )
    if subset is None:
        return None
    names = tuple(str(q) for q in subset)
    positive = [str(q) for q in subset if q in model.positive]
    return names, (positive[0] if positive else None)


def canonical(model: TorchMoE, theta: Tensor) -> Tensor:
    """``theta`` (…, k, p) with each atom's rescaling symmetry divided out (module
    docstring); unchanged when the gate has none.

    >>> m = TorchMoE.from_families("cosine", "linear", 2)
    >>> canonical(m, torch.tensor([[3.0, 4.0, 0.5, 1.0, 2.0, 0.0]], dtype=torch.float64)).tolist()
    [[0.6, 0.8, 0.5, 1.0, 2.0, 0.0]]
    """
    found = scale_symmetry(model)
    if found is None:
        return theta
    names, divisor = found
    cols = [model.param_names.index(n) for n in names]
    out = theta.clone()
    block = theta[..., cols]
    if divisor is not None:
        den = theta[..., model.param_names.index(divisor)]
    else:
        den = block.norm(dim=-1)
    out[..., cols] = block / den.clamp_min(torch.finfo(theta.dtype).tiny)[..., None]
    return out
