"""`infera rest` against a real single-validator node (CometBFT + app, started by the real CLI):
accounts, balances, supply, node info, blocks, a signed tx POSTed then read back with GET, an
infera.* query, the explorer page, and hostile inputs that must be a 4xx, never a 500.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass

import chain.pb  # noqa: F401

import httpx
import pytest

from tests.chain.rest.helpers import rest_server
from tests.integration.conftest import (
    DENOM,
    TIMEOUT_COMMIT,
    DevAccount,
    NodeProcess,
    TxFactory,
    _have_cometbft,
    init_solo_node,
    load_dev_accounts,
    tx_hash,
)

NEEDS_COMETBFT = pytest.mark.skipif(
    not _have_cometbft(), reason="cometbft not found: run `make install`"
)
pytestmark = [pytest.mark.integration, NEEDS_COMETBFT]

CHAIN_ID = "infera-rest"


@dataclass
class RestNode:
    url: str
    node: NodeProcess
    accounts: list[DevAccount]

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, body: bytes | dict) -> httpx.Response:
        if isinstance(body, dict):
            return httpx.post(self.url + path, json=body, timeout=30)
        return httpx.post(self.url + path, content=body, timeout=30)


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestNode]:
    root = tmp_path_factory.mktemp("rest")
    home, rpc, grpc_address = init_solo_node(root, CHAIN_ID, TIMEOUT_COMMIT)
    node = NodeProcess("solo", home, rpc)
    node.start()
    try:
        node.wait_height(2)
        with rest_server(grpc_address, root / "rest.log") as url:
            yield RestNode(url, node, load_dev_accounts(home / "dev-accounts.json"))
    finally:
        node.stop()


def test_account_balances_supply_and_node_info(rest):
    address = rest.accounts[0].address
    account = rest.get(f"/cosmos/auth/v1beta1/accounts/{address}").json()["account"]
    assert account["@type"] == "/cosmos.auth.v1beta1.BaseAccount" and account["address"] == address
    balances = rest.get(f"/cosmos/bank/v1beta1/balances/{address}").json()["balances"]
    assert [b["denom"] for b in balances] == [DENOM] and int(balances[0]["amount"]) > 0
    supply = rest.get("/cosmos/bank/v1beta1/supply").json()["supply"]
    assert int(supply[0]["amount"]) >= int(balances[0]["amount"])
    info = rest.get("/cosmos/base/tendermint/v1beta1/node_info").json()
    assert info["default_node_info"]["network"] == CHAIN_ID
    assert info["application_version"]["cosmos_sdk_version"] == "v0.50.0"


def test_blocks_latest_and_by_height_match_cometbft(rest):
    latest = rest.get("/cosmos/base/tendermint/v1beta1/blocks/latest").json()
    height = int(latest["sdk_block"]["header"]["height"])
    assert height >= 2 and latest["sdk_block"]["header"]["chain_id"] == CHAIN_ID
    one = rest.get("/cosmos/base/tendermint/v1beta1/blocks/2").json()
    header = rest.node.rpc.call("header", height="2")["header"]
    assert (
        one["block_id"]["hash"]
        == base64.b64encode(
            bytes.fromhex(rest.node.rpc.call("block", height="2")["block_id"]["hash"])
        ).decode()
    )
    assert (
        one["block"]["header"]["app_hash"]
        == base64.b64encode(bytes.fromhex(header["app_hash"])).decode()
    )


def test_tx_posted_then_read_back(rest):
    sender, recipient = rest.accounts[1], rest.accounts[2].address
    path = f"/cosmos/bank/v1beta1/balances/{recipient}/by_denom?denom={DENOM}"
    before = int(rest.get(path).json()["balance"]["amount"])
    raw = TxFactory(rest.node.rpc, CHAIN_ID, [sender]).send(sender, recipient, 777)
    posted = rest.post("/cosmos/tx/v1beta1/txs", {"tx_bytes": base64.b64encode(raw).decode(),
                                                  "mode": "BROADCAST_MODE_SYNC"})  # fmt: skip
    assert posted.status_code == 200, posted.text
    response = posted.json()["tx_response"]
    assert response["code"] == 0 and response["txhash"] == tx_hash(raw), response
    deadline = time.monotonic() + 30
    while (got := rest.get(f"/cosmos/tx/v1beta1/txs/{tx_hash(raw)}")).status_code == 404:
        assert time.monotonic() < deadline, got.text
        time.sleep(0.3)
    assert got.status_code == 200, got.text
    tx = got.json()
    assert tx["tx_response"]["code"] == 0 and int(tx["tx_response"]["height"]) > 0
    [msg] = tx["tx"]["body"]["messages"]
    assert msg["@type"] == "/cosmos.bank.v1beta1.MsgSend" and msg["amount"][0]["amount"] == "777"
    assert int(rest.get(path).json()["balance"]["amount"]) == before + 777


def test_infera_query_and_consensus_params(rest):
    params = rest.get("/infera/inference/v1/params").json()["params"]
    assert params["fee_denom"] == DENOM and isinstance(params["max_new_tokens"], int)
    assert rest.get("/infera/models/v1/models?pagination.limit=10").json()["models"] == []
    assert int(rest.get("/cosmos/consensus/v1/params").json()["params"]["block"]["max_gas"]) > 0


def test_explorer_page_is_served_with_the_height(rest):
    page = rest.get("/explorer")
    assert page.status_code == 200 and 'id="height"' in page.text
    [validator] = rest.get("/infera/staking/v1/validators").json()["validators"]
    assert f'data-validator="{validator["operator_address"]}"' in page.text


HOSTILE = [
    ("/cosmos/base/tendermint/v1beta1/blocks/9999999999", 400),  # beyond the chain's end
    ("/cosmos/base/tendermint/v1beta1/blocks/99999999999999999999", 400),  # beyond int64
    ("/cosmos/base/tendermint/v1beta1/blocks/0", 400),
    ("/cosmos/tx/v1beta1/txs/" + "A" * 64, 404),
    ("/cosmos/tx/v1beta1/txs/not-a-hash", 400),
    ("/cosmos/auth/v1beta1/accounts/infera1notbech32", 400),
    ("/infera/inference/v1/job?job_id=x", 400),
    ("/cosmos/../../etc/passwd", 404),
    ("/cosmos/bank/v1beta1/balances/%00", 400),
]


@pytest.mark.parametrize(("path", "status"), HOSTILE)
def test_hostile_paths_are_client_errors(rest, path, status):
    response = rest.get(path)
    assert response.status_code == status, (path, response.text)
    assert set(response.json()) == {"code", "message", "details"}


def test_hostile_broadcasts_are_client_errors_or_a_failed_checktx(rest):
    bad = rest.post("/cosmos/tx/v1beta1/txs", {"tx_bytes": "@@@", "mode": "BROADCAST_MODE_SYNC"})
    assert bad.status_code == 400 and "base64" in bad.json()["message"]
    assert rest.post("/cosmos/tx/v1beta1/txs", b"{").status_code == 400
    garbage = base64.b64encode(b"\x0a\x05hello").decode()
    refused = rest.post(
        "/cosmos/tx/v1beta1/txs", {"tx_bytes": garbage, "mode": "BROADCAST_MODE_SYNC"}
    )
    assert refused.status_code == 200, refused.text  # as in the SDK: CheckTx's code in the answer
    assert refused.json()["tx_response"]["code"] != 0
    assert rest.get("/cosmos/base/tendermint/v1beta1/syncing").json() == {"syncing": False}
