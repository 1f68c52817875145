"""App wiring: builds every module with the keepers it expects and hands them to the app.

This is the only place that imports modules (Cosmos' app.go). Module order matters: genesis is
loaded, and block hooks run, in this order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chain import crypto
from chain.ante import FEE_COLLECTOR, AnteHandler, SignatureCache
from chain.app import AppOptions, InferaApp
from chain.context import Context
from chain.module import Module, Router
from chain.runner import TxRunner
from chain.store import CommitStore
from chain.upgrades import UpgradeRegistry, registry_from_environment
from modules.agreement import keys as agreement_keys
from modules.agreement import params as agreement_params
from modules.agreement.hooks import RoundHooks
from modules.agreement.keeper import AgreementKeeper
from modules.agreement.module import AgreementModule
from modules.agreement.verdicts import VerdictSource, VerdictVotes
from modules.auth import params as auth_params
from modules.auth.keeper import AccountKeeper
from modules.auth.module import AuthModule
from modules.bank.keeper import BankKeeper
from modules.bank.module import BankModule
from modules.beacon import params as beacon_params
from modules.beacon.keeper import BeaconKeeper
from modules.beacon.module import BeaconModule
from modules.beacon.votes import BeaconVotes
from modules.distribution import keys as distribution_keys
from modules.distribution import params as distribution_params
from modules.distribution.hooks import DistributionHooks
from modules.distribution.keeper import DistributionKeeper
from modules.distribution.module import DistributionModule
from modules.gov import keys as gov_keys
from modules.gov import params as gov_params
from modules.gov.keeper import GovKeeper
from modules.gov.module import GovModule
from modules.gov.types import ParamsTarget
from modules.inference import keys as inference_keys
from modules.inference import params as inference_params
from modules.inference.keeper import InferenceKeeper
from modules.inference.module import InferenceModule
from modules.models import params as models_params
from modules.models.keeper import ModelsKeeper
from modules.models.module import ModelsModule
from modules.sharding import params as sharding_params
from modules.sharding.keeper import ShardingKeeper
from modules.sharding.module import ShardingModule
from modules.slashing import params as slashing_params
from modules.slashing.keeper import SlashingKeeper
from modules.slashing.module import SlashingModule
from modules.staking import keys as staking_keys
from modules.staking import params as staking_params
from modules.staking.delegation import Actions as StakingActions
from modules.staking.keeper import StakingKeeper
from modules.staking.module import StakingModule
from modules.tee import params as tee_params
from modules.tee.hooks import TeeAttestations, TeeJobPolicy
from modules.tee.keeper import TeeKeeper
from modules.tee.module import TeeModule
from modules.tee.routing import AttestedWorkers
from modules.workers import keys as workers_keys
from modules.workers import params as workers_params
from modules.workers.keeper import WorkersKeeper
from modules.workers.module import WorkersModule
from modules.zk import params as zk_params
from modules.zk.keeper import ZkKeeper
from modules.zk.module import ZkModule

# Module accounts users may not send to with MsgSend.
MODULE_ACCOUNTS = (
    FEE_COLLECTOR,
    staking_keys.BONDED_POOL,
    staking_keys.UNBONDING_POOL,
    distribution_keys.DISTRIBUTION_ACCOUNT,
    workers_keys.BONDED_POOL,
    workers_keys.UNBONDING_POOL,
    inference_keys.ESCROW_ACCOUNT,
    agreement_keys.AUDIT_HOLD_ACCOUNT,
    gov_keys.GOV_MODULE,
)


@dataclass
class Keepers:
    """The keepers the framework itself needs (ante handler, vote-extension checks)."""

    accounts: AccountKeeper
    bank: BankKeeper
    staking: StakingKeeper
    agreement: AgreementKeeper
    beacon: BeaconKeeper
    gov: GovKeeper

    def validator_pubkey(self, ctx: Context, consensus_address: bytes) -> bytes | None:
        """The ed25519 key of the validator with this CometBFT address, if any."""
        operator = self.staking.get_operator_by_consensus(ctx, consensus_address)
        validator = None if operator is None else self.staking.get_validator(ctx, operator)
        return None if validator is None else bytes(validator.consensus_pubkey)


def _params_target(keeper: Any, params_module: Any) -> ParamsTarget:
    """What gov's MsgUpdateParams needs of a module: its Params type, its own validation and
    its keeper's getter and setter."""
    return ParamsTarget(
        params_class=type(params_module.default_params()),
        validate=lambda ctx, params: params_module.validate_params(params),
        get=keeper.get_params,
        set=keeper.set_params,
    )


def _params_change_target(keeper: Any, params_module: Any) -> ParamsTarget:
    """A module whose new params are also checked against its current ones."""
    return ParamsTarget(
        params_class=type(params_module.default_params()),
        validate=lambda ctx, params: params_module.validate_params_change(
            keeper.get_params(ctx), params
        ),
        get=keeper.get_params,
        set=keeper.set_params,
    )


