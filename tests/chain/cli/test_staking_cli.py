"""The staking / distribution / slashing CLI builds messages the chain accepts, and refuses
amounts that are not uinfera before signing anything."""

from __future__ import annotations

import chain.pb  # noqa: F401

import pytest
from typer.testing import CliRunner

from chain.cli import staking
from chain.cli.common import CLIError
from chain.cli.main import app
from tests.modules.staking.helpers import delegation_tokens, run
from tests.modules.staking.test_delegation import make_chain


def test_cli_messages_delegate_redelegate_undelegate_on_a_chain(tmp_path):
    chain_ = make_chain(tmp_path)
    alice, val0, val1 = chain_.keys[0], chain_.validators[0], chain_.validators[1]
    assert (
        run(chain_, alice, staking.delegate_msg(alice.bech32, val0.bech32, "5000uinfera")).code == 0
    )
    msg = staking.redelegate_msg(alice.bech32, val0.bech32, val1.bech32, "2000")
    assert run(chain_, alice, msg).code == 0
    assert run(chain_, alice, staking.undelegate_msg(alice.bech32, val0.bech32, "1000")).code == 0
    assert delegation_tokens(chain_, alice, val0) == 2000
    assert delegation_tokens(chain_, alice, val1) == 2000
    chain_.store.close()


def test_cli_refuses_other_denoms_before_signing():
    with pytest.raises(CLIError):
        staking.delegate_msg("infera1x", "infera1y", "5uatom")


def test_cli_groups_are_registered():
    result = CliRunner().invoke(app, ["tx", "distribution", "--help"])
    assert result.exit_code == 0 and "withdraw-rewards" in result.output
    result = CliRunner().invoke(app, ["query", "slashing", "--help"])
    assert result.exit_code == 0 and "signing-info" in result.output
