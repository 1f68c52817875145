"""``infera tx inference|models|workers``: Infera's own transactions for developers and workers.

    infera tx inference submit-job MODEL PROMPT --max-new-tokens N --max-fee 1000uinfera
        [--redundancy R] [--deadline-blocks D] [--sample [--temperature 0.7] [--top-k 40]]
        [--private sealed [--pad-to BYTES] [--key-file FILE]]
    infera tx inference cancel-job JOB_ID
    infera tx inference disclose-job JOB_ID --key-file FILE
    infera tx inference sealed-output JOB_ID --key-file FILE   (reads the chain; no tx)
    infera tx models register --file manifest.json [--id ID] [--price P] [--min-redundancy R]
        [--bytes-per-layer B] [--dtype D]
    infera tx models update MODEL [--price P] [--min-redundancy R]
    infera tx models retire MODEL
    infera tx workers register --endpoint HOST:PORT --stake 1000000uinfera --memory-bytes B
        --throughput T --encryption-pubkey HEX [--device cpu] [--dtype float32]
        [--torch-version V] [--transformers-version V]
    infera tx workers update [--endpoint] [--add-stake] [--encryption-pubkey]
        [--device] [--memory-bytes] [--throughput]
    infera tx workers serve|stop MODEL START END
    infera tx workers heartbeat | unbond

Every command signs with ``--from`` (a key name in HOME/keyring, or the address of one) and
sends through the node's gRPC port (``--grpc``, $INFERA_GRPC) with the SDK
(``chain.client.Client``): gas is simulated (x 1.5) unless ``--gas`` is given, the fee is gas x
0.025 unless ``--fees`` is, and the command waits for the block unless ``--no-wait``. It prints
the tx hash, height, gas and the message's response (``job_id`` of a new job, ``refunded``,
``completion_height``...); a refused transaction exits 1 with the chain's codespace, code and log.

The registration file of ``models register --file`` is described in ``chain/cli/registration.py``
(a model's ``manifest.json`` will do, with ``--price`` and ``--bytes-per-layer``).
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import chain.pb  # noqa: F401

import grpc
import typer
from cosmpy.aerial.wallet import LocalWallet
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

from chain import crypto
from chain.cli.common import DEFAULT_DENOM, CLIError, HomeOption, OutputOption, emit, parse_coins
from chain.cli.prove import GrpcOption
from chain.cli.registration import U32, load_registration, parse_hash
from chain.client import Client, ClientError, QueryError, TxResult
from chain.errors import ChainError
from chain.keyring import KeyInfo, Keyring
from cosmos.base.abci.v1beta1 import abci_pb2
from infera.inference.v1 import types_pb2 as inference_types
from infera.workers.v1 import types_pb2 as workers_types

inference_app = typer.Typer(help="Submit and cancel inference jobs.", no_args_is_help=True)
models_app = typer.Typer(help="Register, update and retire models.", no_args_is_help=True)
workers_app = typer.Typer(help="Register and run an inference worker.", no_args_is_help=True)

FromOption = typer.Option(..., "--from", help="Signing key: its name in HOME/keyring or address.")
GasOption = typer.Option(0, "--gas", min=0, help="Gas limit (default: simulated gas x 1.5).")
FeesOption = typer.Option("", "--fees", help="Fee, e.g. 5000uinfera (default: gas x 0.025).")
MemoOption = typer.Option("", "--memo", help="Transaction memo.")
WaitOption = typer.Option(True, "--wait/--no-wait", help="Wait until the tx is committed.")

GRPC_ADDRESS_RE = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}")  # fullmatch


def register(app: typer.Typer) -> None:
    """Attach the inference, models and workers groups to ``infera tx``."""
    app.add_typer(inference_app, name="inference")
    app.add_typer(models_app, name="models")
    app.add_typer(workers_app, name="workers")


# -- signing and sending ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TxFlags:
    """The options every command takes."""

    key: str  # key name or address
    home: Path
    grpc: str  # host:port
    gas: int  # 0 = simulate
    fees: str  # "" = gas x gas price
    memo: str
    wait: bool
    output: str


Build = Callable[[Client, LocalWallet, dict[str, Any]], TxResult]


def signing_key(home: Path, key: str) -> KeyInfo:
    """The keyring key named ``key``, or whose address is ``key``."""
    keyring = Keyring(home)
    if not key.startswith(crypto.ACCOUNT_PREFIX + "1"):
        return keyring.get(key)
    try:
        crypto.from_bech32(key)
    except ChainError as err:
        raise CLIError(f"--from: {err.log}") from None
    found = keyring.find_by_address(key)
    if found is None:
        raise CLIError(f"--from: no key with address {key} in {keyring.dir}")
    return found


def parse_amount(text: str, flag: str) -> int:
    """A single positive amount in uinfera ("1000" or "1000uinfera")."""
    coins = parse_coins(text)
    if len(coins) != 1 or coins[0][1] != DEFAULT_DENOM:
        raise CLIError(f"{flag}: expected one amount in {DEFAULT_DENOM}, got {text!r}")
    return coins[0][0]


@contextmanager
def connected(flags: TxFlags) -> Iterator[Client]:
    """An SDK client for ``--grpc`` whose failures become one-line CLI errors."""
    if not GRPC_ADDRESS_RE.fullmatch(flags.grpc.removeprefix("http://")):
        raise CLIError(f"invalid --grpc address {flags.grpc!r}: expected host:port")
    with Client(flags.grpc, timeout=30.0, poll_interval=0.2) as client:
        try:
            yield client
        except QueryError as err:
            if err.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise CLIError(
                    f"no node answers at {flags.grpc} ({err.code.name}): is it running? "
                    "(set --grpc or $INFERA_GRPC)"
                ) from None
            raise CLIError(str(err)) from None
        except (ClientError, TimeoutError) as err:
            raise CLIError(str(err)) from None


def send(flags: TxFlags, build: Build) -> None:
    """Sign with the ``--from`` key, broadcast, await (unless ``--no-wait``) and print."""
    key = signing_key(flags.home, flags.key)
    options = {
        "gas": flags.gas or None,
        "fee": parse_amount(flags.fees, "--fees") if flags.fees else None,
        "memo": flags.memo,
        "wait": flags.wait,
    }
    with connected(flags) as client:
        result = build(client, key.wallet(), options)
    data = describe(result)
    emit(data, flags.output, "\n".join(f"{k}: {v}" for k, v in data.items()))


def describe(result: TxResult) -> dict[str, Any]:
    """The printed result: hash, height, gas, then each message response's fields."""
    data: dict[str, Any] = {
        "txhash": result.txhash,
        "height": result.height,
        "code": result.code,
        "gas_wanted": result.gas_wanted,
        "gas_used": result.gas_used,
    }
    if result.data:
        for response in abci_pb2.TxMsgData.FromString(result.data).msg_responses:
            data.update(_fields(_unpack(response)))
    return data