def build_modules(upgrades: UpgradeRegistry | None = None) -> tuple[list[Module], Keepers]:
    accounts = AccountKeeper()
    bank = BankKeeper(accounts, blocked=[crypto.module_address(m) for m in MODULE_ACCOUNTS])
    staking = StakingKeeper(bank)
    models = ModelsKeeper()
    workers = WorkersKeeper(bank, models)
    tee = TeeKeeper(workers, models)
    # sharding sees the workers through the tee route filter: a model with a TEE requirement is
    # routed only to workers with a currently valid attestation (modules/tee/routing.py).
    sharding = ShardingKeeper(AttestedWorkers(workers, tee), models)
    workers.attestations = TeeAttestations(tee)  # the Worker query shows the attestation
    beacon = BeaconKeeper()
    modules: list[Module] = [AuthModule(accounts), BankModule(bank), StakingModule(staking)]
    # distribution pays each block's fees by the last commit; it settles a delegation's rewards
    # around every change of its shares (staking hooks, F1).
    distribution = DistributionKeeper(bank, staking)
    staking.hooks = DistributionHooks(distribution)
    modules.append(DistributionModule(distribution))
    # slashing (liveness) counts the last commit's votes; it jails and slashes through staking.
    slashing = SlashingKeeper(staking, StakingActions(staking))
    modules.append(SlashingModule(slashing))
    modules.append(BeaconModule(beacon, staking))
    modules += [ModelsModule(models), WorkersModule(workers), TeeModule(tee)]
    modules.append(ShardingModule(sharding))
    # inference assigns and expires jobs; agreement runs their commit/reveal rounds (its hooks
    # open the rounds at assignment and tally at the deadline).
    inference = InferenceKeeper(bank, models, sharding, workers)
    agreement = AgreementKeeper(inference, workers, bank, staking)
    inference.beacon = agreement.beacon = beacon  # seeds and audit draws (modules/beacon)
    agreement.models = models  # calibrated tolerances bound the divergence rule (settlement.py)
    inference.set_hooks(RoundHooks(agreement))
    # tee: a TEE-required model takes only sealed jobs; MsgSealPrompt re-checks every hop's
    # attestation and key (modules/tee/hooks.py)
    inference.policy = TeeJobPolicy(tee, workers)
    modules += [InferenceModule(inference), AgreementModule(agreement)]
    # zk settles the jobs of models with a verifying key by a proof (after agreement's rounds).
    zk = ZkKeeper(models, inference)
    modules.append(ZkModule(zk))
    # gov closes ended proposals last; its pre-blocker (the upgrade gate) runs before all.
    gov = GovKeeper(bank, staking, upgrades or registry_from_environment())
    modules.append(GovModule(gov))
    # Modules whose params gov may change: each validates its own (params.validate_params).
    # staking and distribution also refuse changes a running chain cannot take (their
    # params.validate_params_change).
    targets = {
        "auth": (accounts, auth_params),
        "slashing": (slashing, slashing_params),
        "agreement": (agreement, agreement_params),
        "beacon": (beacon, beacon_params),
        "inference": (inference, inference_params),
        "models": (models, models_params),
        "sharding": (sharding, sharding_params),
        "workers": (workers, workers_params),
        "zk": (zk, zk_params),
        "gov": (gov, gov_params),
    }
    for name, (keeper, params_module) in targets.items():
        gov.params_targets[name] = _params_target(keeper, params_module)
    for name, (keeper, params_module) in {
        "staking": (staking, staking_params),
        "distribution": (distribution, distribution_params),
    }.items():
        gov.params_targets[name] = _params_change_target(keeper, params_module)
    gov.params_targets["tee"] = ParamsTarget(  # tee's rules depend on the chain id
        params_class=type(tee_params.default_params()),
        validate=lambda ctx, params: tee_params.validate_params(params, ctx.block.chain_id),
        get=tee.get_params,
        set=tee.set_params,
    )
    keepers = Keepers(
        accounts=accounts, bank=bank, staking=staking, agreement=agreement, beacon=beacon, gov=gov
    )
    return modules, keepers


def build_app(
    store: CommitStore,
    options: AppOptions | None = None,
    verdict_source: VerdictSource | None = None,
    beacon_secret: int | None = None,
    upgrades: UpgradeRegistry | None = None,
) -> InferaApp:
    """The full Infera application over ``store``.

    ``verdict_source`` is this validator's verifier (node-local; see chain/verdict_inbox.py);
    without one the validator abstains from dispute and audit votes. ``beacon_secret`` is its
    BLS secret (node-local, modules/beacon); without one it signs no beacon shares, with one it
    signs from the first height after the chain registers its key (genesis or later).
    ``upgrades`` is this binary's upgrade handlers (chain/upgrades.py; default: the shipped
    ones plus the test plugin of ``INFERA_UNSAFE_UPGRADE_PLUGIN``).
    """
    options = options or AppOptions()
    modules, keepers = build_modules(upgrades)
    router = Router()
    for module in modules:
        router.add_module(module)
    keepers.gov.router = router  # gov checks and runs proposal messages through it
    ante = AnteHandler(accounts=keepers.accounts, bank=keepers.bank, signatures=SignatureCache())
    runner = TxRunner(router=router, ante=ante, max_tx_bytes=options.max_tx_bytes)
    return InferaApp(
        store=store,
        modules=modules,
        runner=runner,
        router=router,
        options=options,
        validator_pubkey=keepers.validator_pubkey,
        vote_extensions=VerdictVotes(keepers.agreement, verdict_source),
        beacon=BeaconVotes(keepers.beacon, beacon_secret, store.latest),  # signs once registered
        pre_blockers=[m.pre_block for m in modules if hasattr(m, "pre_block")],
    )
