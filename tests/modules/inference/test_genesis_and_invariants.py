"""Genesis export/import round trip (indexes and queues rebuilt identically) and the escrow
invariant."""

from __future__ import annotations

import json

import chain.pb  # noqa: F401

import pytest

from chain.store import CacheStore, prefix_end
from modules.inference import invariants, keys
from tests.modules.jobs import all_hops, commit_msg, ok, submit_msg
from tests.modules.serving import keeper, latest_ctx


def _module_state(ctx, prefix: bytes) -> dict[bytes, bytes]:
    return dict(ctx.store.iterate(prefix, prefix_end(prefix)))


@pytest.mark.parametrize(
    "module, prefix", [("inference", b"inference/"), ("agreement", b"agreement/")]
)
def test_genesis_round_trip_rebuilds_identical_state(node, submitter, module, prefix):
    ok(node, (submitter, submit_msg(submitter)), (submitter, submit_msg(submitter, redundancy=1)))
    ok(node, *[(w, commit_msg(w, 1)) for w in all_hops(node, 1)[:3]])
    ctx = latest_ctx(node)
    mod = next(m for m in node.app.modules if m.name == module)
    exported = json.loads(json.dumps(mod.export_genesis(ctx)))  # as it would travel in a file
    before = _module_state(ctx, prefix)
    assert before
    fresh = latest_ctx(node)
    for key in before:
        fresh.store.delete(key)
    mod.init_genesis(fresh, exported)
    assert _module_state(fresh, prefix) == before


def test_escrow_invariant_holds_and_detects_a_leak(node, submitter):
    ok(node, (submitter, submit_msg(submitter)))
    ctx = latest_ctx(node)
    k = keeper(node, "inference")
    assert invariants.check_escrow(ctx, k) == ""
    job = k.get_job(ctx, 1)
    job.escrow = "999"
    ctx.store.set(keys.job_key(1), job.SerializeToString())
    assert "escrow account holds 1000" in invariants.check_escrow(ctx, k)


def test_genesis_rejects_escrow_that_does_not_match_the_jobs(node, submitter):
    ok(node, (submitter, submit_msg(submitter)))
    ctx = latest_ctx(node)
    mod = next(m for m in node.app.modules if m.name == "inference")
    exported = mod.export_genesis(ctx)
    exported["jobs"][0]["escrow"] = "1"
    fresh = latest_ctx(node)
    assert isinstance(fresh.store, CacheStore)
    for key in _module_state(ctx, b"inference/"):
        fresh.store.delete(key)
    with pytest.raises(ValueError, match="escrow"):
        mod.init_genesis(fresh, exported)
