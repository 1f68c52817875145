"""The REST server over an in-process node gRPC server (TestChain, fake CometBFT): SDK paths and
JSON, the generic infera.* routes, and hostile inputs that must be a 4xx with a clear message.

The same endpoints against a real node (tx POST then GET, blocks): tests/integration/test_rest.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import chain.pb  # noqa: F401

import pytest
from starlette.testclient import TestClient

from chain.rest.app import Settings, create_app
from chain.rest.routes import build_routes, compile_template, snake_case
from tests.chain.grpc.conftest import GrpcHarness, grpc_chain  # noqa: F401 - the fixture
from tests.harness import DENOM, INITIAL_BALANCE

MAX_BODY = 16384


@pytest.fixture
def rest(grpc_chain: GrpcHarness) -> Iterator[tuple[TestClient, GrpcHarness]]:  # noqa: F811
    settings = Settings(f"127.0.0.1:{grpc_chain.server.port}", explorer=False,
                        max_body_bytes=MAX_BODY)  # fmt: skip
    with TestClient(create_app(settings), raise_server_exceptions=True) as client:
        yield client, grpc_chain


def assert_error(response, status: int, code: int, text: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code and body["details"] == []
    assert text in body["message"], body["message"]


def test_balances_and_supply_are_the_sdk_json_with_amounts_as_strings(rest):
    client, harness = rest
    address = harness.chain.keys[0].bech32
    balances = client.get(f"/cosmos/bank/v1beta1/balances/{address}")
    assert balances.status_code == 200, balances.text
    assert balances.json()["balances"] == [{"denom": DENOM, "amount": str(INITIAL_BALANCE)}]
    assert balances.json()["pagination"]["next_key"] in ("", None)
    one = client.get(f"/cosmos/bank/v1beta1/balances/{address}/by_denom", params={"denom": DENOM})
    assert one.json() == {"balance": {"denom": DENOM, "amount": str(INITIAL_BALANCE)}}
    supply = client.get("/cosmos/bank/v1beta1/supply").json()["supply"]
    assert supply == [{"denom": DENOM, "amount": str(harness.chain.supply())}]
    assert int(balances.headers["Grpc-Metadata-X-Cosmos-Block-Height"]) == 1


def test_account_is_a_base_account_any_with_int64_as_strings(rest):
    client, harness = rest
    address = harness.chain.keys[1].bech32
    account = client.get(f"/cosmos/auth/v1beta1/accounts/{address}").json()["account"]
    assert account["@type"] == "/cosmos.auth.v1beta1.BaseAccount"
    assert account["address"] == address
    assert isinstance(account["account_number"], str) and isinstance(account["sequence"], str)


def test_infera_queries_are_served_generically_with_query_parameters(rest):
    client, _ = rest
    params = client.get("/infera/inference/v1/params").json()["params"]
    assert params["fee_denom"] == DENOM
    models = client.get("/infera/models/v1/models", params={"pagination.limit": "5"})
    assert models.status_code == 200 and models.json()["models"] == []
    posted = client.post("/infera/models/v1/models", json={"pagination": {"limit": "5"}})
    assert posted.json() == models.json()
    assert_error(client.get("/infera/models/v1/model", params={"id": "nope"}), 404, 5, "nope")


def test_consensus_params_endpoint(rest):
    client, _ = rest
    block = client.get("/cosmos/consensus/v1/params").json()["params"]["block"]
    assert int(block["max_gas"]) > 0


def test_height_header_reads_an_older_height(rest):
    client, harness = rest
    harness.block()
    address = harness.chain.keys[0].bech32
    response = client.get(f"/cosmos/bank/v1beta1/balances/{address}/by_denom?denom={DENOM}",
                          headers={"x-cosmos-block-height": "1"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["Grpc-Metadata-X-Cosmos-Block-Height"] == "1"


HOSTILE_GETS = [
    ("/cosmos/auth/v1beta1/accounts/not-an-address", 400, "invalid"),
    ("/cosmos/bank/v1beta1/balances/infera1xyz", 400, "invalid"),
    ("/cosmos/base/tendermint/v1beta1/blocks/99999999999999999999", 400, "height"),
    ("/cosmos/base/tendermint/v1beta1/blocks/-1", 400, "height"),
    ("/cosmos/base/tendermint/v1beta1/blocks/\u0663", 400, "height"),  # Arabic-Indic 3
    ("/cosmos/base/tendermint/v1beta1/blocks/1_0", 400, "height"),
    ("/cosmos/tx/v1beta1/txs/zz", 400, "hash"),
    ("/infera/inference/v1/job?job_id=18446744073709551616", 400, "job_id"),
    ("/infera/inference/v1/job?job_id=1&job_id=2", 400, "given 2 times"),
    ("/infera/inference/v1/job?nope=1", 400, "unknown parameter"),
    ("/infera/inference/v1/job?job_id.x=1", 400, "unknown parameter"),
    ("/infera/inference/v1/jobs?state=JOB_STATE_NOPE", 400, "unknown JobState"),
    ("/infera/inference/v1/jobs?pagination.key=%%%", 400, "base64"),
    ("/infera/inference/v1/jobs?pagination=1", 400, "message field"),
    ("/infera/store/v1/proven?key=a", 400, "base64"),
    ("/cosmos/bank/v1beta1/balances/x/by_denom?denom=" + "d" * 9000, 413, "query string"),
    ("/" + "a" * 3000, 413, "path"),
]


@pytest.mark.parametrize(("path", "status", "text"), HOSTILE_GETS)
def test_hostile_get_is_a_client_error_naming_the_problem(rest, path, status, text):
    client, _ = rest
    response = client.get(path)
    assert response.status_code == status, (path, response.text)
    assert text in response.json()["message"], response.json()


def test_hostile_height_header_is_400(rest):
    client, harness = rest
    address = harness.chain.keys[0].bech32
    for value in ("-1", "abc", "9" * 25, "\u0661"):
        response = client.get(f"/cosmos/bank/v1beta1/balances/{address}",
                              headers={"x-cosmos-block-height": value.encode()})  # fmt: skip
        assert response.status_code == 400, (value, response.text)
    pruned = client.get(f"/cosmos/bank/v1beta1/balances/{address}/by_denom?denom={DENOM}",
                        headers={"x-cosmos-block-height": "5000"})  # fmt: skip
    assert pruned.status_code == 400, pruned.text


HOSTILE_BODIES = [
    (
        b'{"tx_bytes": "not base64!!", "mode": "BROADCAST_MODE_SYNC"}',
        400,
        "tx_bytes: invalid base64",
    ),
    (b'{"tx_bytes": "QQ", "mode": "BROADCAST_MODE_NOPE"}', 400, "BroadcastTxRequest"),
    (b'{"tx_bytes": 5}', 400, "BroadcastTxRequest"),
    (b'{"nope": 1}', 400, "BroadcastTxRequest"),
    (b"[1, 2]", 400, "JSON object"),
    (b"{not json", 400, "not JSON"),
    (b"\xff\xfe", 400, "not JSON"),
    (b"[" * 5000 + b"]" * 5000, 400, "JSON object"),
    (
        b'{"tx_bytes": "QQ==", "mode": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        400,
        "BroadcastTxRequest",
    ),
    (b'{"tx_bytes": "' + b"A" * (MAX_BODY + 10) + b'"}', 413, "exceeds"),
]


@pytest.mark.parametrize(("body", "status", "text"), HOSTILE_BODIES)
def test_hostile_broadcast_body_is_a_client_error(rest, body, status, text):
    client, _ = rest
    response = client.post("/cosmos/tx/v1beta1/txs", content=body)
    assert response.status_code == status, (body[:60], response.text)
    assert text in response.json()["message"]


def test_unknown_path_is_404_and_wrong_method_405(rest):
    client, _ = rest
    assert_error(client.get("/cosmos/nothing/here"), 404, 5, "no route")
    assert_error(client.get("/cosmos/tx/v1beta1/simulate"), 405, 12, "not allowed")


def test_method_the_node_does_not_implement_is_501_not_500(rest):
    client, _ = rest
    response = client.get("/cosmos/bank/v1beta1/denoms_metadata")
    assert response.status_code == 501, response.text


def test_bank_and_auth_params_are_the_sdk_json(rest):
    client, _ = rest
    bank = client.get("/cosmos/bank/v1beta1/params")
    assert bank.status_code == 200, bank.text
    assert bank.json() == {"params": {"send_enabled": [], "default_send_enabled": True}}
    auth = client.get("/cosmos/auth/v1beta1/params")
    assert auth.status_code == 200, auth.text
    assert auth.json() == {
        "params": {
            "max_memo_characters": "256",
            "tx_sig_limit": "7",
            "tx_size_cost_per_byte": "10",
            "sig_verify_cost_ed25519": "0",
            "sig_verify_cost_secp256k1": "1000",
        }
    }


def test_simulate_over_rest_estimates_a_real_send(rest):
    client, harness = rest
    from tests.harness import send_msg

    sender, recipient = harness.chain.keys[0], harness.chain.keys[1]
    raw = harness.chain.tx(sender, send_msg(sender, recipient.address, 5), bump=False)
    body = {"tx_bytes": base64.b64encode(raw).decode()}
    response = client.post("/cosmos/tx/v1beta1/simulate", content=json.dumps(body))
    assert response.status_code == 200, response.text
    assert int(response.json()["gas_info"]["gas_used"]) > 10_000


def test_route_table_is_built_from_annotations_and_generic_infera_paths():
    routes = build_routes(["cosmos.bank.v1beta1.Query", "infera.workers.v1.Query"])
    templates = {(r.http_method, r.template): r.grpc_path for r in routes}
    assert templates[("GET", "/cosmos/bank/v1beta1/balances/{address}")] == (
        "/cosmos.bank.v1beta1.Query/AllBalances"
    )
    assert templates[("GET", "/infera/workers/v1/worker_stats")] == (
        "/infera.workers.v1.Query/WorkerStats"
    )
    assert snake_case("OpenVerifications") == "open_verifications"
    pattern, variables = compile_template("/cosmos/bank/v1beta1/denoms_metadata/{denom=**}")
    assert variables == ("denom",) and pattern.fullmatch("/cosmos/bank/v1beta1/denoms_metadata/a/b")
    latest = [r.template for r in build_routes(["cosmos.base.tendermint.v1beta1.Service"])]
    assert latest.index("/cosmos/base/tendermint/v1beta1/blocks/latest") < latest.index(
        "/cosmos/base/tendermint/v1beta1/blocks/{height}"
    )


def test_caller_sends_at_most_max_in_flight_calls_at_once():
    import asyncio
    from types import SimpleNamespace

    from chain.rest.caller import GrpcCaller

    state = {"active": 0, "peak": 0}

    class Call:  # a grpc.aio unary call that takes 10 ms
        def __await__(self):
            return self.run().__await__()

        async def run(self) -> bytes:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
            await asyncio.sleep(0.01)
            state["active"] -= 1
            return b""

        async def initial_metadata(self):
            return ()

    async def scenario() -> None:
        caller = GrpcCaller("127.0.0.1:1", max_in_flight=3)
        await caller.channel.close()
        caller.channel = SimpleNamespace(unary_unary=lambda path: lambda *a, **k: Call())
        await asyncio.gather(*(caller.call_raw("/x.Y/Z", b"") for _ in range(30)))

    asyncio.run(scenario())
    assert state["peak"] == 3


def test_cors_only_when_asked(grpc_chain):  # noqa: F811
    origin = {"Origin": "https://wallet.example", "Access-Control-Request-Method": "GET"}
    for cors in (False, True):
        settings = Settings(f"127.0.0.1:{grpc_chain.server.port}", explorer=False, cors=cors)
        with TestClient(create_app(settings)) as client:
            got = client.get("/cosmos/bank/v1beta1/supply", headers={"Origin": origin["Origin"]})
            assert got.status_code == 200
            assert (got.headers.get("access-control-allow-origin") == "*") is cors
            preflight = client.options("/cosmos/tx/v1beta1/txs", headers=origin)
            assert (preflight.headers.get("access-control-allow-origin") == "*") is cors
