"""Sealed jobs on chain: submit with commitments only, seal per hop after assignment, the rounds
open at the seal, an unsealed job is refunded with nobody blamed, and the reveals carry only a
keyed output hash plus the output sealed to the submitter (docs/private-jobs.md)."""

from __future__ import annotations

import os

import chain.pb  # noqa: F401

import pytest

from chain import sealing
from infera.inference.v1 import query_pb2 as inference_query
from infera.inference.v1 import tx_pb2 as inference_tx
from infera.inference.v1 import types_pb2 as T
from modules.agreement import divergence
from modules.agreement import logic as agreement_logic
from tests.modules.jobs import (
    MAX_FEE,
    OUTPUT,
    advance_to,
    commit_msg,
    escrow_balance,
    fingerprint,
    hops,
    job,
    make_job_chain,
    ok,
    reveal_msg,
    run,
    salt,
    submit_msg,
)
from tests.modules.serving import FEE

PROMPT = b"the secret prompt"
ROOM = 32  # padded prompt room in bytes (priced as 8 tokens)
SEAL_WINDOW = 4
CHAIN_ID = "infera-test-1"  # tests/harness.py


@pytest.fixture
def node(tmp_path):
    chain_ = make_job_chain(
        tmp_path / "node",
        inference={"seal_window_blocks": SEAL_WINDOW, "max_deadline_blocks": 60},
    )
    register_our_keys(chain_)
    yield chain_
    chain_.store.close()


@pytest.fixture
def submitter(node):
    return node.keys[7]


@pytest.fixture
def secrets():
    return sealing.JobSecrets(os.urandom(32))


def sealed_submit(submitter, secrets, **fields):
    values = {
        "prompt": b"",
        "privacy": T.PRIVACY_MODE_SEALED,
        "prompt_commitment": secrets.prompt_commitment(PROMPT),
        "sealed_prompt_bytes": ROOM,
        "reply_pubkey": secrets.reply_pubkey,
        "deadline_blocks": 30,
    }
    values.update(fields)
    return submit_msg(submitter, **values)


def worker_private(key) -> bytes:
    """A deterministic X25519 key per test worker (register_our_keys puts its public half on
    chain in place of the harness's)."""
    return key.address.ljust(32, b"\x00")


def register_our_keys(chain_) -> None:
    from infera.workers.v1 import tx_pb2 as workers_tx
    from tests.modules.jobs import worker_keys

    ok(
        chain_,
        *[
            (key, workers_tx.MsgUpdateWorker(
                operator=key.bech32, encryption_pubkey=sealing.public_key(worker_private(key))
            ))
            for key in worker_keys(chain_)
        ],
    )  # fmt: skip


def boxes_for(node, job_id, secrets, *, prompt=PROMPT, room=ROOM):
    """One SealedRoute per route: hop 0 gets the prompt payload, later hops the key payload."""
    routes = []
    for route_index, route in enumerate(hops(node, job_id)):
        boxes = []
        for hop_index, key in enumerate(route):
            pub = sealing.public_key(worker_private(key))
            if hop_index == 0:
                payload = sealing.encode_prompt_payload(secrets.output_key, prompt, room)
                purpose = sealing.PURPOSE_PROMPT
            else:
                payload = sealing.encode_key_payload(secrets.output_key)
                purpose = sealing.PURPOSE_KEY
            place = sealing.Place(CHAIN_ID, job_id, route_index, hop_index, purpose)
            boxes.append(sealing.seal_for_hop(secrets, pub, payload, place))
        routes.append(T.SealedRoute(boxes=boxes))
    return routes


def seal_msg(submitter, job_id, routes):
    return inference_tx.MsgSealPrompt(submitter=submitter.bech32, job_id=job_id, routes=routes)


def submit_sealed(node, submitter, secrets) -> int:
    ok(node, (submitter, sealed_submit(submitter, secrets)))
    return job(node, 1).id


def seals(node, job_id):
    res = node.query(
        "/infera.inference.v1.Query/JobSeals", inference_query.QueryJobSealsRequest(job_id=job_id)
    )
    assert res.code == 0, res.log
    return inference_query.QueryJobSealsResponse.FromString(res.value).seals


