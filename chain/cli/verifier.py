"""``infera verifier run``: the validator's verifier sidecar (inference_worker/verify/sidecar.py).

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
    dtypes: str = typer.Option(
        "float32,bfloat16,float16",
        "--dtypes",
        help="Comma-separated dtypes the reference may be held in, each loaded the first time "
        "a job's hop declares it; restrict to save memory (routes with other hops are skipped).",
    ),
) -> None:
    """Poll the node for open disputes and audits; write a verdict per job to HOME/data/verdicts."""
    try:
        from chain.cli.rpc import CometRPC
        from chain.nodeconfig import VERDICT_INBOX
        from chain.verdict_inbox import VerdictInbox
        from inference_worker.verify.sidecar import DTYPES, Sidecar
    except ImportError as exc:
        raise CLIError(
            f"the verifier needs the worker extra (torch, transformers): {exc}"
        ) from None
    if not (model_dir / "config.json").is_file():
        raise CLIError(f"{model_dir} is not a prepared model folder (no config.json)")
    names = [name.strip() for name in dtypes.split(",") if name.strip()]
    unknown = [name for name in names if name not in DTYPES]
    if unknown or not names:
        raise CLIError(f"--dtypes: a comma-separated list of {', '.join(DTYPES)}, got {dtypes!r}")
    sidecar = Sidecar(rpc=CometRPC(node), model_id=model_id, model_dir=model_dir,
                      inbox=VerdictInbox(home / VERDICT_INBOX),
                      dtypes=tuple(DTYPES[name] for name in names))  # fmt: skip
    typer.echo(
        f"verifying {model_id} for the node at {node}; verdicts go to {home / VERDICT_INBOX}"
    )
    sidecar.run(interval)
