"""What a run records about where it ran, so a result can be traced and reproduced.

:func:`environment` returns a JSON-serialisable dict with these keys:

- ``python``, ``platform``, ``cpu_count``: ``platform.python_version()``,
  ``platform.platform()``, ``os.cpu_count()``;
- ``torch``: ``torch.__version__``; ``cuda``: ``torch.version.cuda`` (``None`` on a CPU build);
- ``device``: the device as text (``"cpu"``, ``"cuda"``, ``"cuda:0"``); ``device_name``:
  ``torch.cuda.get_device_name`` for a CUDA device, the processor's model name for the
  CPU (``None`` if unknown);
- ``torch_threads``: ``torch.get_num_threads()``;
- ``packages``: the installed versions of numpy, scipy, sympy, python-flint, moetheory, dask and
  distributed (``None`` for one that is absent);
- ``git_commit``: ``git rev-parse HEAD`` of the repository holding the package, ``None`` when the
  package is not in a git checkout of its own repository (an installed wheel, no git) — never
  raises; ``git_dirty``: whether ``git status --porcelain`` lists changes (``None`` likewise);
- ``argv``: the command line, ``sys.argv``.

Example
-------
>>> import json, torch
>>> env = environment(torch.device("cpu"))
>>> sorted(env)  # doctest: +NORMALIZE_WHITESPACE
['argv', 'cpu_count', 'cuda', 'device', 'device_name', 'git_commit', 'git_dirty', 'packages',
 'platform', 'python', 'torch', 'torch_threads']
>>> sorted(env["packages"])
['dask', 'distributed', 'moetheory', 'numpy', 'python-flint', 'scipy', 'sympy']
>>> json.loads(json.dumps(env)) == env
True

Reference: ``shared/reference/experiments.md`` (the run directory records package versions,
device name, torch/CUDA versions and the git commit); Python ``importlib.metadata``.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

PACKAGES = ("numpy", "scipy", "sympy", "python-flint", "moetheory", "dask", "distributed")
"""The distributions whose versions :func:`environment` records."""


def package_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, ``None`` when it is not installed.

    >>> package_version("no-such-distribution-moetheory") is None
    True
    """
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _git(args: list[str], cwd: Path) -> str | None:
    """The stripped stdout of ``git ARGS`` run in ``cwd``; ``None`` on any failure."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout the ``moetheory`` package lives in.

    ``(None, None)`` unless the package directory is the ``moetheory/`` folder at the top of a
    git work tree (so a package installed inside some other repository, a virtual environment
    in a project say, does not report that project's commit). Never raises.

    >>> commit, dirty = git_state()
    >>> commit is None or len(commit) == 40
    True
    """
    try:
        package = Path(__file__).resolve().parent.parent
        top = _git(["rev-parse", "--show-toplevel"], package)
        if top is None or Path(top).resolve() / package.name != package:
            return None, None
        commit = _git(["rev-parse", "HEAD"], package)
        if commit is None:
            return None, None
        status = _git(["status", "--porcelain", "--untracked-files=no"], package)
        return commit, (None if status is None else bool(status))
    except Exception:  # the record is best effort; a run never fails on it
        return None, None


def _cpu_name() -> str | None:
    """The processor's model name (``/proc/cpuinfo`` on Linux), ``None`` when unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return platform.processor() or None


def environment(device: torch.device) -> dict:
    """The environment of this process running on ``device`` (keys in the module docstring).

    Everything is plain JSON data (str, int, bool, None, lists and dicts of them).
    """
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        try:
            device_name: str | None = torch.cuda.get_device_name(device)
        except Exception:
            device_name = None
    else:
        device_name = _cpu_name()
    commit, dirty = git_state()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": str(torch.__version__),
        "cuda": torch.version.cuda,
        "device": str(device),
        "device_name": device_name,
        "torch_threads": torch.get_num_threads(),
        "packages": {name: package_version(name) for name in PACKAGES},
        "git_commit": commit,
        "git_dirty": dirty,
        "argv": [str(a) for a in sys.argv],
    }
