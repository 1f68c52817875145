"""ABCI 2.0 vote extensions: validators attach data to their precommits; the next block uses it.

Flow for height H (extensions enabled from consensus param ``abci.vote_extensions_enable_height``
E, so the precommits of every height >= E carry one):
  ExtendVote(H)            each validator asks its handler (node-local: e.g. a verifier sidecar)
  VerifyVoteExtension(H)   every validator checks others' extensions: format only, deterministic
  PrepareProposal(H+1)     the proposer puts the extended commit of H, as CometBFT handed it over,
                           in a marker transaction at position 0 of the block
  ProcessProposal(H+1)     every validator checks that marker against the last commit CometBFT
                           decided (``proposed_last_commit``) and the app's own validator set of H:
                           same round, the same validators in the same order with the same powers
                           and block-id flags; then the signatures over CometBFT's canonical
                           extension bytes, and more than 2/3 of H's voting power present
  FinalizeBlock(H+1)       the handler tallies the verified extensions (checked again here against
                           ``decided_last_commit``, since a node replaying blocks never sees
                           ProcessProposal; a marker that fails is ignored, never applied)
A validator with nothing to say sends an empty extension (it abstains).

Why the last commit: the marker is written by one proposer, but ``proposed_last_commit`` is built by
CometBFT from the block's LastCommit, whose signatures every validator checked against the validator
set before the app sees the block. Powers and the total come from the app's validator-set record
(below), never from the marker: a proposer cannot omit, duplicate or re-weight voters (Cosmos SDK's
``ValidateVoteExtensions`` does the same). What remains to a proposer is what CometBFT allows it:
leaving out precommits it received, down to just over 2/3 of the power (those votes count absent).

The validator set of each height is kept in state under ``VALIDATOR_SET`` (CometBFT's order: power
descending, then address): InitChain records it for the first two heights, and every FinalizeBlock(H)
records the set of H+2 (CometBFT applies the updates returned at H from H+2 on), so a node replaying
old blocks checks them against exactly the set that voted.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import chain.pb  # noqa: F401

import nacl.exceptions
import nacl.signing
import structlog
from google.protobuf.message import DecodeError

from chain import crypto
from chain.context import Context
from chain.store import KVStore
from tendermint.abci import types_pb2 as abci
from tendermint.types import validator_pb2

log = structlog.get_logger("chain.vote_extensions")

# A block's first tx holds the extended commit when it starts with this marker. A leading zero
# byte is an invalid protobuf tag, so no real transaction can ever look like it.
INJECTED_MARKER = b"\x00infera/extended-commit/v1\x00"
MAX_EXTENSION_BYTES = 64 * 1024  # per validator
# An extension carrying a beacon share: BEACON_MARKER || share (SHARE_BYTES) || module extension.
# The leading zero byte keeps it apart from any protobuf extension (an invalid tag).
BEACON_MARKER = b"\x00infera/beacon/v1\x00"
SHARE_BYTES = 96  # a BLS12-381 G2 signature
COMMIT_FLAG = validator_pb2.BLOCK_ID_FLAG_COMMIT
# + u64_be(height) -> tendermint.abci.CommitInfo listing that height's validators (address, power)
VALIDATOR_SET = b"consensus/valset/"


class VoteExtensionError(ValueError):
    """The injected extended commit is malformed, unsigned or short of voting power."""


@dataclass(frozen=True)
class ExtendedVote:
    """A verified extension: who sent it, with how much voting power."""

    validator_address: bytes  # CometBFT consensus address (20 bytes)
    power: int
    extension: bytes  # the module's part (the beacon share split off)
    beacon_share: bytes = b""  # BLS signature over (chain id, height); empty: abstained


@dataclass(frozen=True)
class ValidatorPower:
    """One member of a height's validator set, as CometBFT sees it."""

    address: bytes  # consensus address (20 bytes)
    power: int  # voting power, > 0


