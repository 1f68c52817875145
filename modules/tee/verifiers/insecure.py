"""INSECURE_TEST: NOT A TEE. An unsigned report for test networks only (genesis refuses it on any
chain whose tee genesis does not say ``test_network``).

Layout (120 bytes): b"INSECURE" (8) || measurement (48) || report_data (64). Anyone can write
one; it exists so that the attestation, routing and expiry rules can run end to end on machines
without TEE hardware.
"""

from __future__ import annotations

from modules.tee.roots import Roots
from modules.tee.verdict import Evidence, Failure, Verdict, failed

NAME = "insecure-test"
VERSION = "1"
MAGIC = b"INSECURE"
REPORT_BYTES = 8 + 48 + 64


def build_report(measurement: bytes, report_data: bytes) -> bytes:
    """A test report (tests and the test-network CLI path)."""
    if len(measurement) != 48 or len(report_data) != 64:
        raise ValueError("measurement is 48 bytes, report_data 64")
    return MAGIC + measurement + report_data


def verify_insecure(evidence: Evidence, roots: Roots, now_s: int) -> Verdict:
    """Parse only; no signature, no root, no time (there is nothing to trust)."""
    report = evidence.report
    if len(report) != REPORT_BYTES or report[:8] != MAGIC or evidence.collateral:
        return failed(NAME, VERSION, Failure.MALFORMED, "not an INSECURE test report")
    return Verdict(
        verifier=NAME,
        version=VERSION,
        tcb_status="insecure-test",
        measurement=report[8:56],
        report_data=report[56:120],
    )
