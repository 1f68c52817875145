"""Trusted setup on a real node whose genesis refuses dev keys (zk params refuse_dev_keys):
`infera tx zk register-key --dev-setup` is refused by the CLI, the same key sent as a raw
transaction is rejected by the chain (code 13), a tampered or one-party ceremony zkey is refused
by the CLI, and a two-contribution phase-2 zkey verified by `snarkjs zkey verify` is registered
as a non-dev key (the key on chain is the one exported from the verified zkey)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import chain.pb  # noqa: F401

import pytest
from google.protobuf import json_format

from chain.cli.infera_tx import signing_key
from chain.client import Client, TxError
from infera.zk.v1 import query_pb2 as zk_query
from infera.zk.v1 import tx_pb2 as zk_tx
from inference_worker.zk import snarkjs
from modules.zk import encoding
from modules.zk.params import default_params
from tests.inference_worker.zk.test_ceremony import two_party_zkey
from tests.integration.conftest import NodeProcess, init_solo_node, load_dev_accounts
from tests.integration.test_cli_infera_tx import MODEL, CliNode, write_manifest
from tests.modules.zk.fixtures import MUL_CIRCOM

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not snarkjs.is_available(), reason="snarkjs/circom2 not installed"),
]

CHAIN_ID = "infera-zk-ceremony"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliNode]:
    home, rpc, grpc = init_solo_node(tmp_path_factory.mktemp("zkc"), CHAIN_ID, "200ms")
    genesis_path = home / "config" / "genesis.json"
    genesis = json.loads(genesis_path.read_text())
    params = default_params()
    params.refuse_dev_keys = True  # a production genesis
    genesis["app_state"]["zk"] = {"params": json_format.MessageToDict(params)}
    genesis_path.write_text(json.dumps(genesis))
    process = NodeProcess("solo", home, rpc)
    process.start()
    try:
        process.wait_height(2)
        addresses = [a.address for a in load_dev_accounts(home / "dev-accounts.json")]
        yield CliNode(home, grpc, addresses[:3])
    finally:
        if process.process is not None:
            assert process.stop() == 0


def _refused(node: CliNode, *args: str) -> str:
    result = node.run(*args)
    assert result.exit_code != 0, result.output
    return str(result.exception)


def test_dev_keys_are_refused_and_a_verified_ceremony_key_is_registered(
    node: CliNode, tmp_path: Path
) -> None:
    circ = snarkjs.compile_circuit(MUL_CIRCOM, "mul")
    write_manifest(tmp_path / "manifest.json")
    node.ok("models", "register", "--file", str(tmp_path / "manifest.json"), "--price", "1",
            "--bytes-per-layer", "1000", "--from", "dev0")  # fmt: skip
    (tmp_path / "vk.json").write_text(json.dumps(circ.verification_key()))

    # a dev key: the CLI refuses it (it reads the chain's params) ...
    why = _refused(node, "zk", "register-key", "mul-dev", MODEL, "--vk",
                   str(tmp_path / "vk.json"), "--dev-setup", "--from", "dev0")  # fmt: skip
    assert "refuses dev-setup keys" in why
    # ... and a --vk key cannot be declared non-dev without its ceremony
    why = _refused(node, "zk", "register-key", "mul", MODEL, "--vk", str(tmp_path / "vk.json"),
                   "--from", "dev0")  # fmt: skip
    assert "--zkey --r1cs --ptau" in why
    # ... and the chain rejects it when sent past the CLI
    msg = zk_tx.MsgRegisterVerifyingKey(
        owner=node.addresses[0], id="mul-dev", model_id=MODEL, dev_setup=True,
        key=encoding.verifying_key_from_snarkjs(circ.verification_key()),
    )  # fmt: skip
    with Client(node.grpc) as sdk, pytest.raises(TxError) as rejected:
        sdk.execute(signing_key(node.home, "dev0").wallet(), [msg], gas=2_000_000)
    assert (rejected.value.result.codespace, rejected.value.result.code) == ("zk", 13)

    # ceremony keys: the zkey must pass `snarkjs zkey verify` with two contributions
    one, two = two_party_zkey(circ, tmp_path / "ceremony")
    tampered = tmp_path / "tampered.zkey"
    data = bytearray(two.read_bytes())
    data[len(data) - 1000] ^= 1
    tampered.write_bytes(bytes(data))
    checked = ["--r1cs", str(circ.folder / "mul.r1cs"), "--ptau", str(snarkjs.ptau_path())]
    why = _refused(node, "zk", "register-key", "mul", MODEL, "--zkey", str(tampered), *checked,
                   "--from", "dev0")  # fmt: skip
    assert "zkey verify refused" in why
    why = _refused(node, "zk", "register-key", "mul", MODEL, "--zkey", str(one), *checked,
                   "--from", "dev0")  # fmt: skip
    assert "1 phase-2 contribution(s)" in why
    node.ok("zk", "register-key", "mul", MODEL, "--zkey", str(two), *checked, "--from", "dev0")
    with Client(node.grpc) as sdk:
        key = sdk.query(
            "/infera.zk.v1.Query/VerifyingKey",
            zk_query.QueryVerifyingKeyRequest(id="mul"),
            zk_query.QueryVerifyingKeyResponse,
        ).key
    exported = snarkjs.verify_ceremony(circ.folder / "mul.r1cs", snarkjs.ptau_path(), two,
                                       tmp_path / "v").vk  # fmt: skip
    assert not key.dev_setup and key.model_id == MODEL
    assert bytes(key.key) == encoding.verifying_key_from_snarkjs(exported)