class VoteExtensionHandler(Protocol):
    """What a module plugs in to use vote extensions."""

    def extend_vote(self, ctx: Context, height: int) -> bytes:
        """This validator's extension for ``height`` (node-local; b"" abstains)."""
        ...

    def verify_vote_extension(self, extension: bytes) -> bool:
        """Format check of another validator's extension; must be deterministic."""
        ...

    def process_votes(self, ctx: Context, votes: Sequence[ExtendedVote], total_power: int) -> None:
        """Act on the verified extensions of the previous height (deterministic)."""
        ...


class BeaconHandler(Protocol):
    """The randomness beacon's part of the extension (modules/beacon/votes.py)."""

    def compute_share(self, chain_id: str, height: int) -> bytes:
        """This validator's share for ``height`` (node-local; b"" abstains)."""
        ...

    def is_well_formed_share(self, share: bytes) -> bool:
        """Format check of another validator's share; must be deterministic."""
        ...

    def process_shares(
        self, ctx: Context, height: int, shares: Sequence[tuple[bytes, int, bytes]], total: int
    ) -> None:
        """Aggregate the (address, power, share) of ``height``'s verified commit."""
        ...

    def observe_share(self, chain_id: str, height: int, address: bytes, share: bytes) -> None:
        """Node-local, never raises: ``address``'s well-formed share of ``height`` arrived
        (VerifyVoteExtension), so work on the aggregate may start before FinalizeBlock."""
        ...

    def prefetch_votes(
        self, chain_id: str, height: int, shares: Sequence[tuple[bytes, int, bytes]], total: int
    ) -> None:
        """Node-local, never raises: ProcessProposal verified the shares of ``height`` that
        FinalizeBlock(height + 1) will aggregate."""
        ...


def wrap_extension(share: bytes, extension: bytes) -> bytes:
    """The extension carrying ``share`` (none: the module extension as it is)."""
    return BEACON_MARKER + share + extension if share else extension


def split_extension(raw: bytes) -> tuple[bytes, bytes] | None:
    """(beacon share, module extension) of ``raw``; None when the beacon part is truncated."""
    if not raw.startswith(BEACON_MARKER):
        return b"", raw
    body = raw[len(BEACON_MARKER) :]
    if len(body) < SHARE_BYTES:
        return None
    return body[:SHARE_BYTES], body[SHARE_BYTES:]


class NoVoteExtensions:
    """The default handler: extensions stay empty and non-empty ones are refused."""

    def extend_vote(self, ctx: Context, height: int) -> bytes:
        return b""

    def verify_vote_extension(self, extension: bytes) -> bool:
        return extension == b""

    def process_votes(self, ctx: Context, votes: Sequence[ExtendedVote], total_power: int) -> None:
        return None


def is_injection_height(height: int, enable_height: int) -> bool:
    """Whether block ``height`` must carry the extended commit of ``height - 1``."""
    return enable_height > 0 and height - 1 >= enable_height


def extension_sign_bytes(chain_id: str, height: int, round_: int, extension: bytes) -> bytes:
    """CometBFT's ``VoteExtensionSignBytes``: a length-delimited ``CanonicalVoteExtension``.

    message CanonicalVoteExtension { bytes extension = 1; sfixed64 height = 2;
                                     sfixed64 round = 3; string chain_id = 4; }
    Proto3 omits fields holding their zero value.
    """
    body = b""
    if extension:
        body += b"\x0a" + _uvarint(len(extension)) + extension
    if height:
        body += b"\x11" + struct.pack("<q", height)
    if round_:
        body += b"\x19" + struct.pack("<q", round_)
    if chain_id:
        encoded = chain_id.encode()
        body += b"\x22" + _uvarint(len(encoded)) + encoded
    return _uvarint(len(body)) + body


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_injected(commit: abci.ExtendedCommitInfo) -> bytes:
    return INJECTED_MARKER + commit.SerializeToString()


