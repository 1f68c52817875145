"""tee genesis: INSECURE_TEST and test_network only on test chain ids; params validated."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest
from google.protobuf import json_format

from chain.context import BlockInfo, Context, ExecMode
from chain.store import MemStore
from infera.tee.v1 import genesis_pb2
from infera.tee.v1 import types_pb2 as T
from modules.tee import genesis, logic
from modules.tee.params import default_params
from tests.modules.tee.fixtures import FakeModels, FakeWorkers, make_keeper, tee_params


def _load(params: T.Params, chain_id: str) -> None:
    from modules.tee.keeper import TeeKeeper

    ctx = Context(MemStore(), BlockInfo(chain_id, 1, 0), ExecMode.FINALIZE)
    data = json_format.MessageToDict(genesis_pb2.GenesisState(params=params))
    genesis.init_genesis(ctx, TeeKeeper(FakeWorkers(), FakeModels()), data)


@pytest.mark.parametrize("chain_id", ["infera-1", "infera-mainnet", "infera-tested-1", "testing"])
def test_non_test_chain_refuses_insecure_test(chain_id: str) -> None:
    with pytest.raises(ValueError, match="test_network is refused"):
        _load(tee_params(), chain_id)


@pytest.mark.parametrize("chain_id", ["infera-test-1", "infera-it", "infera-local-1", "infera-e2e"])
def test_test_chain_allows_insecure_test(chain_id: str) -> None:
    _load(tee_params(), chain_id)


def test_insecure_test_needs_test_network_even_on_a_test_chain() -> None:
    with pytest.raises(ValueError, match="only with test_network"):
        _load(tee_params(test_network=False), "infera-test-1")


def test_default_params_load_on_a_production_chain() -> None:
    _load(default_params(), "infera-1")
    assert T.TEE_TYPE_INSECURE_TEST not in default_params().allowed_types


@pytest.mark.parametrize(
    "fields",
    [
        {"allowed_types": [3, 1]},
        {"allowed_types": [1, 7]},
        {"allowed_intel_tcb_statuses": ["Up To Date"]},
        {"refused_intel_advisories": ["SA-1"]},
        {"measurements": ["xyz"]},
        {"epoch_blocks": 0},
        {"gas_snp": 0},
        {"max_report_bytes": 10**9},
    ],
)
def test_bad_params_are_refused(fields: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        _load(tee_params(**fields), "infera-test-1")


def test_export_then_import_is_identical() -> None:
    from modules.tee import msg_server
    from tests.modules.tee.fixtures import attest_msg

    keeper, _, ctx = make_keeper()
    msg_server.attest(ctx, keeper, attest_msg("w1"))
    exported = genesis.export_genesis(ctx, keeper)
    again, _, ctx2 = make_keeper()
    genesis.init_genesis(ctx2, again, exported)
    assert genesis.export_genesis(ctx2, again) == exported
    assert len(exported["attestations"]) == 1


def test_test_chain_id_is_a_whole_part() -> None:
    assert logic.is_test_chain_id("a-dev") and not logic.is_test_chain_id("adevnet")