def test_sealed_job_stores_commitments_not_the_prompt(node, submitter, secrets):
    job_id = submit_sealed(node, submitter, secrets)
    stored = job(node, job_id)
    assert stored.state == T.JOB_STATE_ASSIGNED
    assert stored.prompt == b""
    assert stored.privacy == T.PRIVACY_MODE_SEALED
    assert stored.sealed.prompt_commitment == secrets.prompt_commitment(PROMPT)
    assert stored.prompt_tokens_estimate == ROOM // 4  # priced on the declared room
    assert stored.sealed.seal_end_height == stored.assign_height + SEAL_WINDOW
    assert stored.commit_end_height == 0  # the rounds wait for the seal
    assert not seals(node, job_id).routes


def test_commits_refused_until_sealed(node, submitter, secrets):
    job_id = submit_sealed(node, submitter, secrets)
    first = hops(node, job_id)[0][0]
    (result,) = run(node, (first, commit_msg(first, job_id)))
    assert (result.codespace, result.code) == ("agreement", 5)  # commit window closed


def test_seal_opens_the_rounds_and_stores_the_boxes(node, submitter, secrets):
    job_id = submit_sealed(node, submitter, secrets)
    routes = boxes_for(node, job_id, secrets)
    (result,) = ok(node, (submitter, seal_msg(submitter, job_id, routes)))
    stored = job(node, job_id)
    assert stored.sealed.sealed_height == node.height
    assert stored.commit_end_height == node.height + 3  # COMMIT_WINDOW after the seal
    stored_seals = seals(node, job_id).routes
    assert [list(r.boxes) for r in stored_seals] == [list(r.boxes) for r in routes]
    assert all(len(r.recipients) == len(r.boxes) for r in stored_seals)  # filled by the chain
    types = [e.type for e in result.events]
    assert "infera.job_sealed" in types
    # a hop opens its own box, and no other
    route0 = hops(node, job_id)[0]
    place = sealing.Place(CHAIN_ID, job_id, 0, 0, sealing.PURPOSE_PROMPT)
    opened = sealing.open_box(worker_private(route0[0]), routes[0].boxes[0], place)
    assert sealing.decode_prompt_payload(opened) == (secrets.output_key, PROMPT)
    with pytest.raises(sealing.SealingError):
        sealing.open_box(worker_private(route0[1]), routes[0].boxes[0], place)


def test_seal_rejects_a_signer_who_is_not_the_submitter(node, submitter, secrets):
    job_id = submit_sealed(node, submitter, secrets)
    other = node.keys[8]
    (result,) = run(node, (other, seal_msg(other, job_id, boxes_for(node, job_id, secrets))))
    assert (result.codespace, result.code) == ("inference", 14)


def test_seal_rejects_wrong_counts_and_sizes(node, submitter, secrets):
    job_id = submit_sealed(node, submitter, secrets)
    routes = boxes_for(node, job_id, secrets)
    short = routes[:-1]
    missing_hop = [T.SealedRoute(boxes=routes[0].boxes[:1]), *routes[1:]]
    oversized = [T.SealedRoute(boxes=[routes[0].boxes[0] + b"x", *routes[0].boxes[1:]])]
    oversized += routes[1:]
    wrong_room = boxes_for(node, job_id, secrets, room=ROOM + 1)
    for bad in (short, missing_hop, oversized, wrong_room):
        (result,) = run(node, (submitter, seal_msg(submitter, job_id, bad)))
        assert (result.codespace, result.code) == ("inference", 19), result.log
    assert job(node, job_id).sealed.sealed_height == 0  # nothing stuck


def test_seal_rejects_a_second_seal_and_a_public_job(node, submitter, secrets):
    job_id = submit_sealed(node, submitter, secrets)
    routes = boxes_for(node, job_id, secrets)
    ok(node, (submitter, seal_msg(submitter, job_id, routes)))
    (again,) = run(node, (submitter, seal_msg(submitter, job_id, routes)))
    assert (again.codespace, again.code) == ("inference", 18)
    ok(node, (submitter, submit_msg(submitter)))
    (public,) = run(node, (submitter, seal_msg(submitter, 2, routes)))
    assert (public.codespace, public.code) == ("inference", 18)


