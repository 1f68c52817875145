"""``infera tx tee ...``, ``infera query tee ...`` and ``infera tee report-data`` (modules/tee).

    infera tee report-data --operator ADDR [--chain-id C --epoch E --encryption-pubkey HEX]
        (what a TEE must put in its report_data; asks the node for what is not given)
    infera tx tee attest --type tdx|sgx|snp|nvidia --report F [--collateral F] [--cert-chain F]
        [--epoch E] --from K
    infera tx tee attest --type insecure-test --measurement HEX --from K   (test networks only)
    infera tx tee require MODEL --type snp [--type tdx] [--measurement HEX ...] --from K
        (no --type removes the requirement)
    infera query tee attestation OPERATOR | requirement MODEL | params

Files are raw bytes as the vendor tools write them (a hex dump can be turned back with
``xxd -r -p``). The operator commands that produce real reports are in modules/tee/README.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import chain.pb  # noqa: F401

import typer

from chain import crypto
from chain.cli.common import CLIError, HomeOption, NodeOption, OutputOption, emit
from chain.cli.infera_tx import (
    FeesOption,
    FromOption,
    GasOption,
    MemoOption,
    TxFlags,
    WaitOption,
    connected,
    send,
)
from chain.cli.modules import HeightOption, _run
from chain.cli.prove import GrpcOption
from chain.errors import ChainError
from infera.tee.v1 import query_pb2, tx_pb2, types_pb2

tx_app = typer.Typer(help="TEE attestations and model requirements.", no_args_is_help=True)
query_app = typer.Typer(help="TEE attestations, requirements and params.", no_args_is_help=True)
tool_app = typer.Typer(help="TEE helpers for operators.", no_args_is_help=True)

TYPES = {
    "tdx": types_pb2.TEE_TYPE_INTEL_TDX,
    "sgx": types_pb2.TEE_TYPE_INTEL_SGX,
    "snp": types_pb2.TEE_TYPE_AMD_SEV_SNP,
    "nvidia": types_pb2.TEE_TYPE_NVIDIA_CC,
    "insecure-test": types_pb2.TEE_TYPE_INSECURE_TEST,
}
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_MAX_FILE_BYTES = 1 << 20


def register(tx: typer.Typer, query: typer.Typer, root: typer.Typer) -> None:
    """Attach ``tee`` to ``infera tx``, ``infera query`` and ``infera`` (the helpers)."""
    tx.add_typer(tx_app, name="tee")
    query.add_typer(query_app, name="tee")
    root.add_typer(tool_app, name="tee")


def parse_type(text: str) -> int:
    if text not in TYPES:
        raise CLIError(f"--type {text[:40]!r}: expected one of {', '.join(TYPES)}")
    return TYPES[text]


def parse_hex(text: str, flag: str, length: int | None = None) -> bytes:
    if not _HEX.fullmatch(text) or (length is not None and len(text) != 2 * length):
        size = "" if length is None else f" of {length} bytes"
        raise CLIError(f"{flag}: expected hex{size}, got {text[:80]!r}")
    return bytes.fromhex(text)


def _read(path: Path | None, flag: str) -> bytes:
    if path is None:
        return b""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CLIError(f"{flag}: cannot read {path}: {err}") from None
    if len(data) > _MAX_FILE_BYTES:
        raise CLIError(f"{flag}: {path} is over 1 MiB")
    return data


def _params(client: Any) -> types_pb2.Params:
    return client.query(
        "/infera.tee.v1.Query/Params", query_pb2.QueryParamsRequest(), query_pb2.QueryParamsResponse
    ).params


def _next_epoch(client: Any) -> int:
    """The epoch of the next block (where the tx lands)."""
    return (client.latest_height() + 1) // _params(client).epoch_blocks


def _worker_pubkey(client: Any, operator: str) -> bytes:
    worker = client.worker(operator)
    if worker is None:
        raise CLIError(f"{operator}: no registered worker (register it first)")
    return bytes(worker.encryption_pubkey)


def report_data_hex(chain_id: str, epoch: int, pubkey: bytes, operator: str) -> str:
    """The 64-byte report_data field (hex) for Intel / SNP / the test type."""
    from modules.tee import logic  # pure: the same function consensus uses

    try:
        address = crypto.from_bech32(operator)
    except ChainError as err:
        raise CLIError(f"--operator: {err.log}") from None
    digest = logic.compute_report_data(chain_id, epoch, pubkey, address)
    return logic.compute_report_data_field(digest, 64).hex()


@tool_app.command("report-data")
def report_data(
    operator: str = typer.Option(..., "--operator", help="The worker's operator (bech32)."),
    chain_id: str = typer.Option("", "--chain-id", help="Default: ask the node."),
    epoch: int = typer.Option(-1, "--epoch", help="Default: the next block's epoch."),
    pubkey: str = typer.Option("", "--encryption-pubkey", help="Hex; default: the worker's."),
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    output: str = OutputOption,
) -> None:
    """The report_data a TEE report must carry to attest OPERATOR's worker (64 bytes hex; the
    first 32 are the digest, NVIDIA's 32-byte nonce is the digest alone)."""
    key = parse_hex(pubkey, "--encryption-pubkey", 32) if pubkey else b""
    if not (chain_id and epoch >= 0 and key):
        flags = TxFlags("", home, grpc_address, 0, "", "", True, output)
        with connected(flags) as client:
            chain_id = chain_id or client.chain_id
            epoch = epoch if epoch >= 0 else _next_epoch(client)
            key = key or _worker_pubkey(client, operator)
    data = report_data_hex(chain_id, epoch, key, operator)
    emit(
        {"report_data": data, "nonce": data[:64], "chain_id": chain_id, "epoch": epoch},
        output,
        data,
    )


