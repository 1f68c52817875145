"""A tee keeper over a memory store with fake workers and models keepers, and builders."""

from __future__ import annotations

import hashlib
import pathlib
from dataclasses import dataclass, field
from typing import Any

import chain.pb  # noqa: F401

from google.protobuf import json_format

from chain import crypto
from chain.context import BlockInfo, Context, ExecMode
from chain.store import MemStore
from infera.models.v1 import types_pb2 as models_pb2
from infera.tee.v1 import genesis_pb2, tx_pb2
from infera.tee.v1 import types_pb2 as T
from infera.workers.v1 import types_pb2 as workers_pb2
from modules.tee import genesis, logic
from modules.tee.keeper import TeeKeeper
from modules.tee.params import default_params
from modules.tee.roots import PINNED, Roots
from modules.tee.verifiers import insecure

V = pathlib.Path(__file__).parent / "vectors"
CHAIN_ID = "infera-test-1"
MEASUREMENT = hashlib.sha384(b"infera test guest").digest()  # 48 bytes
OWNER = crypto.to_bech32(hashlib.sha256(b"owner").digest()[:20])


def operator(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()[:20]


def pubkey(name: str) -> bytes:
    return hashlib.sha256(b"x25519/" + name.encode()).digest()


@dataclass
class FakeWorkers:
    workers: dict[bytes, workers_pb2.Worker] = field(default_factory=dict)
    spans: dict[str, list[tuple[bytes, int, int]]] = field(default_factory=dict)

    def add(self, name: str, model_id: str = "m", start: int = 0, end: int = 4) -> bytes:
        op = operator(name)
        self.workers[op] = workers_pb2.Worker(
            operator=crypto.to_bech32(op),
            encryption_pubkey=pubkey(name),
            bonded="1000",
            runtime=workers_pb2.Runtime(dtype="float32"),
        )
        self.spans.setdefault(model_id, []).append((op, start, end))
        return op

    def get_worker(self, ctx: Context, op: bytes) -> workers_pb2.Worker | None:
        return self.workers.get(op)

    def is_active(self, ctx: Context, op: bytes) -> bool:
        return op in self.workers

    def get_stake(self, ctx: Context, op: bytes) -> int:
        return 1000

    def get_reputation(self, ctx: Context, op: bytes) -> int:
        return 1

    def iterate_model_spans(self, ctx: Context, model_id: str):  # type: ignore[no-untyped-def]
        yield from sorted(self.spans.get(model_id, []))


class FakeModels:
    def get_model(self, ctx: Context, model_id: str) -> models_pb2.Model | None:
        if model_id != "m":
            return None
        return models_pb2.Model(id="m", owner=OWNER, num_layers=4, dtype="float32")


def tee_params(**fields: Any) -> T.Params:
    params = default_params()
    params.allowed_types.append(T.TEE_TYPE_INSECURE_TEST)
    params.test_network = True
    params.measurements.append(MEASUREMENT.hex())
    params.epoch_blocks = 10
    params.validity_epochs = 1
    for name, value in fields.items():
        if isinstance(value, list):
            params.ClearField(name)  # type: ignore[arg-type]
            getattr(params, name).extend(value)
        else:
            setattr(params, name, value)
    return params


def make_keeper(
    params: T.Params | None = None,
    *,
    roots: Roots = PINNED,
    chain_id: str = CHAIN_ID,
    height: int = 25,
    time_s: int = 1_700_000_000,
) -> tuple[TeeKeeper, FakeWorkers, Context]:
    """A keeper with genesis loaded; worker "w1" registered; ctx at ``height`` / ``time_s``."""
    workers = FakeWorkers()
    workers.add("w1")
    keeper = TeeKeeper(workers, FakeModels(), roots=roots)
    ctx = at(MemStore(), chain_id=chain_id, height=height, time_s=time_s)
    state = genesis_pb2.GenesisState(params=params or tee_params())
    genesis.init_genesis(ctx, keeper, json_format.MessageToDict(state))
    return keeper, workers, ctx


def at(store: Any, *, chain_id: str = CHAIN_ID, height: int, time_s: int) -> Context:
    block = BlockInfo(chain_id, height, time_s * 1_000_000_000)
    return Context(store=store, block=block, mode=ExecMode.FINALIZE)


def bound_report(
    name: str, *, epoch: int = 2, chain_id: str = CHAIN_ID, measurement: bytes = MEASUREMENT
) -> bytes:
    """An INSECURE_TEST report whose report_data binds worker ``name`` on ``chain_id``."""
    digest = logic.compute_report_data(chain_id, epoch, pubkey(name), operator(name))
    return insecure.build_report(measurement, logic.compute_report_data_field(digest, 64))


def attest_msg(name: str, **fields: Any) -> tx_pb2.MsgAttest:
    values: dict[str, Any] = {
        "operator": crypto.to_bech32(operator(name)),
        "tee_type": T.TEE_TYPE_INSECURE_TEST,
        "report": bound_report(name),
        "epoch": 2,
    }
    values.update(fields)
    return tx_pb2.MsgAttest(**values)


def vector(kind: str) -> dict[str, bytes]:
    """MsgAttest evidence fields of a vendor test vector."""
    if kind in ("tdx", "sgx", "tdx_outdated"):
        name = {"tdx": "tdx_quote", "sgx": "sgx_quote", "tdx_outdated": "tdx_quote_outdated"}[kind]
        return {
            "report": (V / "intel" / name).read_bytes(),
            "collateral": (V / "intel" / f"{name}_collateral.json").read_bytes(),
        }
    if kind == "snp":
        return {
            "report": bytes.fromhex((V / "amd" / "report_milan.hex").read_text().strip()),
            "cert_chain": (V / "amd" / "vcek_milan.der").read_bytes(),
        }
    raw = (V / "nvidia" / "hopperAttestationReport.txt").read_text().strip()
    return {
        "report": bytes.fromhex(raw),
        "cert_chain": (V / "nvidia" / "hopperCertChain.txt").read_bytes(),
    }