def test_unsealed_job_is_refunded_at_the_seal_deadline_nobody_slashed(node, submitter, secrets):
    before = node.balance(submitter.address)
    job_id = submit_sealed(node, submitter, secrets)
    seal_end = job(node, job_id).sealed.seal_end_height
    advance_to(node, seal_end)
    expired = job(node, job_id)
    assert expired.state == T.JOB_STATE_EXPIRED
    assert expired.reason == "not sealed in the seal window; refunded"
    assert expired.refunded == str(MAX_FEE)
    assert escrow_balance(node) == 0
    assert before - node.balance(submitter.address) == FEE  # the submit tx's fee, nothing else
    from tests.modules.serving import keeper, latest_ctx

    workers = keeper(node, "workers")
    for route in hops(node, job_id):
        for key in route:
            assert workers.get_worker(latest_ctx(node), key.address).slashed in ("", "0")
    (late,) = run(node, (submitter, seal_msg(submitter, job_id, boxes_for(node, job_id, secrets))))
    assert (late.codespace, late.code) == ("inference", 18)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"prompt": b"plain"}, 17),
        ({"prompt_commitment": b"\x00" * 31}, 17),
        ({"reply_pubkey": b""}, 17),
        ({"privacy": 7}, 17),
        ({"sealed_prompt_bytes": 0}, 5),
        ({"sealed_prompt_bytes": 65}, 6),
    ],
)
def test_submit_sealed_rejects_malformed_fields(node, submitter, secrets, fields, code):
    (result,) = run(node, (submitter, sealed_submit(submitter, secrets, **fields)))
    assert (result.codespace, result.code) == ("inference", code), result.log


def test_public_job_rejects_sealed_fields(node, submitter, secrets):
    msg = submit_msg(submitter, reply_pubkey=secrets.reply_pubkey)
    (result,) = run(node, (submitter, msg))
    assert (result.codespace, result.code) == ("inference", 17)


def test_sealed_jobs_disabled_when_the_window_is_zero(tmp_path, secrets):
    chain_ = make_job_chain(tmp_path / "n", inference={"seal_window_blocks": 0})
    try:
        submitter = chain_.keys[7]
        (result,) = run(chain_, (submitter, sealed_submit(submitter, secrets)))
        assert (result.codespace, result.code) == ("inference", 16)
    finally:
        chain_.store.close()


def test_sealed_deadline_must_cover_the_seal_window(node, submitter, secrets):
    # commit 3 + reveal 3 + seal 4 = 10 blocks of rounds: a 10-block deadline is too short
    (result,) = run(node, (submitter, sealed_submit(submitter, secrets, deadline_blocks=10)))
    assert (result.codespace, result.code) == ("inference", 11)


# --- the rounds of a sealed job --------------------------------------------------------------


def sealed_claim(secrets, tokens=OUTPUT) -> bytes:
    keyed = sealing.compute_keyed_output_hash(secrets.output_key, tokens)
    return sealing.compute_sealed_output_hash(keyed, len(tokens))


def sealed_fingerprint(worker, job_id, secrets, tokens=OUTPUT, *, output_hash=None) -> bytes:
    """An honest sealed hop's bundle: its late probe seed derives from the sealed output hash
    (or from ``output_hash``), which the chain checks at the reveal (issue 16)."""
    bundle = bytearray(fingerprint(worker, job_id, tokens))
    basis = output_hash or sealed_claim(secrets, tokens)
    bundle[28:36] = divergence.compute_late_probe_seed(job_id, basis).to_bytes(8, "big")
    return bytes(bundle)


def sealed_commit(worker, job_id, secrets, tokens=OUTPUT, *, bundle=None):
    commitment = agreement_logic.compute_commitment(
        sealed_claim(secrets, tokens),
        bundle or sealed_fingerprint(worker, job_id, secrets, tokens),
        salt(worker, job_id),
        worker.address,
    )
    return commit_msg(worker, job_id, commitment=commitment)


def sealed_reveal(worker, job_id, secrets, route_index, hop_index, tokens=OUTPUT, **fields):
    values = {
        "output_tokens": [],
        "keyed_output_hash": sealing.compute_keyed_output_hash(secrets.output_key, tokens),
        "output_token_count": len(tokens),
        "sealed_output": b"",
        "shard_fingerprint": sealed_fingerprint(worker, job_id, secrets, tokens),
    }
    if hop_index == 0:
        place = sealing.Place(CHAIN_ID, job_id, route_index, 0, sealing.PURPOSE_OUTPUT)
        payload = sealing.encode_output_payload(tokens)
        values["sealed_output"] = sealing.seal(secrets.reply_pubkey, payload, place)
    values.update(fields)
    return reveal_msg(worker, job_id, **values)


