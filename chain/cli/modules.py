"""``infera query inference|agreement|workers|models|sharding``: the inference modules' queries
(the same ABCI query paths the gRPC server serves), printed as JSON."""

from __future__ import annotations

from typing import Any

import chain.pb  # noqa: F401

import typer
from google.protobuf import json_format
from google.protobuf.message import Message

from chain.cli.common import CLIError, NodeOption, OutputOption, emit
from chain.cli.rpc import CometRPC, RPCError
from infera.agreement.v1 import query_pb2 as agreement_q
from infera.base.v1 import pagination_pb2
from infera.inference.v1 import query_pb2 as inference_q
from infera.inference.v1 import types_pb2 as inference_t
from infera.models.v1 import query_pb2 as models_q
from infera.sharding.v1 import query_pb2 as sharding_q
from infera.workers.v1 import query_pb2 as workers_q

inference_app = typer.Typer(help="Inference jobs.", no_args_is_help=True)
agreement_app = typer.Typer(help="Output agreement: a job's full history.", no_args_is_help=True)
workers_app = typer.Typer(help="Workers.", no_args_is_help=True)
models_app = typer.Typer(help="Registered models.", no_args_is_help=True)
sharding_app = typer.Typer(help="Layer coverage and span suggestions.", no_args_is_help=True)

HeightOption = typer.Option(0, "--height", help="Query at this height (0 = latest).")
LimitOption = typer.Option(50, "--limit", help="Page size (at most 1000).")
KeyOption = typer.Option("", "--page-key", help="next_key (base64) from the previous page.")


_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def register(app: typer.Typer) -> None:
    """Attach the module query groups to ``infera query``."""
    app.add_typer(inference_app, name="inference")
    app.add_typer(agreement_app, name="agreement")
    app.add_typer(workers_app, name="workers")
    app.add_typer(models_app, name="models")
    app.add_typer(sharding_app, name="sharding")


def _run(
    node: str, output: str, path: str, request: Message, response: type[Message], height: int = 0
) -> None:
    try:
        answer = CometRPC(node).query(path, request, response, height)
    except RPCError as err:
        raise CLIError(str(err)) from None
    data: Any = json_format.MessageToDict(answer, preserving_proto_field_name=True)
    emit(data, output)


def _page(limit: int, key: str) -> pagination_pb2.PageRequest:
    import base64

    if limit <= 0 or limit > 1000:
        raise CLIError("--limit must be 1..1000")
    return pagination_pb2.PageRequest(limit=limit, key=base64.b64decode(key) if key else b"")


@inference_app.command("job")
def job(
    job_id: int, height: int = HeightOption, node: str = NodeOption, output: str = OutputOption
) -> None:
    """One job: state, routes, escrow, result."""
    _run(node, output, "/infera.inference.v1.Query/Job", inference_q.QueryJobRequest(job_id=job_id),
         inference_q.QueryJobResponse, height)  # fmt: skip


@inference_app.command("jobs")
def jobs(
    submitter: str = typer.Option("", help="Only jobs from this submitter (bech32)."),
    model: str = typer.Option("", help="Only jobs for this model id."),
    worker: str = typer.Option("", help="Only jobs with this worker on a route (bech32)."),
    state: str = typer.Option("", help="Only jobs in this state, e.g. FINALIZED, DISPUTED."),
    min_height: int = typer.Option(0, help="Submitted at or after this height."),
    max_height: int = typer.Option(0, help="Submitted at or before this height."),
    limit: int = LimitOption,
    page_key: str = KeyOption,
    node: str = NodeOption,
    output: str = OutputOption,
) -> None:
    """Jobs matching every filter given, oldest first, one page at a time."""
    try:
        # ASCII-only case folding: str.upper() maps "ı" to "I", so "submıtted" would pass.
        folded = state.translate(_ASCII_UPPER) if state else ""
        state_value = inference_t.JobState.Value(f"JOB_STATE_{folded}") if folded else 0
    except ValueError:
        names = ", ".join(n.removeprefix("JOB_STATE_") for n in inference_t.JobState.keys()[1:])
        raise CLIError(f"unknown state {state!r}; one of {names}") from None
    request = inference_q.QueryJobsRequest(
        submitter=submitter, model_id=model, worker=worker, state=state_value,
        min_height=min_height, max_height=max_height, pagination=_page(limit, page_key),
    )  # fmt: skip
    _run(node, output, "/infera.inference.v1.Query/Jobs", request, inference_q.QueryJobsResponse)


