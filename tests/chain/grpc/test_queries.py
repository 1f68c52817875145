"""Router queries over gRPC: every route served, heights by header, clear errors for bad input."""

from __future__ import annotations

from dataclasses import dataclass

import chain.pb  # noqa: F401

import grpc

from chain import crypto
from chain.module import QueryRoute
from cosmos.auth.v1beta1 import auth_pb2
from cosmos.auth.v1beta1 import query_pb2 as auth_query
from cosmos.auth.v1beta1 import query_pb2_grpc as auth_grpc
from cosmos.bank.v1beta1 import query_pb2 as bank_query
from cosmos.bank.v1beta1 import query_pb2_grpc as bank_grpc
from cosmos.base.query.v1beta1 import pagination_pb2
from infera.models.v1 import query_pb2 as models_query
from infera.models.v1 import query_pb2_grpc as models_grpc
from infera.staking.v1 import query_pb2 as staking_query
from infera.staking.v1 import query_pb2_grpc as staking_grpc
from tests.chain.grpc.conftest import GrpcHarness, rpc_error
from tests.harness import INITIAL_BALANCE, send_msg

BALANCE = "/cosmos.bank.v1beta1.Query/Balance"
HEIGHT = "x-cosmos-block-height"


def _balance(h: GrpcHarness, address: str, height: int | None = None) -> int:
    metadata = ((HEIGHT, str(height)),) if height is not None else None
    request = bank_query.QueryBalanceRequest(address=address, denom="uinfera")
    response = bank_grpc.QueryStub(h.channel).Balance(request, metadata=metadata)
    return int(response.balance.amount)


def test_balance_is_served_with_the_height_read(grpc_chain: GrpcHarness) -> None:
    key = grpc_chain.chain.keys[0]
    request = bank_query.QueryBalanceRequest(address=key.bech32, denom="uinfera")
    raw, headers = grpc_chain.unary(BALANCE, request.SerializeToString())
    assert bank_query.QueryBalanceResponse.FromString(raw).balance.amount == str(INITIAL_BALANCE)
    assert headers[HEIGHT] == "1"


def test_height_header_reads_a_past_state(grpc_chain: GrpcHarness) -> None:
    sender, recipient = grpc_chain.chain.keys[0], grpc_chain.chain.keys[1]
    result = grpc_chain.block([grpc_chain.chain.tx(sender, send_msg(sender, recipient.address, 7))])
    assert result.tx_results[0].code == 0
    assert _balance(grpc_chain, recipient.bech32) == INITIAL_BALANCE + 7
    assert _balance(grpc_chain, recipient.bech32, height=1) == INITIAL_BALANCE
    assert _balance(grpc_chain, recipient.bech32, height=2) == INITIAL_BALANCE + 7


def test_account_is_an_any_of_base_account(grpc_chain: GrpcHarness) -> None:
    key = grpc_chain.chain.keys[0]
    response = auth_grpc.QueryStub(grpc_chain.channel).Account(
        auth_query.QueryAccountRequest(address=key.bech32)
    )
    assert response.account.type_url == "/cosmos.auth.v1beta1.BaseAccount"
    account = auth_pb2.BaseAccount()
    response.account.Unpack(account)
    assert account.address == key.bech32


def test_accounts_pages_by_key_and_offset_and_counts(grpc_chain: GrpcHarness) -> None:
    stub = auth_grpc.QueryStub(grpc_chain.channel)
    everything = stub.Accounts(auth_query.QueryAccountsRequest()).accounts
    addresses = [auth_pb2.BaseAccount.FromString(a.value).address for a in everything]
    assert len(addresses) >= 5  # four users, a validator operator and module accounts
    first = stub.Accounts(
        auth_query.QueryAccountsRequest(
            pagination=pagination_pb2.PageRequest(limit=2, count_total=True)
        )
    )
    assert len(first.accounts) == 2 and first.pagination.total == len(addresses)
    second = stub.Accounts(
        auth_query.QueryAccountsRequest(
            pagination=pagination_pb2.PageRequest(key=first.pagination.next_key, limit=2)
        )
    )
    by_offset = stub.Accounts(
        auth_query.QueryAccountsRequest(pagination=pagination_pb2.PageRequest(offset=2, limit=2))
    )
    assert list(second.accounts) == list(by_offset.accounts) == list(everything[2:4])
    reverse = stub.Accounts(
        auth_query.QueryAccountsRequest(pagination=pagination_pb2.PageRequest(reverse=True))
    )
    assert list(reverse.accounts) == list(reversed(everything))


