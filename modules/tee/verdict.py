"""What every verifier returns: a verdict, accepted or failed with a typed failure.

A verifier is a pure function ``(evidence, roots, now_s) -> Verdict``: the report, its collateral
and certificate chain, the pinned vendor roots, and the block time in unix seconds. It never
raises (outsider bytes go in), never reads the clock or the network, and records its own name and
version because its verdict enters the app hash.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Failure(enum.IntEnum):
    """Why a report failed vendor verification (stable: each maps to one tee error code)."""

    NONE = 0
    MALFORMED = 1  # not a report of this type (length, layout, encoding)
    BAD_SIGNATURE = 2  # the report's signature does not verify under its key
    BAD_CHAIN = 3  # a certificate / collateral signature or binding in the chain does not verify
    WRONG_ROOT = 4  # the chain ends in a root other than the pinned vendor root
    EXPIRED = 5  # a certificate or the collateral is past its validity at block time
    NOT_YET_VALID = 6  # a certificate or the collateral is not valid yet at block time
    TCB_UNKNOWN = 7  # the vendor's TCB info has no level for this platform (out of date)


@dataclass(frozen=True)
class Evidence:
    """What a worker sends (MsgAttest fields), as raw bytes."""

    report: bytes
    collateral: bytes = b""
    cert_chain: bytes = b""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one verification. Claims are meaningful only when ``ok``."""

    verifier: str  # e.g. "dcap-qvl"
    version: str  # e.g. "0.7.0"
    failure: Failure = Failure.NONE
    reason: str = ""  # short vendor message (logs, tx log); never parsed
    tcb_status: str = ""  # vendor TCB status string
    advisories: tuple[str, ...] = ()  # sorted
    measurement: bytes = b""  # see Attestation.measurement in proto/infera/tee/v1/types.proto
    report_data: bytes = b""  # 64 bytes (32 for NVIDIA)
    debug: bool = False  # the guest / enclave / TD runs with debugging enabled (host can read it)
    not_after_s: int = 0  # earliest expiry of the collateral / certificates (unix s); 0 = none
    snp_tcb: tuple[int, int, int, int] = field(default=(0, 0, 0, 0))  # bl, tee, snp, microcode

    @property
    def ok(self) -> bool:
        return self.failure == Failure.NONE


def failed(verifier: str, version: str, failure: Failure, reason: str) -> Verdict:
    """A failed verdict; the reason is cut to 160 ASCII characters (it goes into tx logs)."""
    text = reason.encode("ascii", "replace").decode("ascii")[:160]
    return Verdict(verifier=verifier, version=version, failure=failure, reason=text)
