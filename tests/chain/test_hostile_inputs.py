"""Hostile inputs at the ABCI boundary (issue 12): no tx, query or proposal an outsider or a
byzantine proposer sends may crash, halt or fork a node. Requests go through ``dispatch``, the
function the socket server calls, so an ``exception`` answer (which stops CometBFT) shows."""

from __future__ import annotations

import dataclasses
import json
import pathlib

import chain.pb  # noqa: F401

import pytest
from google.protobuf import any_pb2

from chain import crypto
from chain.abci.server import dispatch
from chain.ante import SignatureCache
from chain.app import AppOptions
from chain.fixed import Decimal
from chain.nodeconfig import AppConfig, load_app_config, write_app_config
from chain.text import is_printable_ascii, parse_uint
from chain.tx import TxDecoder
from chain.wiring import build_app
from cosmos.base.v1beta1 import coin_pb2
from cosmos.crypto.secp256k1 import keys_pb2 as secp_pb2
from cosmos.tx.signing.v1beta1 import signing_pb2
from cosmos.tx.v1beta1 import tx_pb2
from infera.inference.v1 import query_pb2 as inference_query
from infera.models.v1 import query_pb2 as models_query
from modules.models.logic import is_valid_model_id
from modules.staking.logic import is_valid_moniker
from modules.workers.logic import is_valid_endpoint
from tendermint.abci import types_pb2 as abci
from tests.harness import (
    CHAIN_ID,
    DENOM,
    Key,
    TestChain,
    finalize_request,
    genesis_app_state,
    init_chain_request,
    send_msg,
)

NON_ASCII_AMOUNTS = [
    "²",  # superscript two: isdigit() is True, int() raises
    "١٠٠٠٠",  # Arabic-Indic digits: int() gives 10000
    "１００００",  # fullwidth digits
    "10000\n",  # trailing newline ("$" accepts it)
    " 10000",
    "10000 ",
    "+10000",
    "1_0000",  # int() accepts underscores
    "٣",
    "𑽐",  # KAWI DIGIT ZERO: a digit only from Unicode 15 (Python 3.12) on
    str(2**256),  # beyond the Cosmos Int bound
    "",
]


def signed_tx(
    chain_: TestChain,
    key: Key,
    *,
    fee: list[tuple[str, str]] | None = None,
    gas: int = 200_000,
    memo: str = "",
    msgs: list | None = None,
) -> bytes:
    """A correctly signed bank send whose fee coins and gas limit are exactly as given."""
    body = tx_pb2.TxBody(memo=memo)
    for msg in msgs or [send_msg(key, chain_.keys[1].address, 5)]:
        packed = any_pb2.Any()
        packed.Pack(msg, type_url_prefix="/")
        body.messages.append(packed)
    auth = tx_pb2.AuthInfo(fee=tx_pb2.Fee(gas_limit=gas))
    for denom, amount in fee if fee is not None else [(DENOM, "10000")]:
        auth.fee.amount.append(coin_pb2.Coin(denom=denom, amount=amount))
    info = auth.signer_infos.add(sequence=chain_.sequences[key.address])
    info.mode_info.single.mode = signing_pb2.SIGN_MODE_DIRECT
    info.public_key.Pack(secp_pb2.PubKey(key=key.public), type_url_prefix="/")
    body_bytes, auth_bytes = body.SerializeToString(), auth.SerializeToString()
    doc = tx_pb2.SignDoc(
        body_bytes=body_bytes,
        auth_info_bytes=auth_bytes,
        chain_id=CHAIN_ID,
        account_number=chain_.account_number(key),
    )
    signature = crypto.sign_secp256k1(key.private, doc.SerializeToString())
    return tx_pb2.TxRaw(
        body_bytes=body_bytes, auth_info_bytes=auth_bytes, signatures=[signature]
    ).SerializeToString()


def check(chain_: TestChain, raw: bytes) -> abci.ResponseCheckTx:
    response = dispatch(chain_.app, abci.Request(check_tx=abci.RequestCheckTx(tx=raw)))
    assert response.WhichOneof("value") == "check_tx", response
    return response.check_tx


def process(chain_: TestChain, txs: list[bytes]) -> int:
    req = abci.RequestProcessProposal(txs=txs, height=chain_.height + 1)
    response = dispatch(chain_.app, abci.Request(process_proposal=req))
    assert response.WhichOneof("value") == "process_proposal", response
    return response.process_proposal.status


