"""MsgAttest and MsgSetModelRequirement: the happy path, and every refusal with its own code."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest

from chain import crypto
from chain.errors import ChainError, ErrorKind
from chain.gas import GasMeter
from infera.tee.v1 import tx_pb2
from infera.tee.v1 import types_pb2 as T
from modules.tee import errors, logic, msg_server
from modules.tee.roots import PINNED, Roots, der_of
from tests.modules.tee.fixtures import (
    CHAIN_ID,
    MEASUREMENT,
    OWNER,
    attest_msg,
    bound_report,
    make_keeper,
    operator,
    pubkey,
    tee_params,
    vector,
)

TDX_TIME = 1752833763  # inside the sample collateral's window (tests/modules/tee/vectors)
SGX_TIME = 1752836171
OUTDATED_TIME = 1773917931
SNP_TIME = 1750000000
NV = T.TEE_TYPE_NVIDIA_CC


def refused(kind: ErrorKind, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ChainError) as info:
        call()
    assert (info.value.codespace, info.value.code) == ("tee", kind.code), info.value.log


def test_attest_stores_the_verdict_and_its_expiry() -> None:
    keeper, _, ctx = make_keeper()
    response = msg_server.attest(ctx, keeper, attest_msg("w1"))
    assert (response.expires_height, response.expires_time) == (30, 0)  # (2 + 1) x 10
    stored = keeper.get_attestation(ctx, operator("w1"))
    assert stored is not None
    assert (stored.verifier, stored.verifier_version) == ("insecure-test", "1")
    assert stored.measurement == MEASUREMENT and stored.encryption_pubkey == pubkey("w1")
    assert (stored.epoch, stored.height, stored.expires_height) == (2, 25, 30)
    assert logic.is_valid_at(stored, 29, 0) and not logic.is_valid_at(stored, 30, 0)
    assert [e.type for e in ctx.events.events] == ["tee_attest"]


def test_attest_rejects_wrong_measurement() -> None:
    keeper, _, ctx = make_keeper()
    other = bound_report("w1", measurement=b"\x01" * 48)
    refused(errors.ErrMeasurementNotAllowed, lambda: msg_server.attest(ctx, keeper, attest_msg("w1", report=other)))  # fmt: skip


def test_attest_rejects_wrong_report_data() -> None:
    keeper, _, ctx = make_keeper()
    report = bound_report("w1")[:56] + bytes(64)  # report_data all zero
    refused(errors.ErrWrongReportData, lambda: msg_server.attest(ctx, keeper, attest_msg("w1", report=report)))  # fmt: skip


def test_attest_rejects_replay_by_another_worker() -> None:
    keeper, workers, ctx = make_keeper()
    workers.add("w2")
    stolen = bound_report("w1")  # w1's genuine report, sent by w2's operator
    refused(errors.ErrWrongReportData, lambda: msg_server.attest(ctx, keeper, attest_msg("w2", report=stolen)))  # fmt: skip


def test_attest_rejects_replay_from_another_chain() -> None:
    keeper, _, ctx = make_keeper()
    other_chain = bound_report("w1", chain_id="infera-test-2")
    refused(errors.ErrWrongReportData, lambda: msg_server.attest(ctx, keeper, attest_msg("w1", report=other_chain)))  # fmt: skip


def test_attest_rejects_a_key_change_after_the_report() -> None:
    keeper, workers, ctx = make_keeper()
    workers.workers[operator("w1")].encryption_pubkey = b"\x07" * 32  # re-keyed worker
    refused(errors.ErrWrongReportData, lambda: msg_server.attest(ctx, keeper, attest_msg("w1")))


@pytest.mark.parametrize("epoch", [3, 1, 0, 2**64 - 1])  # future, expired (1 -> 20 <= 25), ...
def test_attest_rejects_future_or_expired_epoch(epoch: int) -> None:
    keeper, _, ctx = make_keeper()
    msg = attest_msg("w1", epoch=epoch, report=bound_report("w1", epoch=epoch % 2**8))
    refused(errors.ErrBadEpoch, lambda: msg_server.attest(ctx, keeper, msg))


def test_attest_rejects_unregistered_operator() -> None:
    keeper, _, ctx = make_keeper()
    refused(errors.ErrWorkerNotFound, lambda: msg_server.attest(ctx, keeper, attest_msg("nobody")))


def test_attest_refuses_insecure_type_where_params_do_not_allow_it() -> None:
    keeper, _, ctx = make_keeper(tee_params(allowed_types=[1, 2, 3, 4], test_network=False))
    refused(errors.ErrTypeNotAllowed, lambda: msg_server.attest(ctx, keeper, attest_msg("w1")))
    refused(errors.ErrTypeNotAllowed, lambda: msg_server.attest(ctx, keeper, attest_msg("w1", tee_type=7)))  # fmt: skip


def test_attest_limits_sizes_before_parsing_and_charges_gas_before_verifying() -> None:
    keeper, _, ctx = make_keeper(tee_params(max_cert_chain_bytes=10))
    big = attest_msg("w1", cert_chain=b"\x00" * 11)
    refused(errors.ErrTooLarge, lambda: msg_server.attest(ctx.with_gas(GasMeter(10**9)), keeper, big))  # fmt: skip
    # a malformed report pays its verification gas: out of gas, not malformed
    junk = attest_msg("w1", report=b"junk")
    with pytest.raises(ChainError) as info:
        msg_server.attest(ctx.with_gas(GasMeter(5_000)), keeper, junk)
    assert (info.value.codespace, info.value.code) == ("sdk", 11)


def _vendor(kind: str, tee_type: int, time_s: int, **params_fields):  # type: ignore[no-untyped-def]
    keeper, _, ctx = make_keeper(tee_params(**params_fields), height=25, time_s=time_s)
    return keeper, ctx, attest_msg("w1", tee_type=tee_type, **vector(kind))


VENDOR = [
    ("tdx", T.TEE_TYPE_INTEL_TDX, TDX_TIME),
    ("sgx", T.TEE_TYPE_INTEL_SGX, SGX_TIME),
    ("snp", T.TEE_TYPE_AMD_SEV_SNP, SNP_TIME),
    ("nvidia", NV, SNP_TIME),
]


@pytest.mark.parametrize(("kind", "tee_type", "time_s"), VENDOR)
def test_vendor_report_is_authentic_but_unlisted_or_unbound(kind, tee_type, time_s) -> None:  # type: ignore[no-untyped-def]
    """A genuine vendor report passes vendor checks, then fails the chain's policy: its
    measurement is not listed (13); once listed, its report_data binds nothing of ours (14)."""
    statuses = ["ConfigurationAndSWHardeningNeeded", "SWHardeningNeeded", "UpToDate"]
    keeper, ctx, msg = _vendor(kind, tee_type, time_s, allowed_intel_tcb_statuses=statuses)
    refused(errors.ErrMeasurementNotAllowed, lambda: msg_server.attest(ctx, keeper, msg))
    verdict = msg_server._verify(msg, keeper, time_s)
    keeper.set_params(ctx, tee_params(allowed_intel_tcb_statuses=statuses, measurements=[verdict.measurement.hex()]))  # fmt: skip
    refused(errors.ErrWrongReportData, lambda: msg_server.attest(ctx, keeper, msg))


def _other_roots() -> Roots:
    """Every pinned root replaced by a certificate from another vendor."""
    amd_ark = PINNED.amd[0][1]
    return Roots(der_of(amd_ark), PINNED.amd[1:], amd_ark)


@pytest.mark.parametrize(("kind", "tee_type", "time_s"), VENDOR)
def test_vendor_report_under_another_root_is_refused(kind, tee_type, time_s) -> None:  # type: ignore[no-untyped-def]
    keeper, _, ctx = make_keeper(roots=_other_roots(), time_s=time_s)
    msg = attest_msg("w1", tee_type=tee_type, **vector(kind))
    refused(errors.ErrWrongRoot, lambda: msg_server.attest(ctx, keeper, msg))


@pytest.mark.parametrize(
    ("kind", "tee_type", "time_s", "kind_of_error"),
    [
        ("tdx", T.TEE_TYPE_INTEL_TDX, TDX_TIME + 400 * 86400, errors.ErrCollateralExpired),
        ("sgx", T.TEE_TYPE_INTEL_SGX, SGX_TIME + 400 * 86400, errors.ErrCollateralExpired),
        ("snp", T.TEE_TYPE_AMD_SEV_SNP, SNP_TIME + 20 * 365 * 86400, errors.ErrCollateralExpired),
        ("nvidia", NV, 1000, errors.ErrNotYetValid),  # its chain runs to 9999: only too early
        ("tdx_outdated", T.TEE_TYPE_INTEL_TDX, OUTDATED_TIME, errors.ErrTcbUnknown),
    ],
)
def test_vendor_report_out_of_its_validity_is_refused(
    kind, tee_type, time_s, kind_of_error
) -> None:  # type: ignore[no-untyped-def]
    keeper, _, ctx = make_keeper(time_s=time_s)
    msg = attest_msg("w1", tee_type=tee_type, **vector(kind))
    refused(kind_of_error, lambda: msg_server.attest(ctx, keeper, msg))


@pytest.mark.parametrize(("kind", "tee_type", "time_s"), VENDOR)
def test_vendor_report_with_a_flipped_byte_is_refused(kind, tee_type, time_s) -> None:  # type: ignore[no-untyped-def]
    keeper, _, ctx = make_keeper(time_s=time_s)
    fields = vector(kind)
    report = bytearray(fields["report"])
    report[{"tdx": 100, "sgx": 100, "snp": 21, "nvidia": 60}[kind]] ^= 1
    msg = attest_msg("w1", tee_type=tee_type, **{**fields, "report": bytes(report)})
    refused(errors.ErrBadSignature, lambda: msg_server.attest(ctx, keeper, msg))


def test_intel_tcb_policy_refuses_status_and_advisory() -> None:
    keeper, _, ctx = make_keeper(time_s=SGX_TIME)  # default statuses: UpToDate, SWHardeningNeeded
    msg = attest_msg("w1", tee_type=T.TEE_TYPE_INTEL_SGX, **vector("sgx"))
    refused(errors.ErrTcbNotAllowed, lambda: msg_server.attest(ctx, keeper, msg))
    keeper.set_params(ctx, tee_params(allowed_intel_tcb_statuses=["ConfigurationAndSWHardeningNeeded"], refused_intel_advisories=["INTEL-SA-00615"]))  # fmt: skip
    refused(errors.ErrTcbNotAllowed, lambda: msg_server.attest(ctx, keeper, msg))


def test_snp_tcb_floor_refuses_an_older_microcode() -> None:
    keeper, _, ctx = make_keeper(tee_params(min_snp_microcode=116), time_s=SNP_TIME)  # it has 115
    msg = attest_msg("w1", tee_type=T.TEE_TYPE_AMD_SEV_SNP, **vector("snp"))
    refused(errors.ErrTcbNotAllowed, lambda: msg_server.attest(ctx, keeper, msg))


def _requirement(**fields) -> tx_pb2.MsgSetModelRequirement:  # type: ignore[no-untyped-def]
    values = {"owner": OWNER, "model_id": "m", "tee_types": [T.TEE_TYPE_INSECURE_TEST]}
    values.update(fields)
    return tx_pb2.MsgSetModelRequirement(**values)


def test_set_model_requirement_and_its_measurement_admits_attestations() -> None:
    keeper, _, ctx = make_keeper(tee_params(measurements=[]))
    refused(errors.ErrMeasurementNotAllowed, lambda: msg_server.attest(ctx, keeper, attest_msg("w1")))  # fmt: skip
    msg_server.set_model_requirement(ctx, keeper, _requirement(measurements=[MEASUREMENT.hex()]))
    assert keeper.get_requirement(ctx, "m") is not None
    msg_server.attest(ctx, keeper, attest_msg("w1"))  # now some model allows the measurement
    msg_server.set_model_requirement(ctx, keeper, _requirement(tee_types=[]))  # removal
    assert keeper.get_requirement(ctx, "m") is None
    assert not keeper.has_model_allowing(ctx, MEASUREMENT.hex())


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"owner": crypto.to_bech32(b"\x01" * 20)}, errors.ErrNotModelOwner),
        ({"model_id": "nope"}, errors.ErrModelNotFound),
        ({"tee_types": [99, 1]}, errors.ErrInvalidRequirement),  # unsorted
        ({"tee_types": [1, 1]}, errors.ErrInvalidRequirement),  # repeated
        ({"tee_types": [5]}, errors.ErrInvalidRequirement),  # unknown
        ({"measurements": ["AB"]}, errors.ErrInvalidRequirement),  # upper-case hex
        ({"measurements": ["bb", "aa"]}, errors.ErrInvalidRequirement),  # unsorted
        ({"tee_types": [], "measurements": ["aa"]}, errors.ErrInvalidRequirement),
    ],
)
def test_set_model_requirement_refusals(fields, kind) -> None:  # type: ignore[no-untyped-def]
    keeper, _, ctx = make_keeper()
    refused(kind, lambda: msg_server.set_model_requirement(ctx, keeper, _requirement(**fields)))


def test_chain_id_binding_uses_the_block_chain_id() -> None:
    keeper, _, ctx = make_keeper(chain_id="infera-test-2")
    msg_server.attest(ctx, keeper, attest_msg("w1", report=bound_report("w1", chain_id="infera-test-2")))  # fmt: skip
    assert CHAIN_ID != "infera-test-2"