@agreement_app.command("history")
def history(
    job_id: int, height: int = HeightOption, node: str = NodeOption, output: str = OutputOption
) -> None:
    """A job's routes, commitments, reveals, outputs, dispute, votes and payouts."""
    _run(node, output, "/infera.agreement.v1.Query/JobHistory",
         agreement_q.QueryJobHistoryRequest(job_id=job_id), agreement_q.QueryJobHistoryResponse, height)  # fmt: skip


@workers_app.command("worker")
def worker(operator: str, node: str = NodeOption, output: str = OutputOption) -> None:
    """A worker's registration: endpoint, hardware, runtime, spans."""
    _run(node, output, "/infera.workers.v1.Query/Worker", workers_q.QueryWorkerRequest(operator=operator),
         workers_q.QueryWorkerResponse)  # fmt: skip


@workers_app.command("stats")
def stats(operator: str, node: str = NodeOption, output: str = OutputOption) -> None:
    """A worker's stake, reputation and activity."""
    _run(node, output, "/infera.workers.v1.Query/WorkerStats",
         workers_q.QueryWorkerStatsRequest(operator=operator), workers_q.QueryWorkerStatsResponse)  # fmt: skip


@workers_app.command("list")
def workers(
    limit: int = LimitOption,
    page_key: str = KeyOption,
    node: str = NodeOption,
    output: str = OutputOption,
) -> None:
    """Every registered worker, one page at a time."""
    _run(node, output, "/infera.workers.v1.Query/Workers",
         workers_q.QueryWorkersRequest(pagination=_page(limit, page_key)), workers_q.QueryWorkersResponse)  # fmt: skip


@models_app.command("model")
def model(model_id: str, node: str = NodeOption, output: str = OutputOption) -> None:
    """A registered model: layers, commitments, price, redundancy."""
    _run(node, output, "/infera.models.v1.Query/Model", models_q.QueryModelRequest(id=model_id),
         models_q.QueryModelResponse)  # fmt: skip


@models_app.command("list")
def models(
    limit: int = LimitOption,
    page_key: str = KeyOption,
    node: str = NodeOption,
    output: str = OutputOption,
) -> None:
    """Every registered model, one page at a time."""
    _run(node, output, "/infera.models.v1.Query/Models",
         models_q.QueryModelsRequest(pagination=_page(limit, page_key)), models_q.QueryModelsResponse)  # fmt: skip


@sharding_app.command("coverage")
def coverage(model_id: str, node: str = NodeOption, output: str = OutputOption) -> None:
    """Which active workers serve each layer of a model, and the summed throughput."""
    _run(node, output, "/infera.sharding.v1.Query/Coverage",
         sharding_q.QueryCoverageRequest(model_id=model_id), sharding_q.QueryCoverageResponse)  # fmt: skip


@sharding_app.command("suggest")
def suggest(
    model_id: str,
    memory_bytes: int = typer.Option(..., help="Memory the new worker offers (bytes)."),
    throughput: int = typer.Option(..., help="Its measured throughput (tokens/s)."),
    node: str = NodeOption,
    output: str = OutputOption,
) -> None:
    """The span a new worker should serve to raise the model's weakest layer most."""
    request = sharding_q.QuerySuggestSpanRequest(
        model_id=model_id, memory_bytes=memory_bytes, throughput=throughput
    )
    _run(
        node,
        output,
        "/infera.sharding.v1.Query/SuggestSpan",
        request,
        sharding_q.QuerySuggestSpanResponse,
    )
