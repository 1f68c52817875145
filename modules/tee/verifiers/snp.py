"""AMD SEV-SNP attestation reports: ARK -> ASK -> VCEK (RSA-PSS-SHA384), then the report's
ECDSA P-384 signature over bytes 0x000..0x29F, with ``cryptography``.

The evidence's cert_chain is the VCEK in DER (from AMD KDS: /vcek/v1/{product}/{hwid}?...); the
ARK and ASK are pinned. The VCEK must be the one of this chip at this TCB: its hwID extension
equals the report's CHIP_ID and its SPL extensions equal the report's REPORTED_TCB.
Report layout (SEV-SNP ABI spec 56860, table "ATTESTATION_REPORT"): version 0x00 (u32),
policy 0x08 (u64), signature_algo 0x34 (u32, 1 = ECDSA P-384 SHA-384), report_data 0x50 (64),
measurement 0x90 (48), reported_tcb 0x180 (u64), chip_id 0x1A0 (64), signature 0x2A0
(r: 72 bytes little-endian, s: 72 bytes little-endian).
"""

from __future__ import annotations

from importlib.metadata import version as package_version

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from modules.tee.roots import Roots, load_der
from modules.tee.verdict import Evidence, Failure, Verdict, failed

NAME = "infera-snp"
VERSION = "1+cryptography-" + package_version("cryptography")
REPORT_BYTES = 0x4A0  # 1184
SIGNED_BYTES = 0x2A0
MAX_VCEK_BYTES = 4096
_POLICY_DEBUG = 1 << 19
_SPL_OID = "1.3.6.1.4.1.3704.1.3."  # + 1 blSPL, 2 teeSPL, 3 snpSPL, 8 ucodeSPL (Turin: 9 fmcSPL)
_HWID_OID = "1.3.6.1.4.1.3704.1.4"


def verify_snp(evidence: Evidence, roots: Roots, now_s: int) -> Verdict:
    """Verify one SNP report; measurement = MEASUREMENT (48 bytes)."""
    try:
        return _verify(evidence, roots, now_s)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # noqa: BLE001 - outsider bytes: never raise
        return failed(NAME, VERSION, Failure.MALFORMED, f"{type(err).__name__}: {err}")


def _verify(evidence: Evidence, roots: Roots, now_s: int) -> Verdict:
    report = evidence.report
    if len(report) != REPORT_BYTES or _u32(report, 0x34) != 1 or _u32(report, 0) not in (2, 3, 5):
        return failed(NAME, VERSION, Failure.MALFORMED, "not a 1184-byte ECDSA-P384 SNP report")
    if not 0 < len(evidence.cert_chain) <= MAX_VCEK_BYTES:
        return failed(NAME, VERSION, Failure.MALFORMED, "VCEK missing or oversize")
    vcek = load_der(evidence.cert_chain)
    found = _chain(vcek, roots)
    if found is not None:
        return failed(NAME, VERSION, found[0], found[1])
    if not vcek.not_valid_before_utc.timestamp() <= now_s:
        return failed(NAME, VERSION, Failure.NOT_YET_VALID, "VCEK not valid yet")
    not_after = int(vcek.not_valid_after_utc.timestamp())
    if now_s >= not_after:
        return failed(NAME, VERSION, Failure.EXPIRED, "VCEK expired")
    product = _product(vcek, roots)
    tcb = _reported_tcb(report, turin=product == "Turin")
    if not _vcek_matches(vcek, report, tcb, turin=product == "Turin"):
        return failed(NAME, VERSION, Failure.BAD_CHAIN, "VCEK is not this chip's at this TCB")
    if not _report_signed(vcek, report):
        return failed(NAME, VERSION, Failure.BAD_SIGNATURE, "report signature does not verify")
    return Verdict(
        verifier=NAME,
        version=VERSION,
        tcb_status=f"bl={tcb[0]},tee={tcb[1]},snp={tcb[2]},ucode={tcb[3]}",
        measurement=report[0x90:0xC0],
        report_data=report[0x50:0x90],
        debug=_u64(report, 0x08) & _POLICY_DEBUG != 0,
        not_after_s=not_after,
        snp_tcb=tcb,
    )


def _chain(vcek: x509.Certificate, roots: Roots) -> tuple[Failure, str] | None:
    """None when ARK signs ASK and ASK signs the VCEK, for a pinned (ARK, ASK) pair."""
    pair = next(((a, k) for _, a, k in roots.amd if k.subject == vcek.issuer), None)
    if pair is None:
        return Failure.WRONG_ROOT, "VCEK issuer is no pinned AMD ASK"
    ark, ask = pair
    if not (_pss_signed(ark, ask) and _pss_signed(ask, vcek)):
        return Failure.BAD_CHAIN, "ARK -> ASK -> VCEK signatures do not verify"
    return None


def _pss_signed(issuer: x509.Certificate, cert: x509.Certificate) -> bool:
    key = issuer.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
    try:
        key.verify(cert.signature, cert.tbs_certificate_bytes, pss, hashes.SHA384())
    except InvalidSignature:
        return False
    return True


def _product(vcek: x509.Certificate, roots: Roots) -> str:
    return next(name for name, _, ask in roots.amd if ask.subject == vcek.issuer)


def _reported_tcb(report: bytes, *, turin: bool) -> tuple[int, int, int, int]:
    """(bootloader, tee, snp, microcode) SPLs of REPORTED_TCB (Turin moves them: FMC first)."""
    raw = report[0x180:0x188]
    if turin:
        return raw[1], raw[2], raw[3], raw[7]
    return raw[0], raw[1], raw[6], raw[7]


def _vcek_matches(
    vcek: x509.Certificate, report: bytes, tcb: tuple[int, int, int, int], *, turin: bool
) -> bool:
    values = {e.oid.dotted_string: e.value for e in vcek.extensions}
    hwid = values.get(_HWID_OID)
    chip_id = report[0x1A0 : 0x1A8 if turin else 0x1E0]
    if not isinstance(hwid, x509.UnrecognizedExtension) or hwid.value != chip_id:
        return False
    wanted = dict(zip(("1", "2", "3", "8"), tcb, strict=True))
    for suffix, level in wanted.items():
        found = values.get(_SPL_OID + suffix)
        # DER INTEGER 0..255: 02 01 xx, or 02 02 00 xx above 127
        if not isinstance(found, x509.UnrecognizedExtension):
            return False
        if found.value not in (bytes((2, 1, level)), bytes((2, 2, 0, level))):
            return False
    return True


def _report_signed(vcek: x509.Certificate, report: bytes) -> bool:
    key = vcek.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        return False
    r = int.from_bytes(report[0x2A0:0x2E8], "little")
    s = int.from_bytes(report[0x2E8:0x330], "little")
    if not (0 < r < 2**384 and 0 < s < 2**384):
        return False
    try:
        key.verify(
            utils.encode_dss_signature(r, s), report[:SIGNED_BYTES], ec.ECDSA(hashes.SHA384())
        )
    except InvalidSignature:
        return False
    return True


def _u32(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 4], "little")


def _u64(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 8], "little")
