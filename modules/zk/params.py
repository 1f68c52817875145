"""Default zk params, priced from measured py-ecc costs (README "Gas and the per-block cap")."""

import chain.pb  # noqa: F401

from infera.zk.v1 import types_pb2
from modules.zk.encoding import MAX_PUBLIC_INPUTS

# One single Groth16 check with py-ecc is ~0.8 s on this kind of machine; the default block
# (max_gas 100,000,000) spends its gas on at most max_proofs_per_block of them, so the worst
# end-block (every proof bad: bisection, about 2 batch checks per proof) stays bounded.
VERIFY_GAS = 2_000_000  # gas per submitted proof (its share of the end-block batch)


def default_params() -> types_pb2.Params:
    return types_pb2.Params(
        max_proofs_per_block=16,  # proofs one block verifies (worst case ~16 x 2 x 0.8 s)
        verify_gas=VERIFY_GAS,  # gas per MsgSubmitProof
        key_gas_per_byte=100,  # gas per verifying-key byte (decoding + G2 subgroup checks)
        max_public_inputs=16,  # public inputs a key may declare
        refuse_dev_keys=False,  # production genesis sets true
    )


def validate_params(params: types_pb2.Params) -> None:
    """Raise ``ValueError`` when params are unusable (genesis)."""
    if not 1 <= params.max_proofs_per_block <= 256:
        raise ValueError("zk max_proofs_per_block must be 1..256")
    if params.verify_gas < 1:
        raise ValueError("zk verify_gas must be positive")
    if not 1 <= params.max_public_inputs <= MAX_PUBLIC_INPUTS:
        raise ValueError(f"zk max_public_inputs must be 1..{MAX_PUBLIC_INPUTS}")