def finalize(chain_: TestChain, txs: list[bytes]) -> abci.ResponseFinalizeBlock:
    chain_.height += 1
    # the decided last commit CometBFT passes (as TestChain.block does: liveness and fee
    # distribution read it, so twins compared by app hash must see the same one)
    last = chain_.last_commit(chain_.height - 1) if chain_.height > 1 else None
    req = finalize_request(chain_.height, txs, last_commit=last)
    response = dispatch(chain_.app, abci.Request(finalize_block=req))
    assert response.WhichOneof("value") == "finalize_block", response
    chain_.app.commit(abci.RequestCommit())
    return response.finalize_block


def query(chain_: TestChain, path: str, data: bytes) -> abci.ResponseQuery:
    response = dispatch(chain_.app, abci.Request(query=abci.RequestQuery(path=path, data=data)))
    assert response.WhichOneof("value") == "query", response
    return response.query


REJECT = abci.ResponseProcessProposal.REJECT
ACCEPT = abci.ResponseProcessProposal.ACCEPT


def _unlimited_gas_chain(path: pathlib.Path) -> TestChain:
    """A chain whose consensus params set no block gas limit (max_gas = -1)."""
    c = TestChain(path)
    req = init_chain_request(genesis_app_state(c.keys, c.validators))
    req.consensus_params.block.max_gas = -1
    c.app.init_chain(req)
    c.block()
    return c


@pytest.fixture
def unlimited_gas_chain(tmp_path):
    c = _unlimited_gas_chain(tmp_path / "unlimited")
    yield c
    c.store.close()


@pytest.fixture
def unlimited_twin(tmp_path):
    c = _unlimited_gas_chain(tmp_path / "unlimited-twin")
    yield c
    c.store.close()


# -- item 1: gas limits the int64 fields cannot hold ---------------------------------------------


@pytest.mark.parametrize("gas", [2**63, 2**63 + 1, 2**64 - 1])
def test_check_tx_refuses_a_gas_limit_beyond_int64(chain_, gas):
    result = check(chain_, signed_tx(chain_, chain_.keys[0], gas=gas))
    assert (result.code, result.codespace) == (41, "sdk"), result.log
    assert "exceeds the maximum" in result.log


def test_gas_limit_of_int64_max_is_still_a_valid_tx_shape(chain_):
    result = check(chain_, signed_tx(chain_, chain_.keys[0], gas=2**63 - 1))
    assert result.code == 13  # decodes; the fee cannot cover it (not a crash, not a shape error)


def test_process_proposal_rejects_gas_beyond_int64_without_a_block_gas_limit(
    unlimited_gas_chain,
):
    c = unlimited_gas_chain
    raw = signed_tx(c, c.keys[0], gas=2**63)
    assert process(c, [raw]) == REJECT
    assert process(c, [signed_tx(c, c.keys[0])]) == ACCEPT


def test_finalize_block_answers_a_result_for_gas_beyond_int64(unlimited_gas_chain, unlimited_twin):
    c = unlimited_gas_chain
    result = finalize(c, [signed_tx(c, c.keys[0], gas=2**63)])
    assert (result.tx_results[0].code, result.tx_results[0].codespace) == (41, "sdk")
    assert result.app_hash == unlimited_twin.block([]).app_hash


# -- items 3 and 6: ASCII-exact parsing ----------------------------------------------------------


@pytest.mark.parametrize("amount", NON_ASCII_AMOUNTS)
def test_fee_amount_outside_ascii_digits_is_invalid_coins(chain_, amount):
    raw = signed_tx(chain_, chain_.keys[0], fee=[(DENOM, amount)])
    result = check(chain_, raw)
    assert (result.code, result.codespace) == (10, "sdk"), result.log


@pytest.mark.parametrize("amount", ["²", "١٠٠٠٠", "𑽐"])
def test_proposal_with_a_non_ascii_fee_is_rejected_and_executes_as_an_error(chain_, twin, amount):
    raw = signed_tx(chain_, chain_.keys[0], fee=[(DENOM, amount)])
    assert process(chain_, [raw]) == REJECT
    result = finalize(chain_, [raw])
    assert result.tx_results[0].code == 10
    assert result.app_hash == twin.block([]).app_hash


@pytest.mark.parametrize("denom", ["uinfera\n", "uinfera ", "uinferа"])  # the last: Cyrillic a
def test_fee_denom_must_match_the_denom_rule_exactly(chain_, denom):
    result = check(chain_, signed_tx(chain_, chain_.keys[0], fee=[(denom, "10000")]))
    assert (result.code, result.codespace) == (10, "sdk"), result.log


def test_fee_with_leading_zeros_is_the_same_amount(chain_):
    result = check(chain_, signed_tx(chain_, chain_.keys[0], fee=[(DENOM, "0010000")]))
    assert result.code == 0, result.log


