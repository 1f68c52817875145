"""The model owner's side of an equivariant-encryption (EE) job on the network.

EE (``ee.py``) bakes a secret vocabulary permutation (and residual-stream transforms) into the
served weights. On the network it runs as an ordinary public job, with no chain or worker change:

* the transformed folder ships a PUBLIC *id tokenizer* instead of the model's own: a
  ``tokenizers`` WordLevel over the decimal strings ``"0"`` .. ``"V-1"`` (V = the config's
  vocab_size) split on whitespace, no normalizer, no special tokens, no post-processor. The
  prompt bytes ``b"17 3 42"`` tokenize to the ids [17, 3, 42], anything else fails to
  tokenize. The file depends on V only, so it says nothing about the key; its hash is the
  tokenizer hash the model registers (``inference_worker.models.compute_tokenizer_hash``);
* the owner tokenizes with the ORIGINAL tokenizer (kept in the plain folder, with its chat
  template and special tokens: the id tokenizer adds none), encrypts the ids with the key and
  submits them as that decimal text (``encrypt_prompt``);
* workers compute on encrypted ids and stop on the encrypted EOS (``transform_model`` maps the
  config's special ids); the chain stores the encrypted output ids; the owner decrypts them and
  decodes with the original tokenizer (``decrypt_text``).

What it does not hide: on public base weights a worker recovers the key from the served
weights in seconds, and with it every prompt (docs/ee-attacks.md, docs/equivariant-encryption.md).

The owner's files: the key (``ee.EEKey.save``) and, written by ``transform_folder`` next to
it, ``KEY.owner.json``: the plain folder (its tokenizer) and the transformed model's weights
root, so a job of another model is refused rather than decrypted to nonsense.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference_worker.privacy import ee

OWNER_FORMAT = "infera.ee-owner.v1"
ID_TOKENIZER_CLASS = "PreTrainedTokenizerFast"  # not the family's: a Llama one would add BOS
_IDS = re.compile(r"[0-9]{1,10}([ \t\n,]+[0-9]{1,10})*")  # decimal ids, ASCII separators
_SEPARATORS = re.compile(r"[ \t\n,]+")


class EEClientError(Exception):
    """A refused owner-side operation (bad key file, wrong model, ids out of range)."""


# --- the public id tokenizer ------------------------------------------------------------------


def id_tokenizer_json(vocab_size: int) -> bytes:
    """``tokenizer.json`` of the public id tokenizer for a vocabulary of `vocab_size` ids
    (the exact bytes ``tokenizers`` 0.23 writes for it, built here so they never vary)."""
    vocab = ",".join(f'"{i}":{i}' for i in range(vocab_size))
    return (
        '{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],'
        '"normalizer":null,"pre_tokenizer":{"type":"WhitespaceSplit"},"post_processor":null,'
        '"decoder":null,"model":{"type":"WordLevel","vocab":{' + vocab + '},"unk_token":"[UNK]"}}'
    ).encode()


def id_tokenizer_config_json() -> bytes:
    """``tokenizer_config.json``: the generic fast class, no special tokens, no cleanup."""
    config = {
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1 << 30,
        "tokenizer_class": ID_TOKENIZER_CLASS,
    }
    return (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()


def write_id_tokenizer(folder: Path, vocab_size: int) -> None:
    """Write the id tokenizer files into a transformed model folder."""
    (Path(folder) / "tokenizer.json").write_bytes(id_tokenizer_json(vocab_size))
    (Path(folder) / "tokenizer_config.json").write_bytes(id_tokenizer_config_json())


def format_ids(ids: Sequence[int]) -> bytes:
    """Token ids as the prompt bytes the id tokenizer reads: ``b"17 3 42"``."""
    return " ".join(str(int(i)) for i in ids).encode()


def parse_ids(text: str) -> list[int]:
    """Decimal ids separated by spaces, tabs, newlines or commas (ASCII only)."""
    text = text.strip(" \t\n")
    if text == "":
        return []
    if _IDS.fullmatch(text) is None:
        raise EEClientError(f"expected decimal token ids separated by spaces, got {text[:40]!r}")
    return [int(part) for part in _SEPARATORS.split(text)]


# --- keys and folders --------------------------------------------------------------------------


def _model_shape(model_dir: Path) -> tuple[str, int, int]:
    """(family, vocab_size, hidden_size) of a prepared folder."""
    from transformers import AutoConfig

    from inference_worker.families import family_for_config

    if not (Path(model_dir) / "config.json").is_file():
        raise EEClientError(f"{model_dir}: no config.json (not a prepared model folder)")
    config = AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
    family = family_for_config(config).name
    return family, int(config.vocab_size), int(config.hidden_size)


def load_key(path: Path) -> ee.EEKey:
    """The key at `path`, or an EEClientError saying why it is not one."""
    path = Path(path)
    if not path.is_file():
        raise EEClientError(f"{path}: no such key file")
    try:
        key = ee.EEKey.load(path)
    except Exception as err:  # safetensors, JSON and format errors alike
        raise EEClientError(f"{path}: not an EE key file ({type(err).__name__}: {err})") from None
    vocab = int(key.vocab_perm.numel())
    if sorted(int(v) for v in key.vocab_perm.tolist()) != list(range(vocab)):
        raise EEClientError(f"{path}: vocab_perm is not a permutation (corrupt key file)")
    return key


def keygen(
    model_dir: Path,
    key_path: Path,
    *,
    seed: int | None = None,
    kinds: Sequence[str] | None = None,
) -> ee.EEKey:
    """A fresh key sized for the plain folder `model_dir`, saved at `key_path` (private).

    `kinds`: None for the vocabulary and residual permutations only (``ee.generate_key``),
    else the optional parts ``ee.generate_full_key`` adds (``ee.KINDS``; "all": every kind
    the family takes). Dense parts make the served model equal to the plain one within fp32
    rounding, not bit for bit (docs/equivariant-encryption.md)."""
    family, vocab, hidden = _model_shape(model_dir)
    if kinds is None:
        key = ee.generate_key(family, vocab, hidden, seed=seed)
    else:
        key = _full_key(model_dir, family, kinds, seed)
    key_path = Path(key_path)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key.save(key_path)
    key_path.chmod(0o600)
    return key


def _full_key(model_dir: Path, family: str, kinds: Sequence[str], seed: int | None) -> ee.EEKey:
    from transformers import AutoConfig

    wanted = set(ee.FAMILY_KINDS[family]) if list(kinds) == ["all"] else set(kinds)
    unknown = sorted(wanted - set(ee.KINDS))
    if unknown:
        raise EEClientError(f"unknown key kinds {unknown}: choose from {', '.join(ee.KINDS)}")
    config = AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
    try:
        return ee.generate_full_key(config, kinds=wanted, seed=seed)
    except ValueError as err:
        raise EEClientError(str(err)) from None


def _check_key_fits(key: ee.EEKey, model_dir: Path) -> None:
    family, vocab, hidden = _model_shape(model_dir)
    shape = (key.family, int(key.vocab_perm.numel()), int(key.residual_perm.numel()))
    if shape != (family, vocab, hidden):
        raise EEClientError(
            f"wrong model for this key: the key is for {shape[0]} vocab {shape[1]} hidden "
            f"{shape[2]}, {model_dir} is {family} vocab {vocab} hidden {hidden}"
        )


def owner_file(key_path: Path) -> Path:
    """Where `transform_folder` records what the key transformed: ``KEY.owner.json``."""
    return Path(f"{key_path}.owner.json")


def transform_folder(src: Path, dst: Path, key_path: Path) -> Any:
    """Write the served folder `dst` (transformed weights, the id tokenizer, the manifest to
    register) from the plain folder `src`, and the owner file next to the key. Returns the
    manifest (``inference_worker.models.Manifest``)."""
    from inference_worker.models import MANIFEST_FILE, compute_manifest

    src, dst = Path(src), Path(dst)
    key = load_key(key_path)
    _check_key_fits(key, src)
    if dst.resolve() == src.resolve():
        raise EEClientError("the transformed folder must not be the plain one")
    first = ee.transform_model(src, dst, key)
    write_id_tokenizer(dst, int(key.vocab_perm.numel()))
    manifest = compute_manifest(dst, name=first.name, source=first.source)
    (dst / MANIFEST_FILE).write_text(manifest.to_json())
    record = {
        "format": OWNER_FORMAT,
        "plain_model": str(src.resolve()),
        "transformed_model": str(dst.resolve()),
        "vocab_size": int(key.vocab_perm.numel()),
        "weights_root": manifest.weights_root,
    }
    owner_file(key_path).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return manifest


# --- the owner ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EEOwner:
    """A key with the plain folder whose tokenizer it encodes and decodes with."""

    key: ee.EEKey
    plain_model: Path  # the untransformed folder: its tokenizer and chat template stay here
    weights_root: str | None  # hex, of the transformed model (None before transform_folder)

    @classmethod
    def open(cls, key_path: Path, plain_model: Path | None = None) -> EEOwner:
        """Load the key and its owner file (if `transform_folder` wrote one); `plain_model`
        overrides the folder the owner file names (required without an owner file)."""
        key = load_key(key_path)
        record = _read_owner_file(owner_file(key_path))
        if plain_model is None:
            if record is None:
                raise EEClientError(f"no {owner_file(key_path)}: name the plain model folder")
            plain_model = Path(record["plain_model"])
        _check_key_fits(key, Path(plain_model))
        root = None if record is None else str(record["weights_root"])
        return cls(key, Path(plain_model), root)

    @property
    def vocab_size(self) -> int:
        return int(self.key.vocab_perm.numel())

    def tokenize(self, text: str, *, chat: bool = False) -> list[int]:
        """Plain ids of `text` exactly as a worker serving the plain folder tokenizes a public
        prompt; `chat`: the original tokenizer's chat template first (a user turn and the
        generation prompt), as text, then tokenized the same way."""
        from inference_worker.pipeline.route import PromptTokenizer

        if chat:
            text = _apply_chat_template(self.plain_model, text)
        return PromptTokenizer(self.plain_model, self.vocab_size).encode(text.encode())

    def encrypt_ids(self, ids: Sequence[int]) -> list[int]:
        bad = [int(i) for i in ids if not 0 <= int(i) < self.vocab_size]
        if bad:
            raise EEClientError(
                f"ids {bad[:5]} are outside this key's vocabulary of {self.vocab_size}"
            )
        return self.key.encrypt_ids([int(i) for i in ids])

    def encrypt_prompt(self, text: str, *, chat: bool = False) -> bytes:
        """The prompt bytes to submit for `text`: its encrypted ids in decimal."""
        return format_ids(self.encrypt_ids(self.tokenize(text, chat=chat)))

    def decrypt_ids(self, ids: Sequence[int]) -> list[int]:
        bad = [int(i) for i in ids if not 0 <= int(i) < self.vocab_size]
        if bad:
            raise EEClientError(
                f"ids {bad[:5]} are outside this key's vocabulary of {self.vocab_size}: "
                "not an output of the model this key transformed"
            )
        return self.key.decrypt_ids([int(i) for i in ids])

    def decrypt_text(self, ids: Sequence[int]) -> str:
        """Encrypted output ids -> text, decoded by the original tokenizer."""
        from inference_worker.pipeline.route import PromptTokenizer

        return PromptTokenizer(self.plain_model, self.vocab_size).decode(self.decrypt_ids(ids))

    def check_registered(self, model: Any, model_id: str) -> None:
        """Refuse a registered model (``infera.models.v1.Model`` or None) that is not the
        one this key transformed."""
        if model is None:
            raise EEClientError(f"model {model_id!r} is not registered")
        if self.weights_root is None:
            raise EEClientError("no owner file: transform a folder with this key first")
        if bytes(model.weights_root).hex() != self.weights_root:
            raise EEClientError(
                f"wrong model: {model_id!r} has weights root {bytes(model.weights_root).hex()[:16]}…,"
                f" this key transformed {self.weights_root[:16]}…"
            )


def _read_owner_file(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise EEClientError(f"{path}: unreadable owner file ({err})") from None
    if not isinstance(record, dict) or record.get("format") != OWNER_FORMAT:
        raise EEClientError(f"{path}: not an {OWNER_FORMAT} file")
    return record


def _apply_chat_template(model_dir: Path, text: str) -> str:
    from transformers import AutoTokenizer

    if not (Path(model_dir) / "tokenizer_config.json").is_file():
        raise EEClientError(f"{model_dir}: no tokenizer, so no chat template")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    if not getattr(tokenizer, "chat_template", None):
        raise EEClientError(f"{model_dir}: the tokenizer has no chat template")
    messages = [{"role": "user", "content": text}]
    return str(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))


# --- SDK: jobs through chain.client.Client -----------------------------------------------------


def submit_ee_job(
    client: Any,
    wallet: Any,
    owner: EEOwner,
    *,
    model_id: str,
    text: str,
    max_new_tokens: int,
    max_fee: int,
    chat: bool = False,
    **job: Any,
) -> int:
    """Encrypt `text` and submit it as a job of the registered EE model `model_id` (checked
    to be the one `owner`'s key transformed); `job`: more ``Client.submit_job`` arguments
    (redundancy, deadline_blocks, decoding). Returns the job id."""
    owner.check_registered(client.model(model_id), model_id)
    result = client.submit_job(
        wallet,
        model_id=model_id,
        prompt=owner.encrypt_prompt(text, chat=chat),
        max_new_tokens=max_new_tokens,
        max_fee=max_fee,
        **job,
    )
    job_id = result.attribute("infera.job_submitted", "job_id")
    if job_id is None:
        raise EEClientError(f"tx {result.txhash}: no job id in its events")
    return int(job_id)


def ee_job_output(client: Any, job_id: int, owner: EEOwner) -> str | None:
    """The decrypted text of a finalized EE job (its winning output), None while it runs;
    refuses a job of another model."""
    import chain.pb  # noqa: F401  (puts the generated infera packages on the path)

    from infera.inference.v1 import types_pb2

    found = client.job(job_id)
    if found is None:
        raise EEClientError(f"job {job_id} does not exist")
    owner.check_registered(client.model(found.model_id), found.model_id)
    if found.state != types_pb2.JOB_STATE_FINALIZED:
        return None
    for output in client.job_history(job_id).outputs:
        if bytes(output.output_hash) == bytes(found.output_hash):
            return owner.decrypt_text(list(output.tokens))
    raise EEClientError(f"job {job_id}: the winning output is not in its history")
