"""Soft MoE with a single expert (softmoe_momentum.md §2): a witness that it cannot represent the
norm t(X) = ‖X‖_F, checked symbolically and on the package's layer.

Structure [math]. With n = p = 1 the combine weights are a softmax over one slot, C ≡ 1, and
every output token is f(x̃) with x̃ = Σ_i softmax_i(ℓ_i) x_i. Take X = [x; x] and
X' = [x + w; x − w] with w = φ × x (d = 3): w ⟂ φ and w ⟂ x, so both tokens of X' have the same
logit (raw x·φ, or normalised ones, since ‖x ± w‖ are equal), the dispatch weights are ½, ½ and
x̃ = x for both inputs. Every expert and every read-out therefore gives X and X' the same output,
while ‖X'‖_F² − ‖X‖_F² = 2‖w‖² grows without bound: on the pair, any such model errs by at least
(‖X'‖_F − ‖X‖_F)/2 on t. This is a witness of the mechanism, not the paper's proof (its exact
hypotheses are [open]).

With slots built from normalised tokens (Chung et al.'s variant, §1) the slot is
Σ_i d_i x_i/‖x_i‖, which X' changes (x/‖x ± w‖ ≠ x/‖x‖) but rescaling does not: there the
witness is X'' = [(1 + c)x; (1 + c)x] (exact for x/‖x‖; the layer's x/√(‖x‖² + 10⁻⁶) makes it
hold to 10⁻⁵ relative, the tolerance used there; 10⁻¹² elsewhere).

On the layer. :func:`single_expert_witness` builds ``moetheory.layers.SoftMoE(dim=3,
num_experts=1, slots_per_expert=1)`` with a random non-linear expert in float64, in each of its
four logit / token normalisations, and checks that X and X' (X'') give equal outputs for ‖w‖
(c) from 0.1 to 100 while the error bound grows; a two-expert layer (a control) does tell X and
X' apart. A test
changes the layer (a term in the token norms) and expects this check to fail.
"""

from __future__ import annotations

import sympy as sp
import torch

from proofs_check.relations import Check

REF = "softmoe_momentum.md §2"


def _say(message: str) -> None:
    print(f"  {message}")


def single_expert_structure() -> bool:
    """Symbolic (d = 3): w = φ × x gives equal raw and normalised logits to x ± w, dispatch ½, ½,
    slot x̃ = x; ‖X'‖² − ‖X‖² = 2‖w‖²; normalised tokens ignore rescaling. (C ≡ 1 for one
    slot, and the softmax axes, are checked on the layer: :func:`single_expert_witness`.)"""
    x = sp.Matrix(sp.symbols("x1:4", real=True))
    phi = sp.Matrix(sp.symbols("phi1:4", real=True))
    w = phi.cross(x)
    raw = sp.expand(((x + w).T * phi)[0] - ((x - w).T * phi)[0]) == 0
    norms = sp.expand((x + w).dot(x + w) - (x - w).dot(x - w)) == 0
    l_plus, l_minus = ((x + w).T * phi)[0], ((x - w).T * phi)[0]
    d_plus = sp.exp(l_plus) / (sp.exp(l_plus) + sp.exp(l_minus))
    d_minus = sp.exp(l_minus) / (sp.exp(l_plus) + sp.exp(l_minus))
    slot = d_plus * (x + w) + d_minus * (x - w)
    slot_is_x = all(sp.simplify(c) == 0 for c in (slot - x))
    gap = sp.expand((x + w).dot(x + w) + (x - w).dot(x - w) - 2 * x.dot(x) - 2 * w.dot(w)) == 0
    _say(f"w = φ × x: (x + w)·φ − (x − w)·φ = 0: {raw}; ‖x + w‖² − ‖x − w‖² = 0: {norms}")
    _say(f"dispatch ½, ½ and x̃ = x for X' = [x + w; x − w] (and for X = [x; x]): {slot_is_x}")
    _say(f"‖X'‖_F² − ‖X‖_F² = 2‖w‖²: {gap}")
    c = sp.Symbol("c", positive=True)
    unit = x / sp.sqrt(x.dot(x))
    rescaled = all(
        sp.simplify(a - b) == 0
        for a, b in zip(c * x / sp.sqrt((c * x).dot(c * x)), unit, strict=True)
    )
    _say(f"normalised tokens: (c x)/‖c x‖ = x/‖x‖ for c > 0 (the rescaling witness): {rescaled}")
    return raw and norms and slot_is_x and gap and rescaled


def _expert(dim: int) -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(dim, 16), torch.nn.Tanh(), torch.nn.Linear(16, dim)
    ).double()


def _softmax_axes(layer_cls: type) -> bool:
    """The layer's D and C are the softmaxes of its logits over tokens and over slots (n = 2,
    p = 2, 5 tokens), and C ≡ 1 with one expert and one slot: the facts the witness rests on."""
    torch.manual_seed(1)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    layer = layer_cls(3, 2, 2, expert=_expert).double()
    with torch.no_grad():
        _, aux = layer(x)
        logits = layer.logits(x)
    tol = 1e-12
    dispatch = torch.allclose(aux["dispatch_weights"], logits.softmax(dim=1), rtol=0, atol=tol)
    combine = torch.allclose(aux["combine_weights"], logits.softmax(dim=2), rtol=0, atol=tol)
    one = layer_cls(3, 1, 1, expert=_expert).double()
    with torch.no_grad():
        _, aux1 = one(x)
    ones = bool((aux1["combine_weights"] - 1).abs().max() <= tol)
    _say(
        f"layer: D = softmax over tokens {dispatch}, C = softmax over slots {combine}; "
        f"n = p = 1: C ≡ 1 {ones}"
    )
    return dispatch and combine and ones


