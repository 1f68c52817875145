"""ABCI 2.0 vote extensions: validators attach data to their precommits; the next block uses it.

Flow for height H (extensions enabled from consensus param ``abci.vote_extensions_enable_height``
E, so the precommits of every height >= E carry one):
  ExtendVote(H)            each validator asks its handler (node-local: e.g. a verifier sidecar)
  VerifyVoteExtension(H)   every validator checks others' extensions: format only, deterministic
  PrepareProposal(H+1)     the proposer puts the extended commit of H, as CometBFT handed it over,
                           in a marker transaction at position 0 of the block
  ProcessProposal(H+1)     every validator checks that marker: signatures over CometBFT's canonical
                           extension bytes, and more than 2/3 of H's voting power present
  FinalizeBlock(H+1)       the handler tallies the verified extensions (checked again here, since a
                           node replaying blocks never sees ProcessProposal)
A validator with nothing to say sends an empty extension (it abstains).
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

from chain.context import Context
from tendermint.abci import types_pb2 as abci
from tendermint.types import validator_pb2

log = structlog.get_logger("chain.vote_extensions")

# A block's first tx holds the extended commit when it starts with this marker. A leading zero
# byte is an invalid protobuf tag, so no real transaction can ever look like it.
INJECTED_MARKER = b"\x00infera/extended-commit/v1\x00"
MAX_EXTENSION_BYTES = 64 * 1024  # per validator
COMMIT_FLAG = validator_pb2.BLOCK_ID_FLAG_COMMIT


class VoteExtensionError(ValueError):
    """The injected extended commit is malformed, unsigned or short of voting power."""


@dataclass(frozen=True)
class ExtendedVote:
    """A verified extension: who sent it, with how much voting power."""

    validator_address: bytes  # CometBFT consensus address (20 bytes)
    power: int
    extension: bytes


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
    pubkey_of: Callable[[bytes], bytes | None],
    is_valid_extension: Callable[[bytes], bool],
) -> tuple[list[ExtendedVote], int]:
    """The valid signed extensions of ``height`` and the height's total voting power.

    A committed vote whose extension is oversized, malformed, unsigned or wrongly signed is left
    out (it counts as absent): CometBFT adds precommits that arrive after the block was decided
    to the last commit without asking VerifyVoteExtension, so one faulty validator must not be
    able to make every proposal invalid. Raises when a validator appears twice or when the valid
    extensions hold no more than 2/3 of the voting power.
    """
    total = sum(vote.validator.power for vote in commit.votes)
    seen: set[bytes] = set()
    votes, signed_power = [], 0
    for vote in commit.votes:
        address = bytes(vote.validator.address)
        if address in seen:
            raise VoteExtensionError(f"validator {address.hex()} appears twice")
        seen.add(address)
        if vote.block_id_flag != COMMIT_FLAG:
            continue
        try:
            _check_vote(vote, chain_id, height, commit.round, pubkey_of, is_valid_extension)
        except VoteExtensionError as exc:
            log.info("vote extension left out", height=height, reason=str(exc))
            continue
        signed_power += vote.validator.power
        votes.append(ExtendedVote(address, vote.validator.power, bytes(vote.vote_extension)))
    if total <= 0 or 3 * signed_power <= 2 * total:
        raise VoteExtensionError(f"valid extensions carry {signed_power} of {total} voting power")
    return votes, total


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
