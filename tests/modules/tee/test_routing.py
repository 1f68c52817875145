"""TEE-required routing: sharding, through the tee route filter, sees only workers with a valid
attestation of a required type and an allowed measurement, bound to their current key; the
filter drops a worker at its attestation's epoch boundary or collateral expiry."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain.errors import ChainError
from infera.tee.v1 import types_pb2 as T
from modules.sharding.errors import ErrInsufficientCoverage
from modules.sharding.keeper import ShardingKeeper
from modules.sharding.params import default_params as sharding_params
from modules.tee import msg_server
from modules.tee.routing import AttestedWorkers
from tests.modules.tee.fixtures import (
    FakeModels,
    at,
    attest_msg,
    make_keeper,
    operator,
)

SEED = b"\x05" * 32


def _setup(attested=("w1", "w2")):  # type: ignore[no-untyped-def]
    """w1..w3 serve all 4 layers of "m"; ``attested`` attest (INSECURE_TEST) at height 25."""
    keeper, workers, ctx = make_keeper()
    workers.add("w2")
    workers.add("w3")
    for name in attested:
        msg_server.attest(ctx, keeper, attest_msg(name))
    filtered = AttestedWorkers(workers, keeper)
    sharding = ShardingKeeper(filtered, FakeModels())
    sharding.set_params(ctx, sharding_params())
    return keeper, workers, filtered, sharding, ctx


def _require(keeper, ctx, types=(T.TEE_TYPE_INSECURE_TEST,), measurements=()) -> None:  # type: ignore[no-untyped-def]
    keeper.set_requirement(
        ctx, T.ModelRequirement(model_id="m", tee_types=types, measurements=measurements)
    )


def _operators(filtered, ctx) -> set[bytes]:  # type: ignore[no-untyped-def]
    return {op for op, _, _ in filtered.iterate_model_spans(ctx, "m")}


def test_a_model_without_requirement_routes_to_everyone() -> None:
    _, _, filtered, sharding, ctx = _setup()
    assert _operators(filtered, ctx) == {operator(n) for n in ("w1", "w2", "w3")}
    routes = sharding.select_routes(ctx, "m", 3, SEED)
    assert {hop.operator for route in routes for hop in route} == _operators(filtered, ctx)


def test_a_tee_required_model_routes_only_to_attested_workers() -> None:
    keeper, _, filtered, sharding, ctx = _setup()
    _require(keeper, ctx)
    attested = {operator("w1"), operator("w2")}
    assert _operators(filtered, ctx) == attested
    for seed in (SEED, b"\x06" * 32, b"\x07" * 32):
        routes = sharding.select_routes(ctx, "m", 2, seed)
        assert {hop.operator for route in routes for hop in route} == attested
    with pytest.raises(ChainError) as info:  # three routes need three attested workers
        sharding.select_routes(ctx, "m", 3, SEED)
    assert info.value.kind == ErrInsufficientCoverage


def test_an_attestation_stops_being_eligible_at_its_epoch_boundary() -> None:
    keeper, _, filtered, _, ctx = _setup()
    _require(keeper, ctx)
    assert keeper.get_attestation(ctx, operator("w1")).expires_height == 30  # type: ignore[union-attr]
    last = at(ctx.store, height=29, time_s=1_700_000_100)
    boundary = at(ctx.store, height=30, time_s=1_700_000_101)
    assert _operators(filtered, last) == {operator("w1"), operator("w2")}
    assert _operators(filtered, boundary) == set()


def test_an_attestation_stops_being_eligible_when_its_collateral_expires() -> None:
    keeper, _, filtered, _, ctx = _setup()
    _require(keeper, ctx)
    stored = keeper.get_attestation(ctx, operator("w1"))
    assert stored is not None
    stored.expires_time = 1_700_000_050  # as a collateral nextUpdate would set it
    keeper.set_attestation(ctx, operator("w1"), stored)
    assert operator("w1") in _operators(filtered, at(ctx.store, height=26, time_s=1_700_000_049))
    assert operator("w1") not in _operators(
        filtered, at(ctx.store, height=26, time_s=1_700_000_050)
    )


def test_a_worker_that_changes_its_key_loses_eligibility() -> None:
    keeper, workers, filtered, _, ctx = _setup()
    _require(keeper, ctx)
    workers.workers[operator("w1")].encryption_pubkey = b"\x09" * 32
    assert _operators(filtered, ctx) == {operator("w2")}


def test_only_required_types_and_allowed_measurements_are_eligible() -> None:
    keeper, _, filtered, _, ctx = _setup()
    _require(keeper, ctx, types=(T.TEE_TYPE_INTEL_TDX, T.TEE_TYPE_AMD_SEV_SNP))
    assert _operators(filtered, ctx) == set()  # attested, but with the test type
    _require(keeper, ctx, measurements=("ab" * 48,))  # the model's own list, without ours
    assert _operators(filtered, ctx) == set()