@tx_app.command("attest")
def attest(
    tee_type: str = typer.Option(..., "--type", help="tdx, sgx, snp, nvidia or insecure-test."),
    report: Path = typer.Option(None, "--report", help="Quote / report file (raw bytes)."),
    collateral: Path = typer.Option(None, "--collateral", help="Intel: collateral JSON."),
    cert_chain: Path = typer.Option(None, "--cert-chain", help="SNP: VCEK DER; NVIDIA: PEM."),
    measurement: str = typer.Option("", "--measurement", help="insecure-test: 48 bytes hex."),
    epoch: int = typer.Option(-1, "--epoch", help="Epoch the report binds (default: next)."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Attest your worker: the chain verifies the report at block time and stores the verdict.

    ``--type insecure-test --measurement HEX`` builds an unsigned test report bound to your
    worker (NOT a TEE: only test networks accept it)."""
    kind = parse_type(tee_type)
    insecure = kind == types_pb2.TEE_TYPE_INSECURE_TEST
    if insecure == (report is not None) or (insecure and not measurement):
        raise CLIError("give --report (a real TEE), or --measurement with --type insecure-test")
    fields = {
        "report": _read(report, "--report"),
        "collateral": _read(collateral, "--collateral"),
        "cert_chain": _read(cert_chain, "--cert-chain"),
    }
    test_measurement = parse_hex(measurement, "--measurement", 48) if insecure else b""
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)

    def build(client: Any, wallet: Any, options: Any) -> Any:
        operator = str(wallet.address())
        bound = epoch if epoch >= 0 else _next_epoch(client)
        if insecure:
            from modules.tee.verifiers import insecure as test_type

            data = report_data_hex(
                client.chain_id, bound, _worker_pubkey(client, operator), operator
            )
            fields["report"] = test_type.build_report(test_measurement, bytes.fromhex(data))
        msg = tx_pb2.MsgAttest(operator=operator, tee_type=kind, epoch=bound, **fields)
        return client.execute(wallet, [msg], **options)

    send(flags, build)


@tx_app.command("require")
def require(
    model_id: str,
    tee_types: list[str] = typer.Option([], "--type", help="Allowed TEE type (repeat)."),
    measurements: list[str] = typer.Option([], "--measurement", help="Allowed measurement hex."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Require TEE-attested workers for a model you own (no --type removes the requirement).
    Without --measurement the network's allowlist applies."""
    kinds = sorted({parse_type(t) for t in tee_types})
    listed = sorted({parse_hex(m, "--measurement").hex() for m in measurements})
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)

    def build(client: Any, wallet: Any, options: Any) -> Any:
        msg = tx_pb2.MsgSetModelRequirement(
            owner=str(wallet.address()), model_id=model_id, tee_types=kinds, measurements=listed
        )
        return client.execute(wallet, [msg], **options)

    send(flags, build)


@query_app.command("attestation")
def attestation(
    operator: str, height: int = HeightOption, node: str = NodeOption, output: str = OutputOption
) -> None:
    """A worker's current attestation and whether it is valid at that height."""
    _run(node, output, "/infera.tee.v1.Query/Attestation",
         query_pb2.QueryAttestationRequest(operator=operator),
         query_pb2.QueryAttestationResponse, height)  # fmt: skip


@query_app.command("requirement")
def requirement(
    model_id: str, height: int = HeightOption, node: str = NodeOption, output: str = OutputOption
) -> None:
    """A model's TEE requirement."""
    _run(node, output, "/infera.tee.v1.Query/ModelRequirement",
         query_pb2.QueryModelRequirementRequest(model_id=model_id),
         query_pb2.QueryModelRequirementResponse, height)  # fmt: skip


@query_app.command("params")
def params(node: str = NodeOption, output: str = OutputOption) -> None:
    """The tee module's params."""
    _run(node, output, "/infera.tee.v1.Query/Params", query_pb2.QueryParamsRequest(),
         query_pb2.QueryParamsResponse)  # fmt: skip
