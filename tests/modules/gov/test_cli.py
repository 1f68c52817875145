"""chain/cli/gov.py: proposal.json parsing (the SDK's shape; an empty authority becomes the gov
account) and its refusals."""

from __future__ import annotations

import json

import chain.pb  # noqa: F401

import pytest
from google.protobuf import json_format

from chain.cli.common import CLIError
from chain.cli.gov import GOV_ADDRESS, load_proposal, parse_weighted
from infera.gov.v1 import tx_pb2
from modules.agreement.params import default_params as agreement_defaults
from tests.modules.gov.helpers import GOV


def _write(tmp_path, data) -> object:
    path = tmp_path / "proposal.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_a_param_change_file_becomes_a_proposal_signed_by_gov(tmp_path):
    params = json_format.MessageToDict(agreement_defaults(), preserving_proto_field_name=True)
    message = {
        "@type": "/infera.gov.v1.MsgUpdateParams",
        "module": "agreement",
        "params": {"@type": "/infera.agreement.v1.Params", **params, "audit_probability": "0.5"},
    }
    path = _write(tmp_path, {"title": "audit more", "summary": "why", "messages": [message]})
    msg = load_proposal(path, proposer="infera1proposer", deposit=123)
    assert GOV_ADDRESS == GOV
    assert (msg.title, msg.summary, msg.initial_deposit.amount) == ("audit more", "why", "123")
    inner = tx_pb2.MsgUpdateParams()
    assert msg.messages[0].Unpack(inner)
    assert inner.authority == GOV and inner.module == "agreement"
    assert inner.params.type_url == "/infera.agreement.v1.Params"


def test_an_upgrade_file_keeps_its_plan(tmp_path):
    message = {"@type": "/infera.gov.v1.MsgSoftwareUpgrade", "plan": {"name": "v2", "height": "90"}}
    msg = load_proposal(_write(tmp_path, {"title": "t", "messages": [message]}), "p", 1)
    inner = tx_pb2.MsgSoftwareUpgrade()
    assert msg.messages[0].Unpack(inner)
    assert (inner.plan.name, inner.plan.height, inner.authority) == ("v2", 90, GOV)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"messages": [{"@type": "/nope.Unknown"}]}),
        json.dumps({"messages": [{"@type": "/infera.gov.v1.MsgVote", "no_such_field": 1}]}),
        json.dumps({"messages": ["text"]}),
    ],
)
def test_a_bad_file_is_a_cli_error(tmp_path, content):
    with pytest.raises(CLIError):
        load_proposal(_write(tmp_path, content), "p", 1)


def test_weighted_options_parse_and_bad_ones_are_cli_errors():
    options = parse_weighted("yes=0.6,no_with_veto=0.4")
    assert [(o.option, o.weight) for o in options] == [(1, "0.6"), (4, "0.4")]
    for bad in ("yes", "maybe=1", "yes=0.5,,no=0.5"):
        with pytest.raises(CLIError):
            parse_weighted(bad)
