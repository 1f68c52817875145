"""Property: random and mutated bytes never make a verifier raise (they return a failed verdict)."""

import pathlib

from hypothesis import given, settings
from hypothesis import strategies as st

from modules.tee.roots import PINNED
from modules.tee.verdict import Evidence
from modules.tee.verifiers import registry

V = pathlib.Path(__file__).parent / "vectors"
SEEDS = [
    (V / "intel" / "tdx_quote").read_bytes(),
    bytes.fromhex((V / "amd" / "report_milan.hex").read_text().strip()),
    bytes.fromhex((V / "nvidia" / "hopperAttestationReport.txt").read_text().strip()),
]
CHAINS = [
    b"",
    (V / "amd" / "vcek_milan.der").read_bytes(),
    (V / "nvidia" / "hopperCertChain.txt").read_bytes(),
]
COLLATERAL = (V / "intel" / "tdx_quote_collateral.json").read_bytes()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    base = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        base[draw(st.integers(0, len(base) - 1))] = draw(st.integers(0, 255))
    return bytes(base[: draw(st.integers(0, len(base)))])


@settings(max_examples=60, deadline=None)
@given(
    report=st.one_of(st.binary(max_size=2048), mutated()),
    chain=st.one_of(st.sampled_from(CHAINS), st.binary(max_size=512)),
    collateral=st.sampled_from([b"", COLLATERAL, b"{}", b"\xff"]),
    now=st.integers(0, 2**40),
)
def test_no_verifier_raises(report: bytes, chain: bytes, collateral: bytes, now: int) -> None:
    for verify in registry.VERIFIERS.values():
        verdict = verify(Evidence(report, collateral, chain), PINNED, now)
        assert verdict.ok or verdict.failure > 0
