"""beacon messages: a validator registers its BLS key (validators created after genesis)."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from infera.beacon.v1 import tx_pb2
from modules.beacon import logic
from modules.beacon.errors import ErrInvalidKey, ErrKeyExists, ErrKeyInUse, ErrNotValidator
from modules.beacon.expected import StakingKeeper
from modules.beacon.keeper import BeaconKeeper

EVENT_REGISTER_KEY = "beacon_register_key"


def register_bls_key(
    ctx: Context, keeper: BeaconKeeper, staking: StakingKeeper, msg: tx_pb2.MsgRegisterBlsKey
) -> tx_pb2.MsgRegisterBlsKeyResponse:
    """Register the BLS key of the signer's validator.

    Fails when: the operator address is malformed; the signer operates no validator (2); the
    validator already has a key (3: keys are never replaced, see README "Keys"); the key is
    registered for another validator (5); the key is not 48 bytes or its proof of possession
    fails (4). The cheap checks run first; the pairing check is charged ``register_key_gas``
    before it runs, whatever its verdict.
    """
    # verify
    operator = crypto.from_bech32(msg.operator)
    pubkey, proof = bytes(msg.bls_pubkey), bytes(msg.proof_of_possession)
    if len(pubkey) != logic.PUBKEY_LENGTH or len(proof) != logic.SHARE_LENGTH:
        raise ErrInvalidKey(f"key {len(pubkey)} bytes, proof {len(proof)} bytes")
    # load
    validator = staking.get_validator(ctx, operator)
    if validator is None:
        raise ErrNotValidator(msg.operator)
    address = crypto.consensus_address(bytes(validator.consensus_pubkey))
    # check
    if keeper.get_key(ctx, address) is not None:
        raise ErrKeyExists(address.hex())
    if keeper.get_key_owner(ctx, pubkey) is not None:
        raise ErrKeyInUse(pubkey.hex())
    ctx.gas.consume(keeper.get_params(ctx).register_key_gas, "beacon: proof of possession")
    if not logic.is_valid_registration(pubkey, proof):
        raise ErrInvalidKey("proof of possession does not verify")
    # mutate
    keeper.set_key(ctx, address, pubkey, proof)
    # events
    ctx.events.emit(
        EVENT_REGISTER_KEY,
        attr("operator", crypto.to_bech32(operator), index=True),
        attr("consensus_address", address.hex(), index=True),
    )
    # respond
    return tx_pb2.MsgRegisterBlsKeyResponse(consensus_address=address)
