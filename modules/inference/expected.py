"""What inference needs from other modules (docs/inference-modules-contract.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import chain.pb  # noqa: F401

from chain.context import Context
from chain.tx import Coin
from infera.inference.v1 import types_pb2
from infera.models.v1 import types_pb2 as models_pb2
from infera.workers.v1 import types_pb2 as workers_pb2


class BankKeeper(Protocol):
    def send_coins_to_module(
        self, ctx: Context, sender: bytes, module: str, coins: Sequence[Coin]
    ) -> None: ...

    def send_coins_from_module(
        self, ctx: Context, module: str, recipient: bytes, coins: Sequence[Coin]
    ) -> None: ...

    def get_balance(self, ctx: Context, address: bytes, denom: str) -> int: ...


class ModelsKeeper(Protocol):
    def get_model(self, ctx: Context, model_id: str) -> models_pb2.Model | None: ...


class WorkersKeeper(Protocol):
    def get_worker(self, ctx: Context, operator: bytes) -> workers_pb2.Worker | None: ...


class Hop(Protocol):
    """One hop of a selected route: the worker serves layers [start, end)."""

    @property
    def operator(self) -> bytes: ...

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


class ShardingKeeper(Protocol):
    def select_job_routes(
        self,
        ctx: Context,
        model_id: str,
        redundancy: int,
        seed: bytes,
        *,
        precision: str = "",
    ) -> tuple[str, Sequence[Sequence[Hop]]]:
        """(precision class, ``redundancy`` disjoint routes of workers of that one class, no
        operator twice), deterministic in (state, seed); the class is
        ``precision`` or the first of the model's classes that works. Raises the sharding
        module's ErrInsufficientCoverage when impossible (metered: gas per candidate)."""
        ...

    def get_operator_route_cap(self, ctx: Context) -> int:
        """Most routes of one model one operator may hold among one block's assignments."""
        ...


class JobHooks(Protocol):
    """What the output-agreement module does at the job's turning points (Cosmos "hooks")."""

    def round_windows(self, ctx: Context, max_new_tokens: int) -> tuple[int, int]:
        """(commit, reveal) window in blocks for a job submitted now; the commit window grows with
        ``max_new_tokens``. Stored on the job at submission."""
        ...

    def open_rounds(self, ctx: Context, job: types_pb2.Job) -> tuple[int, int]:
        """Schedule the rounds of a job just assigned, with its stored windows; returns
        (commit_end, reveal_end)."""
        ...

    def close_rounds(self, ctx: Context, job_id: int) -> None:
        """Tally a job whose deadline came while its rounds were still open; for a DISPUTED
        job still under verification, move its deadline past the verdict window."""
        ...

    def open_disclosed_outputs(
        self, ctx: Context, job: types_pb2.Job, reply_private: bytes, output_key: bytes
    ) -> int:
        """A sealed job was disclosed: open its first hops' sealed outputs with the disclosed
        keys and store the tokens of every stored output they match; returns how many
        outputs were opened (metered: gas per byte opened)."""
        ...

    def penalize_false_contests(
        self, ctx: Context, job: types_pb2.Job, hops: list[tuple[int, int]]
    ) -> None:
        """A disclosure rebuilt these contested (route, hop) boxes: slash them as withholding."""
        ...


class BeaconKeeper(Protocol):
    """The randomness beacon (modules/beacon)."""

    def get_randomness(self, ctx: Context, height: int) -> bytes | None:
        """Randomness revealed after block ``height`` was fixed (None: not yet revealed)."""
        ...


class JobPolicy(Protocol):
    """Rules another module adds to submission and sealing (wired in chain/wiring.py: the tee
    module, modules/tee/hooks.py). Each raises that module's typed error to refuse."""

    def check_submit(self, ctx: Context, model_id: str, privacy: int) -> None:
        """Refuse a job of this privacy mode on this model (a TEE-required model: not sealed)."""
        ...

    def check_seal(self, ctx: Context, job: types_pb2.Job) -> None:
        """Refuse to seal ``job`` now (a TEE-required model: a hop's attestation no longer
        valid or no longer binding the key it registers, which is the key boxes are sealed to)."""
        ...
