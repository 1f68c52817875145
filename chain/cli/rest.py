"""``infera rest``: the REST (LCD) server and the explorer, over one node's gRPC port.

    infera rest [--grpc HOST:PORT] [--listen 127.0.0.1:1317] [--explorer/--no-explorer]
        [--refresh 5] [--max-body-bytes 1048576] [--timeout 30] [--cors]

Serves the Cosmos grpc-gateway paths (``/cosmos/...``) and every ``infera.*`` query
(``/infera/<module>/v1/<method>``) on ``--listen`` (the SDK's API port is 1317), and the
explorer pages under ``/explorer`` unless ``--no-explorer``. It talks to the node's gRPC port
only. See docs/rest.md and docs/explorer.md.
"""

from __future__ import annotations

import re

import typer

from chain.cli.common import CLIError
from chain.cli.infera_tx import GRPC_ADDRESS_RE
from chain.cli.prove import GrpcOption

LISTEN_RE = re.compile(r"([A-Za-z0-9.-]+):([0-9]{1,5})")  # fullmatch


def register(app: typer.Typer) -> None:
    """Attach ``infera rest`` to the root command."""
    app.command("rest")(rest)


def rest(
    grpc_address: str = GrpcOption,
    listen: str = typer.Option("127.0.0.1:1317", "--listen", help="HTTP host:port."),
    explorer: bool = typer.Option(
        True, "--explorer/--no-explorer", help="Serve the explorer pages under /explorer."
    ),
    refresh: int = typer.Option(5, "--refresh", min=0, help="Explorer auto-refresh, seconds."),
    max_body_bytes: int = typer.Option(1 << 20, "--max-body-bytes", min=1024),
    timeout: float = typer.Option(30.0, "--timeout", min=1.0, help="Seconds per gRPC call."),
    cors: bool = typer.Option(
        False, "--cors/--no-cors", help="Allow any web origin (browser wallets, web explorers)."
    ),
) -> None:
    """Serve the Cosmos REST (LCD) paths, the infera.* queries and the explorer."""
    import uvicorn

    from chain.rest.app import Settings, create_app

    listen_match = LISTEN_RE.fullmatch(listen)
    if not listen_match or int(listen_match.group(2)) > 65535:
        raise CLIError(f"--listen: expected host:port, got {listen!r}")
    address = grpc_address.removeprefix("http://")
    if not GRPC_ADDRESS_RE.fullmatch(address):
        raise CLIError(f"invalid --grpc address {grpc_address!r}: expected host:port")
    settings = Settings(grpc_address=address, max_body_bytes=max_body_bytes, timeout_s=timeout,
                        explorer=explorer, explorer_refresh_s=refresh, cors=cors)  # fmt: skip
    host, port = listen_match.group(1), int(listen_match.group(2))
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