def single_expert_witness(layer_cls: type | None = None) -> bool:
    """On the layer: a single-expert Soft MoE gives X = [x; x] and X' = [x + w; x − w]
    (w = c·φ × x̂, c ∈ {0.1, 1, 10, 100}) equal outputs in every normalisation, so any read-out
    errs by at least (‖X'‖_F − ‖X‖_F)/2 on t(X) = ‖X‖_F; a two-expert layer tells them apart.
    ``layer_cls``: the layer class checked (default ``moetheory.layers.SoftMoE``)."""
    if layer_cls is None:
        from moetheory.layers import SoftMoE

        layer_cls = SoftMoE
    torch.manual_seed(0)
    ok = _softmax_axes(layer_cls)
    x = torch.tensor([0.7, -1.2, 0.4], dtype=torch.float64)
    for normalize in (True, False):
        for tokens in (False, True):
            layer = layer_cls(3, 1, 1, expert=_expert, normalize=normalize, normalize_tokens=tokens)
            layer = layer.double()
            phi = layer.phi.detach()[:, 0]
            direction = torch.linalg.cross(phi, x)
            direction = direction / direction.norm()
            same, bounds = True, []
            for c in (0.1, 1.0, 10.0, 100.0):
                w = c * direction
                plain = torch.stack([x, x])[None]
                # normalised tokens: the slots see x/‖x‖ only, so rescaling is the witness
                moved = torch.stack([x + w, x - w] if not tokens else [(1 + c) * x] * 2)[None]
                with torch.no_grad():
                    y, _ = layer(plain)
                    y2, _ = layer(moved)
                scale = float(y.abs().max()) + 1.0
                # normalised tokens are x/√(‖x‖² + 1e-6): rescaling-invariant up to that eps
                tol = 1e-5 if tokens else 1e-12
                same &= float((y - y2).abs().max()) <= tol * scale
                bounds.append(float(moved.norm() - plain.norm()) / 2)
            grows = all(b2 > 5 * b1 for b1, b2 in zip(bounds, bounds[1:], strict=False))
            _say(
                f"normalize={normalize}, normalize_tokens={tokens}: equal outputs {same}; "
                f"error lower bounds (‖X'‖ − ‖X‖)/2 = {', '.join(f'{b:.3g}' for b in bounds)}"
            )
            ok &= same and grows
    control = layer_cls(3, 2, 1, expert=_expert).double()
    phi = control.phi.detach()[:, 0]
    w = torch.linalg.cross(phi, x)
    with torch.no_grad():
        y, _ = control(torch.stack([x, x])[None])
        y2, _ = control(torch.stack([x + w, x - w])[None])
    differs = float((y - y2).abs().max()) > 1e-6
    _say(f"control, two experts (w ⟂ the first expert's φ only): outputs differ {differs}")
    return ok and differs


def single_expert_trained() -> bool:
    """Trained (the numeric side of the witness): on t(X) = ‖X‖_F (d = m = 4, the quick
    preset of ``moetheory softmoe-experiment``, 2 seeds, 500 Adam steps), a single-expert Soft
    MoE with a rich expert (hidden width 256) keeps a held-out relative error above 0.3 while
    16 experts of width 16 — the same total expert width, parameter counts within 10 % —
    reach less than half of it. Thresholds are this check's, for this size and budget."""
    from moetheory.experiments.softmoe import resolve_config, train_unit, units

    config = resolve_config(preset="quick", overrides={"experts": [1, 16], "seeds": 2})
    errors: dict[int, list[float]] = {1: [], 16: []}
    counts: dict[int, int] = {}
    for unit in units(config, "cpu"):
        line = train_unit(unit)
        errors[unit.params["experts"]].append(float(line["test_error"]))
        counts[unit.params["experts"]] = int(line["parameters"])
    one, many = max(errors[1]), max(errors[16])
    low = min(errors[1])
    spread = max(counts.values()) / min(counts.values()) - 1
    _say(
        f"held-out relative error: n = 1 {', '.join(f'{e:.3f}' for e in errors[1])}; "
        f"n = 16 {', '.join(f'{e:.3f}' for e in errors[16])}; parameters {counts} "
        f"(spread {spread:.1%})"
    )
    return low > 0.3 and many < low / 2 and spread <= 0.10 and one > many


CHECKS = [
    Check(
        "single-expert-structure",
        "n = p = 1: C ≡ 1; w = φ × x gives x ± w equal logits (raw and normalised), dispatch ½, "
        "½ and slot x; ‖X'‖² − ‖X‖² = 2‖w‖²; normalised tokens ignore rescaling (symbolic, d = 3)",
        f"{REF} witness [math]",
        single_expert_structure,
    ),
    Check(
        "single-expert-witness",
        "moetheory.layers.SoftMoE with one expert: X = [x; x] and X' = [x + w; x − w] (normalised "
        "tokens: [(1 + c)x; (1 + c)x]) give equal outputs in all four normalisations while "
        "(‖X'‖ − ‖X‖)/2 grows past 50; two experts tell X and X' apart",
        f"{REF} witness [math]",
        single_expert_witness,
    ),
    Check(
        "single-expert-trained",
        "trained on t(X) = ‖X‖_F at equal total expert width: one rich expert stays above 0.3 "
        "relative error, 16 small experts reach under half of it (quick size, 2 seeds)",
        f"{REF} implicit bias [paper], measured",
        single_expert_trained,
    ),
]
