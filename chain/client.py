"""Infera's Python SDK: typed queries and transactions over the node's gRPC port, on cosmpy.

    client = Client("127.0.0.1:9090")
    wallet = Client.wallet("word word ...")            # cosmpy LocalWallet, infera1... address
    client.balance(str(wallet.address()))               # -> int
    result = client.send(wallet, "infera1...", 1000)    # signed, broadcast, awaited -> TxResult
    client.submit_job(wallet, model_id="m", prompt=b"hi", max_new_tokens=8, max_fee=10_000)

Transactions are signed with cosmpy (SIGN_MODE_DIRECT). Gas is estimated with Simulate unless
given; the fee is ``ceil(gas x gas_price)``. Several transactions from one account can go in one
block: the client keeps each account's next sequence locally (it only asks the chain the first
time), and when the node answers "incorrect account sequence" (code 32) it takes the expected
sequence from the message and signs again. One ``Client`` may be shared between threads.

Typed helpers for every message and query are in ``chain.client_helpers`` (staking, rewards,
liveness and gov in ``chain.client_staking``); ``execute`` and ``query`` are the general forms.

Sealed jobs (docs/private-jobs.md): ``submit_sealed_job`` sends only commitments and returns
the job's secrets (keep them: they open the output); ``seal_job`` waits for the routes and sends
each hop its box; ``sealed_output`` opens the finalized output. ``run_sealed_job`` does all three.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import chain.pb  # noqa: F401

import grpc
from cosmpy.aerial.tx import SigningCfg, Transaction, TxFee
from cosmpy.aerial.wallet import LocalWallet, Wallet
from google.protobuf.message import Message

from chain import sealing
from chain.client_helpers import MsgHelpers, QueryHelpers
from chain.client_staking import StakingHelpers
from cosmos.auth.v1beta1 import auth_pb2
from cosmos.auth.v1beta1 import query_pb2 as auth_query
from cosmos.base.abci.v1beta1 import abci_pb2
from cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from cosmos.tx.v1beta1 import service_pb2
from infera.agreement.v1 import query_pb2 as agreement_query
from infera.base.v1 import coin_pb2 as infera_coin
from infera.inference.v1 import query_pb2 as inference_query
from infera.inference.v1 import tx_pb2 as inference_tx
from infera.inference.v1 import types_pb2 as inference_types

HEIGHT_HEADER = "x-cosmos-block-height"
CODE_WRONG_SEQUENCE = 32  # sdk codespace: "incorrect account sequence"
SEQUENCE_RETRIES = 3
DEFAULT_GAS_PRICE = "0.025"  # uinfera per gas: the presets' auth min_gas_price
DEFAULT_GAS_MULTIPLIER = "1.5"  # simulated gas x this = gas limit
_EXPECTED_SEQUENCE = re.compile(r"expected ([0-9]+)")
_WRONG_SEQUENCE = "incorrect account sequence"  # the sdk error's text, in a Simulate failure


class ClientError(Exception):
    """A query or transaction the node refused (the message says why)."""


class QueryError(ClientError):
    def __init__(self, path: str, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{path}: {code.name}: {details}")
        self.path, self.code, self.details = path, code, details


class TxError(ClientError):
    """A transaction that failed CheckTx or execution; ``result`` holds the details."""

    def __init__(self, result: TxResult) -> None:
        super().__init__(
            f"tx {result.txhash} failed (codespace {result.codespace}, code {result.code}): "
            f"{result.log}"
        )
        self.result = result


@dataclass(frozen=True)
class TxResult:
    """A transaction's outcome: after CheckTx only (height 0) or once committed."""

    txhash: str
    code: int
    codespace: str = ""
    log: str = ""
    height: int = 0
    gas_wanted: int = 0
    gas_used: int = 0
    data: bytes = b""
    events: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.code == 0

    def attribute(self, event_type: str, key: str) -> str | None:
        """The first value of ``key`` in an event of ``event_type``."""
        for type_, attrs in self.events:
            if type_ == event_type and key in attrs:
                return attrs[key]
        return None

    @classmethod
    def from_proto(cls, response: abci_pb2.TxResponse) -> TxResult:
        return cls(
            txhash=response.txhash,
            code=response.code,
            codespace=response.codespace,
            log=response.raw_log,
            height=response.height,
            gas_wanted=response.gas_wanted,
            gas_used=response.gas_used,
            data=bytes.fromhex(response.data) if response.data else b"",
            events=[(e.type, {a.key: a.value for a in e.attributes}) for e in response.events],
        )


