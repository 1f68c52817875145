"""One validator from the CLI: ``infera init`` + ``infera start``, a send with ``infera tx``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cosmpy.aerial.wallet import LocalWallet

from tests.integration.conftest import (
    TIMEOUT_COMMIT,
    NodeProcess,
    free_port_base,
    infera,
    load_dev_accounts,
)

pytestmark = pytest.mark.integration

CHAIN_ID = "infera-single"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """A single-validator chain made and run by the CLI (always stopped afterwards).

    Shared by this module's tests: each reads the balances it compares before acting.
    """
    base = free_port_base(1)
    home = tmp_path_factory.mktemp("single") / "home"
    infera(
        "init", "--home", str(home), "--chain-id", CHAIN_ID, "--moniker", "solo",
        "--timeout-commit", TIMEOUT_COMMIT, "--p2p-port", str(base), "--rpc-port", str(base + 1),
        "--abci-port", str(base + 2), "--grpc-port", str(base + 3),
    )  # fmt: skip
    process = NodeProcess("solo", home, f"http://127.0.0.1:{base + 1}")
    process.start()
    try:
        process.wait_height(2)
        yield process
    finally:
        if process.process is not None:
            assert process.stop() == 0, "infera start did not exit cleanly on SIGTERM"


def _balance(node: NodeProcess, address: str) -> int:
    out = infera(
        "query",
        "bank",
        "balance",
        address,
        "--denom",
        "uinfera",
        "--node",
        node.rpc_url,
        "-o",
        "json",
    )
    return int(json.loads(out.stdout)["balances"][0]["amount"])


def test_cli_send_moves_exactly_amount_plus_fee(node: NodeProcess) -> None:
    dev = load_dev_accounts(node.home / "dev-accounts.json")
    sender, recipient = dev[0], dev[1]
    before_sender, before_recipient = (
        _balance(node, sender.address),
        _balance(node, recipient.address),
    )

    out = infera(
        "tx", "bank", "send", "dev0", recipient.address, "12345uinfera", "--home", str(node.home),
        "--node", node.rpc_url, "--fees", "5000uinfera", "--gas", "200000", "-o", "json",
    )  # fmt: skip
    result = json.loads(out.stdout)

    assert result["code"] == 0, result["log"]
    assert result["height"] > 0 and len(result["txhash"]) == 64
    assert _balance(node, recipient.address) == before_recipient + 12345
    assert _balance(node, sender.address) == before_sender - 12345 - 5000


def test_cli_send_reports_failed_delivery_with_its_code(node: NodeProcess) -> None:
    recipient = load_dev_accounts(node.home / "dev-accounts.json")[1].address
    out = infera(
        "tx", "bank", "send", "dev0", recipient, f"{10**30}uinfera", "--home", str(node.home),
        "--node", node.rpc_url, "-o", "json", check=False,
    )  # fmt: skip
    assert out.returncode == 1
    assert json.loads(out.stdout)["code"] == 5  # sdk insufficient funds, at delivery


def test_cli_rejects_bad_input_with_clear_errors(node: NodeProcess) -> None:
    recipient = load_dev_accounts(node.home / "dev-accounts.json")[1].address
    home = ["--home", str(node.home), "--node", node.rpc_url]
    bad_address = infera(
        "tx", "bank", "send", "dev0", "infera1notanaddress", "1", *home, check=False
    )
    unknown_key = infera("tx", "bank", "send", "nobody", recipient, "1", *home, check=False)
    bad_amount = infera("tx", "bank", "send", "dev0", recipient, "-5uinfera", *home, check=False)
    node_down = infera(
        "tx", "bank", "send", "dev0", recipient, "1", "--home", str(node.home),
        "--node", "tcp://127.0.0.1:1", check=False,
    )  # fmt: skip
    low_fee = infera(
        "tx", "bank", "send", "dev0", recipient, "1", *home, "--fees", "1uinfera", check=False
    )

    assert bad_address.returncode == 1 and "invalid bech32 address" in bad_address.stderr
    assert unknown_key.returncode == 1 and "key 'nobody' not found" in unknown_key.stderr
    assert bad_amount.returncode != 0
    assert node_down.returncode == 1 and "cannot reach node" in node_down.stderr
    assert low_fee.returncode == 1 and "insufficient fees" in low_fee.stdout
    for out in (bad_address, unknown_key, node_down):
        assert "Traceback" not in out.stderr


def test_status_reports_chain_and_single_validator(node: NodeProcess) -> None:
    status = json.loads(infera("status", "--node", node.rpc_url, "-o", "json").stdout)

    assert status["chain_id"] == CHAIN_ID
    assert status["height"] >= 2 and not status["catching_up"]
    assert len(status["validators"]) == 1 and status["validators"][0]["voting_power"] == 10


def test_keys_recovered_from_dev_mnemonic_match_cosmpy(node: NodeProcess, tmp_path: Path) -> None:
    dev = load_dev_accounts(node.home / "dev-accounts.json")[0]
    other_home = str(tmp_path / "other")
    infera("keys", "add", "restored", "--recover", "--home", other_home, stdin=dev.mnemonic + "\n")
    shown = infera("keys", "show", "restored", "--address", "--home", other_home).stdout.strip()

    assert shown == dev.address
    assert str(LocalWallet.from_mnemonic(dev.mnemonic, prefix="infera").address()) == dev.address
