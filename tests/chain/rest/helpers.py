"""Start the real ``infera rest`` command against a node (used by the REST and explorer tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from chain.testnet import node_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def rest_server(grpc_address: str, log: Path, *args: str) -> Iterator[str]:
    """``infera rest --grpc ADDRESS`` on a free port until the block ends; yields its base URL."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "chain.cli.main", "rest", "--grpc", grpc_address,
             "--listen", f"127.0.0.1:{port}", *args],
            stdout=out, stderr=subprocess.STDOUT, env=node_env(), start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/cosmos/base/tendermint/v1beta1/syncing", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "infera rest never listened"
                time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
