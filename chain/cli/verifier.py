"""``infera verifier run``: the validator's verifier sidecar (inference_worker/sidecar.py).

torch is imported only when the command runs, so a validator without the worker extra can
still use every other command (it then simply abstains from dispute votes).
"""

from __future__ import annotations

from pathlib import Path

import typer

from chain.cli.common import CLIError, HomeOption, NodeOption

app = typer.Typer(help="Verify disputed and audited jobs and vote on them.", no_args_is_help=True)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="verifier")


@app.command("run")
def run(
    model_id: str = typer.Option(..., "--model-id", help="On-chain id of the model to verify."),
    model_dir: Path = typer.Option(
        ..., "--model-dir", help="Prepared model folder (infera model prepare)."
    ),
    home: Path = HomeOption,
    node: str = NodeOption,
    interval: float = typer.Option(2.0, "--interval", help="Seconds between passes."),
    bf16: bool = typer.Option(
        False, "--bf16", help="Also load bfloat16 weights, to check bf16 workers."
    ),
) -> None:
    """Poll the node for open disputes and audits; write a verdict per job to HOME/data/verdicts."""
    try:
        import torch

        from chain.cli.rpc import CometRPC
        from chain.nodeconfig import VERDICT_INBOX
        from chain.verdict_inbox import VerdictInbox
        from inference_worker.sidecar import Sidecar
    except ImportError as exc:
        raise CLIError(
            f"the verifier needs the worker extra (torch, transformers): {exc}"
        ) from None
    if not (model_dir / "config.json").is_file():
        raise CLIError(f"{model_dir} is not a prepared model folder (no config.json)")
    dtypes = (torch.float32, torch.bfloat16) if bf16 else (torch.float32,)
    sidecar = Sidecar(rpc=CometRPC(node), model_id=model_id, model_dir=model_dir,
                      inbox=VerdictInbox(home / VERDICT_INBOX), dtypes=dtypes)  # fmt: skip
    typer.echo(
        f"verifying {model_id} for the node at {node}; verdicts go to {home / VERDICT_INBOX}"
    )
    sidecar.run(interval)
