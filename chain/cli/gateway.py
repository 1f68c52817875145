"""``infera gateway``: an OpenAI-compatible HTTP gateway whose completions are Infera jobs.

    infera gateway --key NAME --api-keys FILE --model ID=MODEL_DIR [--model ...]
        [--home DIR] [--grpc HOST:PORT] [--rpc http://127.0.0.1:26657] [--listen 127.0.0.1:8080]
        [--max-tokens 256] [--timeout 120] [--max-body-bytes 65536] [--keepalive 15]
        [--metrics/--no-metrics]

Each chat request is signed by the ``--key`` account (it pays gas and the job's escrow) and
answered once the chain finalizes the job. ``--api-keys`` holds the accepted bearer tokens, one
per line ('#' comments); the gateway will not start without one. ``--model`` names the model
folder (as its workers load it) whose tokenizer renders the chat and decodes the output.
``GET /metrics`` (Prometheus, no API key) is served on the same port unless ``--no-metrics``.
``--rpc`` is the node's CometBFT RPC, whose websocket block events wake waiting requests (one
subscription; ``--rpc ''`` or an unreachable node: polling every 0.25 s). See docs/gateway.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer

from chain.cli.common import CLIError, HomeOption
from chain.cli.infera_tx import GRPC_ADDRESS_RE, signing_key
from chain.cli.prove import GrpcOption
from chain.gateway.tokenizer import Tokenizer

LISTEN_RE = re.compile(r"([A-Za-z0-9.-]+):([0-9]{1,5})")  # fullmatch
RPC_RE = re.compile(r"(https?://)?[A-Za-z0-9.-]+:[0-9]{1,5}/?")  # fullmatch; "" = no events
MODEL_ARG_RE = re.compile(r"([a-z0-9._-]{1,64})=(.+)")  # fullmatch


def register(app: typer.Typer) -> None:
    """Attach ``infera gateway`` to the root command."""
    app.command("gateway")(gateway)


def read_api_keys(path: Path) -> frozenset[str]:
    """The bearer tokens of ``path``: one per line, blank lines and '#' comments skipped."""
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise CLIError(f"--api-keys: cannot read {path}: {err.strerror}") from None
    keys = frozenset(s for s in (line.strip() for line in lines) if s and not s.startswith("#"))
    if not keys:
        raise CLIError(f"--api-keys: {path} holds no key; the gateway would be an open faucet")
    if any(len(k) < 16 or not re.fullmatch(r"[A-Za-z0-9._~+/=-]+", k) for k in keys):
        raise CLIError("--api-keys: each key must be 16+ characters of [A-Za-z0-9._~+/=-]")
    return keys


def parse_models(values: list[str]) -> dict[str, Path]:
    models: dict[str, Path] = {}
    for value in values:
        match = MODEL_ARG_RE.fullmatch(value)
        if not match:
            raise CLIError(f"--model: expected ID=MODEL_DIR, got {value!r}")
        models[match.group(1)] = Path(match.group(2))
    if not models:
        raise CLIError("give at least one --model ID=MODEL_DIR")
    return models


def gateway(
    key: str = typer.Option(..., "--key", help="Paying key: its name in HOME/keyring or address."),
    api_keys: Path = typer.Option(..., "--api-keys", help="File of accepted bearer tokens."),
    model: list[str] = typer.Option([], "--model", help="ID=MODEL_DIR (repeatable)."),
    home: Path = HomeOption,
    grpc_address: str = GrpcOption,
    rpc: str = typer.Option(
        "http://127.0.0.1:26657", "--rpc", help="CometBFT RPC for block events ('' to poll)."
    ),
    listen: str = typer.Option("127.0.0.1:8080", "--listen", help="HTTP host:port."),
    max_tokens: int = typer.Option(256, "--max-tokens", min=1, help="Cap on max_tokens."),
    timeout: float = typer.Option(120.0, "--timeout", min=1.0, help="Seconds to await a job."),
    max_body_bytes: int = typer.Option(65536, "--max-body-bytes", min=1024),
    keepalive: float = typer.Option(
        15.0, "--keepalive", min=0.1, max=15.0, help="Seconds between SSE keep-alives."
    ),
    metrics: bool = typer.Option(
        True, "--metrics/--no-metrics", help="Serve GET /metrics (Prometheus, no API key)."
    ),
) -> None:
    """Serve /v1/models and /v1/chat/completions; every completion is a job the chain finalized."""
    import uvicorn

    from chain.client import Client
    from chain.gateway.app import Settings, create_app
    from chain.gateway.backend import ChainBackend
    from chain.gateway.events import JobEvents, websocket_url

    listen_match = LISTEN_RE.fullmatch(listen)
    if not listen_match:
        raise CLIError(f"--listen: expected host:port, got {listen!r}")
    if not GRPC_ADDRESS_RE.fullmatch(grpc_address.removeprefix("http://")):
        raise CLIError(f"invalid --grpc address {grpc_address!r}: expected host:port")
    if rpc and not RPC_RE.fullmatch(rpc):
        raise CLIError(f"invalid --rpc {rpc!r}: expected [http://]host:port or ''")
    settings = Settings(api_keys=read_api_keys(api_keys), max_body_bytes=max_body_bytes,
                        max_tokens=max_tokens, timeout_s=timeout, metrics=metrics,
                        keepalive_s=keepalive)  # fmt: skip
    events = JobEvents(websocket_url(rpc) if rpc else None, poll_s=settings.poll_s)
    tokenizers = load_tokenizers(parse_models(model))
    wallet = signing_key(home, key).wallet()
    with Client(grpc_address) as client:
        app = create_app(ChainBackend(client, wallet), tokenizers, settings, events=events)
        host, port = listen_match.group(1), int(listen_match.group(2))
        uvicorn.run(app, host=host, port=port, log_level="warning")


def load_tokenizers(models: dict[str, Path]) -> dict[str, Tokenizer]:
    from chain.gateway.tokenizer import FolderTokenizer

    loaded: dict[str, Tokenizer] = {}
    for model_id, folder in sorted(models.items()):
        try:
            loaded[model_id] = FolderTokenizer(folder)
        except ImportError as err:
            raise CLIError(f"the gateway needs the `worker` extra (transformers): {err}") from None
        except (OSError, ValueError) as err:
            raise CLIError(f"--model {model_id}: cannot load {folder}: {err}") from None
    return loaded
