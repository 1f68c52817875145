"""Default tee params and their validation (genesis).

Gas is priced from bench/bench_tee.py (README "Gas"): GAS_PER_MS of verification CPU, so a block
of 100,000,000 gas (the presets' block.max_gas) holds at most ~1 s of attestation checks, applied
to the measured CPU p99 per type with a x2 margin for slower validators.
"""

import re

import chain.pb  # noqa: F401

from infera.tee.v1 import types_pb2
from modules.tee import logic

T = types_pb2
GAS_PER_MS = 100_000  # gas per millisecond of verification CPU (block max_gas 1e8 ~ 1 s)
HARD_MAX_REPORT_BYTES = 65_536  # no params may allow more (the tx limit is ~1 MiB)
HARD_MAX_COLLATERAL_BYTES = 262_144
HARD_MAX_CERT_CHAIN_BYTES = 65_536
MAX_MEASUREMENTS = 256  # entries of one allowlist (network or model)
KNOWN_TYPES = (
    T.TEE_TYPE_INTEL_TDX,
    T.TEE_TYPE_INTEL_SGX,
    T.TEE_TYPE_AMD_SEV_SNP,
    T.TEE_TYPE_NVIDIA_CC,
    T.TEE_TYPE_INSECURE_TEST,
)
_TCB_STATUS = re.compile(r"[A-Za-z]{1,64}")
_ADVISORY = re.compile(r"INTEL-SA-[0-9]{5}")


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        allowed_types=[
            T.TEE_TYPE_INTEL_TDX,
            T.TEE_TYPE_INTEL_SGX,
            T.TEE_TYPE_AMD_SEV_SNP,
            T.TEE_TYPE_NVIDIA_CC,
        ],
        allowed_intel_tcb_statuses=["SWHardeningNeeded", "UpToDate"],  # Intel's status names
        refused_intel_advisories=[],
        min_snp_bootloader=0,  # SNP TCB floors: raise when AMD publishes a security bulletin
        min_snp_tee=0,
        min_snp_snp=0,
        min_snp_microcode=0,
        measurements=[],  # network allowlist (hex): empty = only models' own lists admit
        epoch_blocks=3600,  # blocks per epoch (~1 h at 1 s blocks)
        validity_epochs=24,  # an attestation lives at most 24 epochs (~1 day), then re-attest
        gas_intel=700_000,  # bench/bench_tee.py: TDX CPU p99 ~2.9-3.1 ms x 2 -> 6.2 ms, rounded up
        gas_snp=500_000,  # SNP CPU p99 ~1.8 ms x 2 -> 3.6 ms, rounded up
        gas_nvidia=1_400_000,  # NVIDIA CPU p99 ~5.7-6.0 ms x 2 -> 12 ms, rounded up
        gas_insecure_test=10_000,  # a 120-byte parse
        gas_per_byte=10,  # parsing the report, collateral JSON and certificates
        max_report_bytes=16_384,  # TDX quote ~5 KB, SNP report 1184 B, NVIDIA SPDM ~4.2 KB
        max_collateral_bytes=65_536,  # Intel collateral JSON ~14-19 KB
        max_cert_chain_bytes=16_384,  # VCEK DER ~1.4 KB, NVIDIA PEM chain ~5 KB
        test_network=False,
    )


def validate_params(params: types_pb2.Params, chain_id: str) -> None:
    """Raise ``ValueError`` when params are unusable on ``chain_id`` (genesis)."""
    types = list(params.allowed_types)
    if types != sorted(set(types)) or any(t not in KNOWN_TYPES for t in types):
        raise ValueError("tee allowed_types must be sorted, distinct and known types")
    if params.test_network and not logic.is_test_chain_id(chain_id):
        raise ValueError(
            f"tee test_network is refused on chain {chain_id!r}: not a test network id "
            f"(a '-'-separated part must be one of {sorted(logic.TEST_CHAIN_ID_PARTS)})"
        )
    if T.TEE_TYPE_INSECURE_TEST in types and not params.test_network:
        raise ValueError("tee INSECURE_TEST (not a TEE) is allowed only with test_network")
    _validate_lists(params)
    _validate_numbers(params)


def _validate_lists(params: types_pb2.Params) -> None:
    statuses = list(params.allowed_intel_tcb_statuses)
    if statuses != sorted(set(statuses)) or not all(_TCB_STATUS.fullmatch(s) for s in statuses):
        raise ValueError("tee allowed_intel_tcb_statuses must be sorted, distinct [A-Za-z]{1,64}")
    refused = list(params.refused_intel_advisories)
    if refused != sorted(set(refused)) or not all(_ADVISORY.fullmatch(a) for a in refused):
        raise ValueError("tee refused_intel_advisories must be sorted, distinct INTEL-SA-NNNNN")
    if not logic.is_valid_measurement_list(list(params.measurements), MAX_MEASUREMENTS):
        raise ValueError(
            f"tee measurements must be sorted, distinct lower-case hex, at most {MAX_MEASUREMENTS}"
        )


def _validate_numbers(params: types_pb2.Params) -> None:
    if not 1 <= params.epoch_blocks <= 10_000_000 or not 1 <= params.validity_epochs <= 10_000:
        raise ValueError("tee epoch_blocks must be 1..1e7 and validity_epochs 1..1e4")
    gas = (params.gas_intel, params.gas_snp, params.gas_nvidia, params.gas_insecure_test)
    if min(gas) < 1:
        raise ValueError("tee per-type gas must be positive")
    limits = (
        (params.max_report_bytes, HARD_MAX_REPORT_BYTES),
        (params.max_collateral_bytes, HARD_MAX_COLLATERAL_BYTES),
        (params.max_cert_chain_bytes, HARD_MAX_CERT_CHAIN_BYTES),
    )
    if any(not 1 <= value <= cap for value, cap in limits):
        raise ValueError("tee size limits must be positive and within the hard caps")
