"""A small, synchronous CometBFT JSON-RPC client (HTTP POST, one keep-alive connection).

Used by the CLI, the integration tests and the throughput benchmark. One client per thread.
cosmpy speaks gRPC, not this; this is for the node's own RPC on :26657.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import chain.pb  # noqa: F401

from google.protobuf.message import Message


class RPCError(Exception):
    """The node answered with a JSON-RPC error."""


class NodeUnreachableError(RPCError):
    """No node answers at the address (not started, wrong port, or shut down)."""


def normalize_url(node: str) -> str:
    """``tcp://host:port``, ``host:port`` or ``http://host:port`` -> ``http://host:port``."""
    node = node.strip()
    if node.startswith("tcp://"):
        node = "http://" + node[len("tcp://") :]
    elif "://" not in node:
        node = "http://" + node
    try:
        parsed = urlparse(node)
        port = parsed.port
    except ValueError:
        port = None
    if parsed.scheme not in ("http", "https") or not parsed.hostname or not port:
        raise RPCError(f"invalid node address {node!r}: expected tcp://host:port")
    return f"{parsed.scheme}://{parsed.hostname}:{port}"


class CometRPC:
    """JSON-RPC calls to one CometBFT node."""

    def __init__(self, node: str = "tcp://127.0.0.1:26657", timeout: float = 10.0) -> None:
        self.url = normalize_url(node)
        parsed = urlparse(self.url)
        self._host, self._port = parsed.hostname or "127.0.0.1", parsed.port or 26657
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._next_id = 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, payload: Any) -> Any:
        body = json.dumps(payload).encode()
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            if self._conn is None:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self.timeout
                )
            try:
                self._conn.request("POST", "/", body, {"Content-Type": "application/json"})
                response = self._conn.getresponse()
                data = response.read()
                break
            except (ConnectionRefusedError, socket.gaierror) as exc:
                self.close()
                raise NodeUnreachableError(
                    f"cannot reach node at {self.url}: {exc.strerror or exc} "
                    "(is the node running? check --node)"
                ) from None
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                if attempt == 2:
                    raise NodeUnreachableError(f"node at {self.url} failed: {exc}") from None
        try:
            return json.loads(data)
        except ValueError:
            raise RPCError(f"node at {self.url} sent invalid JSON: {data[:200]!r}") from None

    def call(self, method: str, **params: Any) -> Any:
        """Call ``method`` and return its ``result``; raises ``RPCError`` on an error reply."""
        self._next_id += 1
        reply = self._post(
            {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        )
        return _result(reply, method)

    def batch(self, calls: Sequence[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Several calls in one HTTP request; returns each result or ``RPCError`` in order."""
        payload = []
        for method, params in calls:
            self._next_id += 1
            payload.append(
                {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
            )
        replies = self._post(payload)
        if isinstance(replies, dict):  # CometBFT answers a batch of one with a bare object
            replies = [replies] if len(payload) == 1 else []
        if not replies and payload:
            return [RPCError("invalid batch reply")] * len(calls)
        by_id = {r.get("id"): r for r in replies}
        out: list[Any] = []
        for request, (method, _) in zip(payload, calls, strict=True):
            try:
                out.append(_result(by_id.get(request["id"], {}), method))
            except RPCError as err:
                out.append(err)
        return out

    # -- typed helpers -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return dict(self.call("status"))

    def height(self) -> int:
        return int(self.status()["sync_info"]["latest_block_height"])

    def block(self, height: int | None = None) -> dict[str, Any]:
        params = {} if height is None else {"height": str(height)}
        return dict(self.call("block", **params))

    def validators(self, height: int | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"per_page": "100"}
        if height is not None:
            params["height"] = str(height)
        return list(self.call("validators", **params)["validators"])

    def broadcast_tx_sync(self, tx: bytes) -> dict[str, Any]:
        return dict(self.call("broadcast_tx_sync", tx=base64.b64encode(tx).decode()))

    def broadcast_tx_async(self, tx: bytes) -> dict[str, Any]:
        return dict(self.call("broadcast_tx_async", tx=base64.b64encode(tx).decode()))

    def tx(self, tx_hash: str) -> dict[str, Any] | None:
        """The indexed result of a committed tx, or None while it is not (yet) included."""
        try:
            raw = bytes.fromhex(tx_hash.removeprefix("0x"))
            # JSON-RPC over POST takes []byte params as base64 (the URI form takes 0x-hex).
            return dict(self.call("tx", hash=base64.b64encode(raw).decode(), prove=False))
        except RPCError as err:
            if "not found" in str(err):
                return None
            raise

    def wait_tx(self, tx_hash: str, timeout: float = 30.0, poll: float = 0.2) -> dict[str, Any]:
        """Poll until the tx is committed; raises ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.tx(tx_hash)
            if found is not None:
                return found
            time.sleep(poll)
        raise TimeoutError(f"tx {tx_hash} not included within {timeout:.0f} s")

    def wait_height(self, height: int, timeout: float = 30.0) -> int:
        """Poll until the node has committed ``height``; returns the height reached."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                current = self.height()
                if current >= height:
                    return current
            except NodeUnreachableError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.url} did not reach height {height} in {timeout:.0f} s")
            time.sleep(0.1)

    def abci_query(self, path: str, data: bytes, height: int = 0) -> dict[str, Any]:
        """Raw ABCI query: the ``response`` object (code, log, value base64, height...)."""
        result = self.call(
            "abci_query", path=path, data=data.hex(), height=str(height), prove=False
        )
        return dict(result["response"])

    def query(
        self, path: str, request: Message, response_class: type[Message], height: int = 0
    ) -> Message:
        """A protobuf query by gRPC method path; raises ``QueryError`` on a non-zero code."""
        response = self.abci_query(path, request.SerializeToString(), height)
        code = int(response.get("code") or 0)
        if code != 0:
            raise QueryError(code, response.get("codespace", ""), response.get("log", ""))
        out = response_class()
        out.ParseFromString(base64.b64decode(response.get("value") or ""))
        return out


class QueryError(RPCError):
    """The app answered a query with an error code."""

    def __init__(self, code: int, codespace: str, log: str) -> None:
        super().__init__(f"query failed (codespace {codespace or '-'}, code {code}): {log}")
        self.code, self.codespace, self.log = code, codespace, log


def _result(reply: dict[str, Any], method: str) -> Any:
    if "error" in reply and reply["error"]:
        error = reply["error"]
        detail = error.get("data") or error.get("message") if isinstance(error, dict) else error
        raise RPCError(f"{method}: {detail}")
    if "result" not in reply:
        raise RPCError(f"{method}: no result in reply {str(reply)[:200]}")
    return reply["result"]
