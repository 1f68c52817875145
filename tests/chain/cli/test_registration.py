"""The model registration file (chain/cli/registration.py) and the CLI's decoding options."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from chain.cli.common import CLIError
from chain.cli.infera_tx import decoding
from chain.cli.registration import load_registration
from infera.inference.v1 import types_pb2 as inference_types
from inference_worker.models import Manifest, merkle_root

NO_OVERRIDES: dict[str, Any] = {"id": None, "price_per_token": None, "bytes_per_layer": None}


def _manifest(path: Path) -> Manifest:
    layers = [hashlib.sha256(b"%d" % i).digest() for i in range(3)]
    manifest = Manifest(
        name="tiny", family="llama", model_type="llama", num_layers=3, hidden_size=8,
        vocab_size=16, dtype="float32", config_hash="aa" * 32, tokenizer_hash="bb" * 32,
        embed_commitment="cc" * 32, head_commitment="dd" * 32,
        layer_commitments=tuple(h.hex() for h in layers), weights_root=merkle_root(layers).hex(),
    )  # fmt: skip
    path.write_text(manifest.to_json())
    return manifest


def test_manifest_with_price_and_layer_size_options_gives_every_field(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "manifest.json")
    fields = load_registration(
        tmp_path / "manifest.json",
        {**NO_OVERRIDES, "price_per_token": "0.25", "bytes_per_layer": 7},
    )
    assert fields["model_id"] == "tiny" and fields["min_redundancy"] == 1
    assert (fields["price_per_token"], fields["bytes_per_layer"]) == ("0.25", 7)
    assert fields["weights_root"].hex() == manifest.weights_root
    assert [c.hex() for c in fields["layer_commitments"]] == list(manifest.layer_commitments)
    assert fields["head_commitment"] == bytes.fromhex("dd" * 32)


def test_options_override_the_file(tmp_path: Path) -> None:
    _manifest(tmp_path / "manifest.json")
    overrides = {"id": "other", "price_per_token": "3", "bytes_per_layer": 9, "dtype": "float16"}
    fields = load_registration(tmp_path / "manifest.json", overrides)
    assert (fields["model_id"], fields["dtype"]) == ("other", "float16")


def test_manifest_without_price_names_what_is_missing(tmp_path: Path) -> None:
    _manifest(tmp_path / "manifest.json")
    with pytest.raises(CLIError, match="missing bytes_per_layer, price_per_token"):
        load_registration(tmp_path / "manifest.json", NO_OVERRIDES)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown field"),
        ({"weights_root": "abcd"}, "weights_root: expected 64 hex characters"),
        ({"layer_commitments": ["zz"]}, r"layer_commitments\[0\]"),
        ({"num_layers": -1}, "num_layers: expected an integer"),
        ({"family": 7}, "family: expected a string"),
    ],
)
def test_malformed_registration_is_refused(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    _manifest(tmp_path / "manifest.json")
    data = json.loads((tmp_path / "manifest.json").read_text())
    data.update(change, price_per_token="1", bytes_per_layer=1)
    (tmp_path / "reg.json").write_text(json.dumps(data))
    with pytest.raises(CLIError, match=message):
        load_registration(tmp_path / "reg.json", NO_OVERRIDES)


def test_unreadable_file_is_a_cli_error(tmp_path: Path) -> None:
    (tmp_path / "reg.json").write_text("{not json")
    with pytest.raises(CLIError, match="cannot read registration file"):
        load_registration(tmp_path / "reg.json", NO_OVERRIDES)


def test_decoding_options() -> None:
    greedy = decoding(False, "", 0)
    assert greedy.mode == inference_types.DECODING_MODE_GREEDY
    sampled = decoding(True, "0.7", 40)
    assert (sampled.temperature_milli, sampled.top_k) == (700, 40)
    assert decoding(True, "", 0).temperature_milli == 1000
    for bad in ("0", "-1", "0.0005", "nan", "inf", "warm"):
        with pytest.raises(CLIError, match="--temperature"):
            decoding(True, bad, 0)
    with pytest.raises(CLIError, match="need --sample"):
        decoding(False, "0.5", 0)