def sealed_and_committed(node, submitter, secrets) -> int:
    job_id = submit_sealed(node, submitter, secrets)
    ok(node, (submitter, seal_msg(submitter, job_id, boxes_for(node, job_id, secrets))))
    workers = [w for route in hops(node, job_id) for w in route]
    ok(node, *[(w, sealed_commit(w, job_id, secrets)) for w in workers])
    return job_id


def test_sealed_job_finalizes_on_keyed_hashes_and_the_submitter_opens_the_output(
    node, submitter, secrets
):
    from tests.modules.jobs import history

    job_id = sealed_and_committed(node, submitter, secrets)
    reveals = [
        (w, sealed_reveal(w, job_id, secrets, r, h))
        for r, route in enumerate(hops(node, job_id))
        for h, w in enumerate(route)
    ]
    ok(node, *reveals)
    node.block()
    done = job(node, job_id)
    assert done.state == T.JOB_STATE_FINALIZED
    assert done.output_hash == sealed_claim(secrets)
    past = history(node, job_id)
    assert all(not o.tokens and not o.text for o in past.outputs)
    assert [o.billable_tokens for o in past.outputs] == [len(OUTPUT)]
    firsts = [r for r in past.reveals if r.hop_index == 0]
    assert len(firsts) == 3
    for reveal in firsts:
        place = sealing.Place(CHAIN_ID, job_id, reveal.route_index, 0, sealing.PURPOSE_OUTPUT)
        opened = sealing.open_box(secrets.reply_private, reveal.sealed_output, place)
        assert sealing.decode_output_payload(opened) == tuple(OUTPUT)


def test_the_output_hash_does_not_confirm_a_guessed_output(node, submitter, secrets):
    # an observer hashing the true output the public way, or with another key, gets elsewhere
    public = agreement_logic.compute_output_hash(OUTPUT, b"")
    other_key = sealing.JobSecrets(os.urandom(32))
    assert sealed_claim(secrets) not in (public, sealed_claim(other_key))


@pytest.mark.parametrize(
    "fields",
    [
        {"output_tokens": OUTPUT},
        {"keyed_output_hash": b"\x00" * 31},
        {"output_token_count": 17},
        {"sealed_output": b""},
        {"sealed_output": b"\x00" * 10},
    ],
)
def test_sealed_reveal_rejects_malformed_fields(node, submitter, secrets, fields):
    job_id = sealed_and_committed(node, submitter, secrets)
    first = hops(node, job_id)[0][0]
    (result,) = run(node, (first, sealed_reveal(first, job_id, secrets, 0, 0, **fields)))
    assert (result.codespace, result.code) == ("agreement", 12), result.log


def test_sealed_reveal_rejects_a_sealed_output_on_a_later_hop(node, submitter, secrets):
    job_id = sealed_and_committed(node, submitter, secrets)
    second = hops(node, job_id)[0][1]
    box = sealing.seal(
        secrets.reply_pubkey,
        sealing.encode_output_payload(OUTPUT),
        sealing.Place(CHAIN_ID, job_id, 0, 0, sealing.PURPOSE_OUTPUT),
    )
    msg = sealed_reveal(second, job_id, secrets, 0, 1, sealed_output=box)
    (result,) = run(node, (second, msg))
    assert (result.codespace, result.code) == ("agreement", 12)


def test_sealed_reveal_rejects_a_late_seed_of_the_plain_output_hash(node, submitter, secrets):
    """Issue 16: a bundle whose late seed comes from the plain output hash would confirm a
    guessed output to anyone; the chain refuses it (its commitment is otherwise right), and
    a bundle without a readable seed or with another seed."""
    job_id = submit_sealed(node, submitter, secrets)
    ok(node, (submitter, seal_msg(submitter, job_id, boxes_for(node, job_id, secrets))))
    routes = hops(node, job_id)
    first = routes[0][0]
    plain = agreement_logic.compute_output_hash(OUTPUT, b"")
    leaky = sealed_fingerprint(first, job_id, secrets, output_hash=plain)
    refused = {(0, 0): leaky, (0, 1): b"\x01", (1, 0): fingerprint(first, job_id)}  # seed 7
    bundles = {rh: refused.get(rh) for rh in [(r, h) for r, rt in enumerate(routes)
                                              for h in range(len(rt))]}  # fmt: skip
    ok(node, *[(routes[r][h], sealed_commit(routes[r][h], job_id, secrets, bundle=b))
               for (r, h), b in bundles.items()])  # fmt: skip
    results = run(node, *[
        (routes[r][h], sealed_reveal(routes[r][h], job_id, secrets, r, h, shard_fingerprint=b))
        for (r, h), b in refused.items()
    ])  # fmt: skip
    assert [(r.codespace, r.code) for r in results] == [("agreement", 13)] * 3, results
    (result,) = run(node, (first, sealed_reveal(first, job_id, secrets, 0, 0)))
    assert (result.codespace, result.code) == ("agreement", 11)  # the right seed, not committed


