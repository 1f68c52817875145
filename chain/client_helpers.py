"""Typed helpers of ``chain.client.Client``: one method per Infera query and message.

Queries return the protobuf messages the node answers with (listing queries page through every
page unless a ``limit`` is given); single-item queries return None for NOT_FOUND. Messages are
signed by ``wallet``, whose address fills the signer field, and return a ``TxResult``; extra
keyword arguments (``gas``, ``fee``, ``memo``, ``wait``) go to ``Client.execute``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import chain.pb  # noqa: F401

import grpc
from cosmpy.aerial.wallet import Wallet
from google.protobuf.message import Message

from cosmos.bank.v1beta1 import query_pb2 as bank_query
from cosmos.bank.v1beta1 import tx_pb2 as bank_tx
from cosmos.base.v1beta1 import coin_pb2
from infera.agreement.v1 import query_pb2 as agreement_query
from infera.agreement.v1 import tx_pb2 as agreement_tx
from infera.base.v1 import coin_pb2 as infera_coin
from infera.base.v1 import pagination_pb2
from infera.inference.v1 import query_pb2 as inference_query
from infera.inference.v1 import tx_pb2 as inference_tx
from infera.inference.v1 import types_pb2 as inference_types
from infera.models.v1 import query_pb2 as models_query
from infera.models.v1 import tx_pb2 as models_tx
from infera.models.v1 import types_pb2 as models_types
from infera.sharding.v1 import query_pb2 as sharding_query
from infera.staking.v1 import query_pb2 as staking_query
from infera.staking.v1 import tx_pb2 as staking_tx
from infera.store.v1 import query_pb2 as store_query
from infera.workers.v1 import query_pb2 as workers_query
from infera.workers.v1 import tx_pb2 as workers_tx
from infera.workers.v1 import types_pb2 as workers_types


class QueryHelpers:
    """Typed queries; the class using this mix-in provides ``query`` and ``fee_denom``."""

    fee_denom: str

    def query(self, path: str, request: Message, response_class: type[Any], height: int = 0) -> Any:
        raise NotImplementedError

    def _get(self, path: str, request: Message, response_class: type[Any], field: str) -> Any:
        """One item, or None when the node says NOT_FOUND."""
        from chain.client import QueryError

        try:
            return getattr(self.query(path, request, response_class), field)
        except QueryError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    def _pages(
        self, path: str, make: Callable[[pagination_pb2.PageRequest], Message], cls: Any, field: str
    ) -> Iterator[Any]:
        """Every item of an Infera listing query, following ``next_key``."""
        key = b""
        while True:
            response = self.query(path, make(pagination_pb2.PageRequest(key=key)), cls)
            yield from getattr(response, field)
            key = response.pagination.next_key
            if not key:
                return

    # bank
    def balance(self, address: str, denom: str | None = None, height: int = 0) -> int:
        request = bank_query.QueryBalanceRequest(address=address, denom=denom or self.fee_denom)
        path = "/cosmos.bank.v1beta1.Query/Balance"
        return int(
            self.query(path, request, bank_query.QueryBalanceResponse, height).balance.amount
        )

    def all_balances(self, address: str, height: int = 0) -> dict[str, int]:
        request = bank_query.QueryAllBalancesRequest(address=address)
        request.pagination.limit = 1000  # a page holds at most 1000 coins
        path = "/cosmos.bank.v1beta1.Query/AllBalances"
        response = self.query(path, request, bank_query.QueryAllBalancesResponse, height)
        return {c.denom: int(c.amount) for c in response.balances}

    def total_supply(self) -> dict[str, int]:
        path = "/cosmos.bank.v1beta1.Query/TotalSupply"
        request = bank_query.QueryTotalSupplyRequest()
        request.pagination.limit = 1000  # a page holds at most 1000 denoms
        response = self.query(path, request, bank_query.QueryTotalSupplyResponse)
        return {c.denom: int(c.amount) for c in response.supply}

    # staking
    def validators(self) -> list[Any]:
        return list(
            self._pages(
                "/infera.staking.v1.Query/Validators",
                lambda page: staking_query.QueryValidatorsRequest(pagination=page),
                staking_query.QueryValidatorsResponse,
                "validators",
            )
        )

    def validator(self, operator_address: str) -> Any | None:
        request = staking_query.QueryValidatorRequest(operator_address=operator_address)
        path = "/infera.staking.v1.Query/Validator"
        return self._get(path, request, staking_query.QueryValidatorResponse, "validator")

    # models
    def model(self, model_id: str) -> Any | None:
        request = models_query.QueryModelRequest(id=model_id)
        return self._get(
            "/infera.models.v1.Query/Model", request, models_query.QueryModelResponse, "model"
        )

    def models(self) -> Iterator[Any]:
        return self._pages(
            "/infera.models.v1.Query/Models",
            lambda page: models_query.QueryModelsRequest(pagination=page),
            models_query.QueryModelsResponse,
            "models",
        )

    # workers
    def worker(self, operator: str) -> Any | None:
        request = workers_query.QueryWorkerRequest(operator=operator)
        path = "/infera.workers.v1.Query/Worker"
        return self._get(path, request, workers_query.QueryWorkerResponse, "worker")

    def workers(self) -> Iterator[Any]:
        return self._pages(
            "/infera.workers.v1.Query/Workers",
            lambda page: workers_query.QueryWorkersRequest(pagination=page),
            workers_query.QueryWorkersResponse,
            "workers",
        )

    def worker_stats(self, operator: str) -> Any:
        request = workers_query.QueryWorkerStatsRequest(operator=operator)
        path = "/infera.workers.v1.Query/WorkerStats"
        return self.query(path, request, workers_query.QueryWorkerStatsResponse)

    # sharding
    def coverage(self, model_id: str) -> Any:
        request = sharding_query.QueryCoverageRequest(model_id=model_id)
        path = "/infera.sharding.v1.Query/Coverage"
        return self.query(path, request, sharding_query.QueryCoverageResponse)

    def suggest_span(self, model_id: str, *, memory_bytes: int, throughput: int) -> Any:
        request = sharding_query.QuerySuggestSpanRequest(
            model_id=model_id, memory_bytes=memory_bytes, throughput=throughput
        )
        path = "/infera.sharding.v1.Query/SuggestSpan"
        return self.query(path, request, sharding_query.QuerySuggestSpanResponse)

    def routes(self, model_id: str, *, redundancy: int, seed: bytes = b"") -> list[Any]:
        request = sharding_query.QueryRoutesRequest(
            model_id=model_id, redundancy=redundancy, seed=seed
        )
        path = "/infera.sharding.v1.Query/Routes"
        return list(self.query(path, request, sharding_query.QueryRoutesResponse).routes)

    # inference and agreement
    def job(self, job_id: int) -> Any | None:
        request = inference_query.QueryJobRequest(job_id=job_id)
        path = "/infera.inference.v1.Query/Job"
        return self._get(path, request, inference_query.QueryJobResponse, "job")

    def jobs(self, **filters: Any) -> Iterator[Any]:
        """Jobs matching the filters of ``QueryJobsRequest`` (submitter, model_id, worker...)."""
        return self._pages(
            "/infera.inference.v1.Query/Jobs",
            lambda page: inference_query.QueryJobsRequest(pagination=page, **filters),
            inference_query.QueryJobsResponse,
            "jobs",
        )

    def job_history(self, job_id: int) -> Any:
        request = agreement_query.QueryJobHistoryRequest(job_id=job_id)
        path = "/infera.agreement.v1.Query/JobHistory"
        return self.query(path, request, agreement_query.QueryJobHistoryResponse)

    def params(self, module: str) -> Any:
        """A module's params: staking, models, workers, sharding, inference or agreement."""
        modules = {
            "staking": staking_query,
            "models": models_query,
            "workers": workers_query,
            "sharding": sharding_query,
            "inference": inference_query,
            "agreement": agreement_query,
        }
        if module not in modules:
            raise ValueError(f"unknown module {module!r}: one of {', '.join(sorted(modules))}")
        q = modules[module]
        path = f"/infera.{module}.v1.Query/Params"
        return self.query(path, q.QueryParamsRequest(), q.QueryParamsResponse).params

    def proven(self, key: bytes, height: int = 0) -> Any:
        """Raw value and proof (unverified: use ``chain.light.LightClient`` to check them)."""
        request = store_query.QueryProvenRequest(key=key, height=height)
        path = "/infera.store.v1.Query/Proven"
        return self.query(path, request, store_query.QueryProvenResponse)


