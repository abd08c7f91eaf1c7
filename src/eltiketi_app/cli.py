"""The ``eltiketi`` command: serve, dev-token, db, openapi, worker, dead-letters, bench.

Configuration comes from ``ELTIKETI_*`` (see ``docs/configuration.md``); flags
only override where the server listens. Output meant for scripts goes to
stdout (``dev-token`` prints the token alone); logs and progress go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec

from eltiketi_app.background import cli as worker_cli
from eltiketi_app.settings import Settings, SettingsError
from eltiketi_app.specs import stable_json
from eltiketi_core.domain.organization import MemberRole
from eltiketi_core.errors import DomainError

EXIT_USAGE = 2
BENCH_MISSING = (
    "eltiketi bench: the benchmark is not installed. It is not part of the eltiketi package: "
    "it lives in the repository's benchmarks/ folder. From a clone, run `nox -s bench`, or "
    "install it with `uv sync --locked --group bench` and run `eltiketi bench` again. See docs/benchmarks.md."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``eltiketi`` script; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["bench"]:
        return _bench(arguments[1:])  # the benchmark parses its own options
    parser = _parser()
    args = parser.parse_args(arguments)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        _say(f"eltiketi: {exc}")
        return EXIT_USAGE
    handlers = {
        "serve": _serve,
        "dev-token": _dev_token,
        "db": _db,
        "openapi": _openapi,
        **worker_cli.COMMANDS,  # worker, dead-letters
    }
    try:
        return handlers[args.command](settings, args)
    except SettingsError as exc:
        _say(f"eltiketi: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eltiketi",
        description="elTiketi ticketing service. Configure with ELTIKETI_* variables.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the REST API (embedded defaults)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1 or ELTIKETI_HOST)")
    serve.add_argument("--port", type=int, help="port (default 8000 or ELTIKETI_PORT)")
    serve.add_argument(
        "--demo", action="store_true", help="seed a published demo event (idempotent)"
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="embedded mode only: let it bind a non-loopback address (anyone who can reach "
        "it can mint admin tokens at /dev/token)",
    )

    token = commands.add_parser(
        "dev-token", help="print a bearer token for a dev user (embedded mode only)"
    )
    token.add_argument("--sub", required=True, help="the user's subject (id)")
    token.add_argument(
        "--role",
        action="append",
        default=[],
        choices=["customer", "organizer", "staff", "admin"],
        help="a role; repeat for several",
    )
    token.add_argument("--email", help="e-mail claim (where e-tickets go)")
    token.add_argument(
        "--email-unverified",
        action="store_true",
        help="mark the e-mail as not verified (default: verified, so invitations to it work)",
    )
    token.add_argument("--phone", help="phone claim (E.164, for SMS)")
    token.add_argument(
        "--member",
        action="append",
        default=[],
        metavar="ORG_ID:ROLE",
        type=_membership_arg,
        help="make the user a member of an organization first (ROLE: owner, manager or "
        "door); repeat for several. Writes to the embedded database (not memory://)",
    )

    db = commands.add_parser("db", help="database schema migrations")
    db_actions = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = db_actions.add_parser("upgrade", help="migrate to REV (default: the newest)")
    up.add_argument("revision", nargs="?", default="head")
    down = db_actions.add_parser("downgrade", help="migrate down to REV ('base': empty)")
    down.add_argument("revision")

    spec = commands.add_parser("openapi", help="write the OpenAPI document (JSON)")
    spec.add_argument("--output", type=Path, help="file to write (default: stdout)")

    worker_cli.add_commands(commands)
    commands.add_parser(
        "bench",
        add_help=False,
        help="benchmark the API against the raw PostgreSQL ceiling (the repository's "
        "benchmarks/ project, installed separately)",
    )
    return parser


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- bench -------------------------------------------------------------------------------


def _bench(argv: list[str]) -> int:
    """Hand over to the benchmark if it is installed; it is imported only here."""
    try:
        from eltiketi_bench.cli import main as bench_main
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("eltiketi_bench"):
            raise
        _say(BENCH_MISSING)
        return EXIT_USAGE
    return bench_main(argv, prog="eltiketi bench")


# --- serve -------------------------------------------------------------------------------


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from eltiketi_app.app import create_app
    from eltiketi_app.logs import configure_logging

    changes: dict[str, Any] = {}
    if args.host:
        changes["host"] = args.host
    if args.port is not None:
        changes["port"] = args.port
    settings = msgspec.structs.replace(settings, **changes)
    settings.check()
    refusal = exposure_refusal(settings, allow_remote=args.allow_remote)
    if refusal is not None:
        _say(refusal)
        return EXIT_USAGE
    configure_logging(settings.log_level, settings.log_format)
    logging.getLogger("eltiketi.cli").info("configuration", extra=settings.redacted())
    if settings.is_embedded and settings.is_exposed:
        _say(
            "\n"
            "!!! WARNING: embedded mode is listening on "
            f"{settings.host}:{settings.port}, not on localhost (--allow-remote).\n"
            "!!! Anyone who can reach it can mint tokens at /dev/token and 'pay' on the fake\n"
            "!!! payment page. Use ELTIKETI_MODE=production for anything but a local try-out.\n"
        )
    on_startup = [_demo_hook] if args.demo else []
    app = create_app(settings, on_startup=on_startup, freeze_gc=True)
    base = settings.effective_public_url
    _say(
        f"elTiketi ({settings.mode.value}): the shop at {base}/, the organizers' back office "
        f"at {base}/manage — API docs at {base}/schema"
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # The app reads X-Forwarded-For itself, from ELTIKETI_TRUSTED_PROXIES only: uvicorn's
        # own rewrite (trusting 127.0.0.1 by default) would put a client-chosen address in
        # the ASGI scope, where the per-address rate limits look for the peer.
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    stopped_by: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # uvicorn re-raises the signal that stopped it once it has shut down gracefully;
        # this handler takes it, so a clean stop on Ctrl-C or SIGTERM exits with 0.
        signal.signal(sig, lambda number, _frame: stopped_by.append(number))
    server.run()
    if not server.started:
        return 1
    if stopped_by:
        _say(f"elTiketi stopped ({signal.Signals(stopped_by[0]).name})")
    return 0


def exposure_refusal(settings: Settings, *, allow_remote: bool) -> str | None:
    """Why ``serve`` must not start on this address, or None.

    Embedded mode hands out ``admin`` tokens at ``/dev/token`` to anyone who asks and
    has a payment page that pays without money; on a non-loopback address that is
    everyone on the network. It binds one only when told so with ``--allow-remote``.
    """
    if not settings.is_embedded or not settings.is_exposed or allow_remote:
        return None
    return (
        f"eltiketi serve: refused to listen on {settings.host}: embedded mode lets anyone who "
        "can reach it mint admin tokens at /dev/token and pay on the fake payment page.\n"
        "  - for a local try-out, leave --host / ELTIKETI_HOST unset (127.0.0.1);\n"
        "  - to show it to others on a network you trust, add --allow-remote;\n"
        "  - for real use, run ELTIKETI_MODE=production (see docs/operations.md)."
    )


async def _demo_hook(app: Any) -> None:
    from eltiketi_app.demo import seed_demo
    from eltiketi_core.usecases import Ticketing

    ticketing = await app.state.container.get(Ticketing)
    view = await seed_demo(ticketing)
    types = ", ".join(f"{t.name} ({t.available} left)" for t in view.ticket_types)
    print(f"demo event: {view.event.id}", flush=True)
    _say(f"demo event {view.event.name!r} ready: {types}")


# --- dev-token ---------------------------------------------------------------------------


def _membership_arg(text: str) -> tuple[UUID, MemberRole]:
    """``ORG_ID:ROLE`` → (organization id, role); argparse reports a ValueError/TypeError."""
    organization, colon, role = text.rpartition(":")
    try:
        if not colon:
            raise ValueError(text)
        return UUID(organization), MemberRole(role)
    except ValueError:
        roles = ", ".join(r.value for r in MemberRole)
        raise argparse.ArgumentTypeError(
            f"expected ORG_ID:ROLE with a UUID and one of {roles}, got {text!r}"
        ) from None


def _dev_token(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.uses_dev_issuer:
        why = (
            "ELTIKETI_MODE=production"
            if not settings.is_embedded
            else "ELTIKETI_OIDC_ISSUER is set (tokens come from the OIDC issuer)"
        )
        _say(f"eltiketi dev-token: refused, {why}; dev tokens exist in embedded mode only")
        return EXIT_USAGE
    from eltiketi_adapters.devauth import DevTokenIssuer

    try:
        token = DevTokenIssuer(settings.data_dir).mint(
            args.sub,
            args.role,
            email=args.email,
            phone=args.phone,
            email_verified=False if args.email_unverified else None,
        )
    except ValueError as exc:
        _say(f"eltiketi dev-token: {exc}")
        return EXIT_USAGE
    if args.member:
        if settings.uses_memory_database:
            _say(
                "eltiketi dev-token: --member needs a database (memberships are data, not "
                "claims); with ELTIKETI_DATABASE_URL=memory:// use POST /dev/token with "
                '"members" on the running server instead'
            )
            return EXIT_USAGE
        try:
            asyncio.run(_ensure_members(settings, args.sub, args.email, args.member))
        except DomainError as exc:
            _say(f"eltiketi dev-token: {exc.detail} ({exc.code})")
            return EXIT_USAGE
    print(token, flush=True)
    return 0


async def _ensure_members(
    settings: Settings,
    subject: str,
    email: str | None,
    members: list[tuple[UUID, MemberRole]],
) -> None:
    """Make ``subject`` a member of each organization with its role, in the database the
    server uses (migrated first, as the embedded server does on start)."""
    from eltiketi_adapters.memory import TimeOrderedIds
    from eltiketi_adapters.system import SystemClock
    from eltiketi_app.ioc.stores import open_persistence
    from eltiketi_core.usecases import Policy
    from eltiketi_core.usecases.core_ports import CorePorts
    from eltiketi_core.usecases.notifications import Notifications
    from eltiketi_core.usecases.organizations import Organizations

    async with open_persistence(settings) as persistence:
        ports = CorePorts(persistence.uow, SystemClock(), TimeOrderedIds())
        policy = Policy()
        notifications = Notifications(ports, [], policy)
        organizations = Organizations(ports, policy, notifications)
        for organization_id, role in members:
            await organizations.grant(organization_id, subject, role, email=email, by="dev-token")
            _say(f"{subject} is {role.value} of organization {organization_id}")


# --- db ----------------------------------------------------------------------------------


def _db(settings: Settings, args: argparse.Namespace) -> int:
    if settings.uses_memory_database:
        _say("eltiketi db: ELTIKETI_DATABASE_URL=memory:// has no schema to migrate")
        return EXIT_USAGE
    from eltiketi_adapters.sqlalchemy import current_revision, downgrade, upgrade
    from eltiketi_app.ioc.stores import database_url

    url = database_url(settings)
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    shown = settings.redacted().get("database_url") or url

    async def run() -> str | None:
        before = await current_revision(url)
        _say(f"database {shown}: at {before or 'nothing (empty)'}")
        _say(f"{args.action} to {args.revision} …")
        if args.action == "upgrade":
            await upgrade(url, args.revision)
        else:
            await downgrade(url, args.revision)
        return await current_revision(url)

    after = asyncio.run(run())
    _say(f"done: at {after or 'nothing (empty)'}")
    return 0


# --- openapi -----------------------------------------------------------------------------


def _openapi(settings: Settings, args: argparse.Namespace) -> int:
    from eltiketi_app.app import create_app

    documented = msgspec.structs.replace(
        Settings(), database_url="memory://", data_dir=settings.data_dir
    )
    app = create_app(documented, background=False)
    document = stable_json(app.openapi_schema.to_schema())
    if args.output is None:
        sys.stdout.write(document)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(document, encoding="utf-8")
        _say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
