"""A three-validator chain with short gov periods (block H is at GENESIS_TIME + H seconds), and
builders for gov messages."""

from __future__ import annotations

import chain.pb  # noqa: F401

from google.protobuf import any_pb2, json_format
from google.protobuf.message import Message

from chain import crypto
from chain.context import BlockInfo, Context, ExecMode
from infera.base.v1 import coin_pb2
from infera.gov.v1 import tx_pb2, types_pb2
from modules.gov import keys as gov_keys
from modules.gov.params import default_params
from tests.harness import CHAIN_ID, DENOM, Key, TestChain, genesis_app_state, init_chain_request

GOV = crypto.to_bech32(crypto.module_address(gov_keys.GOV_MODULE))
MIN_DEPOSIT = 1_000_000
VOTING_S = 5  # blocks
DEPOSIT_S = 10  # blocks


def gov_params(**overrides) -> types_pb2.Params:
    params = default_params()
    params.min_deposit.CopyFrom(coin_pb2.Coin(denom=DENOM, amount=str(MIN_DEPOSIT)))
    params.voting_period_s = VOTING_S
    params.max_deposit_period_s = DEPOSIT_S
    for name, value in overrides.items():
        setattr(params, name, value)
    return params


def gov_chain(path, *, validators: int = 3, **overrides) -> TestChain:
    """Validators val0..valN-1 (each bonds 10^9, and is funded to pay fees), users user0..3."""
    chain = TestChain(path, validators=[Key(f"val{i}") for i in range(validators)])
    state = genesis_app_state(chain.keys + chain.validators, chain.validators)
    params = gov_params(**overrides)
    state["gov"] = {"params": json_format.MessageToDict(params, preserving_proto_field_name=True)}
    chain.app.init_chain(init_chain_request(state))
    chain.block()
    return chain


def packed(msg: Message) -> any_pb2.Any:
    out = any_pb2.Any()
    out.Pack(msg, type_url_prefix="/")
    return out


def update_params_msg(module: str, params: Message, authority: str = GOV) -> tx_pb2.MsgUpdateParams:
    return tx_pb2.MsgUpdateParams(authority=authority, module=module, params=packed(params))


def submit_msg(
    proposer: Key, *msgs: Message, deposit: int = MIN_DEPOSIT, title: str = "change"
) -> tx_pb2.MsgSubmitProposal:
    return tx_pb2.MsgSubmitProposal(
        messages=[packed(m) for m in msgs],
        initial_deposit=coin_pb2.Coin(denom=DENOM, amount=str(deposit)),
        proposer=proposer.bech32,
        title=title,
        summary="why",
    )


def vote_msg(voter: Key, proposal_id: int, option: int) -> tx_pb2.MsgVote:
    return tx_pb2.MsgVote(proposal_id=proposal_id, voter=voter.bech32, option=option)


def deposit_msg(depositor: Key, proposal_id: int, amount: int) -> tx_pb2.MsgDeposit:
    return tx_pb2.MsgDeposit(
        proposal_id=proposal_id,
        depositor=depositor.bech32,
        amount=coin_pb2.Coin(denom=DENOM, amount=str(amount)),
    )


def query_ctx(chain: TestChain) -> Context:
    return Context(
        store=chain.store.latest(), block=BlockInfo(CHAIN_ID, chain.height, 0), mode=ExecMode.QUERY
    )


def result(response, index: int = 0):
    return response.tx_results[index]


def run(chain: TestChain, signer: Key, *msgs: Message, gas: int = 400_000):
    """One block with one tx; its ExecTxResult."""
    return chain.block([chain.tx(signer, *msgs, gas=gas)]).tx_results[0]


def keeper(chain: TestChain, module: str):
    """A module's keeper in the chain's app (the module named ``module``)."""
    return next(m.keeper for m in chain.app.modules if m.name == module)  # type: ignore[attr-defined]


def proposal(chain: TestChain, proposal_id: int) -> types_pb2.Proposal | None:
    return keeper(chain, "gov").get_proposal(query_ctx(chain), proposal_id)


def advance_to(chain: TestChain, height: int) -> None:
    """Blocks up to ``height``; gov's invariants must hold after each."""
    from modules.gov.invariants import check_invariants

    while chain.height < height:
        chain.block()
        assert check_invariants(query_ctx(chain), keeper(chain, "gov")) == []
