"""bank messages. MsgSend is the Cosmos SDK's own type, so cosmpy's send_tokens works as is."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from chain.errors import ErrInvalidCoins
from chain.tx import parse_coins
from cosmos.bank.v1beta1 import tx_pb2
from modules.bank.keeper import BankKeeper


def send(ctx: Context, keeper: BankKeeper, msg: tx_pb2.MsgSend) -> tx_pb2.MsgSendResponse:
    """Transfer coins. Fails when: an address is malformed, the coins are invalid or empty, the
    recipient is a module account, or the sender's balance is too low."""
    # verify
    sender = crypto.from_bech32(msg.from_address)
    recipient = crypto.from_bech32(msg.to_address)
    coins = parse_coins(list(msg.amount))
    if not coins:
        raise ErrInvalidCoins("no coins to send")
    # check
    keeper.check_not_blocked(recipient)
    # mutate (events are emitted by the keeper)
    keeper.send_coins(ctx, sender, recipient, coins)
    # respond
    return tx_pb2.MsgSendResponse()
