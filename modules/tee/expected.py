"""What tee needs from other modules (wired in chain/wiring.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import chain.pb  # noqa: F401

from chain.context import Context
from infera.models.v1 import types_pb2 as models_pb2
from infera.workers.v1 import types_pb2 as workers_pb2


class ModelsKeeper(Protocol):
    def get_model(self, ctx: Context, model_id: str) -> models_pb2.Model | None: ...


class WorkersKeeper(Protocol):
    """The workers keeper; the route filter (routing.py) passes every method through."""

    def get_worker(self, ctx: Context, operator: bytes) -> workers_pb2.Worker | None: ...

    def is_active(self, ctx: Context, operator: bytes) -> bool: ...

    def get_stake(self, ctx: Context, operator: bytes) -> int: ...

    def get_reputation(self, ctx: Context, operator: bytes) -> int: ...

    def iterate_model_spans(
        self, ctx: Context, model_id: str
    ) -> Iterator[tuple[bytes, int, int]]: ...
