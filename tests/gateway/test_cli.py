"""`infera gateway`'s own inputs: the API-key file and the --model arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.cli.common import CLIError
from chain.cli.gateway import parse_models, read_api_keys


def test_api_keys_are_read_one_per_line_without_comments(tmp_path):
    path = tmp_path / "keys"
    path.write_text("# ops team\nsk-aaaaaaaaaaaaaaaa\n\n  sk-bbbbbbbbbbbbbbbb  \n")
    assert read_api_keys(path) == {"sk-aaaaaaaaaaaaaaaa", "sk-bbbbbbbbbbbbbbbb"}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "short\n", "sk-with space inside!!\n"])
def test_a_key_file_without_usable_keys_refuses_to_start(tmp_path, text):
    path = tmp_path / "keys"
    path.write_text(text)
    with pytest.raises(CLIError):
        read_api_keys(path)


def test_a_missing_key_file_is_a_cli_error(tmp_path):
    with pytest.raises(CLIError, match="cannot read"):
        read_api_keys(tmp_path / "absent")


def test_models_are_id_equals_folder():
    assert parse_models(["tiny=/m/tiny", "b.2=rel/dir"]) == {
        "tiny": Path("/m/tiny"),
        "b.2": Path("rel/dir"),
    }


@pytest.mark.parametrize("values", [[], ["tiny"], ["Tiny=/m"], ["=/m"]])
def test_invalid_model_arguments_are_cli_errors(values):
    with pytest.raises(CLIError):
        parse_models(values)