class MsgHelpers:
    """Typed messages; the class using this mix-in provides ``execute`` and ``fee_denom``."""

    fee_denom: str

    def execute(
        self,
        wallet: Wallet,
        msgs: Sequence[Message],
        *,
        gas: int | None = None,
        fee: int | None = None,
        memo: str = "",
        wait: bool = True,
    ) -> Any:
        raise NotImplementedError

    # bank and staking
    def send(
        self, wallet: Wallet, to: str, amount: int, denom: str | None = None, **options: Any
    ) -> Any:
        coin = coin_pb2.Coin(denom=denom or self.fee_denom, amount=str(amount))
        msg = bank_tx.MsgSend(from_address=str(wallet.address()), to_address=to, amount=[coin])
        return self.execute(wallet, [msg], **options)

    def create_validator(
        self,
        wallet: Wallet,
        *,
        consensus_pubkey: bytes,
        self_bond: int,
        moniker: str,
        denom: str | None = None,
        **options: Any,
    ) -> Any:
        msg = staking_tx.MsgCreateValidator(
            operator_address=str(wallet.address()),
            consensus_pubkey=consensus_pubkey,
            self_bond=infera_coin.Coin(denom=denom or self.fee_denom, amount=str(self_bond)),
            moniker=moniker,
        )
        return self.execute(wallet, [msg], **options)

    # models
    def register_model(
        self,
        wallet: Wallet,
        *,
        model_id: str,
        family: str,
        num_layers: int,
        layer_commitments: Sequence[bytes],
        weights_root: bytes,
        bytes_per_layer: int,
        tokenizer_hash: bytes,
        dtype: str,
        price_per_token: str,
        min_redundancy: int,
        zk_verifying_key_ref: str = "",
        config_hash: bytes = b"",
        embed_commitment: bytes = b"",
        head_commitment: bytes = b"",
        precision_classes: Sequence[str] = (),
        verifier_tolerances: Sequence[tuple[str, int, int]] = (),
        **options: Any,
    ) -> Any:
        """``verifier_tolerances``: (dtype, fingerprint ppm, noise ppm) per precision class, as
        bench/calibrate_tolerances.py prints them (Model.verifier_tolerances)."""
        msg = models_tx.MsgRegisterModel(
            owner=str(wallet.address()),
            id=model_id,
            family=family,
            num_layers=num_layers,
            layer_commitments=list(layer_commitments),
            weights_root=weights_root,
            bytes_per_layer=bytes_per_layer,
            tokenizer_hash=tokenizer_hash,
            dtype=dtype,
            price_per_token=price_per_token,
            min_redundancy=min_redundancy,
            zk_verifying_key_ref=zk_verifying_key_ref,
            config_hash=config_hash,
            embed_commitment=embed_commitment,
            head_commitment=head_commitment,
            precision_classes=list(precision_classes),
            verifier_tolerances=[
                models_types.ClassTolerance(dtype=d, fingerprint_ppm=f, noise_ppm=n)
                for d, f, n in verifier_tolerances
            ],
        )
        return self.execute(wallet, [msg], **options)

    def update_model(
        self,
        wallet: Wallet,
        model_id: str,
        *,
        price_per_token: str = "",
        min_redundancy: int = 0,
        **options: Any,
    ) -> Any:
        msg = models_tx.MsgUpdateModel(
            owner=str(wallet.address()),
            id=model_id,
            price_per_token=price_per_token,
            min_redundancy=min_redundancy,
        )
        return self.execute(wallet, [msg], **options)

    def retire_model(self, wallet: Wallet, model_id: str, **options: Any) -> Any:
        msg = models_tx.MsgRetireModel(owner=str(wallet.address()), id=model_id)
        return self.execute(wallet, [msg], **options)

    # workers
    def register_worker(
        self,
        wallet: Wallet,
        *,
        endpoint: str,
        hardware: workers_types.Hardware,
        runtime: workers_types.Runtime,
        encryption_pubkey: bytes,
        stake: int,
        **options: Any,
    ) -> Any:
        msg = workers_tx.MsgRegisterWorker(
            operator=str(wallet.address()),
            endpoint=endpoint,
            hardware=hardware,
            runtime=runtime,
            encryption_pubkey=encryption_pubkey,
            stake=infera_coin.Coin(denom=self.fee_denom, amount=str(stake)),
        )
        return self.execute(wallet, [msg], **options)

    def update_worker(
        self,
        wallet: Wallet,
        *,
        endpoint: str = "",
        hardware: workers_types.Hardware | None = None,
        runtime: workers_types.Runtime | None = None,
        encryption_pubkey: bytes = b"",
        add_stake: int = 0,
        **options: Any,
    ) -> Any:
        msg = workers_tx.MsgUpdateWorker(
            operator=str(wallet.address()), endpoint=endpoint, encryption_pubkey=encryption_pubkey
        )
        if hardware is not None:
            msg.hardware.CopyFrom(hardware)
        if runtime is not None:
            msg.runtime.CopyFrom(runtime)
        if add_stake:
            msg.add_stake.CopyFrom(infera_coin.Coin(denom=self.fee_denom, amount=str(add_stake)))
        return self.execute(wallet, [msg], **options)

    def serve_span(
        self, wallet: Wallet, model_id: str, start: int, end: int, **options: Any
    ) -> Any:
        msg = workers_tx.MsgServeSpan(
            operator=str(wallet.address()), model_id=model_id, start=start, end=end
        )
        return self.execute(wallet, [msg], **options)

    def stop_serving(
        self, wallet: Wallet, model_id: str, start: int, end: int, **options: Any
    ) -> Any:
        msg = workers_tx.MsgStopServing(
            operator=str(wallet.address()), model_id=model_id, start=start, end=end
        )
        return self.execute(wallet, [msg], **options)

    def heartbeat(self, wallet: Wallet, **options: Any) -> Any:
        msg = workers_tx.MsgHeartbeat(operator=str(wallet.address()))
        return self.execute(wallet, [msg], **options)

    def unbond_worker(self, wallet: Wallet, **options: Any) -> Any:
        msg = workers_tx.MsgUnbondWorker(operator=str(wallet.address()))
        return self.execute(wallet, [msg], **options)

    # inference and agreement
    def submit_job(
        self,
        wallet: Wallet,
        *,
        model_id: str,
        prompt: bytes,
        max_new_tokens: int,
        max_fee: int,
        redundancy: int = 0,
        deadline_blocks: int = 0,
        decoding: inference_types.Decoding | None = None,
        **options: Any,
    ) -> Any:
        """Submit a job; the new job id is the ``job_id`` of ``MsgSubmitJobResponse``."""
        msg = inference_tx.MsgSubmitJob(
            submitter=str(wallet.address()),
            model_id=model_id,
            prompt=prompt,
            max_new_tokens=max_new_tokens,
            redundancy=redundancy,
            max_fee=infera_coin.Coin(denom=self.fee_denom, amount=str(max_fee)),
            deadline_blocks=deadline_blocks,
        )
        if decoding is not None:
            msg.decoding.CopyFrom(decoding)
        return self.execute(wallet, [msg], **options)

    def cancel_job(self, wallet: Wallet, job_id: int, **options: Any) -> Any:
        msg = inference_tx.MsgCancelJob(submitter=str(wallet.address()), job_id=job_id)
        return self.execute(wallet, [msg], **options)

    def commit_output(self, wallet: Wallet, job_id: int, commitment: bytes, **options: Any) -> Any:
        msg = agreement_tx.MsgCommitOutput(
            worker=str(wallet.address()), job_id=job_id, commitment=commitment
        )
        return self.execute(wallet, [msg], **options)

    def reveal_output(
        self,
        wallet: Wallet,
        job_id: int,
        *,
        output_tokens: Sequence[int] = (),
        output_bytes: bytes = b"",
        shard_fingerprint: bytes,
        salt: bytes,
        **options: Any,
    ) -> Any:
        msg = agreement_tx.MsgRevealOutput(
            worker=str(wallet.address()),
            job_id=job_id,
            output_tokens=list(output_tokens),
            output_bytes=output_bytes,
            shard_fingerprint=shard_fingerprint,
            salt=salt,
        )
        return self.execute(wallet, [msg], **options)
