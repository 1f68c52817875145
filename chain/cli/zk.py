"""``infera tx zk ...`` and ``infera query zk ...``: verifying keys and job proofs (modules/zk).

    infera tx zk register-key KEY_ID MODEL --vk verification_key.json [--dev-setup] --from K
    infera tx zk submit-proof JOB_ID --proof proof.json --public public.json --from K
    infera query zk key KEY_ID | job-proof JOB_ID | params

The JSON files are snarkjs' own (groth16, bn128); they are converted to the chain's canonical
binary encoding (modules/zk/encoding.py) before signing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import chain.pb  # noqa: F401

import typer

from chain.cli.common import CLIError, HomeOption, NodeOption, OutputOption
from chain.cli.infera_tx import (
    FeesOption,
    FromOption,
    GasOption,
    MemoOption,
    TxFlags,
    WaitOption,
    send,
)
from chain.cli.modules import HeightOption, _run
from chain.cli.prove import GrpcOption
from infera.zk.v1 import query_pb2, tx_pb2

tx_app = typer.Typer(help="Register zk verifying keys and submit proofs.", no_args_is_help=True)
query_app = typer.Typer(help="zk verifying keys and job proofs.", no_args_is_help=True)


def register(tx: typer.Typer, query: typer.Typer) -> None:
    """Attach ``zk`` to ``infera tx`` and ``infera query``."""
    tx.add_typer(tx_app, name="zk")
    query.add_typer(query_app, name="zk")


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise CLIError(f"cannot read {path}: {err}") from None


def _convert(fn: Any, data: Any, what: str) -> bytes:
    try:
        return bytes(fn(data))
    except (KeyError, TypeError, ValueError) as err:
        raise CLIError(f"{what} is not snarkjs groth16/bn128 JSON: {err}") from None


@tx_app.command("register-key")
def register_key(
    key_id: str,
    model_id: str,
    vk: Path = typer.Option(..., "--vk", help="snarkjs verification_key.json."),
    dev_setup: bool = typer.Option(False, "--dev-setup", help="Key from a one-party dev setup."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Register a Groth16 verifying key for a model you own."""
    from modules.zk import encoding  # pure conversion of snarkjs JSON to canonical bytes

    key = _convert(encoding.verifying_key_from_snarkjs, _json(vk), str(vk))
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)

    def build(client: Any, wallet: Any, options: Any) -> Any:
        owner = str(wallet.address())
        msg = tx_pb2.MsgRegisterVerifyingKey(
            owner=owner, id=key_id, model_id=model_id, key=key, dev_setup=dev_setup
        )
        return client.execute(wallet, [msg], **options)

    send(flags, build)


@tx_app.command("submit-proof")
def submit_proof(
    job_id: int = typer.Argument(..., min=1),
    proof: Path = typer.Option(..., "--proof", help="snarkjs proof.json."),
    public: Path = typer.Option(..., "--public", help="snarkjs public.json."),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Submit a job's proof; it is verified in the end-block batch of its block."""
    from modules.zk import encoding

    proof_bytes = _convert(encoding.proof_from_snarkjs, _json(proof), str(proof))
    inputs = _convert(encoding.public_inputs_from_snarkjs, _json(public), str(public))
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)

    def build(client: Any, wallet: Any, options: Any) -> Any:
        msg = tx_pb2.MsgSubmitProof(
            prover=str(wallet.address()), job_id=job_id, proof=proof_bytes, public_inputs=inputs
        )
        return client.execute(wallet, [msg], **options)

    send(flags, build)


@query_app.command("key")
def key(
    key_id: str, height: int = HeightOption, node: str = NodeOption, output: str = OutputOption
) -> None:
    """A verifying key: owner, model, size, dev flag."""
    _run(node, output, "/infera.zk.v1.Query/VerifyingKey",
         query_pb2.QueryVerifyingKeyRequest(id=key_id), query_pb2.QueryVerifyingKeyResponse, height)  # fmt: skip


@query_app.command("job-proof")
def job_proof(
    job_id: int, height: int = HeightOption, node: str = NodeOption, output: str = OutputOption
) -> None:
    """A job's proof, public inputs (the result) and verdict."""
    _run(node, output, "/infera.zk.v1.Query/JobProof",
         query_pb2.QueryJobProofRequest(job_id=job_id), query_pb2.QueryJobProofResponse, height)  # fmt: skip


@query_app.command("params")
def params(node: str = NodeOption, output: str = OutputOption) -> None:
    """The zk module's params."""
    _run(node, output, "/infera.zk.v1.Query/Params", query_pb2.QueryParamsRequest(),
         query_pb2.QueryParamsResponse)  # fmt: skip
