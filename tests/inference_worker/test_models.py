"""Prepared models: manifests, weight commitments, refusal on mismatch, determinism."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from inference_worker.families import UnknownFamilyError, family_names, get_family
from inference_worker.models import (
    MANIFEST_FILE,
    Manifest,
    WeightCommitmentError,
    compute_manifest,
    make_tiny_model,
    merkle_proof,
    merkle_root,
    read_manifest,
    span_commitment,
    stored_tensors,
    verify_merkle_proof,
    verify_shard_weights,
)
from inference_worker.pipeline.shard import load_shard

REPO = Path(__file__).resolve().parents[2]


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def flip_byte(model_dir: Path, tensor_name: str) -> None:
    """Change one byte inside a stored tensor's data."""
    tensor = stored_tensors(model_dir)[tensor_name]
    with tensor.file.open("r+b") as f:
        f.seek(tensor.begin + 5)
        byte = f.read(1)
        f.seek(tensor.begin + 5)
        f.write(bytes([byte[0] ^ 0x01]))


def test_registry_knows_the_three_families():
    assert family_names() == ["bert", "gpt2", "llama"]
    assert get_family("llama").kind == "causal_lm" and get_family("bert").kind == "encoder"
    with pytest.raises(UnknownFamilyError, match="unknown model family 'mamba'"):
        get_family("mamba")


def test_manifest_describes_the_model(tiny_models):
    manifest = read_manifest(tiny_models["llama"])
    assert (manifest.family, manifest.num_layers, manifest.dtype) == ("llama", 5, "float32")
    assert (manifest.hidden_size, manifest.vocab_size) == (64, 96)
    assert len(manifest.layer_commitments) == 5 and len(set(manifest.layer_commitments)) == 5
    leaves = [bytes.fromhex(h) for h in manifest.layer_commitments]
    assert manifest.weights_root == merkle_root(leaves).hex()
    assert Manifest.from_json(manifest.to_json()) == manifest
    # Recomputing from the files gives the stored manifest.
    again = compute_manifest(tiny_models["llama"], name=manifest.name, source=manifest.source)
    assert again == manifest


def test_tokenizer_hash_covers_tokenizer_files(tiny_models, tmp_path):
    model_dir = copy_model(tiny_models["gpt2"], tmp_path / "m")
    before = compute_manifest(model_dir, name="m")
    (model_dir / "tokenizer.json").write_text('{"version": "1.0"}')
    after = compute_manifest(model_dir, name="m")
    assert after.tokenizer_hash != before.tokenizer_hash
    assert after.layer_commitments == before.layer_commitments


def test_layer_commitment_follows_the_documented_encoding(tiny_models):
    model_dir = tiny_models["gpt2"]
    stored = stored_tensors(model_dir)
    digest = hashlib.sha256(b"infera.weights.v1\x00")
    names = sorted((n for n in stored if n.startswith("transformer.h.2.")), key=str.encode)
    for name in names:
        t = stored[name]
        digest.update(len(name).to_bytes(4, "big") + name.encode())
        digest.update(len(t.dtype).to_bytes(1, "big") + t.dtype.encode())
        digest.update(len(t.shape).to_bytes(1, "big"))
        digest.update(b"".join(d.to_bytes(8, "big") for d in t.shape))
        with t.file.open("rb") as f:
            f.seek(t.begin)
            data = f.read(t.end - t.begin)
        digest.update(len(data).to_bytes(8, "big") + data)
    assert read_manifest(model_dir).layer_commitments[2] == digest.hexdigest()


def test_merkle_root_and_proofs_follow_rfc6962():
    leaves = [bytes([i]) * 32 for i in range(7)]
    h = lambda b: hashlib.sha256(b).digest()  # noqa: E731
    leaf = [h(b"\x00" + x) for x in leaves]
    node = lambda a, b: h(b"\x01" + a + b)  # noqa: E731
    # 7 leaves split 4 + 3, the 3 split 2 + 1.
    expected = node(
        node(node(leaf[0], leaf[1]), node(leaf[2], leaf[3])),
        node(node(leaf[4], leaf[5]), leaf[6]),
    )
    assert merkle_root(leaves) == expected
    assert merkle_root([]) == h(b"")
    for n in (1, 2, 3, 5, 8, 30):
        items = [bytes([i]) * 32 for i in range(n)]
        root = merkle_root(items)
        for i in range(n):
            proof = merkle_proof(items, i)
            assert verify_merkle_proof(items[i], i, n, proof, root)
            assert not verify_merkle_proof(b"\xff" * 32, i, n, proof, root)
            if n > 1:
                assert not verify_merkle_proof(items[i], (i + 1) % n, n, proof, root)


