"""``infera tx zk ...`` and ``infera query zk ...``: verifying keys and job proofs (modules/zk).

    infera tx zk register-key KEY_ID MODEL --vk verification_key.json [--dev-setup] --from K
        [--weights-commitment C]   (a private-weight circuit: C is its public signal -2)
    infera tx zk submit-proof JOB_ID --proof proof.json --public public.json --from K
    infera query zk key KEY_ID | job-proof JOB_ID | params
    infera worker zk-run --model M --key-id K --circuit DIR --from KEY   (a proving worker)

The JSON files are snarkjs' own (groth16, bn128); they are converted to the chain's canonical
binary encoding (modules/zk/encoding.py) before signing.
"""

from __future__ import annotations

import json
import re
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
    signing_key,
)
from chain.cli.modules import HeightOption, _run
from chain.cli.prove import GrpcOption
from infera.zk.v1 import query_pb2, tx_pb2, types_pb2

tx_app = typer.Typer(help="Register zk verifying keys and submit proofs.", no_args_is_help=True)
query_app = typer.Typer(help="zk verifying keys and job proofs.", no_args_is_help=True)


def register(tx: typer.Typer, query: typer.Typer, worker: typer.Typer | None = None) -> None:
    """Attach ``zk`` to ``infera tx`` and ``infera query``, and ``zk-run`` to ``infera worker``."""
    tx.add_typer(tx_app, name="zk")
    query.add_typer(query_app, name="zk")
    if worker is not None:
        worker.command("zk-run")(zk_run)


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise CLIError(f"cannot read {path}: {err}") from None


_DECIMAL = re.compile(r"[0-9]{1,78}")
_HEX = re.compile(r"0x[0-9a-fA-F]{1,64}")


def parse_weights_commitment(text: str) -> bytes:
    """A weights commitment as the chain stores it (32 bytes big-endian, < r) from a decimal
    string (snarkjs' public.json prints signals so) or 0x-hex; CLIError otherwise."""
    from modules.zk.encoding import WORD, R

    if _DECIMAL.fullmatch(text):
        value = int(text, 10)
    elif _HEX.fullmatch(text):
        value = int(text[2:], 16)
    else:
        raise CLIError(f"--weights-commitment {text[:80]!r}: not a decimal or 0x-hex integer")
    if value >= R:
        raise CLIError("--weights-commitment: not a scalar < r (the BN254 scalar field)")
    return value.to_bytes(WORD, "big")


def _convert(fn: Any, data: Any, what: str) -> bytes:
    try:
        return bytes(fn(data))
    except (KeyError, TypeError, ValueError) as err:
        raise CLIError(f"{what} is not snarkjs groth16/bn128 JSON: {err}") from None


@tx_app.command("register-key")
def register_key(
    key_id: str,
    model_id: str,
    vk: Path = typer.Option(None, "--vk", help="snarkjs verification_key.json (dev keys)."),
    dev_setup: bool = typer.Option(False, "--dev-setup", help="Key from a one-party dev setup."),
    zkey: Path = typer.Option(None, "--zkey", help="A multi-party ceremony's final zkey."),
    r1cs: Path = typer.Option(None, "--r1cs", help="The circuit the zkey must be for."),
    ptau: Path = typer.Option(None, "--ptau", help="The phase-1 powers of tau it must use."),
    min_contributions: int = typer.Option(2, "--min-contributions", min=1, help="Phase 2."),
    weights_commitment: str = typer.Option(
        None,
        "--weights-commitment",
        help="Private-weight circuit: the commitment to your weights (its public signal -2).",
    ),
    from_: str = FromOption,
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    gas: int = GasOption,
    fees: str = FeesOption,
    memo: str = MemoOption,
    wait: bool = WaitOption,
    output: str = OutputOption,
) -> None:
    """Register a Groth16 verifying key for a model you own.

    A dev key: ``--vk verification_key.json --dev-setup``. A ceremony key (registered as
    non-dev): ``--zkey final.zkey --r1cs circuit.r1cs --ptau phase1.ptau``; ``snarkjs zkey
    verify`` must accept it with at least --min-contributions phase-2 contributions, and the
    key registered is the one exported from that zkey. The CLI never declares a key non-dev
    without that check, and refuses dev keys where the chain's params say refuse_dev_keys.

    A private-weight circuit (inference_worker/zk/private.py) pins no model by its key:
    ``--weights-commitment C`` registers the key as PRIVATE with C (decimal as snarkjs prints it,
    or 0x-hex; ``snarkjs.public_signals`` of any input gives it as signal -2), and the chain then
    takes only proofs whose public input -2 is C. Without it the key is BAKED (weights are
    circuit constants).
    """
    from modules.zk import encoding  # pure conversion of snarkjs JSON to canonical bytes

    commitment = b"" if weights_commitment is None else parse_weights_commitment(weights_commitment)
    if zkey is not None:
        data = _verified_ceremony_key(zkey, r1cs, ptau, vk, dev_setup, min_contributions)
    elif vk is None:
        raise CLIError("give --vk (with --dev-setup) or --zkey --r1cs --ptau (a ceremony)")
    else:
        data = _json(vk)
    key = _convert(encoding.verifying_key_from_snarkjs, data, str(zkey or vk))
    if zkey is None and not dev_setup:
        raise CLIError(
            "a key from --vk alone is registered only with --dev-setup; a non-dev key needs its "
            "ceremony checked: --zkey --r1cs --ptau"
        )
    flags = TxFlags(from_, home, grpc_address, gas, fees, memo, wait, output)

    def build(client: Any, wallet: Any, options: Any) -> Any:
        if dev_setup and _refuses_dev_keys(client):
            raise CLIError("this chain refuses dev-setup keys (genesis zk params refuse_dev_keys)")
        owner = str(wallet.address())
        msg = tx_pb2.MsgRegisterVerifyingKey(
            owner=owner,
            id=key_id,
            model_id=model_id,
            key=key,
            dev_setup=dev_setup,
            weights=types_pb2.WEIGHTS_MODE_PRIVATE if commitment else types_pb2.WEIGHTS_MODE_BAKED,
            weights_commitment=commitment,
        )
        return client.execute(wallet, [msg], **options)

    send(flags, build)


