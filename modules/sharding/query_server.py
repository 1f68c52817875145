"""sharding queries: coverage map, span suggestion, route preview, params."""

from __future__ import annotations

import chain.pb  # noqa: F401

from chain import crypto
from chain.context import Context
from infera.sharding.v1 import query_pb2, types_pb2
from modules.sharding import logic
from modules.sharding.errors import ErrInsufficientMemory
from modules.sharding.keeper import ShardingKeeper


def coverage(
    ctx: Context, keeper: ShardingKeeper, req: query_pb2.QueryCoverageRequest
) -> query_pb2.QueryCoverageResponse:
    model = keeper.get_model(ctx, req.model_id)
    layers = logic.compute_layer_coverage(
        model.num_layers, keeper.get_candidates(ctx, req.model_id)
    )
    minimum = min(throughput for _, throughput in layers)
    return query_pb2.QueryCoverageResponse(
        model_id=model.id,
        num_layers=model.num_layers,
        layers=[
            types_pb2.LayerCoverage(
                layer=index,
                workers=[crypto.to_bech32(op) for op in operators],
                throughput=throughput,
            )
            for index, (operators, throughput) in enumerate(layers)
        ],
        min_throughput=minimum,
        fully_covered=all(operators for operators, _ in layers),
    )


def suggest_span(
    ctx: Context, keeper: ShardingKeeper, req: query_pb2.QuerySuggestSpanRequest
) -> query_pb2.QuerySuggestSpanResponse:
    model = keeper.get_model(ctx, req.model_id)
    span_length = min(model.num_layers, req.memory_bytes // model.bytes_per_layer)
    if span_length == 0:
        raise ErrInsufficientMemory(f"{req.memory_bytes} bytes < {model.bytes_per_layer} per layer")
    layers = logic.compute_layer_coverage(
        model.num_layers, keeper.get_candidates(ctx, req.model_id)
    )
    throughputs = [throughput for _, throughput in layers]
    start, end, after = logic.compute_suggested_span(
        throughputs,
        span_length,
        logic.SPEED_UNMEASURED,  # a newcomer is not measured yet
    )
    return query_pb2.QuerySuggestSpanResponse(
        start=start, end=end, min_throughput_before=min(throughputs), min_throughput_after=after
    )


def routes(
    ctx: Context, keeper: ShardingKeeper, req: query_pb2.QueryRoutesRequest
) -> query_pb2.QueryRoutesResponse:
    precision, selected = keeper.select_job_routes(
        ctx, req.model_id, req.redundancy, req.seed, precision=req.precision
    )
    return query_pb2.QueryRoutesResponse(
        precision=precision,
        routes=[
            types_pb2.Route(
                hops=[
                    types_pb2.Hop(operator=crypto.to_bech32(h.operator), start=h.start, end=h.end)
                    for h in route
                ]
            )
            for route in selected
        ],
    )


def params(
    ctx: Context, keeper: ShardingKeeper, req: query_pb2.QueryParamsRequest
) -> query_pb2.QueryParamsResponse:
    return query_pb2.QueryParamsResponse(params=keeper.get_params(ctx))
