"""Management commands: stored datasources, application profiles, alert import, the demo seed.

    aiops-mcp datasource add --name prod --type prometheus --url http://prom:9090 \\
        [--bearer-token-env PROM_TOKEN | --bearer-token-stdin] [--basic-user U --basic-password-env VAR]
    aiops-mcp datasource list | remove NAME
    aiops-mcp app add FILE (YAML or JSON, like examples/abc-app.yaml) | list | show NAME | remove NAME
    aiops-mcp alerts import FILE (an Alertmanager webhook payload, or a list of alerts; idempotent)
    aiops-mcp token create NAME [--scope read|admin|datasource:NAME|label:NAME=VALUE ...] | list | revoke NAME
    aiops-mcp demo seed [--world-end ISO-8601]
    aiops-mcp demo run [--model M] [--mcp-port P] [--web-port P] [--data-dir DIR]

Secrets are never taken from argv (it lands in shell history and `ps`): name an environment
variable holding them, or pipe them on stdin (prompted without echo on a terminal).
Every failure is one line on stderr and exit status 1.
"""

import argparse
import getpass
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import yaml
from pydantic import SecretStr, ValidationError

from aiops_mcp.datasources.config import DatasourceConfig
from aiops_mcp.security.scopes import READ, SCOPE_FORMS, ScopeError, principal_of
from aiops_mcp.settings import Settings

if TYPE_CHECKING:  # SQLAlchemy is imported only when a command needs the store
    from aiops_mcp.store import Store

COMMANDS = ("datasource", "app", "alerts", "token", "demo")
PROFILE_FIELDS = (
    *("id", "name", "description", "architecture_info", "service_mappings"),
    *("prometheus_datasource", "loki_datasource", "default_metrics", "slos", "aliases"),
)


