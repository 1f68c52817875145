"""What workers needs from other modules."""

from collections.abc import Sequence
from typing import Protocol

import chain.pb  # noqa: F401

from chain.context import Context
from chain.tx import Coin
from infera.models.v1 import types_pb2 as models_pb2
from infera.workers.v1 import query_pb2


class BankKeeper(Protocol):
    def get_balance(self, ctx: Context, address: bytes, denom: str) -> int: ...

    def send_coins_to_module(
        self, ctx: Context, sender: bytes, module: str, coins: Sequence[Coin]
    ) -> None: ...

    def send_coins_from_module(
        self, ctx: Context, module: str, recipient: bytes, coins: Sequence[Coin]
    ) -> None: ...

    def send_coins_between_modules(
        self, ctx: Context, sender: str, recipient: str, coins: Sequence[Coin]
    ) -> None: ...

    def burn_coins(self, ctx: Context, module: str, coins: Sequence[Coin]) -> None: ...


class ModelsKeeper(Protocol):
    def get_model(self, ctx: Context, model_id: str) -> models_pb2.Model | None: ...


class Attestations(Protocol):
    """The tee module's view of a worker's attestation, for the Worker query (wired in
    chain/wiring.py, so workers never imports tee)."""

    def get_worker_attestation(
        self, ctx: Context, operator: bytes, encryption_pubkey: bytes
    ) -> query_pb2.WorkerAttestation | None:
        """The stored attestation judged at ``ctx``'s block (None: the worker never attested)."""
        ...
