"""``infera ee ...``: the model owner's side of an equivariant-encryption (EE) job.

    infera ee keygen --model PLAIN_DIR --key owner.key [--kinds all|rotation,mlp_perm,...]
    infera ee transform --model PLAIN_DIR --key owner.key --out SERVED_DIR
    infera ee encrypt "prompt text" --key owner.key [--chat]     (prints the prompt to submit)
    infera ee submit MODEL "prompt text" --key owner.key --max-new-tokens N --max-fee F --from K
        [--chat] [--redundancy R] [--deadline-blocks D]
    infera ee decrypt "5 81 17" --key owner.key | infera ee decrypt --job JOB_ID --key owner.key

``transform`` writes the folder workers serve (transformed weights, a public id tokenizer, the
``manifest.json`` to register with ``infera tx models register``) and ``owner.key.owner.json``
(the plain folder and the transformed weights root) next to the key; ``--model`` of the later
commands defaults to that plain folder. ``submit`` and ``decrypt --job`` refuse a model whose
weights root is not the one the key transformed. The job itself is an ordinary public job.

Not a privacy feature on public base weights: a worker recovers the key from the served weights
(docs/equivariant-encryption.md, "On the network", and the attack table in docs/ee-attacks.md).
The implementation is ``inference_worker/privacy/ee_client.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from chain.cli.common import CLIError, HomeOption, OutputOption, emit
from chain.cli.infera_tx import (
    FeesOption,
    FromOption,
    GasOption,
    MemoOption,
    TxFlags,
    WaitOption,
    connected,
    decoding,
    parse_amount,
    send,
)
from chain.cli.prove import GrpcOption

app = typer.Typer(
    help="Equivariant encryption, owner side (NOT private on public weights: docs/ee-attacks.md).",
    no_args_is_help=True,
)

KeyOption = typer.Option(..., "--key", help="The owner's EE key file (keep it private).")
PlainOption = typer.Option(
    None, "--model", help="The plain (untransformed) model folder (default: the key's owner file)."
)
ChatOption = typer.Option(False, "--chat", help="Apply the plain tokenizer's chat template first.")


def register(root: typer.Typer) -> None:
    """Attach ``ee`` to ``infera``."""
    root.add_typer(app, name="ee")


@contextmanager
def _owner_errors() -> Iterator[None]:
    """EE client refusals as one-line CLI errors."""
    from inference_worker.privacy.ee_client import EEClientError

    try:
        yield
    except EEClientError as err:
        raise CLIError(str(err)) from None


def _owner(key: Path, plain: Path | None) -> Any:
    from inference_worker.privacy.ee_client import EEOwner

    return EEOwner.open(key, plain)


@app.command("keygen")
def keygen(
    model: Path = typer.Option(..., "--model", help="The plain model folder the key is for."),
    key: Path = typer.Option(..., "--key", help="Where to write the key (mode 0600)."),
    kinds: str = typer.Option(
        "",
        "--kinds",
        help="Extra key parts, comma-separated (rotation, mlp_perm, mlp_scale, head_order,"
        " qk_mix, vo_mix) or 'all' the family takes. Default: vocabulary + residual permutation.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing key file."),
    output: str = OutputOption,
) -> None:
    """Draw a fresh key (from the OS's randomness) sized for MODEL."""
    from inference_worker.privacy.ee_client import keygen as make_key

    if key.exists() and not overwrite:
        raise CLIError(f"{key} exists: a lost key cannot decrypt its jobs (use --overwrite)")
    with _owner_errors():
        made = make_key(model, key, kinds=[k.strip() for k in kinds.split(",")] if kinds else None)
    parts = ["vocab_perm", "residual_perm", *made.kinds]
    data = {"key": str(key), "family": made.family, "vocab_size": int(made.vocab_perm.numel()),
            "kinds": parts}  # fmt: skip
    emit(data, output, f"wrote {key} ({made.family}, {', '.join(parts)})")


@app.command("transform")
def transform(
    model: Path = typer.Option(..., "--model", help="The plain model folder."),
    key: Path = KeyOption,
    out: Path = typer.Option(..., "--out", help="The folder workers will serve (replaced)."),
    output: str = OutputOption,
) -> None:
    """Write the served folder and the key's owner file; prints what to register."""
    from inference_worker.privacy.ee_client import owner_file, transform_folder

    with _owner_errors():
        manifest = transform_folder(model, out, key)
    data = {
        "out": str(out),
        "manifest": str(out / "manifest.json"),
        "owner_file": str(owner_file(key)),
        "weights_root": manifest.weights_root,
        "tokenizer_hash": manifest.tokenizer_hash,
    }
    emit(data, output, "\n".join(f"{k}: {v}" for k, v in data.items()))


@app.command("encrypt")
def encrypt(
    text: str = typer.Argument(..., help="The prompt text."),
    key: Path = KeyOption,
    model: Path | None = PlainOption,
    chat: bool = ChatOption,
    output: str = OutputOption,
) -> None:
    """Print the prompt to submit for TEXT: its encrypted token ids in decimal."""
    with _owner_errors():
        prompt = _owner(key, model).encrypt_prompt(text, chat=chat)
    emit({"prompt": prompt.decode()}, output, prompt.decode())


@app.command("submit")
def submit(
    model_id: str = typer.Argument(..., help="The registered EE model."),
    text: str = typer.Argument(..., help="The prompt text (encrypted before it is sent)."),
    key: Path = KeyOption,
    model: Path | None = PlainOption,
    chat: bool = ChatOption,
    max_new_tokens: int = typer.Option(..., "--max-new-tokens", min=1, help="Tokens at most."),
    max_fee: str = typer.Option(..., "--max-fee", help="Fee cap, escrowed, e.g. 5000uinfera."),
    redundancy: int = typer.Option(1, "--redundancy", min=1, help="Independent routes."),
    deadline_blocks: int = typer.Option(0, "--deadline-blocks", min=0, help="0: the default."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Encrypt TEXT and submit it as a greedy job of MODEL_ID (refused unless MODEL_ID is the
    model this key transformed); prints the tx result with the job_id."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    fee = parse_amount(max_fee, "--max-fee")
    with _owner_errors():
        owner = _owner(key, model)

        def build(client: Any, wallet: Any, options: dict[str, Any]) -> Any:
            owner.check_registered(client.model(model_id), model_id)
            return client.submit_job(
                wallet, model_id=model_id, prompt=owner.encrypt_prompt(text, chat=chat),
                max_new_tokens=max_new_tokens, max_fee=fee, redundancy=redundancy,
                deadline_blocks=deadline_blocks, decoding=decoding(False, "", 0), **options,
            )  # fmt: skip

        send(flags, build)


@app.command("decrypt")
def decrypt(
    ids: str = typer.Argument("", help="Encrypted output ids, e.g. '5 81 17' (or use --job)."),
    key: Path = KeyOption,
    model: Path | None = PlainOption,
    job: int = typer.Option(0, "--job", min=0, help="Read a finalized job's output instead."),
    grpc_address: str = GrpcOption,
    output: str = OutputOption,
) -> None:
    """Decrypt output ids (given, or a finalized job's from the chain) to text with the plain
    tokenizer."""
    from inference_worker.privacy.ee_client import ee_job_output, parse_ids

    if bool(ids.strip()) == bool(job):
        raise CLIError("give either the encrypted ids or --job JOB_ID")
    with _owner_errors():
        owner = _owner(key, model)
        if job:
            flags = TxFlags("", Path("."), grpc_address, 0, "", "", True, output)
            with connected(flags) as client:
                text = ee_job_output(client, job, owner)
            if text is None:
                raise CLIError(f"job {job} is not finalized yet")
        else:
            text = owner.decrypt_text(parse_ids(ids))
    emit({"text": text}, output, text)
