"""The test suite runs ``python -m proofs_check`` and requires every check to pass."""

import subprocess
import sys

HALVES = (["rbar", "relations"], ["rates", "bounds", "construct"])
"""Every group of proofs_check, in two processes of about equal time (they run side by side)."""


def test_proofs_check_passes():
    from proofs_check.__main__ import GROUPS

    assert sorted(g for half in HALVES for g in half) == sorted(GROUPS)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "proofs_check", *half],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for half in HALVES
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, out + err
        assert " 0 failed" in out and "FAIL" not in out


def test_proofs_check_unknown_group_exits_2():
    proc = subprocess.run(
        [sys.executable, "-m", "proofs_check", "nonesuch"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
