"""Every kind of bad transaction gets its own clear code and changes nothing it should not."""

from __future__ import annotations

import chain.pb  # noqa: F401

from google.protobuf import any_pb2

from chain import crypto
from cosmos.tx.v1beta1 import tx_pb2
from tests.harness import DENOM, Key, TestChain, build_tx, send_msg


def _assert_rejected_without_effect(
    chain_: TestChain, twin: TestChain, raw: bytes, code: int, text: str
) -> None:
    """CheckTx and FinalizeBlock both refuse ``raw`` and the block equals an empty block."""
    check = chain_.check(raw)
    assert (check.code, check.codespace) == (code, "sdk"), check.log
    assert text in check.log
    result = chain_.block([raw])
    assert result.tx_results[0].code == code
    assert result.app_hash == twin.block([]).app_hash


def test_garbage_bytes_are_a_parse_error(chain_, twin):
    _assert_rejected_without_effect(chain_, twin, b"\xff\x00garbage", 2, "tx parse error")


def test_wrong_signature_is_unauthorized(chain_, twin):
    a, b = chain_.keys[0], chain_.keys[1]
    number = chain_.account_number(a)
    body_signer = Key("impostor")
    raw = build_tx([send_msg(a, b.address, 5)], [a], sequences=[0], account_numbers=[number])
    tx = tx_pb2.TxRaw.FromString(raw)
    doc = tx_pb2.SignDoc(
        body_bytes=tx.body_bytes,
        auth_info_bytes=tx.auth_info_bytes,
        chain_id="infera-test-1",
        account_number=number,
    )
    forged = tx_pb2.TxRaw(
        body_bytes=tx.body_bytes,
        auth_info_bytes=tx.auth_info_bytes,
        signatures=[crypto.sign_secp256k1(body_signer.private, doc.SerializeToString())],
    )
    _assert_rejected_without_effect(
        chain_, twin, forged.SerializeToString(), 4, "signature verification failed"
    )


def test_wrong_chain_id_fails_signature_check_naming_the_chain_id(chain_, twin):
    a, b = chain_.keys[0], chain_.keys[1]
    raw = chain_.tx(a, send_msg(a, b.address, 5), chain_id="other-chain", bump=False)
    _assert_rejected_without_effect(chain_, twin, raw, 4, "chain-id (infera-test-1)")


def test_replayed_sequence_is_rejected(chain_, twin):
    a, b = chain_.keys[0], chain_.keys[1]
    raw = chain_.tx(a, send_msg(a, b.address, 5))
    chain_.block([raw])
    twin.block([twin.tx(a, send_msg(a, b.address, 5))])
    _assert_rejected_without_effect(
        chain_, twin, raw, 32, "account sequence mismatch, expected 1, got 0"
    )


def test_future_sequence_is_rejected(chain_, twin):
    a, b = chain_.keys[0], chain_.keys[1]
    raw = chain_.tx(a, send_msg(a, b.address, 5), sequence=7, bump=False)
    _assert_rejected_without_effect(chain_, twin, raw, 32, "expected 0, got 7")


def test_fee_below_min_gas_price_is_rejected(chain_, twin):
    a, b = chain_.keys[0], chain_.keys[1]
    raw = chain_.tx(a, send_msg(a, b.address, 5), fee=10, gas=200_000, bump=False)
    _assert_rejected_without_effect(
        chain_, twin, raw, 13, "insufficient fees; got: 10uinfera required: 5000uinfera"
    )


def test_gas_limit_too_low_runs_out_of_gas_in_ante(chain_, twin):
    a, b = chain_.keys[0], chain_.keys[1]
    raw = chain_.tx(a, send_msg(a, b.address, 5), fee=100, gas=1_000, bump=False)
    _assert_rejected_without_effect(chain_, twin, raw, 11, "gasWanted: 1000, gasUsed: ")


def test_out_of_gas_in_messages_keeps_only_fee_and_sequence(chain_):
    a, b = chain_.keys[0], chain_.keys[1]
    before_a, before_b = chain_.balance(a.address), chain_.balance(b.address)
    raw = chain_.tx(a, send_msg(a, b.address, 5), fee=1_000, gas=35_000)
    result = chain_.block([raw]).tx_results[0]
    assert result.code == 11 and "gasWanted: 35000" in result.log
    assert result.gas_used == 35_000
    assert chain_.balance(a.address) == before_a - 1_000
    assert chain_.balance(b.address) == before_b
    next_raw = chain_.tx(a, send_msg(a, b.address, 5))  # the sequence advanced
    assert chain_.block([next_raw]).tx_results[0].code == 0


