"""The owner's side of an EE job (inference_worker/privacy/ee_client.py) and ``infera ee``:
the public id tokenizer, keygen and transform, the round trip through the transformed model as
a worker tokenizes and runs it, and the refusals (bad key file, wrong model, bad ids)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from inference_worker.models import compute_tokenizer_hash, read_manifest
from inference_worker.pipeline.generate import reference_generate
from inference_worker.pipeline.route import PromptTokenizer
from inference_worker.privacy import ee_client
from inference_worker.privacy.ee_client import EEClientError, EEOwner

PROMPT = "Infera says hello"
MAX_NEW = 16


@pytest.fixture(scope="module")
def owner_files(tiny_models, tmp_path_factory) -> dict[str, Path]:
    """A key for the tiny llama, the transformed folder and the owner file."""
    root = tmp_path_factory.mktemp("ee-owner")
    key = root / "owner.key"
    ee_client.keygen(tiny_models["llama"], key, seed=5)
    ee_client.transform_folder(tiny_models["llama"], root / "served", key)
    return {"key": key, "served": root / "served", "plain": tiny_models["llama"]}


# --- the id tokenizer --------------------------------------------------------------------------


def test_id_tokenizer_bytes_are_what_tokenizers_writes_and_depend_on_the_size_only():
    from tokenizers import Tokenizer

    text = ee_client.id_tokenizer_json(300).decode()
    assert Tokenizer.from_str(text).to_str() == text  # the library reads and rewrites it as is
    assert ee_client.id_tokenizer_json(300) == ee_client.id_tokenizer_json(300)
    assert ee_client.id_tokenizer_json(300) != ee_client.id_tokenizer_json(301)


def test_a_worker_tokenizes_decimal_ids_and_nothing_else(owner_files):
    tokenizer = PromptTokenizer(owner_files["served"], 96)
    assert tokenizer.encode(b"17 3 42") == [17, 3, 42]  # no BOS, no EOS added
    assert tokenizer.encode(b" 17\n3  42 ") == [17, 3, 42]
    assert tokenizer.decode([17, 3, 42]) == "17 3 42"
    for junk in (b"hello", b"96", b"017", b"1,2"):  # words, out of range, not canonical
        with pytest.raises(Exception, match="Missing \\[UNK\\]"):
            tokenizer.encode(junk)


def test_the_served_folder_registers_the_id_tokenizer_and_the_transformed_weights(owner_files):
    served, plain = read_manifest(owner_files["served"]), read_manifest(owner_files["plain"])
    assert served.tokenizer_hash == compute_tokenizer_hash(owner_files["served"])
    assert served.tokenizer_hash != plain.tokenizer_hash
    assert served.weights_root != plain.weights_root
    assert not (owner_files["served"] / "ee_key.safetensors").exists()  # the key stays home
    record = json.loads(ee_client.owner_file(owner_files["key"]).read_text())
    assert record["weights_root"] == served.weights_root
    assert Path(record["plain_model"]) == Path(owner_files["plain"]).resolve()
    assert owner_files["key"].stat().st_mode & 0o077 == 0


# --- the round trip ---------------------------------------------------------------------------


def test_round_trip_through_the_served_model_gives_the_plain_models_text(owner_files):
    owner = EEOwner.open(owner_files["key"])
    plain_tok = PromptTokenizer(owner_files["plain"], 96)
    plain_ids = plain_tok.encode(PROMPT.encode())
    want = plain_tok.decode(reference_generate(owner_files["plain"], plain_ids, MAX_NEW))

    prompt = owner.encrypt_prompt(PROMPT)  # what goes on chain
    worker_ids = PromptTokenizer(owner_files["served"], 96).encode(prompt)  # the worker's view
    assert worker_ids == owner.key.encrypt_ids(plain_ids) != plain_ids
    out = reference_generate(owner_files["served"], worker_ids, MAX_NEW)
    assert owner.decrypt_text(out) == want
    assert owner.decrypt_text(ee_client.parse_ids(" ".join(map(str, out)))) == want


def test_parse_ids_accepts_ascii_decimals_only():
    assert ee_client.parse_ids(" 1, 2\n3\t4 ") == [1, 2, 3, 4]
    assert ee_client.parse_ids("") == []
    for bad in ("1;2", "\u0661\u0662", "-1", "1.5", "0x10", "12345678901"):
        with pytest.raises(EEClientError, match="decimal token ids"):
            ee_client.parse_ids(bad)


# --- refusals ---------------------------------------------------------------------------------


def test_bad_key_files_are_refused_with_a_clear_error(owner_files, tmp_path):
    from safetensors.torch import save_file

    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(b"not a key at all")
    with pytest.raises(EEClientError, match="not an EE key file"):
        EEOwner.open(garbage, owner_files["plain"])
    with pytest.raises(EEClientError, match="no such key file"):
        EEOwner.open(tmp_path / "missing.key", owner_files["plain"])
    other = tmp_path / "other.safetensors"  # a safetensors file, but not a key
    save_file({"w": __import__("torch").zeros(2)}, str(other))
    with pytest.raises(EEClientError, match="not an EE key file"):
        EEOwner.open(other, owner_files["plain"])


def test_a_corrupt_permutation_is_refused(owner_files, tmp_path):
    key = ee_client.load_key(owner_files["key"])
    key.vocab_perm[0] = key.vocab_perm[1]  # two plain ids on one ciphertext id
    key.save(tmp_path / "corrupt.key")
    with pytest.raises(EEClientError, match="not a permutation"):
        ee_client.load_key(tmp_path / "corrupt.key")


def test_a_key_for_another_model_is_refused(owner_files, tiny_models, tmp_path):
    with pytest.raises(EEClientError, match="wrong model for this key"):
        ee_client.transform_folder(tiny_models["gpt2"], tmp_path / "x", owner_files["key"])
    with pytest.raises(EEClientError, match="wrong model for this key"):
        EEOwner.open(owner_files["key"], tiny_models["gpt2"])


def test_a_registered_model_of_other_weights_is_refused(owner_files):
    owner = EEOwner.open(owner_files["key"])
    served = read_manifest(owner_files["served"])
    owner.check_registered(SimpleNamespace(weights_root=bytes.fromhex(served.weights_root)), "m")
    plain = read_manifest(owner_files["plain"])
    with pytest.raises(EEClientError, match="wrong model"):
        owner.check_registered(SimpleNamespace(weights_root=bytes.fromhex(plain.weights_root)), "m")
    with pytest.raises(EEClientError, match="not registered"):
        owner.check_registered(None, "m")


def test_ids_outside_the_vocabulary_are_refused(owner_files):
    owner = EEOwner.open(owner_files["key"])
    with pytest.raises(EEClientError, match="not an output of the model"):
        owner.decrypt_text([3, 96])
    with pytest.raises(EEClientError, match="outside this key's vocabulary"):
        owner.encrypt_ids([-1])


def test_a_job_of_another_model_is_refused_before_decryption(owner_files):
    plain = read_manifest(owner_files["plain"])
    job = SimpleNamespace(model_id="plain", state=5, output_hash=b"h")
    client = SimpleNamespace(
        job=lambda job_id: job,
        model=lambda model_id: SimpleNamespace(weights_root=bytes.fromhex(plain.weights_root)),
        job_history=lambda job_id: pytest.fail("read the output of a job of another model"),
    )
    with pytest.raises(EEClientError, match="wrong model"):
        ee_client.ee_job_output(client, 1, EEOwner.open(owner_files["key"]))


# --- the CLI ----------------------------------------------------------------------------------


def _cli(*args: str):
    from typer.testing import CliRunner

    from chain.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_cli_keygen_transform_encrypt_decrypt(tiny_models, tmp_path):
    plain = tiny_models["llama"]
    key, served = tmp_path / "k.key", tmp_path / "served"
    result = _cli("ee", "keygen", "--model", str(plain), "--key", str(key))
    assert result.exit_code == 0, result.output
    assert _cli("ee", "keygen", "--model", str(plain), "--key", str(key)).exit_code == 1
    result = _cli("ee", "transform", "--model", str(plain), "--key", str(key), "--out", str(served))
    assert result.exit_code == 0, result.output
    assert read_manifest(served).weights_root in result.output

    result = _cli("ee", "encrypt", PROMPT, "--key", str(key))
    assert result.exit_code == 0, result.output
    prompt = result.output.strip().encode()
    out = reference_generate(served, PromptTokenizer(served, 96).encode(prompt), MAX_NEW)
    result = _cli("ee", "decrypt", " ".join(map(str, out)), "--key", str(key))
    assert result.exit_code == 0, result.output
    plain_tok = PromptTokenizer(plain, 96)
    want = reference_generate(plain, plain_tok.encode(PROMPT.encode()), MAX_NEW)
    assert result.output == plain_tok.decode(want) + "\n"


def test_cli_refuses_a_bad_key_file_in_one_line(tiny_models, tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_bytes(b"\x00" * 40)
    result = _cli("ee", "encrypt", "hi", "--key", str(bad), "--model", str(tiny_models["llama"]))
    assert result.exit_code == 1
    assert isinstance(result.exception, Exception) and "not an EE key file" in str(result.exception)


# --- keys with the dense parts (ee.generate_full_key) ------------------------------------------


def _greedy_margin(model_dir: Path, ids: list[int], steps: int) -> float:
    """The smallest top-1 minus top-2 logit gap along the plain model's greedy path."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()
    seq, gaps = list(ids), []
    with torch.inference_mode():
        for _ in range(steps):
            logits = model(torch.tensor([seq])).logits[0, -1]  # (vocab,)
            top2 = logits.topk(2).values
            gaps.append(float(top2[0] - top2[1]))
            seq.append(int(logits.argmax()))
    return min(gaps)


