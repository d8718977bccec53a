"""Shared fixtures: verdicts are cached per (gate, expert, dim) across the test session."""

from __future__ import annotations

from functools import cache

import pytest

from moetheory import identify


@cache
def verdict(gate: str, expert: str, dim: int = 2):
    return identify(gate, expert, dim=dim)


@pytest.fixture
def get_verdict():
    return verdict


@pytest.fixture(autouse=True, scope="session")
def _sigint_raises():
    """Ctrl-C tests need SIGINT to raise KeyboardInterrupt, as in a terminal; a harness that
    runs the suite in the background starts it with SIGINT ignored."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
