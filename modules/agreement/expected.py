"""What agreement needs from other modules (docs/inference-modules-contract.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import chain.pb  # noqa: F401

from chain.context import Context
from chain.tx import Coin
from infera.inference.v1 import types_pb2 as inference_pb2
from infera.models.v1 import types_pb2 as models_pb2
from infera.workers.v1 import types_pb2 as workers_pb2


class InferenceKeeper(Protocol):
    """Jobs and their escrow (the inference module)."""

    def get_job(self, ctx: Context, job_id: int) -> inference_pb2.Job | None: ...

    def set_job(self, ctx: Context, job: inference_pb2.Job) -> None: ...

    def get_params(self, ctx: Context) -> inference_pb2.Params: ...

    def pay_from_escrow(
        self, ctx: Context, job: inference_pb2.Job, recipient: bytes, amount: int, denom: str
    ) -> None: ...

    def refund_escrow(self, ctx: Context, job: inference_pb2.Job) -> int: ...

    def expire_job(self, ctx: Context, job: inference_pb2.Job, reason: str) -> None: ...


class WorkersKeeper(Protocol):
    """Stake, reputation and runtime of workers (the workers module)."""

    def get_worker(self, ctx: Context, operator: bytes) -> workers_pb2.Worker | None: ...

    def record_commit_speed(
        self, ctx: Context, operator: bytes, blocks_after_assignment: int, window_blocks: int
    ) -> None:
        """Fold a commit's latency into the worker's measured speed (placement only)."""
        ...

    def slash(self, ctx: Context, operator: bytes, fraction: str, reason: str) -> int:
        """Burn floor(stake x fraction); returns the amount burned."""
        ...

    def adjust_reputation(
        self, ctx: Context, operator: bytes, numerator: int, denominator: int
    ) -> int:
        """reputation := clamp(reputation x numerator // denominator); returns the new value."""
        ...


class BankKeeper(Protocol):
    """Balances (the bank module): the audit hold is a module account."""

    def send_coins_from_module(
        self, ctx: Context, module: str, recipient: bytes, coins: Sequence[Coin]
    ) -> None: ...

    def get_balance(self, ctx: Context, address: bytes, denom: str) -> int: ...


class StakingKeeper(Protocol):
    """Validators (the staking module): a verification reward goes to the operator account of
    the validator that signed the vote extension."""

    def get_operator_by_consensus(self, ctx: Context, consensus_address: bytes) -> bytes | None: ...


class BeaconKeeper(Protocol):
    """The randomness beacon (modules/beacon)."""

    def get_randomness(self, ctx: Context, height: int) -> bytes | None:
        """Randomness revealed after block ``height`` was fixed (None: not yet revealed)."""
        ...


class ModelsKeeper(Protocol):
    """Registered models (modules/models): a model's calibrated verifier tolerances bound the
    divergence rule for its jobs (settlement.py)."""

    def get_model(self, ctx: Context, model_id: str) -> models_pb2.Model | None: ...
