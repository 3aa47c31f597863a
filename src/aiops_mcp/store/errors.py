"""Typed errors raised by the store.

    StoreError                  anything the store refuses or cannot do
    ├── StoreUnavailable        the database cannot be reached or opened at start
    ├── SecretKeyError          the secret key is malformed, unreadable, or not the one that
    │                           encrypted the stored secrets
    └── InvalidInput            a value failed validation; the message names each field

Every message is one line a person can act on; none contains a password or a secret.
"""

from pydantic import ValidationError


class StoreError(Exception):
    """Base class of every store error."""


class StoreUnavailable(StoreError):
    """The database could not be reached or opened; the message carries the URL without password."""


class SecretKeyError(StoreError):
    """The Fernet key is invalid, or differs from the key the stored secrets were encrypted with."""


class InvalidInput(StoreError, ValueError):
    """Input failed validation. `errors` maps each dotted field path to its message."""

    def __init__(self, what: str, errors: dict[str, str]) -> None:
        self.errors = errors
        detail = "; ".join(f"{field}: {message}" for field, message in errors.items())
        super().__init__(f"invalid {what}: {detail}")

    @classmethod
    def from_validation(cls, what: str, error: ValidationError) -> "InvalidInput":
        """Name each failing field by its dotted path (``slos.availability``)."""
        errors: dict[str, str] = {}
        for item in error.errors(include_url=False):
            field = ".".join(str(part) for part in item["loc"]) or what
            errors.setdefault(field, item["msg"])
        return cls(what, errors)


class NotFound(StoreError, LookupError):
    """Nothing by that name or id; the message lists the known ones, closest first."""