def _verified_ceremony_key(
    zkey: Path, r1cs: Path | None, ptau: Path | None, vk: Path | None, dev: bool, least: int
) -> Any:
    """The verification key of a zkey that ``snarkjs zkey verify`` accepts (CLIError else)."""
    import tempfile

    from inference_worker.zk import snarkjs

    if r1cs is None or ptau is None:
        raise CLIError("--zkey needs --r1cs and --ptau (what the ceremony is checked against)")
    if vk is not None or dev:
        raise CLIError("--zkey takes neither --vk (the key is exported from it) nor --dev-setup")
    if not snarkjs.is_available():
        raise CLIError("checking a ceremony needs snarkjs (make install)")
    with tempfile.TemporaryDirectory(prefix="infera-zkey-") as tmp:
        try:
            ceremony = snarkjs.verify_ceremony(r1cs, ptau, zkey, Path(tmp))
        except (snarkjs.CeremonyError, RuntimeError, OSError) as err:
            raise CLIError(f"{zkey}: snarkjs zkey verify refused it: {err}") from None
    if len(ceremony.contributions) < least:
        raise CLIError(
            f"{zkey}: {len(ceremony.contributions)} phase-2 contribution(s), "
            f"--min-contributions is {least}"
        )
    return ceremony.vk


def _refuses_dev_keys(client: Any) -> bool:
    params = client.query(
        "/infera.zk.v1.Query/Params", query_pb2.QueryParamsRequest(), query_pb2.QueryParamsResponse
    ).params
    return bool(params.refuse_dev_keys)


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


def zk_run(
    model_id: str = typer.Option(..., "--model", help="The ZK model to serve."),
    key_id: str = typer.Option(..., "--key-id", help="Its verifying key on chain."),
    circuit_dir: Path = typer.Option(
        ..., "--circuit", help="Compiled circuit folder (zk-circuits)."
    ),
    circuit_name: str = typer.Option("mlp", "--circuit-name", help="<name>.zkey, <name>_js/."),
    input_format: str = typer.Option("digits", "--input", help="Job payload format: digits."),
    cold: bool = typer.Option(False, "--cold-prover", help="snarkjs fullprove per proof."),
    stake: int = typer.Option(2_000_000, "--stake", min=1, help="uinfera bonded on registration."),
    state_dir: Path = typer.Option(Path("zk-worker-state"), "--state-dir", help="Last height."),
    chain_id: str = typer.Option("", "--chain-id", help="Default: ask the node."),
    from_: str = FromOption,
    home: Path = HomeOption,
    node: str = NodeOption,
    grpc_address: str = GrpcOption,
) -> None:
    """Prove the jobs assigned to this worker for a ZK model and submit the proofs (SIGTERM stops)."""
    import asyncio
    import signal

    from inference_worker.node.zk_worker import (
        ZkWorker,
        ZkWorkerConfig,
        ZkWorkerError,
        digits_inputs,
    )
    from inference_worker.zk import snarkjs

    if input_format != "digits":
        raise CLIError(f"--input: unknown payload format {input_format!r} (digits)")
    if not snarkjs.is_available():
        raise CLIError("snarkjs/circom2 are not installed (make install)")
    done = circuit_dir / ".complete"
    circuit = snarkjs.Circuit(folder=circuit_dir, name=circuit_name,
                              constraints=int(done.read_text()) if done.is_file() else 0)  # fmt: skip
    if not (circuit.zkey.is_file() and circuit.wasm.is_file() and circuit.vk_json.is_file()):
        raise CLIError(f"{circuit_dir}: no {circuit_name}.zkey, wasm or verification_key.json")
    wallet = signing_key(home, from_).wallet()
    config = ZkWorkerConfig(node_rpc=node, node_grpc=grpc_address, model_id=model_id,
                            key_id=key_id, state_dir=state_dir, chain_id=chain_id, stake=stake)  # fmt: skip
    prover = snarkjs.SnarkjsProver() if cold else snarkjs.WarmSnarkjsProver()
    worker = ZkWorker(config, wallet, circuit=circuit, prover=prover,
                      inputs_from_payload=digits_inputs)  # fmt: skip

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await worker.run(stop)

    try:
        asyncio.run(main())
    except ZkWorkerError as err:
        raise CLIError(str(err)) from None
    finally:
        if isinstance(prover, snarkjs.WarmSnarkjsProver):
            prover.close()