def test_public_reveal_rejects_sealed_fields(node, submitter):
    ok(node, (submitter, submit_msg(submitter)))
    workers = [w for route in hops(node, 1) for w in route]
    ok(node, *[(w, commit_msg(w, 1)) for w in workers])
    msg = reveal_msg(workers[0], 1, output_token_count=4)
    (result,) = run(node, (workers[0], msg))
    assert (result.codespace, result.code) == ("agreement", 12)


def test_genesis_export_keeps_the_boxes(node, submitter, secrets):
    from modules.inference import genesis
    from tests.modules.serving import keeper, latest_ctx

    job_id = submit_sealed(node, submitter, secrets)
    ok(node, (submitter, seal_msg(submitter, job_id, boxes_for(node, job_id, secrets))))
    exported = genesis.export_genesis(latest_ctx(node), keeper(node, "inference"))
    assert [int(s["job_id"]) for s in exported["seals"]] == [job_id]


# --- disclosure, audits, disputes --------------------------------------------------------------


def disclose_msg(submitter, job_id, secrets, prompt=PROMPT):
    return inference_tx.MsgDiscloseSealedJob(
        submitter=submitter.bech32, job_id=job_id, job_key=secrets.job_key, prompt=prompt
    )


def reveal_all(node, job_id, secrets, claims=None):
    """Every hop reveals; ``claims`` maps a route to other tokens than OUTPUT."""
    claims = claims or {}
    ok(
        node,
        *[
            (w, sealed_reveal(w, job_id, secrets, r, h, tokens=claims.get(r, OUTPUT)))
            for r, route in enumerate(hops(node, job_id))
            for h, w in enumerate(route)
        ],
    )


def test_disclosure_makes_a_finalized_sealed_job_public(node, submitter, secrets):
    from tests.modules.jobs import history

    job_id = sealed_and_committed(node, submitter, secrets)
    reveal_all(node, job_id, secrets)
    node.block()
    (result,) = ok(node, (submitter, disclose_msg(submitter, job_id, secrets)))
    disclosed = job(node, job_id)
    assert disclosed.prompt == PROMPT
    assert disclosed.sealed.disclosed_job_key == secrets.job_key
    assert [list(o.tokens) for o in history(node, job_id).outputs] == [OUTPUT]
    assert any(e.type == "infera.job_disclosed" for e in result.events)


@pytest.mark.parametrize("what", ["key", "prompt", "signer", "twice"])
def test_disclosure_rejects_what_does_not_match(node, submitter, secrets, what):
    job_id = sealed_and_committed(node, submitter, secrets)
    signer, msg, code = submitter, disclose_msg(submitter, job_id, secrets), 20
    if what == "key":
        msg = disclose_msg(submitter, job_id, sealing.JobSecrets(os.urandom(32)))
    elif what == "prompt":
        msg = disclose_msg(submitter, job_id, secrets, prompt=b"a guessed prompt")
    elif what == "signer":
        signer = node.keys[8]
        msg = disclose_msg(signer, job_id, secrets)
        code = 14
    else:
        ok(node, (submitter, msg))
        code = 21
    (result,) = run(node, (signer, msg))
    assert (result.codespace, result.code) == ("inference", code), result.log
    if what != "twice":
        assert job(node, job_id).prompt == b""


def test_disclosure_rejects_an_unsealed_or_public_job(node, submitter, secrets):
    job_id = submit_sealed(node, submitter, secrets)  # assigned, never sealed
    (unsealed,) = run(node, (submitter, disclose_msg(submitter, job_id, secrets)))
    assert (unsealed.codespace, unsealed.code) == ("inference", 21)
    ok(node, (submitter, submit_msg(submitter)))
    (public,) = run(node, (submitter, disclose_msg(submitter, 2, secrets)))
    assert (public.codespace, public.code) == ("inference", 21)


