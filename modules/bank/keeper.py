"""bank keeper: balances and supply. Amounts are Python ints, stored as decimal strings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from chain import crypto
from chain.context import Context
from chain.errors import ErrInsufficientFunds, ErrInvalidCoins
from chain.events import attr
from chain.store import prefix_end
from chain.tx import Coin
from modules.bank import keys
from modules.bank.errors import ErrBlockedAddress
from modules.bank.expected import AccountKeeper


class BankKeeper:
    def __init__(self, accounts: AccountKeeper, blocked: Iterable[bytes] = ()) -> None:
        self.accounts = accounts
        self.blocked = frozenset(blocked)  # module accounts users may not send to directly

    # -- reads ---------------------------------------------------------------------------------

    def get_balance(self, ctx: Context, address: bytes, denom: str) -> int:
        raw = ctx.store.get(keys.balance_key(address, denom))
        return int(raw) if raw else 0

    def get_all_balances(self, ctx: Context, address: bytes) -> list[Coin]:
        prefix = keys.BALANCE + address
        return [
            Coin(key[len(prefix) :].decode(), int(value))
            for key, value in ctx.store.iterate(prefix, prefix_end(prefix))
        ]

    def get_supply(self, ctx: Context, denom: str) -> int:
        raw = ctx.store.get(keys.supply_key(denom))
        return int(raw) if raw else 0

    def iterate_supply(self, ctx: Context) -> Iterator[Coin]:
        for key, value in ctx.store.iterate(keys.SUPPLY, prefix_end(keys.SUPPLY)):
            yield Coin(key[len(keys.SUPPLY) :].decode(), int(value))

    def iterate_balances(self, ctx: Context) -> Iterator[tuple[bytes, Coin]]:
        """Every (address, coin) in key order (genesis export, invariants)."""
        start = len(keys.BALANCE)
        for key, value in ctx.store.iterate(keys.BALANCE, prefix_end(keys.BALANCE)):
            yield key[start : start + 20], Coin(key[start + 20 :].decode(), int(value))

    # -- writes --------------------------------------------------------------------------------

    def _set_balance(self, ctx: Context, address: bytes, denom: str, amount: int) -> None:
        key = keys.balance_key(address, denom)
        if amount == 0:
            ctx.store.delete(key)
        else:
            ctx.store.set(key, str(amount).encode())

    def _set_supply(self, ctx: Context, denom: str, amount: int) -> None:
        if amount == 0:
            ctx.store.delete(keys.supply_key(denom))
        else:
            ctx.store.set(keys.supply_key(denom), str(amount).encode())

    def subtract_coins(self, ctx: Context, address: bytes, coins: Sequence[Coin]) -> None:
        for coin in coins:
            balance = self.get_balance(ctx, address, coin.denom)
            if balance < coin.amount:
                raise ErrInsufficientFunds(
                    f"spendable balance {balance}{coin.denom} is smaller than {coin.amount}{coin.denom}"
                )
            self._set_balance(ctx, address, coin.denom, balance - coin.amount)
        ctx.events.emit(
            "coin_spent",
            attr("spender", crypto.to_bech32(address), index=True),
            attr("amount", format_coins(coins)),
        )

    def add_coins(self, ctx: Context, address: bytes, coins: Sequence[Coin]) -> None:
        self.accounts.ensure_account(ctx, address)
        for coin in coins:
            if coin.amount < 0:
                raise ErrInvalidCoins(f"negative amount {coin.amount}{coin.denom}")
            self._set_balance(
                ctx, address, coin.denom, self.get_balance(ctx, address, coin.denom) + coin.amount
            )
        ctx.events.emit(
            "coin_received",
            attr("receiver", crypto.to_bech32(address), index=True),
            attr("amount", format_coins(coins)),
        )

    def send_coins(
        self, ctx: Context, sender: bytes, recipient: bytes, coins: Sequence[Coin]
    ) -> None:
        """Move coins between two accounts; creates the recipient's account if needed."""
        self.subtract_coins(ctx, sender, coins)
        self.add_coins(ctx, recipient, coins)
        ctx.events.emit(
            "transfer",
            attr("recipient", crypto.to_bech32(recipient), index=True),
            attr("sender", crypto.to_bech32(sender), index=True),
            attr("amount", format_coins(coins)),
        )

    def send_coins_to_module(
        self, ctx: Context, sender: bytes, module: str, coins: Sequence[Coin]
    ) -> None:
        self.send_coins(ctx, sender, crypto.module_address(module), coins)

    def send_coins_from_module(
        self, ctx: Context, module: str, recipient: bytes, coins: Sequence[Coin]
    ) -> None:
        self.send_coins(ctx, crypto.module_address(module), recipient, coins)

    def send_coins_between_modules(
        self, ctx: Context, sender: str, recipient: str, coins: Sequence[Coin]
    ) -> None:
        self.send_coins(ctx, crypto.module_address(sender), crypto.module_address(recipient), coins)

    def mint_coins(self, ctx: Context, address: bytes, coins: Sequence[Coin]) -> None:
        """Create coins (genesis only in this version): raises balance and supply together."""
        self.add_coins(ctx, address, coins)
        for coin in coins:
            self._set_supply(ctx, coin.denom, self.get_supply(ctx, coin.denom) + coin.amount)

    def burn_coins(self, ctx: Context, module: str, coins: Sequence[Coin]) -> None:
        """Destroy coins held by a module account (slashing): lowers balance and supply."""
        self.subtract_coins(ctx, crypto.module_address(module), coins)
        for coin in coins:
            self._set_supply(ctx, coin.denom, self.get_supply(ctx, coin.denom) - coin.amount)
        ctx.events.emit("burn", attr("burner", module), attr("amount", format_coins(coins)))

    def check_not_blocked(self, address: bytes) -> None:
        if address in self.blocked:
            raise ErrBlockedAddress(f"{crypto.to_bech32(address)} is a module account")


def format_coins(coins: Sequence[Coin]) -> str:
    return ",".join(f"{c.amount}{c.denom}" for c in coins)
