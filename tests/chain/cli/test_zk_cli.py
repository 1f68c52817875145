"""`infera tx zk` / `infera query zk` are registered and refuse files that are not snarkjs JSON."""

from __future__ import annotations

from typer.testing import CliRunner

from chain.cli.main import app


def test_zk_commands_are_registered():
    runner = CliRunner()
    assert "register-key" in runner.invoke(app, ["tx", "zk", "--help"]).output
    assert "job-proof" in runner.invoke(app, ["query", "zk", "--help"]).output


def test_register_key_refuses_a_file_that_is_not_a_snarkjs_key(tmp_path):
    bad = tmp_path / "vk.json"
    bad.write_text('{"protocol": "plonk"}')
    result = CliRunner().invoke(
        app, ["tx", "zk", "register-key", "k", "m", "--vk", str(bad), "--from", "x"]
    )
    assert result.exit_code != 0
    assert "not snarkjs groth16/bn128 JSON" in str(result.exception)


def test_submit_proof_refuses_unreadable_json(tmp_path):
    bad = tmp_path / "proof.json"
    bad.write_text("{")
    args = [
        "tx",
        "zk",
        "submit-proof",
        "1",
        "--proof",
        str(bad),
        "--public",
        str(bad),
        "--from",
        "x",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert "cannot read" in str(result.exception)
