"""A validator that registers its BLS key after genesis: its node signs no share before the
registration is committed and contributes from the next height on (through the CLI's message);
and the beacon's genesis export imports back to the same state."""

from __future__ import annotations

import base64
import json

import chain.pb  # noqa: F401

import pytest
from typer.testing import CliRunner

from chain.context import BlockInfo, Context, ExecMode
from chain.vote_extensions import split_extension
from chain.wiring import build_app
from infera.beacon.v1 import tx_pb2
from modules.beacon import logic
from tendermint.abci import types_pb2 as abci
from tests import harness
from tests.harness import (
    CHAIN_ID,
    Key,
    TestChain,
    beacon_genesis,
    genesis_app_state,
    init_chain_request,
    send_msg,
    validator_bls_secret,
    validator_signing_key,
)

GAS = 25_000_000  # register_key_gas (20M) + the tx's own
FEE = 1_000_000


def _keeper(c: TestChain):
    return next(m for m in c.app.modules if m.name == "beacon").keeper


def _module(c: TestChain):
    return next(m for m in c.app.modules if m.name == "beacon")


def _ctx(c: TestChain) -> Context:
    block = BlockInfo(CHAIN_ID, c.height + 1, 0)
    return Context(store=c.store.latest(), block=block, mode=ExecMode.QUERY)


def _aggregate(names: list[str], height: int) -> bytes | None:
    shares = [
        logic.Share(b"", 1, b"", logic.compute_share(validator_bls_secret(n), CHAIN_ID, height))
        for n in names
    ]
    return logic.compute_beacon(shares, 4)


def _node_home(tmp_path, name: str):
    """A node home whose priv_validator_key.json holds ``name``'s test consensus key."""
    key = validator_signing_key(name)
    home = tmp_path / f"home-{name}"
    (home / "config").mkdir(parents=True)
    private = bytes(key) + bytes(key.verify_key)  # Go's ed25519 layout: seed || public key
    data = {"priv_key": {"type": "tendermint/PrivKeyEd25519",
                         "value": base64.b64encode(private).decode()}}  # fmt: skip
    (home / "config" / "priv_validator_key.json").write_text(json.dumps(data))
    return home


