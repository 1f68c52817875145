"""What one route of a job claims: its output tokens and each hop's shard fingerprint.

`RouteClaim` is the validator's input (assembled from the chain: the job, the route's hops and
their reveals). `generate_claim` runs a route in this process the way workers run it (prefill,
then one token at a time, KV cache per hop, optional wire codec at every hop boundary) and
records what each hop would reveal; tests and benchmarks use it, and a worker does the same per
session, keeping its outputs until the route's output is known (late probes):

    kept = KeptStates()                                                  # at session open
    out = shard.forward(hidden, cache=cache); kept.add(out)              # every step, before
                                                                         # the wire codec
    basis = compute_chain_output_hash(tokens, output_key)  # a sealed job's: the sealed hash
    seed = derive_late_probe_seed(derive_probe_seed(job_id), basis)
    reveal(..., shard_fingerprint=encode_reveal(kept.fingerprint(seed).to_bytes(), late))

With worker keys (`keys=`), it also seals every frame a hop sends with the rows of what the
receiver decodes and the sender's signature (frames.py), checks them on the receiving side as
a worker's server does, then, once the output is known, has every sender sign its late rows
and every receiver check them (`FrameSender.seal_late`, `FrameReceiver.accept_late`), and
records what each hop received as `HopClaim.received`, so the claim carries the same signed
late evidence a real pipeline reveals (`reveal_payload`), and the frames each receiver kept
as `HopClaim.received_frames` (what it would hand a verifier in a dispute).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from chain.crypto import to_bech32
from inference_worker.pipeline.codec import decode, encode
from inference_worker.pipeline.frames import (
    ChainContext,
    FrameReceiver,
    FrameSender,
    FrameSigner,
    LateEvidence,
    ReceivedFrame,
    seal_frame,
)
from inference_worker.pipeline.generate import Sampling, eos_token_ids
from inference_worker.pipeline.shard import Shard, ShardError
from inference_worker.verify.adversary import choose_token, forward_reported
from inference_worker.verify.commits import compute_chain_output_hash
from inference_worker.verify.fingerprint import FingerprintError, KeptStates, derive_late_probe_seed
from inference_worker.verify.reveal import decode_reveal, encode_reveal


@dataclass(frozen=True)
class HopClaim:
    """One hop of a route as revealed: its span, declared runtime dtype, fingerprint and the
    signed evidence of what it received."""

    start: int  # first layer served
    end: int  # one past the last layer served
    dtype: torch.dtype  # the worker's registered runtime dtype (float32, bfloat16, float16)
    fingerprint: bytes  # its own output fingerprint, late probe seed (fingerprint encoding)
    worker: str = ""  # the hop's worker address (bech32, from the chain's route); "" unknown
    received: LateEvidence | None = None  # the late rows the hop before signed
    malformed: str = ""  # why the revealed bytes could not be read ("" when they could)
    received_frames: tuple[ReceivedFrame, ...] | None = None  # the signed frames the hop
    # received, as it kept them (its dispute payload; not in the reveal): with them the
    # verifier judges the hop on exactly what it received (`frames.received_states`)


@dataclass(frozen=True)
class RouteClaim:
    """A route's claimed output and the evidence behind it, for one job."""

    prompt_ids: tuple[int, ...]
    tokens: tuple[int, ...]  # the claimed output (the stop token included when one was hit)
    hops: tuple[HopClaim, ...]
    max_new_tokens: int
    eos_ids: frozenset[int] = frozenset()  # the job's stop tokens
    sampling: Sampling | None = None  # None: greedy
    probe_seed: int = 0  # the job's fingerprint probe seed (derive_probe_seed(job_id))
    codec: str | None = None  # the job's wire codec (None: tensors pass as they are)
    job_id: int | None = None  # the job (frame signatures bind it); None: evidence unchecked
    route_index: int = 0  # the route's index within the job (frame signatures bind it)
    output_key: bytes | None = None  # a sealed job's output key (known once it is disclosed):
    # the late probe seed and late signatures derive from its sealed output hash

    @property
    def late_output_hash(self) -> bytes:
        """The output hash the late probe seed and the late signatures derive from: the one
        the chain compares (commits.compute_chain_output_hash; a sealed job's sealed hash)."""
        return compute_chain_output_hash(self.tokens, self.output_key)

    @property
    def sequence(self) -> list[int]:
        """Token ids the route's hops ran over: the prompt, then every output token but the
        last (each hop's fingerprint covers exactly these positions)."""
        return [*self.prompt_ids, *self.tokens[:-1]]


