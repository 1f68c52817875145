"""gov proposals end to end on the real app (ABCI calls, no CometBFT): a param change passes and
takes effect in the following block; failed proposals refund or burn as the SDK does; bad
proposals are refused with stable codes; nobody but a passed proposal can sign as gov."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from infera.agreement.v1 import types_pb2 as agreement_pb2
from infera.gov.v1 import tx_pb2, types_pb2
from modules.agreement.params import default_params as agreement_defaults
from modules.gov import keys as gov_keys
from modules.gov.logic import ABSTAIN, NO, VETO, YES
from tests.harness import Key, send_msg
from tests.modules.gov.helpers import (
    DEPOSIT_S,
    GOV,
    MIN_DEPOSIT,
    VOTING_S,
    advance_to,
    deposit_msg,
    gov_chain,
    keeper,
    proposal,
    query_ctx,
    run,
    submit_msg,
    update_params_msg,
    vote_msg,
)

GOV_ADDRESS = crypto.module_address(gov_keys.GOV_MODULE)
VAL = [Key("val0"), Key("val1"), Key("val2")]
USER = Key("user0")


def _audit_change(probability: str = "0.5") -> tx_pb2.MsgUpdateParams:
    params = agreement_defaults()
    params.audit_probability = probability
    return update_params_msg("agreement", params)


def _audit_probability(chain) -> str:
    return keeper(chain, "agreement").get_params(query_ctx(chain)).audit_probability


def _open(chain, *msgs, deposit: int = MIN_DEPOSIT) -> tuple[int, int]:
    """Submit a proposal with a full deposit; (id, height its voting period started)."""
    res = run(chain, USER, submit_msg(USER, *msgs, deposit=deposit))
    assert res.code == 0, res.log
    out = tx_pb2.MsgSubmitProposalResponse()
    from cosmos.base.abci.v1beta1 import abci_pb2

    data = abci_pb2.TxMsgData.FromString(res.data)
    data.msg_responses[0].Unpack(out)
    return out.proposal_id, chain.height


def _vote(chain, votes: dict[int, int], proposal_id: int) -> None:
    txs = [chain.tx(VAL[i], vote_msg(VAL[i], proposal_id, option)) for i, option in votes.items()]
    response = chain.block(txs)
    assert [r.code for r in response.tx_results] == [0] * len(txs), response.tx_results


def test_param_change_passes_and_takes_effect_in_the_following_block(tmp_path):
    chain = gov_chain(tmp_path)
    before = chain.balance(USER.address)
    proposal_id, start = _open(chain, _audit_change("0.5"))
    assert proposal(chain, proposal_id).status == types_pb2.PROPOSAL_STATUS_VOTING_PERIOD
    _vote(chain, {0: YES, 1: YES}, proposal_id)
    end_height = start + VOTING_S  # block time = genesis + height seconds
    advance_to(chain, end_height - 1)
    assert _audit_probability(chain) == agreement_defaults().audit_probability  # not yet
    chain.block()  # the voting period ends in this block's end-block
    assert chain.height == end_height
    assert _audit_probability(chain) == "0.5"  # what the next block's reads see
    closed = proposal(chain, proposal_id)
    assert closed.status == types_pb2.PROPOSAL_STATUS_PASSED
    assert closed.final_tally_result.yes_count == str(2 * 10**9)
    assert chain.balance(GOV_ADDRESS) == 0  # deposit refunded
    assert chain.balance(USER.address) == before - 10_000  # only the submit tx fee


def test_quorum_not_reached_rejects_and_refunds_the_deposit(tmp_path):
    chain = gov_chain(tmp_path)  # burn_vote_quorum = false: the SDK's default
    supply = chain.supply()
    proposal_id, start = _open(chain, _audit_change())
    _vote(chain, {0: YES}, proposal_id)  # 1/3 of the bonded stake < quorum 0.334
    advance_to(chain, start + VOTING_S)
    assert proposal(chain, proposal_id).status == types_pb2.PROPOSAL_STATUS_REJECTED
    assert _audit_probability(chain) == agreement_defaults().audit_probability
    assert chain.balance(GOV_ADDRESS) == 0
    assert chain.supply() == supply  # refunded, nothing burned


def test_a_vetoed_proposal_burns_its_deposit(tmp_path):
    chain = gov_chain(tmp_path)
    supply = chain.supply()
    proposal_id, start = _open(chain, _audit_change())
    _vote(chain, {0: YES, 1: VETO}, proposal_id)  # veto 1/2 of the votes > 0.334
    advance_to(chain, start + VOTING_S)
    closed = proposal(chain, proposal_id)
    assert closed.status == types_pb2.PROPOSAL_STATUS_REJECTED
    assert closed.final_tally_result.no_with_veto_count == str(10**9)
    assert _audit_probability(chain) == agreement_defaults().audit_probability
    assert chain.supply() == supply - MIN_DEPOSIT
    assert chain.balance(GOV_ADDRESS) == 0


def test_a_majority_of_no_rejects_without_burning(tmp_path):
    chain = gov_chain(tmp_path)
    supply = chain.supply()
    proposal_id, start = _open(chain, _audit_change())
    _vote(chain, {0: YES, 1: NO, 2: ABSTAIN}, proposal_id)  # yes 1/2 of non-abstain: not > 0.5
    advance_to(chain, start + VOTING_S)
    assert proposal(chain, proposal_id).status == types_pb2.PROPOSAL_STATUS_REJECTED
    assert chain.supply() == supply


def test_a_proposal_that_never_reaches_min_deposit_is_dropped_and_burned(tmp_path):
    chain = gov_chain(tmp_path)  # burn_proposal_deposit_prevote = true (README "Params")
    supply = chain.supply()
    proposal_id, submitted = _open(chain, _audit_change(), deposit=MIN_DEPOSIT // 4)
    assert proposal(chain, proposal_id).status == types_pb2.PROPOSAL_STATUS_DEPOSIT_PERIOD
    advance_to(chain, submitted + DEPOSIT_S)
    assert proposal(chain, proposal_id) is None
    assert chain.supply() == supply - MIN_DEPOSIT // 4


def test_a_deposit_that_reaches_min_deposit_starts_the_voting_period(tmp_path):
    chain = gov_chain(tmp_path)
    proposal_id, _ = _open(chain, _audit_change(), deposit=MIN_DEPOSIT // 4)
    res = run(chain, Key("user1"), deposit_msg(Key("user1"), proposal_id, MIN_DEPOSIT))
    assert res.code == 0, res.log
    opened = proposal(chain, proposal_id)
    assert opened.status == types_pb2.PROPOSAL_STATUS_VOTING_PERIOD
    assert opened.total_deposit.amount == str(MIN_DEPOSIT * 5 // 4)
    assert opened.depositor_count == 2


def test_a_passed_proposal_whose_message_fails_is_failed_and_changes_nothing(tmp_path):
    chain = gov_chain(tmp_path)
    good = _audit_change("0.5")
    plan = types_pb2.Plan(name="late", height=chain.height + 3)  # valid now, past by the end
    upgrade = tx_pb2.MsgSoftwareUpgrade(authority=GOV, plan=plan)
    proposal_id, start = _open(chain, good, upgrade)
    _vote(chain, {0: YES, 1: YES, 2: YES}, proposal_id)
    advance_to(chain, start + VOTING_S)
    closed = proposal(chain, proposal_id)
    assert closed.status == types_pb2.PROPOSAL_STATUS_FAILED
    assert "is not after" in closed.failed_reason
    assert _audit_probability(chain) == agreement_defaults().audit_probability  # all or nothing


# -- bad proposals are refused at submit, with codes ------------------------------------------


def _refused(chain, msg) -> tuple[str, int]:
    res = run(chain, USER, msg)
    return res.codespace, res.code


def test_submit_refuses_params_the_module_rejects(tmp_path):
    chain = gov_chain(tmp_path)
    assert _refused(chain, submit_msg(USER, _audit_change("2"))) == ("gov", 20)


def test_submit_refuses_an_unknown_params_module(tmp_path):
    chain = gov_chain(tmp_path)
    msg = update_params_msg("nosuch", agreement_defaults())
    assert _refused(chain, submit_msg(USER, msg)) == ("gov", 32)


def test_submit_refuses_params_of_another_module_type(tmp_path):
    chain = gov_chain(tmp_path)
    msg = update_params_msg("gov", agreement_defaults())
    assert _refused(chain, submit_msg(USER, msg)) == ("gov", 20)


def test_submit_refuses_a_message_not_signed_by_gov(tmp_path):
    chain = gov_chain(tmp_path)
    msg = update_params_msg("agreement", agreement_defaults(), authority=USER.bech32)
    assert _refused(chain, submit_msg(USER, msg)) == ("gov", 12)


def test_submit_refuses_messages_gov_does_not_run(tmp_path):
    chain = gov_chain(tmp_path)
    spend = send_msg(USER, USER.address, 1)  # would spend escrowed deposits if signed by gov
    spend.from_address = GOV
    assert _refused(chain, submit_msg(USER, spend)) == ("gov", 5)


def test_submit_refuses_no_messages(tmp_path):
    chain = gov_chain(tmp_path)
    assert _refused(chain, submit_msg(USER)) == ("gov", 18)


def test_submit_refuses_too_small_an_initial_deposit(tmp_path):
    chain = gov_chain(tmp_path)  # min_initial_deposit_ratio 0.25
    msg = submit_msg(USER, _audit_change(), deposit=MIN_DEPOSIT // 4 - 1)
    assert _refused(chain, msg) == ("gov", 16)


def test_submit_refuses_a_deposit_in_another_denom(tmp_path):
    chain = gov_chain(tmp_path)
    msg = submit_msg(USER, _audit_change())
    msg.initial_deposit.denom = "uother"
    assert _refused(chain, msg) == ("gov", 19)


def test_submit_refuses_an_upgrade_plan_in_the_past(tmp_path):
    chain = gov_chain(tmp_path)
    plan = types_pb2.Plan(name="v2", height=chain.height)
    msg = submit_msg(USER, tx_pb2.MsgSoftwareUpgrade(authority=GOV, plan=plan))
    assert _refused(chain, msg) == ("gov", 33)


def test_submit_refuses_a_bad_plan_name_and_a_bad_title(tmp_path):
    chain = gov_chain(tmp_path)
    plan = types_pb2.Plan(name="v2 now", height=chain.height + 100)
    msg = submit_msg(USER, tx_pb2.MsgSoftwareUpgrade(authority=GOV, plan=plan))
    assert _refused(chain, msg) == ("gov", 33)
    assert _refused(chain, submit_msg(USER, _audit_change(), title="")) == ("gov", 17)
    assert _refused(chain, submit_msg(USER, _audit_change(), title="é")) == ("gov", 17)


def test_submit_refuses_more_messages_than_max_messages(tmp_path):
    chain = gov_chain(tmp_path, max_messages=2)
    msg = submit_msg(USER, _audit_change(), _audit_change(), _audit_change())
    assert _refused(chain, msg) == ("gov", 17)


# -- nobody but a passed proposal signs as gov -------------------------------------------------


def test_an_outsider_cannot_update_params_directly(tmp_path):
    chain = gov_chain(tmp_path)
    res = run(chain, USER, update_params_msg("agreement", agreement_pb2.Params(), USER.bech32))
    assert (res.codespace, res.code) == ("gov", 12)
    assert _audit_probability(chain) == agreement_defaults().audit_probability


def test_an_outsider_cannot_sign_as_the_gov_account(tmp_path):
    chain = gov_chain(tmp_path)
    _open(chain, _audit_change(), deposit=MIN_DEPOSIT // 4)  # the gov account now exists
    raw = chain.tx(USER, _audit_change("0.9"))  # authority = gov, signed by USER's key
    res = chain.block([raw]).tx_results[0]
    assert res.code != 0 and res.codespace == "sdk", res
    assert _audit_probability(chain) == agreement_defaults().audit_probability


def test_slashing_and_tee_params_are_validated_by_their_modules(tmp_path):
    from modules.slashing.params import default_params as slashing_defaults
    from modules.tee.params import default_params as tee_defaults

    chain = gov_chain(tmp_path)
    slashing = slashing_defaults()
    slashing.signed_blocks_window = 0  # slashing refuses an empty window
    assert _refused(chain, submit_msg(USER, update_params_msg("slashing", slashing))) == (
        "gov",
        20,
    )
    tee = tee_defaults()
    tee.allowed_types[:] = list(reversed(sorted(set(tee.allowed_types) | {1, 2})))  # unsorted
    assert _refused(chain, submit_msg(USER, update_params_msg("tee", tee))) == ("gov", 20)
    good = slashing_defaults()
    good.signed_blocks_window = 500
    proposal_id, start = _open(chain, update_params_msg("slashing", good))
    _vote(chain, {0: YES, 1: YES}, proposal_id)
    advance_to(chain, start + VOTING_S)
    assert keeper(chain, "slashing").get_params(query_ctx(chain)).signed_blocks_window == 500


def test_auth_params_change_through_gov_and_bad_ones_are_refused(tmp_path):
    from modules.auth.params import default_params as auth_defaults

    chain = gov_chain(tmp_path)
    for field, value in (
        ("fee_denom", "uother"),  # fees nobody holds would stop every tx
        ("min_gas_price", "0"),  # free txs
        ("tx_sig_limit", 0),  # no tx could be signed
        ("sig_verify_cost_secp256k1", 1),  # signature checks nearly free: CPU spam
    ):
        bad = auth_defaults()
        setattr(bad, field, value)
        assert _refused(chain, submit_msg(USER, update_params_msg("auth", bad))) == ("gov", 20)
    good = auth_defaults()
    good.max_memo_characters = 512
    proposal_id, start = _open(chain, update_params_msg("auth", good))
    _vote(chain, {0: YES, 1: YES}, proposal_id)
    advance_to(chain, start + VOTING_S)
    assert proposal(chain, proposal_id).status == types_pb2.PROPOSAL_STATUS_PASSED
    assert keeper(chain, "auth").get_params(query_ctx(chain)).max_memo_characters == 512
