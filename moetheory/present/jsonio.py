"""Deterministic JSON output, and the JSON renderers of verdicts and predictions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from moetheory.present.formats import renders

if TYPE_CHECKING:
    from moetheory.identify.verdict import Verdict
    from moetheory.rates.predict import Prediction


def dumps(data: object) -> str:
    """Sorted keys, two-space indent, UTF-8 text: byte-identical for equal data."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


@renders("verdict", "json")
def verdict_json(v: Verdict, prediction: Prediction | None = None) -> str:
    """The verdict with its certificate (``Verdict.to_json``), the prediction under
    ``"prediction"`` when given."""
    data = v.to_json()
    if prediction is not None:
        data["prediction"] = prediction.to_json()
    return dumps(data)
