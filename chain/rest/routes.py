"""The REST route table, built from the protobuf descriptors of the services the node serves.

Cosmos services carry ``google.api.http`` annotations (the paths the SDK's grpc-gateway serves,
e.g. ``GET /cosmos/bank/v1beta1/balances/{address}``); they are used as they are. Infera's own
services have none, so each of their methods gets the generic pair

    GET  /infera/<module>/v1/<method_in_snake_case>?field=value&nested.field=value
    POST /infera/<module>/v1/<method_in_snake_case>   (body: the request as proto JSON)

(``infera.workers.v1.Query/WorkerStats`` -> ``/infera/workers/v1/worker_stats``). Nothing here is
written per module: a module added later is served with no change (docs/rest.md).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

import chain.pb  # noqa: F401

from google.api import annotations_pb2
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

VARIABLE_RE = re.compile(r"\{([a-z_][a-z0-9_.]*)(=\*\*|=\*)?\}")  # {name}, {name=**}, {name=*}
INFERA_SERVICE_RE = re.compile(r"infera\.([a-z0-9_]+)\.(v[0-9]+)\.[A-Za-z0-9_]+")  # fullmatch


@dataclass(frozen=True)
class Route:
    """One HTTP method + path template bound to one gRPC method."""

    http_method: str  # "GET" or "POST" (PUT, DELETE, PATCH as annotated)
    template: str  # e.g. "/cosmos/bank/v1beta1/balances/{address}"
    pattern: re.Pattern[str]  # fullmatch over the request path; groups v0, v1, ... in order
    variables: tuple[str, ...]  # request field path of each group ("address", "pagination.key")
    body: str  # "" (no body), "*" (the whole request) or a field name
    grpc_path: str  # "/cosmos.bank.v1beta1.Query/AllBalances"
    request_class: type[Message]
    response_class: type[Message]

    @property
    def literal_weight(self) -> tuple[int, int]:
        """Sort key: fewer variables first, then longer literal text (``blocks/latest`` before
        ``blocks/{height}``)."""
        literal = VARIABLE_RE.sub("", self.template)
        return (len(self.variables), -len(literal))


def compile_template(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A path template as a regex (``{x}`` one segment, ``{x=**}`` the rest) and its variables."""
    parts, variables, last = [], [], 0
    for index, match in enumerate(VARIABLE_RE.finditer(template)):
        parts.append(re.escape(template[last : match.start()]))
        parts.append(f"(?P<v{index}>.+)" if match.group(2) == "=**" else f"(?P<v{index}>[^/]+)")
        variables.append(match.group(1))
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts)), tuple(variables)


def snake_case(name: str) -> str:
    """``WorkerStats`` -> ``worker_stats``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def find_service(full_name: str) -> ServiceDescriptor | None:
    """The descriptor of ``full_name``, importing its generated module when not loaded yet."""
    pool = descriptor_pool.Default()
    try:
        return pool.FindServiceByName(full_name)
    except KeyError:
        pass
    package = full_name.rsplit(".", 1)[0]
    for module in ("query_pb2", "service_pb2"):
        try:
            importlib.import_module(f"{package}.{module}")
        except ImportError:
            continue
    try:
        return pool.FindServiceByName(full_name)
    except KeyError:
        return None


def annotated_bindings(method: MethodDescriptor) -> list[tuple[str, str, str]]:
    """The (HTTP method, template, body) pairs of ``method``'s ``google.api.http`` option."""
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return []
    out = []
    for rule in [options.Extensions[annotations_pb2.http], *options.Extensions[annotations_pb2.http].additional_bindings]:  # fmt: skip
        kind = rule.WhichOneof("pattern")
        if kind in ("get", "post", "put", "delete", "patch"):
            out.append((kind.upper(), getattr(rule, kind), rule.body))
    return out


def generic_bindings(
    service: ServiceDescriptor, method: MethodDescriptor
) -> list[tuple[str, str, str]]:
    """The generic GET/POST pair of an unannotated ``infera.<module>.v<N>`` method."""
    match = INFERA_SERVICE_RE.fullmatch(service.full_name)
    if not match:
        return []
    path = f"/infera/{match.group(1)}/{match.group(2)}/{snake_case(method.name)}"
    return [("GET", path, ""), ("POST", path, "*")]


def method_routes(service: ServiceDescriptor, method: MethodDescriptor) -> list[Route]:
    if method.client_streaming or method.server_streaming:
        return []
    bindings = annotated_bindings(method) or generic_bindings(service, method)
    request = message_factory.GetMessageClass(method.input_type)
    response = message_factory.GetMessageClass(method.output_type)
    routes = []
    for http_method, template, body in bindings:
        pattern, variables = compile_template(template)
        routes.append(Route(http_method, template, pattern, variables, body,
                            f"/{service.full_name}/{method.name}", request, response))  # fmt: skip
    return routes


def build_routes(service_names: list[str]) -> list[Route]:
    """Every REST route of the named gRPC services, most specific first."""
    routes: list[Route] = []
    for name in sorted(set(service_names)):
        service = find_service(name)
        if service is None:
            continue  # served by the node but unknown here (e.g. reflection itself)
        for method in service.methods:
            routes.extend(method_routes(service, method))
    return sorted(routes, key=lambda r: (r.literal_weight, r.template, r.http_method))


@dataclass(frozen=True)
class Match:
    route: Route
    values: dict[str, str]  # request field path -> raw (percent-decoded) path segment(s)


def match_route(routes: list[Route], http_method: str, path: str) -> tuple[Match | None, bool]:
    """The first route matching ``path`` with ``http_method``; and whether any route matched the
    path with another method (a 405 rather than a 404)."""
    other_method = False
    for route in routes:
        found = route.pattern.fullmatch(path)
        if found is None:
            continue
        if route.http_method != http_method:
            other_method = True
            continue
        values = {var: found.group(f"v{i}") for i, var in enumerate(route.variables)}
        return Match(route, values), other_method
    return None, other_method
