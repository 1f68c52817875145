"""Hypothesis strategies for hostile ABCI input: real signed txs with hostile fields and mutated
bytes, proposals made of them, and requests for every registered query path.

Every protobuf message is generated from its descriptor, so new messages and queries are fuzzed
without a change here. Values lean towards the ones that broke nodes before (issue 12): gas
limits past int64, amounts in non-ASCII digits, ids past one-byte length prefixes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import any_pb2, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import strategies as st

from chain import crypto
from chain.module import Router
from cosmos.base.v1beta1 import coin_pb2
from cosmos.crypto.secp256k1 import keys_pb2 as secp_pb2
from cosmos.tx.signing.v1beta1 import signing_pb2
from cosmos.tx.v1beta1 import tx_pb2
from tests.harness import CHAIN_ID, DENOM, Key

HOSTILE_TEXT = [
    "",
    "0",
    "1",
    "1000",
    "²",
    "١٠٠٠٠",
    "１００",
    "100\n",
    " 100",
    "+1",
    "-1",
    "1_000",
    "0x10",
    "1e3",
    "9" * 79,
    str(2**256),
    str(2**63),
    "0.025",
    "0.025\n",
    DENOM,
    DENOM + "\n",
    "m",
    "m\n",
    "m/x",
    "m" * 65,
    "m" * 256,
    "m" * 3000,
    "\x00",
    "é",
    "𑽐",
    "\u202e",
    "../",
    "infera1",
    "float32",
    "llama",
    "127.0.0.1:9000",
]
HOSTILE_INTS = [0, 1, 2, 7, 255, 256, 2**31 - 1, 2**32 - 1, 2**63 - 1, 2**63, 2**64 - 1]
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def texts(extra: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """Hostile strings, random text and (when given) the chain's own addresses and ids."""
    known = [st.sampled_from(list(extra))] if extra else []
    return st.one_of(*known, st.sampled_from(HOSTILE_TEXT), st.text(max_size=24))


def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    boundary = [v for v in HOSTILE_INTS + [low, high, -1] if low <= v <= high]
    return st.one_of(st.sampled_from(boundary), st.integers(low, high))


def _field(field: FieldDescriptor, depth: int, extra: Sequence[str]) -> st.SearchStrategy:
    if field.type == FieldDescriptor.TYPE_STRING:
        value: st.SearchStrategy = texts(extra)
    elif field.type == FieldDescriptor.TYPE_BYTES:
        value = st.one_of(st.binary(max_size=80), st.binary(min_size=32, max_size=32))
    elif field.type == FieldDescriptor.TYPE_BOOL:
        value = st.booleans()
    elif field.type == FieldDescriptor.TYPE_ENUM:
        value = st.sampled_from([v.number for v in field.enum_type.values])
    elif field.type in _INT_RANGES:
        value = _ints(*_INT_RANGES[field.type])
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        if depth >= 3:
            return st.nothing()
        value = messages(field.message_type, depth + 1, extra)
    else:  # floats never occur in chain messages
        return st.nothing()
    if field.label == FieldDescriptor.LABEL_REPEATED:
        return st.lists(value, max_size=3)
    return value


def messages(
    descriptor: Descriptor, depth: int = 0, extra: Sequence[str] = ()
) -> st.SearchStrategy[Any]:
    """Any message of this type: every field absent or holding a (hostile) value."""
    cls = message_factory.GetMessageClass(descriptor)
    if descriptor.full_name == "google.protobuf.Any":
        return st.builds(
            lambda url, value: any_pb2.Any(type_url=url, value=value),
            texts(),
            st.binary(max_size=64),
        )
    optional = {f.name: _field(f, depth, extra) for f in descriptor.fields}
    return st.fixed_dictionaries({}, optional=optional).map(lambda values: _build(cls, values))


def _build(cls: Any, values: dict[str, Any]) -> Any:
    msg = cls()
    for name, value in values.items():
        field = cls.DESCRIPTOR.fields_by_name[name]
        try:
            if field.label == FieldDescriptor.LABEL_REPEATED:
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    for item in value:
                        getattr(msg, name).add().CopyFrom(item)
                else:
                    getattr(msg, name).extend(value)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(msg, name).CopyFrom(value)
            else:
                setattr(msg, name, value)
        except (TypeError, ValueError):
            continue  # a value protobuf itself refuses cannot be sent either
    return msg


def chain_messages(router: Router, signer: Key, addresses: Sequence[str]) -> st.SearchStrategy:
    """(type URL, message) for every registered message type; signer fields usually name
    ``signer`` so that the signature holds and the handler runs."""

    def one(url: str) -> st.SearchStrategy:
        route = router.msg_route(url)
        extra = [signer.bech32, *addresses]
        return st.tuples(
            st.just(url),
            messages(route.msg_class.DESCRIPTOR, extra=extra),
            st.sampled_from([True, True, True, False]),
        ).map(lambda t: (t[0], _sign_as(t[1], route.signer_fields, signer) if t[2] else t[1]))

    return st.sampled_from(router.msg_type_urls()).flatmap(one)


