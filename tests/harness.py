"""A chain in a test: the real app and store, driven block by block through ABCI calls.

No CometBFT here: tests call the same ABCI methods CometBFT would, in the same order, so the
fast tests exercise the exact code a node runs. Keys are deterministic (derived from names).
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import chain.pb  # noqa: F401

from google.protobuf import any_pb2
from google.protobuf.message import Message

from chain import crypto
from chain.store import CommitStore
from chain.wiring import build_app
from cosmos.bank.v1beta1 import tx_pb2 as bank_tx
from cosmos.base.v1beta1 import coin_pb2
from cosmos.crypto.secp256k1 import keys_pb2 as secp_pb2
from cosmos.tx.signing.v1beta1 import signing_pb2
from cosmos.tx.v1beta1 import tx_pb2
from tendermint.abci import types_pb2 as abci
from tendermint.types import params_pb2

CHAIN_ID = "infera-test-1"
DENOM = "uinfera"
GENESIS_TIME = 1_700_000_000  # seconds; block H is at GENESIS_TIME + H
INITIAL_BALANCE = 10**12
VALIDATOR_BOND = 10**9
MAX_BLOCK_GAS = 100_000_000


@dataclass(frozen=True)
class Key:
    """A deterministic secp256k1 account key for tests."""

    name: str

    @property
    def private(self) -> bytes:
        return hashlib.sha256(b"infera-test-key:" + self.name.encode()).digest()

    @property
    def public(self) -> bytes:
        import coincurve

        return coincurve.PrivateKey(self.private).public_key.format(compressed=True)

    @property
    def address(self) -> bytes:
        return crypto.address_from_secp256k1(self.public)

    @property
    def bech32(self) -> str:
        return crypto.to_bech32(self.address)


def validator_signing_key(name: str):
    """A deterministic ed25519 consensus key (PyNaCl SigningKey) for a test validator."""
    import nacl.signing

    return nacl.signing.SigningKey(
        hashlib.sha256(b"infera-test-validator:" + name.encode()).digest()
    )


def validator_pubkey(name: str) -> bytes:
    return bytes(validator_signing_key(name).verify_key)


def validator_bls_secret(name: str) -> int:
    """A deterministic BLS beacon secret for a test validator."""
    from modules.beacon.logic import compute_secret

    return _BLS_SECRETS.setdefault(name, compute_secret(b"infera-test-validator:" + name.encode()))


_BLS_SECRETS: dict[str, int] = {}


def beacon_genesis(validators: Sequence[Key]) -> dict:
    """Every validator registers its BLS key with a proof of possession."""
    from modules.beacon.genesis import genesis_entry

    return {
        "keys": [
            genesis_entry(validator_pubkey(v.name), validator_bls_secret(v.name))
            for v in validators
        ]
    }


def genesis_app_state(keys: Sequence[Key], validators: Sequence[Key]) -> dict:
    """Funded accounts plus one bonded validator per operator key."""
    pool = crypto.to_bech32(crypto.module_address("bonded_tokens_pool"))
    balances = [
        {"address": k.bech32, "coins": [{"denom": DENOM, "amount": str(INITIAL_BALANCE)}]}
        for k in keys
    ]
    if validators:
        total = str(VALIDATOR_BOND * len(validators))
        balances.append({"address": pool, "coins": [{"denom": DENOM, "amount": total}]})
    vals = [
        {
            "operator_address": v.bech32,
            "consensus_pubkey": _b64(validator_pubkey(v.name)),
            "tokens": str(VALIDATOR_BOND),
            "moniker": v.name,
        }
        for v in validators
    ]
    return {"auth": {}, "bank": {"balances": balances}, "staking": {"validators": vals}}


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def consensus_params(vote_extensions_from: int = 0) -> params_pb2.ConsensusParams:
    params = params_pb2.ConsensusParams(
        block=params_pb2.BlockParams(max_bytes=22020096, max_gas=MAX_BLOCK_GAS),
    )
    params.abci.vote_extensions_enable_height = vote_extensions_from
    return params


def init_chain_request(
    app_state: dict, chain_id: str = CHAIN_ID, vote_extensions_from: int = 0
) -> abci.RequestInitChain:
    req = abci.RequestInitChain(
        chain_id=chain_id,
        initial_height=1,
        app_state_bytes=json.dumps(app_state).encode(),
        consensus_params=consensus_params(vote_extensions_from),
    )
    req.time.seconds = GENESIS_TIME
    return req


def finalize_request(
    height: int,
    txs: Sequence[bytes],
    misbehavior: Sequence = (),
    last_commit: abci.CommitInfo | None = None,
) -> abci.RequestFinalizeBlock:
    req = abci.RequestFinalizeBlock(
        txs=list(txs),
        height=height,
        hash=hashlib.sha256(b"block%d" % height).digest(),
        misbehavior=list(misbehavior),
        decided_last_commit=last_commit,
    )
    req.time.seconds = GENESIS_TIME + height
    return req


def last_commit_of(commit: abci.ExtendedCommitInfo) -> abci.CommitInfo:
    """The CommitInfo CometBFT derives from a block's LastCommit: the extended commit without
    the extensions (what ProcessProposal and FinalizeBlock are given)."""
    info = abci.CommitInfo(round=commit.round)
    for vote in commit.votes:
        info.votes.add(validator=vote.validator, block_id_flag=vote.block_id_flag)
    return info


def build_tx(
    msgs: Sequence[Message],
    signers: Sequence[Key],
    *,
    sequences: Sequence[int],
    account_numbers: Sequence[int],
    chain_id: str = CHAIN_ID,
    fee: int = 10_000,
    gas: int = 200_000,
    memo: str = "",
    include_pubkey: bool = True,
    timeout_height: int = 0,
) -> bytes:
    """Sign a transaction exactly as a Cosmos client does (SIGN_MODE_DIRECT)."""
    body = tx_pb2.TxBody(memo=memo, timeout_height=timeout_height)
    for msg in msgs:
        packed = any_pb2.Any()
        packed.Pack(msg, type_url_prefix="/")
        body.messages.append(packed)
    auth = tx_pb2.AuthInfo(fee=tx_pb2.Fee(gas_limit=gas))
    if fee:
        auth.fee.amount.append(coin_pb2.Coin(denom=DENOM, amount=str(fee)))
    for key, seq in zip(signers, sequences, strict=True):
        info = auth.signer_infos.add(sequence=seq)
        info.mode_info.single.mode = signing_pb2.SIGN_MODE_DIRECT
        if include_pubkey:
            info.public_key.Pack(secp_pb2.PubKey(key=key.public), type_url_prefix="/")
    body_bytes, auth_bytes = body.SerializeToString(), auth.SerializeToString()
    sigs = []
    for key, number in zip(signers, account_numbers, strict=True):
        doc = tx_pb2.SignDoc(
            body_bytes=body_bytes,
            auth_info_bytes=auth_bytes,
            chain_id=chain_id,
            account_number=number,
        )
        sigs.append(crypto.sign_secp256k1(key.private, doc.SerializeToString()))
    return tx_pb2.TxRaw(
        body_bytes=body_bytes, auth_info_bytes=auth_bytes, signatures=sigs
    ).SerializeToString()


def send_msg(
    sender: Key, recipient: bytes | str, amount: int, denom: str = DENOM
) -> bank_tx.MsgSend:
    to = recipient if isinstance(recipient, str) else crypto.to_bech32(recipient)
    return bank_tx.MsgSend(
        from_address=sender.bech32,
        to_address=to,
        amount=[coin_pb2.Coin(denom=denom, amount=str(amount))],
    )


@dataclass
class TestChain:
    """The app over a real CommitStore in ``path``, with funded deterministic accounts."""

    path: pathlib.Path
    n_accounts: int = 4
    keep_recent: int = 0
    height: int = 0
    keys: list[Key] = field(default_factory=list)
    validators: list[Key] = field(default_factory=list)
    beacon: bool = False  # validators register BLS keys and sign beacon shares in extensions

    __test__ = False  # not a pytest test class

    def __post_init__(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.keys = [Key(f"user{i}") for i in range(self.n_accounts)]
        self.validators = self.validators or [Key("val0")]
        self.store = CommitStore(str(self.path / "app.db"), keep_recent=self.keep_recent)
        self.app = build_app(self.store)
        self.sequences = {k.address: 0 for k in self.keys + self.validators}

    def init(self, vote_extensions_from: int = 0) -> abci.ResponseInitChain:
        state = genesis_app_state(self.keys, self.validators)
        if self.beacon:
            state["beacon"] = beacon_genesis(self.validators)
        return self.app.init_chain(
            init_chain_request(state, vote_extensions_from=vote_extensions_from)
        )

    def reopen(self) -> None:
        """Close and reopen the store and the app, as a restarted node does."""
        self.store.close()
        self.store = CommitStore(str(self.path / "app.db"), keep_recent=self.keep_recent)
        self.app = build_app(self.store)

    def block(
        self,
        txs: Sequence[bytes] = (),
        misbehavior: Sequence = (),
        *,
        extensions: dict[str, bytes] | None = None,
        inject: bool = True,
        last_commit: abci.CommitInfo | None = None,
    ) -> abci.ResponseFinalizeBlock:
        """Finalize and commit the next block; returns FinalizeBlock's response.

        Where vote extensions are on, the block starts with the previous height's extended
        commit, as a proposer builds it: every validator signs its entry of ``extensions``
        (validator name -> bytes; empty when missing). ``inject=False`` leaves ``txs`` as given.
        ``last_commit`` is the decided last commit CometBFT passes (default: every validator
        committed the previous height in round 0).
        """
        from chain.vote_extensions import encode_injected, is_injection_height

        self.height += 1
        enable = self.app.consensus_params().abci.vote_extensions_enable_height
        if inject and is_injection_height(self.height, enable):
            commit = self.extended_commit(self.height - 1, extensions or {})
            txs = [encode_injected(commit), *txs]
        if last_commit is None and self.height > 1:
            last_commit = self.last_commit(self.height - 1)
        request = finalize_request(self.height, txs, misbehavior, last_commit)
        response = self.app.finalize_block(request)
        self.app.commit(abci.RequestCommit())
        return response

    def extended_commit(
        self, height: int, extensions: dict[str, bytes], *, shares: bool = True
    ) -> abci.ExtendedCommitInfo:
        """Every validator's precommit of ``height`` with its signed extension."""
        from chain.vote_extensions import BEACON_MARKER, extension_sign_bytes, wrap_extension
        from modules.beacon.logic import compute_share
        from tendermint.types import validator_pb2

        commit = abci.ExtendedCommitInfo()
        for validator in self.validators_in_commit_order():
            key = validator_signing_key(validator.name)
            extension = extensions.get(validator.name, b"")
            if self.beacon and shares and not extension.startswith(BEACON_MARKER):
                share = compute_share(validator_bls_secret(validator.name), CHAIN_ID, height)
                extension = wrap_extension(share, extension)
            vote = commit.votes.add(block_id_flag=validator_pb2.BLOCK_ID_FLAG_COMMIT)
            vote.validator.address = crypto.consensus_address(bytes(key.verify_key))
            vote.validator.power = VALIDATOR_BOND // 1_000_000
            vote.vote_extension = extension
            sign_bytes = extension_sign_bytes(CHAIN_ID, height, 0, extension)
            vote.extension_signature = key.sign(sign_bytes).signature
        return commit

    def validators_in_commit_order(self) -> list[Key]:
        """CometBFT orders a commit's votes by power, then address; here all powers are equal."""
        return sorted(
            self.validators,
            key=lambda v: crypto.consensus_address(validator_pubkey(v.name)),
        )

    def last_commit(self, height: int) -> abci.CommitInfo:
        """The decided commit of ``height`` when every validator precommitted in round 0."""
        return last_commit_of(self.extended_commit(height, {}, shares=False))

    def account_number(self, key: Key) -> int:
        from chain.context import BlockInfo, Context, ExecMode
        from modules.auth.keeper import AccountKeeper

        ctx = Context(
            store=self.store.latest(),
            block=BlockInfo(CHAIN_ID, self.height, 0),
            mode=ExecMode.QUERY,
        )
        account = AccountKeeper().get_account(ctx, key.address)
        assert account is not None, f"{key.name} has no account"
        return account.account_number

    def tx(self, signer: Key, *msgs: Message, bump: bool = True, **kwargs) -> bytes:
        """A signed tx from ``signer`` with its next sequence (tracked here)."""
        seq = kwargs.pop("sequence", self.sequences[signer.address])
        number = kwargs.pop("account_number", None)
        number = self.account_number(signer) if number is None else number
        raw = build_tx(list(msgs), [signer], sequences=[seq], account_numbers=[number], **kwargs)
        if bump:
            self.sequences[signer.address] = seq + 1
        return raw

    def check(self, raw: bytes) -> abci.ResponseCheckTx:
        return self.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW))

    def query(self, path: str, request: Message, height: int = 0) -> abci.ResponseQuery:
        return self.app.query(
            abci.RequestQuery(path=path, data=request.SerializeToString(), height=height)
        )

    def balance(self, address: bytes, denom: str = DENOM) -> int:
        from cosmos.bank.v1beta1 import query_pb2

        res = self.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            query_pb2.QueryBalanceRequest(address=crypto.to_bech32(address), denom=denom),
        )
        assert res.code == 0, res.log
        out = query_pb2.QueryBalanceResponse()
        out.ParseFromString(res.value)
        return int(out.balance.amount)

    def supply(self, denom: str = DENOM) -> int:
        from cosmos.bank.v1beta1 import query_pb2

        res = self.query(
            "/cosmos.bank.v1beta1.Query/TotalSupply", query_pb2.QueryTotalSupplyRequest()
        )
        out = query_pb2.QueryTotalSupplyResponse()
        out.ParseFromString(res.value)
        return sum(int(c.amount) for c in out.supply if c.denom == denom)
