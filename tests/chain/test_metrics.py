"""Prometheus metrics of the app node (chain/metrics.py): node-local observation only.

The app is driven through CheckTx and FinalizeBlock (tests.harness.TestChain) and the figures are
read back from its own registry; metrics on or off, the app hashes are the same; a broken metric
never breaks FinalizeBlock or CheckTx.
"""

from __future__ import annotations

import socket
import urllib.request

import pytest

from chain.metrics import AppMetrics, MetricsError, parse_listen, start_metrics_server
from chain.nodeconfig import AppConfig, ConfigError, load_app_config, write_app_config
from tendermint.abci import types_pb2 as abci
from tests.harness import GENESIS_TIME, TestChain, send_msg


def value(metrics: AppMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def run_blocks(chain: TestChain) -> list[bytes]:
    """Genesis, then: a block with two sends, an empty block, a block with one send."""
    chain.init()
    hashes = [chain.block().app_hash]  # accounts are read from the committed genesis
    a, b = chain.keys[0], chain.keys[1]
    hashes += [
        chain.block(
            [chain.tx(a, send_msg(a, b.address, 5)), chain.tx(b, send_msg(b, a.address, 3))]
        ).app_hash
    ]
    hashes.append(chain.block().app_hash)
    hashes.append(chain.block([chain.tx(a, send_msg(a, b.address, 7))]).app_hash)
    return hashes


def test_block_metrics_follow_finalize_block(tmp_path) -> None:
    chain = TestChain(tmp_path / "on")
    metrics = AppMetrics()
    chain.app.metrics = metrics
    chain.init()
    chain.block()
    a, b = chain.keys[0], chain.keys[1]
    first = chain.block(
        [chain.tx(a, send_msg(a, b.address, 5)), chain.tx(b, send_msg(b, a.address, 3))]
    )
    gas_first = sum(r.gas_used for r in first.tx_results)
    assert gas_first > 0
    assert value(metrics, "infera_block_height") == 2
    assert value(metrics, "infera_block_txs") == 2
    assert value(metrics, "infera_block_gas_used") == gas_first
    assert value(metrics, "infera_block_time_seconds") == GENESIS_TIME + 2  # header time
    assert value(metrics, "infera_txs_total", codespace="", code="0") == 2
    # every event type of the response is counted (bank sends emit "transfer")
    types = [e.type for r in first.tx_results for e in r.events] + [e.type for e in first.events]
    assert "transfer" in types
    assert value(metrics, "infera_block_events_total", type="transfer") == types.count("transfer")

    chain.block()
    third = chain.block([chain.tx(a, send_msg(a, b.address, 7))])
    assert value(metrics, "infera_block_height") == 4
    assert value(metrics, "infera_blocks_total") == 4
    assert value(metrics, "infera_block_txs") == 1
    assert value(metrics, "infera_block_interval_seconds") == 1  # header times 1 s apart
    assert value(metrics, "infera_gas_used_total") == gas_first + third.tx_results[0].gas_used


def test_checktx_rejections_by_code(tmp_path) -> None:
    chain = TestChain(tmp_path / "c")
    metrics = AppMetrics()
    chain.app.metrics = metrics
    chain.init()
    chain.block()
    a, b = chain.keys[0], chain.keys[1]
    ok = chain.check(chain.tx(a, send_msg(a, b.address, 1)))
    assert ok.code == 0
    bad = chain.check(b"\xff not a tx")
    assert bad.code != 0
    stale = chain.check(chain.tx(a, send_msg(a, b.address, 1), sequence=0, bump=False))
    assert stale.code not in (0, bad.code)
    assert value(metrics, "infera_checktx_total", code="0") == 1
    for response in (bad, stale):
        labels = {"codespace": response.codespace, "code": str(response.code)}
        assert value(metrics, "infera_checktx_rejected_total", **labels) == 1


def test_app_hash_identical_with_metrics_on_and_off(tmp_path) -> None:
    on, off = TestChain(tmp_path / "on"), TestChain(tmp_path / "off")
    on.app.metrics = AppMetrics()
    assert run_blocks(on) == run_blocks(off)
    assert value(on.app.metrics, "infera_block_height") == 4


def test_broken_metric_does_not_break_the_handlers(tmp_path) -> None:
    broken, plain = TestChain(tmp_path / "broken"), TestChain(tmp_path / "plain")
    metrics = AppMetrics()

    def fail(*args, **kwargs):
        raise RuntimeError("metric backend down")

    metrics.height.set = fail  # type: ignore[method-assign]
    metrics.check_txs.labels = fail  # type: ignore[method-assign]
    broken.app.metrics = metrics
    assert run_blocks(broken) == run_blocks(plain)
    assert broken.check(b"junk").code == plain.check(b"junk").code
    assert value(metrics, "infera_metrics_errors_total") == 5  # four blocks, one CheckTx


def test_job_settlement_and_slash_events_are_counted() -> None:
    """The event -> counter mapping, on a synthetic FinalizeBlock response (the job flow itself
    is tested in tests/modules; here only what the metrics make of its events)."""
    metrics = AppMetrics()
    request = abci.RequestFinalizeBlock(height=9)
    request.time.seconds = GENESIS_TIME
    response = abci.ResponseFinalizeBlock(
        events=[
            abci.Event(type="infera.job_expired"),
            abci.Event(type="infera.job_finalized"),
            abci.Event(type="infera.job_finalized"),
            abci.Event(type="infera.worker_paid"),
            abci.Event(type="infera.payout_refunded"),
            abci.Event(type="slash"),
            abci.Event(type="slash_worker"),
            abci.Event(type="bad type with spaces"),
        ],
        tx_results=[abci.ExecTxResult(events=[abci.Event(type="infera.job_submitted")])],
    )
    metrics.finalize_block(request, response)
    assert value(metrics, "infera_job_transitions_total", state="finalized") == 2
    assert value(metrics, "infera_job_transitions_total", state="expired") == 1
    assert value(metrics, "infera_job_transitions_total", state="submitted") == 1
    assert value(metrics, "infera_settlements_total", outcome="worker_paid") == 1
    assert value(metrics, "infera_settlements_total", outcome="payout_refunded") == 1
    assert value(metrics, "infera_slashes_total", kind="validator") == 1
    assert value(metrics, "infera_slashes_total", kind="worker") == 1
    assert value(metrics, "infera_block_events_total", type="other") == 1
    assert value(metrics, "infera_metrics_errors_total") == 0


def test_registries_are_per_app() -> None:
    first, second = AppMetrics(), AppMetrics()
    first.check_tx(abci.ResponseCheckTx(code=5, codespace="sdk"))
    assert value(first, "infera_checktx_rejected_total", codespace="sdk", code="5") == 1
    assert value(second, "infera_checktx_rejected_total", codespace="sdk", code="5") == 0


def test_listen_address_parsing() -> None:
    assert parse_listen("127.0.0.1:26661") == ("127.0.0.1", 26661)
    assert parse_listen("[::1]:26661") == ("::1", 26661)
    for bad in ("", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "host:２６", " h:1"):
        with pytest.raises(MetricsError):
            parse_listen(bad)


def test_http_endpoint_serves_the_registry() -> None:
    metrics = AppMetrics()
    metrics.check_tx(abci.ResponseCheckTx(code=4, codespace="sdk"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start_metrics_server(metrics, f"127.0.0.1:{port}")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            text = reply.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert 'infera_checktx_rejected_total{code="4",codespace="sdk"} 1.0' in text
    assert "python_gc_objects_collected_total" not in text  # not the global registry


def test_busy_port_is_a_config_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match="cannot serve metrics"):
            start_metrics_server(AppMetrics(), f"127.0.0.1:{port}")


def test_app_toml_metrics_section(tmp_path) -> None:
    (tmp_path / "config").mkdir()
    assert load_app_config(tmp_path).metrics_enable is False  # off by default
    write_app_config(tmp_path, AppConfig())
    text = (tmp_path / "config" / "app.toml").read_text()
    assert "[metrics]\n" in text and 'listen = "127.0.0.1:26661"' in text
    config = AppConfig(metrics_enable=True, metrics_listen="127.0.0.1:9464")
    write_app_config(tmp_path, config)
    assert load_app_config(tmp_path) == config


def _have_cometbft() -> bool:
    from chain.node import find_cometbft

    try:
        find_cometbft()
    except Exception:
        return False
    return True


@pytest.mark.integration
@pytest.mark.skipif(not _have_cometbft(), reason="cometbft not found: run `make install`")
def test_infera_start_serves_metrics(tmp_path) -> None:
    """A real node (`infera init` + `infera start` with `[metrics] enable = true`): /metrics
    follows the chain's height, from a registry of the app's own."""
    from tests.integration.conftest import TIMEOUT_COMMIT, NodeProcess, init_solo_node

    home, rpc_url, _grpc = init_solo_node(tmp_path, "infera-metrics", TIMEOUT_COMMIT)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = load_app_config(home)
    write_app_config(
        home,
        AppConfig(
            **{**config.__dict__, "metrics_enable": True, "metrics_listen": f"127.0.0.1:{port}"}
        ),
    )
    node = NodeProcess("metrics", home, rpc_url)
    node.start()
    try:
        node.wait_height(3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            text = reply.read().decode()
        height = node.height()
    finally:
        assert node.stop() == 0
    samples = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert 3 <= float(samples["infera_block_height"]) <= height
    assert float(samples["infera_blocks_total"]) >= 3
    assert float(samples["infera_block_time_seconds"]) > 1_600_000_000  # header time, Unix s