def _unpack(packed: Any) -> Message:
    name = packed.type_url.rsplit("/", 1)[-1]
    cls = message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(name))
    message = cls()
    packed.Unpack(message)
    return message


def _fields(message: Message) -> dict[str, Any]:
    return {
        field.name: value.hex() if isinstance(value, bytes) else value
        for field, value in message.ListFields()
    }


# -- inference -------------------------------------------------------------------------------------


def decoding(sample: bool, temperature: str, top_k: int) -> inference_types.Decoding:
    """Greedy, or sampling with a temperature (decimal, e.g. 0.7 -> 700 thousandths) and top-k."""
    if not sample:
        if temperature or top_k:
            raise CLIError("--temperature and --top-k need --sample (greedy decoding has neither)")
        return inference_types.Decoding(mode=inference_types.DECODING_MODE_GREEDY)
    try:
        milli = Decimal(temperature or "1") * 1000
    except InvalidOperation:
        milli = Decimal(-1)
    if not (milli.is_finite() and 0 < milli <= U32 and milli == milli.to_integral_value()):
        raise CLIError(
            f"--temperature: expected a positive number with at most 3 decimals, got {temperature!r}"
        )
    return inference_types.Decoding(
        mode=inference_types.DECODING_MODE_SAMPLING, temperature_milli=int(milli), top_k=top_k
    )


