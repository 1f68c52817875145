"""Default zk params, priced from measured py-ecc costs (README "Gas and the per-block cap")."""

import chain.pb  # noqa: F401

from infera.zk.v1 import types_pb2
from modules.zk.encoding import MAX_PUBLIC_INPUTS

# One single Groth16 check with py-ecc is ~0.8 s on this kind of machine (4 Miller loops and one
# final exponentiation); a batch of 8 costs 0.235 s per proof (bench/bench_zk.py). The end-block
# work is bounded by max_miller_loops_per_block whatever the proofs (undecided ones wait).
VERIFY_GAS = 2_000_000  # gas per submitted proof (its share of the end-block batch)


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        max_proofs_per_block=16,  # proofs one block verifies (worst case ~16 x 2 x 0.8 s)
        verify_gas=VERIFY_GAS,  # gas per MsgSubmitProof
        key_gas_per_byte=100,  # gas per verifying-key byte (decoding + G2 subgroup checks)
        max_public_inputs=16,  # public inputs a key may declare
        refuse_dev_keys=False,  # production genesis sets true
        max_miller_loops_per_block=40,  # ~6 s of py-ecc at worst; 16 valid proofs need 19
    )


def validate_params(params: types_pb2.Params) -> None:
    """Raise ``ValueError`` when params are unusable (genesis)."""
    if not 1 <= params.max_proofs_per_block <= 256:
        raise ValueError("zk max_proofs_per_block must be 1..256")
    if params.verify_gas < 1:
        raise ValueError("zk verify_gas must be positive")
    if params.max_miller_loops_per_block < 4:
        raise ValueError("zk max_miller_loops_per_block must be at least 4 (one proof)")
    if not 1 <= params.max_public_inputs <= MAX_PUBLIC_INPUTS:
        raise ValueError(f"zk max_public_inputs must be 1..{MAX_PUBLIC_INPUTS}")
