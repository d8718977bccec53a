"""Shared fixtures: verdicts are cached per (gate, expert, dim) across the test session."""

from __future__ import annotations

from functools import lru_cache

import pytest

from moetheory import identify


@lru_cache(maxsize=None)
def verdict(gate: str, expert: str, dim: int = 2):
    return identify(gate, expert, dim=dim)


@pytest.fixture
def get_verdict():
    return verdict