@inference_app.command("submit-job")
def submit_job(
    model: str = typer.Argument(..., help="Registered model id."),
    prompt: str = typer.Argument(..., help="Prompt text (sent as UTF-8 bytes)."),
    max_new_tokens: int = typer.Option(
        ..., "--max-new-tokens", min=1, max=U32, help="Tokens to generate at most."
    ),
    max_fee: str = typer.Option(..., "--max-fee", help="Fee cap, escrowed, e.g. 5000uinfera."),
    redundancy: int = typer.Option(
        0,
        "--redundancy",
        min=0,
        max=U32,
        show_default=False,
        help="Independent routes (default: the model's min_redundancy).",
    ),
    deadline_blocks: int = typer.Option(
        0,
        "--deadline-blocks",
        min=0,
        max=U32,
        help="Blocks after this one to settle within (0: the job's commit and reveal rounds,"
        " which grow with --max-new-tokens, plus the chain's min_deadline_blocks).",
    ),
    sample: bool = typer.Option(False, "--sample", help="Sample instead of greedy decoding."),
    temperature: str = typer.Option("", "--temperature", help="Sampling temperature (1.0)."),
    top_k: int = typer.Option(
        0, "--top-k", min=0, max=U32, help="Sample among the k likeliest tokens (0 = all)."
    ),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
    private: str = typer.Option(
        "",
        "--private",
        help="'sealed': only commitments go on chain; the prompt is sealed to each hop after"
        " assignment and the output to you (docs/private-jobs.md). Default: public.",
    ),
    pad_to: int = typer.Option(
        0, "--pad-to", min=0, max=U32, help="Sealed: prompt room in bytes (hides the length)."
    ),
    key_file: Path | None = typer.Option(
        None,
        "--key-file",
        help="Sealed: where to keep the job key and prompt (default HOME/sealed/JOB_ID.json)."
        " Needed to read the output or disclose the job.",
    ),
) -> None:
    """Submit an inference job; prints its job_id (routes are assigned in the same block)."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    rule = decoding(sample, temperature, top_k)
    fee = parse_amount(max_fee, "--max-fee")
    if private not in ("", "sealed"):
        raise CLIError(f"--private: expected 'sealed', got {private!r} (split is not built yet)")
    if private == "sealed":
        if not wait:
            raise CLIError("--private sealed waits for the routes: drop --no-wait")
        sealed = SealedRequest(model, prompt.encode(), max_new_tokens, fee, redundancy,
                               deadline_blocks, rule, pad_to, key_file)  # fmt: skip
        submit_sealed(flags, sealed)
        return

    def build(client: Client, wallet: LocalWallet, options: dict[str, Any]) -> TxResult:
        return client.submit_job(
            wallet, model_id=model, prompt=prompt.encode(), max_new_tokens=max_new_tokens,
            max_fee=fee, redundancy=redundancy or min_redundancy(client, model),
            deadline_blocks=deadline_blocks, decoding=rule, **options,
        )  # fmt: skip

    send(flags, build)


@dataclass(frozen=True)
class SealedRequest:
    """What ``submit-job --private sealed`` was asked for."""

    model: str
    prompt: bytes
    max_new_tokens: int
    fee: int  # uinfera
    redundancy: int  # 0: the model's min_redundancy
    deadline_blocks: int
    rule: inference_types.Decoding
    pad_to: int  # prompt room in bytes (0: the prompt's length)
    key_file: Path | None  # None: HOME/sealed/JOB_ID.json


def submit_sealed(flags: TxFlags, request: SealedRequest) -> None:
    """Submit with commitments only, keep the secrets in the key file (0600), seal once the
    routes are known, print both transactions."""
    key = signing_key(flags.home, flags.key)
    options: dict[str, Any] = {"gas": flags.gas or None, "memo": flags.memo}
    wallet = key.wallet()
    with connected(flags) as client:
        submission = client.submit_sealed_job(
            wallet, model_id=request.model, prompt=request.prompt,
            max_new_tokens=request.max_new_tokens, max_fee=request.fee,
            redundancy=request.redundancy or min_redundancy(client, request.model),
            deadline_blocks=request.deadline_blocks, decoding=request.rule,
            pad_to=request.pad_to, **options,
        )  # fmt: skip
        path = request.key_file or flags.home / "sealed" / f"{submission.job_id}.json"
        write_key_file(path, client.chain_id, submission, request.prompt)
        sealed = client.seal_job(wallet, submission, request.prompt, **options)
    data = {"job_id": submission.job_id, "key_file": str(path),
            "submit_txhash": submission.result.txhash, "seal_txhash": sealed.txhash,
            "height": sealed.height, "code": sealed.code}  # fmt: skip
    emit(data, flags.output, "\n".join(f"{k}: {v}" for k, v in data.items()))


def write_key_file(path: Path, chain_id: str, submission: Any, prompt: bytes) -> None:
    """The secrets of one sealed job, readable by the owner only."""
    import json
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"chain_id": chain_id, "job_id": submission.job_id,
            "job_key": submission.secrets.job_key.hex(), "prompt": prompt.hex()}  # fmt: skip
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(body, out)


def read_key_file(path: Path, job_id: int) -> tuple[bytes, bytes]:
    """(job key, prompt) from a key file written by submit-job --private sealed."""
    import json

    try:
        body = json.loads(path.read_text())
        job_key, prompt = bytes.fromhex(body["job_key"]), bytes.fromhex(body["prompt"])
        if int(body["job_id"]) != job_id or len(job_key) != 32:
            raise ValueError("the file is for another job, or its key is not 32 bytes")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CLIError(f"--key-file {path}: {err}") from None
    return job_key, prompt


@inference_app.command("disclose-job")
def disclose_job(
    job_id: int = typer.Argument(..., min=1, help="A sealed job of yours."),
    key_file: Path = typer.Option(..., "--key-file", help="The job's key file."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Make a sealed job PUBLIC for good (prompt and outputs on chain) so validators can
    verify it, e.g. in a dispute."""
    from infera.inference.v1 import tx_pb2 as inference_tx

    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    job_key, prompt = read_key_file(key_file, job_id)

    def build(client: Client, wallet: LocalWallet, options: dict[str, Any]) -> TxResult:
        msg = inference_tx.MsgDiscloseSealedJob(
            submitter=str(wallet.address()), job_id=job_id, job_key=job_key, prompt=prompt
        )
        return client.execute(wallet, [msg], **options)

    send(flags, build)


