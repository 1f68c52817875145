"""Signed frame evidence (frames.py): the sender's signed fingerprint rows on every frame, the
receiver's checks at receipt, and the evidence a validator rechecks from a reveal bundle."""

from __future__ import annotations

import hashlib

import pytest
import torch

from chain.crypto import to_bech32
from inference_worker.codec import CodecError, decode
from inference_worker.fingerprint import (
    PROBES,
    FingerprintError,
    derive_probe_seed,
    fingerprint_bytes,
)
from inference_worker.frames import (
    ROW_TOLERANCE,
    ChainContext,
    EvidenceStatus,
    FrameEvidenceError,
    FrameReceiver,
    FrameSeal,
    FrameSender,
    FrameSigner,
    InputEvidence,
    decode_reveal,
    encode_reveal,
    expected_address,
    seal_frame,
    verify_evidence,
)
from modules.agreement import logic

JOB, ROUTE, SENDER = 77, 1, 0
SEED = derive_probe_seed(JOB)
CONTEXT = ChainContext(JOB, ROUTE, sender_hop=SENDER)
HIDDEN = 64


def key(name: str) -> FrameSigner:
    return FrameSigner(hashlib.sha256(name.encode()).digest())


ALICE, MALLORY = key("alice"), key("mallory")


def frames(lengths=(5, 1, 1, 1), seed=0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(1, n, HIDDEN, generator=generator) for n in lengths]


def sealed(tensors, signer=ALICE, codec="fp32") -> list[tuple[torch.Tensor, bytes, FrameSeal]]:
    """(what the receiver decodes, payload, seal) per frame, as an honest sender sends them."""
    sender = FrameSender(CONTEXT, probe_seed=SEED, signer=signer)
    out = []
    for tensor in tensors:
        payload, seal = seal_frame(sender, tensor, tensor, codec)
        out.append((decode(payload, codec, expected_shape=tuple(tensor.shape)), payload, seal))
    return out


def receiver(expected=ALICE.address, *, require=True) -> FrameReceiver:
    return FrameReceiver(CONTEXT, probe_seed=SEED, expected=expected, require_signatures=require)


def accepted_evidence(signer=ALICE) -> InputEvidence:
    inbound = receiver(expected=signer.address)
    for decoded, payload, seal in sealed(frames(), signer):
        inbound.accept(decoded, payload, seal)
    evidence = inbound.evidence()
    assert evidence is not None
    return evidence


# --- the receiver ------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["fp32", "int8", "bf16"])
def test_honest_signed_frames_are_accepted_and_their_evidence_verifies(codec):
    inbound = receiver()
    for decoded, payload, seal in sealed(frames(), codec=codec):
        assert len(seal.rows) == decoded.shape[1] * (2 + PROBES) and len(seal.signature) == 65
        inbound.accept(decoded, payload, seal)
    evidence = inbound.evidence()
    assert evidence is not None and evidence.frame_lengths == (5, 1, 1, 1)
    assert evidence.signer == ALICE.address
    status, _ = verify_evidence(evidence, CONTEXT, expected=ALICE.address, positions=8)
    assert status is EvidenceStatus.VALID


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
    assert lax.evidence() is None  # nothing to reveal from an unsigned session
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


# --- the evidence a validator rechecks ---------------------------------------------------------


def test_the_reveal_bundle_round_trips_and_reads_bare_fingerprints():
    evidence = accepted_evidence()
    own = fingerprint_bytes(frames()[0], probe_seed=SEED)
    assert decode_reveal(encode_reveal(own, evidence)) == (own, evidence)
    assert decode_reveal(encode_reveal(own, None)) == (own, None)
    assert decode_reveal(own) == (own, None)  # the format before bundles
    with pytest.raises(FingerprintError):
        decode_reveal(encode_reveal(own, evidence) + b"\x00")


def test_tampering_any_byte_of_revealed_evidence_makes_it_provably_bad():
    own = fingerprint_bytes(frames()[0], probe_seed=SEED)
    bundle = encode_reveal(own, accepted_evidence())
    start = 12 + len(own)  # the evidence part
    for offset in range(start, len(bundle)):
        tampered = bytearray(bundle)
        tampered[offset] ^= 0x01
        try:
            _, evidence = decode_reveal(bytes(tampered))
        except FingerprintError:
            continue  # malformed: the verifier counts it BAD too (test_verification)
        assert evidence is not None
        status, why = verify_evidence(evidence, CONTEXT, expected=ALICE.address, positions=8)
        assert status is EvidenceStatus.BAD, (offset, status, why)


def test_evidence_signed_by_another_key_is_foreign_and_cannot_frame_the_sender():
    # Mallory, the receiver, fabricates rows and signs them herself: consistent, but not
    # Alice's signature, so a validator cannot use it against Alice (nor blame Mallory).
    forged = accepted_evidence(signer=MALLORY)
    status, _ = verify_evidence(forged, CONTEXT, expected=ALICE.address, positions=8)
    assert status is EvidenceStatus.FOREIGN
    # Claiming Alice signed it does not help: the signature recovers to Mallory.
    claimed = InputEvidence(ALICE.address, *[getattr(forged, f) for f in (
        "hidden_size", "probes", "frame_lengths", "rows", "last_payload_digest", "signature"
    )])  # fmt: skip
    status, _ = verify_evidence(claimed, CONTEXT, expected=ALICE.address, positions=8)
    assert status is EvidenceStatus.BAD


def test_evidence_is_bound_to_its_job_route_hop_and_every_position():
    evidence = accepted_evidence()
    for context in (
        ChainContext(JOB + 1, ROUTE, SENDER),
        ChainContext(JOB, ROUTE + 1, SENDER),
        ChainContext(JOB, ROUTE, SENDER + 1),
    ):
        status, _ = verify_evidence(evidence, context, expected=ALICE.address, positions=8)
        assert status is EvidenceStatus.BAD
    status, why = verify_evidence(evidence, CONTEXT, expected=ALICE.address, positions=9)
    assert status is EvidenceStatus.BAD and "covers 8 positions" in why


def test_an_early_frames_signature_cannot_stand_for_the_whole_session():
    # A receiver revealing the chain up to frame 1 only, with frame 1's (genuine) signature.
    inbound = receiver()
    for decoded, payload, seal in sealed(frames())[:2]:
        inbound.accept(decoded, payload, seal)
    short = inbound.evidence()
    assert short is not None
    status, _ = verify_evidence(short, CONTEXT, expected=ALICE.address, positions=8)
    assert status is EvidenceStatus.BAD


def test_expected_address_reads_bech32_and_ignores_local_names():
    assert expected_address(to_bech32(ALICE.address)) == ALICE.address
    assert expected_address("middle") is None and expected_address("") is None


def test_the_agreement_cap_holds_a_bundle_for_the_positions_the_chain_allows():
    # A 16 KiB prompt at 3.25 bytes a token + 1024 new tokens; own and received rows, 8 bytes
    # a position each.
    positions = -(-16_384 * 4 // 13) + 1024
    evidence = InputEvidence(
        ALICE.address, HIDDEN, PROBES, (positions - 1023,) + (1,) * 1023,
        bytes(positions * (2 + PROBES)), bytes(32), bytes(65),
    )  # fmt: skip
    own = fingerprint_bytes(torch.randn(positions, HIDDEN), probe_seed=SEED)
    size = len(encode_reveal(own, evidence))
    assert size == 178 + 16 * positions
    assert size <= logic.MAX_FINGERPRINT_BYTES


def test_frame_signer_refuses_bad_keys():
    with pytest.raises(ValueError, match="32 bytes"):
        FrameSigner(b"short")
