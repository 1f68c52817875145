"""gov plain data: what one module hands gov so that MsgUpdateParams can replace its params."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from chain.context import Context


@dataclass(frozen=True)
class ParamsTarget:
    """One module's params: its Params type, its own validation and its keeper's get and set
    (chain/wiring.py builds one per module)."""

    params_class: type[Message]
    validate: Callable[[Context, Any], None]  # raises ValueError (or ChainError) when invalid
    get: Callable[[Context], Message]
    set: Callable[[Context, Any], None]

    @property
    def type_url(self) -> str:
        return "/" + self.params_class.DESCRIPTOR.full_name