def test_span_commitment_binds_span_and_edges(tiny_models):
    manifest = read_manifest(tiny_models["llama"])
    spans = [(0, 2), (2, 5), (1, 2), (2, 3), (0, 5)]
    commitments = {span_commitment(manifest, a, b) for a, b in spans}
    assert len(commitments) == len(spans)
    # The first hop's commitment covers the embedding, the last hop's the head.
    other_embed = replace(manifest, embed_commitment="00" * 32)
    assert span_commitment(other_embed, 0, 2) != span_commitment(manifest, 0, 2)
    assert span_commitment(other_embed, 2, 3) == span_commitment(manifest, 2, 3)
    other_head = replace(manifest, head_commitment="00" * 32)
    assert span_commitment(other_head, 2, 5) != span_commitment(manifest, 2, 5)
    with pytest.raises(ValueError, match="non-empty part"):
        span_commitment(manifest, 3, 3)


def test_verify_shard_weights_accepts_matching_files(tiny_models):
    manifest = read_manifest(tiny_models["llama"])
    for a, b in ((0, 2), (2, 5), (0, 5), (3, 4)):
        got = verify_shard_weights(tiny_models["llama"], a, b, manifest)
        assert got == span_commitment(manifest, a, b)


def test_verify_shard_weights_refuses_a_changed_layer(tiny_models, tmp_path):
    model_dir = copy_model(tiny_models["llama"], tmp_path / "m")
    manifest = read_manifest(model_dir)
    flip_byte(model_dir, "model.layers.3.mlp.up_proj.weight")
    with pytest.raises(WeightCommitmentError, match="layer 3 does not match the manifest"):
        verify_shard_weights(model_dir, 2, 5, manifest)
    with pytest.raises(WeightCommitmentError, match="layer 3"):
        load_shard(model_dir, 3, 4, manifest=manifest)
    # Spans without layer 3 are still served.
    verify_shard_weights(model_dir, 0, 3, manifest)
    load_shard(model_dir, 4, 5, manifest=manifest)


def test_verify_shard_weights_refuses_changed_embedding_and_tied_head(tiny_models, tmp_path):
    model_dir = copy_model(tiny_models["gpt2"], tmp_path / "m")
    manifest = read_manifest(model_dir)
    flip_byte(model_dir, "transformer.wte.weight")  # also the tied LM head
    with pytest.raises(WeightCommitmentError, match="embedding"):
        verify_shard_weights(model_dir, 0, 1, manifest)
    with pytest.raises(WeightCommitmentError, match="head"):
        verify_shard_weights(model_dir, 3, 4, manifest)
    verify_shard_weights(model_dir, 1, 3, manifest)


def test_verify_shard_weights_refuses_a_changed_config(tiny_models, tmp_path):
    model_dir = copy_model(tiny_models["llama"], tmp_path / "m")
    manifest = read_manifest(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    config["rms_norm_eps"] = 1e-5
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightCommitmentError, match="config.json"):
        verify_shard_weights(model_dir, 1, 2, manifest)


def test_verify_shard_weights_refuses_an_inconsistent_manifest(tiny_models):
    manifest = read_manifest(tiny_models["llama"])
    forged = list(manifest.layer_commitments)
    forged[1] = "ab" * 32
    with pytest.raises(WeightCommitmentError, match="weights_root"):
        verify_shard_weights(
            tiny_models["llama"], 0, 2, replace(manifest, layer_commitments=tuple(forged))
        )
    short = replace(manifest, layer_commitments=manifest.layer_commitments[:4])
    with pytest.raises(WeightCommitmentError, match="number of layer commitments"):
        verify_shard_weights(tiny_models["llama"], 0, 2, short)


def test_verify_shard_weights_refuses_another_models_manifest(tiny_models):
    gpt2 = read_manifest(tiny_models["gpt2"])
    with pytest.raises(WeightCommitmentError):
        verify_shard_weights(tiny_models["llama"], 0, 2, gpt2)


@pytest.fixture(scope="module")
def tiny_models_from_another_process(tiny_seed, tmp_path_factory) -> Path:
    """The tiny models made again, in a fresh Python process."""
    root = tmp_path_factory.mktemp("tiny-again")
    code = (
        "import sys; from pathlib import Path; from inference_worker.models import make_tiny_model\n"
        "for family in ('llama', 'gpt2', 'bert'):\n"
        "    make_tiny_model(family, Path(sys.argv[1]) / family, int(sys.argv[2]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-c", code, str(root), str(tiny_seed)], check=True, env=env)
    return root


@pytest.mark.parametrize("family", ["llama", "gpt2", "bert"])
def test_tiny_models_are_bit_identical_across_processes(
    tiny_models, tiny_models_from_another_process, family
):
    other = tiny_models_from_another_process / family
    for name in (MANIFEST_FILE, "model.safetensors", "config.json"):
        assert (other / name).read_bytes() == (tiny_models[family] / name).read_bytes()


def test_tiny_models_differ_by_seed(tiny_models, tmp_path):
    other = read_manifest(make_tiny_model("llama", tmp_path / "b", seed=99))
    mine = read_manifest(tiny_models["llama"])
    assert other.weights_root != mine.weights_root
    assert other.config_hash == mine.config_hash
