"""models messages: register, update (price, min redundancy) and retire."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.events import attr
from infera.models.v1 import tx_pb2, types_pb2
from modules.models import events, logic
from modules.models.errors import (
    ErrModelExists,
    ErrModelNotFound,
    ErrModelRetired,
    ErrNothingToUpdate,
    ErrNotModelOwner,
)
from modules.models.keeper import ModelsKeeper


def register_model(
    ctx: Context, keeper: ModelsKeeper, msg: tx_pb2.MsgRegisterModel
) -> tx_pb2.MsgRegisterModelResponse:
    """Register a model owned by the signer.

    Fails when: the owner address is malformed; the id is not [a-z0-9._-]{1,64}; the family is
    not llama, gpt2 or bert; the layer count is outside 1..max_layers; the commitments are not
    one 32-byte hash per layer; the weights root differs from the recomputed Merkle root;
    bytes_per_layer is 0; the tokenizer hash is not 32 bytes; the dtype or a precision class is unknown, or a class repeats; the price is
    not a decimal string; min_redundancy is outside 1..max_min_redundancy; the zk key reference
    is too long; an optional hash is not 32 bytes; the id is taken (retired ids included).
    """
    # verify
    owner = crypto.to_bech32(crypto.from_bech32(msg.owner))  # canonical (lower-case) form
    model = _model_from_msg(ctx, msg, owner)
    # load
    params = keeper.get_params(ctx)
    # check
    logic.validate_model(model, params)
    if keeper.get_model(ctx, model.id) is not None:
        raise ErrModelExists(f"model {model.id!r}")
    # mutate
    model.price_per_token = logic.compute_canonical_price(model.price_per_token)
    keeper.set_model(ctx, model)
    # events
    ctx.events.emit(
        events.REGISTER_MODEL,
        attr("model_id", model.id, index=True),
        attr("owner", model.owner, index=True),
        attr("family", model.family),
        attr("num_layers", model.num_layers),
        attr("weights_root", model.weights_root.hex()),
        attr("price_per_token", model.price_per_token),
    )
    # respond
    return tx_pb2.MsgRegisterModelResponse()


def update_model(
    ctx: Context, keeper: ModelsKeeper, msg: tx_pb2.MsgUpdateModel
) -> tx_pb2.MsgUpdateModelResponse:
    """Change a model's price and/or minimum redundancy.

    Fails when: the owner address is malformed; neither field is given; the price is not a
    decimal string; min_redundancy is above max_min_redundancy; the model does not exist; the
    signer is not its owner; the model is retired.
    """
    # verify
    crypto.from_bech32(msg.owner)
    if not msg.price_per_token and msg.min_redundancy == 0:
        raise ErrNothingToUpdate("give price_per_token and/or min_redundancy")
    price = logic.compute_canonical_price(msg.price_per_token) if msg.price_per_token else ""
    # load
    params = keeper.get_params(ctx)
    model = _load_owned_live_model(ctx, keeper, msg.id, msg.owner)
    # check
    if msg.min_redundancy:
        logic.validate_min_redundancy(msg.min_redundancy, params)
    # mutate
    model.price_per_token = price or model.price_per_token
    model.min_redundancy = msg.min_redundancy or model.min_redundancy
    keeper.set_model(ctx, model)
    # events
    ctx.events.emit(
        events.UPDATE_MODEL,
        attr("model_id", model.id, index=True),
        attr("owner", model.owner, index=True),
        attr("price_per_token", model.price_per_token),
        attr("min_redundancy", model.min_redundancy),
    )
    # respond
    return tx_pb2.MsgUpdateModelResponse()


def retire_model(
    ctx: Context, keeper: ModelsKeeper, msg: tx_pb2.MsgRetireModel
) -> tx_pb2.MsgRetireModelResponse:
    """Retire a model: no new spans, no new routes; workers may still stop serving it.

    Fails when: the owner address is malformed; the model does not exist; the signer is not its
    owner; the model is already retired.
    """
    # verify
    crypto.from_bech32(msg.owner)
    # load
    model = _load_owned_live_model(ctx, keeper, msg.id, msg.owner)
    # mutate
    model.retired = True
    model.retired_height = ctx.block.height
    keeper.set_model(ctx, model)
    # events
    ctx.events.emit(
        events.RETIRE_MODEL,
        attr("model_id", model.id, index=True),
        attr("owner", model.owner, index=True),
    )
    # respond
    return tx_pb2.MsgRetireModelResponse()


def _model_from_msg(ctx: Context, msg: tx_pb2.MsgRegisterModel, owner: str) -> types_pb2.Model:
    return types_pb2.Model(
        id=msg.id,
        owner=owner,
        family=msg.family,
        num_layers=msg.num_layers,
        layer_commitments=list(msg.layer_commitments),
        weights_root=msg.weights_root,
        bytes_per_layer=msg.bytes_per_layer,
        tokenizer_hash=msg.tokenizer_hash,
        dtype=msg.dtype,
        price_per_token=msg.price_per_token,
        min_redundancy=msg.min_redundancy,
        zk_verifying_key_ref=msg.zk_verifying_key_ref,
        registered_height=ctx.block.height,
        config_hash=msg.config_hash,
        embed_commitment=msg.embed_commitment,
        head_commitment=msg.head_commitment,
        precision_classes=list(msg.precision_classes) or [msg.dtype],
        verifier_tolerances=list(msg.verifier_tolerances),
    )


def _load_owned_live_model(
    ctx: Context, keeper: ModelsKeeper, model_id: str, owner: str
) -> types_pb2.Model:
    """The model, checked to exist, to belong to ``owner`` and not to be retired."""
    model = keeper.get_model(ctx, model_id)
    if model is None:
        raise ErrModelNotFound(f"model {model_id!r}")
    if crypto.from_bech32(model.owner) != crypto.from_bech32(owner):
        raise ErrNotModelOwner(f"model {model_id!r} is owned by {model.owner}")
    if model.retired:
        raise ErrModelRetired(f"model {model_id!r}")
    return model
