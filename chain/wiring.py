"""App wiring: builds every module with the keepers it expects and hands them to the app.

This is the only place that imports modules (Cosmos' app.go). Module order matters: genesis is
loaded, and block hooks run, in this order.
"""

from __future__ import annotations

from chain import crypto
from chain.ante import FEE_COLLECTOR, AnteHandler, SignatureCache
from chain.app import AppOptions, InferaApp
from chain.module import Module, Router
from chain.runner import TxRunner
from chain.store import CommitStore
from modules.auth.keeper import AccountKeeper
from modules.auth.module import AuthModule
from modules.bank.keeper import BankKeeper
from modules.bank.module import BankModule
from modules.models.keeper import ModelsKeeper
from modules.models.module import ModelsModule
from modules.sharding.keeper import ShardingKeeper
from modules.sharding.module import ShardingModule
from modules.staking import keys as staking_keys
from modules.staking.keeper import StakingKeeper
from modules.staking.module import StakingModule
from modules.workers import keys as workers_keys
from modules.workers.keeper import WorkersKeeper
from modules.workers.module import WorkersModule

# Module accounts users may not send to with MsgSend.
MODULE_ACCOUNTS = (
    FEE_COLLECTOR,
    staking_keys.BONDED_POOL,
    workers_keys.BONDED_POOL,
    workers_keys.UNBONDING_POOL,
)


def build_modules() -> tuple[list[Module], AccountKeeper, BankKeeper]:
    accounts = AccountKeeper()
    bank = BankKeeper(accounts, blocked=[crypto.module_address(m) for m in MODULE_ACCOUNTS])
    staking = StakingKeeper(bank)
    models = ModelsKeeper()
    workers = WorkersKeeper(bank, models)
    sharding = ShardingKeeper(workers, models)
    modules: list[Module] = [AuthModule(accounts), BankModule(bank), StakingModule(staking)]
    modules += [ModelsModule(models), WorkersModule(workers), ShardingModule(sharding)]
    return modules, accounts, bank


def build_app(store: CommitStore, options: AppOptions | None = None) -> InferaApp:
    """The full Infera application over ``store``."""
    options = options or AppOptions()
    modules, accounts, bank = build_modules()
    router = Router()
    for module in modules:
        router.add_module(module)
    ante = AnteHandler(accounts=accounts, bank=bank, signatures=SignatureCache())
    runner = TxRunner(router=router, ante=ante, max_tx_bytes=options.max_tx_bytes)
    return InferaApp(store=store, modules=modules, runner=runner, router=router, options=options)
