"""The model registration file of ``infera tx models register --file``.

Either the ``manifest.json`` that ``inference_worker/models.py`` writes for a prepared model, or
any JSON object with these keys (hashes as 64 hex characters; command-line options override the
file, and supply what a manifest lacks):

    id                 model id, [a-z0-9._-]{1,64} (default: the manifest's "name")
    family             "llama", "gpt2" or "bert"
    num_layers         layer count
    layer_commitments  one hash per layer, in layer order
    weights_root       RFC 6962 Merkle root over layer_commitments
    tokenizer_hash     hash of the tokenizer files
    dtype              "float32", "float16" or "bfloat16"
    bytes_per_layer    memory one served layer needs, in bytes (not in a manifest)
    price_per_token    uinfera per token, a decimal string such as "0.25" (not in a manifest)
    min_redundancy     fewest routes per job (default 1)
    config_hash, embed_commitment, head_commitment   optional hashes (a manifest has them)
    zk_verifying_key_ref                             optional text

The manifest's informational keys (format, name, model_type, hidden_size, vocab_size, source) are
ignored; any other key is refused, so that a misspelt one is not silently dropped. Only the
shape is checked here: the chain checks the rest (the root against the commitments, the family,
dtype and id rules) and its error says which rule failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chain.cli.common import CLIError

U32 = 2**32 - 1
U64 = 2**64 - 1
HASHES = ("weights_root", "tokenizer_hash", "config_hash", "embed_commitment", "head_commitment")
INTEGERS = {"num_layers": U32, "bytes_per_layer": U64, "min_redundancy": U32}  # field -> maximum
TEXTS = ("id", "family", "dtype", "price_per_token", "zk_verifying_key_ref")
REQUIRED = ("id", "family", "num_layers", "layer_commitments", "weights_root", "tokenizer_hash",
            "dtype", "bytes_per_layer", "price_per_token")  # fmt: skip
FIELDS = {"layer_commitments", *HASHES, *INTEGERS, *TEXTS}
MANIFEST_INFO = {"format", "name", "model_type", "hidden_size", "vocab_size", "source"}


def parse_hash(value: Any, name: str) -> bytes:
    """32 bytes from 64 hex characters; CLIError otherwise."""
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise CLIError(f"{name}: expected 64 hex characters (32 bytes), got {value!r}")
    return raw


def load_registration(path: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of ``Client.register_model`` from the file at ``path`` and the
    command-line ``overrides`` (registration keys; None = not given)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot read registration file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise CLIError(f"{path}: expected a JSON object")
    unknown = sorted(set(data) - FIELDS - MANIFEST_INFO)
    if unknown:
        raise CLIError(f"{path}: unknown field(s) {', '.join(unknown)}")
    fields = {"id": data.get("name"), "min_redundancy": 1}
    fields.update({k: v for k, v in data.items() if k in FIELDS})
    fields.update({k: v for k, v in overrides.items() if v is not None})
    missing = [k for k in REQUIRED if fields.get(k) in (None, "", [])]
    if missing:
        raise CLIError(
            f"{path}: missing {', '.join(missing)} (give them in the file or as options)"
        )
    return _typed(fields)


def _typed(fields: dict[str, Any]) -> dict[str, Any]:
    """Hex to bytes, integers and texts checked, ``id`` renamed to ``model_id``."""
    commitments = fields["layer_commitments"]
    if not isinstance(commitments, list):
        raise CLIError("layer_commitments: expected a list of hashes")
    fields["layer_commitments"] = [
        parse_hash(c, f"layer_commitments[{i}]") for i, c in enumerate(commitments)
    ]
    for name in HASHES:
        fields[name] = parse_hash(fields[name], name) if fields.get(name) else b""
    for name, maximum in INTEGERS.items():
        value = fields[name]
        if type(value) is not int or not 0 < value <= maximum:
            raise CLIError(f"{name}: expected an integer in 1..{maximum}, got {value!r}")
    for name in TEXTS:
        if not isinstance(fields.get(name, ""), str):
            raise CLIError(f"{name}: expected a string, got {fields[name]!r}")
    fields["model_id"] = fields.pop("id")
    return fields