@torch.inference_mode()
def generate_claim(
    shards: Sequence[Shard],
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int,
    probe_seed: int,
    eos_ids: set[int] | None = None,
    sampling: Sampling | None = None,
    codec: str | None = None,
    job_id: int | None = None,
    route_index: int = 0,
    keys: Sequence[FrameSigner] | None = None,
    unchecked_receivers: frozenset[int] = frozenset(),
    output_key: bytes | None = None,
) -> RouteClaim:
    """Run one route (honest or adversarial shards) and return what its hops would reveal.

    With `keys` (one per hop; needs `job_id`), frames are sealed and checked as in the real
    pipeline: a receiving hop refuses a frame whose signed rows do not match what it decodes
    (FrameEvidenceError naming the sender, like the server's BAD_FRAME_EVIDENCE), except the
    hops in `unchecked_receivers`, which accept anything (a colluding receiver). Each hop's
    worker is the bech32 address of its key. `output_key`: a sealed job's (the late evidence
    then derives from the sealed output hash, as a sealed job's workers derive it)."""
    _check_spans(shards)
    if not prompt_ids:
        raise ValueError("the prompt needs at least one token")
    if keys is not None and (len(keys) != len(shards) or job_id is None):
        raise ValueError("keys needs one key per hop and a job_id")
    stop = eos_token_ids(shards[-1].config) if eos_ids is None else set(eos_ids)
    generator = torch.Generator().manual_seed(sampling.seed) if sampling is not None else None
    caches = [shard.new_cache() for shard in shards]
    outputs = [KeptStates() for _ in shards]  # each hop's output, fingerprinted at the end
    links = _Links(shards, keys, job_id or 0, route_index, probe_seed, unchecked_receivers)
    wire = codec or "fp32"  # sealed frames need bytes to sign; fp32 is exact
    ids = torch.tensor([list(prompt_ids)], dtype=torch.long)  # (1, prompt) then (1, 1)
    tokens: list[int] = []
    while len(tokens) < max_new_tokens:
        sent = reported = shards[0].embed(ids, cache=caches[0])  # (1, seq, hidden)
        for hop, shard in enumerate(shards):
            hidden = links.carry(hop, sent, reported, codec, wire) if hop else sent
            sent, reported = forward_reported(shard, hidden, cache=caches[hop])
            outputs[hop].add(reported)
        token = choose_token(shards[-1], shards[-1].head(sent)[0], sampling, generator)
        tokens.append(token)
        if token in stop:
            break
        ids = torch.tensor([[token]], dtype=torch.long)
    output_hash = compute_chain_output_hash(tokens, output_key)  # known now: late probes
    late_seed = derive_late_probe_seed(probe_seed, output_hash)
    links.finish(output_hash)
    hops = tuple(
        HopClaim(
            s.span_start, s.span_end, s.dtype, kept.fingerprint(late_seed).to_bytes(),
            worker=links.worker(k), received=links.evidence(k),
            received_frames=links.frames(k),
        )
        for k, (s, kept) in enumerate(zip(shards, outputs, strict=True))
    )  # fmt: skip
    return RouteClaim(
        prompt_ids=tuple(prompt_ids),
        tokens=tuple(tokens),
        hops=hops,
        max_new_tokens=max_new_tokens,
        eos_ids=frozenset(stop),
        sampling=sampling,
        probe_seed=probe_seed,
        codec=codec,
        job_id=job_id,
        route_index=route_index,
        output_key=output_key,
    )


