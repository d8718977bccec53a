"""The test suite runs ``python -m proofs_check`` and requires every check to pass."""

import subprocess
import sys

import pytest

HALVES = (["relations", "rates"], ["bounds", "construct"])
"""The groups of the default run, in two processes of about equal time (side by side); the
r̄ group (the slowest; its values are also tests/test_rbar.py's) runs with every group in the
slow run."""


def _run_halves(halves: tuple[list[str], ...]) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "proofs_check", *half],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for half in halves
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, out + err
        assert " 0 failed" in out and "FAIL" not in out


def test_proofs_check_passes():
    _run_halves(HALVES)


@pytest.mark.slow
def test_every_proofs_check_group_passes():
    from proofs_check.__main__ import GROUPS

    assert {g for half in HALVES for g in half} < set(GROUPS)
    _run_halves((list(GROUPS),))


def test_proofs_check_unknown_group_exits_2():
    proc = subprocess.run(
        [sys.executable, "-m", "proofs_check", "nonesuch"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
