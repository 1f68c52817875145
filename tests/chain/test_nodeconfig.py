"""Node home configuration: config.toml edits keep comments, app.toml round-trips, ports."""

from __future__ import annotations

import tomllib

import pytest
import structlog

from chain.log import relay_cometbft_line, setup_logging
from chain.nodeconfig import (
    AppConfig,
    ConfigError,
    Ports,
    load_app_config,
    parse_tcp_address,
    set_toml_values,
    write_app_config,
)

SAMPLE = """# top comment
proxy_app = "tcp://127.0.0.1:26658"

[p2p]
# a comment that must survive
laddr = "tcp://0.0.0.0:26656"
allow_duplicate_ip = false

[rpc]
laddr = "tcp://127.0.0.1:26657"
"""


def test_set_toml_values_edits_per_section_and_keeps_comments(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(SAMPLE)

    set_toml_values(path, {"p2p": {"laddr": "tcp://127.0.0.1:1", "allow_duplicate_ip": True}})

    data = tomllib.loads(path.read_text())
    assert data["p2p"] == {"laddr": "tcp://127.0.0.1:1", "allow_duplicate_ip": True}
    assert data["rpc"]["laddr"] == "tcp://127.0.0.1:26657"
    assert "# a comment that must survive" in path.read_text()


def test_set_toml_values_rejects_unknown_keys(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(SAMPLE)
    with pytest.raises(ConfigError, match=r"\[rpc\] lad"):
        set_toml_values(path, {"rpc": {"lad": "x"}})


def test_app_config_round_trips_and_rejects_negative_pruning(tmp_path) -> None:
    (tmp_path / "config").mkdir()
    config = AppConfig(keep_recent=7, grpc_address="127.0.0.1:9999", grpc_enable=False)
    write_app_config(tmp_path, config)
    assert load_app_config(tmp_path) == config

    (tmp_path / "config" / "app.toml").write_text("[pruning]\nkeep_recent = -1\n")
    with pytest.raises(ConfigError):
        load_app_config(tmp_path)


def test_testnet_ports_do_not_overlap_and_addresses_parse() -> None:
    ports = [Ports.from_base(26656, i) for i in range(4)]
    used = [
        p for node in ports for p in (node.p2p, node.rpc, node.abci, node.grpc, node.prometheus)
    ]
    assert len(set(used)) == 20
    assert parse_tcp_address("tcp://127.0.0.1:26658") == ("127.0.0.1", 26658)
    with pytest.raises(ConfigError):
        parse_tcp_address("127.0.0.1")


def test_cometbft_json_lines_are_relayed_with_level_and_fields(capsys) -> None:
    setup_logging("info", "json")
    try:
        relay_cometbft_line('{"_msg":"committed state","level":"info","module":"state","height":5}')
        relay_cometbft_line('{"_msg":"noise","level":"debug","module":"p2p"}')
        relay_cometbft_line("panic: not json")
        lines = capsys.readouterr().err.strip().splitlines()
    finally:
        structlog.reset_defaults()  # later tests must not write to this test's captured stream

    assert '"event": "committed state"' in lines[0] and '"height": 5' in lines[0]
    assert '"logger": "cometbft"' in lines[0]
    assert len(lines) == 2 and "panic: not json" in lines[1]
