"""A light client for proven queries: trust a state value only through signatures and hashes.

``LightClient.get(key, height)`` checks, in order:

1. the gRPC node's ``infera.store.v1.Query/Proven`` answer is for the height asked;
2. the header of block ``height + 1`` and its commit (CometBFT RPC ``/commit``) hash to the same
   block id, and name the expected chain;
3. the validator set of that height (``/validators``) hashes to ``header.validators_hash`` and, if
   the caller pinned one, to the trusted validator-set hash;
4. validators holding more than 2/3 of that set's voting power signed the block (ed25519 over
   CometBFT's canonical vote sign bytes, ``chain.cometbft.vote_sign_bytes``);
5. the Merkle proof of the value (or of its absence) checks against ``header.app_hash``.

The node is not trusted for anything: every fact comes with a signature or a hash. One caveat is
the validator set itself: taken from the same node it only proves the node is self-consistent;
pin ``trusted_validators_hash`` (from genesis or a checkpoint you trust) for a real trust root.

Pure Python (PyNaCl for ed25519, no plyvel); the verification functions do no I/O and can be used
on data fetched any other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import chain.pb  # noqa: F401

import grpc
import nacl.exceptions
import nacl.signing

from chain.cli.rpc import CometRPC
from chain.cometbft import (
    BLOCK_ID_FLAG_COMMIT,
    CometDataError,
    commit_from_json,
    commit_vote_sign_bytes,
    header_from_json,
    header_hash,
    validator_address,
    validator_set_hash,
    validators_from_json,
)
from chain.store.proof import ProofError, decode_proof, verify_proof
from infera.store.v1 import query_pb2, query_pb2_grpc
from tendermint.types import types_pb2, validator_pb2

VALIDATORS_PER_PAGE = 100  # CometBFT's maximum page size for /validators


class VerificationError(Exception):
    """The data does not prove what it claims: never use a value that raised this."""


@dataclass(frozen=True)
class SignedHeader:
    """A block header and the commit that signs it (CometBFT ``/commit``)."""

    header: types_pb2.Header
    commit: types_pb2.Commit


@dataclass(frozen=True)
class ProvenValue:
    """A node's answer to a proven query (unverified until ``verify_value`` accepts it)."""

    key: bytes
    value: bytes | None  # None: the key is absent
    proof: bytes
    height: int  # the state version read; its app hash is in header height + 1


@dataclass(frozen=True)
class VerifiedValue:
    """A value (or absence) checked against a signed header."""

    key: bytes
    value: bytes | None
    height: int
    app_hash: bytes
    block_hash: bytes  # hash of the header (height + 1) that signs app_hash
    signed_power: int  # voting power of the commit's valid signatures
    total_power: int


# -- pure verification ---------------------------------------------------------------------------


def verify_commit(
    signed: SignedHeader, validators: list[validator_pb2.Validator], chain_id: str
) -> tuple[int, int]:
    """Check that more than 2/3 of the voting power of ``validators`` signed ``signed.header``.

    Returns (signed power, total power). Raises ``VerificationError`` on a header for another
    chain, a commit for another block, a validator set that is not the header's, a signature
    that does not verify, or too little signed power (CometBFT ``VerifyCommitLight``).
    """
    header, commit = signed.header, signed.commit
    if header.chain_id != chain_id:
        raise VerificationError(f"header is for chain {header.chain_id!r}, not {chain_id!r}")
    if commit.height != header.height:
        raise VerificationError(f"commit height {commit.height} != header {header.height}")
    if commit.block_id.hash != header_hash(header):
        raise VerificationError("the commit signs another block than this header")
    if validator_set_hash(validators) != header.validators_hash:
        raise VerificationError("validator set does not match the header's validators_hash")
    if len(commit.signatures) != len(validators):
        raise VerificationError(
            f"commit has {len(commit.signatures)} signatures for {len(validators)} validators"
        )
    total = sum(v.voting_power for v in validators)
    signed_power = 0
    for index, (sig, validator) in enumerate(zip(commit.signatures, validators, strict=True)):
        if sig.block_id_flag != BLOCK_ID_FLAG_COMMIT:
            continue  # absent or nil votes do not count towards this block
        _check_signature(chain_id, commit, index, validator)
        signed_power += validator.voting_power
    if signed_power * 3 <= total * 2:
        raise VerificationError(
            f"only {signed_power} of {total} voting power signed (more than 2/3 needed)"
        )
    return signed_power, total


def _check_signature(
    chain_id: str, commit: types_pb2.Commit, index: int, validator: validator_pb2.Validator
) -> None:
    sig = commit.signatures[index]
    pubkey = validator.pub_key.ed25519
    if sig.validator_address != validator_address(pubkey):
        raise VerificationError(f"signature {index} is from another validator than the set's")
    message = commit_vote_sign_bytes(chain_id, commit, index)
    try:
        nacl.signing.VerifyKey(pubkey).verify(message, sig.signature)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        raise VerificationError(
            f"invalid signature from validator {sig.validator_address.hex().upper()}"
        ) from None


