"""The single-expert Soft MoE witness (proofs_check softmoe): it holds on the layer, and it
fails loudly when the layer is changed so that the fact no longer applies."""

from __future__ import annotations

import pytest
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
    """``python -m proofs_check momentum single-expert-structure single-expert-witness`` (its
    ``main``, in process): only the named group and checks run. The trained check (5 s) runs in
    the slow suite."""
    from proofs_check.__main__ import main

    assert main(["momentum", "single-expert-structure", "single-expert-witness"]) == 0
    out = capsys.readouterr().out
    verdicts = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert {line.split("]")[0].split("[")[1] for line in verdicts} == {"softmoe", "momentum"}
    assert len(verdicts) == 8 and all(line.startswith("PASS") for line in verdicts)
    assert "8 passed, 0 failed" in out


@pytest.mark.slow
def test_the_trained_single_expert_check():
    from proofs_check.softmoe import single_expert_trained

    assert single_expert_trained()
