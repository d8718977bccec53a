"""The device a run trains on: ``--device auto|cpu|cuda``.

``auto`` picks CUDA when ``torch.cuda.is_available()`` and the CPU otherwise; ``cuda`` on a
machine without a CUDA device is a :class:`~moetheory.experiments.config.ConfigError` (exit 2
before any work starts), never a silent fall-back to the CPU.

Example
-------
>>> resolve_device("cpu")
device(type='cpu')
>>> resolve_device("auto").type in ("cpu", "cuda")
True
>>> try:
...     resolve_device("tpu")
... except ConfigError as exc:
...     print(exc)
--device 'tpu': expected auto, cpu or cuda

Reference: PyTorch ``torch.device`` and ``torch.cuda.is_available``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moetheory.experiments.config import ConfigError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")
"""The accepted values of ``--device``."""


def resolve_device(name: str) -> torch.device:
    """The ``torch.device`` named by ``--device`` (one of :data:`DEVICES`).

    Raises :class:`ConfigError` for ``cuda`` when no CUDA device is available and for any other
    name.
    """
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available")
        return torch.device("cuda")
    raise ConfigError(f"--device {name!r}: expected auto, cpu or cuda")
