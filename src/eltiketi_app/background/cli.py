"""The ``worker`` and ``dead-letters`` subcommands of ``eltiketi`` (registered by ``cli.py``).

``add_commands(subparsers)`` declares them; ``COMMANDS`` maps each to a function
``(settings, args) -> exit status``, the shape ``eltiketi_app.cli`` dispatches.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any

import msgspec

from eltiketi_app.background.roles import ALL, VARIABLES, Role, parse_roles
from eltiketi_app.settings import Settings, SettingsError

EXIT_USAGE = 2
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: Kafka could not be reached


def add_commands(commands: Any) -> None:
    """Declare ``worker`` and ``dead-letters`` on the ``eltiketi`` subparsers."""
    roles = ", ".join([*(r.value for r in Role), ALL])
    tuning = "\n".join(
        f"  {name}: {text} (default {default or 'empty'})"
        for name, (text, default) in VARIABLES.items()
    )
    worker = commands.add_parser(
        "worker",
        help="run background roles against Kafka (relay, consumers, sweeper, jobs)",
        description=f"Run one or more roles: {roles}. Needs ELTIKETI_KAFKA_BOOTSTRAP "
        "for every role but sweeper and jobs. SIGTERM/SIGINT stop it gracefully.",
        epilog="worker tuning variables:\n" + tuning,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    worker.add_argument("roles", nargs="+", metavar="ROLE", help=roles)

    letters = commands.add_parser(
        "dead-letters", help="list or replay messages the consumers gave up on"
    )
    actions = letters.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="print every dead letter (oldest first)")
    listing.add_argument("--handler", help="only this handler's (inventory, notifications…)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    replay = actions.add_parser("replay", help="publish dead letters back to their original topic")
    replay.add_argument("refs", nargs="*", metavar="REF", help="PARTITION:OFFSET from `list`")
    replay.add_argument("--all", action="store_true", help="replay every dead letter")
    replay.add_argument("--handler", help="only this handler's")


def worker_command(settings: Settings, args: argparse.Namespace) -> int:
    from eltiketi_app.background.config import worker_config
    from eltiketi_app.background.worker import run_worker
    from eltiketi_app.logs import configure_logging

    roles = parse_roles(args.roles)
    config = worker_config(settings)
    configure_logging(settings.log_level, settings.log_format)
    return asyncio.run(run_worker(settings, config, roles))


def dead_letters_command(settings: Settings, args: argparse.Namespace) -> int:
    from eltiketi_adapters.kafka import list_dead_letters, replay_dead_letters
    from eltiketi_app.background.config import worker_config
    from eltiketi_core.errors import GatewayUnavailable, ValidationFailed

    config = worker_config(settings).kafka
    if config is None:
        raise SettingsError(["dead letters live on Kafka: set ELTIKETI_KAFKA_BOOTSTRAP"])
    try:
        if args.action == "list":
            letters = asyncio.run(list_dead_letters(config, handler=args.handler))
            for stored in letters:
                print(_line(stored, as_json=args.json), flush=True)
            _say(f"{len(letters)} dead letter(s) on {config.topic_prefix}eltiketi.dead-letters")
            return 0
        replayed = asyncio.run(
            replay_dead_letters(config, refs=args.refs, replay_all=args.all, handler=args.handler)
        )
    except ValidationFailed as error:
        _say(f"eltiketi dead-letters: {error.detail}")
        return EXIT_USAGE
    except GatewayUnavailable as error:
        _say(f"eltiketi dead-letters: Kafka unavailable: {error.detail}")
        return EXIT_UNAVAILABLE
    for stored in replayed:
        print(f"replayed {stored.ref} -> {stored.letter.topic}", flush=True)
    _say(f"{len(replayed)} dead letter(s) replayed")
    return 0


def _line(stored: Any, *, as_json: bool) -> str:
    letter = stored.letter
    if as_json:
        record = msgspec.to_builtins(letter)
        record.pop("value", None)
        return msgspec.json.encode({"ref": stored.ref, **record}).decode()
    origin = f"{letter.topic}[{letter.partition}]@{letter.offset}"
    return (
        f"{stored.ref}\t{letter.failed_at.isoformat()}\t{letter.handler}\t"
        f"{letter.event_type or '-'}\t{letter.event_id or '-'}\t{origin}\t"
        f"attempts={letter.attempts}\t{letter.error}"
    )


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "worker": worker_command,
    "dead-letters": dead_letters_command,
}