def decode_injected(raw: bytes) -> abci.ExtendedCommitInfo | None:
    """The extended commit in a marker tx, or None when ``raw`` is not one."""
    if not raw.startswith(INJECTED_MARKER):
        return None
    commit = abci.ExtendedCommitInfo()
    try:
        commit.ParseFromString(raw[len(INJECTED_MARKER) :])
    except DecodeError as exc:
        raise VoteExtensionError(f"injected extended commit does not decode: {exc}") from None
    return commit


def verify_extended_commit(
    commit: abci.ExtendedCommitInfo,
    *,
    chain_id: str,
    height: int,
    last_commit: abci.CommitInfo,
    validators: Sequence[ValidatorPower],
    pubkey_of: Callable[[bytes], bytes | None],
    is_valid_extension: Callable[[bytes], bool],
) -> tuple[list[ExtendedVote], int]:
    """The valid signed extensions of ``height`` and the height's total voting power.

    ``last_commit`` is CometBFT's decided commit of ``height`` and ``validators`` the app's own
    validator set of ``height``: the injected commit must match both (``check_matches_last_commit``)
    and the total power is the set's. A committed vote whose extension is oversized, malformed,
    unsigned or wrongly signed is left out (it counts as absent): CometBFT adds precommits that
    arrive after the block was decided to the last commit without asking VerifyVoteExtension, so
    one faulty validator must not be able to make every proposal invalid. Raises when the commit
    does not match, or when the valid extensions hold no more than 2/3 of the voting power.
    """
    check_matches_last_commit(commit, last_commit, validators)
    total = sum(v.power for v in validators)
    votes, signed_power = [], 0
    for vote in commit.votes:
        if vote.block_id_flag != COMMIT_FLAG:
            continue
        try:
            _check_vote(vote, chain_id, height, commit.round, pubkey_of, is_valid_extension)
        except VoteExtensionError as exc:
            log.info("vote extension left out", height=height, reason=str(exc))
            continue
        address = bytes(vote.validator.address)
        signed_power += vote.validator.power
        share, extension = split_extension(bytes(vote.vote_extension)) or (b"", b"")
        votes.append(ExtendedVote(address, vote.validator.power, extension, share))
    if total <= 0 or 3 * signed_power <= 2 * total:
        raise VoteExtensionError(f"valid extensions carry {signed_power} of {total} voting power")
    return votes, total


def check_matches_last_commit(
    commit: abci.ExtendedCommitInfo,
    last_commit: abci.CommitInfo,
    validators: Sequence[ValidatorPower],
) -> None:
    """Raise unless ``commit`` lists exactly the votes of ``last_commit``: same round, and vote i
    of each names validator i of ``validators`` with its power, with the same block-id flag.

    Omitted, added, duplicated or reordered validators, inflated, zero or negative powers and a
    wrong round all fail here (cf. Cosmos SDK ``validateExtendedCommitAgainstLastCommit``).
    """
    if commit.round != last_commit.round:
        raise VoteExtensionError(
            f"extended commit round {commit.round} is not the last commit's {last_commit.round}"
        )
    if not len(commit.votes) == len(last_commit.votes) == len(validators):
        raise VoteExtensionError(
            f"extended commit has {len(commit.votes)} votes, the last commit "
            f"{len(last_commit.votes)}, the validator set {len(validators)}"
        )
    for index, (vote, decided, member) in enumerate(
        zip(commit.votes, last_commit.votes, validators, strict=True)
    ):
        address = bytes(vote.validator.address)
        if address != member.address or bytes(decided.validator.address) != member.address:
            raise VoteExtensionError(f"vote {index} is not from validator {member.address.hex()}")
        if not vote.validator.power == decided.validator.power == member.power > 0:
            raise VoteExtensionError(f"vote {index} does not carry power {member.power}")
        if vote.block_id_flag != decided.block_id_flag:
            raise VoteExtensionError(f"vote {index} has another block-id flag than decided")