def test_auth_params_are_infera_auth_params_in_the_sdk_message(grpc_chain: GrpcHarness) -> None:
    """Genesis leaves auth at its defaults (modules/auth/params.py); ed25519 is never accepted."""
    params = auth_grpc.QueryStub(grpc_chain.channel).Params(auth_query.QueryParamsRequest()).params
    assert (params.max_memo_characters, params.tx_sig_limit) == (256, 7)
    assert (params.tx_size_cost_per_byte, params.sig_verify_cost_secp256k1) == (10, 1000)
    assert params.sig_verify_cost_ed25519 == 0


def test_auth_params_map_each_infera_field_to_its_sdk_field() -> None:
    """Distinct values per field, so a swapped or hard-coded field fails (a gov change shows)."""
    from infera.auth.v1 import types_pb2
    from modules.auth import query_server

    own = types_pb2.Params(max_memo_characters=11, tx_sig_limit=3, tx_size_cost_per_byte=17,
                           sig_verify_cost_secp256k1=2222, min_gas_price="1", fee_denom="uinfera")  # fmt: skip

    class Keeper:
        def get_params(self, ctx: object) -> types_pb2.Params:
            return own

    params = query_server.params(None, Keeper(), auth_query.QueryParamsRequest()).params  # type: ignore[arg-type]
    assert (params.max_memo_characters, params.tx_sig_limit) == (11, 3)
    assert (params.tx_size_cost_per_byte, params.sig_verify_cost_secp256k1) == (17, 2222)
    assert params.sig_verify_cost_ed25519 == 0


def test_bank_params_say_every_denom_is_sendable(grpc_chain: GrpcHarness) -> None:
    response = bank_grpc.QueryStub(grpc_chain.channel).Params(bank_query.QueryParamsRequest())
    assert response.params.default_send_enabled is True
    assert list(response.params.send_enabled) == []


def test_every_router_route_is_served(grpc_chain: GrpcHarness) -> None:
    """An empty request reaches every route's handler: it answers or refuses the input."""
    for path in grpc_chain.chain.app.router.query_paths():
        try:
            grpc_chain.unary(path, b"")
        except grpc.RpcError as err:
            assert err.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND), (
                path,
                err.code(),
                err.details(),
            )


@dataclass
class _LateModule:
    """A module registered after the server started."""

    name: str = "late"

    def msg_routes(self) -> tuple:
        return ()

    def query_routes(self) -> tuple:
        handler = lambda ctx, req: models_query.QueryModelResponse()  # noqa: E731
        return (QueryRoute("/infera.late.v1.Query/Thing", models_query.QueryModelRequest, handler),)


def test_a_route_registered_later_is_served(grpc_chain: GrpcHarness) -> None:
    grpc_chain.on_loop(lambda: grpc_chain.chain.app.router.add_module(_LateModule()))
    raw, _ = grpc_chain.unary("/infera.late.v1.Query/Thing", b"")
    assert raw == b""


def test_unknown_method_is_unimplemented(grpc_chain: GrpcHarness) -> None:
    err = rpc_error(lambda: grpc_chain.unary("/cosmos.bank.v1beta1.Query/DenomMetadata", b""))
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED


# -- bad input: a clear INVALID_ARGUMENT or NOT_FOUND, never INTERNAL ----------------------------


