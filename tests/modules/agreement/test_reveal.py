"""MsgRevealOutput: the chain recomputes the output hash and the commitment; anything that does
not open the hop's own commitment, in the reveal window, exactly once, is rejected unchanged."""

from __future__ import annotations

import hashlib

import chain.pb  # noqa: F401

import pytest

from infera.inference.v1 import types_pb2
from modules.agreement import logic
from tests.modules.jobs import (
    OUTPUT,
    advance_to,
    all_hops,
    commit_msg,
    history,
    job,
    ok,
    reveal_msg,
    run,
    submit_msg,
)
from tests.modules.serving import FEE


@pytest.fixture
def revealing(node, submitter):
    """Job 1 (r=3): all hops but the last committed at height 5; reveals open after block 7."""
    ok(node, (submitter, submit_msg(submitter)))
    hops = all_hops(node, 1)
    ok(node, *[(w, commit_msg(w, 1)) for w in hops[:-1]])
    advance_to(node, 7)
    assert job(node, 1).state == types_pb2.JOB_STATE_REVEALING
    return node


def _reveal_fails(node, signer, msg, code: int) -> str:
    before = history(node, 1)
    balance = node.balance(signer.address)
    (result,) = run(node, (signer, msg))
    assert (result.codespace, result.code) == ("agreement", code), result.log
    after = history(node, 1)
    assert (after.reveals, after.outputs, after.job) == (before.reveals, before.outputs, before.job)
    assert node.balance(signer.address) == balance - FEE
    return result.log


def test_reveal_stores_the_recomputed_output_hash(revealing):
    worker = all_hops(revealing, 1)[0]
    (result,) = ok(revealing, (worker, reveal_msg(worker, 1)))
    state = history(revealing, 1)
    (reveal,) = state.reveals
    expected = hashlib.sha256(
        b"infera.output.v1\x00\x01" + b"".join(t.to_bytes(4, "big") for t in OUTPUT)
    ).digest()
    assert reveal.output_hash == expected
    (output,) = state.outputs
    assert (list(output.tokens), output.billable_tokens) == (OUTPUT, 4)


def test_raw_byte_outputs_are_hashed_and_billed_by_4_bytes(node, submitter):
    ok(node, (submitter, submit_msg(submitter, redundancy=1)))
    hops = all_hops(node, 1)
    text = b"hello there"
    text_hash = logic.compute_output_hash([], text)
    commits = [
        commit_msg(
            w,
            1,
            commitment=logic.compute_commitment(
                text_hash,
                reveal_msg(w, 1, tokens=[]).shard_fingerprint,
                reveal_msg(w, 1).salt,
                w.address,
            ),
        )
        for w in hops
    ]
    ok(node, *zip(hops, commits, strict=True))
    ok(node, *[(w, reveal_msg(w, 1, tokens=[], output_bytes=text)) for w in hops])
    (output,) = history(node, 1).outputs
    assert (output.text, output.billable_tokens) == (text, 3)
    assert job(node, 1).state == types_pb2.JOB_STATE_FINALIZED


def test_reveal_without_commit_is_rejected(revealing):
    absent = all_hops(revealing, 1)[-1]
    _reveal_fails(revealing, absent, reveal_msg(absent, 1), 9)


@pytest.mark.parametrize(
    "fields",
    [{"tokens": [1, 2, 3]}, {"salt": b"s" * 32}, {"shard_fingerprint": b"f" * 32}],
)
def test_reveal_that_does_not_match_the_commitment_is_rejected(revealing, fields):
    worker = all_hops(revealing, 1)[0]
    _reveal_fails(revealing, worker, reveal_msg(worker, 1, **fields), 11)
    ok(revealing, (worker, reveal_msg(worker, 1)))  # the honest opening still works


def test_copied_commitment_cannot_be_opened_by_the_copier(node, submitter):
    ok(node, (submitter, submit_msg(submitter, redundancy=2)))
    honest, copier = all_hops(node, 1)[:2]
    copied = commit_msg(honest, 1).commitment
    ok(node, (honest, commit_msg(honest, 1)), (copier, commit_msg(copier, 1, commitment=copied)))
    advance_to(node, 7)
    # the copier knows everything the honest worker revealed, yet the commitment binds the address
    stolen = reveal_msg(honest, 1)
    stolen.worker = copier.bech32
    _reveal_fails(node, copier, stolen, 11)


def test_double_reveal_is_rejected(revealing):
    worker = all_hops(revealing, 1)[0]
    ok(revealing, (worker, reveal_msg(worker, 1)))
    _reveal_fails(revealing, worker, reveal_msg(worker, 1), 10)


def test_reveal_before_the_window_opens_is_rejected(node, submitter):
    ok(node, (submitter, submit_msg(submitter)))
    worker = all_hops(node, 1)[0]
    ok(node, (worker, commit_msg(worker, 1)))
    _reveal_fails(node, worker, reveal_msg(worker, 1), 7)


def test_reveal_after_the_window_is_rejected(revealing):
    advance_to(revealing, 10)  # reveal_end: the job is tallied at the end of block 10
    worker = all_hops(revealing, 1)[0]
    _reveal_fails(revealing, worker, reveal_msg(worker, 1), 8)


def test_reveal_by_a_worker_not_on_the_route_is_rejected(revealing):
    stranger = revealing.keys[9]
    _reveal_fails(revealing, stranger, reveal_msg(stranger, 1), 4)


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"output_bytes": b"x"}, 12),  # both tokens and bytes
        ({"tokens": list(range(11))}, 12),  # longer than max_new_tokens (10)
        ({"tokens": [], "output_bytes": b"x" * 41}, 12),  # more than 4 x 10 bytes
        ({"shard_fingerprint": b""}, 13),  # fingerprints are required evidence
        ({"shard_fingerprint": b"f" * (logic.MAX_FINGERPRINT_BYTES + 1)}, 13),  # over the cap
        ({"salt": b"s" * 33}, 14),
    ],
)
def test_malformed_reveals_are_rejected(revealing, fields, code):
    worker = all_hops(revealing, 1)[0]
    _reveal_fails(revealing, worker, reveal_msg(worker, 1, **fields), code)