@dataclass(frozen=True)
class SealedSubmission:
    """A submitted sealed job: its id, the secrets that open it, the padded prompt room."""

    job_id: int
    secrets: sealing.JobSecrets
    prompt_room: int
    result: TxResult


class SealedJobHelpers(QueryHelpers, MsgHelpers):
    """Sealed jobs from the submitter's side (mixed into ``Client``)."""

    poll_interval: float

    @property
    def chain_id(self) -> str:
        raise NotImplementedError

    def submit_sealed_job(
        self,
        wallet: Wallet,
        *,
        model_id: str,
        prompt: bytes,
        max_new_tokens: int,
        max_fee: int,
        redundancy: int = 0,
        deadline_blocks: int = 0,
        decoding: inference_types.Decoding | None = None,
        pad_to: int = 0,
        job_key: bytes | None = None,
        **options: Any,
    ) -> SealedSubmission:
        """Submit a sealed job: on chain only the prompt commitment, the prompt room
        (``max(len(prompt), pad_to)`` bytes, priced like a prompt) and the reply key."""
        secrets = sealing.JobSecrets(job_key or _random_key())
        room = max(len(prompt), pad_to)
        msg = inference_tx.MsgSubmitJob(
            submitter=str(wallet.address()),
            model_id=model_id,
            max_new_tokens=max_new_tokens,
            redundancy=redundancy,
            max_fee=infera_coin.Coin(denom=self.fee_denom, amount=str(max_fee)),
            deadline_blocks=deadline_blocks,
            privacy=inference_types.PRIVACY_MODE_SEALED,
            prompt_commitment=secrets.prompt_commitment(prompt),
            sealed_prompt_bytes=room,
            reply_pubkey=secrets.reply_pubkey,
        )
        if decoding is not None:
            msg.decoding.CopyFrom(decoding)
        result = self.execute(wallet, [msg], **options)
        job_id = int(result.attribute("infera.job_submitted", "job_id") or 0)
        return SealedSubmission(job_id, secrets, room, result)

    def sealed_boxes(
        self, job: Any, secrets: sealing.JobSecrets, prompt: bytes, prompt_room: int
    ) -> list[inference_types.SealedRoute]:
        """One box per hop of every route of ``job``, sealed to each hop's registered key."""
        routes = []
        for route_index, route in enumerate(job.routes):
            boxes = []
            for hop_index, hop in enumerate(route.hops):
                worker = self.worker(hop.worker)
                if worker is None:
                    raise ClientError(f"worker {hop.worker} of job {job.id} is unknown")
                if hop_index == 0:
                    payload = sealing.encode_prompt_payload(secrets.output_key, prompt, prompt_room)
                    purpose = sealing.PURPOSE_PROMPT
                else:
                    payload = sealing.encode_key_payload(secrets.output_key)
                    purpose = sealing.PURPOSE_KEY
                place = sealing.Place(self.chain_id, job.id, route_index, hop_index, purpose)
                pubkey = bytes(worker.encryption_pubkey)
                boxes.append(sealing.seal_for_hop(secrets, pubkey, payload, place))
            routes.append(inference_types.SealedRoute(boxes=boxes))
        return routes

    def seal_job(
        self,
        wallet: Wallet,
        submission: SealedSubmission,
        prompt: bytes,
        *,
        timeout: float = 60.0,
        **options: Any,
    ) -> TxResult:
        """Wait until the job has its routes, then send MsgSealPrompt (the rounds open)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(submission.job_id)
            if job is not None and job.state != inference_types.JOB_STATE_SUBMITTED:
                break
            if time.monotonic() > deadline:
                raise ClientError(f"job {submission.job_id} got no routes in {timeout} s")
            time.sleep(self.poll_interval)
        if job.state != inference_types.JOB_STATE_ASSIGNED:
            raise ClientError(f"job {job.id} is {inference_types.JobState.Name(job.state)}")
        routes = self.sealed_boxes(job, submission.secrets, prompt, submission.prompt_room)
        msg = inference_tx.MsgSealPrompt(
            submitter=str(wallet.address()), job_id=job.id, routes=routes
        )
        return self.execute(wallet, [msg], **options)

    def job_seals(self, job_id: int) -> inference_types.JobSeals:
        return self.query(
            "/infera.inference.v1.Query/JobSeals",
            inference_query.QueryJobSealsRequest(job_id=job_id),
            inference_query.QueryJobSealsResponse,
        ).seals

    def sealed_output(self, job_id: int, secrets: sealing.JobSecrets) -> tuple[int, ...] | None:
        """The finalized output tokens of a sealed job, opened with its secrets: the first
        route's sealed output whose keyed hash is the job's output hash (a first hop that
        sealed something else is skipped); None while the job is not FINALIZED."""
        job = self.job(job_id)
        if job is None or job.state != inference_types.JOB_STATE_FINALIZED:
            return None
        history = self.query(
            "/infera.agreement.v1.Query/JobHistory",
            agreement_query.QueryJobHistoryRequest(job_id=job_id),
            agreement_query.QueryJobHistoryResponse,
        )
        for reveal in history.reveals:
            if reveal.hop_index != 0 or not reveal.sealed_output:
                continue
            place = sealing.Place(
                self.chain_id, job_id, reveal.route_index, 0, sealing.PURPOSE_OUTPUT
            )
            try:
                opened = sealing.open_box(secrets.reply_private, reveal.sealed_output, place)
                tokens = sealing.decode_output_payload(opened)
            except sealing.SealingError:
                continue
            keyed = sealing.compute_keyed_output_hash(secrets.output_key, tokens)
            if sealing.compute_sealed_output_hash(keyed, len(tokens)) == job.output_hash:
                return tokens
        return None

    def run_sealed_job(
        self, wallet: Wallet, *, prompt: bytes, seal_timeout: float = 60.0, **submit: Any
    ) -> SealedSubmission:
        """Submit a sealed job and seal it once assigned; returns the submission (keep its
        secrets to open the output with ``sealed_output``)."""
        submission = self.submit_sealed_job(wallet, prompt=prompt, **submit)
        self.seal_job(wallet, submission, prompt, timeout=seal_timeout)
        return submission


def _random_key() -> bytes:
    import secrets as _secrets

    return _secrets.token_bytes(sealing.KEY_BYTES)


class Client(SealedJobHelpers, StakingHelpers):
    """A connection to one node's gRPC port (``host:port``)."""

    def __init__(
        self,
        address: str = "127.0.0.1:9090",
        *,
        chain_id: str | None = None,
        gas_price: str = DEFAULT_GAS_PRICE,
        fee_denom: str = "uinfera",
        gas_multiplier: str = DEFAULT_GAS_MULTIPLIER,
        timeout: float = 30.0,
        poll_interval: float = 0.25,
    ) -> None:
        self.address = address.removeprefix("grpc+http://").removeprefix("http://")
        self.fee_denom = fee_denom
        self.gas_price = Fraction(gas_price)
        self.gas_multiplier = Fraction(gas_multiplier)
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._chain_id = chain_id
        self._channel = grpc.insecure_channel(self.address)
        self._methods: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._account_locks: dict[str, threading.Lock] = {}
        self._sequences: dict[str, tuple[int, int]] = {}  # address -> (account number, next seq)

    @staticmethod
    def wallet(mnemonic: str) -> LocalWallet:
        """A cosmpy wallet from a BIP-39 mnemonic (Cosmos HD path), with infera1... addresses."""
        return LocalWallet.from_mnemonic(mnemonic, prefix="infera")

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries -----------------------------------------------------------------------------------

    def query(self, path: str, request: Message, response_class: type[Any], height: int = 0) -> Any:
        """Call a unary gRPC method by path (e.g. ``/infera.models.v1.Query/Model``)."""
        method = self._methods.get(path)
        if method is None:
            method = self._channel.unary_unary(
                path,
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=response_class.FromString,
            )
            self._methods[path] = method
        metadata = ((HEIGHT_HEADER, str(height)),) if height else None
        try:
            return method(request, timeout=self.timeout, metadata=metadata)
        except grpc.RpcError as err:
            raise QueryError(path, err.code(), err.details() or "") from None

    @property
    def chain_id(self) -> str:
        if self._chain_id is None:
            self._chain_id = self.latest_block().header.chain_id
        return self._chain_id

    def latest_block(self) -> Any:
        return self.query(
            "/cosmos.base.tendermint.v1beta1.Service/GetLatestBlock",
            tm_query.GetLatestBlockRequest(),
            tm_query.GetLatestBlockResponse,
        ).block

    def latest_height(self) -> int:
        return int(self.latest_block().header.height)

    def account(self, address: str, height: int = 0) -> auth_pb2.BaseAccount | None:
        """The account at ``address``; None when it does not exist (never received funds)."""
        try:
            response = self.query(
                "/cosmos.auth.v1beta1.Query/Account",
                auth_query.QueryAccountRequest(address=address),
                auth_query.QueryAccountResponse,
                height,
            )
        except QueryError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        account = auth_pb2.BaseAccount()
        response.account.Unpack(account)
        return account

    # -- transactions ------------------------------------------------------------------------------

    def execute(
        self,
        wallet: Wallet,
        msgs: Sequence[Message],
        *,
        gas: int | None = None,
        fee: int | None = None,
        memo: str = "",
        wait: bool = True,
    ) -> TxResult:
        """Sign ``msgs`` with ``wallet``, broadcast (SYNC) and, if ``wait``, await inclusion.

        Raises ``TxError`` when CheckTx or execution fails; returns the result otherwise.
        """
        address = str(wallet.address())
        with self._account_lock(address):
            for _ in range(SEQUENCE_RETRIES):
                number, sequence = self._next_sequence(address)
                gas_limit = gas or self.estimate_gas(wallet, msgs, memo=memo)
                fee_amount = self.fee_for(gas_limit) if fee is None else fee
                raw = self.sign(wallet, msgs, number, sequence, gas_limit, fee_amount, memo)
                result = self.broadcast(raw)
                if result.code == CODE_WRONG_SEQUENCE and result.codespace == "sdk":
                    self._resync(address, result.log)
                    continue
                if result.ok:
                    self._sequences[address] = (number, sequence + 1)
                break
        if not result.ok:
            raise TxError(result)
        if not wait:
            return result
        committed = self.wait_for_tx(result.txhash)
        if not committed.ok:
            raise TxError(committed)
        return committed

    def fee_for(self, gas: int) -> int:
        """``ceil(gas x gas_price)`` in the fee denom."""
        return math.ceil(gas * self.gas_price)

    def estimate_gas(self, wallet: Wallet, msgs: Sequence[Message], *, memo: str = "") -> int:
        """Simulated gas x the multiplier. Simulation runs on committed state, so it signs with
        the committed sequence: a tx that depends on one still in the mempool needs ``gas=``.

        A block may commit between reading the account and simulating (another tx of this
        account included in it): the node then names the sequence it expects, and the
        simulation is signed again with that one.
        """
        address = str(wallet.address())
        account = self.account(address)
        if account is None:
            raise ClientError(f"account {address} not found: it has never received funds")
        sequence = account.sequence
        for attempt in range(1, SEQUENCE_RETRIES + 1):
            raw = self.sign(wallet, msgs, account.account_number, sequence, 0, 0, memo)
            try:
                response = self.query(
                    "/cosmos.tx.v1beta1.Service/Simulate",
                    service_pb2.SimulateRequest(tx_bytes=raw),
                    service_pb2.SimulateResponse,
                )
                break
            except QueryError as err:
                expected = _EXPECTED_SEQUENCE.search(err.details)
                stale = expected is not None and _WRONG_SEQUENCE in err.details
                if expected is None or not stale or attempt == SEQUENCE_RETRIES:
                    raise ClientError(f"simulation failed: {err.details}") from None
                sequence = int(expected.group(1))
        return math.ceil(response.gas_info.gas_used * self.gas_multiplier)

    def sign(
        self,
        wallet: Wallet,
        msgs: Sequence[Message],
        account_number: int,
        sequence: int,
        gas: int,
        fee: int,
        memo: str = "",
    ) -> bytes:
        """A signed TxRaw (cosmpy ``Transaction``, SIGN_MODE_DIRECT)."""
        tx = Transaction()
        for msg in msgs:
            tx.add_message(msg)
        amount = f"{fee}{self.fee_denom}" if fee else None
        tx.seal(
            SigningCfg.direct(wallet.public_key(), sequence),
            fee=TxFee(amount=amount, gas_limit=gas),
            memo=memo,
        )
        tx.sign(wallet.signer(), self.chain_id, account_number, deterministic=True)
        tx.complete()
        return bytes(tx.tx.SerializeToString())

    def broadcast(self, raw: bytes, *, sync: bool = True) -> TxResult:
        """BroadcastTx; the result of CheckTx (SYNC) or only the hash (ASYNC)."""
        mode = service_pb2.BROADCAST_MODE_SYNC if sync else service_pb2.BROADCAST_MODE_ASYNC
        response = self.query(
            "/cosmos.tx.v1beta1.Service/BroadcastTx",
            service_pb2.BroadcastTxRequest(tx_bytes=raw, mode=mode),
            service_pb2.BroadcastTxResponse,
        )
        return TxResult.from_proto(response.tx_response)

    def get_tx(self, txhash: str) -> TxResult | None:
        """A committed transaction's result; None while it is not (yet) included."""
        try:
            response = self.query(
                "/cosmos.tx.v1beta1.Service/GetTx",
                service_pb2.GetTxRequest(hash=txhash),
                service_pb2.GetTxResponse,
            )
        except QueryError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return TxResult.from_proto(response.tx_response)

    def wait_for_tx(self, txhash: str, timeout: float | None = None) -> TxResult:
        """Poll GetTx until the tx is committed; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            found = self.get_tx(txhash)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"tx {txhash} not included in time; it may still be")
            time.sleep(self.poll_interval)

    # -- sequences ---------------------------------------------------------------------------------

    def _account_lock(self, address: str) -> threading.Lock:
        with self._lock:
            return self._account_locks.setdefault(address, threading.Lock())

    def _next_sequence(self, address: str) -> tuple[int, int]:
        known = self._sequences.get(address)
        if known is None:
            account = self.account(address)
            if account is None:
                raise ClientError(f"account {address} not found: it has never received funds")
            known = self._sequences[address] = (account.account_number, account.sequence)
        return known

    def _resync(self, address: str, log: str) -> None:
        """After a sequence mismatch: the node's expected sequence, else the committed one."""
        match = _EXPECTED_SEQUENCE.search(log)
        number = self._next_sequence(address)[0]
        if match:
            self._sequences[address] = (number, int(match.group(1)))
        else:
            self._sequences.pop(address, None)

    def forget_sequence(self, address: str) -> None:
        """Drop the local sequence (e.g. after a tx was dropped from the mempool)."""
        with self._account_lock(address):
            self._sequences.pop(address, None)
