"""The explorer in a real headless Chromium (Debian's /usr/bin/chromium) against a live network: one
validator, three real `infera worker run` processes serving a tiny seeded Llama on one route of
three hops, a job whose prompt is an XSS payload, finalized by the chain.

The rendered DOM (after Chromium ran the page) must show the live figures: the chain height, every
worker's address, the finalized job, one serving worker per layer in the coverage bar; the job
page its settlement and a state-proof link that answers. The payload never becomes an element.
Screenshots: the test's tmp and bench/results/explorer.png (overview), explorer-job.png.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import chain.pb  # noqa: F401

import httpx
import pytest

from chain.client import Client
from infera.inference.v1 import types_pb2 as inference_types
from tests.chain.rest.helpers import rest_server
from tests.integration.conftest import (
    TIMEOUT_COMMIT,
    NodeProcess,
    _have_cometbft,
    init_solo_node,
    load_dev_accounts,
)

NEEDS_COMETBFT = pytest.mark.skipif(
    not _have_cometbft(), reason="cometbft not found: run `make install`"
)
pytestmark = [pytest.mark.integration, pytest.mark.slow, NEEDS_COMETBFT]

pytest.importorskip("torch")

from tests.integration.test_e2e_inference import (  # noqa: E402
    DEADLINE,
    MODEL_ID,
    SPANS,
    patch_genesis,
    register_model,
    write_worker_config,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]  # fmt: skip
CHAIN_ID = "infera-explorer"
XSS_PROMPT = b"<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def chromium(url: str, profile: Path, *args: str) -> str:
    """Chromium's stdout for ``url`` (with ``--dump-dom``: the DOM after the page ran)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run make install-browser")
    profile.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def screenshot(url: str, profile: Path, path: Path, height: int) -> None:
    chromium(url, profile, f"--screenshot={path}", f"--window-size=1400,{height}")
    assert path.stat().st_size > 10_000, "an empty screenshot"


@dataclass
class Live:
    url: str  # the REST + explorer server
    job_id: int
    final_height: int
    workers: list[str]
    tmp: Path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from inference_worker.models import make_tiny_model

    root = tmp_path_factory.mktemp("explorer")
    home, rpc, grpc_address = init_solo_node(root, CHAIN_ID, TIMEOUT_COMMIT)
    patch_genesis(home)
    node = NodeProcess("solo", home, rpc)
    accounts = load_dev_accounts(home / "dev-accounts.json")
    model_dir = make_tiny_model("llama", root / "model", seed=1234)
    workers = [
        write_worker_config(root, f"w{i}-{a}-{b}", accounts[1 + i], (a, b), rpc, grpc_address)
        for i, (a, b) in enumerate(SPANS)
    ]
    client = Client(grpc_address, chain_id=CHAIN_ID)
    node.start()
    try:
        node.wait_height(2)
        register_model(client, Client.wallet(accounts[0].mnemonic), model_dir)  # min r = 1
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_log(r"watching job assignments", timeout=240)
        job_id, job = run_job(client, Client.wallet(accounts[7].mnemonic))
        with rest_server(grpc_address, root / "rest.log", "--refresh", "5") as url:
            yield Live(
                url, job_id, int(job.final_height), [w.account.address for w in workers], root
            )
    finally:
        for worker in workers:
            worker.stop()
        client.close()
        node.stop()


def run_job(client: Client, wallet) -> tuple[int, object]:
    """A greedy 8-token job with the XSS prompt on one route; (job id, the finalized job)."""
    result = client.submit_job(
        wallet, model_id=MODEL_ID, prompt=XSS_PROMPT, max_new_tokens=8, redundancy=1,
        max_fee=10 * (8 + len(XSS_PROMPT)), deadline_blocks=DEADLINE,
        decoding=inference_types.Decoding(mode=inference_types.DECODING_MODE_GREEDY),
    )  # fmt: skip
    job_id = int(result.attribute("infera.job_submitted", "job_id"))
    deadline = time.monotonic() + 300
    while (job := client.job(job_id)).state != inference_types.JOB_STATE_FINALIZED:
        assert job.state not in (
            inference_types.JOB_STATE_EXPIRED,
            inference_types.JOB_STATE_CANCELLED,
        ), job
        assert time.monotonic() < deadline, f"job {job_id} stuck: {job}"
        time.sleep(0.3)
    return job_id, job


def test_overview_in_chromium_shows_height_workers_coverage_and_the_finalized_job(live):
    dom = chromium(f"{live.url}/explorer", live.tmp / "profile-1", "--dump-dom")
    (live.tmp / "explorer.html").write_text(dom)  # the rendered DOM, next to the screenshot
    height = int(re.search(r'id="height" data-height="(\d+)"', dom).group(1))
    assert height >= live.final_height
    for address in live.workers:
        assert f'<tr data-worker="{address}">' in dom  # the workers table
        assert f'<div class="span-row" data-worker="{address}">' in dom  # who serves which layers
    bar = re.search(rf'<div class="bar"[^>]*data-model="{MODEL_ID}">(.*?)</div>', dom).group(1)
    cells = re.findall(r'data-layer="(\d+)" data-workers="(\d+)" data-throughput="(\d+)"', bar)
    assert [(int(a), int(n)) for a, n, _ in cells] == [(i, 1) for i in range(SPANS[-1][1])]
    assert all(int(t) > 0 for _, _, t in cells)
    assert re.search(rf'<tr data-job="{live.job_id}" data-state="FINALIZED">', dom)
    assert "FINALIZED" in dom and "commits 3/3" in dom and "reveals 3/3" in dom
    # The XSS prompt is text on the page, never an element, and never ran.
    assert "&lt;script&gt;document.title" in dom
    assert "<script" not in dom.lower() and "<img" not in dom.lower()
    assert "<title>pwned" not in dom
    tmp_png = live.tmp / "explorer.png"
    screenshot(f"{live.url}/explorer", live.tmp / "profile-2", tmp_png, 1800)
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_png, RESULTS / "explorer.png")


def test_job_page_in_chromium_shows_settlement_and_a_working_proof_link(live):
    dom = chromium(f"{live.url}/explorer/job/{live.job_id}", live.tmp / "profile-3", "--dump-dom")
    (live.tmp / "explorer-job.html").write_text(dom)
    assert f'data-job="{live.job_id}"' in dom and "<b>FINALIZED</b>" in dom
    assert re.search(r'<p id="settlement">FINALIZED at height \d+', dom)
    assert "<script" not in dom.lower()
    link = re.search(r'href="(/infera/store/v1/proven\?key=[A-Za-z0-9_=-]+)"', dom).group(1)
    proven = httpx.get(live.url + link.replace("&amp;", "&"), timeout=30).json()
    assert proven["exists"] is True and proven["proof"] and int(proven["height"]) > 0
    tmp_png = live.tmp / "explorer-job.png"
    screenshot(f"{live.url}/explorer/job/{live.job_id}", live.tmp / "profile-4", tmp_png, 1400)
    shutil.copyfile(tmp_png, RESULTS / "explorer-job.png")
