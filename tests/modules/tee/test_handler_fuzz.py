"""Property: whatever bytes an outsider puts in MsgAttest, the handler only raises ChainError
(a failed tx with a stable code), never anything that would become an ABCI exception."""

from __future__ import annotations

import chain.pb  # noqa: F401

from hypothesis import given, settings
from hypothesis import strategies as st

from chain.errors import ChainError
from chain.gas import GasMeter
from chain.store import CacheStore
from infera.tee.v1 import tx_pb2
from infera.tee.v1 import types_pb2 as T
from modules.tee import msg_server
from tests.modules.tee.fixtures import attest_msg, bound_report, make_keeper, tee_params, vector

KEEPER, _, CTX = make_keeper(tee_params(), time_s=1752833763)
FIELDS = [vector(k) for k in ("tdx", "snp", "nvidia")]
TYPES = [0, 1, 2, 3, 4, 5, 99, 2**31 - 1]


@settings(max_examples=80, deadline=None)
@given(
    operator=st.one_of(st.just(attest_msg("w1").operator), st.text(max_size=60)),
    tee_type=st.sampled_from(TYPES),
    base=st.sampled_from([*FIELDS, {"report": bound_report("w1")}]),
    report=st.one_of(st.none(), st.binary(max_size=1500)),
    collateral=st.one_of(st.none(), st.binary(max_size=300)),
    cert_chain=st.one_of(st.none(), st.binary(max_size=300)),
    epoch=st.one_of(st.integers(0, 3), st.integers(0, 2**64 - 1)),
)
def test_random_attest_messages_never_raise_out_of_the_handler(  # type: ignore[no-untyped-def]
    operator, tee_type, base, report, collateral, cert_chain, epoch
) -> None:
    fields = dict(base)
    for name, value in (("report", report), ("collateral", collateral), ("cert_chain", cert_chain)):
        if value is not None:
            fields[name] = value
    msg = tx_pb2.MsgAttest(operator=operator, tee_type=tee_type, epoch=epoch, **fields)
    ctx = CTX.with_gas(GasMeter(50_000_000))
    ctx.store = CacheStore(CTX.store)
    try:
        msg_server.attest(ctx, KEEPER, msg)
    except ChainError:
        pass


def test_the_fuzzed_handler_accepts_a_good_message() -> None:
    """The property's baseline: the well-formed message it mutates is accepted."""
    ctx = CTX.with_gas(GasMeter(50_000_000))
    ctx.store = CacheStore(CTX.store)
    response = msg_server.attest(ctx, KEEPER, attest_msg("w1", tee_type=T.TEE_TYPE_INSECURE_TEST))
    assert response.expires_height == 30