@inference_app.command("sealed-output")
def sealed_output(
    job_id: int = typer.Argument(..., min=1, help="A finalized sealed job of yours."),
    key_file: Path = typer.Option(..., "--key-file", help="The job's key file."),
    grpc_address: str = GrpcOption,
    output: str = OutputOption,
) -> None:
    """Open a finalized sealed job's output with its key file; prints the token ids (reads the
    chain, sends nothing)."""
    from chain.sealing import JobSecrets

    job_key, _ = read_key_file(key_file, job_id)
    flags = TxFlags("", Path("."), grpc_address, 0, "", "", True, output)
    with connected(flags) as client:
        tokens = client.sealed_output(job_id, JobSecrets(job_key))
    if tokens is None:
        raise CLIError(f"job {job_id} is not finalized, or no sealed output opens to its hash")
    data = {"job_id": job_id, "output_tokens": list(tokens)}
    emit(data, output, " ".join(map(str, tokens)))


def min_redundancy(client: Client, model_id: str) -> int:
    """The model's min_redundancy: the default --redundancy (the chain has no default)."""
    model = client.model(model_id)
    if model is None:
        raise CLIError(f"unknown model {model_id!r}")
    return int(model.min_redundancy)


@inference_app.command("cancel-job")
def cancel_job(
    job_id: int = typer.Argument(..., min=1, help="A job of yours still waiting for assignment."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Cancel a SUBMITTED job and refund its escrow (only before its routes are assigned)."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    send(flags, lambda client, wallet, options: client.cancel_job(wallet, job_id, **options))


# -- models ----------------------------------------------------------------------------------------


@models_app.command("register")
def register_model(
    file: Path = typer.Option(..., "--file", help="Registration JSON or a model's manifest.json."),
    model_id: str = typer.Option(None, "--id", help="Model id (default: the file's)."),
    price: str = typer.Option(None, "--price", help="Price per token in uinfera, e.g. 0.25."),
    min_redundancy_: int = typer.Option(None, "--min-redundancy", min=1, help="Fewest routes."),
    bytes_per_layer: int = typer.Option(None, "--bytes-per-layer", min=1, help="Layer memory."),
    dtype: str = typer.Option(None, "--dtype", help="float32, float16 or bfloat16."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Register a model from its registration file; the signer owns it."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    overrides = {"id": model_id, "price_per_token": price, "min_redundancy": min_redundancy_,
                 "bytes_per_layer": bytes_per_layer, "dtype": dtype}  # fmt: skip
    fields = load_registration(file, overrides)
    send(flags, lambda client, wallet, options: client.register_model(wallet, **fields, **options))


@models_app.command("update")
def update_model(
    model_id: str = typer.Argument(..., help="Id of a model you own."),
    price: str = typer.Option("", "--price", help="New price per token (uinfera)."),
    min_redundancy_: int = typer.Option(0, "--min-redundancy", min=0, max=U32),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Change a model's price and/or minimum redundancy."""
    if not price and not min_redundancy_:
        raise CLIError("give --price and/or --min-redundancy")
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    send(flags, lambda client, wallet, options: client.update_model(
        wallet, model_id, price_per_token=price, min_redundancy=min_redundancy_, **options
    ))  # fmt: skip


@models_app.command("retire")
def retire_model(
    model_id: str = typer.Argument(..., help="Id of a model you own."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Retire a model for good: no new spans or jobs."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    send(flags, lambda client, wallet, options: client.retire_model(wallet, model_id, **options))


# -- workers ---------------------------------------------------------------------------------------


def installed_version(package: str, given: str, flag: str) -> str:
    """``given``, else the installed package's version (what the worker will run)."""
    if given:
        return given
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        raise CLIError(f"{package} is not installed here: give {flag}") from None


@workers_app.command("register")
def register_worker(
    endpoint: str = typer.Option(..., "--endpoint", help="Activation endpoint host:port."),
    stake: str = typer.Option(..., "--stake", help="Stake to bond, e.g. 1000000uinfera."),
    memory_bytes: int = typer.Option(..., "--memory-bytes", min=1, help="Memory for spans."),
    throughput: int = typer.Option(..., "--throughput", min=1, help="Measured tokens/s."),
    encryption_pubkey: str = typer.Option(..., "--encryption-pubkey", help="X25519 key, hex."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, rocm, mps or xpu."),
    dtype: str = typer.Option("float32", "--dtype", help="float32, float16 or bfloat16."),
    torch_version: str = typer.Option("", "--torch-version", help="Default: installed."),
    transformers_version: str = typer.Option(
        "", "--transformers-version", help="Default: installed."
    ),  # fmt: skip
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Register the signer as an inference worker and bond its stake."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    hardware = workers_types.Hardware(device=device, memory_bytes=memory_bytes, throughput=throughput)  # fmt: skip
    runtime = workers_types.Runtime(
        torch_version=installed_version("torch", torch_version, "--torch-version"),
        transformers_version=installed_version(
            "transformers", transformers_version, "--transformers-version"
        ),
        dtype=dtype,
    )
    pubkey = parse_hash(encryption_pubkey, "--encryption-pubkey")
    amount = parse_amount(stake, "--stake")
    send(flags, lambda client, wallet, options: client.register_worker(
        wallet, endpoint=endpoint, hardware=hardware, runtime=runtime,
        encryption_pubkey=pubkey, stake=amount, **options,
    ))  # fmt: skip


@workers_app.command("update")
def update_worker(
    endpoint: str = typer.Option("", "--endpoint", help="New endpoint host:port."),
    add_stake: str = typer.Option("", "--add-stake", help="Stake to add, e.g. 500000uinfera."),
    encryption_pubkey: str = typer.Option("", "--encryption-pubkey", help="New X25519 key, hex."),
    device: str = typer.Option("", "--device", help="New device (hardware fields not given stay)."),
    memory_bytes: int = typer.Option(0, "--memory-bytes", min=0, help="New memory in bytes."),
    throughput: int = typer.Option(0, "--throughput", min=0, help="New tokens/s."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Change the worker's endpoint, hardware or key, or add stake."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    pubkey = parse_hash(encryption_pubkey, "--encryption-pubkey") if encryption_pubkey else b""
    amount = parse_amount(add_stake, "--add-stake") if add_stake else 0
    new_hardware = {"device": device, "memory_bytes": memory_bytes, "throughput": throughput}
    if not (endpoint or pubkey or amount or any(new_hardware.values())):
        raise CLIError("nothing to update: give --endpoint, --add-stake, --encryption-pubkey or hardware")  # fmt: skip

    def build(client: Client, wallet: LocalWallet, options: dict[str, Any]) -> TxResult:
        hardware = None
        if any(new_hardware.values()):  # the message replaces the whole record: keep the rest
            worker = client.worker(str(wallet.address()))
            if worker is None:
                raise CLIError(f"{wallet.address()} is not a registered worker")
            hardware = workers_types.Hardware()
            hardware.CopyFrom(worker.hardware)
            for name, value in new_hardware.items():
                if value:
                    setattr(hardware, name, value)
        return client.update_worker(
            wallet, endpoint=endpoint, hardware=hardware, encryption_pubkey=pubkey,
            add_stake=amount, **options,
        )  # fmt: skip

    send(flags, build)


@workers_app.command("serve")
def serve(
    model_id: str = typer.Argument(..., help="Registered model id."),
    start: int = typer.Argument(..., min=0, max=U32, help="First layer served."),
    end: int = typer.Argument(..., min=1, max=U32, help="One past the last layer served."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Announce that the worker serves layers [START, END) of a model."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    send(flags, lambda client, wallet, options: client.serve_span(
        wallet, model_id, start, end, **options
    ))  # fmt: skip


@workers_app.command("stop")
def stop(
    model_id: str = typer.Argument(..., help="Model id of the span."),
    start: int = typer.Argument(..., min=0, max=U32, help="First layer of the span."),
    end: int = typer.Argument(..., min=1, max=U32, help="One past its last layer."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Withdraw exactly one announced span."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    send(flags, lambda client, wallet, options: client.stop_serving(
        wallet, model_id, start, end, **options
    ))  # fmt: skip


@workers_app.command("heartbeat")
def heartbeat(
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Prove the worker is alive (a silent worker gets no routes)."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    send(flags, lambda client, wallet, options: client.heartbeat(wallet, **options))


@workers_app.command("unbond")
def unbond(
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Stop serving and unbond the whole stake; prints when it is paid back."""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)
    send(flags, lambda client, wallet, options: client.unbond_worker(wallet, **options))