def test_malformed_address_is_invalid_argument(grpc_chain: GrpcHarness) -> None:
    err = rpc_error(lambda: _balance(grpc_chain, "infera1notanaddress"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid address" in err.details()


def test_malformed_denom_is_invalid_argument(grpc_chain: GrpcHarness) -> None:
    key = grpc_chain.chain.keys[0]
    request = bank_query.QueryBalanceRequest(address=key.bech32, denom="no such denom!")
    err = rpc_error(lambda: bank_grpc.QueryStub(grpc_chain.channel).Balance(request))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid denom" in err.details()


def test_well_formed_denom_without_coins_is_zero_as_in_cosmos(grpc_chain: GrpcHarness) -> None:
    key = grpc_chain.chain.keys[0]
    request = bank_query.QueryBalanceRequest(address=key.bech32, denom="ufoo")
    response = bank_grpc.QueryStub(grpc_chain.channel).Balance(request)
    assert response.balance.amount == "0"


def test_unknown_account_and_model_are_not_found(grpc_chain: GrpcHarness) -> None:
    stranger = crypto.to_bech32(b"\x07" * 20)
    err = rpc_error(
        lambda: auth_grpc.QueryStub(grpc_chain.channel).Account(
            auth_query.QueryAccountRequest(address=stranger)
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND and stranger in err.details()
    err = rpc_error(
        lambda: models_grpc.QueryStub(grpc_chain.channel).Model(
            models_query.QueryModelRequest(id="nope")
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND and "model not found" in err.details()


def test_undecodable_request_is_invalid_argument(grpc_chain: GrpcHarness) -> None:
    err = rpc_error(lambda: grpc_chain.unary(BALANCE, b"\xff\xff\xff"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cannot decode QueryBalanceRequest" in err.details()


def test_huge_and_negative_page_limits_are_invalid_argument(grpc_chain: GrpcHarness) -> None:
    stub = auth_grpc.QueryStub(grpc_chain.channel)
    # A client that writes -1 into the uint64 limit (or offset) sends 2**64 - 1 on the wire.
    for page in (
        pagination_pb2.PageRequest(limit=(1 << 64) - 1),
        pagination_pb2.PageRequest(limit=1001),
        pagination_pb2.PageRequest(offset=(1 << 64) - 1),
        pagination_pb2.PageRequest(key=b"x", offset=1),
    ):
        err = rpc_error(lambda p=page: stub.Accounts(auth_query.QueryAccountsRequest(pagination=p)))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, page
        assert "pagination" in err.details()


def test_infera_listing_with_huge_limit_is_invalid_argument(grpc_chain: GrpcHarness) -> None:
    page = models_query.QueryModelsRequest()
    page.pagination.limit = (1 << 64) - 1
    err = rpc_error(lambda: models_grpc.QueryStub(grpc_chain.channel).Models(page))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "limit" in err.details()


def test_bad_height_headers_are_invalid_argument(grpc_chain: GrpcHarness) -> None:
    address = grpc_chain.chain.keys[0].bech32
    for height, text in (
        ("-5", "invalid x-cosmos-block-height"),
        ("abc", "invalid"),
        ("99", "future"),
    ):
        metadata = ((HEIGHT, height),)
        request = bank_query.QueryBalanceRequest(address=address, denom="uinfera")
        err = rpc_error(
            lambda m=metadata, r=request: bank_grpc.QueryStub(grpc_chain.channel).Balance(
                r, metadata=m
            )
        )
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, height
        assert text in err.details()


def test_accounts_page_past_the_offset_bound_is_invalid_argument(grpc_chain: GrpcHarness) -> None:
    """A huge offset would walk every account before the page: refused, naming the bound."""
    stub = auth_grpc.QueryStub(grpc_chain.channel)
    page = pagination_pb2.PageRequest(offset=10**6, limit=1)
    err = rpc_error(lambda: stub.Accounts(auth_query.QueryAccountsRequest(pagination=page)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "offset 1000000 exceeds 10000" in err.details()


def test_bank_listings_are_pages_with_the_cosmos_bounds(grpc_chain: GrpcHarness) -> None:
    stub = bank_grpc.QueryStub(grpc_chain.channel)
    address = grpc_chain.chain.keys[0].bech32
    huge = pagination_pb2.PageRequest(limit=10**9)
    for call in (
        lambda: stub.AllBalances(
            bank_query.QueryAllBalancesRequest(address=address, pagination=huge)
        ),
        lambda: stub.TotalSupply(bank_query.QueryTotalSupplyRequest(pagination=huge)),
    ):
        err = rpc_error(call)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "limit" in err.details()
    balances = stub.AllBalances(bank_query.QueryAllBalancesRequest(address=address))
    assert [(c.denom, c.amount) for c in balances.balances] == [("uinfera", str(INITIAL_BALANCE))]
    supply = stub.TotalSupply(
        bank_query.QueryTotalSupplyRequest(pagination=pagination_pb2.PageRequest(count_total=True))
    )
    assert supply.pagination.total == len(supply.supply) >= 1


def test_staking_validators_is_a_bounded_page(grpc_chain: GrpcHarness) -> None:
    stub = staking_grpc.QueryStub(grpc_chain.channel)
    huge = staking_query.QueryValidatorsRequest()
    huge.pagination.limit = 10**9
    err = rpc_error(lambda: stub.Validators(huge))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "limit" in err.details()
    one = staking_query.QueryValidatorsRequest()
    one.pagination.limit = 1
    page = stub.Validators(one)
    assert len(page.validators) == 1 and page.pagination.next_key == b""
