"""Intel TDX and SGX DCAP quotes, verified offline by dcap-qvl with the collateral and block time.

The collateral is the JSON of dcap-qvl's QuoteCollateralV3 (PCK CRL and its issuer chain, root CA
CRL, TCB info and QE identity with their signatures and issuer chains), fetched by the worker from
Intel PCS or a PCCS and carried in the tx. Each issuer chain must end in the pinned Intel root
(byte-equal) before dcap-qvl runs; dcap-qvl is also given that root.
"""

from __future__ import annotations

import datetime
import json
import re
import warnings
from importlib.metadata import version as package_version
from typing import Any

import dcap_qvl
from cryptography import x509

from modules.tee.roots import Roots, der_of
from modules.tee.verdict import Evidence, Failure, Verdict, failed

NAME = "dcap-qvl"
VERSION = package_version("dcap-qvl")
_FIELDS = (
    "pck_crl_issuer_chain",
    "root_ca_crl",
    "pck_crl",
    "tcb_info_issuer_chain",
    "tcb_info",
    "tcb_info_signature",
    "qe_identity_issuer_chain",
    "qe_identity",
    "qe_identity_signature",
)
_CHAINS = ("pck_crl_issuer_chain", "tcb_info_issuer_chain", "qe_identity_issuer_chain")
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
# dcap-qvl's error texts (pinned 0.7.0) -> failure; first match wins, checked in this order.
_MESSAGES = (
    ("signature is invalid", Failure.BAD_SIGNATURE),
    ("No matching TCB level", Failure.TCB_UNKNOWN),
    ("in the future", Failure.NOT_YET_VALID),
    ("not yet valid", Failure.NOT_YET_VALID),
    ("xpired", Failure.EXPIRED),
    ("certificate chain", Failure.BAD_CHAIN),
    ("CRL", Failure.BAD_CHAIN),
    ("signature", Failure.BAD_CHAIN),
)


def verify_tdx(evidence: Evidence, roots: Roots, now_s: int) -> Verdict:
    """A TDX quote: measurement = MRTD || RTMR0 || RTMR1 || RTMR2 || RTMR3 (240 bytes)."""
    return _verify(evidence, roots, now_s, want_tdx=True)


def verify_sgx(evidence: Evidence, roots: Roots, now_s: int) -> Verdict:
    """An SGX quote: measurement = MRENCLAVE || MRSIGNER (64 bytes)."""
    return _verify(evidence, roots, now_s, want_tdx=False)


def _verify(evidence: Evidence, roots: Roots, now_s: int, *, want_tdx: bool) -> Verdict:
    try:
        return _verify_unsafe(evidence, roots, now_s, want_tdx=want_tdx)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # noqa: BLE001 - a Rust panic is a BaseException; never raise
        return failed(NAME, VERSION, Failure.MALFORMED, f"{type(err).__name__}: {err}")


def _verify_unsafe(evidence: Evidence, roots: Roots, now_s: int, *, want_tdx: bool) -> Verdict:
    collateral = _parse_collateral(evidence.collateral)
    if collateral is None:
        return failed(NAME, VERSION, Failure.MALFORMED, "collateral is not the DCAP JSON")
    if not all(_ends_in_root(collateral[f], roots.intel_root_der) for f in _CHAINS):
        return failed(
            NAME, VERSION, Failure.WRONG_ROOT, "issuer chain does not end in Intel's root"
        )
    quote = dcap_qvl.parse_quote(evidence.report)
    if bool(quote.is_tdx()) != want_tdx:
        return failed(NAME, VERSION, Failure.MALFORMED, "quote is not of the declared TEE type")
    try:
        col = dcap_qvl.QuoteCollateralV3.from_json(json.dumps(collateral, sort_keys=True))
        report = dcap_qvl.verify_with_root_ca(evidence.report, col, roots.intel_root_der, now_s)
    except ValueError as err:
        return failed(NAME, VERSION, _classify(str(err)), str(err).replace("\n", " "))
    claims = json.loads(report.to_json())
    measurement, report_data, debug = _body(claims["report"])
    return Verdict(
        verifier=NAME,
        version=VERSION,
        tcb_status=str(claims["status"]),
        advisories=tuple(sorted(str(a) for a in claims["advisory_ids"])),
        measurement=measurement,
        report_data=report_data,
        debug=debug,
        not_after_s=_not_after(collateral),
    )


def _classify(message: str) -> Failure:
    for needle, failure in _MESSAGES:
        if needle in message:
            return failure
    return Failure.MALFORMED


def _parse_collateral(raw: bytes) -> dict[str, str] | None:
    """The nine fields, all ASCII strings (CRLs and signatures lowercase hex), nothing else."""
    if not raw or max(raw) > 0x7E:
        return None
    data: Any = json.loads(raw.decode("ascii"))
    if not isinstance(data, dict) or sorted(data) != sorted(_FIELDS):
        return None
    if not all(isinstance(data[f], str) for f in _FIELDS):
        return None
    hexes = ("root_ca_crl", "pck_crl", "tcb_info_signature", "qe_identity_signature")
    if not all(_HEX.fullmatch(data[f]) for f in hexes):
        return None
    return {f: data[f] for f in _FIELDS}


def _ends_in_root(chain_pem: str, root_der: bytes) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        certs = x509.load_pem_x509_certificates(chain_pem.encode("ascii"))
    return bool(certs) and der_of(certs[-1]) == root_der


def _body(report: dict[str, Any]) -> tuple[bytes, bytes, bool]:
    """(measurement, report_data, debug) of a TD report or an SGX enclave report."""
    if "SgxEnclave" in report:
        body = report["SgxEnclave"]
        measurement = bytes.fromhex(body["mr_enclave"]) + bytes.fromhex(body["mr_signer"])
        debug = bytes.fromhex(body["attributes"])[0] & 0x02 != 0  # ATTRIBUTES.DEBUG
        return measurement, bytes.fromhex(body["report_data"]), debug
    body = next(iter(report.values()))  # TD10 / TD15 / TD15Ex
    names = ("mr_td", "rt_mr0", "rt_mr1", "rt_mr2", "rt_mr3")
    measurement = b"".join(bytes.fromhex(body[n]) for n in names)
    debug = bytes.fromhex(body["td_attributes"])[0] & 0x01 != 0  # TDATTRIBUTES.DEBUG
    return measurement, bytes.fromhex(body["report_data"]), debug


def _not_after(collateral: dict[str, str]) -> int:
    """Earliest nextUpdate of TCB info, QE identity and both CRLs (unix seconds)."""
    times = [_json_next_update(collateral[f]) for f in ("tcb_info", "qe_identity")]
    for f in ("root_ca_crl", "pck_crl"):
        crl = x509.load_der_x509_crl(bytes.fromhex(collateral[f]))
        if crl.next_update_utc is not None:
            times.append(int(crl.next_update_utc.timestamp()))
    return min(times)


def _json_next_update(text: str) -> int:
    stamp = json.loads(text)["nextUpdate"]
    if not isinstance(stamp, str) or not _DATE.fullmatch(stamp):
        raise ValueError("nextUpdate is not YYYY-MM-DDTHH:MM:SSZ")
    parsed = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    return int(parsed.replace(tzinfo=datetime.UTC).timestamp())