class CommandError(Exception):
    """A failure to report as one line, exit status 1."""


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the management commands to the `aiops-mcp` parser."""
    datasource = commands.add_parser("datasource", help="manage stored datasources").add_subparsers(
        dest="action", required=True
    )
    add = datasource.add_parser("add", help="store (or replace) a datasource; secrets from env or stdin")
    add.add_argument("--name", required=True)
    add.add_argument("--type", required=True, choices=["prometheus", "loki", "alertmanager"])
    add.add_argument("--url", required=True)
    add.add_argument(
        "--bearer-token-env", metavar="VAR", help="environment variable holding the bearer token"
    )
    add.add_argument("--bearer-token-stdin", action="store_true", help="read the bearer token from stdin")
    add.add_argument("--basic-user")
    add.add_argument("--basic-password-env", metavar="VAR", help="environment variable holding the password")
    add.add_argument("--tenant", help="X-Scope-OrgID (Loki, Mimir)")
    add.add_argument("--no-verify-tls", action="store_true")
    add.add_argument("--default", action="store_true", help="the default datasource of its type")
    datasource.add_parser("list", help="list stored datasources (no secrets)")
    datasource.add_parser("remove", help="delete a stored datasource").add_argument("name")

    app = commands.add_parser("app", help="manage application profiles").add_subparsers(
        dest="action", required=True
    )
    app.add_parser("add", help="store (or replace) a profile from a YAML or JSON file").add_argument(
        "file", type=Path
    )
    app.add_parser("list", help="list profiles")
    app.add_parser("show", help="print a profile as JSON").add_argument("name")
    app.add_parser("remove", help="delete a profile").add_argument("name")

    alerts = commands.add_parser("alerts", help="import alerts").add_subparsers(dest="action", required=True)
    imported = alerts.add_parser("import", help="import a webhook payload or a list of alerts (JSON)")
    imported.add_argument("file", type=Path)

    token = commands.add_parser("token", help="manage bearer tokens for HTTP").add_subparsers(
        dest="action", required=True
    )
    create = token.add_parser("create", help="create a token; its value is printed once, never stored")
    create.add_argument("name")
    create.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        metavar="SCOPE",
        help=f"repeatable; {SCOPE_FORMS} (default: read)",
    )
    token.add_parser("list", help="list tokens (names, scopes, use; never values)")
    token.add_parser("revoke", help="revoke a token: it stops working within seconds").add_argument("name")

    demo = commands.add_parser("demo", help="demo data").add_subparsers(dest="action", required=True)
    seed = demo.add_parser("seed", help="fill the store with the demo world's profiles, alerts and a chat")
    seed.add_argument("--world-end", help="the demo world's last sample time (default: now, to the minute)")
    run = demo.add_parser("run", help="start a demo world, the MCP server and the chat page")
    run.add_argument("--model", help="LiteLLM model for the chat (default: the offline planner)")
    run.add_argument("--mcp-port", type=int, default=8000, help="MCP server port (default 8000; 0: any free)")
    run.add_argument("--web-port", type=int, default=8765, help="chat page port (default 8765; 0: any free)")
    run.add_argument("--data-dir", type=Path, help="where the demo keeps its data (default: a temp dir)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one management command; 0 on success, 1 with one line on stderr otherwise."""
    from aiops_mcp.store import StoreError

    try:
        return anyio.run(_run, args, settings)
    except (CommandError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    # Parse files and read secrets before opening the store: a bad file never touches the database.
    handler = HANDLERS[(args.command, args.action)]
    prepared = _prepare(args)
    from aiops_mcp.store import open_store

    async with await open_store(settings.database_url, settings.data_dir) as store:
        await handler(store, args, prepared)
    return 0


def _prepare(args: argparse.Namespace) -> Any:
    if (args.command, args.action) == ("datasource", "add"):
        return _datasource_config(args)
    if (args.command, args.action) == ("app", "add"):
        from aiops_mcp.store import validate_profile

        data = _load(args.file)
        if not isinstance(data, dict):
            raise CommandError(f"{args.file}: expected a mapping of profile fields")
        return validate_profile(data)
    if (args.command, args.action) == ("alerts", "import"):
        return _alerts(args.file)
    if (args.command, args.action) == ("token", "create"):
        scopes = args.scopes or [READ]
        try:
            principal_of(args.name, scopes)
        except ScopeError as error:
            raise CommandError(str(error)) from None
        return sorted({s.strip() for s in scopes})
    return None


def _secret(env: str | None, stdin: bool, what: str) -> SecretStr | None:
    if env:
        value = os.environ.get(env)
        if not value:
            raise CommandError(f"environment variable {env} (the {what}) is not set or empty")
        return SecretStr(value)
    if stdin:
        value = getpass.getpass(f"{what}: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
        if not value:
            raise CommandError(f"no {what} on stdin")
        return SecretStr(value)
    return None


def _datasource_config(args: argparse.Namespace) -> tuple[DatasourceConfig, bool]:
    if args.basic_password_env and not args.basic_user:
        raise CommandError("--basic-password-env needs --basic-user")
    try:
        config = DatasourceConfig(
            name=args.name,
            type=args.type,
            url=args.url.rstrip("/"),
            bearer_token=_secret(args.bearer_token_env, args.bearer_token_stdin, "bearer token"),
            basic_user=args.basic_user,
            basic_password=_secret(args.basic_password_env, False, "basic password"),
            tenant=args.tenant,
            verify_tls=not args.no_verify_tls,
        )
    except ValidationError as error:
        raise CommandError(_fields("datasource", error)) from None
    if not config.url.startswith(("http://", "https://")):
        raise CommandError(f"url: must start with http:// or https://, got {config.url!r}")
    return config, args.default


def _load(path: Path) -> Any:
    """A YAML or JSON file's content (JSON is YAML)."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise CommandError(f"{path} is not valid YAML or JSON: {str(error).splitlines()[0]}") from None


def _alerts(path: Path) -> list[Any]:
    from aiops_mcp.store import AlertIn

    data = _load(path)
    items = data.get("alerts") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise CommandError(f"{path}: expected a webhook payload with 'alerts' or a list of alerts")
    alerts = []
    for index, item in enumerate(items):
        try:
            alerts.append(AlertIn.model_validate(item))
        except ValidationError as error:
            raise CommandError(_fields(f"alerts[{index}]", error)) from None
    return alerts


def _fields(what: str, error: ValidationError) -> str:
    problems = (
        f"{'.'.join(str(p) for p in item['loc']) or what}: {item['msg']}"
        for item in error.errors(include_url=False, include_input=False)
    )
    return f"invalid {what}: " + "; ".join(problems)


async def datasource_add(
    store: "Store", _: argparse.Namespace, prepared: tuple[DatasourceConfig, bool]
) -> None:
    config, default = prepared
    saved = await store.datasources.save(config, is_default=default)
    print(f"saved datasource {saved.name} ({saved.type}) {saved.url} auth={saved.auth}")


async def datasource_list(store: "Store", _: argparse.Namespace, __: None) -> None:
    rows = await store.datasources.list_public()
    for ds in rows:
        flags = ",".join(f for f, on in (("default", ds.is_default), ("disabled", not ds.is_enabled)) if on)
        print(f"{ds.id}\t{ds.name}\t{ds.type}\t{ds.url}\tauth={ds.auth}" + (f"\t{flags}" if flags else ""))
    if not rows:
        print("no stored datasources (add one with `aiops-mcp datasource add`)")


async def datasource_remove(store: "Store", args: argparse.Namespace, _: None) -> None:
    if not await store.datasources.delete(args.name):
        raise CommandError(f"no stored datasource named {args.name!r}")
    print(f"removed datasource {args.name}")


async def app_add(store: "Store", _: argparse.Namespace, profile: Any) -> None:
    existed = await store.profiles.get(profile.name) is not None
    await store.profiles.save(profile)
    print(f"{'updated' if existed else 'added'} application {profile.name}")


async def app_list(store: "Store", _: argparse.Namespace, __: None) -> None:
    rows = await store.profiles.list_all()
    for row in rows:
        aliases = f" (aliases: {', '.join(row.aliases)})" if row.aliases else ""
        print(f"{row.id}\t{row.name}{aliases}\t{row.description or ''}")
    if not rows:
        print("no applications (add one with `aiops-mcp app add FILE`)")


async def _profile(store: "Store", name: str) -> Any:
    row = await store.profiles.find(name)
    if row is None:
        known = ", ".join(p.name for p in await store.profiles.list_all()) or "none"
        raise CommandError(f"no application {name!r}; known: {known}")
    return row


async def app_show(store: "Store", args: argparse.Namespace, _: None) -> None:
    row = await _profile(store, args.name)
    print(json.dumps({name: getattr(row, name) for name in PROFILE_FIELDS}, indent=2))


async def app_remove(store: "Store", args: argparse.Namespace, _: None) -> None:
    row = await _profile(store, args.name)
    await store.profiles.delete(row.name)
    print(f"removed application {row.name}")


async def alerts_import(store: "Store", _: argparse.Namespace, alerts: list[Any]) -> None:
    result = await store.alerts.upsert_alerts(alerts)
    print(
        f"imported {len(alerts)} alerts: {len(result.created)} created, {len(result.updated)} updated, "
        f"{len(result.ignored)} ignored (already resolved)"
    )


async def token_create(store: "Store", args: argparse.Namespace, scopes: list[str]) -> None:
    if any(row.name == args.name for row in await store.tokens.list_all()):
        raise CommandError(
            f"a token named {args.name!r} already exists (revoked tokens keep their names): choose another"
        )
    _, plaintext = await store.tokens.create(args.name, scopes)
    print(plaintext)
    print(f"token {args.name} ({', '.join(scopes)}): shown once, store it now", file=sys.stderr)


async def token_list(store: "Store", _: argparse.Namespace, __: None) -> None:
    rows = await store.tokens.list_all()
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "live"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        print(f"{row.name}\t{','.join(row.scopes)}\t{state}\tlast used {used}")
    if not rows:
        print("no tokens (create one with `aiops-mcp token create NAME --scope read`)")


async def token_revoke(store: "Store", args: argparse.Namespace, _: None) -> None:
    if not await store.tokens.revoke(args.name):
        raise CommandError(f"no live token named {args.name!r}")
    print(f"revoked token {args.name}")


async def demo_seed(store: "Store", args: argparse.Namespace, _: None) -> None:
    from aiops_mcp.demo.seed import seed_demo

    if args.world_end:
        try:
            end = datetime.fromisoformat(args.world_end.replace("Z", "+00:00"))
        except ValueError:
            raise CommandError(f"--world-end: not an ISO-8601 time: {args.world_end!r}") from None
        end = end if end.tzinfo else end.replace(tzinfo=UTC)
    else:
        end = datetime.now(UTC).replace(second=0, microsecond=0)
    summary = await seed_demo(store, end)
    print(
        f"demo world ending {end.isoformat()}: "
        f"profiles {', '.join(summary.profiles_written) or 'unchanged'}; "
        f"alerts {summary.alerts_created} created, {summary.alerts_updated} updated; "
        f"chat session {summary.chat_session_id}{' created' if summary.chat_created else ''}"
    )


HANDLERS: dict[tuple[str, str], Any] = {
    ("datasource", "add"): datasource_add,
    ("datasource", "list"): datasource_list,
    ("datasource", "remove"): datasource_remove,
    ("app", "add"): app_add,
    ("app", "list"): app_list,
    ("app", "show"): app_show,
    ("app", "remove"): app_remove,
    ("alerts", "import"): alerts_import,
    ("token", "create"): token_create,
    ("token", "list"): token_list,
    ("token", "revoke"): token_revoke,
    ("demo", "seed"): demo_seed,
}
