"""Deterministic JSON output."""

from __future__ import annotations

import json


def dumps(data: object) -> str:
    """Sorted keys, two-space indent, UTF-8 text: byte-identical for equal data."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
