"""The single-expert Soft MoE witness (proofs_check softmoe): it holds on the layer, and it
fails loudly when the layer is changed so that the fact no longer applies."""

from __future__ import annotations

import torch

from moetheory.layers import SoftMoE
from proofs_check.softmoe import single_expert_structure, single_expert_witness


def test_the_witness_holds_on_the_layer():
    assert single_expert_structure()
    assert single_expert_witness()


class _SeesTokenNorms(SoftMoE):
    """A mutated layer: its output gains a term in each token's norm, so a single expert can
    tell X = [x; x] from X' = [x + w; x − w]."""

    def forward(self, x, experts_mask=None):
        y, aux = super().forward(x, experts_mask)
        return y + 1e-3 * x.norm(dim=-1, keepdim=True), aux


class _SlotsFromTheFirstToken(SoftMoE):
    """A mutated layer: its dispatch puts all weight on the first token (not a softmax over
    tokens), so the slot of X' is x + w, not x."""

    def forward(self, x, experts_mask=None):
        first = torch.zeros_like(x)
        first[:, 0] = x[:, 0] * x.shape[1]
        return super().forward(first, experts_mask)


class _SwappedAxes(SoftMoE):
    """A mutated layer: dispatch over slots and combine over tokens (found in review: with one
    expert and one slot the outputs still agree on X and X', so the check must look at the
    axes)."""

    def forward(self, x, experts_mask=None):
        logits = self.logits(x)
        b, m, _ = x.shape
        dispatch, combine = logits.softmax(dim=2), logits.softmax(dim=1)
        n, p = self.num_experts, self.slots_per_expert
        slots = (dispatch.transpose(1, 2) @ x).reshape(b, n, p, self.dim)
        out = torch.stack([f(slots[:, e]) for e, f in enumerate(self.experts)], dim=1)
        y = combine @ out.reshape(b, n * p, self.dim)
        return y, {
            "router_logits": logits,
            "dispatch_weights": dispatch,
            "combine_weights": combine,
        }


def test_the_witness_fails_on_changed_layers():
    assert not single_expert_witness(_SeesTokenNorms)
    assert not single_expert_witness(_SlotsFromTheFirstToken)
    assert not single_expert_witness(_SwappedAxes)


def test_proofs_check_runs_only_the_named_groups(capsys):
    """``python -m proofs_check softmoe momentum`` (its ``main``, in process)."""
    from proofs_check.__main__ import main

    assert main(["softmoe", "momentum"]) == 0
    out = capsys.readouterr().out
    verdicts = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert {line.split("]")[0].split("[")[1] for line in verdicts} == {"softmoe", "momentum"}
    assert all(line.startswith("PASS") for line in verdicts)
    assert f"{len(verdicts)} passed, 0 failed" in out
