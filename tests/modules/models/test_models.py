"""models: registration checks every field, only the owner updates or retires, ids stay taken."""

from __future__ import annotations

import hashlib

import chain.pb  # noqa: F401

import pytest

from infera.base.v1 import pagination_pb2
from infera.models.v1 import query_pb2, tx_pb2, types_pb2
from modules.models.logic import compute_merkle_root, compute_span_commitment
from tests.modules.serving import commitments, fails, ok, query, query_error, register_model_msg

MODEL = "/infera.models.v1.Query/Model"
MODELS = "/infera.models.v1.Query/Models"


def get_model(node, model_id="m"):
    return query(
        node, MODEL, query_pb2.QueryModelRequest(id=model_id), query_pb2.QueryModelResponse
    ).model


def test_register_model_stores_every_field_and_canonical_price(node):
    owner = node.keys[0]
    result = ok(node, owner, register_model_msg(owner, price_per_token="0.50", min_redundancy=2))
    model = get_model(node)
    assert (model.owner, model.family, model.num_layers, model.bytes_per_layer) == (
        owner.bech32,
        "llama",
        8,
        100,
    )
    assert list(model.layer_commitments) == commitments(8, "m")
    assert model.weights_root == compute_merkle_root(commitments(8, "m"))
    assert (model.price_per_token, model.min_redundancy, model.retired) == ("0.5", 2, False)
    assert model.registered_height == node.height
    event = next(e for e in result.events if e.type == "register_model")
    assert {(a.key, a.value, a.index) for a in event.attributes} >= {
        ("model_id", "m", True),
        ("owner", owner.bech32, True),
    }


@pytest.mark.parametrize(
    ("fields", "code", "text"),
    [
        ({"id": "Big"}, 2, "model id"),
        ({"id": ""}, 2, "model id"),
        ({"id": "a/b"}, 2, "model id"),
        ({"id": "x" * 65}, 2, "model id"),
        ({"family": "t5"}, 3, "unknown model family"),
        (
            {"num_layers": 0, "layer_commitments": [], "weights_root": compute_merkle_root([])},
            4,
            "0 layers",
        ),
        ({"layer_commitments": commitments(7, "m")}, 5, "7 layer commitments for 8 layers"),
        (
            {"layer_commitments": [b"\x01" * 31] + commitments(7, "m")},
            5,
            "layer 0 commitment has 31 bytes",
        ),
        ({"weights_root": b"\x00" * 32}, 6, "weights root does not match"),
        ({"bytes_per_layer": 0}, 7, "bytes per layer"),
        ({"tokenizer_hash": b"\x00" * 31}, 8, "tokenizer hash"),
        ({"dtype": "int8"}, 9, "dtype"),
        ({"price_per_token": "abc"}, 10, "price"),
        ({"price_per_token": "-1"}, 10, "price"),
        ({"price_per_token": "1e3"}, 10, "price"),
        ({"min_redundancy": 0}, 11, "min redundancy 0"),
        ({"min_redundancy": 17}, 11, "min redundancy 17"),
        ({"zk_verifying_key_ref": "k" * 257}, 12, "zk verifying key"),
        ({"config_hash": b"\x00" * 5}, 5, "config_hash must be empty or 32 bytes"),
    ],
)
def test_register_model_rejects_each_invalid_field(node, fields, code, text):
    owner = node.keys[0]
    log = fails(node, owner, register_model_msg(owner, **fields), "models", code)
    assert text in log
    assert query_error(node, MODEL, query_pb2.QueryModelRequest(id="m")) == ("models", 14)


def test_register_model_rejects_too_many_layers(node):
    owner = node.keys[0]
    log = fails(node, owner, register_model_msg(owner, num_layers=513), "models", 4)
    assert "513 layers, expected 1..512" in log


def test_register_model_accepts_the_largest_model(node):
    owner = node.keys[0]
    ok(node, owner, register_model_msg(owner, num_layers=512))
    assert get_model(node).num_layers == 512


def test_register_model_rejects_a_taken_id_even_when_retired(node):
    owner, other = node.keys[0], node.keys[1]
    ok(node, owner, register_model_msg(owner))
    fails(node, other, register_model_msg(other), "models", 13)
    ok(node, owner, tx_pb2.MsgRetireModel(owner=owner.bech32, id="m"))
    fails(node, owner, register_model_msg(owner), "models", 13)


def test_update_model_by_owner_changes_price_and_redundancy(node):
    owner = node.keys[0]
    ok(node, owner, register_model_msg(owner))
    ok(node, owner, tx_pb2.MsgUpdateModel(owner=owner.bech32, id="m", price_per_token="2.000"))
    assert (get_model(node).price_per_token, get_model(node).min_redundancy) == ("2", 1)
    ok(node, owner, tx_pb2.MsgUpdateModel(owner=owner.bech32, id="m", min_redundancy=3))
    assert (get_model(node).price_per_token, get_model(node).min_redundancy) == ("2", 3)