def _cli_registration(monkeypatch, operator: str, node_home) -> object:
    """The MsgRegisterBlsKey `infera tx beacon register-key --node-home` builds and sends."""
    from chain.cli import beacon as cli
    from chain.cli.main import app

    sent: list = []

    class Wallet:
        def address(self):
            return operator

    class Client:
        def execute(self, wallet, msgs, **options):
            sent.extend(msgs)

    monkeypatch.setattr(cli, "send", lambda flags, build: build(Client(), Wallet(), {}))
    args = ["tx", "beacon", "register-key", "--from", "x", "--node-home", str(node_home)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(sent) == 1
    return sent[0]


def test_a_validator_registering_later_contributes_from_the_next_height(tmp_path, monkeypatch):
    from chain.nodeinit import beacon_secret

    validators = [Key(f"val{i}") for i in range(4)]
    c = TestChain(tmp_path / "late", validators=validators, beacon=True)
    state = genesis_app_state(c.keys, c.validators)
    state["beacon"] = beacon_genesis(validators[:3])  # val3 has no key at genesis
    c.app.init_chain(init_chain_request(state, vote_extensions_from=1))
    c.block()  # 1
    user, val3 = c.keys[0], validators[3]
    assert c.block([c.tx(user, send_msg(user, val3.address, 10**8))]).tx_results[0].code == 0
    home = _node_home(tmp_path, "val3")
    secret = beacon_secret(home)
    # The test chain signs every validator's share itself: with val3's node key (a share under
    # any other key would be a bad share once the key is registered, and get val3 excluded).
    monkeypatch.setitem(harness._BLS_SECRETS, "val3", secret)
    node = build_app(c.store, beacon_secret=secret)  # val3's node, as `infera start` builds it
    node.chain_id = CHAIN_ID

    def node_share(height: int) -> bytes:
        extension = node.extend_vote(abci.RequestExtendVote(height=height)).vote_extension
        parts = split_extension(bytes(extension))
        assert parts is not None
        return parts[0]

    assert node_share(3) == b""  # its key is not registered: no CPU spent, nothing signed
    # beacon(1): the three registered shares (3 of 4 > 2/3); val3's share (the test chain
    # signs one for every validator) is ignored: no key.
    assert _keeper(c).get_beacon(_ctx(c), 1) == _aggregate(["val0", "val1", "val2"], 1)

    msg = _cli_registration(monkeypatch, val3.bech32, home)
    result = c.block([c.tx(val3, msg, gas=GAS, fee=FEE)])  # 3: registers
    assert result.tx_results[-1].code == 0, result.tx_results[-1].log
    assert node_share(4) == logic.compute_share(secret, CHAIN_ID, 4)  # signs from now on
    c.block()  # 4
    # Block 5 carries the commit of 4 with the share val3's node actually produced.
    c.block(
        extensions={
            "val3": bytes(node.extend_vote(abci.RequestExtendVote(height=4)).vote_extension)
        }
    )
    shares = [logic.compute_share(validator_bls_secret(f"val{i}"), CHAIN_ID, 4) for i in range(3)]
    everyone = [logic.Share(b"", 1, b"", s) for s in [*shares, node_share(4)]]
    assert _keeper(c).get_beacon(_ctx(c), 4) == logic.compute_beacon(everyone, 4)
    assert logic.compute_beacon(everyone, 4) != _aggregate(["val0", "val1", "val2"], 4)
    c.store.close()


def test_register_key_refuses_a_node_home_without_a_key_file(tmp_path):
    from chain.cli.main import app

    result = CliRunner().invoke(
        app, ["tx", "beacon", "register-key", "--from", "x", "--node-home", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "--node-home" in str(result.exception)


def _exported(c: TestChain) -> dict:
    return json.loads(json.dumps(_module(c).export_genesis(_ctx(c))))  # as it travels in a file


def test_the_genesis_export_imports_back_to_the_same_state(tmp_path):
    validators = [Key("val0"), Key("val1")]
    c = TestChain(tmp_path / "a", validators=validators, beacon=True)
    state = genesis_app_state(c.keys, c.validators)
    state["beacon"] = beacon_genesis(validators[:1])  # val0 at genesis, val1 by message
    c.app.init_chain(init_chain_request(state, vote_extensions_from=1))
    c.block()
    user = c.keys[0]
    assert (
        c.block([c.tx(user, send_msg(user, validators[1].address, 10**8))]).tx_results[0].code == 0
    )
    secret = validator_bls_secret("val1")
    msg = tx_pb2.MsgRegisterBlsKey(
        operator=validators[1].bech32,
        bls_pubkey=logic.compute_pubkey(secret),
        proof_of_possession=logic.compute_proof_of_possession(secret),
    )
    assert c.block([c.tx(validators[1], msg, gas=GAS, fee=FEE)]).tx_results[-1].code == 0
    assert not _keeper(c).is_active(_ctx(c))  # val0 alone holds 1/2 of the power: no beacon
    c.block()  # carries the commit of the registering block: both shares, a beacon
    exported = _exported(c)
    assert len(exported["keys"]) == 2 and exported["active"] is True
    c.store.close()

    d = TestChain(tmp_path / "b", validators=validators)
    state = genesis_app_state(d.keys, d.validators)
    state["beacon"] = exported
    d.app.init_chain(init_chain_request(state, vote_extensions_from=1))
    d.block()  # genesis state is committed with block 1
    assert _exported(d) == exported
    # Active from the first block: seeds wait for a beacon instead of using block hashes.
    assert _keeper(d).get_randomness(_ctx(d), 1) is None

    tampered = json.loads(json.dumps(exported))
    tampered["keys"][1]["proof_of_possession"] = exported["keys"][0]["proof_of_possession"]
    e = TestChain(tmp_path / "c", validators=validators)
    state = genesis_app_state(e.keys, e.validators)
    state["beacon"] = tampered
    with pytest.raises(ValueError, match="proof of possession"):
        e.app.init_chain(init_chain_request(state, vote_extensions_from=1))
    d.store.close()
    e.store.close()


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"bls_pubkey": "", "proof_of_possession": ""}, "consensus_pubkey or consensus_address"),
        ({"consensus_address": "AAAA", "consensus_pubkey": "AAAA"}, "consensus_pubkey or"),
        (
            {
                "consensus_address": base64.b64encode(b"x" * 19).decode(),
                "bls_pubkey": "",
                "proof_of_possession": "",
            },
            "20 bytes",
        ),  # fmt: skip
        (
            {"consensus_address": "not base64!", "bls_pubkey": "", "proof_of_possession": ""},
            "entry",
        ),
    ],
)
def test_malformed_genesis_entries_are_refused(tmp_path, entry, message):
    c = TestChain(tmp_path / "m")
    state = genesis_app_state(c.keys, c.validators)
    state["beacon"] = {"keys": [entry]}
    with pytest.raises(ValueError, match=message):
        c.app.init_chain(init_chain_request(state))
    c.store.close()


def test_active_must_be_a_boolean(tmp_path):
    c = TestChain(tmp_path / "x")
    state = genesis_app_state(c.keys, c.validators)
    state["beacon"] = {"active": "yes"}
    with pytest.raises(ValueError, match="active must be true or false"):
        c.app.init_chain(init_chain_request(state))
    c.store.close()