@pytest.mark.parametrize("text", ["0.025\n", "٠.٠٢٥", "0.０25", "0.025 ", " 1", "1e3", "1."])
def test_decimal_parse_refuses_anything_but_ascii_digits(text):
    with pytest.raises(ValueError):
        Decimal.parse(text)


def test_decimal_parse_still_reads_plain_decimals():
    assert Decimal.parse("0.025") == Decimal(25 * 10**15)
    assert Decimal.parse("12") == Decimal.from_int(12)


@pytest.mark.parametrize("text", NON_ASCII_AMOUNTS[:-2] + ["-1", "0x10"])
def test_parse_uint_refuses_non_ascii_and_decorated_integers(text):
    with pytest.raises(ValueError):
        parse_uint(text)


def test_parse_uint_and_printable_ascii_accept_plain_text():
    assert parse_uint("0") == 0 and parse_uint("007") == 7
    assert is_printable_ascii("node-1 (eu)") and not is_printable_ascii("zürich")
    assert not is_printable_ascii("a\n")


@pytest.mark.parametrize("model_id", ["m\n", "ｍ", "m²", "é"])
def test_model_id_rule_is_ascii_exact(model_id):
    assert not is_valid_model_id(model_id)
    assert is_valid_model_id("smollm2-135m.v1")


@pytest.mark.parametrize("moniker", ["validator-ü", "val\u00a0one", "𑽐"])
def test_moniker_rule_is_printable_ascii(moniker):
    assert not is_valid_moniker(moniker)
    assert is_valid_moniker("validator one")


@pytest.mark.parametrize(
    "endpoint", ["worker.example:9000\n", "worker.example:９000", "١٢٧.0.0.1:80", "1.2.3.4:8²"]
)
def test_endpoint_rule_is_ascii_exact(endpoint):
    assert not is_valid_endpoint(endpoint)
    assert is_valid_endpoint("worker.example:9000")


# -- item 4: key components over their bound -----------------------------------------------------


@pytest.mark.parametrize("length", [65, 255, 256, 4096])
def test_jobs_query_with_an_overlong_model_id_answers_an_error(chain_, length):
    data = inference_query.QueryJobsRequest(model_id="m" * length).SerializeToString()
    result = query(chain_, "/infera.inference.v1.Query/Jobs", data)
    assert (result.code, result.codespace) == (18, "sdk"), result.log
    assert "model id" in result.log


def test_model_query_with_an_overlong_model_id_answers_an_error(chain_):
    data = models_query.QueryModelRequest(id="m" * 1000).SerializeToString()
    result = query(chain_, "/infera.models.v1.Query/Model", data)
    assert result.code != 0 and result.code != 1, result.log


# -- item 5: node-local settings never decide a block --------------------------------------------


def _node(path: pathlib.Path, max_tx_bytes: int) -> TestChain:
    """A chain whose app reads max_tx_bytes from its own app.toml, as ``infera start`` does."""
    home = path / "home"
    (home / "config").mkdir(parents=True)
    write_app_config(home, AppConfig(max_tx_bytes=max_tx_bytes))
    config = load_app_config(home)
    assert config.max_tx_bytes == max_tx_bytes
    c = TestChain(path)
    c.app = build_app(c.store, AppOptions(max_tx_bytes=config.max_tx_bytes))
    c.init()
    c.block()
    return c


def test_two_nodes_with_different_app_toml_reach_the_same_app_hashes(tmp_path):
    small, large = _node(tmp_path / "small", 600), _node(tmp_path / "large", 1 << 20)
    a, b = large.keys[0], large.keys[1]
    msgs = [send_msg(a, b.address, 1) for _ in range(12)]  # a tx of about 1.4 kB
    big = signed_tx(large, a, msgs=msgs, gas=400_000, fee=[(DENOM, "20000")])
    assert len(big) > 600
    assert small.check(big).code == 21  # the mempool of the small node refuses it: node-local
    small_proc, large_proc = process(small, [big]), process(large, [big])
    assert small_proc == large_proc == ACCEPT
    hashes = []
    for node in (small, large):
        result = finalize(node, [big])
        assert result.tx_results[0].code == 0, result.tx_results[0].log
        hashes.append(result.app_hash)
    assert hashes[0] == hashes[1]
    small.store.close()
    large.store.close()


# -- item 7: the decoded-tx cache ----------------------------------------------------------------