@pytest.mark.parametrize(
    ("signer_index", "fields", "code"),
    [
        (1, {"price_per_token": "1"}, 15),  # not the owner
        (0, {}, 17),  # nothing to update
        (0, {"price_per_token": "1.2.3"}, 10),
        (0, {"min_redundancy": 99}, 11),
        (0, {"id": "unknown", "price_per_token": "1"}, 14),
    ],
)
def test_update_model_rejects(node, signer_index, fields, code):
    owner, signer = node.keys[0], node.keys[signer_index]
    ok(node, owner, register_model_msg(owner))
    msg = tx_pb2.MsgUpdateModel(owner=signer.bech32, **{"id": "m", **fields})
    fails(node, signer, msg, "models", code)
    assert get_model(node).price_per_token == "0.5"


def test_update_model_rejects_a_retired_model(node):
    owner = node.keys[0]
    ok(node, owner, register_model_msg(owner))
    ok(node, owner, tx_pb2.MsgRetireModel(owner=owner.bech32, id="m"))
    fails(
        node,
        owner,
        tx_pb2.MsgUpdateModel(owner=owner.bech32, id="m", price_per_token="1"),
        "models",
        16,
    )


def test_retire_model_is_owner_only_and_final(node):
    owner, other = node.keys[0], node.keys[1]
    ok(node, owner, register_model_msg(owner))
    fails(node, other, tx_pb2.MsgRetireModel(owner=other.bech32, id="m"), "models", 15)
    assert not get_model(node).retired
    ok(node, owner, tx_pb2.MsgRetireModel(owner=owner.bech32, id="m"))
    assert get_model(node).retired and get_model(node).retired_height == node.height
    fails(node, owner, tx_pb2.MsgRetireModel(owner=owner.bech32, id="m"), "models", 16)
    fails(node, owner, tx_pb2.MsgRetireModel(owner=owner.bech32, id="nope"), "models", 14)


def test_models_are_listed_in_id_order_page_by_page(node):
    owner = node.keys[0]
    for model_id in ("c", "a", "b"):
        ok(node, owner, register_model_msg(owner, model_id=model_id, num_layers=2))
    request = query_pb2.QueryModelsRequest(pagination=pagination_pb2.PageRequest(limit=2))
    first = query(node, MODELS, request, query_pb2.QueryModelsResponse)
    assert [m.id for m in first.models] == ["a", "b"] and first.pagination.next_key == b"c"
    request.pagination.key = first.pagination.next_key
    second = query(node, MODELS, request, query_pb2.QueryModelsResponse)
    assert [m.id for m in second.models] == ["c"] and second.pagination.next_key == b""


def test_params_query_returns_defaults(node):
    res = query(
        node,
        "/infera.models.v1.Query/Params",
        query_pb2.QueryParamsRequest(),
        query_pb2.QueryParamsResponse,
    )
    assert (res.params.max_layers, res.params.max_min_redundancy) == (512, 16)


# -- the weights root ------------------------------------------------------------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_merkle_root_follows_rfc6962():
    a, b, c = (bytes([i]) * 32 for i in (1, 2, 3))
    leaf = lambda d: _h(b"\x00" + d)  # noqa: E731
    node_ = lambda left, right: _h(b"\x01" + left + right)  # noqa: E731
    assert compute_merkle_root([]) == _h(b"")
    assert compute_merkle_root([a]) == leaf(a)
    assert compute_merkle_root([a, b]) == node_(leaf(a), leaf(b))
    assert compute_merkle_root([a, b, c]) == node_(node_(leaf(a), leaf(b)), leaf(c))


def test_merkle_root_matches_the_worker_side():
    worker_models = pytest.importorskip("inference_worker.models")
    for count in (1, 2, 3, 5, 8, 13, 32):
        leaves = commitments(count, "x")
        assert compute_merkle_root(leaves) == worker_models.merkle_root(leaves)


def test_span_commitment_matches_the_worker_side():
    worker_models = pytest.importorskip("inference_worker.models")
    leaves = commitments(4, "s")
    config, embed, head = _h(b"config"), _h(b"embed"), _h(b"head")
    manifest = worker_models.Manifest(
        name="t",
        family="llama",
        model_type="llama",
        num_layers=4,
        hidden_size=8,
        vocab_size=16,
        dtype="float32",
        config_hash=config.hex(),
        tokenizer_hash=_h(b"t").hex(),
        embed_commitment=embed.hex(),
        head_commitment=head.hex(),
        layer_commitments=tuple(x.hex() for x in leaves),
        weights_root=compute_merkle_root(leaves).hex(),
    )
    model = types_pb2.Model(
        num_layers=4,
        layer_commitments=leaves,
        config_hash=config,
        embed_commitment=embed,
        head_commitment=head,
    )
    for start, end in ((0, 4), (0, 1), (1, 3), (3, 4)):
        expected = worker_models.span_commitment(manifest, start, end)
        assert compute_span_commitment(model, start, end).hex() == expected
    assert compute_span_commitment(types_pb2.Model(num_layers=4), 0, 4) is None