def test_undisclosed_sealed_job_is_not_drawn_for_a_random_audit(tmp_path, secrets):
    from tests.modules.serving import keeper, latest_ctx

    chain_ = make_job_chain(
        tmp_path / "n",
        inference={"seal_window_blocks": SEAL_WINDOW, "max_deadline_blocks": 60},
        agreement={"audit_probability": "1"},
    )
    register_our_keys(chain_)
    try:
        submitter = chain_.keys[7]
        job_id = sealed_and_committed(chain_, submitter, secrets)
        reveal_all(chain_, job_id, secrets)
        chain_.block()
        assert job(chain_, job_id).state == T.JOB_STATE_FINALIZED
        agreement = keeper(chain_, "agreement")
        assert agreement.get_audit(latest_ctx(chain_), job_id) is None  # paid, not held
        # the twin: a public job on the same chain is drawn (probability 1)
        ok(chain_, (submitter, submit_msg(submitter)))
        public_id = job_id + 1
        workers = [w for route in hops(chain_, public_id) for w in route]
        ok(chain_, *[(w, commit_msg(w, public_id)) for w in workers])
        ok(chain_, *[(w, reveal_msg(w, public_id)) for w in workers])
        chain_.block()
        assert agreement.get_audit(latest_ctx(chain_), public_id) is not None
    finally:
        chain_.store.close()


def test_disputed_sealed_job_is_opened_by_disclosure_and_settles_without_it(
    node, submitter, secrets
):
    from tests.modules.jobs import history, outlast_verdict_windows

    job_id = submit_sealed(node, submitter, secrets)
    ok(node, (submitter, seal_msg(submitter, job_id, boxes_for(node, job_id, secrets))))
    lie = [9, 9, 9, 9]
    claims = {0: lie, 1: [8, 8, 8, 8], 2: OUTPUT}  # three different outputs: no quorum
    ok(
        node,
        *[
            (w, sealed_commit(w, job_id, secrets, tokens=claims[r]))
            for r, route in enumerate(hops(node, job_id))
            for w in route
        ],
    )
    reveal_all(node, job_id, secrets, claims)
    node.block()
    assert job(node, job_id).state == T.JOB_STATE_DISPUTED
    # disclosure opens every route's claim for the validators' re-scoring
    (result,) = ok(node, (submitter, disclose_msg(submitter, job_id, secrets)))
    opened = sorted(list(o.tokens) for o in history(node, job_id).outputs)
    assert opened == sorted(claims.values())
    # no verdict comes (no validator runs a verifier here): refunded, nobody paid, no crash
    outlast_verdict_windows(node, job_id)
    advance_to(node, job(node, job_id).deadline_height)
    final = job(node, job_id)
    assert final.state == T.JOB_STATE_EXPIRED
    assert final.refunded == str(MAX_FEE)


# --- a box that does not open: contest, excuse, and the false contest -------------------------


def contest_msg(worker, job_id):
    from infera.agreement.v1 import tx_pb2 as agreement_tx

    return agreement_tx.MsgContestSeal(worker=worker.bech32, job_id=job_id)


def slashed(node, key) -> int:
    from tests.modules.serving import keeper, latest_ctx

    return int(keeper(node, "workers").get_worker(latest_ctx(node), key.address).slashed or "0")


