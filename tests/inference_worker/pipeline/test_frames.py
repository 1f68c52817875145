"""Signed frame evidence (frames.py): the sender's signed fingerprint rows on every frame, the
receiver's checks at receipt, and the evidence a validator rechecks from a reveal bundle."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
import torch

from chain.crypto import to_bech32
from inference_worker.pipeline.codec import CodecError, decode
from inference_worker.pipeline.frames import (
    ROW_TOLERANCE,
    ChainContext,
    EvidenceStatus,
    FrameEvidenceError,
    FrameReceiver,
    FrameSeal,
    FrameSender,
    FrameSigner,
    LateEvidence,
    chain_step,
    decode_received_frames,
    encode_received_frames,
    expected_address,
    fingerprint_rows,
    received_states,
    seal_frame,
    verify_late_evidence,
)
from inference_worker.verify.fingerprint import (
    PROBES,
    FingerprintError,
    compute_fingerprint,
    derive_late_probe_seed,
    derive_probe_seed,
    fingerprint_bytes,
)
from inference_worker.verify.reveal import decode_reveal, encode_reveal
from modules.agreement import logic

JOB, ROUTE, SENDER = 77, 1, 0
SEED = derive_probe_seed(JOB)
CONTEXT = ChainContext(JOB, ROUTE, sender_hop=SENDER)
HIDDEN = 64
OUTPUT = hashlib.sha256(b"the route's output").digest()  # what every hop saw at the end
LATE = derive_late_probe_seed(SEED, OUTPUT)


def key(name: str) -> FrameSigner:
    return FrameSigner(hashlib.sha256(name.encode()).digest())


ALICE, MALLORY = key("alice"), key("mallory")


def frames(lengths=(5, 1, 1, 1), seed=0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(1, n, HIDDEN, generator=generator) for n in lengths]


def sealed(tensors, signer=ALICE, codec="fp32", sender=None):
    """(what the receiver decodes, payload, seal) per frame, as an honest sender sends them."""
    sender = sender or FrameSender(CONTEXT, probe_seed=SEED, signer=signer)
    out = []
    for tensor in tensors:
        payload, seal = seal_frame(sender, tensor, tensor, codec)
        out.append((decode(payload, codec, expected_shape=tuple(tensor.shape)), payload, seal))
    return out


def receiver(expected=ALICE.address, *, require=True) -> FrameReceiver:
    return FrameReceiver(CONTEXT, probe_seed=SEED, expected=expected, require_signatures=require)


def session(signer=ALICE, tensors=None) -> tuple[FrameSender, FrameReceiver]:
    """A sender and its receiver after every frame of `tensors` (default: `frames()`)."""
    sender = FrameSender(CONTEXT, probe_seed=SEED, signer=signer)
    inbound = receiver(expected=signer.address)
    for decoded, payload, seal in sealed(tensors or frames(), sender=sender):
        inbound.accept(decoded, payload, seal)
    return sender, inbound


def accepted_evidence(signer=ALICE) -> LateEvidence:
    sender, inbound = session(signer)
    return inbound.accept_late(sender.seal_late(OUTPUT), OUTPUT)


# --- the receiver ------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["fp32", "int8", "bf16"])
def test_honest_signed_frames_are_accepted_and_their_evidence_verifies(codec):
    inbound = receiver()
    for decoded, payload, seal in sealed(frames(), codec=codec):
        assert len(seal.rows) == decoded.shape[1] * (2 + PROBES) and len(seal.signature) == 65
        inbound.accept(decoded, payload, seal)
    assert inbound.signed and inbound.late is None  # owed once the output is known
    assert inbound.kept.positions == 8


def test_a_frame_whose_payload_is_not_what_was_fingerprinted_is_rejected_naming_the_sender():
    honest, lie = frames()[0], frames(seed=5)[0]
    sender = FrameSender(CONTEXT, probe_seed=SEED, signer=ALICE)
    payload, seal = seal_frame(sender, lie, honest, "fp32")  # sends `lie`, signs `honest`
    with pytest.raises(FrameEvidenceError, match="signed fingerprint rows differ") as err:
        receiver().accept(decode(payload, "fp32", expected_shape=(1, 5, HIDDEN)), payload, seal)
    assert err.value.sender_hop == SENDER and "hop 0's frame" in str(err.value)


def test_a_perturbation_within_one_quantization_step_is_tolerated_and_a_larger_one_not():
    honest = frames()[0]
    for scale, ok in ((1.0005, True), (1.05, False)):  # 1/256 octave is 0.27 %
        sender = FrameSender(CONTEXT, probe_seed=SEED, signer=ALICE)
        payload, seal = seal_frame(sender, honest * scale, honest, "fp32")
        decoded = decode(payload, "fp32", expected_shape=(1, 5, HIDDEN))
        if ok:
            receiver().accept(decoded, payload, seal)
        else:
            with pytest.raises(FrameEvidenceError):
                receiver().accept(decoded, payload, seal)
    assert ROW_TOLERANCE == 1


@pytest.mark.parametrize("part", ["rows", "signature", "payload"])
def test_tampering_any_byte_of_a_frame_is_rejected(part):
    decoded, payload, seal = sealed(frames(lengths=(2,)))[0]
    size = {"rows": len(seal.rows), "signature": 65, "payload": len(payload)}[part]
    for offset in range(0, size, max(1, size // 40)):
        rows, signature, data = bytearray(seal.rows), bytearray(seal.signature), bytearray(payload)
        target = {"rows": rows, "signature": signature, "payload": data}[part]
        target[offset] ^= 0x01
        seal2 = FrameSeal(rows=bytes(rows), signature=bytes(signature))
        view = decoded
        if part == "payload":
            try:
                view = decode(bytes(data), "fp32", expected_shape=tuple(decoded.shape))
            except CodecError:
                continue  # a broken codec header: the codec refuses it before any evidence
        with pytest.raises(FrameEvidenceError):
            receiver().accept(view, bytes(data), seal2)


def test_frames_signed_by_another_worker_than_the_route_names_are_rejected():
    decoded, payload, seal = sealed(frames(), signer=MALLORY)[0]
    with pytest.raises(FrameEvidenceError, match="another worker than the route's hop"):
        receiver(expected=ALICE.address).accept(decoded, payload, seal)
    # A route that names no address (a local pipeline) still checks rows and the chain.
    receiver(expected=None).accept(decoded, payload, seal)


def test_frames_out_of_chain_are_rejected():
    first, second = sealed(frames(lengths=(3, 1)))
    inbound = receiver()
    with pytest.raises(FrameEvidenceError, match="invalid signature|another worker"):
        inbound.accept(*second)  # the second frame first: its chain hash is not H_0
    inbound = receiver()
    inbound.accept(*first)
    inbound.accept(*second)
    with pytest.raises(FrameEvidenceError):
        inbound.accept(*second)  # replayed: seq 2 expected


def test_unsigned_frames_pass_only_where_signatures_are_not_required():
    decoded, payload, _ = sealed(frames(), signer=None)[0]
    lax = receiver(require=False)
    lax.accept(decoded, payload, FrameSeal())
    assert not lax.signed and not lax.kept.positions  # no late evidence owed, nothing kept
    with pytest.raises(FrameEvidenceError, match="requires signed frames"):
        receiver(require=True).accept(decoded, payload, FrameSeal())
    signed = sealed(frames())
    mixed = receiver(require=False)
    mixed.accept(*signed[0])
    with pytest.raises(FrameEvidenceError, match="mixed"):
        mixed.accept(signed[1][0], signed[1][1], FrameSeal())


def test_malformed_rows_are_rejected():
    decoded, payload, seal = sealed(frames())[0]
    for rows in (seal.rows[:-1], seal.rows[:8] + b"\x80" + seal.rows[9:]):
        with pytest.raises(FrameEvidenceError):
            receiver().accept(decoded, payload, FrameSeal(rows, seal.signature))


# --- late evidence ----------------------------------------------------------------------------


def test_honest_late_evidence_is_accepted_and_verifies_against_the_output():
    evidence = accepted_evidence()
    assert evidence.signer == ALICE.address and evidence.positions == 8
    states = torch.cat(frames(), dim=1)  # (1, 8, hidden), exact through the fp32 codec
    assert evidence.rows == fingerprint_rows(compute_fingerprint(states, probe_seed=LATE))
    assert evidence.rows != fingerprint_rows(compute_fingerprint(states, probe_seed=SEED))
    status, _ = verify_late_evidence(
        evidence, CONTEXT, expected=ALICE.address, positions=8, output_hash=OUTPUT
    )
    assert status is EvidenceStatus.VALID


def test_late_rows_not_of_the_states_sent_are_refused_naming_the_sender():
    # Honest in-band rows (public probes), late rows of other states: what a cheat that aimed
    # its perturbation at the public probes would have to sign to pass the late check.
    sender, inbound = session()
    liar = FrameSender(CONTEXT, probe_seed=SEED, signer=ALICE)
    for tensor in frames(seed=9):
        seal_frame(liar, tensor, tensor, "fp32")
    lie = liar.seal_late(OUTPUT)
    with pytest.raises(FrameEvidenceError, match="late fingerprint rows differ") as err:
        inbound.accept_late(lie, OUTPUT)
    assert err.value.sender_hop == SENDER and inbound.late is None


@pytest.mark.parametrize("part", ["rows", "signature"])
def test_tampering_any_byte_of_late_evidence_is_refused(part):
    sender, _ = session()
    seal = sender.seal_late(OUTPUT)
    size = len(seal.rows) if part == "rows" else 65
    for offset in range(0, size, max(1, size // 30)):
        rows, signature = bytearray(seal.rows), bytearray(seal.signature)
        (rows if part == "rows" else signature)[offset] ^= 0x01
        _, inbound = session()
        with pytest.raises(FrameEvidenceError):
            inbound.accept_late(FrameSeal(bytes(rows), bytes(signature)), OUTPUT)


def test_late_evidence_signed_by_another_key_or_for_another_output_is_refused():
    _, inbound = session()
    mallory, _ = session(signer=MALLORY)  # the same states, Mallory's key
    with pytest.raises(FrameEvidenceError, match="another key than its frames"):
        inbound.accept_late(mallory.seal_late(OUTPUT), OUTPUT)
    sender, inbound = session()
    other = hashlib.sha256(b"another output").digest()
    with pytest.raises(FrameEvidenceError):  # other late probes, and the signature binds it
        inbound.accept_late(sender.seal_late(other), OUTPUT)


def test_late_evidence_is_owed_only_for_signed_sessions_and_accepted_once():
    lax = receiver(require=False)
    decoded, payload, _ = sealed(frames(), signer=None)[0]
    lax.accept(decoded, payload, FrameSeal())
    sender, inbound = session()
    with pytest.raises(FrameEvidenceError, match="not signed"):
        lax.accept_late(sender.seal_late(OUTPUT), OUTPUT)
    assert FrameSender(CONTEXT, probe_seed=SEED, signer=None).seal_late(OUTPUT) == FrameSeal()
    inbound.accept_late(sender.seal_late(OUTPUT), OUTPUT)
    with pytest.raises(FrameEvidenceError, match="second"):
        inbound.accept_late(sender.seal_late(OUTPUT), OUTPUT)


# --- the evidence a validator rechecks ---------------------------------------------------------


def test_the_reveal_bundle_round_trips_and_refuses_earlier_versions():
    evidence = accepted_evidence()
    own = fingerprint_bytes(frames()[0], probe_seed=LATE)
    assert decode_reveal(encode_reveal(own, evidence)) == (own, evidence)
    assert decode_reveal(encode_reveal(own, None)) == (own, None)
    version_1 = bytearray(encode_reveal(own, None))
    version_1[4] = 1
    for data in (encode_reveal(own, evidence) + b"\x00", own, bytes(version_1)):
        with pytest.raises(FingerprintError):
            decode_reveal(data)


def test_tampering_any_byte_of_revealed_late_evidence_makes_it_provably_bad():
    own = fingerprint_bytes(frames()[0], probe_seed=LATE)
    bundle = encode_reveal(own, accepted_evidence())
    start = 12 + len(own)  # the evidence part
    for offset in range(start, len(bundle)):
        tampered = bytearray(bundle)
        tampered[offset] ^= 0x01
        try:
            _, evidence = decode_reveal(bytes(tampered))
        except FingerprintError:
            continue  # malformed: the verifier counts it BAD too
        assert evidence is not None
        status, why = verify_late_evidence(
            evidence, CONTEXT, expected=ALICE.address, positions=8, output_hash=OUTPUT
        )
        assert status is EvidenceStatus.BAD, (offset, status, why)


def test_late_evidence_signed_by_another_key_is_foreign_and_cannot_frame_the_sender():
    # Mallory, the receiver, fabricates rows and signs them herself: consistent, but not
    # Alice's signature, so a validator cannot use it against Alice (nor blame Mallory).
    forged = accepted_evidence(signer=MALLORY)
    status, _ = verify_late_evidence(
        forged, CONTEXT, expected=ALICE.address, positions=8, output_hash=OUTPUT
    )
    assert status is EvidenceStatus.FOREIGN
    # Claiming Alice signed it does not help: the signature recovers to Mallory.
    status, _ = verify_late_evidence(
        LateEvidence(ALICE.address, *[getattr(forged, f) for f in (
            "hidden_size", "probes", "chain_hash", "rows", "signature"
        )]),
        CONTEXT, expected=ALICE.address, positions=8, output_hash=OUTPUT,
    )  # fmt: skip
    assert status is EvidenceStatus.BAD


def test_late_evidence_is_bound_to_its_job_route_hop_output_and_every_position():
    evidence = accepted_evidence()
    for context in (
        ChainContext(JOB + 1, ROUTE, SENDER),
        ChainContext(JOB, ROUTE + 1, SENDER),
        ChainContext(JOB, ROUTE, SENDER + 1),
    ):
        status, _ = verify_late_evidence(
            evidence, context, expected=ALICE.address, positions=8, output_hash=OUTPUT
        )
        assert status is EvidenceStatus.BAD
    other = hashlib.sha256(b"another output").digest()
    status, _ = verify_late_evidence(
        evidence, CONTEXT, expected=ALICE.address, positions=8, output_hash=other
    )
    assert status is EvidenceStatus.BAD
    status, why = verify_late_evidence(
        evidence, CONTEXT, expected=ALICE.address, positions=9, output_hash=OUTPUT
    )
    assert status is EvidenceStatus.BAD and "ran 9 positions" in why


def test_expected_address_reads_bech32_and_ignores_local_names():
    assert expected_address(to_bech32(ALICE.address)) == ALICE.address
    assert expected_address("middle") is None and expected_address("") is None


def test_the_agreement_cap_holds_a_bundle_for_the_positions_the_chain_allows():
    # A 16 KiB prompt at 3.25 bytes a token + 1024 new tokens; own and received rows, 8 bytes
    # a position each.
    positions = -(-16_384 * 4 // 13) + 1024
    evidence = LateEvidence(
        ALICE.address, HIDDEN, PROBES, bytes(32), bytes(positions * (2 + PROBES)), bytes(65)
    )
    own = fingerprint_bytes(torch.randn(positions, HIDDEN), probe_seed=LATE)
    size = len(encode_reveal(own, evidence))
    assert size == 158 + 16 * positions
    assert size <= logic.MAX_FINGERPRINT_BYTES


def test_frame_signer_refuses_bad_keys():
    with pytest.raises(ValueError, match="32 bytes"):
        FrameSigner(b"short")


# --- the received frames (a receiver's dispute payload) ----------------------------------------


def test_received_frames_prove_exactly_what_the_receiver_got():
    sender, inbound = session()
    evidence = inbound.accept_late(sender.seal_late(OUTPUT), OUTPUT)
    data = encode_received_frames(inbound.frames, hidden_size=HIDDEN)
    hidden, kept = decode_received_frames(data)
    assert hidden == HIDDEN and list(kept) == inbound.frames and len(kept) == 4
    states = received_states(kept, evidence, CONTEXT, codec="fp32", positions=8)
    assert torch.equal(states, torch.cat(frames(), dim=1))


def test_received_frames_that_are_not_the_signed_ones_are_refused():
    sender, inbound = session()
    evidence = inbound.accept_late(sender.seal_late(OUTPUT), OUTPUT)
    frames_ = list(inbound.frames)
    payload = bytearray(frames_[1].payload)
    payload[-1] ^= 1  # one bit of one value: no longer what the sender's H_last covers
    forged = [*frames_[:1], replace(frames_[1], payload=bytes(payload)), *frames_[2:]]
    with pytest.raises(FingerprintError, match="chain hash their sender signed"):
        received_states(tuple(forged), evidence, CONTEXT, codec="fp32", positions=8)
    with pytest.raises(FingerprintError, match="chain hash"):  # one frame left out
        received_states(tuple(frames_[:-1]), evidence, CONTEXT, codec="fp32", positions=7)
    other = ChainContext(JOB, ROUTE + 1, sender_hop=SENDER)  # another route's chain
    with pytest.raises(FingerprintError):
        received_states(tuple(frames_), evidence, other, codec="fp32", positions=8)
    data = encode_received_frames(frames_, hidden_size=HIDDEN)
    for bad in (data[:-1], data + b"\x00", b"IFRX" + data[4:]):
        with pytest.raises(FingerprintError):
            decode_received_frames(bad)


def test_the_chain_binds_each_payload_digest():
    rows = b"\x00" * (2 + PROBES)
    one = chain_step(bytes(32), CONTEXT, seq=0, hidden_size=HIDDEN, probes=PROBES, rows=rows,
                     payload_digest=hashlib.sha256(b"a").digest())  # fmt: skip
    two = chain_step(bytes(32), CONTEXT, seq=0, hidden_size=HIDDEN, probes=PROBES, rows=rows,
                     payload_digest=hashlib.sha256(b"b").digest())  # fmt: skip
    assert one != two