class _Links:
    """The hop boundaries of an in-process route: the wire codec, and with keys the frame
    seals and the receivers' checks, exactly as server.py does them."""

    def __init__(
        self,
        shards: Sequence[Shard],
        keys: Sequence[FrameSigner] | None,
        job_id: int,
        route_index: int,
        probe_seed: int,
        unchecked: frozenset[int],
    ):
        self.keys = keys
        self.senders: list[FrameSender] = []
        self.receivers: list[FrameReceiver] = []
        if keys is None:
            return
        for hop in range(len(shards) - 1):
            context = ChainContext(job_id, route_index, sender_hop=hop)
            self.senders.append(FrameSender(context, probe_seed=probe_seed, signer=keys[hop]))
            self.receivers.append(
                FrameReceiver(
                    context,
                    probe_seed=probe_seed,
                    expected=keys[hop].address,
                    require_signatures=True,
                    check_rows=hop + 1 not in unchecked,
                )
            )

    def carry(
        self,
        hop: int,
        sent: torch.Tensor,
        reported: torch.Tensor,
        codec: str | None,
        wire: str,
    ) -> torch.Tensor:
        """What hop `hop` computes on, from what hop `hop` - 1 sent (1, n, hidden)."""
        if self.keys is None:
            if codec is None:
                return sent
            return decode(encode(sent, codec), codec, expected_shape=tuple(sent.shape))
        payload, seal = seal_frame(self.senders[hop - 1], sent, reported, wire)
        received = decode(payload, wire, expected_shape=tuple(sent.shape))
        self.receivers[hop - 1].accept(received, payload, seal)
        return received if codec is not None else sent

    def finish(self, output_hash: bytes) -> None:
        """Every sender's late evidence, checked by its receiver (FrameEvidenceError names a
        sender whose late rows do not match what it sent)."""
        for sender, receiver in zip(self.senders, self.receivers, strict=True):
            receiver.accept_late(sender.seal_late(output_hash), output_hash)

    def worker(self, hop: int) -> str:
        return to_bech32(self.keys[hop].address) if self.keys is not None else ""

    def evidence(self, hop: int) -> LateEvidence | None:
        return self.receivers[hop - 1].late if self.keys is not None and hop else None

    def frames(self, hop: int) -> tuple[ReceivedFrame, ...] | None:
        return tuple(self.receivers[hop - 1].frames) if self.keys is not None and hop else None


def reveal_payload(claim: RouteClaim, hop: int) -> bytes:
    """The bytes hop `hop` of the route puts in its MsgReveal's shard_fingerprint field: its
    own late fingerprint and the late rows it received, as a reveal bundle (reveal.py)."""
    return encode_reveal(claim.hops[hop].fingerprint, claim.hops[hop].received)


def hop_claim_from_reveal(
    start: int, end: int, dtype: torch.dtype, payload: bytes, *, worker: str = ""
) -> HopClaim:
    """A hop's claim rebuilt from its revealed shard_fingerprint bytes (`reveal_payload`;
    earlier bundle versions and bare fingerprints are malformed). `worker`
    is the route's address for the hop (the signer its successor's evidence must name).
    Malformed bytes never raise: the claim then carries `malformed` and an empty fingerprint
    (no fingerprint compares within tolerance with it)."""
    try:
        own, received = decode_reveal(payload)
    except FingerprintError as err:
        return HopClaim(start, end, dtype, b"", worker=worker, malformed=str(err))
    return HopClaim(start, end, dtype, own, worker=worker, received=received)


def _check_spans(shards: Sequence[Shard]) -> None:
    """Contiguous spans from layer 0 to the last (unlike `generate.check_route`, the configs
    may differ: a cheating hop may serve another model's weights)."""
    if not shards or not shards[0].is_first or not shards[-1].is_last:
        raise ShardError("a route must start at layer 0 and end at the last layer")
    for before, after in zip(shards, shards[1:], strict=False):
        if before.span_end != after.span_start:
            raise ShardError(f"spans end at {before.span_end} and start at {after.span_start}")