def test_garbage_box_attack_a_contesting_route_is_excused(node, submitter, secrets):
    # the attack: the submitter seals random bytes (of the right size) to route 0's first hop
    job_id = submit_sealed(node, submitter, secrets)
    routes = boxes_for(node, job_id, secrets)
    garbage = os.urandom(len(routes[0].boxes[0]))
    routes[0] = T.SealedRoute(boxes=[garbage, *routes[0].boxes[1:]])
    ok(node, (submitter, seal_msg(submitter, job_id, routes)))
    route0 = hops(node, job_id)[0]
    place = sealing.Place(CHAIN_ID, job_id, 0, 0, sealing.PURPOSE_PROMPT)
    with pytest.raises(sealing.SealingError):  # what the hop finds
        sealing.open_box(worker_private(route0[0]), garbage, place)
    ok(node, (route0[0], contest_msg(route0[0], job_id)))
    others = [w for route in hops(node, job_id)[1:] for w in route]
    ok(node, *[(w, sealed_commit(w, job_id, secrets)) for w in others])
    advance_to(node, job(node, job_id).commit_end_height)
    ok(
        node,
        *[
            (w, sealed_reveal(w, job_id, secrets, r + 1, h))
            for r, route in enumerate(hops(node, job_id)[1:])
            for h, w in enumerate(route)
        ],
    )
    node.block()
    assert job(node, job_id).state == T.JOB_STATE_FINALIZED  # routes 1 and 2: the quorum
    assert [slashed(node, w) for w in route0] == [0, 0]  # the whole route is excused
    # the twin: without the contest the same route is slashed as absent
    job2 = submit_sealed_again(node, submitter, secrets)
    ok(node, (submitter, seal_msg(submitter, job2, boxes_for(node, job2, secrets))))
    route0 = hops(node, job2)[0]
    others = [w for route in hops(node, job2)[1:] for w in route]
    ok(node, *[(w, sealed_commit(w, job2, secrets)) for w in others])
    advance_to(node, job(node, job2).commit_end_height)
    ok(
        node,
        *[
            (w, sealed_reveal(w, job2, secrets, r + 1, h))
            for r, route in enumerate(hops(node, job2)[1:])
            for h, w in enumerate(route)
        ],
    )
    node.block()
    assert all(slashed(node, w) > 0 for w in route0)


def submit_sealed_again(node, submitter, secrets) -> int:
    (result,) = ok(node, (submitter, sealed_submit(submitter, secrets)))

    return next(
        int(a.value) for e in result.events if e.type == "infera.job_submitted"
        for a in e.attributes if a.key == "job_id"
    )  # fmt: skip


def test_a_false_contest_is_slashed_when_the_submitter_discloses(node, submitter, secrets):
    job_id = submit_sealed(node, submitter, secrets)
    ok(node, (submitter, seal_msg(submitter, job_id, boxes_for(node, job_id, secrets))))
    route0 = hops(node, job_id)[0]
    ok(node, (route0[0], contest_msg(route0[0], job_id)))  # its box opens: a lie
    assert list(seals(node, job_id).routes[0].recipients) == [
        sealing.public_key(worker_private(w)) for w in route0
    ]
    (result,) = ok(node, (submitter, disclose_msg(submitter, job_id, secrets)))
    assert slashed(node, route0[0]) > 0 and slashed(node, route0[1]) == 0
    assert any(e.type == "infera.false_seal_contest" for e in result.events)


def test_a_true_contest_survives_the_disclosure(node, submitter, secrets):
    job_id = submit_sealed(node, submitter, secrets)
    routes = boxes_for(node, job_id, secrets)
    routes[1] = T.SealedRoute(boxes=[routes[1].boxes[0], os.urandom(sealing.KEY_BOX_BYTES)])
    ok(node, (submitter, seal_msg(submitter, job_id, routes)))
    hop = hops(node, job_id)[1][1]
    ok(node, (hop, contest_msg(hop, job_id)))
    (result,) = ok(node, (submitter, disclose_msg(submitter, job_id, secrets)))
    assert slashed(node, hop) == 0
    assert not any(e.type == "infera.false_seal_contest" for e in result.events)


def test_contest_rejections(node, submitter, secrets):
    job_id = submit_sealed(node, submitter, secrets)
    ok(node, (submitter, seal_msg(submitter, job_id, boxes_for(node, job_id, secrets))))
    first = hops(node, job_id)[0][0]
    ok(node, (first, sealed_commit(first, job_id, secrets)))
    (committed,) = run(node, (first, contest_msg(first, job_id)))
    assert (committed.codespace, committed.code) == ("agreement", 6)
    job2 = submit_sealed_again(node, submitter, secrets)
    hop = hops(node, job2)[0][0]
    (unsealed,) = run(node, (hop, contest_msg(hop, job2)))
    assert (unsealed.codespace, unsealed.code) == ("agreement", 18)
    ok(node, (submitter, seal_msg(submitter, job2, boxes_for(node, job2, secrets))))
    ok(node, (hop, contest_msg(hop, job2)))
    (twice,) = run(node, (hop, contest_msg(hop, job2)))
    assert (twice.codespace, twice.code) == ("agreement", 19)
    (commit,) = run(node, (hop, sealed_commit(hop, job2, secrets)))
    assert (commit.codespace, commit.code) == ("agreement", 19)
    ok(node, (submitter, submit_msg(submitter)))
    public_hop = hops(node, job2 + 1)[0][0]
    (public,) = run(node, (public_hop, contest_msg(public_hop, job2 + 1)))
    assert (public.codespace, public.code) == ("agreement", 18)


