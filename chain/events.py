"""Events emitted by messages and blocks, converted once to ABCI events.

An attribute marked ``index=True`` can be searched with CometBFT's ``/tx_search`` (the node indexes
it); every attribute is visible to websocket subscribers. Never emit ``tx.hash``/``tx.height``:
CometBFT adds those itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import chain.pb  # noqa: F401

from tendermint.abci import types_pb2 as abci


@dataclass(frozen=True)
class Attribute:
    key: str
    value: str
    index: bool = False


@dataclass(frozen=True)
class Event:
    type: str
    attributes: tuple[Attribute, ...]

    def to_abci(self) -> abci.Event:
        return abci.Event(
            type=self.type,
            attributes=[
                abci.EventAttribute(key=a.key, value=a.value, index=a.index)
                for a in self.attributes
            ],
        )


@dataclass
class EventManager:
    """Collects events in emission order; a discarded branch discards its events too."""

    events: list[Event] = field(default_factory=list)

    def emit(self, type_: str, *attributes: Attribute) -> None:
        self.events.append(Event(type_, tuple(attributes)))

    def extend(self, other: EventManager) -> None:
        self.events.extend(other.events)

    def to_abci(self) -> list[abci.Event]:
        return [e.to_abci() for e in self.events]


def attr(key: str, value: object, *, index: bool = False) -> Attribute:
    """Shorthand for an attribute; ``value`` is rendered with ``str``."""
    return Attribute(key, str(value), index)
