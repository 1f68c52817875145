"""Pure tee rules: the report_data binding, epochs and expiry, TCB policy, eligibility."""

from __future__ import annotations

import hashlib
import re

import chain.pb  # noqa: F401

from infera.tee.v1 import types_pb2
from modules.tee.verdict import Verdict

T = types_pb2
REPORT_DATA_DOMAIN = b"infera/tee/v1/report_data"  # domain tag: no other sha256 input starts so
# Parts of a chain id (split on "-") that make it a test network (INSECURE_TEST may be allowed).
TEST_CHAIN_ID_PARTS = frozenset({"test", "testnet", "local", "dev", "devnet", "it", "e2e"})
_MEASUREMENT_HEX = re.compile(r"(?:[0-9a-f]{2}){1,256}")  # 1..256 raw bytes, lower-case hex
INTEL_TYPES = (T.TEE_TYPE_INTEL_TDX, T.TEE_TYPE_INTEL_SGX)


def compute_report_data(
    chain_id: str, epoch: int, encryption_pubkey: bytes, operator: bytes
) -> bytes:
    """The 32-byte digest a worker's report_data must carry (README "report_data binding").

    sha256(domain || u16be(len(chain_id)) || chain_id (ASCII) || u64be(epoch) ||
    u8(len(pubkey)) || pubkey || u8(len(operator)) || operator (20 raw bytes)).
    """
    chain = chain_id.encode("ascii")
    return hashlib.sha256(
        REPORT_DATA_DOMAIN
        + len(chain).to_bytes(2, "big")
        + chain
        + epoch.to_bytes(8, "big")
        + bytes([len(encryption_pubkey)])
        + encryption_pubkey
        + bytes([len(operator)])
        + operator
    ).digest()


def compute_report_data_field(digest: bytes, width: int) -> bytes:
    """The report_data field as the TEE writes it: the digest, zero-padded to 64 bytes (Intel,
    SNP, test) or alone where the field is 32 bytes (NVIDIA's SPDM nonce)."""
    return digest + bytes(width - len(digest))


def is_report_data_bound(report_data: bytes, digest: bytes) -> bool:
    return len(report_data) in (32, 64) and report_data == compute_report_data_field(
        digest, len(report_data)
    )


def compute_epoch(height: int, epoch_blocks: int) -> int:
    return height // epoch_blocks


def compute_expires_height(epoch: int, params: types_pb2.Params) -> int:
    """An attestation bound to ``epoch`` is expired from this height on (an epoch boundary)."""
    return (epoch + params.validity_epochs) * params.epoch_blocks


def is_valid_at(attestation: types_pb2.Attestation, height: int, time_s: int) -> bool:
    """Not expired at (height, block time): before its epoch boundary and its collateral end."""
    if height >= attestation.expires_height:
        return False
    return attestation.expires_time == 0 or time_s < attestation.expires_time


def is_test_chain_id(chain_id: str) -> bool:
    """A chain id one of whose "-"-separated parts names a test network (ASCII, lower-case)."""
    return any(part in TEST_CHAIN_ID_PARTS for part in chain_id.split("-"))


def is_valid_measurement_list(measurements: list[str], limit: int) -> bool:
    if len(measurements) > limit or measurements != sorted(set(measurements)):
        return False
    return all(_MEASUREMENT_HEX.fullmatch(m) for m in measurements)


def is_valid_type_list(types: list[int], allowed: list[int]) -> bool:
    return types == sorted(set(types)) and all(t in allowed for t in types)


def is_tcb_allowed(tee_type: int, verdict: Verdict, params: types_pb2.Params) -> bool:
    """Vendor TCB policy: Intel status allowlist and refused advisories, SNP minimum versions.

    NVIDIA and the test type carry no TCB level the chain can compare (README "Known limits").
    """
    if tee_type in INTEL_TYPES:
        if verdict.tcb_status not in params.allowed_intel_tcb_statuses:
            return False
        return not set(verdict.advisories) & set(params.refused_intel_advisories)
    if tee_type == T.TEE_TYPE_AMD_SEV_SNP:
        floor = (
            params.min_snp_bootloader,
            params.min_snp_tee,
            params.min_snp_snp,
            params.min_snp_microcode,
        )
        return all(have >= need for have, need in zip(verdict.snp_tcb, floor, strict=True))
    return True


def is_measurement_allowed(
    measurement_hex: str, requirement: types_pb2.ModelRequirement, params: types_pb2.Params
) -> bool:
    """In the model's own list, or (when the model has none) in the network's list."""
    allowed = requirement.measurements or params.measurements
    return measurement_hex in allowed


def is_eligible(
    attestation: types_pb2.Attestation | None,
    *,
    encryption_pubkey: bytes,
    requirement: types_pb2.ModelRequirement,
    params: types_pb2.Params,
    height: int,
    time_s: int,
) -> bool:
    """May this worker serve the model's jobs now? A valid attestation of a required type and an
    allowed measurement, bound to the encryption key the worker still registers."""
    if attestation is None or not is_valid_at(attestation, height, time_s):
        return False
    if attestation.tee_type not in requirement.tee_types:
        return False
    if attestation.encryption_pubkey != encryption_pubkey:
        return False
    return is_measurement_allowed(attestation.measurement.hex(), requirement, params)