def _sign_as(msg: Any, signer_fields: Sequence[str], signer: Key) -> Any:
    for field in signer_fields:
        setattr(msg, field, signer.bech32)
    return msg


def bank_send(signer: Key, recipient: str) -> tuple[str, Any]:
    from cosmos.bank.v1beta1 import tx_pb2 as bank_tx

    msg = bank_tx.MsgSend(
        from_address=signer.bech32,
        to_address=recipient,
        amount=[coin_pb2.Coin(denom=DENOM, amount="5")],
    )
    return "/cosmos.bank.v1beta1.MsgSend", msg


def _often(usual: Any, hostile: st.SearchStrategy) -> st.SearchStrategy:
    """``usual`` three times in four, else a draw of ``hostile``: most txs get past decoding
    and the signature, so the checks and handlers behind them are fuzzed too."""
    return st.sampled_from([False, False, False, True]).flatmap(
        lambda mutate: hostile if mutate else st.just(usual)
    )


@st.composite
def hostile_txs(
    draw: Any,
    *,
    router: Router,
    signers: Sequence[Key],
    account_numbers: dict[bytes, int],
    sequences: dict[bytes, int],
) -> bytes:
    """A tx built and signed the way a client does, then given hostile fields and bytes.

    ``sequences`` is read at draw time: callers update it as blocks commit."""
    key = draw(st.sampled_from(list(signers)))
    addresses = [k.bech32 for k in signers]
    msg = st.one_of(chain_messages(router, key, addresses), st.just(bank_send(key, addresses[-1])))
    msgs = draw(st.lists(msg, min_size=1, max_size=3))
    body = tx_pb2.TxBody(memo=draw(_often("", texts())))
    body.timeout_height = draw(_often(0, _ints(0, 2**64 - 1)))
    for url, message in msgs:
        body.messages.add(type_url="/" + url.lstrip("/"), value=message.SerializeToString())
    auth = tx_pb2.AuthInfo(fee=tx_pb2.Fee(gas_limit=draw(_often(400_000, _ints(0, 2**64 - 1)))))
    fees = draw(_often([(DENOM, "20000")], st.lists(st.tuples(texts(), texts()), max_size=3)))
    for denom, amount in fees:
        auth.fee.amount.append(coin_pb2.Coin(denom=denom, amount=amount))
    sequence = sequences.get(key.address, 0)
    info = auth.signer_infos.add(sequence=draw(_often(sequence, _ints(0, 2**64 - 1))))
    info.mode_info.single.mode = draw(
        _often(signing_pb2.SIGN_MODE_DIRECT, st.sampled_from(list(signing_pb2.SignMode.values())))
    )
    info.public_key.Pack(secp_pb2.PubKey(key=key.public), type_url_prefix="/")
    body_bytes, auth_bytes = body.SerializeToString(), auth.SerializeToString()
    doc = tx_pb2.SignDoc(
        body_bytes=body_bytes,
        auth_info_bytes=auth_bytes,
        chain_id=draw(_often(CHAIN_ID, texts())),
        account_number=account_numbers.get(key.address, 0),
    )
    signature = crypto.sign_secp256k1(key.private, doc.SerializeToString())
    signatures = draw(_often([signature], st.lists(st.binary(max_size=70), max_size=3)))
    tx = tx_pb2.TxRaw(body_bytes=body_bytes, auth_info_bytes=auth_bytes, signatures=signatures)
    raw = bytearray(tx.SerializeToString())
    flips = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=3)
    for position, value in draw(_often([], flips)):
        raw[position % len(raw)] = value
    cut = draw(_often(None, st.integers(0, 10**6)))
    return bytes(raw if cut is None else raw[: cut % (len(raw) + 1)])


def tx_lists(txs: st.SearchStrategy[bytes]) -> st.SearchStrategy[list[bytes]]:
    """A proposal's txs: hostile txs and plain garbage."""
    return st.lists(st.one_of(txs, st.binary(max_size=200)), max_size=6)


def queries(router: Router, extra: Sequence[str] = ()) -> st.SearchStrategy[tuple[str, bytes, int]]:
    """(path, request bytes, height) for every registered query path and ``/store/key``."""

    def one(path: str) -> st.SearchStrategy:
        if path == "/store/key":
            data: st.SearchStrategy = st.binary(max_size=1100)
        else:
            cls = router.query_route(path).request_class
            data = st.one_of(
                messages(cls.DESCRIPTOR, extra=extra).map(lambda m: m.SerializeToString()),
                st.binary(max_size=64),
            )
        return st.tuples(st.just(path), data, st.one_of(st.just(0), _ints(-(2**63), 2**63 - 1)))

    return st.sampled_from(router.query_paths() + ["/store/key"]).flatmap(one)
