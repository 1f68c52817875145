"""TEE type -> verifier (the one place a new type plugs in)."""

from __future__ import annotations

from collections.abc import Callable

import chain.pb  # noqa: F401

from infera.tee.v1 import types_pb2
from modules.tee.roots import Roots
from modules.tee.verdict import Evidence, Verdict
from modules.tee.verifiers import insecure, intel, nvidia, snp

Verifier = Callable[[Evidence, Roots, int], Verdict]

VERIFIERS: dict[int, Verifier] = {
    types_pb2.TEE_TYPE_INTEL_TDX: intel.verify_tdx,
    types_pb2.TEE_TYPE_INTEL_SGX: intel.verify_sgx,
    types_pb2.TEE_TYPE_AMD_SEV_SNP: snp.verify_snp,
    types_pb2.TEE_TYPE_NVIDIA_CC: nvidia.verify_nvidia,
    types_pb2.TEE_TYPE_INSECURE_TEST: insecure.verify_insecure,
}
