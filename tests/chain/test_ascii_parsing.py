"""ASCII-exact parsing outside consensus too (issue 12, items 3 and 6): CLI amounts, CometBFT
times, node addresses and key names take ASCII digits and letters only, matched whole."""

from __future__ import annotations

import pytest

from chain.cli.common import CLIError, parse_coins
from chain.cometbft import parse_time
from chain.keyring import Keyring, KeyringError
from chain.nodeconfig import ConfigError, parse_tcp_address


@pytest.mark.parametrize("text", ["１０uinfera", "١٠", "²", "10 uinfera", "1_0"])
def test_cli_amounts_take_ascii_digits_only(text):
    with pytest.raises(CLIError):
        parse_coins(text)
    assert parse_coins("10uinfera") == [(10, "uinfera")]


@pytest.mark.parametrize(
    "text", ["２０２４-01-01T00:00:00Z", "2024-01-01T00:00:00Z\n", "2024-01-01T00:00:0٠Z"]
)
def test_cometbft_times_take_ascii_digits_only(text):
    with pytest.raises(ValueError):
        parse_time(text)
    assert parse_time("2024-01-01T00:00:00.5Z").nanos == 500_000_000


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:２６６５７", "127.0.0.1:26657\n x", "h:²"])
def test_node_addresses_take_ascii_ports_only(address):
    with pytest.raises(ConfigError):
        parse_tcp_address(address)
    assert parse_tcp_address("tcp://127.0.0.1:26657") == ("127.0.0.1", 26657)


@pytest.mark.parametrize("name", ["alice\n", "ａlice", "alicé"])
def test_key_names_are_ascii(tmp_path, name):
    with pytest.raises(KeyringError):
        Keyring(tmp_path)._path(name)