def test_seal_rejects_recipients_from_the_submitter(node, submitter, secrets):
    job_id = submit_sealed(node, submitter, secrets)
    routes = boxes_for(node, job_id, secrets)
    routes[0].recipients.extend([b"\x01" * 32, b"\x02" * 32])
    (result,) = run(node, (submitter, seal_msg(submitter, job_id, routes)))
    assert (result.codespace, result.code) == ("inference", 19)


# --- hostile inputs ------------------------------------------------------------------------


def test_hostile_sealed_messages_never_cause_an_internal_error(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from infera.agreement.v1 import tx_pb2 as agreement_tx

    chain_ = make_job_chain(
        tmp_path / "n", inference={"seal_window_blocks": 30, "max_deadline_blocks": 60}
    )
    register_our_keys(chain_)
    submitter, secrets = chain_.keys[7], sealing.JobSecrets(b"\x07" * 32)
    ok(chain_, (submitter, sealed_submit(submitter, secrets, deadline_blocks=50)))
    sizes = st.sampled_from([0, 1, 47, 48, sealing.KEY_BOX_BYTES, sealing.prompt_box_bytes(ROOM)])
    box = sizes.flatmap(lambda n: st.binary(min_size=n, max_size=n))
    route = st.builds(
        T.SealedRoute,
        boxes=st.lists(box, max_size=3),
        recipients=st.lists(st.binary(max_size=33), max_size=1),
    )
    job_ids = st.sampled_from([0, 1, 2, 2**64 - 1])
    signers = st.sampled_from(chain_.keys)
    messages = st.one_of(
        st.builds(
            lambda k, j, r: (k, inference_tx.MsgSealPrompt(submitter=k.bech32, job_id=j, routes=r)),
            signers, job_ids, st.lists(route, max_size=4),
        ),
        st.builds(
            lambda k, j, key, p: (k, inference_tx.MsgDiscloseSealedJob(
                submitter=k.bech32, job_id=j, job_key=key, prompt=p)),
            signers, job_ids, st.sampled_from([b"", b"\x07" * 32, b"\x00" * 32, b"\x07" * 33]),
            st.sampled_from([b"", PROMPT, b"x" * 40]),
        ),
        st.builds(
            lambda k, j: (k, agreement_tx.MsgContestSeal(worker=k.bech32, job_id=j)),
            signers, job_ids,
        ),
        st.builds(
            lambda k, j, h, n, s: (k, agreement_tx.MsgRevealOutput(
                worker=k.bech32, job_id=j, keyed_output_hash=h, output_token_count=n,
                sealed_output=s, shard_fingerprint=b"\x01", salt=b"\x00" * 32)),
            signers, job_ids, st.binary(max_size=40), st.integers(0, 2**32 - 1),
            st.binary(max_size=80),
        ),
        st.builds(
            lambda k, p, c, n, r: (k, submit_msg(
                k, prompt=p, privacy=1, prompt_commitment=c, sealed_prompt_bytes=n,
                reply_pubkey=r, deadline_blocks=50)),
            signers, st.binary(max_size=3), st.binary(max_size=33), st.integers(0, 2**32 - 1),
            st.binary(max_size=33),
        ),
    )  # fmt: skip

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(messages, min_size=1, max_size=3))
    def hostile(batch):
        for result in run(chain_, *batch):
            assert (result.codespace, result.code) != ("sdk", 1), result.log
            seen.add((result.codespace, result.code))

    seen: set[tuple[str, int]] = set()

    try:
        hostile()
        # the inputs reached the handlers' own checks, not only the ante handler
        assert len({s for s in seen if s[0] in ("inference", "agreement")}) >= 4, seen
        # and a well-formed seal still works after all that
        routes = boxes_for(chain_, 1, secrets)
        if (
            job(chain_, 1).sealed.sealed_height == 0
            and job(chain_, 1).state == T.JOB_STATE_ASSIGNED
        ):
            ok(chain_, (submitter, seal_msg(submitter, 1, routes)))
    finally:
        chain_.store.close()
