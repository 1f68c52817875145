"""The pinned vendor roots as parsed certificates, one ``Roots`` value the verifiers take.

Tests pass other roots to prove that a chain to any other root is refused (WRONG_ROOT).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from modules.tee import roots_pem


def load_pem(pem: bytes) -> x509.Certificate:
    """Parse one certificate, silencing cryptography's warning on AMD's zero serial numbers.

    AMD's VCEKs carry serial 0, which RFC 5280 forbids; cryptography 50 (pinned) parses them with a
    CryptographyDeprecationWarning that a strict warnings filter would turn into an error.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x509.load_pem_x509_certificate(pem)


def load_der(der: bytes) -> x509.Certificate:
    """Parse one DER certificate (same warning handling as ``load_pem``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x509.load_der_x509_certificate(der)


def der_of(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


@dataclass(frozen=True)
class Roots:
    """Trust anchors: Intel's root (DER), AMD (ARK, ASK) pairs by product, NVIDIA's device root."""

    intel_root_der: bytes
    amd: tuple[tuple[str, x509.Certificate, x509.Certificate], ...]  # (product, ark, ask)
    nvidia_root: x509.Certificate


def _pinned(pem: str, sha256_hex: str) -> x509.Certificate:
    cert = load_pem(pem.encode())
    if hashlib.sha256(der_of(cert)).hexdigest() != sha256_hex:
        raise RuntimeError("a pinned TEE root does not match its fingerprint")
    return cert


def pinned_roots() -> Roots:
    """The roots consensus uses (modules/tee/roots_pem.py)."""
    p = roots_pem
    return Roots(
        intel_root_der=der_of(_pinned(p.INTEL_SGX_ROOT_CA, p.INTEL_SGX_ROOT_CA_SHA256)),
        amd=(
            (
                "Milan",
                _pinned(p.AMD_MILAN_ARK, p.AMD_MILAN_ARK_SHA256),
                _pinned(p.AMD_MILAN_ASK, p.AMD_MILAN_ASK_SHA256),
            ),
            (
                "Genoa",
                _pinned(p.AMD_GENOA_ARK, p.AMD_GENOA_ARK_SHA256),
                _pinned(p.AMD_GENOA_ASK, p.AMD_GENOA_ASK_SHA256),
            ),
            (
                "Turin",
                _pinned(p.AMD_TURIN_ARK, p.AMD_TURIN_ARK_SHA256),
                _pinned(p.AMD_TURIN_ASK, p.AMD_TURIN_ASK_SHA256),
            ),
        ),
        nvidia_root=_pinned(p.NVIDIA_DEVICE_ROOT, p.NVIDIA_DEVICE_ROOT_SHA256),
    )


PINNED = pinned_roots()
