"""The single-expert Soft MoE witness (proofs_check softmoe): it holds on the layer, and it
fails loudly when the layer is changed so that the fact no longer applies."""

from __future__ import annotations

import subprocess
import sys

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


def test_the_witness_fails_on_changed_layers():
    assert not single_expert_witness(_SeesTokenNorms)
    assert not single_expert_witness(_SlotsFromTheFirstToken)


def test_proofs_check_runs_only_the_named_groups():
    """``python -m proofs_check softmoe momentum`` (the command line, in a subprocess)."""
    done = subprocess.run(
        [sys.executable, "-m", "proofs_check", "softmoe", "momentum"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = [line for line in done.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert {line.split("]")[0].split("[")[1] for line in verdicts} == {"softmoe", "momentum"}
    assert "7 passed, 0 failed" in done.stdout
