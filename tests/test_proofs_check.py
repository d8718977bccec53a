"""The test suite runs ``python -m proofs_check`` and requires every check to pass."""

import subprocess
import sys


def test_proofs_check_passes():
    proc = subprocess.run(
        [sys.executable, "-m", "proofs_check"], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failed" in proc.stdout and "FAIL" not in proc.stdout


def test_proofs_check_unknown_group_exits_2():
    proc = subprocess.run(
        [sys.executable, "-m", "proofs_check", "nonesuch"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
