"""tee messages: a worker's operator attests, a model owner sets the model's TEE requirement."""

from __future__ import annotations

import chain.pb  # noqa: F401

import structlog

from chain import crypto
from chain.context import Context
from chain.errors import ErrorKind
from chain.events import attr
from infera.tee.v1 import tx_pb2, types_pb2
from modules.tee import events, logic
from modules.tee.errors import (
    ErrBadChain,
    ErrBadEpoch,
    ErrBadSignature,
    ErrCollateralExpired,
    ErrDebugGuest,
    ErrInvalidRequirement,
    ErrMalformed,
    ErrMeasurementNotAllowed,
    ErrModelNotFound,
    ErrNotModelOwner,
    ErrNotYetValid,
    ErrTcbNotAllowed,
    ErrTcbUnknown,
    ErrTooLarge,
    ErrTypeNotAllowed,
    ErrVerifierFault,
    ErrWorkerNotFound,
    ErrWrongReportData,
    ErrWrongRoot,
)
from modules.tee.keeper import TeeKeeper
from modules.tee.params import MAX_MEASUREMENTS
from modules.tee.verdict import Evidence, Failure, Verdict
from modules.tee.verifiers.registry import VERIFIERS

log = structlog.get_logger(__name__)
T = types_pb2
FAILURES: dict[Failure, ErrorKind] = {
    Failure.MALFORMED: ErrMalformed,
    Failure.BAD_SIGNATURE: ErrBadSignature,
    Failure.BAD_CHAIN: ErrBadChain,
    Failure.WRONG_ROOT: ErrWrongRoot,
    Failure.EXPIRED: ErrCollateralExpired,
    Failure.NOT_YET_VALID: ErrNotYetValid,
    Failure.TCB_UNKNOWN: ErrTcbUnknown,
}


def attest(ctx: Context, keeper: TeeKeeper, msg: tx_pb2.MsgAttest) -> tx_pb2.MsgAttestResponse:
    """Verify a worker's TEE report at block time and store it as the worker's attestation.

    Gas (per type, plus per byte) is charged before any parsing, after the size limits. Fails
    when: the operator address is malformed; a field is over its size limit; the type is not in
    allowed_types (INSECURE_TEST also needs test_network); the operator has no worker; the
    epoch is after the current one or its attestation would already be expired; the vendor
    verifier fails (malformed, signature, chain, root, expired / not yet valid collateral,
    unknown TCB: one code each); the TCB status, an advisory or the SNP TCB is refused; the TEE
    runs in debug mode; the measurement is in neither the network's nor any model's allowlist;
    report_data is not the binding of (chain id, epoch, worker key, operator).
    """
    # verify
    operator = crypto.from_bech32(msg.operator)
    params = keeper.get_params(ctx)
    _check_sizes(msg, params)
    if msg.tee_type not in params.allowed_types or msg.tee_type not in VERIFIERS:
        raise ErrTypeNotAllowed(str(msg.tee_type))
    if msg.tee_type == T.TEE_TYPE_INSECURE_TEST and not params.test_network:
        raise ErrTypeNotAllowed("INSECURE_TEST on a chain that is not a test network")
    ctx.gas.consume(_gas(msg, params), "tee: attestation verification")
    # load
    worker = keeper.workers.get_worker(ctx, operator)
    time_s = ctx.block.time_ns // 1_000_000_000
    # check
    if worker is None:
        raise ErrWorkerNotFound(msg.operator)
    expires_height = logic.compute_expires_height(msg.epoch, params)
    current = logic.compute_epoch(ctx.block.height, params.epoch_blocks)
    if msg.epoch > current or expires_height <= ctx.block.height:
        raise ErrBadEpoch(f"epoch {msg.epoch}, current {current}")
    verdict = _verify(msg, keeper, time_s)
    _check_policy(ctx, keeper, msg.tee_type, verdict, params)
    digest = logic.compute_report_data(
        ctx.block.chain_id, msg.epoch, bytes(worker.encryption_pubkey), operator
    )
    if not logic.is_report_data_bound(verdict.report_data, digest):
        raise ErrWrongReportData(f"operator {msg.operator}, epoch {msg.epoch}")
    # mutate
    attestation = T.Attestation(
        operator=msg.operator,
        tee_type=msg.tee_type,
        verifier=verdict.verifier,
        verifier_version=verdict.version,
        tcb_status=verdict.tcb_status,
        advisories=list(verdict.advisories),
        measurement=verdict.measurement,
        report_data=verdict.report_data,
        epoch=msg.epoch,
        encryption_pubkey=bytes(worker.encryption_pubkey),
        height=ctx.block.height,
        expires_height=expires_height,
        expires_time=verdict.not_after_s,
    )
    keeper.set_attestation(ctx, operator, attestation)
    # events
    ctx.events.emit(
        events.ATTEST,
        attr("operator", msg.operator, index=True),
        attr("tee_type", T.TeeType.Name(msg.tee_type)),
        attr("verifier", verdict.verifier),
        attr("verifier_version", verdict.version),
        attr("tcb_status", verdict.tcb_status),
        attr("measurement", verdict.measurement.hex()),
        attr("epoch", msg.epoch),
        attr("expires_height", expires_height),
        attr("expires_time", verdict.not_after_s),
    )
    # respond
    return tx_pb2.MsgAttestResponse(expires_height=expires_height, expires_time=verdict.not_after_s)


