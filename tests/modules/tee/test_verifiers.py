"""Vendor vectors verify (or fail) as the vendor tools say; tampers fail with their own failure."""

import pathlib

from modules.tee.roots import PINNED, Roots
from modules.tee.verdict import Evidence, Failure
from modules.tee.verifiers import intel, nvidia, snp

V = pathlib.Path(__file__).parent / "vectors"
TDX_TIME = 1752833763  # inside the sample collateral's window
SNP_TIME = 1750000000


def _intel(name: str) -> Evidence:
    return Evidence(
        (V / "intel" / name).read_bytes(), (V / "intel" / f"{name}_collateral.json").read_bytes()
    )


def _snp(report: bytes | None = None) -> Evidence:
    raw = bytes.fromhex((V / "amd" / "report_milan.hex").read_text().strip())
    return Evidence(
        report if report is not None else raw,
        cert_chain=(V / "amd" / "vcek_milan.der").read_bytes(),
    )


def _nvidia() -> Evidence:
    raw = bytes.fromhex((V / "nvidia" / "hopperAttestationReport.txt").read_text().strip())
    return Evidence(raw, cert_chain=(V / "nvidia" / "hopperCertChain.txt").read_bytes())


def test_tdx_sample_is_up_to_date() -> None:
    verdict = intel.verify_tdx(_intel("tdx_quote"), PINNED, TDX_TIME)
    assert verdict.ok and verdict.tcb_status == "UpToDate" and verdict.advisories == ()


def test_sgx_sample_needs_configuration_with_advisories() -> None:
    verdict = intel.verify_sgx(_intel("sgx_quote"), PINNED, 1752836171)
    assert verdict.tcb_status == "ConfigurationAndSWHardeningNeeded"
    assert verdict.advisories == ("INTEL-SA-00289", "INTEL-SA-00615")


def test_tdx_outdated_has_no_tcb_level() -> None:
    assert (
        intel.verify_tdx(_intel("tdx_quote_outdated"), PINNED, 1773917931).failure
        == Failure.TCB_UNKNOWN
    )


def test_tdx_rejects_flipped_byte_and_late_time() -> None:
    evidence = _intel("tdx_quote")
    flipped = bytearray(evidence.report)
    flipped[100] ^= 1
    tampered = Evidence(bytes(flipped), evidence.collateral)
    assert intel.verify_tdx(tampered, PINNED, TDX_TIME).failure == Failure.BAD_SIGNATURE
    assert intel.verify_tdx(evidence, PINNED, TDX_TIME + 400 * 86400).failure == Failure.EXPIRED


def test_snp_milan_report_verifies_and_flip_fails() -> None:
    verdict = snp.verify_snp(_snp(), PINNED, SNP_TIME)
    assert verdict.ok and verdict.snp_tcb == (3, 0, 8, 115) and not verdict.debug
    report = bytearray(_snp().report)
    report[21] ^= 0x80
    assert snp.verify_snp(_snp(bytes(report)), PINNED, SNP_TIME).failure == Failure.BAD_SIGNATURE


def test_snp_rejects_other_root() -> None:
    others = Roots(PINNED.intel_root_der, PINNED.amd[1:], PINNED.nvidia_root)
    assert snp.verify_snp(_snp(), others, SNP_TIME).failure == Failure.WRONG_ROOT


def test_nvidia_hopper_report_verifies_and_flip_fails() -> None:
    evidence = _nvidia()
    assert nvidia.verify_nvidia(evidence, PINNED, SNP_TIME).ok
    flipped = bytearray(evidence.report)
    flipped[60] ^= 1
    tampered = Evidence(bytes(flipped), cert_chain=evidence.cert_chain)
    assert nvidia.verify_nvidia(tampered, PINNED, SNP_TIME).failure == Failure.BAD_SIGNATURE
