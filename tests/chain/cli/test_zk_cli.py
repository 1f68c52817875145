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


def test_parse_weights_commitment_is_ascii_exact_and_below_r():
    import pytest

    from chain.cli.common import CLIError
    from chain.cli.zk import parse_weights_commitment
    from modules.zk.encoding import R

    assert parse_weights_commitment("33") == (33).to_bytes(32, "big")
    assert parse_weights_commitment("0x21") == (33).to_bytes(32, "big")
    assert parse_weights_commitment(str(R - 1)) == (R - 1).to_bytes(32, "big")
    for bad in (str(R), "", "-1", "٣٣", "0x", "1e3", " 33", "0x" + "f" * 65):
        with pytest.raises(CLIError):
            parse_weights_commitment(bad)


def test_register_key_sends_a_private_key_with_its_weights_commitment(tmp_path, monkeypatch):
    import json

    from chain.cli import zk as cli
    from infera.zk.v1 import types_pb2

    sent = []

    class Wallet:
        def address(self):
            return "infera1owner"

    class Client:
        def execute(self, wallet, msgs, **options):
            sent.extend(msgs)

    monkeypatch.setattr(cli, "send", lambda flags, build: build(Client(), Wallet(), {}))
    monkeypatch.setattr(cli, "_refuses_dev_keys", lambda client: False)
    monkeypatch.setattr(cli, "_convert", lambda fn, data, what: b"key-bytes")  # chain decodes it
    vk = tmp_path / "vk.json"
    vk.write_text(json.dumps({"protocol": "groth16"}))
    args = ["tx", "zk", "register-key", "k", "m", "--vk", str(vk), "--dev-setup", "--from", "x"]
    for extra, mode, commitment in (
        ([], types_pb2.WEIGHTS_MODE_BAKED, b""),
        (["--weights-commitment", "33"], types_pb2.WEIGHTS_MODE_PRIVATE, (33).to_bytes(32, "big")),
    ):
        result = CliRunner().invoke(app, args + extra)
        assert result.exit_code == 0, result.output
        assert (sent[-1].weights, sent[-1].weights_commitment) == (mode, commitment)
    refused = CliRunner().invoke(app, [*args, "--weights-commitment", "0x"])
    assert refused.exit_code != 0 and len(sent) == 2  # nothing is signed for a bad value
