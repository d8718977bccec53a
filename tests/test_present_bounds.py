"""``moetheory bounds`` keeps certified values and asymptotic shapes in separate sections, and a
bound with no value says why (no empty source)."""

from __future__ import annotations

import re

import pytest
from helpers import run_cli

from moetheory.bounds.architecture import Architecture
from moetheory.bounds.vc import vc_bounds
from moetheory.present.bounds import bounds_markdown

CERTIFIED = "### VC dimension, certified (exact constants)"
CROSS = "### Cross-checks (unconfirmed closed forms, not the reported values)"
SHAPES = "### Asymptotic shapes (unknown constants, not comparable with the numbers above)"

ARCHITECTURES = {
    "prototype": ("--dim", "2", "--experts", "4", "--depth", "2", "--width", "16"),
    "grid prelu": (
        "--dim",
        "2",
        "--experts",
        "16",
        "--depth",
        "2",
        "--width",
        "64",
        "--router",
        "grid",
        "--activation",
        "prelu",
    ),
    "tree fixed slopes": (
        "--dim",
        "3",
        "--experts",
        "8",
        "--depth",
        "2",
        "--width",
        "32",
        "--router",
        "tree",
        "--activation",
        "prelu",
        "--slopes",
        "fixed",
    ),
    "one network": (
        "--dim",
        "1",
        "--experts",
        "1",
        "--depth",
        "1",
        "--width",
        "1",
        "--router",
        "none",
    ),
    "linear top-2": (
        "--dim",
        "3",
        "--experts",
        "8",
        "--depth",
        "3",
        "--width",
        "32",
        "--router",
        "linear",
        "--top-k",
        "2",
    ),
}


def sections(text: str) -> dict[str, str]:
    """The text under each ### heading (the parameter table under '')."""
    parts = re.split(r"^(### .*)$", text, flags=re.M)
    return {"": parts[0], **dict(zip(parts[1::2], parts[2::2], strict=True))}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_certified_values_and_shapes_are_apart(capsys, name):
    code, out, _ = run_cli(capsys, "bounds", *ARCHITECTURES[name])
    assert code == 0
    parts = sections(out)
    assert list(parts) == ["", CERTIFIED, CROSS, SHAPES]
    certified, shapes = parts[CERTIFIED], parts[SHAPES]
    assert "[math]" in certified and not re.search(r"\[(open|ref|P )", certified)
    assert "Whole model:" in certified and "shape" not in certified
    assert "[math]" not in parts[CROSS] + shapes
    bullets = [line for line in shapes.splitlines() if line.startswith("- ")]
    assert len(bullets) == 2 and all("× an unspecified constant" in b for b in bullets)
    assert "never compare its value with a certified bound" in shapes
    assert not re.search(r"source: *(;|$)", out, flags=re.M)  # no empty source field


def test_a_missing_bound_says_why(capsys):
    code, out, _ = run_cli(capsys, "bounds", *ARCHITECTURES["linear top-2"])
    assert code == 0
    certified = sections(out)[CERTIFIED]
    assert (
        "- **VC upper bound, whole model**: no value (not computed: top-2 softmax mixing is "
        "not piecewise polynomial in the parameters; no bound is proved in this "
        "package)"
    ) in certified
    assert "Whole model: VCdim ≥ 93 (no upper bound proved, see below)." in certified
    assert "not available" not in out


def test_interval_of_the_whole_model():
    arch = Architecture(dim=2, experts=4, hidden=(16, 16))
    vc = vc_bounds(arch)
    text = bounds_markdown(arch, vc)
    assert f"Whole model: {vc.lower.value} ≤ VCdim ≤ {vc.upper.value}." in text