def verify_value(signed: SignedHeader, proven: ProvenValue) -> bytes:
    """Check ``proven`` against the app hash of a header already verified by ``verify_commit``.

    Returns the app hash. The header must be that of block ``proven.height + 1``.
    """
    if signed.header.height != proven.height + 1:
        raise VerificationError(
            f"value read at height {proven.height} needs header {proven.height + 1}, "
            f"got {signed.header.height}"
        )
    try:
        proof = decode_proof(proven.proof)
    except ProofError as exc:
        raise VerificationError(f"malformed proof: {exc}") from None
    app_hash = signed.header.app_hash
    if not verify_proof(app_hash, proven.key, proven.value, proof):
        what = "absence" if proven.value is None else "value"
        raise VerificationError(f"proof of {what} does not match the signed app hash")
    return app_hash


def verify_proven(
    signed: SignedHeader,
    validators: list[validator_pb2.Validator],
    proven: ProvenValue,
    chain_id: str,
    trusted_validators_hash: bytes | None = None,
) -> VerifiedValue:
    """Every check, from the validator set down to the proof (no I/O)."""
    if trusted_validators_hash is not None:
        if validator_set_hash(validators) != trusted_validators_hash:
            raise VerificationError("validator set is not the trusted one")
    signed_power, total = verify_commit(signed, validators, chain_id)
    app_hash = verify_value(signed, proven)
    return VerifiedValue(
        key=proven.key,
        value=proven.value,
        height=proven.height,
        app_hash=app_hash,
        block_hash=header_hash(signed.header),
        signed_power=signed_power,
        total_power=total,
    )


# -- fetching ------------------------------------------------------------------------------------


def signed_header_from_json(result: dict[str, Any]) -> SignedHeader:
    """``/commit``'s result as a ``SignedHeader``."""
    try:
        data = result["signed_header"]
        return SignedHeader(header_from_json(data["header"]), commit_from_json(data["commit"]))
    except (KeyError, TypeError, CometDataError) as exc:
        raise VerificationError(f"malformed /commit answer: {exc}") from None


class LightClient:
    """Proven reads from a node: gRPC for the value and proof, CometBFT RPC for headers."""

    def __init__(
        self,
        *,
        rpc_url: str,
        grpc_address: str,
        chain_id: str | None = None,
        trusted_validators_hash: bytes | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.rpc = CometRPC(rpc_url, timeout=timeout)
        self.grpc_address = grpc_address
        self.timeout = timeout
        self.trusted_validators_hash = trusted_validators_hash
        self._chain_id = chain_id
        self._channel = grpc.insecure_channel(grpc_address)
        self._stub = query_pb2_grpc.QueryStub(self._channel)

    def close(self) -> None:
        self._channel.close()
        self.rpc.close()

    def __enter__(self) -> LightClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def chain_id(self) -> str:
        """The chain id to expect in headers (asked from the node once when not given)."""
        if self._chain_id is None:
            self._chain_id = str(self.rpc.status()["node_info"]["network"])
        return self._chain_id

    def latest_provable_height(self) -> int:
        """The newest height whose app hash is in a block CometBFT has already committed."""
        height = self.rpc.height() - 1
        if height < 1:
            raise VerificationError("no provable height yet: wait for block 2")
        return height

    def signed_header(self, height: int) -> SignedHeader:
        return signed_header_from_json(self.rpc.call("commit", height=str(height)))

    def validators(self, height: int) -> list[validator_pb2.Validator]:
        """The full validator set at ``height``, every page, in the set's order."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            result = self.rpc.call(
                "validators", height=str(height), page=str(page), per_page=str(VALIDATORS_PER_PAGE)
            )
            items += result["validators"]
            if len(items) >= int(result["total"]) or not result["validators"]:
                break
            page += 1
        try:
            return validators_from_json(items)
        except CometDataError as exc:
            raise VerificationError(str(exc)) from None

    def fetch_proven(self, key: bytes, height: int) -> ProvenValue:
        """The node's (unverified) answer for ``key`` at ``height`` (0: the node's latest)."""
        request = query_pb2.QueryProvenRequest(key=key, height=height)
        response = self._stub.Proven(request, timeout=self.timeout)
        if height and response.height != height:
            raise VerificationError(f"asked for height {height}, node answered {response.height}")
        value = bytes(response.value) if response.exists else None
        return ProvenValue(
            key=key, value=value, proof=bytes(response.proof), height=response.height
        )

    def get(self, key: bytes, height: int = 0) -> VerifiedValue:
        """The verified value of ``key`` at ``height`` (0: the latest provable height)."""
        height = height or self.latest_provable_height()
        # The header signing the app hash; waiting first also lets a node that lags the one the
        # caller heard from (a tx's height) commit ``height`` before it is asked for it.
        self.rpc.wait_height(height + 1, timeout=self.timeout)
        proven = self.fetch_proven(key, height)
        signed = self.signed_header(height + 1)
        validators = self.validators(height + 1)
        return verify_proven(
            signed, validators, proven, self.chain_id, self.trusted_validators_hash
        )
