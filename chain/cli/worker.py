"""``infera worker run --config worker.toml``: run an inference worker (issue 6).

The worker code (torch, transformers) is imported only when the command runs, so validators
and clients never need the `worker` extra installed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import typer

from chain.cli.common import CLIError

app = typer.Typer(help="Inference workers.\n\ninfera worker run --config worker.toml")


@app.command()
def run(
    config: Path = typer.Option(..., "--config", "-c", help="worker.toml (see docs)."),
) -> None:
    """Load and verify the configured spans, register, serve, take jobs; until SIGTERM/Ctrl-C."""
    try:
        from inference_worker.node.config import ConfigError, load_config
        from inference_worker.node.worker import Worker, WorkerError
    except ImportError as err:  # the validator install has no torch
        raise CLIError(
            f"the worker needs the `worker` extra (torch, transformers): {err}"
        ) from None
    try:
        settings = load_config(config)
    except ConfigError as err:
        raise CLIError(str(err)) from None

    logging.basicConfig(  # the worker logs through the standard library, to stderr
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Worker(settings).run(stop)

    try:
        asyncio.run(main())
    except (WorkerError, ConfigError) as err:  # ConfigError: a busy [metrics] listen
        raise CLIError(str(err)) from None


@app.command()
def bench(
    out: Path = typer.Option(Path("bench/results/metainf"), "--out", help="Folder for the table."),
    hardware: str = typer.Option(
        "AVX512,AVX2,DEFAULT", "--hardware", help="ATEN_CPU_CAPABILITY variants, comma-separated."
    ),
    smol: bool = typer.Option(True, "--smol/--no-smol", help="Include SmolLM2-135M tasks."),
) -> None:
    """Measure every acceleration option over the task grid here; write table.json and .csv."""
    try:
        from inference_worker.accel.bench import run_grid
    except ImportError as err:  # the validator install has no torch
        raise CLIError(f"the bench needs the `worker` extra (torch, transformers): {err}") from None
    variants = tuple(h.strip().upper() for h in hardware.split(",") if h.strip())
    typer.echo(str(run_grid(out, hardware=variants, smol=smol)))
