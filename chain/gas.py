"""Gas: a meter per transaction and the costs of store access and signature checks.

Gas is an integer. Costs follow the Cosmos SDK's KVGasConfig and auth params so that gas figures
feel familiar to Cosmos users.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from chain.errors import ErrOutOfGas
from chain.store import KVStore

INFINITE_GAS = 2**63 - 1


@dataclass(frozen=True)
class GasConfig:
    """Gas charged for store access (units: gas)."""

    has_cost: int = 1000  # per existence check
    read_cost_flat: int = 1000  # per read
    read_cost_per_byte: int = 3  # per byte of value read
    write_cost_flat: int = 2000  # per write or delete
    write_cost_per_byte: int = 30  # per byte of key + value written
    iter_next_cost_flat: int = 30  # per item iterated


KV_GAS = GasConfig()


class GasMeter:
    """Counts gas used against a limit; exceeding the limit raises out-of-gas in Cosmos format."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.consumed = 0

    def consume(self, amount: int, descriptor: str) -> None:
        """Add ``amount``; raise ``ErrOutOfGas`` (code 11) once the limit is passed."""
        self.consumed += amount
        if self.consumed > self.limit:
            raise ErrOutOfGas(
                f"out of gas in location: {descriptor}; "
                f"gasWanted: {self.limit}, gasUsed: {self.consumed}"
            )

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.consumed)


class GasKVStore:
    """A KVStore wrapper charging every access to a gas meter."""

    def __init__(self, parent: KVStore, meter: GasMeter, config: GasConfig = KV_GAS) -> None:
        self.parent = parent
        self._meter = meter
        self._config = config

    def get(self, key: bytes) -> bytes | None:
        self._meter.consume(self._config.read_cost_flat, "ReadFlat")
        value = self.parent.get(key)
        if value is not None:
            self._meter.consume(self._config.read_cost_per_byte * len(value), "ReadPerByte")
        return value

    def set(self, key: bytes, value: bytes) -> None:
        self._meter.consume(self._config.write_cost_flat, "WriteFlat")
        self._meter.consume(
            self._config.write_cost_per_byte * (len(key) + len(value)), "WritePerByte"
        )
        self.parent.set(key, value)

    def delete(self, key: bytes) -> None:
        self._meter.consume(self._config.write_cost_flat, "Delete")
        self.parent.delete(key)

    def iterate(
        self, start: bytes, end: bytes | None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self.parent.iterate(start, end, reverse):
            self._meter.consume(self._config.iter_next_cost_flat, "IterNextFlat")
            self._meter.consume(self._config.read_cost_per_byte * len(value), "ValuePerByte")
            yield key, value