def _check_sizes(msg: tx_pb2.MsgAttest, params: types_pb2.Params) -> None:
    limits = (
        ("report", len(msg.report), params.max_report_bytes),
        ("collateral", len(msg.collateral), params.max_collateral_bytes),
        ("cert_chain", len(msg.cert_chain), params.max_cert_chain_bytes),
    )
    for name, size, limit in limits:
        if size > limit:
            raise ErrTooLarge(f"{name} of {size} bytes, limit {limit}")


def _gas(msg: tx_pb2.MsgAttest, params: types_pb2.Params) -> int:
    per_type = {
        T.TEE_TYPE_INTEL_TDX: params.gas_intel,
        T.TEE_TYPE_INTEL_SGX: params.gas_intel,
        T.TEE_TYPE_AMD_SEV_SNP: params.gas_snp,
        T.TEE_TYPE_NVIDIA_CC: params.gas_nvidia,
        T.TEE_TYPE_INSECURE_TEST: params.gas_insecure_test,
    }[msg.tee_type]
    size = len(msg.report) + len(msg.collateral) + len(msg.cert_chain)
    return int(per_type) + int(params.gas_per_byte) * size


def _verify(msg: tx_pb2.MsgAttest, keeper: TeeKeeper, time_s: int) -> Verdict:
    """The vendor verdict at block time; a failure raises its own code."""
    evidence = Evidence(msg.report, msg.collateral, msg.cert_chain)
    try:
        verdict = VERIFIERS[msg.tee_type](evidence, keeper.roots, time_s)
    except Exception as err:  # fault barrier: verifiers never raise (fuzz-tested); if one did,
        # the tx fails with a stable code instead of an ABCI exception
        log.error("tee verifier raised", tee_type=msg.tee_type, error=type(err).__name__)
        raise ErrVerifierFault(type(err).__name__) from None
    if not verdict.ok:
        raise FAILURES[verdict.failure](f"{verdict.verifier} {verdict.version}: {verdict.reason}")
    return verdict


def _check_policy(
    ctx: Context, keeper: TeeKeeper, tee_type: int, verdict: Verdict, params: types_pb2.Params
) -> None:
    """The chain's policy over an authentic report: TCB, debug mode, measurement allowlists."""
    if not logic.is_tcb_allowed(tee_type, verdict, params):
        raise ErrTcbNotAllowed(f"{verdict.tcb_status} {list(verdict.advisories)}")
    if verdict.debug:
        raise ErrDebugGuest(T.TeeType.Name(tee_type))
    measurement = verdict.measurement.hex()
    if measurement not in params.measurements and not keeper.has_model_allowing(ctx, measurement):
        raise ErrMeasurementNotAllowed(measurement[:96])


def set_model_requirement(
    ctx: Context, keeper: TeeKeeper, msg: tx_pb2.MsgSetModelRequirement
) -> tx_pb2.MsgSetModelRequirementResponse:
    """Require TEE-attested workers for a model's jobs (no types: remove the requirement).

    Fails when: the owner address is malformed; the types are not sorted, distinct and in
    allowed_types; the measurements are not sorted, distinct lower-case hex (at most
    MAX_MEASUREMENTS), or are given without types; the model does not exist or is not the
    signer's.
    """
    # verify
    owner = crypto.to_bech32(crypto.from_bech32(msg.owner))
    params = keeper.get_params(ctx)
    types, measurements = list(msg.tee_types), list(msg.measurements)
    if not logic.is_valid_type_list(types, list(params.allowed_types)):
        raise ErrInvalidRequirement(f"tee_types {types}")
    if not logic.is_valid_measurement_list(measurements, MAX_MEASUREMENTS):
        raise ErrInvalidRequirement(f"{len(measurements)} measurements")
    if measurements and not types:
        raise ErrInvalidRequirement("measurements without tee_types")
    # load
    model = keeper.models.get_model(ctx, msg.model_id)
    # check
    if model is None:
        raise ErrModelNotFound(repr(msg.model_id)[:80])
    if model.owner != owner:
        raise ErrNotModelOwner(msg.model_id)
    # mutate
    requirement = T.ModelRequirement(
        model_id=msg.model_id, tee_types=types, measurements=measurements
    )
    keeper.set_requirement(ctx, requirement)
    # events
    ctx.events.emit(
        events.SET_REQUIREMENT,
        attr("model_id", msg.model_id, index=True),
        attr("owner", owner, index=True),
        attr("tee_types", ",".join(T.TeeType.Name(t) for t in types)),
        attr("measurements", len(measurements)),
    )
    # respond
    return tx_pb2.MsgSetModelRequirementResponse()