def test_a_key_with_every_llama_kind_round_trips_to_the_plain_text(tiny_models, tmp_path):
    plain = tiny_models["llama"]
    key = tmp_path / "full.key"
    made = ee_client.keygen(plain, key, seed=9, kinds=["all"])
    assert set(made.kinds) == {"rotation", "mlp_perm", "mlp_scale", "head_order", "qk_mix",
                               "vo_mix"}  # fmt: skip
    ee_client.transform_folder(plain, tmp_path / "served", key)
    owner = EEOwner.open(key)
    plain_tok = PromptTokenizer(plain, 96)
    plain_ids = plain_tok.encode(PROMPT.encode())
    # dense parts are exact within fp32 rounding (~1e-5 relative, test_ee.py): the greedy path
    # must not pass a near-tie for the comparison to be independent of CPU kernels
    assert _greedy_margin(plain, plain_ids, MAX_NEW) > 1e-3
    want = plain_tok.decode(reference_generate(plain, plain_ids, MAX_NEW))
    served_tok = PromptTokenizer(tmp_path / "served", 96)
    out = reference_generate(tmp_path / "served", served_tok.encode(owner.encrypt_prompt(PROMPT)),
                             MAX_NEW)  # fmt: skip
    assert owner.decrypt_text(out) == want


def test_unknown_or_unfit_key_kinds_are_refused(tiny_models, tmp_path):
    with pytest.raises(EEClientError, match="unknown key kinds"):
        ee_client.keygen(tiny_models["llama"], tmp_path / "k", kinds=["rot"])
    with pytest.raises(EEClientError, match="cannot take"):  # bert: a permutation stream only
        ee_client.keygen(tiny_models["bert"], tmp_path / "k", kinds=["rotation"])
    result = _cli("ee", "keygen", "--model", str(tiny_models["llama"]), "--key",
                  str(tmp_path / "cli.key"), "--kinds", "rotation,mlp_perm")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "rotation" in result.output and "mlp_perm" in result.output
    assert "qk_mix" not in result.output
