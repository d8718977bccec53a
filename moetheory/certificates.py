"""Verify any saved document moetheory writes, dispatching on its ``schema`` field.

``moetheory verify FILE`` accepts a verdict (``moetheory.verdict/2``, from ``identify --json``),
a list of verdicts (a report's ``identifiability.json``) and an r̄ record (``moetheory.rbar/1``,
from ``rbar --json``). The file is read by :func:`moetheory.schema.read_json` (size, encoding,
depth and number limits) and each document by its own verifier, which re-derives every claim.

Example::

    >>> from moetheory import identify
    >>> verify_document([identify("softmax", "linear", dim=1).to_json()]).ok
    True
"""

from __future__ import annotations

from typing import cast

from moetheory.errors import CertificateError
from moetheory.identify.verdict import SCHEMA as VERDICT
from moetheory.identify.verify import VerifyReport, verify_json
from moetheory.rbar import SCHEMA as RBAR
from moetheory.rbar import verify_rbar_json
from moetheory.schema import Node

SHATTER = "moetheory.shatter/1"
"""Schema of a shattering certificate (``moetheory shatter``; verified by
:func:`moetheory.experiments.shatter.certificate.verify_shatter_json`)."""

MAX_DOCUMENTS = 10_000
"""Most verdicts in one list."""


def verify_document(data: object) -> VerifyReport:
    """Re-check a verdict, a list of verdicts or an r̄ record (see the module docstring)."""
    if isinstance(data, list):
        if not data or len(data) > MAX_DOCUMENTS:
            raise CertificateError(f"a list of 1 to {MAX_DOCUMENTS} verdicts expected")
        report = VerifyReport()
        for i, item in enumerate(data):
            if Node(item, f"[{i}]")["schema"].string(64) != VERDICT:
                raise CertificateError(f"[{i}]: a list may hold verdicts ({VERDICT}) only")
            try:
                report.merge(verify_json(item), f"[{i}] ")
            except CertificateError as exc:
                raise CertificateError(f"[{i}] {exc}") from None
        return report
    schema = Node(data, "file")["schema"].string(64)
    if schema == VERDICT:
        return verify_json(data)
    if schema == RBAR:
        # Node(data)["schema"] above succeeded, so data is a JSON object (a dict)
        ok, failed = verify_rbar_json(cast(dict, data))
        report = VerifyReport()
        for claim in failed:
            report.check(False, claim)
        report.check(ok, "r̄ record: every certificate verified and the claimed values follow")
        return report
    if schema == SHATTER:
        from moetheory.experiments.shatter.certificate import verify_shatter_json

        ok, lines = verify_shatter_json(data)
        report = VerifyReport()
        for line in lines:
            status, _, claim = line.partition(": ")
            report.check(status != "FAIL", claim if status in ("PASS", "FAIL") else line)
        report.check(ok, "shattering certificate: every exact claim re-checked")
        return report
    raise CertificateError(
        f"file.schema: {schema!r} is not one of {VERDICT!r}, {RBAR!r}, {SHATTER!r}"
    )