def test_oversized_tx_is_refused_by_the_mempool_before_decoding(chain_, twin):
    """app.toml's max_tx_bytes is node-local: CheckTx refuses, but a block is judged by
    consensus rules only (here: the bytes do not decode) and leaves no trace."""
    raw = b"\x0a" * ((1 << 20) + 1)
    check = chain_.check(raw)
    assert (check.code, check.codespace) == (21, "sdk") and "exceeds the limit" in check.log
    result = chain_.block([raw])
    assert (result.tx_results[0].code, result.tx_results[0].codespace) == (2, "sdk")
    assert result.app_hash == twin.block([]).app_hash


def test_unknown_message_type_is_rejected(chain_, twin):
    a = chain_.keys[0]
    raw = build_tx([], [a], sequences=[0], account_numbers=[chain_.account_number(a)])
    tx = tx_pb2.TxRaw.FromString(raw)
    body = tx_pb2.TxBody.FromString(tx.body_bytes)
    body.messages.append(any_pb2.Any(type_url="/infera.nothing.v1.MsgMagic", value=b"\x0a\x01x"))
    tx.body_bytes = body.SerializeToString()
    _assert_rejected_without_effect(
        chain_, twin, tx.SerializeToString(), 6, "unrecognized message type"
    )


def test_spending_more_than_balance_fails_and_charges_only_the_fee(chain_):
    a, b = chain_.keys[0], chain_.keys[1]
    before_a, before_b = chain_.balance(a.address), chain_.balance(b.address)
    raw = chain_.tx(a, send_msg(a, b.address, before_a * 2))
    check = chain_.check(raw)
    assert check.code == 0  # CheckTx runs the ante only, as in Cosmos
    result = chain_.block([raw]).tx_results[0]
    assert (result.code, result.codespace) == (5, "sdk") and "insufficient funds" in result.log
    assert chain_.balance(a.address) == before_a - 10_000
    assert chain_.balance(b.address) == before_b


def test_memo_too_long_is_rejected(chain_, twin):
    a, b = chain_.keys[0], chain_.keys[1]
    raw = chain_.tx(a, send_msg(a, b.address, 5), memo="m" * 300, bump=False)
    _assert_rejected_without_effect(chain_, twin, raw, 12, "maximum number of characters is 256")


def test_signer_without_account_is_unknown_address(chain_, twin):
    ghost = Key("ghost")
    raw = build_tx(
        [send_msg(ghost, chain_.keys[0].address, 1)], [ghost], sequences=[0], account_numbers=[0]
    )
    _assert_rejected_without_effect(chain_, twin, raw, 9, "does not exist")


def test_tx_signed_by_someone_other_than_the_message_signer_is_unauthorized(chain_, twin):
    a, b = chain_.keys[0], chain_.keys[1]
    raw = build_tx(
        [send_msg(a, b.address, 5)], [b], sequences=[0], account_numbers=[chain_.account_number(b)]
    )
    # b's key signs for a's message: the pubkey does not match the signer address (a)
    check = chain_.check(raw)
    assert check.code in (4, 8), check.log
    result = chain_.block([raw])
    assert result.app_hash == twin.block([]).app_hash


def test_valid_send_moves_funds_and_fee(chain_):
    a, b = chain_.keys[0], chain_.keys[1]
    before_a, before_b, supply = (
        chain_.balance(a.address),
        chain_.balance(b.address),
        chain_.supply(),
    )
    raw = chain_.tx(a, send_msg(a, b.address, 1234))
    assert chain_.check(raw).code == 0
    result = chain_.block([raw]).tx_results[0]
    assert result.code == 0, result.log
    assert chain_.balance(a.address) == before_a - 1234 - 10_000
    assert chain_.balance(b.address) == before_b + 1234
    assert chain_.balance(crypto.module_address("fee_collector")) == 10_000
    assert chain_.supply() == supply
    types = {e.type for e in result.events}
    assert {"transfer", "message", "tx", "coin_spent", "coin_received"} <= types


def test_send_to_module_account_is_refused(chain_):
    a = chain_.keys[0]
    raw = chain_.tx(a, send_msg(a, crypto.module_address("bonded_tokens_pool"), 5))
    result = chain_.block([raw]).tx_results[0]
    assert (result.codespace, result.code) == ("bank", 3)


def test_two_txs_from_one_account_in_one_block_with_managed_sequences(chain_):
    a, b = chain_.keys[0], chain_.keys[1]
    first, second = chain_.tx(a, send_msg(a, b.address, 1)), chain_.tx(a, send_msg(a, b.address, 2))
    assert chain_.check(first).code == 0 and chain_.check(second).code == 0
    results = chain_.block([first, second]).tx_results
    assert [r.code for r in results] == [0, 0]


def test_denom_unknown_to_sender_is_insufficient_funds(chain_):
    a, b = chain_.keys[0], chain_.keys[1]
    raw = chain_.tx(a, send_msg(a, b.address, 1, denom="uother"))
    assert chain_.block([raw]).tx_results[0].code == 5
    assert chain_.balance(b.address, "uother") == 0
    assert DENOM == "uinfera"
