"""Scopes and the principal they describe: who is calling, and what they may read.

A token carries scope strings:

    read                      tools, resources and prompts
    admin                     the management REST API, the Alertmanager webhook, the audit log
    datasource:NAME           only these datasources (any number; none: every datasource)
    label:NAME=VALUE          every query is confined to series and streams with this label
                              (any number, all enforced together)

Over stdio and in memory the caller is the local user, who may read everything (`LOCAL`).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from aiops_mcp.query.promql import LabelMatcher

READ = "read"
ADMIN = "admin"
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*", re.ASCII)
_DATASOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
SCOPE_FORMS = "read, admin, datasource:NAME, label:NAME=VALUE"


class ScopeError(ValueError):
    """A scope string that means nothing; the message names it and the accepted forms."""


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: `name` (a token's name, or "local"), what it may do, and where it may look.

    `datasources` None means every datasource; `labels` are matchers injected into every query.
    """

    name: str
    read: bool
    admin: bool
    datasources: frozenset[str] | None = None
    labels: tuple[LabelMatcher, ...] = ()

    @property
    def scoped(self) -> bool:
        """True when queries must be confined to `labels`."""
        return bool(self.labels)

    def may_use(self, datasource: str) -> bool:
        return self.datasources is None or datasource in self.datasources

    def describe(self) -> str:
        """The scopes in their written form, for messages and listings."""
        return ", ".join(scope_strings(self)) or "none"


LOCAL = Principal("local", read=True, admin=True)
"""The local user of a stdio or in-memory server: trusted, unscoped."""


def parse_scope(text: str) -> tuple[str, str, str]:
    """One scope string checked, as (kind, name, value): ("read", "", ""), ("admin", "", ""),
    ("datasource", NAME, "") or ("label", NAME, VALUE); `ScopeError` for anything else."""
    scope = text.strip()
    if scope in (READ, ADMIN):
        return scope, "", ""
    kind, sep, rest = scope.partition(":")
    if sep and kind == "datasource" and _DATASOURCE_NAME.fullmatch(rest):
        return kind, rest, ""
    if sep and kind == "label":
        name, eq, value = rest.partition("=")
        if eq and _LABEL_NAME.fullmatch(name) and name != "__name__" and value:
            return kind, name, value
    raise ScopeError(f"unknown scope {text!r}: use {SCOPE_FORMS}")


def principal_of(name: str, scopes: Iterable[str]) -> Principal:
    """The principal a token named `name` with these scopes stands for (`ScopeError` on a bad one)."""
    kinds: set[str] = set()
    datasources: set[str] = set()
    labels: dict[str, str] = {}
    for kind, key, value in map(parse_scope, scopes):
        kinds.add(kind)
        if kind == "datasource":
            datasources.add(key)
        elif kind == "label" and labels.setdefault(key, value) != value:
            raise ScopeError(f"two values for enforced label {key!r}: {labels[key]!r} and {value!r}")
    matchers = tuple(LabelMatcher(k, "=", v) for k, v in sorted(labels.items()))
    return Principal(name, READ in kinds, ADMIN in kinds, frozenset(datasources) or None, matchers)


def scope_strings(principal: Principal) -> list[str]:
    """The written scopes of a principal, the inverse of `principal_of`."""
    out = [s for s, on in ((READ, principal.read), (ADMIN, principal.admin)) if on]
    out += [f"datasource:{name}" for name in sorted(principal.datasources or ())]
    out += [f"label:{m.name}={m.value}" for m in principal.labels]
    return out
