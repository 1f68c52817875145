"""NVIDIA Hopper confidential-computing GPUs: the SPDM GET_MEASUREMENTS exchange, signed by the
GPU's attestation key (ECDSA P-384 / SHA-384), and its 5-certificate chain to NVIDIA's pinned
device root, with ``cryptography``.

Report = the 37-byte request (version, code 0xE0, param1, param2, nonce 32, slot) followed by
the response (version, code 0x60, param1, param2, number of blocks 1, record length 3 LE,
record, nonce 32, opaque length 2 LE, opaque, signature 96 = r||s big-endian); the signature
covers everything before it (request and response). report_data = the request nonce (the
verifier's challenge). measurement = SHA-384 of the measurement record: comparing the record's
blocks with NVIDIA's signed RIMs (golden measurements) is done off chain and its digest
allowlisted (README "What is not checked").
"""

from __future__ import annotations

import hashlib
import warnings
from importlib.metadata import version as package_version

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from modules.tee.roots import Roots, der_of
from modules.tee.verdict import Evidence, Failure, Verdict, failed

NAME = "infera-nvidia-spdm"
VERSION = "1+cryptography-" + package_version("cryptography")
REQUEST_BYTES = 37
SIGNATURE_BYTES = 96
CHAIN_LENGTH = 5  # leaf (GSP FMC) .. NVIDIA Device Identity CA


def verify_nvidia(evidence: Evidence, roots: Roots, now_s: int) -> Verdict:
    """Verify one SPDM measurement report with its PEM chain (leaf first)."""
    try:
        return _verify(evidence, roots, now_s)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # noqa: BLE001 - outsider bytes: never raise
        return failed(NAME, VERSION, Failure.MALFORMED, f"{type(err).__name__}: {err}")


def _verify(evidence: Evidence, roots: Roots, now_s: int) -> Verdict:
    report = evidence.report
    record = _record(report)
    if record is None:
        return failed(NAME, VERSION, Failure.MALFORMED, "not an SPDM GET_MEASUREMENTS exchange")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        certs = x509.load_pem_x509_certificates(evidence.cert_chain)
    if len(certs) != CHAIN_LENGTH:
        return failed(NAME, VERSION, Failure.MALFORMED, "cert chain is not 5 certificates")
    if der_of(certs[-1]) != der_of(roots.nvidia_root):
        return failed(NAME, VERSION, Failure.WRONG_ROOT, "chain does not end in NVIDIA's root")
    if not all(_issued(child, parent) for child, parent in zip(certs, certs[1:], strict=False)):
        return failed(NAME, VERSION, Failure.BAD_CHAIN, "certificate chain does not verify")
    if any(c.not_valid_before_utc.timestamp() > now_s for c in certs):
        return failed(NAME, VERSION, Failure.NOT_YET_VALID, "a certificate is not valid yet")
    not_after = min(int(c.not_valid_after_utc.timestamp()) for c in certs)
    if now_s >= not_after:
        return failed(NAME, VERSION, Failure.EXPIRED, "a certificate has expired")
    if not _signed(certs[0], report):
        return failed(NAME, VERSION, Failure.BAD_SIGNATURE, "SPDM signature does not verify")
    return Verdict(
        verifier=NAME,
        version=VERSION,
        tcb_status="spdm-1.1",
        measurement=hashlib.sha384(record).digest(),
        report_data=report[4:36],
        not_after_s=not_after,
    )


def _record(report: bytes) -> bytes | None:
    """The measurement record when the bytes are exactly one request + one signed response."""
    if len(report) < REQUEST_BYTES + 8 + 32 + 2 + SIGNATURE_BYTES or report[1] != 0xE0:
        return None
    response = report[REQUEST_BYTES:]
    if response[1] != 0x60 or response[0] != report[0]:
        return None
    record_len = int.from_bytes(response[5:8], "little")
    opaque_at = 8 + record_len + 32
    if len(response) < opaque_at + 2:
        return None
    opaque_len = int.from_bytes(response[opaque_at : opaque_at + 2], "little")
    if len(response) != opaque_at + 2 + opaque_len + SIGNATURE_BYTES:
        return None
    return response[8 : 8 + record_len]


def _issued(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _signed(leaf: x509.Certificate, report: bytes) -> bool:
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        return False
    sig = report[-SIGNATURE_BYTES:]
    r, s = int.from_bytes(sig[:48], "big"), int.from_bytes(sig[48:], "big")
    if r == 0 or s == 0:
        return False
    try:
        key.verify(
            utils.encode_dss_signature(r, s), report[:-SIGNATURE_BYTES], ec.ECDSA(hashes.SHA384())
        )
    except InvalidSignature:
        return False
    return True