def test_decoded_tx_cache_keeps_only_txs_the_mempool_admitted(chain_):
    decoder = chain_.app.runner.decoder
    a = chain_.keys[0]
    bad_signature = bytearray(signed_tx(chain_, a))
    bad_signature[-1] ^= 1
    for raw in [b"garbage", bytes(bad_signature), signed_tx(chain_, a, fee=[(DENOM, "1")])]:
        assert chain_.check(raw).code != 0
    assert chain_.app.simulate(signed_tx(chain_, a)).code == 0
    assert len(decoder._cache) == 0  # failures and Simulate cost the node no memory
    good = signed_tx(chain_, a)
    assert chain_.check(good).code == 0
    assert len(decoder._cache) == 1
    chain_.block([good])
    assert len(decoder._cache) == 0  # executed: no longer needed


def test_decoded_tx_cache_is_bounded_by_bytes(chain_):
    router = chain_.app.router
    decoder = TxDecoder(router, capacity=1000, capacity_bytes=20_000)
    a = chain_.keys[0]
    txs = [signed_tx(chain_, a, memo="x" * (200 + i)) for i in range(40)]
    for raw in txs:
        decoder.remember(decoder.decode(raw))
    assert decoder.held_bytes <= 20_000
    assert 0 < len(decoder) < 40
    assert txs[-1] in decoder._cache and txs[0] not in decoder._cache  # least recent went first


# -- item 9: signature cache framing, canonical fees ---------------------------------------------


def test_signature_cache_key_frames_its_parts():
    key = Key("framing")
    message = b"\x0a\x20" + b"m" * 40
    signature = crypto.sign_secp256k1(key.private, message)
    cache = SignatureCache()
    assert cache.verify(key.public, message, signature)
    # Same concatenation pubkey + signature + message, other parts: must not be a hit.
    assert not cache.verify(key.public, signature[63:] + message, signature[:63])


def test_genesis_balance_in_non_ascii_digits_is_refused(chain_):
    state = genesis_app_state(chain_.keys, chain_.validators)
    state["bank"]["balances"][0]["coins"][0]["amount"] = "١٠٠"
    other = TestChain(chain_.path.parent / "genesis-digits")
    with pytest.raises(Exception, match="invalid amount"):
        other.app.init_chain(init_chain_request(json.loads(json.dumps(state))))
    other.store.close()


# -- item 7 of "What to build": the fault barrier ------------------------------------------------

OUTSIDER_FACING = {
    "check_tx": abci.RequestCheckTx(tx=b"x"),
    "query": abci.RequestQuery(path="/cosmos.bank.v1beta1.Query/Balance"),
    "prepare_proposal": abci.RequestPrepareProposal(height=2),
    "process_proposal": abci.RequestProcessProposal(height=2),
    "extend_vote": abci.RequestExtendVote(height=2),
    "verify_vote_extension": abci.RequestVerifyVoteExtension(height=2),
}


@pytest.mark.parametrize("kind", sorted(OUTSIDER_FACING))
def test_a_failing_app_refuses_outsider_requests_instead_of_halting(chain_, monkeypatch, kind):
    def broken(req):
        raise RuntimeError("boom")

    monkeypatch.setattr(chain_.app, kind, broken)
    response = dispatch(chain_.app, abci.Request(**{kind: OUTSIDER_FACING[kind]}))
    assert response.WhichOneof("value") == kind
    answer = getattr(response, kind)
    if kind in ("check_tx", "query"):
        assert answer.code == 1 and answer.log == "internal error"
    if kind in ("process_proposal", "verify_vote_extension"):
        assert answer.status == 2  # REJECT (never UNKNOWN = 0, which panics CometBFT)


def test_a_failing_finalize_block_is_still_fatal(chain_, monkeypatch):
    def broken(req):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(chain_.app, "finalize_block", broken)
    response = dispatch(chain_.app, abci.Request(finalize_block=finalize_request(2, [])))
    assert response.WhichOneof("value") == "exception"


def test_a_query_handler_bug_answers_internal_error(chain_, monkeypatch):
    path = "/cosmos.bank.v1beta1.Query/TotalSupply"
    route = chain_.app.router.query_route(path)

    def broken(ctx, req):
        raise KeyError("bug")

    broken_route = dataclasses.replace(route, handler=broken)
    monkeypatch.setattr(chain_.app.router, "query_route", lambda p: broken_route)
    result = chain_.app.query(abci.RequestQuery(path=path))
    assert (result.code, result.log) == (1, "internal error")


def test_block_with_a_gas_2_63_tx_leaves_the_node_committing(unlimited_gas_chain):
    c = unlimited_gas_chain
    finalize(c, [signed_tx(c, c.keys[0], gas=2**63)])
    result = finalize(c, [signed_tx(c, c.keys[0])])
    assert result.tx_results[0].code == 0, result.tx_results[0].log