def fit_extended_commit(
    commit: abci.ExtendedCommitInfo, max_bytes: int
) -> abci.ExtendedCommitInfo | None:
    """``commit`` shrunk until its marker tx fits ``max_bytes``, or None when it cannot.

    The largest extensions are dropped first (ties: lower address first), each with its
    signature, so they count as absent; the votes themselves stay, as the last commit needs.
    """
    fitted = abci.ExtendedCommitInfo()
    fitted.CopyFrom(commit)
    by_size = sorted(
        range(len(fitted.votes)),
        key=lambda i: (
            -len(fitted.votes[i].vote_extension),
            bytes(fitted.votes[i].validator.address),
        ),
    )
    for index in by_size:
        if len(encode_injected(fitted)) <= max_bytes:
            return fitted
        fitted.votes[index].vote_extension = b""
        fitted.votes[index].extension_signature = b""
    return fitted if len(encode_injected(fitted)) <= max_bytes else None


# -- validator sets by height ---------------------------------------------------------------------


def compute_cometbft_order(validators: Sequence[ValidatorPower]) -> list[ValidatorPower]:
    """CometBFT's validator order: voting power descending, then address ascending."""
    return sorted(validators, key=lambda v: (-v.power, v.address))


def compute_updated_set(
    current: Sequence[ValidatorPower], updates: Sequence[tuple[bytes, int]]
) -> list[ValidatorPower]:
    """``current`` after CometBFT applies ``updates`` (ed25519 public key, power; 0 removes)."""
    powers = {v.address: v.power for v in current}
    for pubkey, power in updates:
        address = crypto.consensus_address(pubkey)
        if power > 0:
            powers[address] = power
        else:
            powers.pop(address, None)
    return compute_cometbft_order([ValidatorPower(a, p) for a, p in sorted(powers.items())])


def get_validator_set(store: KVStore, height: int) -> list[ValidatorPower]:
    """The validator set that votes at ``height`` (empty when none is recorded)."""
    raw = store.get(VALIDATOR_SET + height.to_bytes(8, "big"))
    if raw is None:
        return []
    info = abci.CommitInfo.FromString(raw)
    return [ValidatorPower(bytes(v.validator.address), v.validator.power) for v in info.votes]


def set_validator_set(store: KVStore, height: int, validators: Sequence[ValidatorPower]) -> None:
    info = abci.CommitInfo()
    for member in compute_cometbft_order(validators):
        info.votes.add().validator.CopyFrom(
            abci.Validator(address=member.address, power=member.power)
        )
    store.set(VALIDATOR_SET + height.to_bytes(8, "big"), info.SerializeToString(deterministic=True))


def delete_validator_set(store: KVStore, height: int) -> None:
    store.delete(VALIDATOR_SET + height.to_bytes(8, "big"))


def _check_vote(
    vote: abci.ExtendedVoteInfo,
    chain_id: str,
    height: int,
    round_: int,
    pubkey_of: Callable[[bytes], bytes | None],
    is_valid_extension: Callable[[bytes], bool],
) -> None:
    address = bytes(vote.validator.address)
    if len(vote.vote_extension) > MAX_EXTENSION_BYTES:
        raise VoteExtensionError(f"extension of {address.hex()} is too large")
    if not is_valid_extension(bytes(vote.vote_extension)):
        raise VoteExtensionError(f"extension of {address.hex()} is malformed")
    pubkey = pubkey_of(address)
    if pubkey is None:
        raise VoteExtensionError(f"unknown validator {address.hex()}")
    message = extension_sign_bytes(chain_id, height, round_, bytes(vote.vote_extension))
    try:
        nacl.signing.VerifyKey(pubkey).verify(message, bytes(vote.extension_signature))
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        raise VoteExtensionError(f"bad extension signature from {address.hex()}") from None
