"""`infera tx|query tee` and `infera tee report-data`: registered, offline report_data equals the
consensus binding, bad input is a user error."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from chain import crypto
from chain.cli.main import app
from modules.tee import logic

OPERATOR = crypto.to_bech32(b"\x11" * 20)
KEY = "22" * 32


def test_tee_commands_are_registered() -> None:
    runner = CliRunner()
    assert "attest" in runner.invoke(app, ["tx", "tee", "--help"]).output
    assert "attestation" in runner.invoke(app, ["query", "tee", "--help"]).output
    assert "report-data" in runner.invoke(app, ["tee", "--help"]).output


def test_report_data_offline_is_the_consensus_binding() -> None:
    args = ["tee", "report-data", "--operator", OPERATOR, "--chain-id", "infera-1", "--epoch", "7",
            "--encryption-pubkey", KEY, "-o", "json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    digest = logic.compute_report_data("infera-1", 7, bytes.fromhex(KEY), b"\x11" * 20)
    assert data["report_data"] == digest.hex() + "00" * 32 and data["nonce"] == digest.hex()


def test_bad_tee_input_is_a_user_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    bad_type = runner.invoke(app, ["tx", "tee", "attest", "--type", "sev", "--from", "x"])
    assert "expected one of tdx" in str(bad_type.exception)
    no_report = runner.invoke(app, ["tx", "tee", "attest", "--type", "tdx", "--from", "x"])
    assert "give --report" in str(no_report.exception)
    short_key = runner.invoke(app, ["tee", "report-data", "--operator", OPERATOR,
                                    "--encryption-pubkey", "ab"])  # fmt: skip
    assert "expected hex of 32 bytes" in str(short_key.exception)
