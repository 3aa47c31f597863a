"""The secret key: from the environment, or generated once into a private file and reused."""

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from aiops_mcp.store import SecretBox, SecretKeyError, load_secret_box
from aiops_mcp.store.secrets import KEY_ENV, KEY_FILE


def test_first_run_generates_a_key_file_readable_only_by_the_owner(tmp_path: Path) -> None:
    box = load_secret_box(tmp_path / "data", environ={})
    key_file = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert box.source == str(key_file)
    assert [p.name for p in key_file.parent.iterdir()] == [KEY_FILE], "no temporary file left behind"


def test_the_generated_key_is_reused_on_later_runs(tmp_path: Path) -> None:
    token = load_secret_box(tmp_path, environ={}).encrypt("hunter2")
    key_before = (tmp_path / KEY_FILE).read_bytes()
    assert load_secret_box(tmp_path, environ={}).decrypt(token) == "hunter2"
    assert (tmp_path / KEY_FILE).read_bytes() == key_before


def test_the_environment_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    box = load_secret_box(tmp_path, environ={KEY_ENV: key})
    assert Fernet(key).decrypt(box.encrypt("s3cret").encode()) == b"s3cret"
    assert not (tmp_path / KEY_FILE).exists()


def test_a_malformed_environment_key_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError) as caught:
        load_secret_box(tmp_path, environ={KEY_ENV: "not-a-key"})
    message = str(caught.value)
    assert f"${KEY_ENV} is not a valid Fernet key" in message
    assert "not-a-key" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_empty_key_file_is_reported_not_replaced(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_bytes(b"")
    with pytest.raises(SecretKeyError, match="is empty"):
        load_secret_box(tmp_path, environ={})


def test_decrypting_with_another_key_names_the_key_source_not_a_traceback() -> None:
    token = SecretBox.from_key(Fernet.generate_key()).encrypt("hunter2")
    other = SecretBox.from_key(Fernet.generate_key(), source="$AIOPS_MCP_SECRET_KEY")
    with pytest.raises(SecretKeyError) as caught:
        other.decrypt(token, "the credentials of datasource 'prod'")
    message = str(caught.value)
    assert "cannot decrypt the credentials of datasource 'prod'" in message
    assert "$AIOPS_MCP_SECRET_KEY" in message
    assert caught.value.__suppress_context__
