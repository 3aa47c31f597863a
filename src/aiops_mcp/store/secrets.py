"""Encryption at rest for datasource credentials (Fernet: AES-128-CBC + HMAC-SHA256).

Where the key comes from, in order:
1. the environment variable ``AIOPS_MCP_SECRET_KEY`` (a Fernet key: 32 bytes, url-safe base64);
2. the file ``secret.key`` in the data directory, generated on first run with mode 0600 and
   reused afterwards.

Losing the key makes stored secrets unreadable (re-enter them); a different key is reported as
a `SecretKeyError` naming where the key came from, never as a traceback from `cryptography`.
"""

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from aiops_mcp.store.errors import SecretKeyError

KEY_ENV = "AIOPS_MCP_SECRET_KEY"
KEY_FILE = "secret.key"


@dataclass(frozen=True)
class SecretBox:
    """Encrypts and decrypts short secrets with one Fernet key; `source` says where it came from."""

    fernet: Fernet
    source: str

    @classmethod
    def from_key(cls, key: str | bytes, source: str = "the given key") -> "SecretBox":
        """A box for ``key``; `SecretKeyError` when it is not a Fernet key."""
        try:
            return cls(Fernet(key.strip()), source)
        except (ValueError, TypeError):
            raise SecretKeyError(
                f"{source} is not a valid Fernet key (32 url-safe base64-encoded bytes; generate one with "
                '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`)'
            ) from None

    def encrypt(self, plaintext: str) -> str:
        """The Fernet token (ASCII text) of ``plaintext``."""
        return self.fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str, what: str = "a stored secret") -> str:
        """The plaintext of ``token``; `SecretKeyError` when this key did not encrypt it."""
        try:
            return self.fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretKeyError(
                f"cannot decrypt {what} with the key from {self.source}: it was encrypted with another "
                f"key (restore that key in {KEY_ENV} or the data directory, or re-enter the secret)"
            ) from None


def load_secret_box(data_dir: Path, environ: Mapping[str, str] | None = None) -> SecretBox:
    """The box for this installation: the key from ``AIOPS_MCP_SECRET_KEY`` or ``data_dir/secret.key``."""
    environ = os.environ if environ is None else environ
    if environ.get(KEY_ENV):
        return SecretBox.from_key(environ[KEY_ENV], f"${KEY_ENV}")
    path = data_dir / KEY_FILE
    return SecretBox.from_key(_read_or_create_key(path), str(path))


def _read_or_create_key(path: Path) -> bytes:
    """The key in ``path``, generated first (mode 0600) when absent.

    The key is written to a private temporary file and hard-linked into place, so the file is
    never seen half-written and two first runs racing agree on one key.
    """
    if path.exists():
        return _read_key(path)
    key = Fernet.generate_key()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(key + b"\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return _read_key(path)
    except OSError as error:
        raise SecretKeyError(f"cannot create the secret key file {path}: {error.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    return key


def _read_key(path: Path) -> bytes:
    """The key stored in ``path``."""
    try:
        key = path.read_bytes().strip()
    except OSError as error:
        raise SecretKeyError(f"cannot read the secret key file {path}: {error.strerror}") from None
    if not key:
        raise SecretKeyError(f"the secret key file {path} is empty: delete it to generate a new key")
    return key
